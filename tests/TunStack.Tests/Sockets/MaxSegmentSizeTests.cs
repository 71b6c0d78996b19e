// TCP_MAXSEG (StackSocket.MaxSegmentSize) with Linux's semantics: a clamp on the MSS the SYN
// advertises and the connection sends, set before connect or on the listener (inherited by
// accepted connections); read back as the value set until the connection has its MSS.
using System.Net.Sockets;
using TunStack.Sockets;
using static TunStack.Tests.Sockets.SocketAssert;

namespace TunStack.Tests.Sockets;

public class MaxSegmentSizeTests
{
    private const int TimestampsOption = 12;

    [Fact]
    public void Unconnected_SetThenRead_ValueSet_DefaultIs536()
    {
        using var h = new SocketHost();
        StackSocket socket = h.Tcp();
        Assert.Equal(536, socket.MaxSegmentSize);
        socket.MaxSegmentSize = 1100;
        Assert.Equal(1100, socket.MaxSegmentSize);
    }

    [Fact]
    public void Unconnected_SetOutsideTheRange_InvalidArgument()
    {
        using var h = new SocketHost();
        StackSocket socket = h.Tcp();
        Assert.Equal(SocketError.InvalidArgument, ErrorOf(() => socket.MaxSegmentSize = 50));
        Assert.Equal(SocketError.InvalidArgument, ErrorOf(() => socket.MaxSegmentSize = 70_000));
    }

    [Fact]
    public void ClientSetBeforeConnect_BothSidesSendAtMostThatMss()
    {
        using var h = new SocketHost();
        StackSocket listener = h.Listen(7200);
        StackSocket client = h.Tcp();
        client.MaxSegmentSize = 1100;
        client.Connect(SocketHost.At(7200));
        StackSocket accepted = listener.Accept();
        // Both negotiated timestamps, whose option takes 12 bytes of every segment (Linux's mss_cache
        // leaves them out the same way).
        Assert.Equal(1100 - TimestampsOption, client.MaxSegmentSize);
        Assert.Equal(1100 - TimestampsOption, accepted.MaxSegmentSize); // the client's SYN advertised 1100
    }

    [Fact]
    public void ListenerSet_AcceptedConnectionAdvertisesIt_AndTheClientSendsAtMostThat()
    {
        using var h = new SocketHost();
        StackSocket listener = h.Tcp();
        listener.Bind(SocketHost.At(7201));
        listener.Listen(4);
        listener.MaxSegmentSize = 1000;
        StackSocket client = h.Tcp();
        client.Connect(SocketHost.At(7201));
        StackSocket accepted = listener.Accept();
        Assert.Equal(1000 - TimestampsOption, client.MaxSegmentSize);
        Assert.Equal(1000 - TimestampsOption, accepted.MaxSegmentSize);
        Assert.Equal(1000, accepted.GetTcpInfo()!.Value.AdvertisedMss);
    }
}
