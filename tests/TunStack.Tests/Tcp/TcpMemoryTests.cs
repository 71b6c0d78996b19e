// Memory on demand (Linux tcp_mem): TCP data in pool chunks taken as it is queued and given back
// as it is consumed, the pool's marks, and what connections do at them.
using System.Security.Cryptography;
using TunStack.Links;
using TunStack.Storage;
using TunStack.Tcp;
using TunStack.Tests.Integration;
using TunStack.Wire;

namespace TunStack.Tests.Tcp;

public class TcpMemoryTests
{
    private const int Chunk = 4096;

    [Fact]
    public void ChunkedBuffer_WritesAndReadsAcrossChunks_BytesIdentical_ChunksBackWhenEmpty()
    {
        var pool = new ChunkPool(Chunk, 1024 * 1024);
        var buffer = new ChunkedBuffer(pool, 64 * 1024);
        byte[] data = RandomBytes(10_000, 1);
        Assert.Equal(10_000, buffer.Write(data));
        Assert.Equal(3 * Chunk, pool.InUseBytes); // three 4 KiB chunks hold 10,000 bytes

        var peeked = new byte[5000];
        Assert.Equal(5000, buffer.Peek(peeked, offset: 3000)); // crosses a chunk boundary
        Assert.Equal(data.AsSpan(3000, 5000).ToArray(), peeked);

        var first = new byte[4500];
        Assert.Equal(4500, buffer.Read(first));
        Assert.Equal(2 * Chunk, pool.InUseBytes); // the first chunk was consumed: back in the pool
        var rest = new byte[10_000];
        Assert.Equal(5500, buffer.Read(rest));
        Assert.Equal(data, first.Concat(rest.Take(5500)).ToArray());
        Assert.Equal(0, pool.InUseBytes); // empty: holds nothing
        Assert.Equal(0, buffer.HeldBytes);
    }

    [Fact]
    public void ChunkedBuffer_DataWrittenAhead_CommittedLater_ReadInOrder()
    {
        var pool = new ChunkPool(Chunk, 1024 * 1024);
        var buffer = new ChunkedBuffer(pool, 64 * 1024);
        byte[] data = RandomBytes(20_000, 2);
        Assert.Equal(8000, buffer.WriteAt(12_000, data.AsSpan(12_000, 8000))); // out of order, past a gap
        Assert.Equal(0, buffer.Count);
        Assert.Equal(12_000, buffer.WriteAt(0, data.AsSpan(0, 12_000)));      // the gap fills
        buffer.Commit(20_000);
        var got = new byte[20_000];
        Assert.Equal(20_000, buffer.Read(got));
        Assert.Equal(data, got);
        Assert.Equal(0, pool.InUseBytes);
    }

    [Fact]
    public void ChunkedBuffer_DiscardUnreadable_DataWrittenAheadDropped_ReadableKept()
    {
        var pool = new ChunkPool(Chunk, 1024 * 1024);
        var buffer = new ChunkedBuffer(pool, 64 * 1024);
        buffer.Write(RandomBytes(100, 3));
        buffer.WriteAt(30_000, RandomBytes(1000, 4));
        Assert.Equal(8 * Chunk, pool.InUseBytes); // chunks cover the gap up to the data written ahead
        buffer.DiscardUnreadable();
        Assert.Equal(1 * Chunk, pool.InUseBytes);
        Assert.Equal(100, buffer.Count);
        buffer.Clear();
        Assert.Equal(0, pool.InUseBytes);
    }

    [Fact]
    public void ChunkPool_AtLimit_WriteTakesWhatFits_GuaranteedChunkStillGiven()
    {
        var pool = new ChunkPool(Chunk, 2 * Chunk);
        var a = new ChunkedBuffer(pool, 64 * 1024);
        var b = new ChunkedBuffer(pool, 64 * 1024, guaranteedChunks: 1);
        Assert.Equal(2 * Chunk, a.Write(RandomBytes(3 * Chunk, 5))); // the limit: two chunks
        Assert.Equal(MemoryPressure.Exhausted, pool.Pressure);
        Assert.Equal(0, new ChunkedBuffer(pool, 64 * 1024).Write(new byte[10]));
        Assert.Equal(Chunk, b.Write(RandomBytes(3 * Chunk, 6)));       // its minimum, past the limit (tcp_wmem[0])
        Assert.Equal(3 * Chunk, pool.InUseBytes);
    }

