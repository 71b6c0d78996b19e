using TunStack.Ip;

namespace TunStack.Lab;

/// <summary>A router of a scenario: forwards packets between its links by its routes.</summary>
internal sealed class LabRouterSpec
{
    public required string Name { get; init; }

    /// <summary>Explicit routes; destinations they do not cover go the shortest way to the host that owns them.</summary>
    public required IReadOnlyList<LabRouteSpec> Routes { get; init; }

    /// <summary>The source of the router's ICMPv4 errors; null for the default (<see cref="LabRouter.DefaultV4"/>).</summary>
    public InternetAddress? V4 { get; init; }

    /// <summary>The source of the router's ICMPv6 errors; null for the default (<see cref="LabRouter.DefaultV6"/>).</summary>
    public InternetAddress? V6 { get; init; }

    /// <summary>Whether the router sends ICMP errors at all (false: a black hole for path MTU discovery).</summary>
    public bool Icmp { get; init; } = true;
}
