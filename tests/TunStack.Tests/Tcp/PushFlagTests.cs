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
}
