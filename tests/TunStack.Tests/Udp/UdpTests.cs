using System.Net.Sockets;
using TunStack.Ip;
using TunStack.Udp;
using TunStack.Wire;

namespace TunStack.Tests.Udp;

public class UdpTests
{
    private static UdpEndpoint Bound(Probe probe, string address, ushort port, AddressFamily family = AddressFamily.InterNetwork)
    {
        UdpEndpoint e = probe.Stack.OpenUdp(family);
        Assert.Equal(StackError.None, e.Bind(new InternetEndpoint(InternetAddress.Parse(address), port)));
        return e;
    }

    [Fact]
    public void Demux_ExactThenBoundThenWildcard()
    {
        var probe = new Probe();
        UdpEndpoint wildcard = Bound(probe, "0.0.0.0", 7000, AddressFamily.InterNetwork);
        var bound = probe.Stack.OpenUdp();
        // Same port on a specific address conflicts with the wildcard (no SO_REUSEADDR for UDP).
        Assert.Equal(StackError.AddressInUse, bound.Bind(new InternetEndpoint(Probe.StackV4, 7000)));

        var probe2 = new Probe();
        UdpEndpoint specific = Bound(probe2, "10.0.0.2", 7001);
        UdpEndpoint connected = probe2.Stack.OpenUdp();
        Assert.Equal(StackError.AddressInUse, connected.Bind(new InternetEndpoint(Probe.StackV4, 7001)));

        // Exact 4-tuple beats bound address beats wildcard: a v6 dual endpoint on :: and a v4 one on an address.
        var p3 = new Probe();
        UdpEndpoint v6Only = p3.Stack.OpenUdp(AddressFamily.InterNetworkV6);
        v6Only.V6Only = true;
        Assert.Equal(StackError.None, v6Only.Bind(new InternetEndpoint(InternetAddress.AnyV6, 7002)));
        UdpEndpoint v4Specific = Bound(p3, "10.0.0.2", 7002);
        p3.Send(Packets.UdpPacket(Probe.PeerV4, Probe.StackV4, 1, 7002, "a"u8));
        p3.Send(Packets.UdpPacket(Probe.PeerV6, Probe.StackV6, 1, 7002, "b"u8));
        Assert.Equal(1, v4Specific.QueuedDatagrams);
        Assert.Equal(1, v6Only.QueuedDatagrams);
        _ = wildcard;
        _ = specific;
    }

    [Fact]
    public void ConnectedEndpoint_FiltersToPeer_ExactMatchPreferred()
    {
        var probe = new Probe(o => o.Addresses.Add(IpPrefix.Parse("10.0.0.3/24")));
        UdpEndpoint wildcard = Bound(probe, "0.0.0.0", 8000);
        UdpEndpoint other = probe.Stack.OpenUdp();
        Assert.Equal(StackError.None, other.Connect(new InternetEndpoint(Probe.PeerV4, 1234)));
        // A connected endpoint on an ephemeral port only takes datagrams from its peer.
        ushort port = other.LocalEndpoint!.Value.Port;
        Assert.InRange(port, (ushort)32768, (ushort)60999);
        probe.Send(Packets.UdpPacket(Probe.PeerV4, Probe.StackV4, 1234, port, "from peer"u8));
        probe.Send(Packets.UdpPacket(Probe.PeerV4, Probe.StackV4, 9999, port, "from stranger"u8));
        Assert.Equal(1, other.QueuedDatagrams);
        Assert.Equal(1, probe[Counter.UdpNoPort]);
        probe.Send(Packets.UdpPacket(Probe.PeerV4, InternetAddress.Parse("10.0.0.3"), 5, 8000, "to second address"u8));
        Assert.Equal(1, wildcard.QueuedDatagrams);
    }

    [Fact]
    public void DualStackEndpoint_TakesV4_ReportsV4Source()
    {
        var probe = new Probe();
        UdpEndpoint dual = Bound(probe, "::", 9100, AddressFamily.InterNetworkV6);
        probe.Send(Packets.UdpPacket(Probe.PeerV4, Probe.StackV4, 1, 9100, "v4"u8));
        probe.Send(Packets.UdpPacket(Probe.PeerV6, Probe.StackV6, 1, 9100, "v6"u8));
        var buffer = new byte[16];
        Assert.True(dual.TryReceiveFrom(buffer, out _, out _, out InternetEndpoint from));
        Assert.Equal(Probe.PeerV4, from.Address);
        Assert.True(dual.TryReceiveFrom(buffer, out _, out _, out from));
        Assert.Equal(Probe.PeerV6, from.Address);
    }

