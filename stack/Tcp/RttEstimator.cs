// RFC 6298: the round-trip time estimate and the retransmission timeout, from samples timed by
// Karn's algorithm or taken from RFC 7323 timestamps.
using TunStack.Wire;

namespace TunStack.Tcp;

/// <summary>
/// SRTT, RTTVAR and RTO of one connection (RFC 6298), the lowest RTT seen, and the one segment
/// being timed when timestamps are not in use.
/// </summary>
internal sealed class RttEstimator
{
    private readonly TimeSpan _minRto;
    private readonly TimeSpan _maxRto;
    private readonly bool _minRtoOnVariance;
    private SeqNumber _timedSeq;
    private Instant _timedAt;

    public RttEstimator(TcpSettings settings)
    {
        _minRto = settings.MinRto;
        _maxRto = settings.MaxRto;
        _minRtoOnVariance = settings.MinRtoOnVariance;
        Rto = settings.InitialRto; // RFC 6298 2.1
        EstimatedRto = Rto;
    }

    /// <summary>SRTT; zero before the first sample.</summary>
    public TimeSpan Smoothed { get; private set; }

    /// <summary>RTTVAR.</summary>
    public TimeSpan Variance { get; private set; }

    /// <summary>The retransmission timeout, backoff included.</summary>
    public TimeSpan Rto { get; private set; }

    /// <summary>
    /// The RTO of the estimate, without the backoff of timeouts since (the initial RTO before a
    /// sample).
    /// </summary>
    public TimeSpan EstimatedRto { get; private set; }

    /// <summary>True once a sample has been taken.</summary>
    public bool HasSample { get; private set; }

    /// <summary>The lowest sample seen (TimeSpan.MaxValue before the first).</summary>
    public TimeSpan Min { get; private set; } = TimeSpan.MaxValue;

    /// <summary>True while a segment is being timed.</summary>
    public bool IsTiming { get; private set; }

    /// <summary>Times the segment starting at <paramref name="seq"/>, sent now, unless one is already timed.</summary>
    public void StartTiming(SeqNumber seq, Instant now)
    {
        if (!IsTiming)
        {
            IsTiming = true;
            _timedSeq = seq;
            _timedAt = now;
        }
    }

    /// <summary>Karn's algorithm: the timed segment may be retransmitted, so it gives no sample.</summary>
    public void StopTiming() => IsTiming = false;

    /// <summary>An ACK of <paramref name="ack"/>: a sample if it covers the timed segment. Returns the sample (zero for none).</summary>
    public TimeSpan SampleOnAck(SeqNumber ack, Instant now)
    {
        if (!IsTiming || ack <= _timedSeq)
        {
            return TimeSpan.Zero;
        }

        IsTiming = false;
        return Update(now - _timedAt);
    }

    /// <summary>
    /// RFC 7323 4.1 (RTTM): with timestamps every ACK that advances SND.UNA gives a sample, the
    /// retransmitted ones too (the echo is of the segment that arrived), at the TS clock's 1 ms
    /// grain. <paramref name="elapsedMs"/> is TS now - TSecr. Returns the sample (zero for none).
    /// </summary>
    public TimeSpan SampleFromTimestamp(uint elapsedMs)
    {
        if (elapsedMs > int.MaxValue)
        {
            return TimeSpan.Zero; // an echo from the future: ignore
        }

        IsTiming = false;
        return Update(TimeSpan.FromMilliseconds(elapsedMs));
    }

    /// <summary>RFC 6298 5.5: the timer expired; double the RTO, up to the maximum.</summary>
    public void BackOff() => Rto = TimeSpan.FromTicks(Math.Min(Rto.Ticks * 2, _maxRto.Ticks));

    // RFC 6298 2.2-2.4: SRTT, RTTVAR and RTO from a sample.
    private TimeSpan Update(TimeSpan r)
    {
        if (!HasSample)
        {
            // RFC 6298 2.2.
            Smoothed = r;
            Variance = r / 2;
            HasSample = true;
        }
        else
        {
            // RFC 6298 2.3 with alpha = 1/8, beta = 1/4.
            Variance = (Variance * 3 / 4) + (Abs(Smoothed - r) / 4);
            Smoothed = (Smoothed * 7 / 8) + (r / 8);
        }

        // RFC 6298 2.3 (G = 1 ms, the timer wheel's grain) and 2.4-2.5: clamped to [MinRto, MaxRto].
        // TcpSettings.MinRtoOnVariance: the minimum bounds K*RTTVAR instead, as Linux's
        // tcp_rtt_estimator (rttvar_us >= tcp_rto_min_us) and __tcp_set_rto (srtt + rttvar).
        long floor = _minRtoOnVariance ? _minRto.Ticks : TimeSpan.FromMilliseconds(1).Ticks;
        TimeSpan rto = Smoothed + TimeSpan.FromTicks(Math.Max(floor, (Variance * 4).Ticks));
        Rto = rto < _minRto ? _minRto : rto > _maxRto ? _maxRto : rto;
        EstimatedRto = Rto;
        if (r < Min)
        {
            Min = r;
        }

        return r;
    }

    private static TimeSpan Abs(TimeSpan t) => t < TimeSpan.Zero ? -t : t;
}
