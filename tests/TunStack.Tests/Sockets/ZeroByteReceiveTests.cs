// A zero-byte receive on a stream socket waits for readability and reads nothing, as
// System.Net.Sockets.Socket does on Linux (checked against the kernel's sockets: sync Receive
// blocks, times out or is EAGAIN; async ReceiveAsync completes with 0 on data, EOF or a reset
// and leaves the reset for the next call). Receive loops (Kestrel's, StackDuplexPipe's) rely on
// it to hold no buffer while a connection is idle.
using System.Net.Sockets;
using TunStack.Sockets;
using TunStack.Sockets.Hosting;
using static TunStack.Tests.Sockets.SocketAssert;

namespace TunStack.Tests.Sockets;

public class ZeroByteReceiveTests
{
    // A zero-byte ReceiveAsync that found nothing and is parked on the socket's readiness.
    private static ValueTask<int> ParkedZeroByteReceive(StackSocket socket, CancellationToken cancellationToken = default)
    {
        ValueTask<int> waiting = socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, cancellationToken);
        Assert.True(SpinWait.SpinUntil(() => socket.IsReaderWaiting, 5000));
        return waiting;
    }

    [Fact]
    public async Task ZeroByteReceiveAsync_PendingUntilPeerSends_CompletesWithZero_DataStillReadable()
    {
        using var h = new SocketHost(StackClock.Real);
        (StackSocket client, StackSocket server) = h.Pair(400);
        ValueTask<int> waiting = ParkedZeroByteReceive(server);
        await Task.Delay(50);
        Assert.False(waiting.IsCompleted);

        client.Send("hello"u8);
        Assert.Equal(0, await waiting.AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(5, server.Available); // nothing was consumed
        var buffer = new byte[5];
        Assert.Equal(5, server.Receive(buffer, StackSocketFlags.WaitAll));
        Assert.Equal("hello"u8.ToArray(), buffer);
    }

    [Fact]
    public async Task ZeroByteReceiveAsync_DataAlreadyWaiting_CompletesAtOnceWithZero()
    {
        using var h = new SocketHost();
        (StackSocket client, StackSocket server) = h.Pair(401);
        client.Send("abc"u8);
        Assert.True(SpinWait.SpinUntil(() => server.Available == 3, 5000));
        ValueTask<int> ready = server.ReceiveAsync(Memory<byte>.Empty);
        Assert.True(ready.IsCompletedSuccessfully);
        Assert.Equal(0, await ready);
        Assert.Equal(3, server.Available);
    }

    [Fact]
    public async Task ZeroByteReceiveAsync_PeerClosesWhileWaiting_CompletesWithZero_ThenEof()
    {
        using var h = new SocketHost(StackClock.Real);
        (StackSocket client, StackSocket server) = h.Pair(402);
        ValueTask<int> waiting = ParkedZeroByteReceive(server);
        client.Dispose(); // FIN
        Assert.Equal(0, await waiting.AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, await server.ReceiveAsync(Memory<byte>.Empty)); // at EOF: completes at once
        Assert.Equal(0, server.Receive(new byte[4]));
    }

    [Fact]
    public async Task ZeroByteReceiveAsync_PeerResetsWhileWaiting_CompletesWithZero_NextReceiveReportsReset()
    {
        using var h = new SocketHost(StackClock.Real);
        (StackSocket client, StackSocket server) = h.Pair(403);
        ValueTask<int> waiting = ParkedZeroByteReceive(server);
        client.LingerState = new LingerOption(true, 0);
        client.Dispose(); // RST
        Assert.Equal(0, await waiting.AsTask().WaitAsync(TimeSpan.FromSeconds(10)));

        // The zero-byte receive took nothing, not even the error: the next call reports it once.
        Assert.Equal(SocketError.ConnectionReset, ErrorOf(() => server.Receive(new byte[4])));
        Assert.Equal(0, server.Receive(new byte[4]));
    }

    [Fact]
    public async Task ZeroByteReceiveAsync_ResetAlreadyThere_ReportsResetOnce()
    {
        using var h = new SocketHost(StackClock.Real);
        (StackSocket client, StackSocket server) = h.Pair(404);
        client.LingerState = new LingerOption(true, 0);
        client.Dispose();
        Assert.True(server.Poll(5_000_000, SelectMode.SelectError));
        SocketException reset = await Assert.ThrowsAsync<SocketException>(async () => await server.ReceiveAsync(Memory<byte>.Empty));
        Assert.Equal(SocketError.ConnectionReset, reset.SocketErrorCode);
        Assert.Equal(0, await server.ReceiveAsync(Memory<byte>.Empty)); // reported: now end of stream
    }

    [Fact]
    public async Task ZeroByteReceiveAsync_Cancelled_OperationCanceled_SocketStaysUsable()
    {
        using var h = new SocketHost(StackClock.Real);
        (StackSocket client, StackSocket server) = h.Pair(405);
        using var cts = new CancellationTokenSource();
        ValueTask<int> waiting = ParkedZeroByteReceive(server, cts.Token);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await waiting);

        client.Send("after"u8);
        Assert.Equal(0, await server.ReceiveAsync(Memory<byte>.Empty).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(5, await server.ReceiveAsync(new byte[10]));
    }

    [Fact]
    public async Task ZeroByteReceiveAsync_SocketClosedWhileWaiting_OperationAborted()
    {
        using var h = new SocketHost(StackClock.Real);
        (StackSocket client, StackSocket server) = h.Pair(406);
        ValueTask<int> waiting = ParkedZeroByteReceive(server);
        server.Dispose();
        SocketException aborted = await Assert.ThrowsAsync<SocketException>(async () => await waiting);
        Assert.Equal(SocketError.OperationAborted, aborted.SocketErrorCode);
    }

    [Fact]
    public async Task ZeroByteReceive_Blocking_WaitsUntilReadable_NonblockingEagain_TimeoutEtimedout()
    {
        using var h = new SocketHost(StackClock.Real);
        (StackSocket client, StackSocket server) = h.Pair(407);
        // As recv(fd, buf, 0, 0) on Linux and .NET's Socket.Receive(Span<byte>.Empty) there.
        Assert.Equal(SocketError.WouldBlock, ErrorOf(() => server.Receive(Span<byte>.Empty, StackSocketFlags.DontWait)));
        server.ReceiveTimeout = 100;
        Assert.Equal(SocketError.TimedOut, ErrorOf(() => server.Receive(Span<byte>.Empty)));
        server.ReceiveTimeout = 0;

        Task<int> blocked = Task.Run(() => server.Receive(Span<byte>.Empty));
        Assert.True(SpinWait.SpinUntil(() => server.IsReaderWaiting, 5000));
        Assert.False(blocked.IsCompleted);
        client.Send("wake"u8);
        Assert.Equal(0, await blocked.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(4, server.Available);
        Assert.Equal(0, server.Receive(Span<byte>.Empty)); // readable: at once
        Assert.Equal(4, server.Available);
    }

    [Fact]
    public void ZeroByteReceive_OutOfBand_TakesNothing()
    {
        using var h = new SocketHost();
        (StackSocket client, StackSocket server) = h.Pair(408);
        client.Send("xy!"u8, SocketFlags.OutOfBand);
        Assert.True(server.Poll(5_000_000, SelectMode.SelectError)); // POLLPRI
        Assert.Equal(0, server.Receive(Span<byte>.Empty, SocketFlags.OutOfBand));
        var oob = new byte[1];
        Assert.Equal(1, server.Receive(oob, SocketFlags.OutOfBand));
        Assert.Equal((byte)'!', oob[0]);
    }
}
