using TunStack.Tcp;
using TunStack.Wire;
using static TunStack.Tests.Tcp.SentSegment;

namespace TunStack.Tests.Tcp;

public class RackTlpAndRtoTests
{
    private const int Mss = 1460;

    // One segment out and acknowledged 10 ms later: SRTT = 10 ms, RTTVAR = 5 ms, min RTT 10 ms.
    private static RawPeer WithRtt10ms()
    {
        // The first sample is the handshake's (RFC 6298 2.2, from the SYN-ACK to its ACK).
        RawPeer p = RawPeer.Established(sack: true, handshakeRtt: TimeSpan.FromMilliseconds(10));
        Assert.Equal(10, p.Connection!.SmoothedRtt.TotalMilliseconds, 3);
        return p;
    }

    [Fact]
    public void Rto_Rfc6298_FirstSampleSetsSrttRttvar_MinimumApplies_BackoffDoubles()
    {
        RawPeer p = WithRtt10ms();
        TcpConnectionInfo info = p.Connection!.GetInfo();
        Assert.Equal(TimeSpan.FromMilliseconds(5), info.RttVariance);             // RFC 6298 2.2: RTTVAR = R/2
        Assert.Equal(TimeSpan.FromMilliseconds(200), info.RetransmissionTimeout); // SRTT + 4*RTTVAR = 30 ms, below the 200 ms minimum (2.4)

        // 2.3: a second sample of 30 ms: RTTVAR = 3/4*5 + 1/4*|10-30| = 8.75, SRTT = 7/8*10 + 1/8*30 = 12.5.
        p.Connection.Send(new byte[100], out _);
        SentSegment two = Assert.Single(Data(p.Decode(p.Probe.Poll())));
        p.Probe.Advance(TimeSpan.FromMilliseconds(30));
        p.Ack(two.Seq + two.PayloadLength);
        info = p.Connection.GetInfo();
        Assert.Equal(12.5, info.SmoothedRtt.TotalMilliseconds, 3);
        Assert.Equal(8.75, info.RttVariance.TotalMilliseconds, 3);

        // 5.5: each expiry doubles the RTO.
        p.Connection.Send(new byte[100], out _);
        p.Decode(p.Probe.Poll());
        TimeSpan before = p.Connection.RetransmissionTimeout;
        for (int i = 0; i < 10; i++)
        {
            p.Decode(p.Probe.Advance(TimeSpan.FromMilliseconds(100))); // the probe timeout, then the RTO
        }

        Assert.True(p.Probe[Counter.TcpTimeouts] >= 1);
        Assert.True(p.Connection.RetransmissionTimeout >= 2 * before);
    }

    [Fact]
    public void AfterRtoWentBackToUna_PeerRepeatsData_AckCarriesHighestSequenceSent_Rfc9293Sec3_10_7_4()
    {
        RawPeer p = WithRtt10ms();
        p.Connection!.Send(new byte[4 * Mss], out _);
        List<SentSegment> flight = Data(p.Decode(p.Probe.Poll()));
        SeqNumber una = flight[0].Seq, max = flight[^1].Seq + flight[^1].PayloadLength;
        for (int i = 0; i < 40 && p.Probe[Counter.TcpTimeouts] == 0; i++)
        {
            p.Decode(p.Probe.Advance(TimeSpan.FromMilliseconds(50))); // nothing acknowledged: the probe timeout, then the RTO
        }

        Assert.Equal(1, p.Probe[Counter.TcpTimeouts]);

        // The peer got the whole flight (its ACKs were lost) and sends a segment twice. The answer to
        // the duplicate must be at SND.MAX, not at the rewound SND.NXT: below the peer's RCV.NXT it
        // would be out of window there and its acknowledgment never read.
        p.Send(TcpFlags.Ack | TcpFlags.Psh, p.Nxt, una, new byte[100]);
        List<SentSegment> answers = p.Send(TcpFlags.Ack | TcpFlags.Psh, p.Nxt, una, new byte[100]);
        SentSegment ack = Assert.Single(answers, s => s.PayloadLength == 0);
        Assert.Equal(max, ack.Seq);
    }

    [Theory]
    [InlineData(false, 250)] // RFC 6298 2.4: max(200, SRTT + 4 * RTTVAR) = max(200, 100 + 150)
    [InlineData(true, 300)]  // Linux tcp_rtt_estimator: SRTT + max(4 * RTTVAR, 200)
    public void Path100ms_TwoEqualSamples_RtoFromTheMinimumOnTheWholeOrOnTheVarianceTerm(bool minRtoOnVariance, int rtoMs)
    {
        RawPeer p = RawPeer.Established(sack: true, handshakeRtt: TimeSpan.FromMilliseconds(100), configure: o => o.Tcp.MinRtoOnVariance = minRtoOnVariance);
        p.Connection!.Send(new byte[100], out _);
        SentSegment one = Assert.Single(Data(p.Decode(p.Probe.Poll())));
        p.Probe.Advance(TimeSpan.FromMilliseconds(100));
        p.Ack(one.Seq + one.PayloadLength); // SRTT 100 ms, RTTVAR 3/4 * 50 = 37.5 ms

        Assert.Equal(TimeSpan.FromMilliseconds(rtoMs), p.Connection.RetransmissionTimeout);
    }