    [Fact]
    public void BindErrors_NotOurAddress_InUse_Twice()
    {
        var probe = new Probe();
        UdpEndpoint a = probe.Stack.OpenUdp();
        Assert.Equal(StackError.AddressNotAvailable, a.Bind(new InternetEndpoint(InternetAddress.Parse("10.9.9.9"), 1)));
        Assert.Equal(StackError.None, a.Bind(new InternetEndpoint(InternetAddress.AnyV4, 53)));
        Assert.Equal(StackError.InvalidArgument, a.Bind(new InternetEndpoint(InternetAddress.AnyV4, 54)));
        UdpEndpoint b = probe.Stack.OpenUdp();
        Assert.Equal(StackError.AddressInUse, b.Bind(new InternetEndpoint(InternetAddress.AnyV4, 53)));
        a.Close();
        Assert.Equal(StackError.None, b.Bind(new InternetEndpoint(InternetAddress.AnyV4, 53)));
    }

    [Fact]
    public void EphemeralRange_Exhausted_AddressNotAvailable()
    {
        var probe = new Probe(o =>
        {
            o.EphemeralPortFirst = 40000;
            o.EphemeralPortLast = 40003;
        });
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(StackError.None, probe.Stack.OpenUdp().Bind(new InternetEndpoint(InternetAddress.AnyV4, 0)));
        }

