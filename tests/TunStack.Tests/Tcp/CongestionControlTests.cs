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

    [Fact]
    public void InitialWindow_Rfc6928_Examples()
    {
        Assert.Equal(14600, CongestionControl.InitialWindow(1460));
        Assert.Equal(17920, CongestionControl.InitialWindow(8960)); // min(89600, max(17920, 14600))
        Assert.Equal(5360, CongestionControl.InitialWindow(536));   // min(5360, max(1072, 14600))
    }
}
