// draft-cheng-iccrg-delivery-rate-estimation over the sent-segment log, on a virtual clock.
using TunStack.Tcp.Congestion;
using TunStack.Tcp.Recovery;
using TunStack.Wire;

namespace TunStack.Tests.Tcp;

public class DeliveryRateEstimatorTests
{
    private const int Mss = 1000;

    private static void Send(SentSegments log, DeliveryRateEstimator rate, SeqNumber seq, Instant now, bool flightEmpty)
    {
        Assert.True(log.Append(seq, Mss, now));
        rate.OnSent(ref log[log.Count - 1], flightEmpty, now);
    }

    [Fact]
    public void TenSegmentsSentAtOnce_AckedOneEveryMillisecond_RateIsTheAckRate_NotTheBurstRate()
    {
        var log = new SentSegments(64);
        var rate = new DeliveryRateEstimator();
        var seq = new SeqNumber(1000);
        Instant t0 = Instant.FromMilliseconds(100);
        for (int i = 0; i < 10; i++)
        {
            Send(log, rate, seq + (i * Mss), t0, flightEmpty: i == 0);
        }

        // 50 ms later the ACKs come one per millisecond: a 1 MB/s bottleneck.
        DeliveryRateSample last = default;
        for (int i = 1; i <= 10; i++)
        {
            Instant now = t0 + TimeSpan.FromMilliseconds(50 + i);
            log.AckTo(seq + (i * Mss), e => rate.OnDelivered(e, now));
            last = rate.TakeSample(TimeSpan.FromMilliseconds(10));
        }

        // The last ACK: 10 segments delivered since the first was sent, over 60 ms of ack interval.
        Assert.True(last.IsValid);
        Assert.Equal(10 * Mss, last.Delivered);
        Assert.Equal(TimeSpan.FromMilliseconds(60), last.Interval);
        Assert.Equal(10 * Mss / 0.060, last.BytesPerSecond, 6);
        Assert.Equal(0, last.PriorDelivered);
        Assert.Equal(10 * Mss, last.TotalDelivered);
    }

    [Fact]
    public void SecondFlight_SampleSpansFromTheNewestDeliveredSegment_AndIsMarkedAppLimitedWhenSentSo()
    {
        var log = new SentSegments(64);
        var rate = new DeliveryRateEstimator();
        var seq = new SeqNumber(1);
        Instant t0 = Instant.FromMilliseconds(0);
        Send(log, rate, seq, t0, flightEmpty: true);
        Instant t1 = t0 + TimeSpan.FromMilliseconds(20);
        log.AckTo(seq + Mss, e => rate.OnDelivered(e, t1));
        rate.TakeSample(TimeSpan.FromMilliseconds(20));

        rate.OnSendingStopped(pipe: 0, cwnd: 10 * Mss, lostWaiting: 0); // nothing more to send
        Assert.True(rate.AppLimited);
        Send(log, rate, seq + Mss, t1, flightEmpty: true);
        Instant t2 = t1 + TimeSpan.FromMilliseconds(20);
        log.AckTo(seq + (2 * Mss), e => rate.OnDelivered(e, t2));
        DeliveryRateSample sample = rate.TakeSample(TimeSpan.FromMilliseconds(20));
        Assert.True(sample.IsAppLimited);
        Assert.True(sample.IsValid);
        Assert.Equal(Mss, sample.Delivered);
        Assert.Equal(Mss, sample.PriorDelivered);
        Assert.False(rate.AppLimited); // the application-limited flight has been delivered
    }

    [Fact]
    public void CwndLimitedFlight_MarkedAppLimitedByTheController_ItsSamplesAreAppLimitedUntilDelivered()
    {
        var log = new SentSegments(64);
        var rate = new DeliveryRateEstimator();
        var seq = new SeqNumber(1);
        Instant t0 = Instant.FromMilliseconds(0);
        Send(log, rate, seq, t0, flightEmpty: true);
        rate.OnSendingStopped(pipe: Mss, cwnd: Mss, lostWaiting: 0); // cwnd-limited: not the application's doing
        Assert.False(rate.AppLimited);

        rate.MarkAppLimited(pipe: Mss); // BBR's ProbeRTT
        Assert.True(rate.AppLimited);
        Send(log, rate, seq + Mss, t0 + TimeSpan.FromMilliseconds(1), flightEmpty: false);
        Instant t1 = t0 + TimeSpan.FromMilliseconds(30);
        log.AckTo(seq + (2 * Mss), e => rate.OnDelivered(e, t1));
        DeliveryRateSample sample = rate.TakeSample(TimeSpan.FromMilliseconds(20));
        Assert.True(sample.IsAppLimited);
        Assert.False(rate.AppLimited); // the marked flight has been delivered
    }

    [Fact]
    public void IntervalShorterThanMinRtt_SampleNotValid()
    {
        var log = new SentSegments(64);
        var rate = new DeliveryRateEstimator();
        var seq = new SeqNumber(1);
        Send(log, rate, seq, Instant.FromMilliseconds(0), flightEmpty: true);
        Instant now = Instant.FromMilliseconds(5);
        log.AckTo(seq + Mss, e => rate.OnDelivered(e, now));
        Assert.False(rate.TakeSample(TimeSpan.FromMilliseconds(20)).IsValid);
    }
}
