// Datagram socket semantics (TLPI 56.6 "datagram sockets", "using connect() with datagram
// sockets"; man 7 udp), over a MemoryLink host.
using System.Net;
using System.Net.Sockets;
using TunStack.Sockets;
using static TunStack.Tests.Sockets.SocketAssert;

namespace TunStack.Tests.Sockets;

public class DatagramSocketTests
{
    [Fact]
    public void SendTo_ReceiveFrom_BoundariesPreserved_SenderReported()
    {
        using var h = new SocketHost();
        using StackSocket server = h.BoundUdp(7000);
        using StackSocket client = h.Udp();
        client.SendTo("one"u8, SocketHost.At(7000));
        client.SendTo("two two"u8, SocketHost.At(7000));
        var buffer = new byte[100];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        Assert.Equal(3, server.ReceiveFrom(buffer, ref from));
        Assert.Equal(new IPEndPoint(SocketHost.Address, ((IPEndPoint)client.LocalEndPoint!).Port), from); // getsockname of an auto-bound socket: 0.0.0.0:port
        Assert.Equal(7, server.ReceiveFrom(buffer, ref from));
        Assert.Equal("two two", System.Text.Encoding.ASCII.GetString(buffer, 0, 7));
    }

    [Fact]
    public void LongDatagram_IsTruncatedToBuffer_AndTruncationReported()
    {
        using var h = new SocketHost();
        using StackSocket server = h.BoundUdp(7001);
        using StackSocket client = h.Udp();
        client.SendTo(new byte[1000], SocketHost.At(7001));
        client.SendTo("next"u8, SocketHost.At(7001));
        var buffer = new byte[10];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        SocketFlags flags = SocketFlags.None;
        Assert.Equal(10, server.ReceiveMessageFrom(buffer, ref flags, ref from));
        Assert.True(flags.HasFlag(SocketFlags.Truncated)); // MSG_TRUNC
        flags = SocketFlags.None;
        Assert.Equal(4, server.ReceiveMessageFrom(buffer, ref flags, ref from)); // the rest was discarded
        Assert.False(flags.HasFlag(SocketFlags.Truncated));
    }

    [Fact]
    public void ZeroLengthDatagram_IsDelivered_AvailableIsZero()
    {
        using var h = new SocketHost();
        using StackSocket server = h.BoundUdp(7002);
        using StackSocket client = h.Udp();
        client.SendTo(ReadOnlySpan<byte>.Empty, SocketHost.At(7002));
        Assert.True(server.Poll(5_000_000, SelectMode.SelectRead));
        Assert.Equal(0, server.Available);
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        Assert.Equal(0, server.ReceiveFrom(new byte[10], ref from));
        Assert.Equal(new IPEndPoint(SocketHost.Address, ((IPEndPoint)client.LocalEndPoint!).Port), from); // getsockname of an auto-bound socket: 0.0.0.0:port
        client.SendTo(new byte[321], SocketHost.At(7002));
        Assert.True(server.Poll(5_000_000, SelectMode.SelectRead));
        Assert.Equal(321, server.Available); // FIONREAD: size of the next datagram
    }

    [Fact]
    public void Send_WithoutAddressOnUnconnectedSocket_Edestaddrreq()
    {
        using var h = new SocketHost();
        using StackSocket s = h.Udp();
        Assert.Equal(SocketError.DestinationAddressRequired, ErrorOf(() => s.Send("x"u8)));
    }

    [Fact]
    public void SendTo_Over65507Bytes_Emsgsize_65507Goes()
    {
        using var h = new SocketHost();
        using StackSocket server = h.BoundUdp(7003);
        using StackSocket s = h.Udp();
        Assert.Equal(SocketError.MessageSize, ErrorOf(() => s.SendTo(new byte[65_508], SocketHost.At(7003))));
        Assert.Equal(65_507, s.SendTo(new byte[65_507], SocketHost.At(7003)));
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        Assert.Equal(65_507, server.ReceiveFrom(new byte[70_000], ref from));
    }

    [Fact]
    public void Connect_RecordsDefaultPeer_FiltersOthers_SecondConnectChanges_UnspecDissolves()
    {
        using var h = new SocketHost();
        using StackSocket a = h.BoundUdp(7010);
        using StackSocket peer1 = h.BoundUdp(7011);
        using StackSocket peer2 = h.BoundUdp(7012);

        a.Connect(SocketHost.At(7011));
        Assert.Equal(SocketHost.At(7011), a.RemoteEndPoint);
        a.Send("to peer1"u8); // no address needed now
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        Assert.Equal(8, peer1.ReceiveFrom(new byte[16], ref from));

        peer2.SendTo("filtered"u8, SocketHost.At(7010));
        peer1.SendTo("passes"u8, SocketHost.At(7010));
        var buffer = new byte[16];
        Assert.Equal(6, a.Receive(buffer)); // peer2's datagram was not for this connected socket
        a.Blocking = false;
        Assert.Equal(SocketError.WouldBlock, ErrorOf(() => a.Receive(buffer)));

        a.Connect(SocketHost.At(7012));
        peer2.SendTo("now peer2"u8, SocketHost.At(7010));
        a.Blocking = true;
        Assert.Equal(9, a.Receive(buffer));

        a.Connect(UnspecifiedEndPoint.Instance); // AF_UNSPEC
        Assert.Null(a.RemoteEndPoint);
        peer1.SendTo("anyone"u8, SocketHost.At(7010));
        Assert.Equal(6, a.ReceiveFrom(buffer, ref from));
        Assert.Equal(SocketHost.At(7011), from);
    }

    [Fact]
    public void ConnectedSocket_IcmpPortUnreachable_SurfacesAsEconnrefused()
    {
        using var h = new SocketHost();
        using StackSocket s = h.Udp();
        s.Connect(SocketHost.At(7099)); // nobody is bound there: the stack answers port unreachable
        s.Send("ping"u8);
        Assert.True(s.Poll(5_000_000, SelectMode.SelectError));
        Assert.Equal(SocketError.ConnectionRefused, ErrorOf(() => s.Receive(new byte[8])));
    }

    [Fact]
    public void UnconnectedSocket_IgnoresIcmpErrors()
    {
        using var h = new SocketHost();
        using StackSocket s = h.Udp();
        s.SendTo("ping"u8, SocketHost.At(7098));
        Thread.Sleep(20);
        Assert.False(s.Poll(0, SelectMode.SelectError));
    }

    [Fact]
    public void DualModeSocket_ReceivesIpv4_AsV4Mapped()
    {
        using var h = new SocketHost();
        using StackSocket server = h.Udp(AddressFamily.InterNetworkV6);
        server.Bind(new IPEndPoint(IPAddress.IPv6Any, 7020));
        using StackSocket client = h.Udp();
        client.SendTo("v4"u8, SocketHost.At(7020));
        EndPoint from = new IPEndPoint(IPAddress.IPv6Any, 0);
        Assert.Equal(2, server.ReceiveFrom(new byte[8], ref from));
        Assert.Equal(IPAddress.Parse("::ffff:10.9.0.1"), ((IPEndPoint)from).Address);
        server.SendTo("back"u8, from);
        Assert.Equal(4, client.ReceiveFrom(new byte[8], ref from));
    }
}
