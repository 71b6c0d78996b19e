// Loss recovery and congestion control, segment by segment with the test as the peer
// (RFC 5681, RFC 6928, RFC 3042, RFC 6582, RFC 6675, RFC 9438, RFC 9406).
using TunStack.Tcp;
using TunStack.Tcp.Congestion;
using TunStack.Tcp.Recovery;
using TunStack.Wire;
using static TunStack.Tests.Tcp.SentSegment;

namespace TunStack.Tests.Tcp;

public class LossRecoveryTests
{
    private const int Mss = 1460;

    private static RawPeer Sender(bool sack, CongestionAlgorithm algorithm = CongestionAlgorithm.NewReno, uint? stackIss = null)
        => RawPeer.Established(sack: sack, configure: o => o.Tcp.CongestionControl = algorithm, stackIss: stackIss);

    [Fact]
    public void Established_BulkSendWithoutAcks_SendsTenSegments_Rfc6928InitialWindow()
    {
        RawPeer p = Sender(sack: false);
        Assert.Equal(14600, p.Connection!.CongestionWindow); // min(10*1460, max(2*1460, 14600))
        p.Connection.Send(new byte[40 * Mss], out _);
        List<SentSegment> burst = Data(p.Decode(p.Probe.Poll()));
        Assert.Equal(10, burst.Count);
        Assert.All(burst, s => Assert.Equal(Mss, s.PayloadLength));
    }

    [Fact]
    public void SlowStart_EachAckOfOneSegment_GrowsCwndByOneSmss_Rfc5681()
    {
        RawPeer p = Sender(sack: false);
        p.Connection!.Send(new byte[40 * Mss], out _);
        List<SentSegment> burst = Data(p.Decode(p.Probe.Poll()));
        SeqNumber first = burst[0].Seq;
        List<SentSegment> more = Data(p.Ack(first + Mss));
        Assert.Equal(14600 + Mss, p.Connection.CongestionWindow);
        Assert.Equal(2, more.Count); // one acked segment frees one slot, the growth adds another
    }

    [Fact]
    public void Established_ThreeDuplicateAcks_FastRetransmitAndLimitedTransmit_NewReno_Rfc5681_Rfc3042()
    {
        RawPeer p = Sender(sack: false);
        p.Connection!.Send(new byte[40 * Mss], out _);
        List<SentSegment> burst = Data(p.Decode(p.Probe.Poll()));
        SeqNumber lost = burst[0].Seq; // the first segment never arrives

        // RFC 3042: each of the first two duplicate ACKs lets one new segment go.
        List<SentSegment> first = Data(p.Ack(lost));
        List<SentSegment> second = Data(p.Ack(lost));
        Assert.Single(first);
        Assert.Single(second);
        Assert.Equal(burst[^1].Seq + Mss, first[0].Seq);
        Assert.Equal(2, p.Probe[Counter.TcpLimitedTransmits]);

        // RFC 5681 3.2 step 2-3: the third retransmits the lost segment; ssthresh = FlightSize / 2,
        // without the two segments limited transmit sent ("MUST NOT be included in this calculation").
        List<SentSegment> third = Data(p.Ack(lost));
        Assert.Contains(third, s => s.Seq == lost && s.PayloadLength == Mss);
        Assert.True(p.Connection.InRecovery);
        Assert.Equal(10 * Mss / 2, p.Connection.SlowStartThreshold);
        Assert.Equal(1, p.Probe[Counter.TcpFastRecoveries]);

        // The full ACK ends recovery with cwnd = ssthresh (RFC 6937 3, which RFC 6582 3.2 step 3 allows).
        p.Ack(burst[^1].Seq + (3 * Mss));
        Assert.False(p.Connection.InRecovery);
        Assert.Equal(p.Connection.SlowStartThreshold, p.Connection.CongestionWindow);
        Assert.Equal(0, p.Probe[Counter.TcpTimeouts]);
    }

