using System.Globalization;

namespace TunStack.Cli;

/// <summary>
/// <c>tunstack stats</c>: the stack's counters (<see cref="Counter"/>) with their values and how
/// much each changed since the same user's last call, as nstat shows increments since its last
/// run. nstat keeps its history in a file per user; the daemon keeps it instead, in memory, one
/// snapshot per client uid (SO_PEERCRED), so that no client writes files and root and another
/// user do not reset each other's deltas. A restart of the daemon starts the history afresh.
/// Counters are read from the control thread: <see cref="StackCounters"/> may be read from any thread.
/// </summary>
public sealed class CounterHistory
{
    private static readonly Counter[] s_counters = Enum.GetValues<Counter>();
    private readonly Dictionary<uint, (long[] Values, DateTime At)> _last = new();
    private readonly object _lock = new();

    /// <summary>
    /// The report for <paramref name="uid"/>: a comment line, then "Name value delta" per counter
    /// (only those not zero unless <paramref name="zeros"/>), and remembers these values for that uid's next call.
    /// </summary>
    public IReadOnlyList<string> Report(StackCounters counters, uint uid, bool zeros, string name, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(counters);
        long[] values = s_counters.Select(c => counters[c]).ToArray();
        (long[] Values, DateTime At)? last;
        lock (_lock)
        {
            last = _last.TryGetValue(uid, out var found) ? found : null;
            _last[uid] = (values, now);
        }

        string since = last is { } l
            ? string.Create(CultureInfo.InvariantCulture, $"since uid {uid}'s last stats {(now - l.At).TotalSeconds:0.0} s ago")
            : $"since the daemon started (uid {uid}'s first stats)";
        var lines = new List<string> { $"#tunstack {name}: counter, value, change {since}" };
        int width = Math.Max(32, s_counters.Max(c => c.ToString().Length) + 1);
        for (int i = 0; i < s_counters.Length; i++)
        {
            if (values[i] != 0 || zeros)
            {
                long delta = values[i] - (last?.Values[i] ?? 0);
                lines.Add(string.Create(CultureInfo.InvariantCulture, $"{s_counters[i].ToString().PadRight(width)}{values[i],-19}{delta}"));
            }
        }

        return lines;
    }
}
