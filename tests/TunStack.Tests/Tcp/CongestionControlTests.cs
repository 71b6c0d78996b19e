// The congestion controllers against their RFC equations, driven by a synthetic ACK clock.
using TunStack.Tcp.Congestion;

namespace TunStack.Tests.Tcp;

public class CongestionControlTests
{
    private const int Mss = 1000;

    // Acknowledges a window's worth of segments once per RTT from `from` to `to`.
    private static Instant AckEveryRtt(CongestionControl cc, Instant from, TimeSpan to, TimeSpan rtt)
    {
        Instant now = from;
        while (now - from < to)
        {
            int segments = cc.Cwnd / Mss;
            for (int i = 0; i < segments; i++)
            {
                cc.OnAck(Mss, now, rtt, rtt, roundEnd: i == segments - 1);
            }

            now += rtt;
        }

        return now;
    }

    [Fact]
    public void Cubic_SlowStartOneAckForFortyFiveSegments_WindowGrowsByAllOfThem_Rfc9406_4_2()
    {
        // A receiver that ACKs a GRO-merged 64 KiB (or a receive batch) once: slow start counts
        // every acknowledged byte, so the window still doubles per round.
        var cc = new CubicCongestionControl(Mss);
        int before = cc.Cwnd;
        cc.OnAck(45 * Mss, Instant.FromMilliseconds(10), TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(10), roundEnd: false);
        Assert.Equal(before + (45 * Mss), cc.Cwnd);
    }

    [Fact]
    public void Cubic_LossAt100Segments_WindowBecomes70_AndKIsCbrtOfWmaxTimes0Point3Over0Point4_Rfc9438()
    {
        var cc = new CubicCongestionControl(Mss);
        cc.Restore(100 * Mss, 50 * Mss);
        cc.OnLoss(100 * Mss, Instant.Zero);
        Assert.Equal(70 * Mss, cc.Cwnd);                 // RFC 9438 4.6: beta_cubic = 0.7
        Assert.Equal(70 * Mss, cc.Ssthresh);
        Assert.Equal(100, cc.WMax, 6);
        Assert.Equal(Math.Cbrt(100 * 0.3 / 0.4), cc.K, 6); // RFC 9438 eq. 2: K = cbrt(W_max (1 - beta) / C)
        Assert.Equal(70, cc.WCubic(0), 6);                // W_cubic(0) = beta * W_max
        Assert.Equal(100, cc.WCubic(cc.K), 6);            // W_cubic(K) = W_max
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(3.0)]
    [InlineData(6.0)]
    public void Cubic_ConcaveThenConvexGrowth_FollowsWcubicOfT_Rfc9438(double seconds)
    {
        // A long RTT puts CUBIC in its own region rather than the Reno-friendly one (RFC 9438 4.3).
        TimeSpan rtt = TimeSpan.FromMilliseconds(100);
        var cc = new CubicCongestionControl(Mss);
        cc.Restore(100 * Mss, 50 * Mss);
        cc.OnLoss(100 * Mss, Instant.Zero);
        AckEveryRtt(cc, Instant.Zero, TimeSpan.FromSeconds(seconds), rtt);
        double expected = cc.WCubic(seconds);
        double actual = (double)cc.Cwnd / Mss;
        Assert.InRange(actual, expected * 0.93, expected * 1.07);
    }

    [Fact]
    public void Cubic_FastConvergence_SecondLossBelowPreviousWmax_LowersWmax_Rfc9438_4_7()
    {
        var cc = new CubicCongestionControl(Mss);
        cc.Restore(100 * Mss, 50 * Mss);
        cc.OnLoss(100 * Mss, Instant.Zero);
        cc.Restore(80 * Mss, cc.Ssthresh);
        cc.OnLoss(80 * Mss, Instant.Zero + TimeSpan.FromSeconds(1));
        Assert.Equal(80 * (1 + 0.7) / 2, cc.WMax, 6);
    }

    [Fact]
    public void NewReno_CongestionAvoidance_OneSmssPerRtt_HalvesOnLoss_Rfc5681()
    {
        var cc = new NewRenoCongestionControl(Mss);
        cc.Restore(20 * Mss, 10 * Mss); // above ssthresh: congestion avoidance
        AckEveryRtt(cc, Instant.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(100));
        Assert.Equal(30 * Mss, cc.Cwnd); // +1 SMSS per RTT for 10 RTTs
        cc.OnLoss(30 * Mss, Instant.Zero);
        Assert.Equal(15 * Mss, cc.Ssthresh);
        Assert.Equal(15 * Mss, cc.Cwnd);
    }