    [Fact]
    public void Disorder_SackedDuplicateAckOnATsoLink_LimitedTransmitSendsOneSegment_Rfc3042()
    {
        // packetdrill's limited-transmit-sack: one new segment per duplicate ACK, not a super-segment
        // of the limited-transmit allowance plus what the SACK took out of the pipe.
        RawPeer p = RawPeer.Established(sack: true, offloads: TunStack.Links.LinkOffloads.TransportChecksum | TunStack.Links.LinkOffloads.TcpSegmentationV4, handshakeRtt: TimeSpan.FromMilliseconds(10));
        p.Connection!.Send(new byte[40 * Mss], out _);
        List<SentSegment> burst = Data(p.Decode(p.Probe.Poll()));
        SeqNumber first = burst[0].Seq;
        p.Probe.Advance(TimeSpan.FromMilliseconds(10)); // one RTT: RACK's reordering window keeps the first segment from being deemed lost yet
        List<SentSegment> more = Data(p.Ack(first, (first + Mss, first + (2 * Mss))));
        SentSegment one = Assert.Single(more);
        Assert.Equal(Mss, one.PayloadLength);
    }

    [Fact]
    public void Disorder_CumulativeAckOverSackedSegments_CwndGrowsOnlyByWhatThisAckDelivered()
    {
        // Two segments SACKed by duplicate ACKs, then the ACK of all three: slow start grows cwnd by
        // the one segment this ACK delivered (Linux's acked_sacked), not by the three it covers.
        RawPeer p = RawPeer.Established(sack: true, handshakeRtt: TimeSpan.FromMilliseconds(10));
        p.Connection!.Send(new byte[40 * Mss], out _);
        List<SentSegment> burst = Data(p.Decode(p.Probe.Poll()));
        SeqNumber first = burst[0].Seq;
        p.Probe.Advance(TimeSpan.FromMilliseconds(10));
        p.Ack(first, (first + Mss, first + (2 * Mss)));
        p.Ack(first, (first + Mss, first + (3 * Mss)));
        int before = p.Connection.CongestionWindow;
        p.Ack(first + (3 * Mss));
        Assert.Equal(before + Mss, p.Connection.CongestionWindow);
    }

    [Fact]
    public void LimitedTransmitWithoutSack_AckEndingIt_CwndGrowsByOneSegmentNotThose_DuplicateAcksAnnounced_Rfc5681Sec3_1()
    {
        // packetdrill's limited-transmit-no-sack: two duplicate ACKs sent two new segments; the ACK
        // of three segments then delivered one the duplicate ACKs had not announced (Linux
        // tcp_remove_reno_sacks): cwnd 10 -> 11 segments, 9 in flight, so two new segments go.
        RawPeer p = Sender(sack: false, CongestionAlgorithm.Cubic);
        p.Connection!.Send(new byte[15 * Mss], out _);
        List<SentSegment> burst = Data(p.Decode(p.Probe.Poll()));
        Assert.Equal(10, burst.Count);
        SeqNumber una = burst[0].Seq;
        Assert.Single(Data(p.Ack(una)));
        Assert.Single(Data(p.Ack(una)));

        List<SentSegment> after = Data(p.Ack(una + (3 * Mss)));

        Assert.Equal(11 * Mss, p.Connection.CongestionWindow);
        Assert.Equal(2, after.Count);
        Assert.False(p.Connection.InRecovery);
    }

    [Fact]
    public void LimitedTransmitUnusedThenFastRecovery_AppWritesAndASackArrives_PrrSendsNewData_Rfc6937()
    {
        // packetdrill's prr-ss-10pkt-lost-1: the two duplicate ACKs before recovery found nothing
        // new to send; their limited-transmit allowance must not outlive them into recovery.
        RawPeer p = RawPeer.Established(sack: true, configure: o => o.Tcp.CongestionControl = CongestionAlgorithm.Cubic, handshakeRtt: TimeSpan.FromMilliseconds(100));
        p.Connection!.Send(new byte[10 * Mss], out _);
        SeqNumber una = Data(p.Decode(p.Probe.Poll()))[0].Seq;
        p.Probe.Advance(TimeSpan.FromMilliseconds(110));
        p.Ack(una, (una + Mss, una + (2 * Mss)));
        p.Ack(una, (una + Mss, una + (3 * Mss)));
        Assert.Contains(Data(p.Ack(una, (una + Mss, una + (4 * Mss)))), s => s.Seq == una); // fast retransmit
        Assert.True(p.Connection.InRecovery);
        p.Connection.Send(new byte[7 * Mss], out _);
        Assert.Empty(Data(p.Decode(p.Probe.Poll()))); // pipe 7 segments = cwnd 7

        List<SentSegment> sent = Data(p.Ack(una, (una + Mss, una + (5 * Mss))));

        SentSegment next = Assert.Single(sent); // PRR-SSRB: pipe 6 < ssthresh 7, one new segment
        Assert.Equal(una + (10 * Mss), next.Seq);
    }

