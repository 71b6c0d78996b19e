// draft-cheng-iccrg-delivery-rate-estimation: every transmission records how much the connection
// had delivered and when; every ACK takes, from the most recently sent segment it delivered, the
// data delivered since that segment went out, over the longer of its send and ack intervals.
using TunStack.Tcp.Recovery;

namespace TunStack.Tcp.Congestion;

/// <summary>One connection's delivery-rate estimator, over the marks in its <see cref="SentSegments"/> log.</summary>
internal sealed class DeliveryRateEstimator
{
    // C.app_limited of the draft: nonzero while sending is application-limited, until the data in
    // flight when that was noticed has been delivered.
    private long _appLimitedUntil;

    // The sample being gathered from the segments the current ACK delivers.
    private bool _sampled;
    private long _priorDelivered;
    private TimeSpan _sendElapsed;
    private TimeSpan _ackElapsed;
    private bool _sampleAppLimited;

    /// <summary>C.delivered: bytes delivered (cumulatively acknowledged or SACKed) since the connection opened.</summary>
    public long Delivered { get; private set; }

    /// <summary>C.delivered_time: when <see cref="Delivered"/> last grew.</summary>
    public Instant DeliveredAt { get; private set; }

    /// <summary>C.first_sent_time: the send time of the segment that started the current sampling interval.</summary>
    public Instant FirstSentAt { get; private set; }

    /// <summary>True while sending is marked application-limited.</summary>
    public bool AppLimited => _appLimitedUntil != 0;

    /// <summary>
    /// A segment is (re)sent: stamps <paramref name="e"/> with the connection's delivery state. With
    /// nothing in flight the sampling interval starts afresh now (the draft's "no packets in flight").
    /// </summary>
    public void OnSent(ref SentSegments.Entry e, bool flightEmpty, Instant now)
    {
        if (flightEmpty)
        {
            FirstSentAt = now;
            DeliveredAt = now;
        }

        e.Delivered = Delivered;
        e.DeliveredAt = DeliveredAt;
        e.FirstSentAt = FirstSentAt;
        e.Marks = _appLimitedUntil != 0 ? e.Marks | SentSegments.Marks.AppLimited : e.Marks & ~SentSegments.Marks.AppLimited;
    }

    /// <summary>A segment was newly delivered (cumulatively acknowledged or SACKed) at <paramref name="now"/>.</summary>
    public void OnDelivered(in SentSegments.Entry e, Instant now)
    {
        Delivered += e.Length;
        DeliveredAt = now;

        // The most recently sent of the delivered segments (the largest delivered count) sets the sample.
        if (!_sampled || e.Delivered >= _priorDelivered)
        {
            _sampled = true;
            _priorDelivered = e.Delivered;
            _sampleAppLimited = e.Is(SentSegments.Marks.AppLimited);
            _sendElapsed = e.SentAt - e.FirstSentAt;
            _ackElapsed = now - e.DeliveredAt;
            FirstSentAt = e.SentAt;
        }
    }

    /// <summary>
    /// The draft's check for an application-limited sender: nothing more to send, less than cwnd
    /// in flight, nothing lost waiting for retransmission. The mark lasts until what is in flight now is delivered.
    /// </summary>
    public void OnSendingStopped(int pipe, int cwnd, int lostWaiting)
    {
        if (pipe < cwnd && lostWaiting == 0)
        {
            _appLimitedUntil = Math.Max(Delivered + pipe, 1);
        }
    }

    /// <summary>Marks what is in flight now application-limited whatever the sender is doing (BBR's ProbeRTT, whose low rate says nothing of the path).</summary>
    public void MarkAppLimited(int pipe) => _appLimitedUntil = Math.Max(Delivered + pipe, 1);

    /// <summary>The sample of the ACK just processed (then gathering starts over for the next one).</summary>
    public DeliveryRateSample TakeSample(TimeSpan minRtt)
    {
        if (_appLimitedUntil != 0 && Delivered > _appLimitedUntil)
        {
            _appLimitedUntil = 0; // the application-limited flight has been delivered
        }

        if (!_sampled)
        {
            return new DeliveryRateSample { PriorDelivered = -1, TotalDelivered = Delivered };
        }

        _sampled = false;
        long delivered = Delivered - _priorDelivered;
        TimeSpan interval = _sendElapsed > _ackElapsed ? _sendElapsed : _ackElapsed;

        // Draft 3.3: an interval shorter than the minimum RTT says ACKs were compressed or
        // stretched; such a sample over-estimates the rate and is not used.
        bool valid = delivered > 0 && interval > TimeSpan.Zero && (minRtt == TimeSpan.MaxValue || interval >= minRtt);
        return new DeliveryRateSample
        {
            IsValid = valid,
            BytesPerSecond = valid ? delivered / interval.TotalSeconds : 0,
            Delivered = delivered,
            Interval = interval,
            PriorDelivered = _priorDelivered,
            TotalDelivered = Delivered,
            IsAppLimited = _sampleAppLimited,
        };
    }
}
