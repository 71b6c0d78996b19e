// TcpConnectionInfo's fields that follow Linux's tcp_info, checked on a connection driven by a raw peer.
using TunStack.Tcp;
using TunStack.Wire;
using static TunStack.Tests.Tcp.SentSegment;

namespace TunStack.Tests.Tcp;

public class ConnectionInfoTests
{
    [Fact]
    public void Established_NoDataYetThenData_SinceLastDataReceivedCountsFromEstablishmentThenFromTheData()
    {
        // packetdrill's tcp-info-last_data_recv: a second after the handshake it is a second,
        // right after a data segment it is zero.
        RawPeer peer = RawPeer.Established();
        peer.Probe.Advance(TimeSpan.FromSeconds(1));
        TimeSpan idle = peer.Connection!.GetInfo().SinceLastDataReceived;
        Assert.InRange(idle, TimeSpan.FromMilliseconds(990), TimeSpan.FromMilliseconds(1010));
        peer.Send(TcpFlags.Ack | TcpFlags.Psh, new byte[100]);
        Assert.True(peer.Connection.GetInfo().SinceLastDataReceived < TimeSpan.FromMilliseconds(10));
    }

    [Fact]
    public void SynReceived_AckOfSynAckAfter30ms_FirstRttSampleOfThePassiveOpen()
    {
        // RFC 6298 2.2 with the handshake's sample (as Linux's tcp_synack_rtt_meas): the accepted
        // connection knows its path before its first data.
        RawPeer peer = RawPeer.Established(handshakeRtt: TimeSpan.FromMilliseconds(30));
        TcpConnectionInfo info = peer.Connection!.GetInfo();
        Assert.Equal(TimeSpan.FromMilliseconds(30), info.SmoothedRtt);
        Assert.Equal(TimeSpan.FromMilliseconds(15), info.RttVariance);
    }

    private const int Mss = 1460;

    // A SACK connection with a 20 ms handshake RTT and ten segments in flight; returns SND.UNA.
    private static SeqNumber TenSegmentsInFlight(out RawPeer peer)
    {
        peer = RawPeer.Established(sack: true, handshakeRtt: TimeSpan.FromMilliseconds(20));
        peer.Connection!.Send(new byte[10 * Mss], out _);
        List<SentSegment> burst = Data(peer.Decode(peer.Probe.Poll()));
        Assert.Equal(10 * Mss, burst.Sum(s => s.PayloadLength));
        return burst[0].Seq;
    }

    [Fact]
    public void Open_OneSegmentSackedAboveAHole_CongestionStateDisorder_CwndUnchanged()
    {
        // packetdrill's cwnd-moderation-disorder-no-moderation.
        SeqNumber una = TenSegmentsInFlight(out RawPeer peer);
        Assert.Equal(TcpCongestionState.Open, peer.Connection!.GetInfo().CongestionState);
        int cwnd = peer.Connection.CongestionWindow;
        peer.Ack(una, (una + Mss, una + (2 * Mss)));
        TcpConnectionInfo info = peer.Connection.GetInfo();
        Assert.Equal(TcpCongestionState.Disorder, info.CongestionState);
        Assert.Equal(cwnd, info.CongestionWindow);
        peer.Ack(una + (10 * Mss));
        Assert.Equal(TcpCongestionState.Open, peer.Connection.GetInfo().CongestionState);
    }

    [Fact]
    public void SackOfTheLastSegment_ThenOfTheFourth_ThenCumulativeAck_ReorderingGrowsTo7Then10_TcpCheckSackReordering()
    {
        // packetdrill's cubic-rack-reo-timeout-retrans-failed-incoming-data: reordering is the
        // distance, in segments, from the highest delivered segment down to one delivered late.
        SeqNumber una = TenSegmentsInFlight(out RawPeer peer);
        Assert.Equal(3, peer.Connection!.GetInfo().Reordering);
        peer.Ack(una, (una + (9 * Mss), una + (10 * Mss)));
        Assert.Equal(3, peer.Connection.GetInfo().Reordering);
        peer.Ack(una, (una + (3 * Mss), una + (4 * Mss)), (una + (9 * Mss), una + (10 * Mss)));
        Assert.Equal(7, peer.Connection.GetInfo().Reordering);
        peer.Ack(una + (10 * Mss));
        Assert.Equal(10, peer.Connection.GetInfo().Reordering);
    }

