using TunStack.Ip;
using TunStack.Tcp;
using TunStack.Tests.Integration;
using TunStack.Wire;

namespace TunStack.Tests.Tcp;

/// <summary>Urgent data as Linux/BSD: one out-of-band byte, the stream marked where it was (RFC 9293 3.8.5, RFC 6093).</summary>
public class UrgentDataTests
{
    [Fact]
    public void Established_UrgentByteBetweenData_Rfc6093_OutOfBandAndMarkedStream()
    {
        var net = new TwoStacks();
        TcpAcceptor listener = net.B.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 5000), 4, out _)!;
        TcpConnection client = net.A.ConnectTcp(new InternetEndpoint(TwoStacks.B4, 5000), out _)!;
        Assert.True(net.Simulation.RunUntil(() => listener.PendingCount == 1, TimeSpan.FromSeconds(2)));
        listener.TryAccept(out TcpConnection? server);
        client.NoDelay = true;
        client.Send("abc"u8, out _);
        Assert.Equal(1, client.SendUrgent((byte)'!', out _));
        client.Send("def"u8, out _);
        Assert.True(net.Simulation.RunUntil(() => server!.Available == 6 && server.HasUrgentData, TimeSpan.FromSeconds(2)));

        var buffer = new byte[16];
        Assert.False(server!.AtMark);
        Assert.Equal(3, server.Receive(buffer, out _)); // the read stops at the mark
        Assert.Equal("abc"u8.ToArray(), buffer[..3]);
        Assert.True(server.AtMark);
        Assert.True(server.TryReceiveUrgent(out byte oob));
        Assert.Equal((byte)'!', oob);
        Assert.False(server.TryReceiveUrgent(out _));
        Assert.Equal(3, server.Receive(buffer, out _));
        Assert.Equal("def"u8.ToArray(), buffer[..3]);
        Assert.False(server.AtMark);
    }

    [Fact]
    public void Established_PeerSendsUrgLikeLinux_PointerAfterUrgentByte_ByteOutOfBand()
    {
        // Linux sends "xy!" with URG and urgent pointer 3: the urgent byte is the one before the pointer.
        RawPeer p = RawPeer.Established();
        p.Send(TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Urg, p.Nxt, p.StackNxt, "xy!"u8, urgentPointer: 3);
        TcpConnection c = p.Connection!;
        Assert.Equal(2, c.Available);
        Assert.True(c.HasUrgentData);
        Assert.True(c.TryReceiveUrgent(out byte oob));
        Assert.Equal((byte)'!', oob);
        Assert.Equal(1, p.Probe[Counter.TcpUrgentReceived]);
    }
}