    [Fact]
    public void ChunkPool_AtLimit_WritableNowIsWhatAWriteTakes()
    {
        var pool = new ChunkPool(Chunk, 2 * Chunk);
        var a = new ChunkedBuffer(pool, 64 * 1024);
        var b = new ChunkedBuffer(pool, 64 * 1024, guaranteedChunks: 1);
        var c = new ChunkedBuffer(pool, 64 * 1024);
        Assert.Equal(64 * 1024, a.WritableNow);
        a.Write(RandomBytes(3 * Chunk, 5));
        Assert.Equal(64 * 1024 - (2 * Chunk), a.Free); // room by its capacity...
        Assert.Equal(0, a.WritableNow);                  // ...but none a write could take now
        Assert.Equal(0, c.WritableNow);
        Assert.Equal(Chunk, b.WritableNow);              // its guaranteed chunk
        Assert.Equal(b.WritableNow, b.Write(RandomBytes(3 * Chunk, 6)));
        Assert.Equal(0, b.WritableNow);
    }

    [Fact]
    public void ChunkPool_UseCrossesTwoThirds_PressureUntilBelowHalf()
    {
        var pool = new ChunkPool(Chunk, 12 * Chunk);
        var rented = new List<byte[]>();
        for (int i = 0; i < 7; i++)
        {
            Assert.True(pool.TryRent(out byte[] c));
            rented.Add(c);
        }

        Assert.Equal(MemoryPressure.None, pool.Pressure); // 7 of 12 is below two thirds
        Assert.True(pool.TryRent(out byte[] eighth));
        rented.Add(eighth);
        Assert.Equal(MemoryPressure.Pressure, pool.Pressure); // 8 of 12
        pool.Return(rented[^1]);
        pool.Return(rented[^2]);
        Assert.Equal(MemoryPressure.Pressure, pool.Pressure); // 6 of 12: still above half (hysteresis)
        pool.Return(rented[^3]);
        Assert.Equal(MemoryPressure.None, pool.Pressure); // 5 of 12
    }

    [Fact]
    public void ChunkPool_ManyReturned_KeepsNoMoreFreeThanInUseOrTheFloor()
    {
        var pool = new ChunkPool(Chunk, 1L << 30);
        var rented = new List<byte[]>();
        int count = (int)(2 * ChunkPool.KeepFloorBytes / Chunk);
        for (int i = 0; i < count; i++)
        {
            Assert.True(pool.TryRent(out byte[] c));
            rented.Add(c);
        }

        foreach (byte[] c in rented)
        {
            pool.Return(c);
        }

        Assert.Equal(0, pool.InUseBytes);
        Assert.Equal(ChunkPool.KeepFloorBytes, pool.FreeBytes); // the rest went to the garbage collector
    }

    [Fact]
    public void Established_AfterTransferBothWaysAndReads_NoDataMemoryHeld()
    {
        (TwoStacks net, TcpConnection client, TcpConnection server) = TcpTests.Connected();
        byte[] data = RandomBytes(2_000_000, 7);
        Assert.Equal(data, TcpTests.Transfer(net.Simulation, client, server, data, TimeSpan.FromMinutes(1)));
        Assert.Equal(data, TcpTests.Transfer(net.Simulation, server, client, data, TimeSpan.FromMinutes(1)));
        net.Simulation.RunFor(TimeSpan.FromSeconds(1));
        Assert.Equal(0, net.A.TcpMemory.InUseBytes); // an idle connection holds no data memory
        Assert.Equal(0, net.B.TcpMemory.InUseBytes);
        Assert.True(net.A.TcpMemory.PeakBytes > 0);
    }

    [Theory]
    [InlineData("graceful")]
    [InlineData("abort")]
    [InlineData("closeWithUnreadData")]
    [InlineData("peerResetWithUnreadData")]
    public void AnyEnding_DataInFlightAndUnread_EveryChunkBackInThePool(string ending)
    {
        (TwoStacks net, TcpConnection client, TcpConnection server) = TcpTests.Connected();
        client.Send(RandomBytes(200_000, 8), out _);  // partly in flight, partly queued
        server.Send(RandomBytes(50_000, 9), out _);   // unread by the client
        net.Simulation.RunFor(TimeSpan.FromMilliseconds(2));
        Assert.True(net.A.TcpMemory.InUseBytes > 0 && net.B.TcpMemory.InUseBytes > 0);
        switch (ending)
        {
            case "graceful":
                TcpTests.Transfer(net.Simulation, client, server, [], TimeSpan.FromSeconds(1));
                Drain(net, server);
                Drain(net, client);
                client.Close();
                server.Close();
                break;
            case "abort":
                client.Abort();
                server.Close();
                break;
            case "closeWithUnreadData":
                client.Close(); // RST: unread data (RFC 1122 4.2.2.13)
                server.Close();
                break;
            case "peerResetWithUnreadData":
                server.Abort();
                net.Simulation.RunFor(TimeSpan.FromSeconds(1));
                Assert.Equal(TcpConnectionState.Closed, client.State);
                Assert.True(client.Available > 0 || net.A.TcpMemory.InUseBytes == 0);
                client.Close(); // the application lets go of a connection the peer reset
                break;
        }

        net.Simulation.RunFor(TimeSpan.FromMinutes(2)); // past TIME-WAIT
        Assert.Equal(0, net.A.TcpMemory.InUseBytes);
        Assert.Equal(0, net.B.TcpMemory.InUseBytes);
    }

