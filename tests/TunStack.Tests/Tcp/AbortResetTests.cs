// The RST an ABORT sends (RFC 9293 3.10.5), segment by segment with the test as the peer.
using TunStack.Tcp;
using TunStack.Wire;

namespace TunStack.Tests.Tcp;

public class AbortResetTests
{
    [Fact]
    public void EstablishedWithTimestamps_CloseWithUnreadDataAfterASecond_SendsRstAckWithTimestamps_Rfc7323Sec3_2()
    {
        // packetdrill's ts_recent/reset_tsval: Linux's tcp_send_active_reset sends RST+ACK of
        // RCV.NXT with TSval of now and TSecr of TS.Recent.
        RawPeer p = RawPeer.Established(timestamps: true);
        p.TsVal = 2000;
        SentSegment ack = Assert.Single(p.Send(TcpFlags.Ack | TcpFlags.Psh, new byte[1000]));
        uint ackTsVal = ack.Options.TimestampValue;
        p.Probe.Advance(TimeSpan.FromSeconds(1));

        p.Connection!.Close(); // 1000 bytes unread: RFC 1122 4.2.2.13 reset
        SentSegment rst = Assert.Single(p.Decode(p.Probe.Poll()));

        Assert.Equal(TcpFlags.Rst | TcpFlags.Ack, rst.Flags);
        Assert.Equal(p.StackNxt, rst.Seq);
        Assert.Equal(p.Nxt, rst.Ack);
        Assert.True(rst.Options.HasTimestamps);
        Assert.Equal(2000u, rst.Options.TimestampEcho);
        Assert.InRange(rst.Options.TimestampValue - ackTsVal, 1000u, 1001u); // a millisecond clock, one second later
        Assert.Equal(TcpConnectionState.Closed, p.Connection.State);
    }

    [Fact]
    public void EstablishedWithoutTimestamps_Abort_SendsRstAckWithoutOptions()
    {
        RawPeer p = RawPeer.Established();
        p.Connection!.Abort();
        SentSegment rst = Assert.Single(p.Decode(p.Probe.Poll()));
        Assert.Equal(TcpFlags.Rst | TcpFlags.Ack, rst.Flags);
        Assert.Equal(p.Nxt, rst.Ack);
        Assert.False(rst.Options.HasTimestamps);
    }

    [Fact]
    public void EstablishedWithDataSentPastAWindowThatClosed_Abort_RstAtTheWindowsEndSoTheZeroWindowPeerTakesIt()
    {
        // The peer acknowledged the first segment and closed its window; the second, sent while
        // the window was open, is beyond it now. A RST at SND.NXT would be outside a zero window
        // and dropped (RFC 5961 3.2 takes only exactly RCV.NXT); Linux's tcp_send_active_reset
        // sends at tcp_acceptable_seq, the window's end when SND.NXT is past it, as our ACKs do.
        RawPeer p = RawPeer.Established();
        TcpConnection c = p.Connection!;
        int mss = c.Mss;
        Assert.Equal(2 * mss, c.Send(new byte[2 * mss], out _));
        Assert.Equal(2, SentSegment.Data(p.Decode(p.Probe.Poll())).Count);
        SeqNumber firstEnd = p.StackNxt - mss;
        Assert.Empty(p.Send(TcpFlags.Ack, p.Nxt, firstEnd, window: 0));

        c.Abort();
        SentSegment rst = Assert.Single(p.Decode(p.Probe.Poll()));

        Assert.Equal(TcpFlags.Rst | TcpFlags.Ack, rst.Flags);
        Assert.Equal(firstEnd, rst.Seq);
    }

    [Fact]
    public void EstablishedWithDataInFlightInsideTheWindow_Abort_RstAtSndNxt()
    {
        RawPeer p = RawPeer.Established();
        TcpConnection c = p.Connection!;
        Assert.Equal(2 * c.Mss, c.Send(new byte[2 * c.Mss], out _));
        p.Decode(p.Probe.Poll());

        c.Abort();
        SentSegment rst = Assert.Single(p.Decode(p.Probe.Poll()));

        Assert.Equal(p.StackNxt, rst.Seq); // RFC 9293 3.10.5: <SEQ=SND.NXT>
    }
}