    [Fact]
    public void RackDeemsSevenSegmentsLost_OneRetransmittedThenOneSacked_LostSegmentsOutstandingSevenThenSix_Rfc8985()
    {
        // packetdrill's sack-shift-sacked-7-5-6-8-9-fack: tcpi_lost counts segments deemed lost and
        // not yet delivered, whether retransmitted or not (Linux's lost_out).
        SeqNumber una = TenSegmentsInFlight(out RawPeer peer);
        peer.Probe.Advance(TimeSpan.FromMilliseconds(20));
        peer.Ack(una, (una + (7 * Mss), una + (8 * Mss)));
        List<SentSegment> retransmitted = Data(peer.Decode(peer.Probe.Advance(TimeSpan.FromMilliseconds(10)))); // RACK's reordering window passes
        Assert.Contains(retransmitted, s => s.Seq == una);
        TcpConnectionInfo info = peer.Connection!.GetInfo();
        Assert.Equal(TcpCongestionState.Recovery, info.CongestionState);
        Assert.Equal(7, info.LostSegmentsOutstanding);

        peer.Ack(una, (una + (5 * Mss), una + (6 * Mss)), (una + (7 * Mss), una + (8 * Mss)));
        Assert.Equal(6, peer.Connection.GetInfo().LostSegmentsOutstanding);
        peer.Ack(una + (10 * Mss));
        Assert.Equal(0, peer.Connection.GetInfo().LostSegmentsOutstanding);
    }

    [Fact]
    public void ZeroWindowThenSmallWindow_DataWaiting_ReceiveWindowLimitedAndBusyTimeCountWhileHeld_TcpChrono()
    {
        // packetdrill's tcp-info-rwnd-limited.
        RawPeer peer = RawPeer.Established();
        TcpConnection c = peer.Connection!;
        peer.Send(TcpFlags.Ack, peer.Nxt, peer.StackNxt, window: 0);
        Assert.Equal(TimeSpan.Zero, c.GetInfo().ReceiveWindowLimitedTime);
        c.Send(new byte[1000], out _);
        Assert.Empty(Data(peer.Decode(peer.Probe.Poll())));
        peer.Probe.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(TimeSpan.FromMilliseconds(100), c.GetInfo().ReceiveWindowLimitedTime);

        SentSegment data = Assert.Single(Data(peer.Send(TcpFlags.Ack, peer.Nxt, peer.StackNxt, window: 2000)));
        peer.Probe.Advance(TimeSpan.FromMilliseconds(30));
        peer.Send(TcpFlags.Ack, peer.Nxt, data.Seq + data.PayloadLength, window: 2000);
        TcpConnectionInfo info = c.GetInfo();
        Assert.Equal(TimeSpan.FromMilliseconds(100), info.ReceiveWindowLimitedTime);
        Assert.Equal(TimeSpan.FromMilliseconds(130), info.BusyTime); // all acknowledged: no longer busy
        peer.Probe.Advance(TimeSpan.FromMilliseconds(50));
        Assert.Equal(TimeSpan.FromMilliseconds(130), c.GetInfo().BusyTime);
    }

    [Fact]
    public void WindowOfTenBytes_ThousandBytesToSend_NothingSentUntilTheWindowOpens_SenderSwsAvoidance_Rfc9293Sec3_8_6_2_1()
    {
        RawPeer peer = RawPeer.Established();
        TcpConnection c = peer.Connection!;
        peer.Send(TcpFlags.Ack, peer.Nxt, peer.StackNxt, window: 10);
        c.Send(new byte[1000], out _);
        Assert.Empty(Data(peer.Decode(peer.Probe.Poll())));
        peer.Probe.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(TimeSpan.FromMilliseconds(100), c.GetInfo().ReceiveWindowLimitedTime);

        SentSegment data = Assert.Single(Data(peer.Send(TcpFlags.Ack, peer.Nxt, peer.StackNxt, window: 2000)));
        Assert.Equal(1000, data.PayloadLength);
    }

    [Fact]
    public void WindowOfTenBytes_NothingInFlight_OverrideTimerSendsWhatFits_Rfc1122Sec4_2_3_4()
    {
        RawPeer peer = RawPeer.Established();
        TcpConnection c = peer.Connection!;
        peer.Send(TcpFlags.Ack, peer.Nxt, peer.StackNxt, window: 10);
        c.Send(new byte[1000], out _);
        Assert.Empty(Data(peer.Decode(peer.Probe.Poll())));
        SentSegment piece = Assert.Single(Data(peer.Decode(peer.Probe.Advance(c.GetInfo().RetransmissionTimeout + TimeSpan.FromMilliseconds(1)))));
        Assert.Equal(10, piece.PayloadLength);
    }
}