        Assert.Equal(StackError.AddressNotAvailable, probe.Stack.OpenUdp().Bind(new InternetEndpoint(InternetAddress.AnyV4, 0)));
    }

    [Fact]
    public void ZeroChecksum_AllowedOnV4_DroppedOnV6()
    {
        // RFC 768: zero = no checksum (IPv4); RFC 8200 8.1: a zero UDP checksum over IPv6 is discarded.
        var probe = new Probe();
        UdpEndpoint v4 = Bound(probe, "0.0.0.0", 7);
        byte[] v4Packet = Vectors.Get("ipv4_udp_zero_checksum").Bytes;
        probe.Send(v4Packet);
        Assert.Equal(1, v4.QueuedDatagrams);

        byte[] udp = Packets.Udp(Probe.PeerV6, Probe.StackV6, 1, 7, "x"u8);
        udp[6] = udp[7] = 0;
        probe.Send(Packets.Ipv6(Probe.PeerV6, Probe.StackV6, IpProtocol.Udp, udp));
        Assert.Equal(1, probe[Counter.UdpZeroChecksumV6]);
    }

    [Fact]
    public void BadLengthField_Dropped()
    {
        var probe = new Probe();
        byte[] udp = Packets.Udp(Probe.PeerV4, Probe.StackV4, 1, 7, "abc"u8);
        udp[5] = 200; // Length beyond the datagram
        probe.Send(Packets.Ipv4(Probe.PeerV4, Probe.StackV4, IpProtocol.Udp, udp));
        udp[4] = 0;
        udp[5] = 4; // Length below the header
        probe.Send(Packets.Ipv4(Probe.PeerV4, Probe.StackV4, IpProtocol.Udp, udp));
        Assert.Equal(2, probe[Counter.UdpBadLength]);
    }

    [Fact]
    public void ReceiveQueue_Full_DropsAndCounts()
    {
        var probe = new Probe(o => o.UdpReceiveQueueBytes = 10 * (DatagramOverhead + 100));
        UdpEndpoint e = Bound(probe, "0.0.0.0", 5000);
        for (int i = 0; i < 15; i++)
        {
            probe.Send(Packets.UdpPacket(Probe.PeerV4, Probe.StackV4, 1, 5000, new byte[100]));
        }

        Assert.Equal(10, e.QueuedDatagrams);
        Assert.Equal(5, probe[Counter.UdpReceiveQueueFull]);
    }

    private const int DatagramOverhead = TunStack.Storage.DatagramQueue.RecordOverhead;

    [Fact]
    public void ZeroLengthDatagram_QueuedAndReceived()
    {
        var probe = new Probe();
        UdpEndpoint e = Bound(probe, "0.0.0.0", 5001);
        probe.Send(Packets.UdpPacket(Probe.PeerV4, Probe.StackV4, 1, 5001, default));
        Assert.Equal(0, e.NextDatagramLength);
        Assert.True(e.TryReceiveFrom(new byte[4], out int copied, out int length, out _));
        Assert.Equal(0, copied);
        Assert.Equal(0, length);
        Assert.Equal(-1, e.NextDatagramLength);
    }

    [Fact]
    public void SmallBuffer_TruncatesAndReportsFullLength_PeekLeavesIt()
    {
        var probe = new Probe();
        UdpEndpoint e = Bound(probe, "0.0.0.0", 5002);
        probe.Send(Packets.UdpPacket(Probe.PeerV4, Probe.StackV4, 1, 5002, "0123456789"u8));
        var small = new byte[4];
        Assert.True(e.TryReceiveFrom(small, out int copied, out int length, out _, peek: true));
        Assert.Equal((4, 10), (copied, length));
        Assert.Equal(1, e.QueuedDatagrams);
        Assert.True(e.TryReceiveFrom(small, out copied, out length, out _));
        Assert.Equal("0123"u8.ToArray(), small);
        Assert.Equal(0, e.QueuedDatagrams);
    }

    [Fact]
    public void SendErrors_NoDestination_TooLarge_NoRoute()
    {
        var probe = new Probe(o => o.Routes.Add(new Route(IpPrefix.Parse("10.0.0.0/24"))));
        UdpEndpoint e = probe.Stack.OpenUdp();
        Assert.Equal(StackError.DestinationAddressRequired, e.SendTo("x"u8));
        Assert.Equal(StackError.MessageTooLong, e.SendTo(new byte[65508], new InternetEndpoint(Probe.PeerV4, 9)));
        Assert.Equal(StackError.None, e.SendTo(new byte[65507], new InternetEndpoint(Probe.PeerV4, 9)));
        Assert.Equal(StackError.NetworkUnreachable, e.SendTo("x"u8, new InternetEndpoint(InternetAddress.Parse("192.0.2.1"), 9)));
        Assert.Equal(StackError.AddressFamilyNotSupported, e.SendTo("x"u8, new InternetEndpoint(Probe.PeerV6, 9)));
    }

    [Fact]
    public void SendTo_BuildsDatagramTheWireAccepts()
    {
        var probe = new Probe();
        UdpEndpoint e = probe.Stack.OpenUdp();
        Assert.Equal(StackError.None, e.SendTo("payload"u8, new InternetEndpoint(Probe.PeerV4, 9)));
        byte[] packet = Assert.Single(probe.Poll());
        Assert.True(Ipv4Packet.TryCreate(packet, out Ipv4Packet ip) && ip.IsChecksumValid);
        Assert.True(UdpDatagram.TryCreate(ip.Payload, out UdpDatagram udp));
        Assert.True(udp.IsChecksumValid(InternetChecksum.PseudoHeaderV4(ip.Source, ip.Destination, 17, udp.Length)));
        Assert.Equal("payload"u8.ToArray(), udp.Payload.ToArray());
        Assert.Equal(e.LocalEndpoint!.Value.Port, udp.SourcePort);
    }

    [Fact]
    public void PortUnreachableForConnected_SurfacesAsConnectionRefusedOnce()
    {
        var probe = new Probe();
        UdpEndpoint e = probe.Stack.OpenUdp();
        Assert.Equal(StackError.None, e.Connect(new InternetEndpoint(Probe.PeerV4, 4444)));
        Assert.Equal(StackError.None, e.SendTo("hi"u8));
        byte[] sent = Assert.Single(probe.Poll());
        // The peer answers with Port Unreachable quoting our datagram.
        byte[] icmp = Packets.Icmp(Probe.PeerV4, Probe.StackV4, Icmpv4Type.DestinationUnreachable, Icmpv4Type.CodePortUnreachable, 0, sent);
        probe.Send(Packets.Ipv4(Probe.PeerV4, Probe.StackV4, IpProtocol.Icmp, icmp));
        Assert.True(e.HasPendingError);
        Assert.Equal(StackError.ConnectionRefused, e.SendTo("again"u8));
        Assert.Equal(StackError.None, e.SendTo("again"u8));
    }

    [Fact]
    public void PortUnreachableForUnconnected_Ignored()
    {
        var probe = new Probe();
        UdpEndpoint e = probe.Stack.OpenUdp();
        e.SendTo("hi"u8, new InternetEndpoint(Probe.PeerV4, 4444));
        byte[] sent = Assert.Single(probe.Poll());
        byte[] icmp = Packets.Icmp(Probe.PeerV4, Probe.StackV4, Icmpv4Type.DestinationUnreachable, Icmpv4Type.CodePortUnreachable, 0, sent);
        probe.Send(Packets.Ipv4(Probe.PeerV4, Probe.StackV4, IpProtocol.Icmp, icmp));
        Assert.False(e.HasPendingError);
    }
}
