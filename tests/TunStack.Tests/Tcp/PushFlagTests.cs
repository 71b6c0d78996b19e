// When a data segment carries PSH: on the one that empties the send buffer, and, as Linux marks
// each TSO packet of its pacing rate's millisecond, on a super-segment that ends a whole push unit
// (Linux's slow_start and limited_transmit packetdrill scripts record both).
using TunStack.Links;
using TunStack.Wire;

namespace TunStack.Tests.Tcp;

public class PushFlagTests
{
    private const LinkOffloads Tso = LinkOffloads.TransportChecksum | LinkOffloads.TcpSegmentationV4;

    private static List<SentSegment> FirstFlightOfFifteenSegments(TimeSpan handshakeRtt)
    {
        RawPeer peer = RawPeer.Established(sack: true, offloads: Tso, handshakeRtt: handshakeRtt);
        int mss = peer.Connection!.Mss;
        Assert.Equal(15 * mss, peer.Connection.Send(new byte[15 * mss], out _));
        List<SentSegment> sent = SentSegment.Data(peer.Decode(peer.Probe.Poll()));
        Assert.Equal(1, peer.Probe.SuperSegmentsSent);
        Assert.Equal(10 * mss, sent.Sum(s => s.PayloadLength)); // IW10 of the 15 written
        return sent;
    }

    [Fact]
    public void SlowStart_100msPath_CwndLimitedSuperSegmentOfWholePushUnits_CarriesPsh()
    {
        // 100 ms: a millisecond of the pacing rate is under two segments, so the unit is two
        // segments and the ten-segment flight ends one.
        List<SentSegment> sent = FirstFlightOfFifteenSegments(TimeSpan.FromMilliseconds(100));
        Assert.True(sent[^1].Has(TcpFlags.Psh));
    }

    [Fact]
    public void SlowStart_1msPath_CwndLimitedSuperSegmentShorterThanAPushUnit_NoPsh()
    {
        // 1 ms: the unit is 19 segments, more than cwnd lets out, and data is still unsent.
        List<SentSegment> sent = FirstFlightOfFifteenSegments(TimeSpan.FromMilliseconds(1));
        Assert.All(sent, s => Assert.False(s.Has(TcpFlags.Psh)));
    }

    [Fact]
    public void LastSegmentOfAWriteUnacknowledged_TailLossProbeRetransmitsIt_WithThePshItFirstCarried()
    {
        // packetdrill's fr-4pkt-fack-last-byte: Linux resends an skb with its flags.
        RawPeer peer = RawPeer.Established(sack: true, handshakeRtt: TimeSpan.FromMilliseconds(100));
        int mss = peer.Connection!.Mss;
        peer.Connection.Send(new byte[4 * mss], out _);
        List<SentSegment> sent = SentSegment.Data(peer.Decode(peer.Probe.Poll()));
        Assert.True(sent[^1].Has(TcpFlags.Psh));
        SeqNumber last = sent[^1].Seq + sent[^1].PayloadLength - mss;

        SentSegment probe = SentSegment.Data(peer.Decode(peer.Probe.Advance(TimeSpan.FromMilliseconds(300))))[0];

        Assert.Equal(last, probe.Seq);
        Assert.True(probe.Has(TcpFlags.Psh));
    }

    [Fact]
    public void SegmentInTheMiddleOfAWriteLost_FastRetransmission_NoPsh()
    {
        RawPeer peer = RawPeer.Established(sack: true, handshakeRtt: TimeSpan.FromMilliseconds(100));
        int mss = peer.Connection!.Mss;
        peer.Connection.Send(new byte[6 * mss], out _);
        SeqNumber una = SentSegment.Data(peer.Decode(peer.Probe.Poll()))[0].Seq;
        peer.Probe.Advance(TimeSpan.FromMilliseconds(100));
        SentSegment retransmission = Assert.Single(SentSegment.Data(peer.Ack(una, (una + mss, una + (4 * mss)))));
        Assert.Equal(una, retransmission.Seq);
        Assert.False(retransmission.Has(TcpFlags.Psh));
    }