    [Fact]
    public void LinuxProfile_IdleForSeveralRtosWithNothingInFlight_NextSendRestartsCwndAtInitialWindow_Rfc5681Sec4_1()
    {
        RawPeer p = RawPeer.Established(configure: o => o.Apply(StackProfile.Linux), handshakeRtt: TimeSpan.FromMilliseconds(100));
        GrowWindowThenIdle(p, TimeSpan.FromSeconds(2));
        p.Connection!.Send(new byte[30 * Mss], out _);
        List<SentSegment> burst = Data(p.Decode(p.Probe.Poll()));

        Assert.Equal(CongestionControl.InitialWindow(Mss), p.Connection.CongestionWindow);
        Assert.Equal(10 * Mss, burst.Sum(s => s.PayloadLength));
    }

    [Fact]
    public void LinuxProfile_ZeroWindowProbedForSeconds_WindowReopens_CwndRestartsCountingRtosOfTheEstimate()
    {
        // packetdrill's slow-start-after-win-update: the probes back off their timer, but Linux's
        // tcp_cwnd_restart counts idleness in icsk_rto, which they leave alone: 3 s idle is ten
        // RTOs of 300 ms, and cwnd falls to the initial window, not once halved.
        RawPeer p = RawPeer.Established(configure: o => o.Apply(StackProfile.Linux), handshakeRtt: TimeSpan.FromMilliseconds(100));
        GrowWindowThenIdle(p, TimeSpan.Zero);
        p.Connection!.Send(new byte[20 * Mss], out _);
        List<SentSegment> second = Data(p.Decode(p.Probe.Poll()));
        p.Probe.Advance(TimeSpan.FromMilliseconds(100));
        SeqNumber end = second[^1].Seq + second[^1].PayloadLength;
        p.Send(TcpFlags.Ack, p.Nxt, end, window: 0);
        Assert.Equal(40 * Mss, p.Connection.CongestionWindow);

        p.Connection.Send(new byte[30 * Mss], out _);
        for (int i = 0; i < 30; i++)
        {
            p.Decode(p.Probe.Advance(TimeSpan.FromMilliseconds(100))); // zero-window probes
        }

        List<SentSegment> burst = Data(p.Send(TcpFlags.Ack, p.Nxt, end));

        Assert.Equal(CongestionControl.InitialWindow(Mss), p.Connection.CongestionWindow);
        Assert.Equal(10 * Mss, burst.Sum(s => s.PayloadLength));
    }

    [Fact]
    public void ThirdSackBeginsRecoveryWithPipeFarBelowSsthresh_OnlyTheFastRetransmissionGoes_Rfc6937SafeAck()
    {
        // packetdrill's sack-shift-sacked-2-6-8-3-9-nofack: the fast retransmission is that ACK's
        // sndcnt, and an ACK that does not advance SND.UNA earns no extra segment (PRR-SSRB only
        // on a SafeACK; Linux's tcp_cwnd_reduction).
        RawPeer p = RawPeer.Established(sack: true, handshakeRtt: TimeSpan.FromMilliseconds(100));
        p.Connection!.Send(new byte[10 * Mss], out _);
        SeqNumber una = Data(p.Decode(p.Probe.Poll()))[0].Seq;
        p.Probe.Advance(TimeSpan.FromMilliseconds(100));
        p.Ack(una, (una + (2 * Mss), una + (3 * Mss)));
        p.Ack(una, (una + (2 * Mss), una + (3 * Mss)), (una + (6 * Mss), una + (7 * Mss)));

        List<SentSegment> sent = Data(p.Ack(una, (una + (2 * Mss), una + (3 * Mss)), (una + (6 * Mss), una + (7 * Mss)), (una + (8 * Mss), una + (9 * Mss))));

        SentSegment retransmission = Assert.Single(sent);
        Assert.Equal(una, retransmission.Seq);
    }

