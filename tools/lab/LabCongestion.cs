using TunStack.Tcp;
using TunStack.Tcp.Congestion;

namespace TunStack.Lab;

/// <summary>
/// The one place where the lab turns a congestion control name of a scenario into what the stack
/// runs. The names are those of <see cref="LabRunner.CongestionControls"/>: the stack's built-ins
/// ("cubic", "reno", "newreno", "bbr") and any a program registers there, so scenario checking,
/// host settings and flows accept the same names, and every host's stack gets the registered ones.
/// </summary>
internal static class LabCongestion
{
    /// <summary>What hosts and flows use when the scenario names none.</summary>
    public const string Default = CongestionControlRegistry.Cubic;

    /// <summary>The names a scenario may use, for error messages.</summary>
    public static string Names => string.Join(", ", LabRunner.CongestionControls.Names.Order(StringComparer.Ordinal).Select(name => $"\"{name}\""));

    public static bool IsKnown(string name) => LabRunner.CongestionControls.Contains(name);

    /// <summary>Gives a host's stack the lab's algorithms and makes <paramref name="name"/> the default of its new connections.</summary>
    public static void ApplyTo(TcpSettings settings, string name)
    {
        CongestionControlRegistry lab = LabRunner.CongestionControls;
        foreach (string registered in lab.Names)
        {
            if (!settings.CongestionControls.Contains(registered))
            {
                string key = registered;
                settings.CongestionControls.Register(key, mss => lab.Create(key, mss));
            }
        }

        settings.CongestionControlName = name;
    }

    /// <summary>Switches one connection (just opened) to <paramref name="name"/>.</summary>
    public static void ApplyTo(TcpConnection connection, string name) => connection.CongestionControlName = name;
}
