// TCP_CORK (TcpConnection.Cork) and MSG_MORE (Send with more) as Linux's TCP_NAGLE_CORK: a partial
// segment at the tail waits even with nothing in flight, until uncorked, pushed (TCP_NODELAY set),
// a later send without MSG_MORE or an ACK, or the probe timer (an RTO as Linux computes it, SRTT +
// 200 ms here); full segments go at once.
using TunStack.Wire;

namespace TunStack.Tests.Tcp;

public class CorkTests
{
    private static readonly TimeSpan HandshakeRtt = TimeSpan.FromMilliseconds(10);

    // An established connection with a first RTT sample of 10 ms: corked, or with TCP_NODELAY.
    private static RawPeer Established(bool corked)
    {
        RawPeer peer = RawPeer.Established(handshakeRtt: HandshakeRtt);
        if (corked)
        {
            peer.Connection!.Cork = true;
        }
        else
        {
            peer.Connection!.NoDelay = true;
        }

        return peer;
    }

    private static int Send(RawPeer peer, int length, bool more = false)
    {
        int n = peer.Connection!.Send(new byte[length], out StackError error, endOfRecord: false, more);
        Assert.Equal(StackError.None, error);
        return n;
    }

    // Checks that what was written is still held, then runs release and returns the one data segment it sent.
    private static SentSegment HeldUntil(RawPeer peer, Action release)
    {
        Assert.Empty(SentSegment.Data(peer.Decode(peer.Probe.Poll())));
        release();
        return Assert.Single(SentSegment.Data(peer.Decode(peer.Probe.Poll())));
    }

    private static void AssertPushed(SentSegment sent, int length)
    {
        Assert.Equal(length, sent.PayloadLength);
        Assert.True(sent.Has(TcpFlags.Psh));
    }

    [Fact]
    public void Corked_TwoSmallWrites_HeldWithNothingInFlight_UncorkingSendsThemAsOneWithPsh()
    {
        RawPeer peer = Established(corked: true);
        Send(peer, 40);
        Assert.Empty(SentSegment.Data(peer.Decode(peer.Probe.Advance(TimeSpan.FromMilliseconds(50)))));
        Send(peer, 40);
        AssertPushed(HeldUntil(peer, () => peer.Connection!.Cork = false), 80);
    }

    [Fact]
    public void Corked_Push_SendsTheHeldPartialSegment()
    {
        RawPeer peer = Established(corked: true);
        Send(peer, 40);
        Assert.Equal(40, HeldUntil(peer, peer.Connection!.Push).PayloadLength); // setsockopt(TCP_NODELAY, 1)
    }

    [Fact]
    public void MoreWithNoDelay_NothingInFlight_PartialWaitsForTheProbeTimer()
    {
        RawPeer peer = Established(corked: false); // with TCP_NODELAY: MSG_MORE holds the tail all the same
        Send(peer, 40, more: true);
        Assert.Empty(SentSegment.Data(peer.Decode(peer.Probe.Advance(TimeSpan.FromMilliseconds(200)))));
        SentSegment probe = Assert.Single(SentSegment.Data(peer.Decode(peer.Probe.Advance(TimeSpan.FromMilliseconds(15)))));
        AssertPushed(probe, 40); // tcp_write_wakeup marks it
    }

    [Fact]
    public void MoreWithNoDelay_LargerThanASegment_FullSegmentsGo_TailWaitsForTheAckAndCarriesNoPsh()
    {
        RawPeer peer = Established(corked: false);
        int mss = peer.Connection!.Mss;
        Send(peer, (3 * mss) + 100, more: true);
        List<SentSegment> first = SentSegment.Data(peer.Decode(peer.Probe.Poll()));
        Assert.Equal(3 * mss, first.Sum(s => s.PayloadLength));

        SentSegment tail = Assert.Single(SentSegment.Data(peer.Ack(peer.StackNxt)));
        Assert.Equal(100, tail.PayloadLength);
        Assert.False(tail.Has(TcpFlags.Psh));
    }

    [Fact]
    public void MoreThenPlainWrite_PlainWritePushesBothWithPsh()
    {
        RawPeer peer = Established(corked: false);
        Send(peer, 20, more: true);
        AssertPushed(HeldUntil(peer, () => Send(peer, 20)), 40);
    }

    [Fact]
    public void Corked_Close_HeldDataGoesWithTheFin()
    {
        RawPeer peer = Established(corked: true);
        Send(peer, 40);
        peer.Connection!.Close();
        List<SentSegment> sent = peer.Decode(peer.Probe.Poll());
        Assert.Equal(40, sent.Sum(s => s.PayloadLength));
        Assert.Contains(sent, s => s.Has(TcpFlags.Fin));
    }
}
