using TunStack.Tcp;
using TunStack.Tcp.Congestion;

namespace TunStack.Lab;

/// <summary>
/// The one place where the lab turns a congestion control name of a scenario ("cubic", "reno",
/// "newreno", "bbr") into what the stack runs: the names are those of the stack's registry
/// (<see cref="TcpSettings.CongestionControls"/>), so scenario checking, host settings and flows
/// accept exactly what a stack accepts.
/// </summary>
internal static class LabCongestion
{
    /// <summary>What hosts and flows use when the scenario names none.</summary>
    public const string Default = CongestionControlRegistry.Cubic;

    private static readonly CongestionControlRegistry BuiltIn = new();

    /// <summary>The names a scenario may use, for error messages.</summary>
    public static string Names => string.Join(", ", BuiltIn.Names.Order(StringComparer.Ordinal).Select(name => $"\"{name}\""));

    public static bool IsKnown(string name) => BuiltIn.Contains(name);

    /// <summary>Makes <paramref name="name"/> the default of a host's new connections.</summary>
    public static void ApplyTo(TcpSettings settings, string name) => settings.CongestionControlName = name;

    /// <summary>Switches one connection (just opened) to <paramref name="name"/>.</summary>
    public static void ApplyTo(TcpConnection connection, string name) => connection.CongestionControlName = name;
}
