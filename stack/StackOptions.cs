using TunStack.Ip;

namespace TunStack;

/// <summary>
/// Configuration of one <see cref="NetworkStack"/>. Every bound has a documented default
/// (docs/architecture.md lists them); all are per stack instance.
/// </summary>
public sealed class StackOptions
{
    /// <summary>The stack's own addresses with their on-link prefixes (several v4 and v6 allowed).</summary>
    public IList<IpPrefix> Addresses { get; } = new List<IpPrefix>();

    /// <summary>
    /// Routes. When empty, the stack adds an on-link route per address prefix and a default route
    /// per address family it has an address of (a TUN link reaches everything through its peer).
    /// </summary>
    public IList<Route> Routes { get; } = new List<Route>();

    /// <summary>TTL of IPv4 datagrams the stack originates (default 64, like Linux).</summary>
    public byte DefaultTtl { get; set; } = 64;

    /// <summary>Hop limit of IPv6 packets the stack originates (default 64).</summary>
    public byte DefaultHopLimit { get; set; } = 64;

    /// <summary>IPv4 reassembly timeout (default 30 s, Linux ipfrag_time).</summary>
    public TimeSpan ReassemblyTimeoutV4 { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>IPv6 reassembly timeout (default 60 s, RFC 8200 4.5).</summary>
    public TimeSpan ReassemblyTimeoutV6 { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Memory for all datagrams in reassembly, per family (default 4 MiB, Linux ipfrag_high_thresh).</summary>
    public int ReassemblyMemoryLimit { get; set; } = 4 * 1024 * 1024;

    /// <summary>Datagrams in reassembly at once, per family (default 1024).</summary>
    public int ReassemblyMaxDatagrams { get; set; } = 1024;

    /// <summary>Fragments per datagram (default 64; a 64 KiB datagram at MTU 1280 needs 52).</summary>
    public int ReassemblyMaxFragments { get; set; } = 64;

    /// <summary>ICMP errors per second the token bucket allows (default 1000, Linux icmp_msgs_per_sec).</summary>
    public int IcmpErrorsPerSecond { get; set; } = 1000;

    /// <summary>ICMP error burst (default 50, Linux icmp_msgs_burst).</summary>
    public int IcmpErrorBurst { get; set; } = 50;

    /// <summary>Bytes queued per UDP endpoint, 24 bytes of bookkeeping per datagram included (default 212,992, Linux rmem_default).</summary>
    public int UdpReceiveQueueBytes { get; set; } = 212_992;

    /// <summary>First ephemeral port (default 32768, Linux ip_local_port_range).</summary>
    public ushort EphemeralPortFirst { get; set; } = 32768;

    /// <summary>Last ephemeral port (default 60999).</summary>
    public ushort EphemeralPortLast { get; set; } = 60999;

    /// <summary>Packets read per link batch (default 64).</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>
    /// Merge consecutive in-order TCP segments of one flow in a receive batch before TCP sees them,
    /// as Linux's GRO does (default true): fewer, larger segments to process and one ACK for them.
    /// </summary>
    public bool CoalesceReceivedSegments { get; set; } = true;

    /// <summary>Packets handled per Poll before yielding (default 4096), so one Poll stays short.</summary>
    public int PollBudget { get; set; } = 4096;

    /// <summary>TCP settings.</summary>
    public TcpSettings Tcp { get; } = new();

    /// <summary>
    /// Sets the choices <paramref name="profile"/> names (<see cref="StackProfile.Linux"/>: restart
    /// after idle on, Linux's HyStart, super-segments sized as Linux's, the RTO's minimum on its variance term and RACK.rtt from the last delivered segment, ssthresh from cwnd, CUBIC's congestion avoidance as Linux's; <see cref="StackProfile.Default"/>: all back to
    /// TunStack's defaults); every other option keeps its value.
    /// </summary>
    /// <param name="profile">The profile.</param>
    /// <returns>These options.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="profile"/> is not a <see cref="StackProfile"/>.</exception>
    public StackOptions Apply(StackProfile profile)
    {
        bool linux = profile switch
        {
            StackProfile.Default => false,
            StackProfile.Linux => true,
            _ => throw new ArgumentOutOfRangeException(nameof(profile), profile, "not a stack profile"),
        };
        Tcp.RestartWindowAfterIdle = linux;
        Tcp.SuperSegmentsSizedAsLinux = linux;
        Tcp.MinRtoOnVariance = linux;
        Tcp.RackRttFromLastDelivered = linux;
        Tcp.SsthreshFromCwnd = linux;
        Tcp.CubicCongestionAvoidanceAsLinux = linux;
        Tcp.SlowStartExit = linux ? TcpSlowStartExit.HyStart : TcpSlowStartExit.HyStartPlusPlus;
        return this;
    }

    /// <summary>Seed for the stack's randomness (ephemeral ports, IP IDs); null = unpredictable. Set it for reproducible tests.</summary>
    public int? RandomSeed { get; set; }
}