    [Theory]
    [InlineData(false, 2)] // RFC 9438 4.6 / RFC 5681 eq. (4): from the flight, one segment: the floor of two
    [InlineData(true, 7)]  // Linux bictcp_recalc_ssthresh: from cwnd, 10 * 0.7
    public void WindowOfTenOneSegmentOut_RetransmitTimeout_SsthreshFromTheFlightOrFromCwnd(bool ssthreshFromCwnd, int ssthreshSegments)
    {
        // packetdrill's cubic-rto-ss-ca-cwnd-bump: a lone segment on a 100 ms path is probed, then
        // times out, with IW10 unused.
        RawPeer p = RawPeer.Established(sack: true, handshakeRtt: TimeSpan.FromMilliseconds(100), configure: o => o.Tcp.SsthreshFromCwnd = ssthreshFromCwnd);
        p.Connection!.Send(new byte[Mss], out _);
        Assert.Single(Data(p.Decode(p.Probe.Poll())));
        Assert.Equal(10 * Mss, p.Connection.CongestionWindow);

        Assert.Single(Data(p.Decode(p.Probe.Advance(TimeSpan.FromMilliseconds(300))))); // the loss probe
        Assert.Single(Data(p.Decode(p.Probe.Advance(TimeSpan.FromMilliseconds(300))))); // the RTO
        Assert.Equal(1, p.Probe[Counter.TcpTimeouts]);

        Assert.Equal(ssthreshSegments * Mss, p.Connection.SlowStartThreshold);
        Assert.Equal(Mss, p.Connection.CongestionWindow);
    }

    [Fact]
    public void ClosedWithNothingElseOutstanding_LoneFinUnacknowledged_ProbeTimeoutSendsTheFinAgain_Rfc8985Sec7_3()
    {
        // packetdrill's user_timeout: Linux probes a tail that is only the FIN (after close too),
        // at min(2 * SRTT + 200 ms, RTO) = 300 ms on a 100 ms path, and the RTO follows 300 ms later.
        RawPeer p = RawPeer.Established(sack: true, handshakeRtt: TimeSpan.FromMilliseconds(100));
        p.Connection!.Close();
        Assert.Single(p.Decode(p.Probe.Poll()), s => s.Has(TcpFlags.Fin));

        List<SentSegment> probe = p.Decode(p.Probe.Advance(TimeSpan.FromMilliseconds(300)));
        Assert.Single(probe, s => s.Has(TcpFlags.Fin));
        Assert.Equal(1, p.Probe[Counter.TcpLossProbes]);

        List<SentSegment> rto = p.Decode(p.Probe.Advance(TimeSpan.FromMilliseconds(300)));
        Assert.Single(rto, s => s.Has(TcpFlags.Fin));
    }

    [Fact]
    public void TailLoss_NoAckWithinPto_ProbeRetransmitsLastSegment_ThenRackRepairsTheTail_Rfc8985Sec7()
    {
        RawPeer p = WithRtt10ms();
        p.Connection!.Send(new byte[3 * Mss], out _);
        List<SentSegment> tail = Data(p.Decode(p.Probe.Poll()));
        Assert.Equal(3, tail.Count);

        // PTO = 2 * SRTT = 20 ms, well before the 200 ms RTO: the last segment goes again as the probe.
        List<SentSegment> probe = Data(p.Decode(p.Probe.Advance(TimeSpan.FromMilliseconds(25))));
        Assert.Equal(tail[2].Seq, Assert.Single(probe).Seq);
        Assert.Equal(1, p.Probe[Counter.TcpLossProbes]);
        Assert.Equal(0, p.Probe[Counter.TcpTimeouts]);

        // Only the probe arrived: its SACK, a round trip later, shows the first two lost, and RACK sends them at once.
        p.Probe.Advance(TimeSpan.FromMilliseconds(10));
        List<SentSegment> repair = Data(p.Ack(tail[0].Seq, (tail[2].Seq, tail[2].Seq + Mss)));
        Assert.Contains(repair, s => s.Seq == tail[0].Seq);
        Assert.True(p.Probe[Counter.TcpRackLosses] >= 2);
        Assert.Equal(0, p.Probe[Counter.TcpTimeouts]);
    }

    [Fact]
    public void Rack_AfterReorderingSeen_WaitsQuarterMinRttBeforeDeemingLost_TimerThenRetransmits_Rfc8985Sec6_2()
    {
        RawPeer p = WithRtt10ms();

        // Reordering: of two segments, the second is SACKed before the first arrives.
        p.Connection!.Send(new byte[2 * Mss], out _);
        List<SentSegment> pair = Data(p.Decode(p.Probe.Poll()));
        p.Probe.Advance(TimeSpan.FromMilliseconds(10));
        p.Ack(pair[0].Seq, (pair[1].Seq, pair[1].Seq + Mss));
        p.Ack(pair[1].Seq + Mss);
        long retransmitsBefore = p.Probe[Counter.TcpFastRetransmits];

        // Now a later segment is SACKed: with reordering seen, the first waits reo_wnd = min RTT / 4.
        p.Connection.Send(new byte[4 * Mss], out _);
        List<SentSegment> four = Data(p.Decode(p.Probe.Poll()));
        p.Probe.Advance(TimeSpan.FromMilliseconds(10));
        List<SentSegment> now = Data(p.Ack(four[0].Seq, (four[1].Seq, four[1].Seq + Mss)));
        Assert.DoesNotContain(now, s => s.Seq == four[0].Seq);

        List<SentSegment> later = Data(p.Decode(p.Probe.Advance(TimeSpan.FromMilliseconds(3))));
        Assert.Contains(later, s => s.Seq == four[0].Seq);
        Assert.True(p.Probe[Counter.TcpFastRetransmits] > retransmitsBefore);
    }
}
