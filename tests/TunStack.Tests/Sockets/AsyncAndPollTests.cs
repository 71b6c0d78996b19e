// Async forms, poll/select over many sockets, thread safety and allocation of the facade.
using System.Net;
using System.Net.Sockets;
using TunStack.Sockets;
using TunStack.Sockets.Hosting;

namespace TunStack.Tests.Sockets;

public class AsyncAndPollTests
{
    [Fact]
    public async Task AcceptAsyncConnectAsync_ReceiveAsyncSendAsync_EchoOverTheStack()
    {
        using var h = new SocketHost(StackClock.Real);
        using StackSocket listener = h.Listen(200);
        ValueTask<StackSocket> accepting = listener.AcceptAsync();
        Assert.False(accepting.IsCompleted);
        using StackSocket client = h.Tcp();
        await client.ConnectAsync(SocketHost.At(200));
        using StackSocket server = await accepting;

        byte[] message = new byte[100_000];
        new Random(2).NextBytes(message);
        Task echo = Task.Run(async () =>
        {
            var buffer = new byte[4096];
            int n;
            while ((n = await server.ReceiveAsync(buffer)) > 0)
            {
                await server.SendAsync(buffer.AsMemory(0, n));
            }

            server.Shutdown(SocketShutdown.Send);
        });
        Assert.Equal(message.Length, await client.SendAsync(message));
        client.Shutdown(SocketShutdown.Send);
        byte[] back = new byte[message.Length];
        Assert.Equal(message.Length, await client.ReceiveAsync(back, StackSocketFlags.WaitAll));
        Assert.Equal(0, await client.ReceiveAsync(new byte[1]));
        await echo.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(message, back);
    }

    [Fact]
    public async Task ReceiveFromAsyncSendToAsync_DatagramRoundTrip()
    {
        using var h = new SocketHost(StackClock.Real);
        using StackSocket server = h.BoundUdp(7100);
        using StackSocket client = h.Udp();
        ValueTask<SocketReceiveFromResult> receiving = server.ReceiveFromAsync(new byte[64], new IPEndPoint(IPAddress.Any, 0));
        await client.SendToAsync("question"u8.ToArray(), SocketHost.At(7100));
        SocketReceiveFromResult got = await receiving;
        Assert.Equal(8, got.ReceivedBytes);
        await server.SendToAsync("answer"u8.ToArray(), got.RemoteEndPoint);
        SocketReceiveFromResult reply = await client.ReceiveFromAsync(new byte[64], new IPEndPoint(IPAddress.Any, 0));
        Assert.Equal(6, reply.ReceivedBytes);
        Assert.Equal(SocketHost.At(7100), reply.RemoteEndPoint);
    }

