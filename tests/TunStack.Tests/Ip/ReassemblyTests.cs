using TunStack.Ip;
using TunStack.Udp;
using TunStack.Wire;

namespace TunStack.Tests.Ip;

public class ReassemblyTests
{
    private static (Probe Probe, UdpEndpoint Endpoint) Listening(Action<StackOptions>? configure = null)
    {
        var probe = new Probe(configure);
        UdpEndpoint e = probe.Stack.OpenUdp(System.Net.Sockets.AddressFamily.InterNetworkV6);
        Assert.Equal(StackError.None, e.Bind(new InternetEndpoint(InternetAddress.AnyV6, 9000)));
        return (probe, e);
    }

    private static byte[] Data(int n, int seed = 1)
    {
        var d = new byte[n];
        new Random(seed).NextBytes(d);
        return d;
    }

    private static List<byte[]> V4Fragments(byte[] data, int chunk = 1480, ushort id = 77)
    {
        byte[] udp = Packets.Udp(Probe.PeerV4, Probe.StackV4, 5555, 9000, data);
        return Packets.FragmentV4(Probe.PeerV4, Probe.StackV4, IpProtocol.Udp, udp, chunk, id);
    }

    private static List<byte[]> V6Fragments(byte[] data, int chunk = 1232, uint id = 0x1234567)
    {
        byte[] udp = Packets.Udp(Probe.PeerV6, Probe.StackV6, 5555, 9000, data);
        return Packets.FragmentV6(Probe.PeerV6, Probe.StackV6, IpProtocol.Udp, udp, chunk, id);
    }

    private static byte[] Receive(UdpEndpoint e)
    {
        var buffer = new byte[70000];
        Assert.True(e.TryReceiveFrom(buffer, out int copied, out int length, out _));
        Assert.Equal(length, copied);
        return buffer[..copied];
    }

    public static IEnumerable<object[]> Orders => new[] { new object[] { "in-order" }, new object[] { "reverse" }, new object[] { "shuffled" } };

    private static IEnumerable<byte[]> Arrange(List<byte[]> fragments, string order) => order switch
    {
        "reverse" => Enumerable.Reverse(fragments),
        "shuffled" => fragments.OrderBy(_ => Random.Shared.Next()).ToList(),
        _ => fragments,
    };

    [Theory]
    [MemberData(nameof(Orders))]
    public void V4Fragments_AnyOrder_ReassembledByteExact(string order)
    {
        (Probe probe, UdpEndpoint e) = Listening();
        byte[] data = Data(20_000);
        foreach (byte[] f in Arrange(V4Fragments(data), order))
        {
            probe.Send(f);
        }

        Assert.Equal(data, Receive(e));
        Assert.Equal(1, probe[Counter.Ipv4Reassembled]);
        Assert.Equal((0, 0, 0), probe.Stack.Reassembly);
    }

    [Theory]
    [MemberData(nameof(Orders))]
    public void V6Fragments_AnyOrder_ReassembledByteExact(string order)
    {
        (Probe probe, UdpEndpoint e) = Listening();
        byte[] data = Data(30_000, 2);
        foreach (byte[] f in Arrange(V6Fragments(data), order))
        {
            probe.Send(f);
        }

        Assert.Equal(data, Receive(e));
        Assert.Equal(1, probe[Counter.Ipv6Reassembled]);
    }

    [Fact]
    public void V4MaximumDatagram_65535Total_Reassembled()
    {
        (Probe probe, UdpEndpoint e) = Listening();
        byte[] data = Data(65535 - 20 - 8, 3);
        foreach (byte[] f in V4Fragments(data, 1480))
        {
            probe.Send(f);
        }

        Assert.Equal(data, Receive(e));
    }

