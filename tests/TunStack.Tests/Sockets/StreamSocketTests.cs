// Stream socket semantics of POSIX/Linux (man 2 socket/bind/listen/accept/connect, the seed
// texts in ../shared/seeds/), one test each, over a MemoryLink host with the virtual clock.
using System.Net;
using System.Net.Sockets;
using TunStack.Sockets;
using TunStack.Sockets.Hosting;
using TunStack.Tcp;
using StackAddress = TunStack.Ip.InternetAddress;
using static TunStack.Tests.Sockets.SocketAssert;

namespace TunStack.Tests.Sockets;

public class StreamSocketTests
{
    [Fact]
    public void Listen_WithoutBind_PicksEphemeralPortFromConfiguredRange()
    {
        using var h = new SocketHost(configure: o => { o.EphemeralPortFirst = 40000; o.EphemeralPortLast = 40009; });
        using StackSocket listener = h.Tcp();
        Assert.Null(listener.LocalEndPoint);
        listener.Listen(5);
        var local = (IPEndPoint)listener.LocalEndPoint!;
        Assert.InRange(local.Port, 40000, 40009);

        // The port really is listening: a client reaches it.
        using StackSocket client = h.Tcp();
        client.Connect(SocketHost.At(local.Port));
        using StackSocket accepted = listener.Accept();
        Assert.Equal(client.LocalEndPoint, accepted.RemoteEndPoint);
    }

    [Fact]
    public void Connect_OnUnboundSocket_BindsEphemeralPort()
    {
        using var h = new SocketHost();
        using StackSocket listener = h.Listen(80);
        using StackSocket client = h.Tcp();
        Assert.False(client.IsBound);
        client.Connect(SocketHost.At(80));
        var local = (IPEndPoint)client.LocalEndPoint!;
        Assert.True(client.IsBound);
        Assert.InRange(local.Port, 32768, 60999);
        Assert.Equal(SocketHost.Address, local.Address);
        Assert.Equal(SocketHost.At(80), client.RemoteEndPoint);
    }

    [Fact]
    public void Listen_OnConnectedOrAcceptedSocket_FailsEinval()
    {
        using var h = new SocketHost();
        (StackSocket client, StackSocket server) = h.Pair(81);
        Assert.Equal(SocketError.InvalidArgument, ErrorOf(() => client.Listen(1)));
        Assert.Equal(SocketError.InvalidArgument, ErrorOf(() => server.Listen(1)));
    }

    [Fact]
    public void ListenAndAccept_OnDatagramSocket_FailEopnotsupp()
    {
        using var h = new SocketHost();
        using StackSocket udp = h.BoundUdp(5000);
        Assert.Equal(SocketError.OperationNotSupported, ErrorOf(() => udp.Listen(1)));
        Assert.Equal(SocketError.OperationNotSupported, ErrorOf(() => udp.Accept()));
    }

    [Fact]
    public void Accept_OnNonListeningSocket_FailsEinval()
    {
        using var h = new SocketHost();
        using StackSocket s = h.Tcp();
        s.Bind(SocketHost.At(82));
        Assert.Equal(SocketError.InvalidArgument, ErrorOf(() => s.Accept()));
    }

    [Fact]
    public void Accept_ReturnsConnectedSocketAndPeer_ListenerKeepsAccepting()
    {
        using var h = new SocketHost();
        using StackSocket listener = h.Listen(83);
        var clients = new List<StackSocket>();
        for (int i = 0; i < 3; i++)
        {
            StackSocket client = h.Tcp();
            client.Connect(SocketHost.At(83));
            clients.Add(client);
            using StackSocket accepted = listener.Accept();
            Assert.True(accepted.Connected);
            Assert.Equal(client.LocalEndPoint, accepted.RemoteEndPoint);
            Assert.Equal(SocketHost.At(83), accepted.LocalEndPoint);
            accepted.Send(new[] { (byte)i });
            var one = new byte[1];
            Assert.Equal(1, client.Receive(one));
            Assert.Equal(i, one[0]);
        }

        Assert.Equal(TcpConnectionState.Listen, listener.TcpConnectionState);
        clients.ForEach(c => c.Dispose());
    }

