// ACKs after the receive batch: segment processing marks the ACK a connection owes, and the stack
// sends it once the batch is done, so that one ACK answers all of a connection's in-order segments
// in the batch (as Linux answers a GRO-merged segment) and nothing calls into the link mid-batch.
using TunStack.Tcp;
using TunStack.Wire;

namespace TunStack.Tests.Tcp;

public class AckAfterBatchTests
{
    [Fact]
    public void Established_TenFullSegmentsInOneBatch_OneAckOfAllAfterTheBatch()
    {
        RawPeer peer = RawPeer.Established();
        var packets = new List<byte[]>();
        SeqNumber seq = peer.Nxt;
        for (int i = 0; i < 10; i++)
        {
            packets.Add(peer.Build(TcpFlags.Ack, seq, peer.StackNxt, new byte[1460]));
            seq += 1460;
        }

        SentSegment ack = Assert.Single(peer.Decode(peer.Probe.SendTogether(packets)));
        Assert.Equal(seq, ack.Ack);
        Assert.Equal(10 * 1460, peer.Connection!.Available);
    }

    [Fact]
    public void Established_TwoFullSegmentsInSeparateBatches_AnAckForEachPair()
    {
        // RFC 5681 4.2 across batches: every second full segment is still acknowledged (once the
        // quick ACKs of a connection's first data are used up).
        RawPeer peer = RawPeer.Established();
        QuickAckTests.UseUpQuickAcks(peer);
        var replies = new List<SentSegment>();
        for (int i = 0; i < 4; i++)
        {
            replies.AddRange(peer.Send(TcpFlags.Ack, new byte[1460]));
        }

        Assert.Equal(2, replies.Count);
        Assert.Equal(peer.Nxt, replies[^1].Ack);
    }

    [Fact]
    public void Established_OutOfOrderSegmentsWithGapsInOneBatch_EachStillDrawsItsDuplicateAck()
    {
        // RFC 5681 4.2 / RFC 9293 3.10.7.4: an out-of-order segment is acknowledged at once (the
        // sender's loss detection counts them); only in-order ACKs wait for the batch's end.
        RawPeer peer = RawPeer.Established(sack: true);
        var packets = new List<byte[]>();
        for (int i = 1; i <= 3; i++)
        {
            packets.Add(peer.Build(TcpFlags.Ack, peer.Nxt + (i * 2 * 1460), peer.StackNxt, new byte[1460]));
        }

        List<SentSegment> replies = peer.Decode(peer.Probe.SendTogether(packets));
        Assert.Equal(3, replies.Count);
        Assert.All(replies, r => Assert.Equal(peer.Nxt, r.Ack));
    }

    [Fact]
    public void Established_OutOfOrderRunInOneBatch_MergedOneDuplicateAckSackingTheRun()
    {
        // Software GRO merges a contiguous run whether or not it is in order (as Linux's does):
        // one duplicate ACK whose SACK block covers the whole run.
        RawPeer peer = RawPeer.Established(sack: true);
        var packets = new List<byte[]>();
        for (int i = 1; i <= 3; i++)
        {
            packets.Add(peer.Build(TcpFlags.Ack, peer.Nxt + (i * 1460), peer.StackNxt, new byte[1460]));
        }

        SentSegment dupAck = Assert.Single(peer.Decode(peer.Probe.SendTogether(packets)));
        Assert.Equal(peer.Nxt, dupAck.Ack);
        Assert.Equal(1, dupAck.Options.SackCount);
        Assert.Equal(new SackBlock(peer.Nxt + 1460, peer.Nxt + (4 * 1460)), dupAck.Options.GetSack(0));
        Assert.Equal(2, peer.Probe[Counter.TcpSegmentsCoalesced]);
    }

    [Fact]
    public void Established_ApplicationWritesEightPiecesFromReadable_OneSuperSegmentAfterTheBatchCarryingTheAck()
    {
        // Writes made from a callback during a receive batch leave together when it is done: on a
        // link that segments TCP, one super-segment rather than eight packets, and it carries the
        // ACK of what arrived (no pure ACK of its own).
        RawPeer peer = RawPeer.Established(offloads: TunStack.Links.LinkOffloads.TransportChecksum | TunStack.Links.LinkOffloads.TcpSegmentationV4);
        TcpConnection connection = peer.Connection!;
        int mss = connection.Mss;
        connection.Readable = () =>
        {
            connection.Receive(new byte[16], out _);
            for (int i = 0; i < 8; i++)
            {
                Assert.Equal(mss, connection.Send(new byte[mss], out _));
            }
        };

        List<SentSegment> replies = peer.Send(TcpFlags.Ack | TcpFlags.Psh, "?"u8);
        Assert.Equal(1, peer.Probe.SuperSegmentsSent);
        Assert.Equal(8, replies.Count); // the probe's end cuts it into the wire segments
        Assert.All(replies, r => Assert.Equal(peer.Nxt, r.Ack));
        Assert.All(replies, r => Assert.Equal(mss, r.PayloadLength));
    }
}
