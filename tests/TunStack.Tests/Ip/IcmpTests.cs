using System.Buffers.Binary;
using TunStack.Ip;
using TunStack.Wire;

namespace TunStack.Tests.Ip;

public class IcmpTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EchoRequest_ToStack_ReplyMirrorsIdSequenceData(bool v6)
    {
        var probe = new Probe();
        InternetAddress peer = v6 ? Probe.PeerV6 : Probe.PeerV4;
        InternetAddress self = v6 ? Probe.StackV6 : Probe.StackV4;
        byte[] data = "abcdefghijklmnop"u8.ToArray();
        byte[] reply = Assert.Single(probe.Send(Packets.EchoRequest(peer, self, 0xBEEF, 9, data)));
        Tests.Wire.WireVectorTests.AssertWellFormed(reply);
        int at = v6 ? 40 : 20;
        Assert.Equal(v6 ? Icmpv6Type.EchoReply : Icmpv4Type.EchoReply, reply[at]);
        Assert.Equal(0xBEEF, BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(at + 4)));
        Assert.Equal(9, BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(at + 6)));
        Assert.Equal(data, reply.AsSpan(at + 8).ToArray());
        Assert.Equal(self.ToString(), (v6 ? InternetAddress.FromV6(reply.AsSpan(8)) : InternetAddress.FromV4(reply.AsSpan(12))).ToString());
    }

    [Fact]
    public void ScapyEchoVector_Answered()
    {
        var probe = new Probe();
        Assert.Single(probe.Send(Vectors.Get("ipv4_icmp_echo").Bytes));
        Assert.Single(probe.Send(Vectors.Get("ipv4_options_router_alert_icmp").Bytes));
        Assert.Single(probe.Send(Vectors.Get("ipv6_icmpv6_echo").Bytes));
    }

    [Fact]
    public void EchoRequestToBroadcast_Ignored()
    {
        var probe = new Probe();
        Assert.Empty(probe.Send(Packets.EchoRequest(Probe.PeerV4, InternetAddress.Parse("10.0.0.255"), 1, 1, default)));
        Assert.Equal(1, probe[Counter.IcmpBroadcastEchoIgnored]);
    }

    [Fact]
    public void BadIcmpChecksum_DroppedAndCounted()
    {
        var probe = new Probe();
        byte[] p = Packets.EchoRequest(Probe.PeerV4, Probe.StackV4, 1, 1, new byte[] { 1, 2 });
        p[^1] ^= 1;
        Assert.Empty(probe.Send(p));
        Assert.Equal(1, probe[Counter.IcmpBadChecksum]);
    }

    [Fact]
    public void UdpToClosedPort_Rfc1122Sec4_1_3_1_PortUnreachableQuotesDatagram()
    {
        var probe = new Probe();
        byte[] datagram = Packets.UdpPacket(Probe.PeerV4, Probe.StackV4, 4000, 4444, "hi"u8);
        byte[] reply = Assert.Single(probe.Send(datagram));
        Assert.Equal(Icmpv4Type.DestinationUnreachable, reply[20]);
        Assert.Equal(Icmpv4Type.CodePortUnreachable, reply[21]);
        Assert.Equal(datagram, reply.AsSpan(28).ToArray());
        Assert.Equal(1, probe[Counter.UdpNoPort]);
    }

    [Fact]
    public void UdpToClosedPortV6_Rfc4443Sec3_1_PortUnreachableCode4()
    {
        var probe = new Probe();
        byte[] reply = Assert.Single(probe.Send(Packets.UdpPacket(Probe.PeerV6, Probe.StackV6, 4000, 4444, "hi"u8)));
        Assert.Equal(Icmpv6Type.DestinationUnreachable, reply[40]);
        Assert.Equal(Icmpv6Type.CodePortUnreachable, reply[41]);
    }

    [Fact]
    public void UnknownProtocolV4_Rfc1122Sec3_2_2_1_ProtocolUnreachable()
    {
        var probe = new Probe();
        byte[] reply = Assert.Single(probe.Send(Packets.Ipv4(Probe.PeerV4, Probe.StackV4, 200, new byte[8])));
        Assert.Equal(Icmpv4Type.DestinationUnreachable, reply[20]);
        Assert.Equal(Icmpv4Type.CodeProtocolUnreachable, reply[21]);
    }

    [Fact]
    public void UdpToBroadcastClosedPort_Rfc1122Sec3_2_2_NoError()
    {
        var probe = new Probe();
        Assert.Empty(probe.Send(Packets.UdpPacket(Probe.PeerV4, InternetAddress.BroadcastV4, 4000, 4444, "x"u8)));
        Assert.Equal(1, probe[Counter.IcmpErrorsSuppressed]);
    }

    [Fact]
    public void ErrorAboutIcmpError_Rfc1122Sec3_2_2_NeverSent()
    {
        var probe = new Probe();
        // A Port Unreachable whose IP protocol field names a protocol we lack would draw a
        // Protocol Unreachable; but an ICMP error message never draws an ICMP error.
        byte[] icmpError = Packets.Icmp(Probe.PeerV4, Probe.StackV4, Icmpv4Type.TimeExceeded, 0, 0, new byte[28]);
        byte[] p = Packets.Ipv4(Probe.PeerV4, Probe.StackV4, IpProtocol.Icmp, icmpError);
        Assert.Empty(probe.Send(p));
        Assert.Equal(0, probe[Counter.IcmpErrorsSent]);
    }

    [Fact]
    public void NonFirstFragmentToClosedPort_Rfc1122Sec3_2_2_NoError()
    {
        var probe = new Probe();
        // A fragmented datagram to a closed port whose first fragment never arrives: no error.
        probe.Send(Packets.Ipv4(Probe.PeerV4, Probe.StackV4, 200, new byte[16], 3, fragmentOffset: 8));
        Assert.Equal(0, probe[Counter.IcmpErrorsSent]);
    }

    [Fact]
    public void ErrorsBeyondBurst_Rfc4443Sec2_4f_RateLimited()
    {
        var probe = new Probe(o =>
        {
            o.IcmpErrorBurst = 5;
            o.IcmpErrorsPerSecond = 10;
        });
        int sent = 0;
        for (int i = 0; i < 20; i++)
        {
            sent += probe.Send(Packets.UdpPacket(Probe.PeerV4, Probe.StackV4, 4000, 4444, "x"u8)).Count;
        }

        Assert.Equal(5, sent);
        Assert.Equal(15, probe[Counter.IcmpErrorsRateLimited]);
        // 100 ms later the bucket has one more token (10 per second).
        probe.Clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Single(probe.Send(Packets.UdpPacket(Probe.PeerV4, Probe.StackV4, 4000, 4444, "x"u8)));
    }

    [Fact]
    public void MalformedIpv4Option_Rfc791_ParameterProblemWithPointer()
    {
        var probe = new Probe();
        byte[] p = Packets.Ipv4(Probe.PeerV4, Probe.StackV4, IpProtocol.Udp, new byte[8]);
        // Rebuild with IHL 6 and an option of length 9 that overruns the 4-byte options area.
        var withOption = new byte[p.Length + 4];
        p.AsSpan(0, 20).CopyTo(withOption);
        withOption[0] = 0x46;
        BinaryPrimitives.WriteUInt16BigEndian(withOption.AsSpan(2), (ushort)withOption.Length);
        withOption[20] = 7;
        withOption[21] = 9;
        p.AsSpan(20).CopyTo(withOption.AsSpan(24));
        withOption[10] = withOption[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(withOption.AsSpan(10), InternetChecksum.Compute(withOption.AsSpan(0, 24)));
        byte[] reply = Assert.Single(probe.Send(withOption));
        Assert.Equal(Icmpv4Type.ParameterProblem, reply[20]);
        Assert.Equal(21, reply[24]);
        Assert.Equal(1, probe[Counter.Ipv4BadOptions]);
    }

    [Theory]
    [InlineData("255.255.255.255")]
    [InlineData("224.0.0.1")]
    [InlineData("127.0.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("10.0.0.255")]
    public void MartianSource_Rfc1122Sec3_2_1_3_Dropped(string source)
    {
        var probe = new Probe();
        Assert.Empty(probe.Send(Packets.EchoRequest(InternetAddress.Parse(source), Probe.StackV4, 1, 1, default)));
        Assert.Equal(1, probe[Counter.Ipv4BadSource]);
    }

    [Fact]
    public void NotOurDestination_DroppedAndCounted()
    {
        var probe = new Probe();
        Assert.Empty(probe.Send(Packets.EchoRequest(Probe.PeerV4, InternetAddress.Parse("10.0.0.77"), 1, 1, default)));
        Assert.Empty(probe.Send(Packets.EchoRequest(Probe.PeerV6, InternetAddress.Parse("fd00::77"), 1, 1, default)));
        Assert.Equal(1, probe[Counter.Ipv4NotForUs]);
        Assert.Equal(1, probe[Counter.Ipv6NotForUs]);
    }

    [Fact]
    public void BadHeaderChecksum_Rfc1122Sec3_2_1_2_DroppedSilently()
    {
        var probe = new Probe();
        byte[] p = Packets.EchoRequest(Probe.PeerV4, Probe.StackV4, 1, 1, default);
        p[8] ^= 0x10; // TTL changed, checksum stale
        Assert.Empty(probe.Send(p));
        Assert.Equal(1, probe[Counter.Ipv4BadChecksum]);
    }

    [Fact]
    public void TtlOne_Rfc1122Sec3_2_1_7_StillAccepted()
    {
        var probe = new Probe();
        Assert.Single(probe.Send(Packets.Ipv4(Probe.PeerV4, Probe.StackV4, IpProtocol.Icmp,
            Packets.Icmp(Probe.PeerV4, Probe.StackV4, Icmpv4Type.EchoRequest, 0, 0x00010001, default), ttl: 1)));
    }
}
