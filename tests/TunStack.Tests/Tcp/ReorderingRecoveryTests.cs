// Reordering and spurious recovery, segment by segment with the test as the peer: D-SACK sent by
// the receiver (RFC 2883), RACK's reordering window grown by D-SACKs (RFC 8985 6.2), the undo of a
// recovery that timestamps show was spurious (RFC 3522), and Proportional Rate Reduction during
// recovery (RFC 6937).
using TunStack.Tcp;
using TunStack.Tcp.Recovery;
using TunStack.Wire;
using static TunStack.Tests.Tcp.SentSegment;

namespace TunStack.Tests.Tcp;

public class ReorderingRecoveryTests
{
    private static SackBlock Block(SentSegment ack, int index) => ack.Options.GetSack(index);

    [Fact]
    public void Established_SegmentReceivedTwice_NextAckReportsItAsFirstSackBlock_Rfc2883()
    {
        RawPeer p = RawPeer.Established(sack: true);
        SeqNumber first = p.Nxt;
        p.Send(TcpFlags.Ack | TcpFlags.Psh, new byte[500]);
        SentSegment ack = Assert.Single(p.Send(TcpFlags.Ack | TcpFlags.Psh, first, p.StackNxt, new byte[500]));
        Assert.Equal(first + 500, ack.Ack);
        Assert.Equal(1, ack.Options.SackCount);
        Assert.Equal(new SackBlock(first, first + 500), Block(ack, 0)); // below the cumulative ACK: a D-SACK
        Assert.Equal(1, p.Probe[Counter.TcpDsackSent]);

        // RFC 2883 4: each duplicate is reported once.
        List<SentSegment> next = p.Send(TcpFlags.Ack | TcpFlags.Psh, new byte[100]);
        p.Probe.Advance(TimeSpan.FromMilliseconds(50));
        Assert.All(next, s => Assert.Equal(0, s.Options.SackCount));
    }

    [Fact]
    public void Established_SegmentPartlyReceivedBefore_DsackCoversOnlyTheOldPart_Rfc2883()
    {
        RawPeer p = RawPeer.Established(sack: true);
        SeqNumber first = p.Nxt;
        p.Send(TcpFlags.Ack | TcpFlags.Psh, new byte[500]);
        List<SentSegment> replies = p.Send(TcpFlags.Ack | TcpFlags.Psh, first + 300, p.StackNxt, new byte[400]);
        replies.AddRange(p.Decode(p.Probe.Advance(TimeSpan.FromMilliseconds(50))));
        SentSegment ack = Assert.Single(replies, s => s.Options.SackCount > 0);
        Assert.Equal(new SackBlock(first + 300, first + 500), Block(ack, 0));
    }

    [Fact]
    public void Established_OutOfOrderSegmentReceivedTwice_DsackThenTheRangeHoldingIt_Rfc2883()
    {
        RawPeer p = RawPeer.Established(sack: true);
        SeqNumber hole = p.Nxt;
        p.Send(TcpFlags.Ack, hole + 1000, p.StackNxt, new byte[1000]);
        p.Send(TcpFlags.Ack, hole + 2000, p.StackNxt, new byte[1000]);
        SentSegment ack = Assert.Single(p.Send(TcpFlags.Ack, hole + 1000, p.StackNxt, new byte[1000]));
        Assert.Equal(hole, ack.Ack);
        Assert.Equal(2, ack.Options.SackCount);
        Assert.Equal(new SackBlock(hole + 1000, hole + 2000), Block(ack, 0)); // the duplicate
        Assert.Equal(new SackBlock(hole + 1000, hole + 3000), Block(ack, 1)); // RFC 2883 4.1.2: the block it is part of
    }

    [Fact]
    public void WithoutSack_SegmentReceivedTwice_NoDsack_Rfc2883()
    {
        RawPeer p = RawPeer.Established(sack: false);
        SeqNumber first = p.Nxt;
        p.Send(TcpFlags.Ack | TcpFlags.Psh, new byte[500]);
        SentSegment ack = Assert.Single(p.Send(TcpFlags.Ack | TcpFlags.Psh, first, p.StackNxt, new byte[500]));
        Assert.Equal(0, ack.Options.SackCount);
        Assert.Equal(0, p.Probe[Counter.TcpDsackSent]);
    }

    [Fact]
    public void Sack_DsacksArrive_ReorderingWindowGrowsOncePerRoundTrip_Rfc8985()
    {
        RawPeer p = RawPeer.Established(sack: true);
        RackTlp rack = ((SackRecovery)p.Connection!.Recovery).Rack;
        Assert.Equal(1, rack.ReorderingWindowMultiplier);
        p.Connection.Send(new byte[4 * 1460], out _);
        List<SentSegment> burst = Data(p.Decode(p.Probe.Poll()));
        SeqNumber una = burst[0].Seq;

        // Two D-SACKs in one round trip (for data below SND.UNA, as for a needless retransmission).
        p.Ack(una + 1460, (una, una + 1460));
        p.Ack(una + 1460, (una, una + 1460));
        Assert.Equal(2, rack.ReorderingWindowMultiplier);
        Assert.Equal(2, p.Probe[Counter.TcpDsackReceived]);

        // SND.UNA passes what was sent when the first came: a new round, and the next D-SACK counts.
        p.Ack(burst[^1].Seq + 1460);
        p.Connection.Send(new byte[1460], out _);
        SentSegment more = Assert.Single(Data(p.Decode(p.Probe.Poll())));
        p.Ack(more.Seq, (una, una + 1460));
        Assert.Equal(3, rack.ReorderingWindowMultiplier);
    }