    [Fact]
    public void HyStartPlusPlus_RttRisesByMoreThanThreshold_ConservativeSlowStart_ThenAvoidanceAfterFiveRounds_Rfc9406()
    {
        var cc = new CubicCongestionControl(Mss);
        TimeSpan baseRtt = TimeSpan.FromMilliseconds(100);
        Instant now = Instant.Zero;

        // Round 1 at the base RTT: plain slow start, the window doubles.
        int before = cc.Cwnd;
        now = AckEveryRtt(cc, now, baseRtt, baseRtt);
        Assert.Equal(2 * before, cc.Cwnd);
        Assert.False(cc.InConservativeSlowStart);

        // Round 2 with RTT up by 20 ms (> clamp(100/8, 4, 16) = 12.5 ms): conservative slow start.
        TimeSpan queued = baseRtt + TimeSpan.FromMilliseconds(20);
        AckEveryRtt(cc, now, queued, queued);
        Assert.True(cc.InSlowStart);
        now += queued;
        int cssStart = cc.Cwnd;

        // CSS grows a quarter as fast; CSS_ROUNDS = 5 rounds (the one CSS began in counts) lead to
        // congestion avoidance with ssthresh = cwnd.
        for (int round = 0; round < 3; round++)
        {
            now = AckEveryRtt(cc, now, queued, queued);
            Assert.True(cc.InSlowStart);
        }

        now = AckEveryRtt(cc, now, queued, queued);
        Assert.False(cc.InSlowStart);
        Assert.Equal(cc.Cwnd, cc.Ssthresh);
        Assert.True(cc.Cwnd < cssStart * 3, "CSS grows 1.25x per round (slow start would be 16x over four rounds)");
    }

    // One ACK of `segments` in slow start with Linux's per-ACK RTT sample.
    private static void AckWithDeliveredRtt(CubicCongestionControl cc, int segments, Instant now, TimeSpan rtt, bool roundEnd)
        => cc.OnAck(new CongestionAck { AckedBytes = segments * Mss, Now = now, DeliveredRtt = rtt, MinRtt = rtt, RoundEnd = roundEnd, WindowMayGrow = true });

    [Fact]
    public void LinuxHyStart_RoundsFirstEightSamplesAboveMinRttByAnEighth_NinthSampleEndsSlowStartAtCwnd_TcpCubicHystartDelay()
    {
        // packetdrill's cubic-hystart-delay-rtt-jumps-upward: min RTT 200 ms; a round whose RTT
        // samples are 240 ms (> 200 + clamp(200/8, 4, 16) ms) leaves slow start at its 9th sample.
        var cc = new CubicCongestionControl(Mss) { LinuxHyStart = true };
        Instant now = Instant.Zero + TimeSpan.FromMilliseconds(400);
        AckWithDeliveredRtt(cc, 10, now, TimeSpan.FromMilliseconds(200), roundEnd: true); // below 16 segments: no HyStart, cwnd 20
        Assert.Equal(20 * Mss, cc.Cwnd);

        now += TimeSpan.FromMilliseconds(240);
        for (int sample = 1; sample <= 8; sample++)
        {
            AckWithDeliveredRtt(cc, 2, now, TimeSpan.FromMilliseconds(240 + sample - 1), roundEnd: sample == 1);
            Assert.True(cc.InSlowStart);
            now += TimeSpan.FromMilliseconds(1);
        }

        Assert.Equal(36 * Mss, cc.Cwnd);
        AckWithDeliveredRtt(cc, 2, now, TimeSpan.FromMilliseconds(248), roundEnd: false);
        Assert.False(cc.InSlowStart);
        Assert.Equal(36 * Mss, cc.Ssthresh); // ssthresh = cwnd before this ACK's growth
        Assert.Equal(36 * Mss, cc.Cwnd);
    }

    [Fact]
    public void LinuxHyStart_RttSteady_SlowStartContinues_WhereHyStartPlusPlusWouldBeIrrelevant()
    {
        var cc = new CubicCongestionControl(Mss) { LinuxHyStart = true };
        Instant now = Instant.Zero;
        for (int ack = 0; ack < 40; ack++)
        {
            AckWithDeliveredRtt(cc, 2, now, TimeSpan.FromMilliseconds(200), roundEnd: ack % 10 == 0);
            now += TimeSpan.FromMilliseconds(1);
        }

        Assert.True(cc.InSlowStart);
        Assert.Equal(90 * Mss, cc.Cwnd);
    }

