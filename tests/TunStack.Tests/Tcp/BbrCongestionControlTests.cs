// BBRv1 against draft-cardwell-iccrg-bbr-congestion-control-00, driven by synthetic ACKs that each
// end a round (a segment sent after the previous round began is delivered) on a virtual clock.
using TunStack.Tcp.Congestion;

namespace TunStack.Tests.Tcp;

public class BbrCongestionControlTests
{
    private const int Mss = 1000;
    private static readonly TimeSpan Rtt = TimeSpan.FromMilliseconds(100);

    // Feeds a connection's ACKs: each one a round, with a delivery-rate sample of `rate` bytes/s.
    private sealed class AckFeed
    {
        private long _delivered;

        public AckFeed(BbrCongestionControl bbr) => Bbr = bbr;

        public BbrCongestionControl Bbr { get; }

        public Instant Now { get; set; } = Instant.FromMilliseconds(1000);

        public void Ack(double rate, int inflight, TimeSpan? rtt = null, int acked = 10 * Mss, int priorInflight = -1, int lost = 0, bool appLimited = false, TimeSpan? advance = null)
        {
            Now += advance ?? Rtt;
            long prior = _delivered;
            _delivered += acked;
            Bbr.OnAck(new CongestionAck
            {
                AckedBytes = acked,
                Now = Now,
                RttSample = rtt ?? Rtt,
                MinRtt = Rtt,
                BytesInFlight = inflight,
                PriorBytesInFlight = priorInflight < 0 ? inflight + acked : priorInflight,
                LostBytes = lost,
                Rate = new DeliveryRateSample { IsValid = true, BytesPerSecond = rate, Delivered = acked, Interval = Rtt, PriorDelivered = prior, TotalDelivered = _delivered, IsAppLimited = appLimited },
            });
        }

        // Startup with a doubling rate, then `rate` until the pipe is full (three rounds without 25% growth).
        public void FillPipe(double rate, int inflight)
        {
            for (double r = rate / 16; r < rate; r *= 2)
            {
                Ack(r, inflight);
            }

            while (!Bbr.FilledPipe)
            {
                Ack(rate, inflight);
            }
        }
    }

    private static AckFeed InProbeBw(double rate, int seed = 1)
    {
        var feed = new AckFeed(new BbrCongestionControl(Mss, new Random(seed)));
        feed.FillPipe(rate, inflight: 100 * Mss);
        feed.Ack(rate, inflight: feed.Bbr.Inflight(1)); // Drain ends at one BDP
        Assert.Equal(BbrCongestionControl.Mode.ProbeBw, feed.Bbr.State);
        return feed;
    }

    [Fact]
    public void Startup_BtlBwStopsGrowing_LeavesStartupAfterTheThirdRoundWithoutGrowth_NotBefore()
    {
        var feed = new AckFeed(new BbrCongestionControl(Mss, new Random(1)));
        Assert.Equal(BbrCongestionControl.Mode.Startup, feed.Bbr.State);
        Assert.Equal(BbrCongestionControl.HighGain, feed.Bbr.PacingGain);
        Assert.Equal(BbrCongestionControl.HighGain, feed.Bbr.CwndGain);
        foreach (double rate in new[] { 100_000.0, 200_000, 400_000, 800_000 })
        {
            feed.Ack(rate, inflight: 50 * Mss);
        }

        // 20% more: less than the 25% that counts as growth.
        feed.Ack(960_000, inflight: 50 * Mss);
        feed.Ack(960_000, inflight: 50 * Mss);
        Assert.Equal(BbrCongestionControl.Mode.Startup, feed.Bbr.State);
        Assert.False(feed.Bbr.FilledPipe);

        feed.Ack(960_000, inflight: 500 * Mss); // the third round without 25% growth; the flight is above one BDP
        Assert.True(feed.Bbr.FilledPipe);
        Assert.Equal(BbrCongestionControl.Mode.Drain, feed.Bbr.State);
        Assert.Equal(BbrCongestionControl.DrainGain, feed.Bbr.PacingGain, 9);
        Assert.Equal(960_000, feed.Bbr.BtlBw);
    }

