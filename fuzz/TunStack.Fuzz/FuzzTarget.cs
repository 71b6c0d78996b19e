namespace TunStack.Fuzz;

/// <summary>
/// A fuzz target: its name (the command-line argument and the corpus folder), the function that
/// runs one input (any exception it lets out is a finding), and the seeds our own builders make.
/// </summary>
internal sealed record FuzzTarget(string Name, string Description, Action<ReadOnlySpan<byte>> Run, Func<IEnumerable<(string Name, byte[] Input)>> Seeds)
{
    /// <summary>Every target, in the order the README lists them.</summary>
    public static IReadOnlyList<FuzzTarget> All { get; } = new FuzzTarget[]
    {
        new("ipv4", "IPv4 view, options and input", Ipv4Target.Run, Ipv4Target.Seeds),
        new("ipv6", "IPv6 view, extension-header chain, fragment header and input", Ipv6Target.Run, Ipv6Target.Seeds),
        new("icmp", "ICMPv4 and ICMPv6 messages, echo and errors quoting live flows", IcmpTarget.Run, IcmpTarget.Seeds),
        new("udp", "UDP datagrams over IPv4 and IPv6", UdpTarget.Run, UdpTarget.Seeds),
        new("tcp", "TCP header and options, and segments to a listener and an established connection", TcpTarget.Run, TcpTarget.Seeds),
        new("reassembly", "sequences of fragments fed to the reassembler", ReassemblyTarget.Run, ReassemblyTarget.Seeds),
        new("stack", "a whole stack with a listener and an established connection fed a sequence of packets, reads and clock steps", StackTarget.Run, StackTarget.Seeds),
        new("pair", "two stacks over a link whose loss, duplication, reordering and delay, and both applications' calls, the input chooses", PairTarget.Run, PairTarget.Seeds),
    };

    /// <summary>The target called <paramref name="name"/>, or null.</summary>
    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);
}