    [Fact]
    public async Task PendingAsyncCalls_CancellationToken_CancelsWithOperationCanceled()
    {
        using var h = new SocketHost(StackClock.Real);
        using StackSocket listener = h.Listen(201);
        using var cts = new CancellationTokenSource();
        ValueTask<StackSocket> accept = listener.AcceptAsync(cts.Token);
        (StackSocket client, StackSocket server) = h.Pair(202);
        using var cts2 = new CancellationTokenSource();
        ValueTask<int> receive = server.ReceiveAsync(new byte[10], SocketFlags.None, cts2.Token);
        cts.Cancel();
        cts2.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await accept);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await receive);

        // The socket stays usable after a cancelled read.
        client.Send("after"u8);
        Assert.Equal(5, await server.ReceiveAsync(new byte[10]));
    }

    [Fact]
    public async Task ConnectAsync_CancelledWhileSynUnanswered_AbortsAttempt()
    {
        using var h = new SocketHost(StackClock.Real);
        using StackSocket client = h.Tcp();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await client.ConnectAsync(new IPEndPoint(SocketHost.FarAddress, 80), cts.Token));
        Assert.False(client.Connected);
    }

    [Fact]
    public void Poll_ManySockets_ReadableWritableErrorHangupPriority_AndTimeout()
    {
        using var h = new SocketHost();
        using StackSocket listener = h.Listen(210);
        (StackSocket a, StackSocket b) = h.Pair(211);
        (StackSocket c, StackSocket d) = h.Pair(212);
        using StackSocket fresh = h.Tcp();
        using StackSocket udp = h.BoundUdp(7200);
        var set = new[]
        {
            new PollDescriptor(listener, PollEvents.Readable),
            new PollDescriptor(b, PollEvents.Readable | PollEvents.Priority),
            new PollDescriptor(d, PollEvents.Readable | PollEvents.ReadHangUp),
            new PollDescriptor(udp, PollEvents.Readable),
            new PollDescriptor(a, PollEvents.Writable),
        };

        // Only "a" is ready (writable); the rest have nothing yet.
        Assert.Equal(1, StackSocket.Poll(set, 0));
        Assert.Equal(PollEvents.Writable, set[4].ReturnedEvents);

        // Nothing readable: a timeout of 50 ms returns 0.
        Assert.Equal(0, StackSocket.Poll(set.AsSpan(0, 4), 50));

        a.NoDelay = true;
        a.Send("!"u8, SocketFlags.OutOfBand); // b: priority
        c.Dispose();                           // d: readable (EOF) + read hang-up
        using StackSocket other = h.Udp();
        other.SendTo("x"u8, SocketHost.At(7200)); // udp: readable
        using StackSocket knocking = h.Tcp();
        knocking.Connect(SocketHost.At(210)); // listener: readable

        SpinWait.SpinUntil(() => StackSocket.Poll(set, 1000) == 5, 5000);
        Assert.Equal(5, StackSocket.Poll(set, 1000));
        Assert.Equal(PollEvents.Readable, set[0].ReturnedEvents);
        Assert.Equal(PollEvents.Priority, set[1].ReturnedEvents); // only the urgent byte: not POLLIN, as Linux's tcp_poll
        Assert.Equal(PollEvents.Readable | PollEvents.ReadHangUp, set[2].ReturnedEvents);
        Assert.Equal(PollEvents.Readable, set[3].ReturnedEvents);

        // A reset connection reports Error and HangUp even when not asked for.
        b.LingerState = new LingerOption(true, 0);
        b.Dispose();
        var one = new[] { new PollDescriptor(a, PollEvents.None) };
        SpinWait.SpinUntil(() => StackSocket.Poll(one, 1000) == 1, 5000);
        Assert.True(one[0].ReturnedEvents.HasFlag(PollEvents.Error));
        Assert.True(one[0].ReturnedEvents.HasFlag(PollEvents.HangUp));

        // A never-connected stream socket polls as writable + hang-up (Linux); a closed one as invalid.
        Assert.Equal(PollEvents.Writable | PollEvents.HangUp, fresh.Readiness);
        Assert.Equal(PollEvents.Invalid, c.Readiness);
    }

    [Fact]
    public async Task Poll_BlocksUntilDataArrives()
    {
        using var h = new SocketHost(StackClock.Real);
        (StackSocket a, StackSocket b) = h.Pair(213);
        Task<bool> polling = Task.Run(() => b.Poll(10_000_000, SelectMode.SelectRead));
        await Task.Delay(50);
        Assert.False(polling.IsCompleted);
        a.Send("wake"u8);
        Assert.True(await polling.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void TcpInfo_AndCongestionAlgorithm_ThroughTheSocket()
    {
        using var h = new SocketHost(StackClock.Real);
        using StackSocket listener = h.Listen(218);
        using StackSocket client = h.Tcp();
        client.CongestionAlgorithm = TunStack.Tcp.CongestionAlgorithm.NewReno;
        Assert.Null(client.GetTcpInfo());
        client.Connect(SocketHost.At(218));
        using StackSocket server = listener.Accept();
        client.Send(new byte[10_000]);
        server.Receive(new byte[10_000], StackSocketFlags.WaitAll);
        TunStack.Tcp.TcpConnectionInfo info = client.GetTcpInfo()!.Value;
        Assert.Equal(TunStack.Tcp.CongestionAlgorithm.NewReno, info.Algorithm);
        Assert.Equal(TunStack.Tcp.TcpConnectionState.Established, info.State);
        Assert.Equal(10_000, info.BytesSent);
        Assert.Equal(10_000, server.GetTcpInfo()!.Value.BytesReceived);
        Assert.Equal(TunStack.Tcp.CongestionAlgorithm.Cubic, server.CongestionAlgorithm);
    }

    [Fact]
    public void TcpCongestionByName_BbrBeforeConnect_UnknownNameRejected_InfoNamesIt()
    {
        using var h = new SocketHost(StackClock.Real);
        using StackSocket listener = h.Listen(219);
        using StackSocket client = h.Tcp();
        client.CongestionControlName = "bbr";
        Assert.Throws<ArgumentException>(() => client.CongestionControlName = "vegas"); // Linux: ENOENT
        Assert.Equal("bbr", client.CongestionControlName);
        client.Connect(SocketHost.At(219));
        using StackSocket server = listener.Accept();
        client.Send(new byte[10_000]);
        server.Receive(new byte[10_000], StackSocketFlags.WaitAll);
        TunStack.Tcp.TcpConnectionInfo info = client.GetTcpInfo()!.Value;
        Assert.Equal("bbr", info.AlgorithmName);
        Assert.Equal(TunStack.Tcp.CongestionAlgorithm.Bbr, info.Algorithm);
        Assert.Equal(TunStack.Tcp.CongestionAlgorithm.Bbr, client.CongestionAlgorithm);
        Assert.Equal("cubic", server.CongestionControlName);
        client.CongestionControlName = "reno";
        Assert.Equal(TunStack.Tcp.CongestionAlgorithm.NewReno, client.GetTcpInfo()!.Value.Algorithm);
    }

    [Fact]
    public void Select_RemovesSocketsThatAreNotReady()
    {
        using var h = new SocketHost();
        (StackSocket a, StackSocket b) = h.Pair(214);
        (StackSocket c, StackSocket d) = h.Pair(215);
        a.Send("data"u8);
        SpinWait.SpinUntil(() => b.Available == 4, 5000);
        var read = new List<StackSocket> { b, d };
        var write = new List<StackSocket> { c };
        StackSocket.Select(read, write, null, 1_000_000);
        Assert.Equal(new[] { b }, read);
        Assert.Equal(new[] { c }, write);
    }

    [Fact]
    public async Task OneReaderAndOneWriter_OnDifferentThreads_BothDirectionsAtOnce()
    {
        using var h = new SocketHost(StackClock.Real);
        (StackSocket a, StackSocket b) = h.Pair(216);
        const int size = 5_000_000;
        byte[] ab = new byte[size], ba = new byte[size];
        new Random(3).NextBytes(ab);
        new Random(4).NextBytes(ba);
        byte[] gotAtB = new byte[size], gotAtA = new byte[size];
        Task[] all =
        {
            Task.Run(() => a.Send(ab)),
            Task.Run(() => b.Send(ba)),
            Task.Run(() => b.Receive(gotAtB, StackSocketFlags.WaitAll)),
            Task.Run(() => a.Receive(gotAtA, StackSocketFlags.WaitAll)),
        };
        await Task.WhenAll(all).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ab, gotAtB);
        Assert.Equal(ba, gotAtA);
    }
}