    [Fact]
    public void ClosedByPeerReset_UnreadDataThenAbort_EveryChunkBackInThePool()
    {
        // Found by the fuzz target "stack" (fuzz/findings/stack): Abort of a connection already
        // CLOSED kept the unread data's chunk for good, since SetState(Closed) had nothing to do.
        RawPeer peer = RawPeer.Established();
        peer.Send(TcpFlags.Ack | TcpFlags.Psh, new byte[16]);
        peer.Send(TcpFlags.Rst, peer.Nxt, peer.StackNxt); // RFC 5961 3.2: a RST at RCV.NXT resets
        TcpConnection connection = peer.Connection!;
        Assert.Equal(TcpConnectionState.Closed, connection.State);
        Assert.Equal(16, connection.Available); // kept for the application to read
        Assert.True(peer.Probe.Stack.TcpMemory.InUseBytes > 0);

        connection.Abort();

        Assert.Equal(0, peer.Probe.Stack.TcpMemory.InUseBytes);
    }

    [Fact]
    public void MemoryLimit_SlowReaderFillsIt_OtherTransferStillByteExact_UseNeverPastTheLimit()
    {
        const long limit = 256 * 1024;
        var net = new TwoStacks(configure: o => o.Tcp.MemoryLimit = limit);
        (_, TcpConnection slowClient, TcpConnection slowServer) = TcpTests.Connected(net, port: 7001);
        (_, TcpConnection client, TcpConnection server) = TcpTests.Connected(net, port: 7002);

        // The slow reader's peer queues more than the whole budget; nobody reads it for a while.
        byte[] flood = RandomBytes(1_000_000, 10);
        int queued = slowClient.Send(flood, out _);
        long peakB = 0;
        for (int i = 0; i < 200; i++)
        {
            net.Simulation.RunFor(TimeSpan.FromMilliseconds(10));
            queued += slowClient.Send(flood.AsSpan(queued), out _);
            peakB = Math.Max(peakB, net.B.TcpMemory.InUseBytes);
        }

        Assert.NotEqual(MemoryPressure.None, net.B.TcpMemory.Pressure);
        Assert.True(slowServer.Available < flood.Length);

        // Another connection still moves 2 MB byte-exact through the remaining memory.
        byte[] data = RandomBytes(2_000_000, 11);
        byte[] got = TcpTests.Transfer(net.Simulation, client, server, data, TimeSpan.FromMinutes(5), _ => peakB = Math.Max(peakB, net.B.TcpMemory.InUseBytes));
        Assert.Equal(data.Length, got.Length);
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(got));

        // Then the slow reader reads, and its data arrives whole.
        var slowGot = new MemoryStream();
        var sink = new byte[65536];
        Instant end = net.Simulation.Clock.Now + TimeSpan.FromMinutes(5);
        while (slowGot.Length < flood.Length && net.Simulation.Clock.Now < end)
        {
            queued += slowClient.Send(flood.AsSpan(queued), out _);
            int n;
            while ((n = slowServer.Receive(sink, out _)) > 0)
            {
                slowGot.Write(sink, 0, n);
            }

            net.Simulation.RunFor(TimeSpan.FromMilliseconds(1));
        }

        Assert.Equal(SHA256.HashData(flood), SHA256.HashData(slowGot.ToArray()));