    [Fact]
    public void Accept_InheritsListenersNoDelayAndKeepAlive_AndTheConnectionRunsThem()
    {
        // As Linux, the accepted socket has the listener's TCP_NODELAY and SO_KEEPALIVE, and they are in effect.
        using var h = new SocketHost();
        using StackSocket listener = h.Tcp();
        listener.NoDelay = true;
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        listener.Bind(SocketHost.At(102));
        listener.Listen(1);
        using StackSocket client = h.Tcp();
        client.Connect(SocketHost.At(102));
        using StackSocket server = listener.Accept();
        Assert.True(server.NoDelay);
        Assert.Equal(1, server.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive));

        // Only the accepted side has keepalive: after 2 h idle (virtual time) it probes.
        Assert.True(SpinWait.SpinUntil(() => h.Host.Counters[Counter.TcpKeepAliveProbes] > 0, 10_000));
    }

    [Fact]
    public void PendingConnections_UpToBacklog_CompleteHandshakeBeforeAccept_ListenerPollsReadable()
    {
        using var h = new SocketHost();
        using StackSocket listener = h.Listen(84, backlog: 3);
        Assert.False(listener.Poll(0, SelectMode.SelectRead));
        var clients = Enumerable.Range(0, 3).Select(_ => h.Tcp()).ToList();
        foreach (StackSocket c in clients)
        {
            c.Connect(SocketHost.At(84)); // returns once the handshake completed, before any accept
            Assert.Equal(TcpConnectionState.Established, c.TcpConnectionState);
        }

        Assert.True(listener.Poll(1_000_000, SelectMode.SelectRead));
        for (int i = 0; i < 3; i++)
        {
            using StackSocket a = listener.Accept();
        }

        Assert.False(listener.Poll(0, SelectMode.SelectRead));
        clients.ForEach(c => c.Dispose());
    }

    [Fact]
    public void NonblockingAccept_NothingPending_Eagain()
    {
        using var h = new SocketHost();
        using StackSocket listener = h.Listen(85);
        listener.Blocking = false;
        Assert.Equal(SocketError.WouldBlock, ErrorOf(() => listener.Accept()));
    }

    [Fact]
    public void BlockingConnect_NoListener_Econnrefused()
    {
        using var h = new SocketHost();
        using StackSocket client = h.Tcp();
        Assert.Equal(SocketError.ConnectionRefused, ErrorOf(() => client.Connect(SocketHost.At(9))));
        Assert.False(client.Connected);
    }

    [Fact]
    public void BlockingConnect_NoAnswer_EtimedoutAfterSynRetries()
    {
        // RFC 6298 5.5 backoff: 1+2+4+8+16+32+64 s of virtual time, 1 + 6 SYNs.
        using var h = new SocketHost();
        using StackSocket client = h.Tcp();
        Assert.Equal(SocketError.TimedOut, ErrorOf(() => client.Connect(new IPEndPoint(SocketHost.FarAddress, 80))));
        int syns = h.Drain().Count(p => p.Length >= 40 && p[9] == 6 && (p[33] & 0x02) != 0);
        Assert.Equal(1 + h.Host.Options.Tcp.MaxSynRetransmissions, syns);
    }

    [Fact]
    public void Connect_NoRoute_Enetunreach()
    {
        using var h = new SocketHost(configure: o => o.Routes.Add(new TunStack.Ip.Route(TunStack.Ip.IpPrefix.Parse("10.9.0.0/24"))));
        using StackSocket client = h.Tcp();
        Assert.Equal(SocketError.NetworkUnreachable, ErrorOf(() => client.Connect(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 80))));
    }

    [Fact]
    public async Task Connect_IcmpHostUnreachableAnswersSyn_Ehostunreach()
    {
        using var h = new SocketHost();
        using StackSocket client = h.Tcp();
        var far = new IPEndPoint(SocketHost.FarAddress, 80);
        Task<SocketError> connecting = Task.Run(() => ErrorOf(() => client.Connect(far)));
        byte[] syn = h.NextPacket(p => p[9] == 6);
        // RFC 1122 4.2.3.9 / RFC 5927: a host unreachable quoting our SYN aborts the opening connection.
        h.Inject(Packets.Ipv4(StackAddress.Parse("10.9.0.2"), StackAddress.Parse("10.9.0.1"), 1, Packets.Icmp(StackAddress.Parse("10.9.0.2"), StackAddress.Parse("10.9.0.1"), 3, 1, 0, syn.AsSpan(0, 28))));
        Assert.Equal(SocketError.HostUnreachable, await connecting.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void NonblockingConnect_Einprogress_ThenEalready_ThenWritableWithSoErrorZero_ThenEisconn()
    {
        using var h = new SocketHost();
        using StackSocket listener = h.Listen(86);
        using StackSocket client = h.Tcp();
        client.Blocking = false;
        using (h.Host.Runner.Enter())
        {
            // Holding the stack: the SYN cannot be answered yet.
            Assert.Equal(SocketError.InProgress, ErrorOf(() => client.Connect(SocketHost.At(86))));
            Assert.Equal(SocketError.AlreadyInProgress, ErrorOf(() => client.Connect(SocketHost.At(86))));
            Assert.False(client.Poll(0, SelectMode.SelectWrite));
        }

        Assert.True(client.Poll(5_000_000, SelectMode.SelectWrite));
        Assert.Equal(0, client.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error));
        Assert.Equal(SocketError.IsConnected, ErrorOf(() => client.Connect(SocketHost.At(86))));
        Assert.True(client.Connected);
    }

    [Fact]
    public void NonblockingConnect_Refused_WritableWithSoErrorEconnrefused()
    {
        using var h = new SocketHost();
        using StackSocket client = h.Tcp();
        client.Blocking = false;
        Assert.Equal(SocketError.InProgress, ErrorOf(() => client.Connect(SocketHost.At(87))));
        Assert.True(client.Poll(5_000_000, SelectMode.SelectWrite));
        Assert.Equal((int)SocketError.ConnectionRefused, client.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error));
        Assert.Equal(0, client.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)); // read clears it
    }

    [Fact]
    public void Bind_AddressTheStackDoesNotOwn_Eaddrnotavail()
    {
        using var h = new SocketHost();
        using StackSocket s = h.Tcp();
        Assert.Equal(SocketError.AddressNotAvailable, ErrorOf(() => s.Bind(new IPEndPoint(IPAddress.Parse("10.9.0.77"), 80))));
        using StackSocket u = h.Udp();
        Assert.Equal(SocketError.AddressNotAvailable, ErrorOf(() => u.Bind(new IPEndPoint(IPAddress.Parse("10.9.0.77"), 80))));
    }

    [Fact]
    public void Bind_PortInUse_Eaddrinuse_AlsoAgainstWildcard()
    {
        using var h = new SocketHost();
        using StackSocket first = h.Tcp();
        first.Bind(SocketHost.At(88));
        using StackSocket second = h.Tcp();
        Assert.Equal(SocketError.AddressAlreadyInUse, ErrorOf(() => second.Bind(SocketHost.At(88))));
        using StackSocket wildcard = h.Tcp();
        Assert.Equal(SocketError.AddressAlreadyInUse, ErrorOf(() => wildcard.Bind(new IPEndPoint(IPAddress.Any, 88))));
        using StackSocket again = h.Tcp();
        Assert.Equal(SocketError.InvalidArgument, ErrorOf(() => first.Bind(SocketHost.At(89))));
    }

    [Fact]
    public void BoundToPortZero_ConnectRefused_PortReleasedSoAnotherSocketAndTheSameOneMayBind()
    {
        // Linux sets SOCK_BINDPORT_LOCK only for a bind that names a port: a port bind() picked is
        // let go when the connection ends (tcp_set_state(TCP_CLOSE) -> inet_put_port), and
        // getsockname keeps showing it until the socket binds or connects again.
        using var h = new SocketHost();
        using StackSocket s = h.Tcp();
        s.Bind(SocketHost.At(0));
        int picked = ((IPEndPoint)s.LocalEndPoint!).Port;
        Assert.NotEqual(0, picked);
        Assert.Equal(SocketError.ConnectionRefused, ErrorOf(() => s.Connect(SocketHost.At(1))));
        Assert.Equal(picked, ((IPEndPoint)s.LocalEndPoint!).Port);

        using StackSocket other = h.Tcp();
        other.Bind(SocketHost.At(picked));
        s.Bind(SocketHost.At(0));
        Assert.NotEqual(picked, ((IPEndPoint)s.LocalEndPoint!).Port);
    }

    [Fact]
    public void Unbound_ConnectRefused_GetsocknameShowsThePortOnAnyAddress_AndItIsFree()
    {
        // Linux's tcp_disconnect after the failed attempt resets the source address of a socket
        // that did not bind one, and tcp_done let the port go; getsockname keeps the port.
        using var h = new SocketHost();
        using StackSocket s = h.Tcp();
        Assert.Equal(SocketError.ConnectionRefused, ErrorOf(() => s.Connect(SocketHost.At(1))));
        var local = (IPEndPoint)s.LocalEndPoint!;
        Assert.Equal(IPAddress.Any, local.Address);
        Assert.NotEqual(0, local.Port);
        using StackSocket other = h.Tcp();
        other.Bind(SocketHost.At(local.Port));
    }

    [Fact]
    public void BoundToNamedPort_ConnectRefused_PortStaysTheSockets()
    {
        using var h = new SocketHost();
        using StackSocket s = h.Tcp();
        s.Bind(SocketHost.At(7150));
        Assert.Equal(SocketError.ConnectionRefused, ErrorOf(() => s.Connect(SocketHost.At(1))));
        Assert.Equal(7150, ((IPEndPoint)s.LocalEndPoint!).Port);
        using StackSocket other = h.Tcp();
        Assert.Equal(SocketError.AddressAlreadyInUse, ErrorOf(() => other.Bind(SocketHost.At(7150))));
        Assert.Equal(SocketError.InvalidArgument, ErrorOf(() => s.Bind(SocketHost.At(0))));
    }

    [Fact]
    public void ReuseAddress_ListenerRebinds_WhileOldConnectionsSitInTimeWait()
    {
        // On the real clock: the virtual one leaps to the next deadline whenever the stack is idle
        // for a moment, so TIME-WAIT (however long) could end before the test looks; run alone,
        // with a cold JIT, it did.
        using var h = new SocketHost(StackClock.Real);
        (StackSocket client, StackSocket server) = h.Pair(90);
        server.Dispose(); // the server closes first: its side ends in TIME-WAIT
        Assert.Equal(0, client.Receive(new byte[1]));
        client.Dispose();
        SpinWait.SpinUntil(() => { using var c = h.Host.Runner.Enter(); return c.Stack.TcpConnections.TimeWait == 1; }, 5000);
        using (var c = h.Host.Runner.Enter())
        {
            Assert.Equal(1, c.Stack.TcpConnections.TimeWait);
        }

        using StackSocket plain = h.Tcp();
        Assert.Equal(SocketError.AddressAlreadyInUse, ErrorOf(() => plain.Bind(SocketHost.At(90))));
        using StackSocket reusing = h.Tcp();
        reusing.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        reusing.Bind(SocketHost.At(90));
        reusing.Listen(4);
        Assert.Equal(SocketHost.At(90), reusing.LocalEndPoint);
    }

    [Fact]
    public void Bind_NoEphemeralPortLeft_Eaddrnotavail()
    {
        using var h = new SocketHost(configure: o => { o.EphemeralPortFirst = 50000; o.EphemeralPortLast = 50001; });
        using StackSocket a = h.Tcp();
        using StackSocket b = h.Tcp();
        using StackSocket c = h.Tcp();
        a.Bind(SocketHost.At(0));
        b.Bind(SocketHost.At(0));
        Assert.NotEqual(a.LocalEndPoint, b.LocalEndPoint);
        Assert.Equal(SocketError.AddressNotAvailable, ErrorOf(() => c.Bind(SocketHost.At(0))));
        Assert.Equal(SocketError.AddressNotAvailable, ErrorOf(() => c.Listen(1)));
    }

    [Fact]
    public void Read_AfterPeerClosed_ReturnsZeroAtEof()
    {
        using var h = new SocketHost();
        (StackSocket client, StackSocket server) = h.Pair(91);
        server.Send("bye"u8);
        server.Dispose();
        var buffer = new byte[16];
        Assert.Equal(3, client.Receive(buffer, StackSocketFlags.WaitAll));
        Assert.Equal(0, client.Receive(buffer));
        Assert.Equal(0, client.Receive(buffer));
    }

    [Fact]
    public void Write_AfterPeerReset_EconnresetThenEpipe()
    {
        using var h = new SocketHost();
        (StackSocket client, StackSocket server) = h.Pair(92);
        server.LingerState = new LingerOption(true, 0);
        server.Dispose(); // RST
        Assert.True(client.Poll(5_000_000, SelectMode.SelectError));
        Assert.Equal(SocketError.ConnectionReset, ErrorOf(() => client.Send("x"u8)));
        Assert.Equal(SocketError.Shutdown, ErrorOf(() => client.Send("x"u8))); // EPIPE
        Assert.Equal(0, client.Receive(new byte[4])); // the reset was reported: reads see EOF
    }

    [Fact]
    public void ConnectionReset_PortConnectPicked_BindNamesAPortAgain()
    {
        // Linux: the reset puts the socket in TCP_CLOSE and releases the port connect() picked
        // (tcp_set_state, inet_put_port), so bind() passes inet_bind's "already bound" check
        // (found by SocketCallSequenceTests with kernel sockets as the model).
        using var h = new SocketHost();
        (StackSocket client, StackSocket server) = h.Pair(97);
        var picked = (IPEndPoint)client.LocalEndPoint!;
        server.LingerState = new LingerOption(true, 0);
        server.Dispose(); // RST
        Assert.True(client.Poll(5_000_000, SelectMode.SelectError));
        Assert.Equal(picked, client.LocalEndPoint); // getsockname keeps the old port until a bind

        using StackSocket listener = h.Listen(96);
        Assert.Equal(SocketError.AddressAlreadyInUse, ErrorOf(() => client.Bind(SocketHost.At(96)))); // with the usual conflicts
        client.Bind(SocketHost.At(98));

        Assert.Equal(SocketHost.At(98), client.LocalEndPoint);
        Assert.Equal(SocketError.InvalidArgument, ErrorOf(() => client.Bind(SocketHost.At(99)))); // bound now
        Assert.Equal(SocketError.InvalidArgument, ErrorOf(() => client.Listen(1))); // still SS_CONNECTED
        Assert.Equal(SocketError.IsConnected, ErrorOf(() => client.Connect(SocketHost.At(97))));
        client.Dispose();
        using StackSocket again = h.Tcp();
        again.Bind(SocketHost.At(98)); // the close gave the binding back
    }

    [Fact]
    public void ConnectionClosedInTimeWait_PortConnectPicked_BindNamesAPortAgain()
    {
        // TIME-WAIT reached while the application holds the socket: Linux's socket is in
        // TCP_CLOSE (tcp_time_wait hands the port to the TIME-WAIT record), so bind() is allowed.
        using var h = new SocketHost();
        (StackSocket client, StackSocket server) = h.Pair(100);
        client.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, server.Receive(new byte[1]));
        server.Dispose();
        Assert.Equal(0, client.Receive(new byte[1])); // the server's FIN: the client is in TIME-WAIT

        client.Bind(SocketHost.At(101));

        Assert.Equal(SocketHost.At(101), client.LocalEndPoint);
    }

    [Fact]
    public void ConnectionReset_PortTheCallerBound_BindIsEinval()
    {
        // Linux keeps a port bind() named (SOCK_BINDPORT_LOCK) after the connection, on the
        // connecting side and on a socket accepted from a listener whose port was bound.
        using var h = new SocketHost();
        using StackSocket listener = h.Listen(102);
        using StackSocket client = h.Tcp();
        client.Bind(SocketHost.At(103));
        client.Connect(SocketHost.At(102));
        using StackSocket server = listener.Accept();
        using StackSocket secondClient = h.Tcp();
        secondClient.Connect(SocketHost.At(102));
        using StackSocket secondServer = listener.Accept();
        server.LingerState = new LingerOption(true, 0);
        secondClient.LingerState = new LingerOption(true, 0);

        server.Dispose();       // RST to the client that bound its port
        secondClient.Dispose(); // RST to the socket accepted on the bound listener
        Assert.True(client.Poll(5_000_000, SelectMode.SelectError));
        Assert.True(secondServer.Poll(5_000_000, SelectMode.SelectError));

        Assert.Equal(SocketError.InvalidArgument, ErrorOf(() => client.Bind(SocketHost.At(104))));
        Assert.Equal(SocketError.InvalidArgument, ErrorOf(() => secondServer.Bind(SocketHost.At(104))));
    }

    [Fact]
    public void ConnectionReset_PortTheCallerBound_StaysTakenUntilTheSocketCloses()
    {
        // Linux: the ended connection's socket stays in the bind table with a port bind() named
        // (found by SocketCallSequenceTests: another socket's bind() to it was EADDRINUSE there).
        using var h = new SocketHost();
        StackSocket listener = h.Listen(105);
        using StackSocket client = h.Tcp();
        client.Bind(SocketHost.At(106));
        client.Connect(SocketHost.At(105));
        listener.Dispose(); // resets the connection nobody accepted
        Assert.True(client.Poll(5_000_000, SelectMode.SelectError));
        using StackSocket other = h.Tcp();

        Assert.Equal(SocketError.AddressAlreadyInUse, ErrorOf(() => other.Bind(SocketHost.At(106))));
        client.Dispose();
        other.Bind(SocketHost.At(106));
    }

    [Fact]
    public void CloseWait_PeerResets_ReadsStayAtEndOfStream_SendIsEpipe()
    {
        // Linux: tcp_reset in CLOSE_WAIT sets EPIPE, and tcp_recvmsg returns 0 once the FIN was
        // seen (SOCK_DONE) before it looks at the error (found by SocketCallSequenceTests).
        using var h = new SocketHost();
        (StackSocket client, StackSocket server) = h.Pair(107);
        client.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, server.Receive(new byte[1])); // the FIN: the server is in CLOSE-WAIT
        client.LingerState = new LingerOption(true, 0);
        client.Dispose(); // RST
        Assert.True(server.Poll(5_000_000, SelectMode.SelectError));

        Assert.Equal(0, server.Receive(new byte[1]));
        Assert.Equal(SocketError.Shutdown, ErrorOf(() => server.Send("x"u8))); // EPIPE, not ECONNRESET
        Assert.Equal(0, server.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)); // reported once
    }

    [Fact]
    public void ShutDownBothWays_PeerResets_SendAndReceiveReportTheResetOnce()
    {
        // Linux: a pending error comes before EPIPE in tcp_sendmsg (sk_stream_error) and before
        // RCV_SHUTDOWN's end of file in tcp_recvmsg (found by SocketCallSequenceTests).
        using var h = new SocketHost();
        (StackSocket client, StackSocket server) = h.Pair(108);
        (StackSocket reader, StackSocket readerPeer) = h.Pair(109);
        client.Shutdown(SocketShutdown.Send);
        reader.Shutdown(SocketShutdown.Receive);
        server.LingerState = new LingerOption(true, 0);
        readerPeer.LingerState = new LingerOption(true, 0);
        server.Dispose();
        readerPeer.Dispose();
        Assert.True(client.Poll(5_000_000, SelectMode.SelectError));
        Assert.True(reader.Poll(5_000_000, SelectMode.SelectError));

        Assert.Equal(SocketError.ConnectionReset, ErrorOf(() => client.Send("x"u8)));
        Assert.Equal(SocketError.Shutdown, ErrorOf(() => client.Send("x"u8)));
        Assert.Equal(SocketError.ConnectionReset, ErrorOf(() => reader.Receive(new byte[1])));
        Assert.Equal(0, reader.Receive(new byte[1]));
    }

    [Fact]
    public void ShutdownSend_SendsFinWhileReadingGoesOn_ThenWriteIsEpipe()
    {
        using var h = new SocketHost();
        (StackSocket client, StackSocket server) = h.Pair(93);
        client.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, server.Receive(new byte[8])); // FIN seen as EOF
        server.Send("still talking"u8);
        var buffer = new byte[13];
        Assert.Equal(13, client.Receive(buffer, StackSocketFlags.WaitAll));
        Assert.Equal("still talking", System.Text.Encoding.ASCII.GetString(buffer));
        Assert.Equal(SocketError.Shutdown, ErrorOf(() => client.Send("x"u8)));
    }

    [Fact]
    public void GetPeerName_OnUnconnectedSocket_Enotconn()
    {
        using var h = new SocketHost();
        using StackSocket s = h.Tcp();
        Assert.Null(s.RemoteEndPoint);
        Assert.Equal(SocketError.NotConnected, ErrorOf(() => s.GetPeerName()));
        Assert.Equal(SocketError.Shutdown, ErrorOf(() => s.Send("x"u8))); // Linux: EPIPE (sk_stream_wait_connect), as the kernel answers SocketCallSequenceTests
        Assert.Equal(SocketError.NotConnected, ErrorOf(() => s.Receive(new byte[1])));
        Assert.Equal(SocketError.NotConnected, ErrorOf(() => s.Shutdown(SocketShutdown.Both)));
    }

    [Fact]
    public void NeverConnected_ShutdownSendFailsThenConnect_SendsAreEpipe()
    {
        // Linux inet_shutdown sets the flag even when it answers ENOTCONN, and connect() keeps
        // it (found by SocketCallSequenceTests with kernel sockets as the model).
        using var h = new SocketHost();
        using StackSocket listener = h.Listen(95);
        using StackSocket s = h.Tcp();
        Assert.Equal(SocketError.NotConnected, ErrorOf(() => s.Shutdown(SocketShutdown.Send)));

        s.Connect(SocketHost.At(95));

        Assert.Equal(SocketError.Shutdown, ErrorOf(() => s.Send("x"u8)));
    }

    [Fact]
    public void NeverConnected_ShutdownSendFailsThenConnectRefusedThenConnect_SendsGo()
    {
        // Linux: the refused connect's tcp_disconnect clears the shutdown flags (found by
        // SocketCallSequenceTests with kernel sockets as the model).
        using var h = new SocketHost();
        using StackSocket s = h.Tcp();
        Assert.Equal(SocketError.NotConnected, ErrorOf(() => s.Shutdown(SocketShutdown.Send)));
        Assert.Equal(SocketError.ConnectionRefused, ErrorOf(() => s.Connect(SocketHost.At(96))));
        using StackSocket listener = h.Listen(96);

        s.Connect(SocketHost.At(96));

        Assert.Equal(1, s.Send("x"u8));
    }

    [Fact]
    public async Task ReceiveFlags_PeekWaitAllDontWait()
    {
        using var h = new SocketHost();
        (StackSocket client, StackSocket server) = h.Pair(94);
        var buffer = new byte[10];
        Assert.Equal(SocketError.WouldBlock, ErrorOf(() => server.Receive(buffer, StackSocketFlags.DontWait)));
        Assert.Equal(0, server.Receive(buffer, StackSocketFlags.DontWait, out SocketError error));
        Assert.Equal(SocketError.WouldBlock, error);

        client.Send("hello"u8);
        SpinWait.SpinUntil(() => server.Available == 5, 5000);
        Assert.Equal(5, server.Available);
        Assert.Equal(5, server.Receive(buffer, SocketFlags.Peek));
        Assert.Equal(5, server.Available); // peek leaves the data

        // MSG_WAITALL waits for all 10 bytes although 5 are there now.
        Task<int> all = Task.Run(() => server.Receive(buffer, StackSocketFlags.WaitAll));
        Thread.Sleep(50);
        Assert.False(all.IsCompleted);
        client.Send("world"u8);
        Assert.Equal(10, await all.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("helloworld", System.Text.Encoding.ASCII.GetString(buffer));
    }

    [Fact]
    public void OutOfBand_ByteReadWithMsgOob_AtMarkAfterOrdinaryData_PollPriority()
    {
        // glibc manual "Out-of-Band Data": the mark, SIOCATMARK and recv(MSG_OOB).
        using var h = new SocketHost();
        (StackSocket client, StackSocket server) = h.Pair(95);
        client.NoDelay = true;
        client.Send("abc"u8);
        client.Send("!"u8, SocketFlags.OutOfBand);
        Assert.True(server.Poll(5_000_000, SelectMode.SelectError)); // POLLPRI
        Assert.False(server.AtMark);
        var buffer = new byte[16];
        Assert.Equal(3, server.Receive(buffer)); // stops at the mark
        Assert.True(server.AtMark);
        var oob = new byte[1];
        Assert.Equal(1, server.Receive(oob, SocketFlags.OutOfBand));
        Assert.Equal((byte)'!', oob[0]);
        Assert.Equal(SocketError.InvalidArgument, ErrorOf(() => server.Receive(oob, SocketFlags.OutOfBand)));
    }

    [Fact]
    public void Available_OnStreamSocket_IsUnreadBytes()
    {
        using var h = new SocketHost();
        (StackSocket client, StackSocket server) = h.Pair(96);
        Assert.Equal(0, server.Available);
        client.Send(new byte[1000]);
        SpinWait.SpinUntil(() => server.Available == 1000, 5000);
        Assert.Equal(1000, server.Available);
        server.Receive(new byte[400]);
        Assert.Equal(600, server.Available);
    }

    [Fact]
    public void BlockingReceive_HonoursReceiveTimeout()
    {
        using var h = new SocketHost(StackClock.Real);
        (StackSocket client, StackSocket server) = h.Pair(97);
        server.ReceiveTimeout = 100;
        Assert.Equal(SocketError.TimedOut, ErrorOf(() => server.Receive(new byte[1])));
    }

    [Fact]
    public void BlockingSend_PeerNotReading_HonoursSendTimeout_ReturnsWhatWasTaken()
    {
        using var h = new SocketHost(StackClock.Real);
        using StackSocket listener = h.Tcp();
        listener.ReceiveBufferSize = 4096;
        listener.Bind(SocketHost.At(101));
        listener.Listen(1);
        using StackSocket client = h.Tcp();
        client.SendBufferSize = 4096;
        client.Connect(SocketHost.At(101));
        using StackSocket server = listener.Accept();
        client.SendTimeout = 200;

        // SO_SNDTIMEO: a blocking send that cannot finish returns the bytes taken (as Linux does)...
        int taken = client.Send(new byte[1_000_000]);
        Assert.InRange(taken, 1, 64 * 1024);

        // ...and when it can take nothing at all, it fails with TimedOut.
        Assert.Equal(SocketError.TimedOut, ErrorOf(() => client.Send(new byte[1_000_000])));
    }

    [Fact]
    public async Task Close_WakesBlockedReader_WithOperationAborted()
    {
        using var h = new SocketHost();
        (StackSocket client, StackSocket server) = h.Pair(98);
        Task<SocketError> reader = Task.Run(() => ErrorOf(() => server.Receive(new byte[1])));
        Assert.True(SpinWait.SpinUntil(() => server.IsReaderWaiting, 5000));
        server.Dispose();
        Assert.Equal(SocketError.OperationAborted, await reader.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Throws<ObjectDisposedException>(() => server.Receive(new byte[1]));
    }

    [Fact]
    public async Task BlockingSend_LargerThanBuffers_ReturnsWhenAllTaken_DataArrivesIntact()
    {
        using var h = new SocketHost();
        (StackSocket client, StackSocket server) = h.Pair(99);
        byte[] data = new byte[3_000_000];
        new Random(1).NextBytes(data);
        Task<int> sender = Task.Run(() => client.Send(data));
        byte[] got = new byte[data.Length];
        Assert.Equal(data.Length, server.Receive(got, StackSocketFlags.WaitAll));
        Assert.Equal(data.Length, await sender.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(data, got);
    }

    [Fact]
    public void DualModeV6Listener_AcceptsIpv4Client_ReportsV4MappedPeer()
    {
        using var h = new SocketHost();
        using StackSocket listener = h.Tcp(AddressFamily.InterNetworkV6);
        Assert.True(listener.DualMode);
        listener.Bind(new IPEndPoint(IPAddress.IPv6Any, 100));
        listener.Listen(4);
        using StackSocket v4 = h.Tcp();
        v4.Connect(SocketHost.At(100));
        using StackSocket a4 = listener.Accept();
        Assert.Equal(IPAddress.Parse("::ffff:10.9.0.1"), ((IPEndPoint)a4.RemoteEndPoint!).Address);
        using StackSocket v6 = h.Tcp(AddressFamily.InterNetworkV6);
        v6.Connect(new IPEndPoint(SocketHost.AddressV6, 100));
        using StackSocket a6 = listener.Accept();
        Assert.Equal(SocketHost.AddressV6, ((IPEndPoint)a6.RemoteEndPoint!).Address);

        using StackSocket v6only = h.Tcp(AddressFamily.InterNetworkV6);
        v6only.DualMode = false;
        Assert.Equal(SocketError.AddressFamilyNotSupported, ErrorOf(() => v6only.Connect(SocketHost.At(100))));
    }
}
