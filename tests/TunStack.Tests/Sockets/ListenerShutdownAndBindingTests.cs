// Socket-call semantics a differential run against Linux's own sockets over loopback found to
// differ: shutdown(2) on a listener, and the binding of a socket whose connect failed.
using System.Net;
using System.Net.Sockets;
using TunStack.Sockets;
using static TunStack.Tests.Sockets.SocketAssert;

namespace TunStack.Tests.Sockets;

public class ListenerShutdownAndBindingTests
{
    [Fact]
    public async Task Listener_ShutdownBoth_StopsListening_BlockedAcceptWakesEinval_PortStaysBound()
    {
        using var h = new SocketHost();
        StackSocket listener = h.Tcp();
        listener.Bind(SocketHost.At(7100));
        listener.Listen(4);
        Task<SocketError> blocked = Task.Run(() => ErrorOf(() => listener.Accept()));
        await Task.Delay(100);

        listener.Shutdown(SocketShutdown.Both); // Linux inet_shutdown: a listener disconnects
        Assert.Equal(SocketError.InvalidArgument, await blocked.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(SocketError.InvalidArgument, ErrorOf(() => listener.Accept()));

        // Nobody listens on the port now, but the socket keeps it: it can listen again there.
        StackSocket client = h.Tcp();
        Assert.Equal(SocketError.ConnectionRefused, ErrorOf(() => client.Connect(SocketHost.At(7100))));
        Assert.Equal(SocketError.AddressAlreadyInUse, ErrorOf(() => h.Tcp().Bind(SocketHost.At(7100))));
        listener.Listen(4);
        StackSocket again = h.Tcp();
        again.Connect(SocketHost.At(7100));
        Assert.Equal(7100, ((IPEndPoint)listener.Accept().LocalEndPoint!).Port);
    }

    [Fact]
    public void ListenerWithAcceptedConnection_ShutdownBoth_KeepsItsPortWhileTheConnectionHoldsIt()
    {
        using var h = new SocketHost();
        StackSocket listener = h.Tcp();
        listener.Bind(SocketHost.At(7110));
        listener.Listen(4);
        StackSocket client = h.Tcp();
        client.Connect(SocketHost.At(7110));
        StackSocket accepted = listener.Accept(); // holds 10.9.0.1:7110 as long as it lives

        listener.Shutdown(SocketShutdown.Both);
        Assert.Equal(7110, ((IPEndPoint)listener.LocalEndPoint!).Port);
        Assert.Equal(SocketError.InvalidArgument, ErrorOf(() => listener.Bind(SocketHost.At(7111)))); // still bound
        Assert.NotNull(accepted);
    }

    [Fact]
    public void Listener_ShutdownSend_ChangesNothing()
    {
        using var h = new SocketHost();
        StackSocket listener = h.Listen(7101);
        listener.Shutdown(SocketShutdown.Send);
        StackSocket client = h.Tcp();
        client.Connect(SocketHost.At(7101));
        Assert.NotNull(listener.Accept());
    }

    [Fact]
    public void ListenerWithoutBind_ShutdownReceive_GivesUpItsEphemeralPort()
    {
        using var h = new SocketHost();
        StackSocket listener = h.Tcp();
        listener.Listen(4);
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        listener.Shutdown(SocketShutdown.Receive);
        h.Tcp().Bind(SocketHost.At(port)); // free again
        listener.Bind(SocketHost.At(7102)); // and the socket may bind afresh
    }

    [Fact]
    public void BoundSocket_ConnectRefused_StaysBound_SecondBindEinval()
    {
        using var h = new SocketHost();
        StackSocket socket = h.Tcp();
        socket.Bind(SocketHost.At(7103));
        Assert.Equal(SocketError.ConnectionRefused, ErrorOf(() => socket.Connect(SocketHost.At(7104))));
        Assert.Equal(SocketError.InvalidArgument, ErrorOf(() => socket.Bind(SocketHost.At(7105))));
        Assert.Equal(SocketError.AddressAlreadyInUse, ErrorOf(() => h.Tcp().Bind(SocketHost.At(7103))));

        // It connects again from the port it was bound to.
        h.Listen(7104);
        socket.Connect(SocketHost.At(7104));
        Assert.Equal(7103, ((IPEndPoint)socket.LocalEndPoint!).Port);
    }

    [Fact]
    public void BoundSocket_ConnectRefusedWhileAnotherListensOnItsPort_StillHoldsThePort()
    {
        using var h = new SocketHost();
        StackSocket first = h.Tcp();
        StackSocket second = h.Tcp();
        first.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        second.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        first.Bind(SocketHost.At(7106));
        second.Bind(SocketHost.At(7106)); // both set SO_REUSEADDR and neither listens: they share it
        second.Listen(4);

        // The connect gives the port up while it tries; when it fails the port is the socket's
        // again although a listener now holds it (Linux never lets go of a port bind() gave).
        Assert.Equal(SocketError.ConnectionRefused, ErrorOf(() => first.Connect(SocketHost.At(7107))));
        Assert.Equal(7106, ((IPEndPoint)first.LocalEndPoint!).Port);
        Assert.Equal(SocketError.InvalidArgument, ErrorOf(() => first.Bind(SocketHost.At(7108))));
        Assert.Equal(SocketError.AddressAlreadyInUse, ErrorOf(() => first.Listen(4))); // one listener per port
    }

    [Fact]
    public void ConnectionResetByListenerClose_Shutdown_NotConnected()
    {
        using var h = new SocketHost();
        StackSocket listener = h.Listen(7109);
        StackSocket client = h.Tcp();
        client.Connect(SocketHost.At(7109));
        listener.Dispose(); // the connection nobody accepted is reset
        Assert.True(client.Poll(5_000_000, SelectMode.SelectRead));
        Assert.Equal(SocketError.NotConnected, ErrorOf(() => client.Shutdown(SocketShutdown.Both))); // Linux: TCP_CLOSE -> ENOTCONN
    }

    [Fact]
    public void Connected_ShutdownReceiveThenPeerSends_ReadReturnsEndOfFileThenTheData()
    {
        // Linux tcp_recvmsg with RCV_SHUTDOWN (packetdrill's shutdown-rd-wr-close): a read with
        // nothing queued returns 0 at once instead of waiting, and data that arrives later is
        // still read.
        using var h = new SocketHost();
        (StackSocket client, StackSocket server) = h.Pair(7120);
        server.Shutdown(SocketShutdown.Receive);
        Assert.Equal(0, server.Receive(new byte[100]));

        client.Send(new byte[1000]);
        var buffer = new byte[2000];
        DateTime deadline = DateTime.UtcNow.AddSeconds(10);
        while (server.Available < 1000 && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(5);
        }

        Assert.Equal(1000, server.Receive(buffer));
        Assert.Equal(0, server.Receive(buffer));
    }
}