    [Theory]
    [InlineData(false, 1, 2)] // RFC 8985 6.2 step 2: RACK.rtt is the retransmission's 12 ms; the tail, 22 ms old, is lost
    [InlineData(true, 0, 3)]  // Linux tcp_rack_advance: RACK.rtt is the last delivered original's 22 ms; nothing newly lost
    public void Recovery_AckDeliversRetransmissionThenOlderOriginal_TailLostOnlyByTheRetransmissionsRtt(bool rackRttFromLastDelivered, long newlyLost, int sent)
    {
        // packetdrill's prr-ss-ack-below-snd_una-cubic: 10 segments at once on a 10 ms path; the
        // SACKs of 2-3 and 9 begin recovery (0 and 3-7 lost) and 0 is retransmitted; 12 ms later
        // the ACK of 0-3 delivers that retransmission and original 3. Whether the last segment,
        // 22 ms old, is deemed lost decides whether the ACK is a SafeACK for PRR-SSRB.
        RawPeer p = RawPeer.Established(sack: true, handshakeRtt: TimeSpan.FromMilliseconds(10), configure: o => o.Tcp.RackRttFromLastDelivered = rackRttFromLastDelivered);
        p.Connection!.Send(new byte[10 * Mss], out _);
        SeqNumber una = Data(p.Decode(p.Probe.Poll()))[0].Seq;
        p.Probe.Advance(TimeSpan.FromMilliseconds(10));
        p.Ack(una, (una + Mss, una + (2 * Mss)));
        p.Ack(una, (una + Mss, una + (3 * Mss)));
        SentSegment retransmission = Assert.Single(Data(p.Ack(una, (una + Mss, una + (3 * Mss)), (una + (8 * Mss), una + (9 * Mss)))));
        Assert.Equal(una, retransmission.Seq);
        p.Probe.Advance(TimeSpan.FromMilliseconds(12));
        long lostBefore = p.Probe[Counter.TcpRackLosses];

        List<SentSegment> after = Data(p.Ack(una + (4 * Mss), (una + (8 * Mss), una + (9 * Mss))));

        Assert.Equal(newlyLost, p.Probe[Counter.TcpRackLosses] - lostBefore);
        Assert.Equal(sent, after.Count);
        Assert.Equal(una + (4 * Mss), after[0].Seq);
    }

    [Fact]
    public void ReorderingTimerBeginsRecovery_OneRetransmissionGoes_AsForOneDeliveredSegment()
    {
        // packetdrill's sack-shift-sacked-7-3-4-8-9-fack: Linux's tcp_rack_reo_timeout reduces the
        // window as for an ACK of one segment, so PRR lets one retransmission out, not the window.
        RawPeer p = RawPeer.Established(sack: true, handshakeRtt: TimeSpan.FromMilliseconds(100));
        p.Connection!.Send(new byte[10 * Mss], out _);
        SeqNumber una = Data(p.Decode(p.Probe.Poll()))[0].Seq;
        p.Probe.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Empty(Data(p.Ack(una, (una + (7 * Mss), una + (8 * Mss))))); // RACK waits min_RTT / 4

        List<SentSegment> sent = Data(p.Decode(p.Probe.Advance(TimeSpan.FromMilliseconds(30))));

        SentSegment retransmission = Assert.Single(sent);
        Assert.Equal(una, retransmission.Seq);
    }

    [Fact]
    public void DefaultProfile_IdleForSeveralRtos_CwndKeptThroughTheIdlePeriod_Rfc7661()
    {
        RawPeer p = RawPeer.Established(handshakeRtt: TimeSpan.FromMilliseconds(100));
        int grown = GrowWindowThenIdle(p, TimeSpan.FromSeconds(2));
        p.Connection!.Send(new byte[30 * Mss], out _);
        p.Decode(p.Probe.Poll());
        Assert.Equal(grown, p.Connection.CongestionWindow);
    }

    // Slow start from IW10 to 20 segments (one window acknowledged), all data acknowledged, then
    // `idle` with nothing sent; returns the grown cwnd.
    private static int GrowWindowThenIdle(RawPeer p, TimeSpan idle)
    {
        p.Connection!.Send(new byte[10 * Mss], out _);
        List<SentSegment> burst = Data(p.Decode(p.Probe.Poll()));
        p.Probe.Advance(TimeSpan.FromMilliseconds(100));
        p.Ack(burst[^1].Seq + burst[^1].PayloadLength);
        int grown = p.Connection.CongestionWindow;
        Assert.Equal(20 * Mss, grown);
        p.Probe.Advance(idle);
        return grown;
    }