        // Receive memory stays within the limit plus each buffer's guaranteed minimum chunk.
        Assert.True(peakB <= limit + (4 * Chunk), $"peak {peakB} > {limit}");
        Assert.True(net.B.Counters[Counter.TcpMemoryPressures] > 0);
    }

    private static void Drain(TwoStacks net, TcpConnection c)
    {
        var sink = new byte[65536];
        for (int i = 0; i < 100 && (c.Available > 0 || i < 2); i++)
        {
            while (c.Receive(sink, out _) > 0)
            {
            }

            net.Simulation.RunFor(TimeSpan.FromMilliseconds(10));
        }
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    [Fact]
    public void MemoryLimit_PeersSendOnlyOutOfOrderData_PrunedOrDroppedAndCounted_InOrderPeerStillServedByteExact()
    {
        const long limit = 512 * 1024;
        RawPeer first = RawPeer.Listening(o => { o.Tcp.MemoryLimit = limit; o.Tcp.SynCookies = false; }, backlog: 64);
        Probe probe = first.Probe;

        // Twenty peers each send 100 KB beyond a one-byte hole: 2 MB of data that can never be read,
        // four times the budget.
        var segment = new byte[1000];
        long peak = 0;
        for (int i = 0; i < 20; i++)
        {
            RawPeer p = Handshake(new RawPeer(probe) { SourcePort = (ushort)(30000 + i) });
            for (int k = 0; k < 100; k++)
            {
                p.Send(TcpFlags.Ack, p.Nxt + 1 + (k * segment.Length), p.StackNxt, segment);
                peak = Math.Max(peak, probe.Stack.TcpMemory.InUseBytes);
            }
        }

        Assert.True(peak <= limit, $"{peak} bytes in use at most, limit {limit}");
        Assert.True(probe[Counter.TcpOutOfOrderPruned] + probe[Counter.TcpMemoryDrops] > 0);

        // A peer that sends in order still gets all of its 300 KB through, read as it arrives.
        RawPeer good = Handshake(new RawPeer(probe) { SourcePort = 41000 });
        while (first.Listener!.TryAccept(out TcpConnection? accepted))
        {
            if (accepted!.Tuple.Remote.Port == 41000)
            {
                good.Connection = accepted;
            }
        }

        byte[] data = RandomBytes(300_000, 12);
        var got = new MemoryStream();
        var buffer = new byte[65536];
        int sent = 0;
        for (int round = 0; round < 10_000 && got.Length < data.Length; round++)
        {
            if (sent < data.Length)
            {
                int length = Math.Min(1000, data.Length - sent);
                SentSegment? ack = good.Send(TcpFlags.Ack, good.Nxt, good.StackNxt, data.AsSpan(sent, length)).LastOrDefault();
                if (ack is not null && ack.Ack == good.Nxt + length)
                {
                    good.Nxt += length;
                    sent += length;
                }
            }

            int n = good.Connection!.Receive(buffer, out _);
            got.Write(buffer, 0, n);
            probe.Advance(TimeSpan.FromMilliseconds(1));
        }

        Assert.Equal(data, got.ToArray());
        // Past the limit only by the one chunk each connection is guaranteed per direction.
        Assert.True(probe.Stack.TcpMemory.PeakBytes <= limit + (21 * 2 * 4096), $"peak {probe.Stack.TcpMemory.PeakBytes}");
    }

    // Completes a passive open on the probe's listener for a peer with its own source port.
    private static RawPeer Handshake(RawPeer p)
    {
        TcpOptions syn = TcpOptions.None;
        syn.Mss = 1460;
        p.Nxt = new SeqNumber(1000);
        SentSegment synAck = Assert.Single(p.Send(TcpFlags.Syn, p.Nxt, default, options: syn));
        p.Nxt += 1;
        p.StackNxt = synAck.Seq + 1;
        Assert.Empty(p.Send(TcpFlags.Ack));
        return p;
    }

    [Fact]
    public void ConnectionLimitReached_MoreSyns_NoSynAckCountedNothingRetransmitted_RoomAgainAfterAClose()
    {
        RawPeer first = RawPeer.Listening(o => o.Tcp.MaxConnections = 10, backlog: 64);
        Probe probe = first.Probe;
        var peers = new List<RawPeer>();
        for (int i = 0; i < 10; i++)
        {
            peers.Add(Handshake(new RawPeer(probe) { SourcePort = (ushort)(30000 + i) }));
        }

        // A client that keeps opening: each SYN past the limit is refused without a connection.
        for (int i = 0; i < 20; i++)
        {
            var extra = new RawPeer(probe) { SourcePort = (ushort)(31000 + i) };
            Assert.Empty(extra.Send(TcpFlags.Syn, new SeqNumber(1000), default));
        }

        Assert.Equal(20, probe[Counter.TcpConnectionLimit]);
        Assert.Equal(10, probe.Stack.TcpConnections.Connections);
        Assert.Empty(probe.Advance(TimeSpan.FromSeconds(3))); // no SYN-ACK retransmitted for a refused SYN

        // One connection ends (the peer resets it): a new client is served.
        peers[0].Send(TcpFlags.Rst, peers[0].Nxt, default);
        Assert.Equal(9, probe.Stack.TcpConnections.Connections);
        var late = new RawPeer(probe) { SourcePort = 41000 };
        Assert.True(Assert.Single(late.Send(TcpFlags.Syn, new SeqNumber(1000), default)).Has(TcpFlags.Syn | TcpFlags.Ack));
    }
}
