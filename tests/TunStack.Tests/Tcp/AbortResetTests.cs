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
}
