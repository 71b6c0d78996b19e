using TunStack.Tcp;

namespace TunStack.Lab;

/// <summary>
/// The one place where the lab turns a congestion control name of a scenario ("cubic",
/// "newreno") into what the stack runs: scenario checking, host settings and flows all ask here.
/// </summary>
internal static class LabCongestion
{
    /// <summary>What hosts and flows use when the scenario names none.</summary>
    public const string Default = "cubic";

    private static readonly (string Name, CongestionAlgorithm Algorithm)[] Known =
    {
        ("cubic", CongestionAlgorithm.Cubic),
        ("newreno", CongestionAlgorithm.NewReno),
    };

    /// <summary>The names a scenario may use, for error messages.</summary>
    public static string Names => string.Join(", ", Known.Select(k => $"\"{k.Name}\""));

    public static bool IsKnown(string name) => Known.Any(k => k.Name == name);

    /// <summary>Makes <paramref name="name"/> the default of a host's new connections.</summary>
    public static void ApplyTo(TcpSettings settings, string name) => settings.CongestionControl = Resolve(name);

    /// <summary>Switches one connection (just opened) to <paramref name="name"/>.</summary>
    public static void ApplyTo(TcpConnection connection, string name) => connection.CongestionAlgorithm = Resolve(name);

    private static CongestionAlgorithm Resolve(string name)
    {
        foreach ((string known, CongestionAlgorithm algorithm) in Known)
        {
            if (known == name)
            {
                return algorithm;
            }
        }

        throw new ArgumentException($"unknown congestion control \"{name}\" (known: {Names})", nameof(name));
    }
}
