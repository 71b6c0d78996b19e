namespace TunStack.Lab;

/// <summary>What one router of a lab run did (a row of summary.json's "routers").</summary>
public sealed class LabRouterResult
{
    /// <summary>The router's name in the scenario.</summary>
    public required string Name { get; init; }

    /// <summary>Packets sent on towards their destination (a fragmented packet counts once).</summary>
    public long Forwarded { get; init; }

    /// <summary>Packets dropped for want of a route.</summary>
    public long Unroutable { get; init; }

    /// <summary>Packets dropped because their TTL or hop limit ran out.</summary>
    public long Expired { get; init; }

    /// <summary>Packets dropped as larger than the next link's MTU (IPv6, or IPv4 with DF set).</summary>
    public long TooBig { get; init; }

    /// <summary>IPv4 packets without DF that were fragmented to fit the next link.</summary>
    public long Fragmented { get; init; }

    /// <summary>ICMP and ICMPv6 errors the router sent.</summary>
    public long IcmpSent { get; init; }

    /// <summary>ICMP errors the router's rate limit held back.</summary>
    public long IcmpRateLimited { get; init; }
}
