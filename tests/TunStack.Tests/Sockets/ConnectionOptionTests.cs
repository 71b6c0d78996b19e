// The per-connection options StackSocket has with Linux's semantics: IP_TOS/IPV6_TCLASS
// (TypeOfService) and IP_MTU_DISCOVER's DF (DontFragment) on the wire, TCP_USER_TIMEOUT and
// TCP_NOTSENT_LOWAT (inherited by accepted sockets), SO_SNDBUF on an established connection,
// TCP_INQ's hint (ReceiveQueueHint), and MSG_EOR through Send.
using System.Net;
using System.Net.Sockets;
using TunStack.Sockets;

namespace TunStack.Tests.Sockets;

public class ConnectionOptionTests
{
    private static bool IsSyn(byte[] packet) => packet.Length >= 40 && packet[9] == 6 && (packet[33] & 0x02) != 0;

    [Fact]
    public void TypeOfServiceSetBeforeConnect_SynCarriesIt_EcnBitsStayTheStacks()
    {
        using var h = new SocketHost();
        StackSocket client = h.Tcp();
        client.TypeOfService = 0x13; // DSCP bits 0x10 and an attempt at ECN's bits
        Assert.Equal(0x10, client.TypeOfService);
        client.Blocking = false;
        Assert.Throws<SocketException>(() => client.Connect(new IPEndPoint(SocketHost.FarAddress, 80)));
        byte[] syn = h.NextPacket(IsSyn);
        Assert.Equal(0x10, syn[1]); // a SYN is Not-ECT (RFC 3168 6.1.1)
        Assert.NotEqual(0, syn[6] & 0x40); // DF: path MTU discovery
    }

    [Fact]
    public void DontFragmentOff_SynLeavesWithDfClear()
    {
        using var h = new SocketHost();
        StackSocket client = h.Tcp();
        client.DontFragment = false;
        client.Blocking = false;
        Assert.Throws<SocketException>(() => client.Connect(new IPEndPoint(SocketHost.FarAddress, 80)));
        Assert.Equal(0, h.NextPacket(IsSyn)[6] & 0x40);
    }

    [Fact]
    public void ListenerOptions_AcceptedSocket_InheritsThem()
    {
        using var h = new SocketHost();
        StackSocket listener = h.Listen(7300);
        listener.UserTimeout = TimeSpan.FromSeconds(3);
        listener.NotSentLowWatermark = 4000;
        listener.TypeOfService = 0x20;
        StackSocket client = h.Tcp();
        client.Connect(SocketHost.At(7300));
        using StackSocket accepted = listener.Accept();
        Assert.Equal(TimeSpan.FromSeconds(3), accepted.UserTimeout);
        Assert.Equal(4000, accepted.NotSentLowWatermark);
        Assert.Equal(0x20, accepted.TypeOfService);
    }

    [Fact]
    public void NegativeUserTimeoutOrMark_Rejected()
    {
        using var h = new SocketHost();
        StackSocket socket = h.Tcp();
        Assert.Throws<ArgumentOutOfRangeException>(() => socket.UserTimeout = TimeSpan.FromSeconds(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => socket.NotSentLowWatermark = -1);
    }

    [Fact]
    public void Established_SendBufferSizeSet_ConnectionUsesItAtOnce()
    {
        using var h = new SocketHost();
        (StackSocket client, _) = h.Pair(7301);
        client.SendBufferSize = 8192;
        Assert.Equal(8192, client.SendBufferSize);
    }

    [Fact]
    public void DataArrives_ReceiveQueueHint_CountsWhatIsLeft_ThenOneAtTheEnd()
    {
        using var h = new SocketHost();
        (StackSocket client, StackSocket server) = h.Pair(7302);
        Assert.Equal(10, server.Send(new byte[10]));
        var buffer = new byte[4];
        Assert.Equal(4, client.Receive(buffer)); // blocking: waits for the data
        Assert.Equal(6, client.ReceiveQueueHint);
        server.Shutdown(SocketShutdown.Send);
        Assert.Equal(4, client.Receive(buffer));
        Assert.Equal(2, client.Receive(buffer));
        Assert.Equal(0, client.Receive(buffer)); // the end of the stream
        Assert.Equal(1, client.ReceiveQueueHint); // Linux's TCP_CM_INQ: 1 once the peer closed and nothing is left
    }

    [Fact]
    public void SendWithEndOfRecord_StreamSocket_Accepted()
    {
        using var h = new SocketHost();
        (StackSocket client, StackSocket server) = h.Pair(7303);
        Assert.Equal(3, client.Send(new byte[3], StackSocketFlags.EndOfRecord));
        var buffer = new byte[3];
        Assert.Equal(3, server.Receive(buffer));
    }
}