    [Fact]
    public void LinuxProfile_FirstFlightOfIw10WithTenSegmentUnits_TwoSuperSegmentsOfHalfTheWindow_EachWithPsh()
    {
        // packetdrill's slow-start-after-idle (tcp_min_tso_segs=10): Linux's tcp_cwnd_test lets a
        // TSO packet take at most half of cwnd, and each such packet carries PSH.
        RawPeer peer = RawPeer.Established(
            sack: true, offloads: Tso, handshakeRtt: TimeSpan.FromMilliseconds(100),
            configure: o => o.Apply(StackProfile.Linux).Tcp.MinSegmentsPerSuperSegment = 10);
        int mss = peer.Connection!.Mss;
        peer.Connection.Send(new byte[26 * mss], out _);

        List<SentSegment> sent = SentSegment.Data(peer.Decode(peer.Probe.Poll()));

        // The link cuts each super-segment into MSS segments; PSH rides on the last of each.
        Assert.Equal(2, peer.Probe.SuperSegmentsSent);
        Assert.Equal(10 * mss, sent.Sum(s => s.PayloadLength));
        Assert.Equal([4, 9], Enumerable.Range(0, sent.Count).Where(i => sent[i].Has(TcpFlags.Psh)));
    }

    [Fact]
    public void LinuxProfile_100msPath_FirstFlight_SuperSegmentsOfOnePushUnitEach_EachWithPsh()
    {
        // A millisecond of the pacing rate is under two segments: Linux's tcp_tso_autosize makes
        // each TSO packet tcp_min_tso_segs (2) segments.
        RawPeer peer = RawPeer.Established(sack: true, offloads: Tso, handshakeRtt: TimeSpan.FromMilliseconds(100), configure: o => o.Apply(StackProfile.Linux));
        int mss = peer.Connection!.Mss;
        peer.Connection.Send(new byte[15 * mss], out _);

        List<SentSegment> sent = SentSegment.Data(peer.Decode(peer.Probe.Poll()));

        Assert.Equal(5, peer.Probe.SuperSegmentsSent);
        Assert.Equal(10 * mss, sent.Sum(s => s.PayloadLength));
        Assert.Equal([1, 3, 5, 7, 9], Enumerable.Range(0, sent.Count).Where(i => sent[i].Has(TcpFlags.Psh)));
    }

    [Fact]
    public void LinuxProfile_SegmentEndingAPushUnitPacketLost_Retransmission_NoPsh()
    {
        // packetdrill's sack-shift-sacked-7-5-6-8-9-fack: the PSH of a whole TSO packet is the
        // wire's; Linux resends a piece of that packet without it. Only the write's tail keeps it.
        RawPeer peer = RawPeer.Established(sack: true, offloads: Tso, handshakeRtt: TimeSpan.FromMilliseconds(100), configure: o => o.Apply(StackProfile.Linux));
        int mss = peer.Connection!.Mss;
        peer.Connection.Send(new byte[10 * mss], out _);
        List<SentSegment> flight = SentSegment.Data(peer.Decode(peer.Probe.Poll()));
        Assert.True(flight[1].Has(TcpFlags.Psh)); // [una, una + 2 MSS) went as one packet with PSH
        SeqNumber una = flight[0].Seq;
        peer.Probe.Advance(TimeSpan.FromMilliseconds(100));

        List<SentSegment> sent = SentSegment.Data(peer.Ack(una + mss, (una + (2 * mss), una + (10 * mss))));
        sent.AddRange(SentSegment.Data(peer.Decode(peer.Probe.Advance(TimeSpan.FromMilliseconds(100)))));

        SentSegment retransmission = Assert.Single(sent, s => s.Seq == una + mss);
        Assert.False(retransmission.Has(TcpFlags.Psh));
    }
}
