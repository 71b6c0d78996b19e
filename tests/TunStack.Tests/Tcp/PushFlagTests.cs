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
}