    [Fact]
    public void Recovery_FullAckEchoesTimestampFromBeforeRetransmission_WindowRestored_Rfc3522()
    {
        (RawPeer p, List<SentSegment> burst, uint originalTsval, int cwndBefore) = EnterRecoveryWithTimestamps();
        Assert.True(p.Connection!.InRecovery);
        Assert.True(p.Connection.CongestionWindow < cwndBefore);

        // The original of the "lost" segment arrives after all: the ACK of everything echoes its TSval.
        AckWithTimestamps(p, burst[^1].Seq + burst[^1].PayloadLength, originalTsval);
        Assert.False(p.Connection.InRecovery);
        Assert.Equal(cwndBefore, p.Connection.CongestionWindow);
        Assert.Equal(1, p.Probe[Counter.TcpSpuriousRetransmissionUndos]);
        Assert.True(((SackRecovery)p.Connection.Recovery).Rack.ReorderingSeen);
    }

    [Fact]
    public void Recovery_FullAckEchoesTheRetransmission_ReductionStands_Rfc3522()
    {
        (RawPeer p, List<SentSegment> burst, _, int cwndBefore) = EnterRecoveryWithTimestamps();
        uint retransmissionTsval = p.StackTsVal;
        AckWithTimestamps(p, burst[^1].Seq + burst[^1].PayloadLength, retransmissionTsval);
        Assert.False(p.Connection!.InRecovery);
        Assert.Equal(0, p.Probe[Counter.TcpSpuriousRetransmissionUndos]);
        Assert.Equal(p.Connection.SlowStartThreshold, p.Connection.CongestionWindow); // RFC 6937: cwnd = ssthresh at the end
        Assert.True(p.Connection.CongestionWindow < cwndBefore);
    }

    [Fact]
    public void Recovery_AcksDeliverData_SendsInProportionToSsthreshOverFlight_Rfc6937()
    {
        const int Mss = 1460;
        RawPeer p = RawPeer.Established(sack: true, configure: o => o.Tcp.CongestionControl = CongestionAlgorithm.NewReno);
        p.Connection!.Send(new byte[40 * Mss], out _);
        List<SentSegment> burst = Data(p.Decode(p.Probe.Poll()));
        Assert.Equal(10, burst.Count);
        SeqNumber una = burst[0].Seq;

        // Segment 0 is lost. The first SACK finds it lost (RACK, nothing delivered later than it
        // was sent is outstanding): recovery with ssthresh = 5 segments, RecoverFS = 10.
        var sent = new List<SentSegment>(Data(p.Ack(una, (una + Mss, una + (2 * Mss)))));
        Assert.True(p.Connection.InRecovery);
        Assert.Equal(5 * Mss, p.Connection.SlowStartThreshold);
        Assert.Contains(sent, s => s.Seq == una); // the fast retransmission goes at once

        // Each further SACK delivers one segment; PRR lets out ceil(delivered * 5 / 10) in all, so
        // about one segment for every two delivered while pipe is above ssthresh.
        for (int k = 3; k <= 9; k++)
        {
            sent.AddRange(Data(p.Ack(una, (una + Mss, una + (k * Mss)))));
        }

        // 8 segments delivered: ceil(8 * 5 / 10) = 4 sent (the retransmission and three new ones).
        Assert.Equal(4, sent.Count);
        Assert.Equal(3, sent.Count(s => s.Seq >= una + (10 * Mss)));
        Assert.True(p.Connection.InRecovery);
        Assert.Equal(0, p.Probe[Counter.TcpTimeouts]);

        // The full ACK ends recovery at ssthresh, not below (no collapse to one or two segments).
        p.Ack(sent[^1].Seq + Mss);
        Assert.False(p.Connection.InRecovery);
        Assert.Equal(5 * Mss, p.Connection.CongestionWindow);
    }

    // A SACK connection with timestamps sends a window; 5 ms later the peer SACKs all but the first
    // segment, so RACK deems it lost and recovery starts with its retransmission 5 ms after the original.
    private static (RawPeer Peer, List<SentSegment> Burst, uint OriginalTsval, int CwndBefore) EnterRecoveryWithTimestamps()
    {
        RawPeer p = RawPeer.Established(sack: true, timestamps: true);
        p.Connection!.Send(new byte[10 * 1448], out _);
        List<SentSegment> burst = Data(p.Decode(p.Probe.Poll()));
        uint originalTsval = burst[0].Options.TimestampValue;
        int cwndBefore = p.Connection.CongestionWindow;
        p.Probe.Advance(TimeSpan.FromMilliseconds(5));
        SeqNumber una = burst[0].Seq;
        SeqNumber end = burst[^1].Seq + burst[^1].PayloadLength;
        List<SentSegment> replies = AckWithTimestamps(p, una, originalTsval, (una + burst[0].PayloadLength, end));
        Assert.Contains(Data(replies), s => s.Seq == una);
        Assert.NotEqual(originalTsval, p.StackTsVal);
        return (p, burst, originalTsval, cwndBefore);
    }

    private static List<SentSegment> AckWithTimestamps(RawPeer p, SeqNumber ack, uint echo, params (SeqNumber Left, SeqNumber Right)[] sacks)
    {
        TcpOptions o = TcpOptions.None;
        o.HasTimestamps = true;
        o.TimestampValue = ++p.TsVal;
        o.TimestampEcho = echo;
        foreach ((SeqNumber left, SeqNumber right) in sacks)
        {
            o.AddSack(new SackBlock(left, right));
        }

        return p.Send(TcpFlags.Ack, p.Nxt, ack, options: o);
    }
}
