using TunStack.Ip;

namespace TunStack.Tun;

/// <summary>What a <see cref="TunInterface"/> sets up.</summary>
public sealed record TunInterfaceOptions
{
    /// <summary>The device: name, MTU, queues, vnet header.</summary>
    public TunOptions Device { get; init; } = new();

    /// <summary>The kernel's addresses on the TUN (one per family), each with the prefix length of the stack's address of that family.</summary>
    public IReadOnlyList<IpPrefix> KernelAddresses { get; init; } = Array.Empty<IpPrefix>();

    /// <summary>
    /// Default routes to add on the kernel side after the addresses (one per family: 0.0.0.0/0 or ::/0
    /// via the gateway, over the TUN), as a namespace that gets its whole network through the stack
    /// needs (<c>tunstack forward</c>). Empty: none.
    /// </summary>
    public IReadOnlyList<InternetAddress> DefaultGateways { get; init; } = Array.Empty<InternetAddress>();

    /// <summary>Network namespace to use (created if missing, and then removed on dispose); null = the current one.</summary>
    public string? Namespace { get; init; }

    /// <summary>Disable IPv6 on the kernel side of the TUN (no router solicitations or MLD reports).</summary>
    public bool DisableKernelIpv6 { get; init; }
}