    [Fact]
    public void DuplicateAndSubsetFragments_Accepted_DatagramDelivered()
    {
        (Probe probe, UdpEndpoint e) = Listening();
        byte[] data = Data(4000);
        byte[] udp = Packets.Udp(Probe.PeerV4, Probe.StackV4, 5555, 9000, data);
        List<byte[]> frags = Packets.FragmentV4(Probe.PeerV4, Probe.StackV4, IpProtocol.Udp, udp, 1000, 9);
        probe.Send(frags[0]);
        probe.Send(frags[0]); // exact duplicate
        probe.Send(Packets.Ipv4(Probe.PeerV4, Probe.StackV4, IpProtocol.Udp, udp.AsSpan(8, 800), 9, mf: true, fragmentOffset: 8)); // subset
        foreach (byte[] f in frags.Skip(1))
        {
            probe.Send(f);
        }
        Assert.Equal(data, Receive(e));
        Assert.Equal(2, probe[Counter.ReassemblyDuplicate]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PartialOverlap_Rfc5722_WholeDatagramDiscardedIncludingLaterFragments(bool v6)
    {
        (Probe probe, UdpEndpoint e) = Listening();
        byte[] data = Data(2000);
        // [0,1200) then [800,1600) overlaps it; the last fragment [1600,2008) must be discarded too.
        if (v6)
        {
            byte[] udp = Packets.Udp(Probe.PeerV6, Probe.StackV6, 5555, 9000, data);
            probe.Send(Packets.Fragment6(Probe.PeerV6, Probe.StackV6, IpProtocol.Udp, udp.AsSpan(0, 1200), 0, true, 5));
            probe.Send(Packets.Fragment6(Probe.PeerV6, Probe.StackV6, IpProtocol.Udp, udp.AsSpan(800, 800), 800, true, 5));
            probe.Send(Packets.Fragment6(Probe.PeerV6, Probe.StackV6, IpProtocol.Udp, udp.AsSpan(1600), 1600, false, 5));
        }
        else
        {
            byte[] udp = Packets.Udp(Probe.PeerV4, Probe.StackV4, 5555, 9000, data);
            probe.Send(Packets.Ipv4(Probe.PeerV4, Probe.StackV4, IpProtocol.Udp, udp.AsSpan(0, 1200), 5, mf: true));
            probe.Send(Packets.Ipv4(Probe.PeerV4, Probe.StackV4, IpProtocol.Udp, udp.AsSpan(800, 800), 5, mf: true, fragmentOffset: 800));
            probe.Send(Packets.Ipv4(Probe.PeerV4, Probe.StackV4, IpProtocol.Udp, udp.AsSpan(1600), 5, fragmentOffset: 1600));
        }

        Assert.Equal(0, e.QueuedDatagrams);
        Assert.Equal(1, probe[Counter.ReassemblyOverlap]);
        Assert.Equal(1, probe[Counter.ReassemblyDiscardedDatagram]);
        Assert.Equal(0, probe.Stack.Reassembly.Bytes);
    }

    [Fact]
    public void V4Oversize_Over65535_Dropped()
    {
        (Probe probe, _) = Listening();
        // A last fragment at offset 65528 with 16 bytes: 20 + 65544 > 65535.
        probe.Send(Packets.Ipv4(Probe.PeerV4, Probe.StackV4, IpProtocol.Udp, Data(16), 3, fragmentOffset: 65528 - 8 * 0));
        Assert.Equal(1, probe[Counter.ReassemblyOversize]);
    }

    [Fact]
    public void V6Oversize_Rfc8200Sec4_5_ParameterProblemAtOffsetField()
    {
        (Probe probe, _) = Listening();
        List<byte[]> sent = probe.Send(Packets.Fragment6(Probe.PeerV6, Probe.StackV6, IpProtocol.Udp, Data(16), 65528, false, 8));
        Assert.Equal(42u, Icmpv6ParameterProblem.SingleIn(sent).Pointer);
    }

    [Fact]
    public void V6NonFinalFragmentNotMultipleOf8_ParameterProblemAtPayloadLength()
    {
        (Probe probe, _) = Listening();
        List<byte[]> sent = probe.Send(Packets.Fragment6(Probe.PeerV6, Probe.StackV6, IpProtocol.Udp, Data(13), 0, true, 8));
        Assert.Equal(4u, Icmpv6ParameterProblem.SingleIn(sent).Pointer);
    }

    [Fact]
    public void V6FirstFragmentWithChainPastTheWalkBound_Rfc7112_DroppedWithCode3NotHeld()
    {
        (Probe probe, _) = Listening();
        // Twelve Destination Options headers of 8 bytes (more than the 8 the stack walks), cut by
        // the end of the first fragment: the upper-layer header is nowhere in it.
        var chain = new byte[96];
        for (int i = 0; i < 12; i++)
        {
            chain[i * 8] = i < 11 ? IpProtocol.DestinationOptions : IpProtocol.Udp;
            chain[(i * 8) + 2] = 1; // PadN over the rest of the header
            chain[(i * 8) + 3] = 4;
        }

        List<byte[]> sent = probe.Send(Packets.Fragment6(Probe.PeerV6, Probe.StackV6, IpProtocol.DestinationOptions, chain, 0, true, 12));
        Assert.Equal(Icmpv6Type.CodeIncompleteHeaderChain, Icmpv6ParameterProblem.SingleIn(sent).Code);
        Assert.Equal(1, probe[Counter.Ipv6IncompleteHeaderChain]);
        probe.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(0, probe[Counter.ReassemblyTimeout]); // nothing was kept
    }

    [Fact]
    public void V6FirstFragmentWithoutUpperHeader_Rfc7112_DroppedWithCode3()
    {
        (Probe probe, _) = Listening();
        // The first fragment ends inside a Destination Options header: the header chain is incomplete.
        var dest = new byte[16] { IpProtocol.Udp, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
        List<byte[]> sent = probe.Send(Packets.Fragment6(Probe.PeerV6, Probe.StackV6, IpProtocol.DestinationOptions, dest.AsSpan(0, 8), 0, true, 11));
        Assert.Equal(Icmpv6Type.CodeIncompleteHeaderChain, Icmpv6ParameterProblem.SingleIn(sent).Code);
        Assert.Equal(1, probe[Counter.Ipv6IncompleteHeaderChain]);
    }

    [Fact]
    public void V6AtomicFragment_Rfc6946_DeliveredWithoutReassembly()
    {
        (Probe probe, UdpEndpoint e) = Listening();
        byte[] udp = Packets.Udp(Probe.PeerV6, Probe.StackV6, 5555, 9000, new byte[] { 42 });
        probe.Send(Packets.Fragment6(Probe.PeerV6, Probe.StackV6, IpProtocol.Udp, udp, 0, false, 12));
        Assert.Equal(new byte[] { 42 }, Receive(e));
        Assert.Equal(1, probe[Counter.Ipv6AtomicFragments]);
    }

    [Theory]
    [InlineData(false, 30)]
    [InlineData(true, 60)]
    public void Timeout_FirstFragmentHeld_TimeExceededQuotesIt(bool v6, int seconds)
    {
        (Probe probe, _) = Listening();
        byte[] first = v6 ? V6Fragments(Data(3000))[0] : V4Fragments(Data(3000))[0];
        probe.Send(first);
        Assert.Empty(probe.Advance(TimeSpan.FromSeconds(seconds) - TimeSpan.FromMilliseconds(1)));
        byte[] reply = Assert.Single(probe.Advance(TimeSpan.FromMilliseconds(2)));
        int icmp = v6 ? 40 : 20;
        Assert.Equal(v6 ? Icmpv6Type.TimeExceeded : Icmpv4Type.TimeExceeded, reply[icmp]);
        Assert.Equal(1, reply[icmp + 1]);
        // The quote starts with the first fragment's own header.
        Assert.Equal(first.AsSpan(0, 40).ToArray(), reply.AsSpan(icmp + 8, 40).ToArray());
        Assert.Equal(1, probe[Counter.ReassemblyTimeout]);
        Assert.Equal(0, probe.Stack.Reassembly.Bytes);
    }

    [Fact]
    public void Timeout_FirstFragmentMissing_NoIcmp()
    {
        (Probe probe, _) = Listening();
        probe.Send(V4Fragments(Data(3000))[1]);
        Assert.Empty(probe.Advance(TimeSpan.FromSeconds(31)));
        Assert.Equal(1, probe[Counter.ReassemblyTimeout]);
    }

    [Fact]
    public void MemoryCap_ManyPartialDatagrams_OldestEvictedUsageBounded()
    {
        const int Cap = 64 * 1024;
        (Probe probe, UdpEndpoint e) = Listening(o => o.ReassemblyMemoryLimit = Cap);
        for (ushort id = 0; id < 100; id++)
        {
            probe.Send(V4Fragments(Data(3000), 1480, id)[0]);
            Assert.True(probe.Stack.Reassembly.Bytes <= Cap);
        }

        Assert.True(probe[Counter.ReassemblyMemoryEvicted] > 0);
        // A complete datagram still gets through under pressure.
        byte[] data = Data(3000, 9);
        foreach (byte[] f in V4Fragments(data, 1480, 500))
        {
            probe.Send(f);
        }

        Assert.Equal(data, Receive(e));
    }

    [Fact]
    public void DatagramCountCap_Bounded()
    {
        (Probe probe, _) = Listening(o => o.ReassemblyMaxDatagrams = 8);
        for (ushort id = 0; id < 50; id++)
        {
            probe.Send(V4Fragments(Data(3000), 1480, id)[1]);
        }

        Assert.True(probe.Stack.Reassembly.V4 <= 8);
    }

    [Fact]
    public void TooManyFragments_Bounded()
    {
        (Probe probe, _) = Listening(o => o.ReassemblyMaxFragments = 4);
        byte[] udp = Packets.Udp(Probe.PeerV4, Probe.StackV4, 5555, 9000, Data(2000));
        foreach (byte[] f in Packets.FragmentV4(Probe.PeerV4, Probe.StackV4, IpProtocol.Udp, udp, 16, 4).Take(10))
        {
            probe.Send(f);
        }

        Assert.Equal(1, probe[Counter.ReassemblyTooManyFragments]);
    }

    [Fact]
    public void ConflictingLastFragments_Dropped()
    {
        (Probe probe, _) = Listening();
        probe.Send(Packets.Ipv4(Probe.PeerV4, Probe.StackV4, IpProtocol.Udp, Data(8), 6, fragmentOffset: 800));
        probe.Send(Packets.Ipv4(Probe.PeerV4, Probe.StackV4, IpProtocol.Udp, Data(8), 6, fragmentOffset: 400));
        Assert.Equal(1, probe[Counter.ReassemblyBadFragment]);
    }
}