    [Fact]
    public void Startup_AppLimitedRoundsWithoutGrowth_DoNotCountTowardsAFullPipe()
    {
        var feed = new AckFeed(new BbrCongestionControl(Mss, new Random(1)));
        feed.Ack(100_000, inflight: 10 * Mss);
        for (int i = 0; i < 5; i++)
        {
            feed.Ack(100_000, inflight: 10 * Mss, appLimited: true);
        }

        Assert.False(feed.Bbr.FilledPipe);
        Assert.Equal(BbrCongestionControl.Mode.Startup, feed.Bbr.State);
    }

    [Fact]
    public void Drain_FlightAboveBdp_StaysInDrain_FlightAtBdp_EntersProbeBwAtGainOneOrMore()
    {
        var feed = new AckFeed(new BbrCongestionControl(Mss, new Random(1)));
        feed.FillPipe(1_000_000, inflight: 300 * Mss);
        Assert.Equal(BbrCongestionControl.Mode.Drain, feed.Bbr.State);
        int bdp = feed.Bbr.Inflight(1);
        Assert.Equal(100_000, bdp); // 1 MB/s x 100 ms

        feed.Ack(1_000_000, inflight: bdp + Mss);
        Assert.Equal(BbrCongestionControl.Mode.Drain, feed.Bbr.State);
        Assert.Equal(1_000_000 * BbrCongestionControl.DrainGain, feed.Bbr.PacingRate, 3);

        feed.Ack(1_000_000, inflight: bdp);
        Assert.Equal(BbrCongestionControl.Mode.ProbeBw, feed.Bbr.State);
        Assert.Equal(BbrCongestionControl.ProbeBwCwndGain, feed.Bbr.CwndGain);
        Assert.NotEqual(0.75, feed.Bbr.PacingGain); // the draft never starts ProbeBW in the draining phase
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ProbeBw_EachPhaseAnRtprop_GainsCycle125Then075ThenSixOnes(int seed)
    {
        AckFeed feed = InProbeBw(1_000_000, seed);
        int bdp = feed.Bbr.Inflight(1);
        var gains = new List<double>();
        for (int i = 0; i < 16; i++)
        {
            // Longer than RTprop per ACK; the probing phase's flight reaches 1.25 BDP.
            feed.Ack(1_000_000, inflight: bdp, priorInflight: feed.Bbr.Inflight(1.25), advance: Rtt + TimeSpan.FromMilliseconds(1));
            gains.Add(feed.Bbr.PacingGain);
        }

        int start = gains.IndexOf(1.25);
        Assert.InRange(start, 0, 7);
        double[] cycle = [1.25, 0.75, 1, 1, 1, 1, 1, 1];
        for (int i = start; i < gains.Count; i++)
        {
            Assert.Equal(cycle[(i - start) % 8], gains[i]);
        }

        Assert.Equal(1_000_000 * 1.25, ProbingRate(feed, bdp), 3);
    }

    // The pacing rate in the probing phase.
    private static double ProbingRate(AckFeed feed, int bdp)
    {
        while (feed.Bbr.PacingGain != 1.25)
        {
            feed.Ack(1_000_000, inflight: bdp, priorInflight: feed.Bbr.Inflight(1.25), advance: Rtt + TimeSpan.FromMilliseconds(1));
        }

        return feed.Bbr.PacingRate;
    }

    [Fact]
    public void ProbeBw_ProbingPhaseFlightBelowOneAndAQuarterBdp_PhaseLastsUntilTheFlightGetsThereOrALoss()
    {
        AckFeed feed = InProbeBw(1_000_000);
        int bdp = feed.Bbr.Inflight(1);
        ProbingRate(feed, bdp);
        feed.Ack(1_000_000, inflight: bdp, priorInflight: bdp, advance: Rtt * 3);
        Assert.Equal(1.25, feed.Bbr.PacingGain);

        feed.Ack(1_000_000, inflight: bdp, priorInflight: bdp, lost: Mss, advance: Rtt * 3);
        Assert.Equal(0.75, feed.Bbr.PacingGain);
    }

    [Fact]
    public void ProbeBw_TenSecondsWithoutALowerRtt_EntersProbeRtt_HoldsFourSegmentsFor200msAndARound_ThenBack()
    {
        AckFeed feed = InProbeBw(1_000_000);
        Instant minSetAt = feed.Now;
        int bdp = feed.Bbr.Inflight(1);
        int cwndBefore = feed.Bbr.Cwnd;
        TimeSpan higher = TimeSpan.FromMilliseconds(130);
        while (feed.Now - minSetAt <= BbrCongestionControl.RtpropWindow)
        {
            Assert.NotEqual(BbrCongestionControl.Mode.ProbeRtt, feed.Bbr.State);
            feed.Ack(1_000_000, inflight: bdp, rtt: higher, advance: TimeSpan.FromMilliseconds(500));
        }

        Assert.Equal(BbrCongestionControl.Mode.ProbeRtt, feed.Bbr.State);
        Assert.Equal(BbrCongestionControl.MinPipeSegments * Mss, feed.Bbr.Cwnd);
        Assert.Equal(1, feed.Bbr.PacingGain);
        Assert.True(feed.Bbr.SamplesAreAppLimited); // draft 4.3.5: ProbeRTT's low rate is not the path's

        // The flight drains to four segments: 200 ms start now.
        feed.Ack(1_000_000, inflight: 4 * Mss, rtt: Rtt, advance: TimeSpan.FromMilliseconds(10));
        Instant drained = feed.Now;
        feed.Ack(1_000_000, inflight: 4 * Mss, rtt: Rtt, advance: TimeSpan.FromMilliseconds(100)); // a round, but not 200 ms
        Assert.Equal(BbrCongestionControl.Mode.ProbeRtt, feed.Bbr.State);
        feed.Ack(1_000_000, inflight: 4 * Mss, rtt: Rtt, advance: TimeSpan.FromMilliseconds(101));
        Assert.True(feed.Now - drained > BbrCongestionControl.ProbeRttDuration);
        Assert.Equal(BbrCongestionControl.Mode.ProbeBw, feed.Bbr.State);
        Assert.False(feed.Bbr.SamplesAreAppLimited);
        Assert.True(feed.Bbr.Cwnd >= cwndBefore, $"cwnd {feed.Bbr.Cwnd} restored to at least {cwndBefore}");
    }

    [Fact]
    public void ProbeBw_ALowerRttWithinTenSeconds_RestartsTheWindow_NoProbeRtt()
    {
        AckFeed feed = InProbeBw(1_000_000);
        int bdp = feed.Bbr.Inflight(1);
        for (int i = 0; i < 30; i++)
        {
            TimeSpan rtt = i % 10 == 9 ? Rtt - TimeSpan.FromMilliseconds(1 + i) : Rtt + TimeSpan.FromMilliseconds(30);
            feed.Ack(1_000_000, inflight: bdp, rtt: rtt, advance: TimeSpan.FromMilliseconds(500));
            Assert.NotEqual(BbrCongestionControl.Mode.ProbeRtt, feed.Bbr.State);
        }
    }

    [Fact]
    public void ProbeBw_RestartFromIdleInAnyPhase_PacesAtExactlyBtlBw()
    {
        AckFeed feed = InProbeBw(1_000_000);
        int bdp = feed.Bbr.Inflight(1);
        while (feed.Bbr.PacingGain != 1.25)
        {
            feed.Ack(1_000_000, inflight: bdp);
        }

        Assert.Equal(1.25 * feed.Bbr.BtlBw, feed.Bbr.PacingRate, 3);
        feed.Bbr.OnRestartFromIdle(feed.Now + TimeSpan.FromSeconds(2));
        Assert.Equal(feed.Bbr.BtlBw, feed.Bbr.PacingRate, 3);
    }

    [Fact]
    public void Startup_RestartFromIdle_PacingRateUnchanged()
    {
        var feed = new AckFeed(new BbrCongestionControl(Mss, new Random(1)));
        feed.Ack(100_000, inflight: 10 * Mss);
        double before = feed.Bbr.PacingRate;
        feed.Bbr.OnRestartFromIdle(feed.Now + TimeSpan.FromSeconds(1));
        Assert.Equal(BbrCongestionControl.Mode.Startup, feed.Bbr.State);
        Assert.Equal(before, feed.Bbr.PacingRate);
    }

    [Fact]
    public void ProbeBw_RtpropExpiresOnTheFirstAckAfterAnIdleRestart_NoProbeRtt_TheNewSampleIsTaken()
    {
        AckFeed feed = InProbeBw(1_000_000);
        int bdp = feed.Bbr.Inflight(1);
        Instant minSetAt = feed.Now;

        // Idle for longer than the RTprop window, then a send and its ACK with a higher RTT.
        feed.Now = minSetAt + BbrCongestionControl.RtpropWindow + TimeSpan.FromSeconds(1);
        feed.Bbr.OnRestartFromIdle(feed.Now);
        TimeSpan higher = TimeSpan.FromMilliseconds(130);
        feed.Ack(1_000_000, inflight: bdp, rtt: higher, appLimited: true, advance: higher);

        Assert.Equal(BbrCongestionControl.Mode.ProbeBw, feed.Bbr.State);
        Assert.Equal(higher, feed.Bbr.Rtprop);
    }

    [Fact]
    public void Recovery_FirstRound_PacketConservation_ThenRecoveryEnd_RestoresTheWindow()
    {
        AckFeed feed = InProbeBw(1_000_000);
        int bdp = feed.Bbr.Inflight(1);
        feed.Ack(1_000_000, inflight: bdp);
        int before = feed.Bbr.Cwnd;

        feed.Bbr.OnLoss(bdp, feed.Now);
        Assert.Equal(bdp + Mss, feed.Bbr.Cwnd); // what is in flight, plus the retransmission

        feed.Ack(1_000_000, inflight: bdp - (20 * Mss), acked: 2 * Mss, advance: TimeSpan.FromMilliseconds(1));
        Assert.Equal(bdp + Mss, feed.Bbr.Cwnd); // never below flight + delivered

        feed.Bbr.OnRecoveryEnd();
        Assert.Equal(before, feed.Bbr.Cwnd);
        Assert.False(feed.Bbr.UsesProportionalRateReduction);
    }

    [Fact]
    public void BtlBwFilter_MaxOfTenRounds_ForgetsARoundsMaximumTenRoundsLater()
    {
        var filter = new WindowedMaxFilter(BbrCongestionControl.BtlBwFilterRounds);
        filter.Update(900, round: 1);
        for (long round = 2; round <= 10; round++)
        {
            filter.Update(100, round);
            Assert.Equal(900, filter.Best);
        }

        filter.Update(100, round: 11);
        Assert.Equal(100, filter.Best);
    }

    [Fact]
    public void RtpropFilter_HigherSampleWithinTenSeconds_Ignored_AfterTenSeconds_Taken()
    {
        var filter = new WindowedMinFilter(BbrCongestionControl.RtpropWindow);
        Instant t0 = Instant.FromMilliseconds(1000);
        filter.Refresh(t0);
        filter.Update(TimeSpan.FromMilliseconds(50), t0);
        Assert.False(filter.Update(TimeSpan.FromMilliseconds(80), t0 + TimeSpan.FromSeconds(9)));
        Assert.Equal(TimeSpan.FromMilliseconds(50), filter.Value);
        Assert.True(filter.Update(TimeSpan.FromMilliseconds(80), t0 + TimeSpan.FromSeconds(11)));
        Assert.Equal(TimeSpan.FromMilliseconds(80), filter.Value);
    }
}