    [Fact]
    public void FastRecovery_PartialAck_RetransmitsNextHoleAtOnce_Rfc6582()
    {
        RawPeer p = Sender(sack: false);
        p.Connection!.Send(new byte[40 * Mss], out _);
        List<SentSegment> burst = Data(p.Decode(p.Probe.Poll()));
        SeqNumber lost1 = burst[0].Seq, lost2 = burst[4].Seq; // two segments of one window lost
        for (int i = 0; i < 3; i++)
        {
            p.Ack(lost1);
        }

        Assert.True(p.Connection.InRecovery);

        // The retransmission of the first loss arrives: the ACK covers up to the second loss only.
        List<SentSegment> reply = Data(p.Ack(lost2));
        Assert.Contains(reply, s => s.Seq == lost2); // RFC 6582 3.2 step 5: retransmit the first unacknowledged segment
        Assert.True(p.Connection.InRecovery);
        Assert.Equal(1, p.Probe[Counter.TcpPartialAcks]);
        Assert.Equal(1, p.Probe[Counter.TcpFastRecoveries]); // one reduction for the whole window
    }

    [Fact]
    public void Sack_HolesRetransmitted_SackedSegmentsNot_Rfc6675()
    {
        RawPeer p = Sender(sack: true);
        Assert.True(p.Connection!.SackEnabled);
        p.Connection.Send(new byte[40 * Mss], out _);
        List<SentSegment> burst = Data(p.Decode(p.Probe.Poll()));
        SeqNumber una = burst[0].Seq;
        SeqNumber S(int i) => una + (i * Mss);

        // Segments 0 and 2 are lost; 1 and 3..6 arrive and are SACKed.
        var retransmitted = new List<SentSegment>();
        retransmitted.AddRange(Data(p.Ack(una, (S(1), S(2)))));
        retransmitted.AddRange(Data(p.Ack(una, (S(3), S(4)), (S(1), S(2)))));
        retransmitted.AddRange(Data(p.Ack(una, (S(3), S(5)), (S(1), S(2)))));
        retransmitted.AddRange(Data(p.Ack(una, (S(3), S(6)), (S(1), S(2)))));
        retransmitted.AddRange(Data(p.Ack(una, (S(3), S(7)), (S(1), S(2)))));
        for (int k = 8; k <= 10; k++)
        {
            // The rest of the first window arrives (segments sent during recovery are not reported:
            // in this test no time passes, so one SACKed would say the retransmissions before it were lost).
            retransmitted.AddRange(Data(p.Ack(una, (S(3), S(k)), (S(1), S(2)))));
        }

        Assert.True(p.Connection.InRecovery);

        // RFC 6675 SetPipe: in flight, less what is SACKed (segment 1 and the run from 3, up to what
        // was sent), the two holes having been retransmitted and so counted again.
        TcpConnectionInfo info = p.Connection.GetInfo();
        Assert.True(info.SackedBytes >= 8 * Mss, $"{info.SackedBytes} SACKed");
        Assert.True(retransmitted.Any(s => s.Seq >= S(10)), "RFC 6937: new data goes out during recovery as data is delivered");
        Assert.Equal(info.BytesInFlight - info.SackedBytes, info.Pipe);
        List<SeqNumber> resent = retransmitted.Where(s => s.Seq < S(10)).Select(s => s.Seq).ToList();
        Assert.Contains(S(0), resent);
        Assert.Contains(S(2), resent);
        Assert.DoesNotContain(S(1), resent);
        Assert.DoesNotContain(S(3), resent);
        Assert.Equal(resent.Count, resent.Distinct().Count()); // each hole once
        Assert.Equal(0, p.Probe[Counter.TcpTimeouts]);
    }