    [Fact]
    public void LinuxCongestionAvoidance_AfterTimeoutForgotWMax_OneSegmentPerTwentyAckedUntilRenoFriendlyOvertakes_TcpCubicBictcpUpdate()
    {
        // packetdrill's cubic-rto-ss-ca-cwnd-bump: ssthresh 7 from a window of 10 at the timeout,
        // slow start back to 7, then one-segment ACKs 2 ms apart with a 98 ms gap every seventh.
        // Linux's epoch after a timeout has no W_max, so ca->cnt is capped at 20; it is recomputed
        // only on the ACKs after a gap; at the 16th ACK the Reno-friendly window (one per 13
        // acknowledged) is 8 and cnt falls to 7: cwnd becomes 8 there.
        var cc = new CubicCongestionControl(Mss) { LinuxHyStart = true, LinuxCongestionAvoidance = true, SsthreshFromCwnd = true };
        Instant now = Instant.Zero + TimeSpan.FromSeconds(1);
        cc.OnRetransmitTimeout(Mss, now, firstInEpisode: true);
        Assert.Equal(7 * Mss, cc.Ssthresh);
        cc.Restore(7 * Mss, 7 * Mss);

        int[] gapsMs = [2, 98, 2, 2, 2, 2, 2, 2, 98, 2, 2, 2, 2, 2, 2, 98];
        for (int ack = 1; ack <= gapsMs.Length; ack++)
        {
            now += TimeSpan.FromMilliseconds(gapsMs[ack - 1]);
            AckWithDeliveredRtt(cc, 1, now, TimeSpan.FromMilliseconds(100), roundEnd: false);
            Assert.Equal(ack < 16 ? 7 * Mss : 8 * Mss, cc.Cwnd);
        }
    }

    [Fact]
    public void Rfc9438CongestionAvoidance_SameAcks_RenoFriendlyEstimateGrowsCwndSooner()
    {
        var cc = new CubicCongestionControl(Mss) { LinuxHyStart = true, SsthreshFromCwnd = true };
        Instant now = Instant.Zero + TimeSpan.FromSeconds(1);
        cc.OnRetransmitTimeout(Mss, now, firstInEpisode: true);
        cc.Restore(7 * Mss, 7 * Mss);
        for (int ack = 1; ack <= 15; ack++)
        {
            now += TimeSpan.FromMilliseconds(2);
            AckWithDeliveredRtt(cc, 1, now, TimeSpan.FromMilliseconds(100), roundEnd: false);
        }

        Assert.True(cc.Cwnd > 7 * Mss);
    }

    [Theory]
    [InlineData(36, 2000, 300, 10)]  // idle for many RTOs: halved to 18, 9, then back up to the restart window IW
    [InlineData(36, 500, 300, 18)]   // one RTO past the first: halved once
    [InlineData(8, 2000, 300, 8)]    // below IW already: RW = min(IW, cwnd) keeps it
    public void IdleRestart_IdleForSeveralRtos_CwndHalvesPerRtoDownToRestartWindow_Rfc5681Sec4_1_TcpCwndRestart(int cwndSegments, int idleMs, int rtoMs, int expectedSegments)
    {
        var cc = new NewRenoCongestionControl(Mss);
        cc.Restore(cwndSegments * Mss, int.MaxValue / 2);
        cc.RestartWindowAfterIdle(TimeSpan.FromMilliseconds(idleMs), TimeSpan.FromMilliseconds(rtoMs));
        Assert.Equal(expectedSegments * Mss, cc.Cwnd);
        Assert.Equal(int.MaxValue / 2, cc.Ssthresh); // tcp_current_ssthresh: max(ssthresh, 3/4 cwnd)
    }

    [Fact]
    public void InitialWindow_Rfc6928_Examples()
    {
        Assert.Equal(14600, CongestionControl.InitialWindow(1460));
        Assert.Equal(17920, CongestionControl.InitialWindow(8960)); // min(89600, max(17920, 14600))
        Assert.Equal(5360, CongestionControl.InitialWindow(536));   // min(5360, max(1072, 14600))
    }
}
