// An arriving segment's ACK field is processed (RFC 9293 3.10.7.4, fifth check) before its text
// (seventh), and what the ACK frees must go out even when the text itself is not taken in order:
// held out of order past a hole, or cut short by a receive buffer that is nearly full. Found by
// the `pair` fuzz target: a client whose small tail Nagle held while its flight was in the air got
// the ACK of that whole flight on a data segment its full buffer could take only part of; with
// nothing in flight no timer ran, and the tail, and the FIN queued behind it, never left.
using TunStack.Tcp;
using TunStack.Wire;

namespace TunStack.Tests.Tcp;

public class AckOnUnacceptedTextTests
{
    [Fact]
    public void Established_TailHeldByNagle_OutOfOrderSegmentAcksTheFlight_TailLeavesAtOnce()
    {
        RawPeer peer = RawPeer.Established();
        SentSegment first = SendFullSegmentAndTail(peer);
        int mss = first.PayloadLength;

        // The peer's data past a hole in its own stream, carrying the ACK of the whole flight.
        List<SentSegment> replies = peer.Send(TcpFlags.Ack, peer.Nxt + 500, peer.StackNxt, new byte[300]);

        SentSegment tail = Assert.Single(SentSegment.Data(replies));
        Assert.Equal(100, tail.PayloadLength);
        Assert.Equal(first.Seq + mss, tail.Seq);
    }

    [Fact]
    public void Established_TailHeldByNagle_SegmentLargerThanTheBufferLeftAcksTheFlight_TailLeavesAtOnce()
    {
        RawPeer peer = RawPeer.Established(configure: o => { o.Tcp.ReceiveBufferSize = 4096; o.Tcp.AutoTuneBuffers = false; });
        int mss = peer.Connection!.Mss;

        // The application does not read: 3,000 of its 4,096 bytes of buffer are taken.
        peer.Send(TcpFlags.Ack, new byte[3000]);
        SendFullSegmentAndTail(peer);

        // A full-sized segment of which the buffer takes only what is left, with the flight's ACK.
        List<SentSegment> replies = peer.Send(TcpFlags.Ack, peer.Nxt, peer.StackNxt, new byte[mss]);

        SentSegment tail = Assert.Single(SentSegment.Data(replies));
        Assert.Equal(100, tail.PayloadLength);
        Assert.True(tail.Ack < peer.Nxt + mss, $"ACK {tail.Ack}: the buffer took the segment in part");
    }

    [Fact]
    public void Established_TailHeldByNagle_Shutdown_TailAndFinLeaveWithoutWaitingForTheAck()
    {
        // Nothing more can join the tail once the FIN is queued: Linux's tcp_nagle_test never
        // holds the segment with the final FIN.
        RawPeer peer = RawPeer.Established();
        SendFullSegmentAndTail(peer);

        peer.Connection!.Shutdown();
        List<SentSegment> sent = peer.Decode(peer.Probe.Poll());

        Assert.Equal(100, Assert.Single(SentSegment.Data(sent)).PayloadLength);
        Assert.Contains(sent, s => s.Has(TcpFlags.Fin));
    }

    // One write of a full segment and 100 bytes more: the full segment leaves (returned), and
    // Nagle holds the tail while it is in flight.
    private static SentSegment SendFullSegmentAndTail(RawPeer peer)
    {
        TcpConnection c = peer.Connection!;
        Assert.Equal(c.Mss + 100, c.Send(new byte[c.Mss + 100], out _));
        SentSegment first = Assert.Single(SentSegment.Data(peer.Decode(peer.Probe.Poll())));
        Assert.Equal(c.Mss, first.PayloadLength);
        return first;
    }
}
