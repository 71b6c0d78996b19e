using TunStack.Ip;
using TunStack.Wire;

namespace TunStack.Tests.Ip;

public class Ipv6ChainTests
{
    private static byte[] Ext(byte next, params byte[] options)
    {
        // One 8-byte-multiple extension header: next header, length, options padded with PadN/Pad1.
        int total = (2 + options.Length + 7) / 8 * 8;
        var h = new byte[total];
        h[0] = next;
        h[1] = (byte)(total / 8 - 1);
        options.CopyTo(h, 2);
        int pad = total - 2 - options.Length;
        if (pad == 1)
        {
            h[2 + options.Length] = 0;
        }
        else if (pad > 1)
        {
            h[2 + options.Length] = 1;
            h[3 + options.Length] = (byte)(pad - 2);
        }

        return h;
    }

    private static List<byte[]> SendUdpBehind(byte firstNext, byte[] extensions, out Probe probe)
    {
        probe = new Probe();
        byte[] udp = Packets.Udp(Probe.PeerV6, Probe.StackV6, 1, 9, new byte[] { 1 });
        return probe.Send(Packets.Ipv6(Probe.PeerV6, Probe.StackV6, firstNext, extensions.Concat(udp).ToArray()));
    }

    [Fact]
    public void HopByHopNotFirst_Rfc8200Sec4_1_ParameterProblemCode1()
    {
        byte[] dest = Ext(IpProtocol.HopByHop);
        byte[] hbh = Ext(IpProtocol.Udp);
        List<byte[]> sent = SendUdpBehind(IpProtocol.DestinationOptions, dest.Concat(hbh).ToArray(), out Probe probe);
        Assert.Equal(new Icmpv6ParameterProblem(1, 40), Icmpv6ParameterProblem.SingleIn(sent));
        Assert.Equal(1, probe[Counter.Ipv6ParameterProblem]);
    }

    [Theory]
    [InlineData(0x3E, 0, false)]   // action 00: skip, packet processed (port unreachable follows)
    [InlineData(0x7E, 1, false)]   // action 01: discard silently
    [InlineData(0xBE, 2, true)]    // action 10: discard, Parameter Problem code 2
    [InlineData(0xFE, 2, true)]    // action 11: discard, Parameter Problem unless multicast
    public void UnknownOption_Rfc8200Sec4_2_ActionBitsObeyed(byte type, int outcome, bool problem)
    {
        byte[] dest = Ext(IpProtocol.Udp, type, 2, 0, 0);
        List<byte[]> sent = SendUdpBehind(IpProtocol.DestinationOptions, dest, out Probe probe);
        switch (outcome)
        {
            case 0:
                Assert.Equal(1, probe[Counter.UdpNoPort]);
                break;
            case 1:
                Assert.Equal(1, probe[Counter.Ipv6OptionDiscarded]);
                Assert.Empty(sent);
                break;
            default:
                byte[] reply = Assert.Single(sent);
                Assert.Equal(problem, reply[40] == Icmpv6Type.ParameterProblem);
                Assert.Equal(Icmpv6Type.CodeUnrecognizedOption, reply[41]);
                Assert.Equal(42u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(44)));
                break;
        }
    }

    [Fact]
    public void Action11ToMulticast_Rfc8200Sec4_2_NoIcmp()
    {
        var probe = new Probe();
        byte[] dest = Ext(IpProtocol.Udp, 0xFE, 2, 0, 0);
        byte[] udp = Packets.Udp(Probe.PeerV6, InternetAddress.Parse("ff02::1"), 1, 9, new byte[] { 1 });
        List<byte[]> sent = probe.Send(Packets.Ipv6(Probe.PeerV6, InternetAddress.Parse("ff02::1"), IpProtocol.DestinationOptions, dest.Concat(udp).ToArray()));
        Assert.Empty(sent);
        Assert.Equal(1, probe[Counter.Ipv6ParameterProblem]);
    }

    [Fact]
    public void RoutingHeaderSegmentsLeft_Rfc8200Sec4_4_ParameterProblemPointingAtType()
    {
        var routing = new byte[8] { IpProtocol.Udp, 0, 4, 1, 0, 0, 0, 0 };
        List<byte[]> sent = SendUdpBehind(IpProtocol.Routing, routing, out _);
        Assert.Equal(new Icmpv6ParameterProblem(0, 42), Icmpv6ParameterProblem.SingleIn(sent));
    }

    [Fact]
    public void RoutingHeaderSegmentsLeftZero_Ignored_Delivered()
    {
        var routing = new byte[8] { IpProtocol.Udp, 0, 4, 0, 0, 0, 0, 0 };
        SendUdpBehind(IpProtocol.Routing, routing, out Probe probe);
        Assert.Equal(1, probe[Counter.UdpNoPort]);
    }

    [Fact]
    public void TooManyExtensionHeaders_BoundedWalk_Dropped()
    {
        var chain = new List<byte>();
        for (int i = 0; i < 20; i++)
        {
            chain.AddRange(Ext(i == 19 ? IpProtocol.Udp : IpProtocol.DestinationOptions));
        }

        SendUdpBehind(IpProtocol.DestinationOptions, chain.ToArray(), out Probe probe);
        Assert.Equal(1, probe[Counter.Ipv6TooManyExtensionHeaders]);
    }

    [Fact]
    public void ExtensionHeaderOverrunningPacket_Dropped()
    {
        var probe = new Probe();
        var bad = new byte[] { IpProtocol.Udp, 10, 0, 0, 0, 0, 0, 0 };
        probe.Send(Packets.Ipv6(Probe.PeerV6, Probe.StackV6, IpProtocol.DestinationOptions, bad));
        Assert.Equal(1, probe[Counter.Ipv6BadExtensionHeader]);
    }

    [Fact]
    public void UnknownNextHeader_Rfc8200Sec4_ParameterProblemCode1AtField()
    {
        var probe = new Probe();
        List<byte[]> sent = probe.Send(Packets.Ipv6(Probe.PeerV6, Probe.StackV6, 253, new byte[16]));
        Assert.Equal(new Icmpv6ParameterProblem(1, 6), Icmpv6ParameterProblem.SingleIn(sent));
    }

    [Fact]
    public void NoNextHeader_Rfc8200Sec4_7_DroppedSilently()
    {
        var probe = new Probe();
        Assert.Empty(probe.Send(Packets.Ipv6(Probe.PeerV6, Probe.StackV6, IpProtocol.NoNextHeader, new byte[8])));
        Assert.Equal(1, probe[Counter.Ipv6NoNextHeader]);
    }

    [Theory]
    [InlineData("ipv6_hbh_router_alert_mldv2", Counter.Icmpv6MldIgnored)]
    [InlineData("ipv6_router_solicitation", Counter.Icmpv6RouterDiscoveryIgnored)]
    public void FreshTunKernelTraffic_CountedAndIgnored(string vector, Counter counter)
    {
        var probe = new Probe();
        Assert.Empty(probe.Send(Vectors.Get(vector).Bytes));
        Assert.Equal(1, probe[counter]);
        Assert.Equal(0, probe[Counter.IcmpErrorsSent]);
    }
}
