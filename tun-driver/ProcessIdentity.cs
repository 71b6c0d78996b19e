using System.Globalization;

namespace TunStack.Tun;

/// <summary>
/// A process as /proc knows it: its PID and its start time (clock ticks after boot, field 22 of
/// /proc/PID/stat), so that a PID the kernel has given to a newer process is not taken for the old one.
/// </summary>
internal readonly record struct ProcessIdentity(int Pid, long StartTime)
{
    /// <summary>This process.</summary>
    public static ProcessIdentity Current { get; } = new(Environment.ProcessId, StartTimeOf(Environment.ProcessId) ?? 0);

    /// <summary>True while the process runs (the PID exists and started at the same time).</summary>
    public bool IsRunning => StartTimeOf(Pid) == StartTime;

    /// <summary>"PID STARTTIME", as written in a namespace record.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Pid} {StartTime}");

    /// <summary>Reads "PID STARTTIME"; false for anything else.</summary>
    public static bool TryParse(string text, out ProcessIdentity identity)
    {
        identity = default;
        string[] parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long start))
        {
            return false;
        }

        identity = new ProcessIdentity(pid, start);
        return true;
    }

    // The fields after "(comm)" start with field 3 (state); the start time is field 22.
    private static long? StartTimeOf(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[22 - 3], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }
}