    [Fact]
    public void RetransmissionTimeout_CwndToOneSegment_SsthreshFromFlight_Rfc5681()
    {
        RawPeer p = Sender(sack: false);
        p.Connection!.Send(new byte[40 * Mss], out _);
        Data(p.Decode(p.Probe.Poll()));
        List<SentSegment> afterRto = Data(p.Decode(p.Probe.Advance(TimeSpan.FromSeconds(1.5))));
        Assert.Single(afterRto); // cwnd = 1 SMSS: only the first segment again
        Assert.Equal(Mss, p.Connection.CongestionWindow);
        Assert.Equal(10 * Mss / 2, p.Connection.SlowStartThreshold);

        // A second timeout of the same segment keeps ssthresh (RFC 5681 3.1, equation 4 applies once).
        Data(p.Decode(p.Probe.Advance(TimeSpan.FromSeconds(3))));
        Assert.Equal(10 * Mss / 2, p.Connection.SlowStartThreshold);
    }

    [Fact]
    public void AfterRto_AckForDataSentBeforeGoBackN_IsAccepted_NotAckOfUnsentData()
    {
        // The segments arrived; only their ACKs were late. After the RTO the sender went back to
        // SND.UNA (cwnd 1 SMSS), so the late ACK is above the current SND.NXT but below the
        // highest ever sent: RFC 9293's "ACK of something not yet sent" must not drop it, or the
        // connection stalls behind ever longer RTOs (found with 200 kernel clients under load).
        RawPeer p = Sender(sack: false);
        p.Connection!.Send(new byte[10 * Mss], out _);
        List<SentSegment> burst = Data(p.Decode(p.Probe.Poll()));
        Assert.Equal(10, burst.Count);
        Assert.Single(Data(p.Decode(p.Probe.Advance(TimeSpan.FromSeconds(1.5)))));
        p.Ack(burst[^1].Seq + Mss);
        Assert.Equal(0, p.Probe[Counter.TcpAckOfUnsentData]);
        Assert.Equal(p.Connection.SendBufferSize, p.Connection.SendSpace); // everything acknowledged
    }

    [Fact]
    public void SackRecovery_AcrossSequenceWrap_RetransmitsTheHoleThatStraddles2Pow32()
    {
        // The stack's ISN puts 2^32 inside the third segment of the first burst.
        RawPeer p = Sender(sack: true, stackIss: uint.MaxValue - (2 * Mss) - 100);
        p.Connection!.Send(new byte[40 * Mss], out _);
        List<SentSegment> burst = Data(p.Decode(p.Probe.Poll()));
        SeqNumber una = burst[0].Seq;
        SeqNumber S(int i) => una + (i * Mss);
        Assert.True(S(3).Value < S(2).Value); // raw values wrapped between segments 2 and 3

        var resent = new List<SentSegment>();
        for (int k = 4; k <= 12; k++)
        {
            resent.AddRange(Data(p.Ack(S(2), (S(3), S(k)))));
        }

        Assert.Contains(resent, s => s.Seq == S(2) && s.PayloadLength == Mss);
        Assert.DoesNotContain(resent, s => s.Seq == S(3));
        Assert.Equal(0, p.Probe[Counter.TcpTimeouts]);
    }

    [Fact]
    public void Scoreboard_MergesBoundsAndAdvances_ModuloTwoPow32()
    {
        var board = new SackScoreboard();
        var near = new SeqNumber(uint.MaxValue - 1000);
        Assert.True(board.Add(near + 2000, near + 4000));
        Assert.True(board.Add(near + 500, near + 1500));
        Assert.False(board.Add(near + 600, near + 1400)); // nothing new
        Assert.Equal(3000, board.SackedBytes);
        Assert.Equal(2000, board.SackedAbove(near + 1500));
        Assert.True(board.Add(near + 1500, near + 2000)); // bridges the two ranges
        Assert.Equal(1, board.Count);
        board.AdvanceTo(near + 1000);
        Assert.Equal(3000, board.SackedBytes);
        Assert.Equal(near + 4000, board.HighSack);

        // Bounded: past MaxRanges disjoint ranges, a new one is refused rather than growing the board.
        board.Clear();
        for (int i = 0; i < SackScoreboard.MaxRanges; i++)
        {
            Assert.True(board.Add(near + (i * 100), near + (i * 100) + 10));
        }

        Assert.False(board.Add(near + 100_000, near + 100_010));
        Assert.Equal(SackScoreboard.MaxRanges, board.Count);
    }
}
