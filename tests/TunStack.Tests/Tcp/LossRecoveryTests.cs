// Loss recovery and congestion control, segment by segment with the test as the peer
// (RFC 5681, RFC 6928, RFC 3042, RFC 6582, RFC 6675, RFC 9438, RFC 9406).
using TunStack.Tcp;
using TunStack.Tcp.Recovery;
using TunStack.Links;
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

        // RFC 5681 3.2 step 2-3: the third retransmits the lost segment; ssthresh = FlightSize / 2.
        List<SentSegment> third = Data(p.Ack(lost));
        Assert.Contains(third, s => s.Seq == lost && s.PayloadLength == Mss);
        Assert.True(p.Connection.InRecovery);
        Assert.Equal(12 * Mss / 2, p.Connection.SlowStartThreshold);
        Assert.Equal(1, p.Probe[Counter.TcpFastRecoveries]);

        // The full ACK ends recovery with cwnd = min(ssthresh, FlightSize + SMSS) (RFC 6582 3.2 step 3).
        p.Ack(burst[^1].Seq + (3 * Mss));
        Assert.False(p.Connection.InRecovery);
        Assert.True(p.Connection.CongestionWindow <= p.Connection.SlowStartThreshold);
        Assert.Equal(0, p.Probe[Counter.TcpTimeouts]);
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
        for (int k = 8; k <= 12; k++)
        {
            // More of the window arrives; as the pipe drains, cwnd lets the second hole go (RFC 6675 5 (C)).
            retransmitted.AddRange(Data(p.Ack(una, (S(3), S(k)), (S(1), S(2)))));
        }

        Assert.True(p.Connection.InRecovery);

        // RFC 6675 SetPipe: in flight, less what is SACKed (segment 1 and the run from 3, up to what
        // was sent), the two holes having been retransmitted and so counted again.
        TcpConnectionInfo info = p.Connection.GetInfo();
        Assert.True(info.SackedBytes >= 8 * Mss, $"{info.SackedBytes} SACKed");
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

public class WindowAndBufferTuningTests
{
    [Fact]
    public void ApplicationLimited_SmallRequestsAcked_CwndNotGrown_Rfc7661()
    {
        RawPeer p = RawPeer.Established(sack: true);
        int initial = p.Connection!.CongestionWindow;
        for (int i = 0; i < 200; i++)
        {
            p.Connection.Send(new byte[100], out _);
            SentSegment one = Assert.Single(p.Decode(p.Probe.Poll()), s => s.PayloadLength > 0);
            p.Send(TcpFlags.Ack, p.Nxt, one.Seq + one.PayloadLength);
        }

        // 200 ACKs in slow start would have added 200 * 100 bytes; the flight never used half the window.
        Assert.Equal(initial, p.Connection.CongestionWindow);
    }

    [Fact]
    public void LongFatPath_DefaultBuffers_AutoTuneGrowsBoth_AndTheWindowFillsThePath()
    {
        // 50 ms RTT: 256 KiB windows would cap a connection at about 40 Mbit/s.
        var delay = new Impairment { Delay = TimeSpan.FromMilliseconds(25) };
        var net = new TunStack.Tests.Integration.TwoStacks(wrapA: link => new ImpairedLink(link, delay, delay, 1));
        (_, TcpConnection client, TcpConnection server) = TcpTests.Connected(net);
        Assert.Equal(7, TcpReceiver.ShiftFor(new TcpSettings(), 0)); // scaled for ReceiveBufferMax (4 MiB)
        var data = new byte[24 * 1024 * 1024];
        new Random(3).NextBytes(data);
        Instant start = net.Simulation.Clock.Now;
        byte[] got = TcpTests.Transfer(net.Simulation, client, server, data, TimeSpan.FromMinutes(2));
        TimeSpan took = net.Simulation.Clock.Now - start;
        Assert.Equal(data.Length, got.Length);
        Assert.True(server.ReceiveBufferSize > 1024 * 1024, $"receive buffer {server.ReceiveBufferSize}");
        Assert.True(client.SendBufferSize > 1024 * 1024, $"send buffer {client.SendBufferSize}");
        Assert.True(net.B.Counters[Counter.TcpReceiveBufferGrowths] > 0 && net.A.Counters[Counter.TcpSendBufferGrowths] > 0);
        double mbps = data.Length * 8 / took.TotalSeconds / 1e6;
        Assert.True(mbps > 200, $"{mbps:F0} Mbit/s in virtual time");
    }
}

public class RackTlpAndRtoTests
{
    private const int Mss = 1460;

    // One segment out and acknowledged 10 ms later: SRTT = 10 ms, RTTVAR = 5 ms, min RTT 10 ms.
    private static RawPeer WithRtt10ms()
    {
        RawPeer p = RawPeer.Established(sack: true);
        p.Connection!.Send(new byte[100], out _);
        SentSegment one = Assert.Single(Data(p.Decode(p.Probe.Poll())));
        p.Probe.Advance(TimeSpan.FromMilliseconds(10));
        p.Ack(one.Seq + one.PayloadLength);
        Assert.Equal(10, p.Connection.SmoothedRtt.TotalMilliseconds, 3);
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
