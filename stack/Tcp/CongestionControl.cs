// Congestion control behind one interface: NewReno (RFC 5681) and CUBIC (RFC 9438) with
// HyStart++ (RFC 9406) in slow start. The connection owns loss detection and recovery (RFC 6675,
// RFC 6582); the controller only decides cwnd and ssthresh from the events it is told of.
namespace TunStack.Tcp;

/// <summary>Congestion control algorithms a connection can use.</summary>
public enum CongestionAlgorithm
{
    /// <summary>RFC 5681 slow start and congestion avoidance, halving on loss.</summary>
    NewReno,

    /// <summary>RFC 9438 CUBIC (the default, as in Linux), with HyStart++ (RFC 9406) in slow start.</summary>
    Cubic,
}

/// <summary>
/// The window side of congestion control for one connection: <see cref="Cwnd"/> and
/// <see cref="Ssthresh"/> in bytes, moved by acknowledgments, losses and timeouts.
/// </summary>
internal abstract class CongestionControl
{
    /// <summary>RFC 5681 3.1: ssthresh starts "arbitrarily high".</summary>
    protected const int InitialSsthresh = int.MaxValue / 2;

    protected CongestionControl(int mss)
    {
        Mss = mss;
        Cwnd = InitialWindow(mss);
        Ssthresh = InitialSsthresh;
    }

    /// <summary>The congestion window in bytes.</summary>
    public int Cwnd { get; protected set; }

    /// <summary>The slow start threshold in bytes.</summary>
    public int Ssthresh { get; protected set; }

    /// <summary>The sender's MSS the window is counted in.</summary>
    public int Mss { get; private set; }

    /// <summary>True while cwnd is below ssthresh.</summary>
    public bool InSlowStart => Cwnd < Ssthresh;

    public abstract CongestionAlgorithm Algorithm { get; }

    /// <summary>RFC 6928 2: IW = min(10*MSS, max(2*MSS, 14600)).</summary>
    public static int InitialWindow(int mss) => Math.Min(10 * mss, Math.Max(2 * mss, 14600));

    public static CongestionControl Create(CongestionAlgorithm algorithm, int mss) => algorithm switch
    {
        CongestionAlgorithm.NewReno => new NewRenoCongestionControl(mss),
        _ => new CubicCongestionControl(mss),
    };

    /// <summary>The MSS became known (after the handshake) or shrank (path MTU): the window is recounted.</summary>
    public void SetMss(int mss, bool beforeData)
    {
        Mss = mss;
        if (beforeData)
        {
            Cwnd = InitialWindow(mss);
        }
    }

    /// <summary>
    /// New data acknowledged outside recovery. <paramref name="rttSample"/> is zero when the ACK
    /// gave no sample; <paramref name="roundEnd"/> tells that a round trip (the data outstanding
    /// at the start of the round) has been acknowledged.
    /// </summary>
    public abstract void OnAck(int ackedBytes, Instant now, TimeSpan rttSample, TimeSpan minRtt, bool roundEnd);

    /// <summary>A loss detected by duplicate ACKs or SACK: enter recovery (RFC 5681 3.2 step 2 / RFC 6675 5 step 4.2).</summary>
    public abstract void OnLoss(int flightSize, Instant now);

    /// <summary>Recovery ended with everything up to the recovery point acknowledged.</summary>
    public virtual void OnRecoveryEnd(int flightSize) => Cwnd = Math.Max(Math.Min(Ssthresh, flightSize + Mss), 2 * Mss); // RFC 6582 3.2 step 3

    /// <summary>
    /// RFC 5681 3.1 (4)-(5): a retransmission timeout sets cwnd to one segment; the first of an
    /// episode also sets ssthresh from the flight (a segment timed out again keeps it).
    /// </summary>
    public virtual void OnRetransmitTimeout(int flightSize, Instant now, bool firstInEpisode)
    {
        if (firstInEpisode)
        {
            OnLoss(flightSize, now);
        }

        Cwnd = Mss;
    }

    /// <summary>Sets the window and threshold (switching algorithm mid-connection keeps them).</summary>
    public void Restore(int cwnd, int ssthresh)
    {
        Cwnd = Math.Max(cwnd, Mss);
        Ssthresh = Math.Max(ssthresh, 2 * Mss);
    }

    /// <summary>
    /// RFC 7661 4.4: the window went unvalidated for the whole non-validated period: halve it
    /// (not below the initial window), with ssthresh no lower than 3/4 of the old window.
    /// </summary>
    public void OnNonValidatedPeriodEnd()
    {
        Ssthresh = Math.Max(Ssthresh, 3 * Cwnd / 4);
        Cwnd = Math.Max(InitialWindow(Mss), Cwnd / 2);
    }

    /// <summary>RFC 5681 3.1: slow start grows cwnd by min(N, SMSS) per ACK (L = 1 of RFC 3465).</summary>
    protected void SlowStart(int ackedBytes) => Cwnd = (int)Math.Min((long)Cwnd + Math.Min(ackedBytes, Mss), int.MaxValue / 2);
}

/// <summary>RFC 5681 NewReno window: slow start, then one SMSS per cwnd of data acknowledged; halve on loss.</summary>
internal sealed class NewRenoCongestionControl : CongestionControl
{
    private long _bytesAckedInAvoidance;

    public NewRenoCongestionControl(int mss)
        : base(mss)
    {
    }

    public override CongestionAlgorithm Algorithm => CongestionAlgorithm.NewReno;

    public override void OnAck(int ackedBytes, Instant now, TimeSpan rttSample, TimeSpan minRtt, bool roundEnd)
    {
        if (InSlowStart)
        {
            SlowStart(ackedBytes);
            return;
        }

        // RFC 5681 3.1 (3): byte counting, cwnd += SMSS once a cwnd's worth has been acknowledged.
        _bytesAckedInAvoidance += ackedBytes;
        if (_bytesAckedInAvoidance >= Cwnd)
        {
            _bytesAckedInAvoidance -= Cwnd;
            Cwnd += Mss;
        }
    }

    public override void OnLoss(int flightSize, Instant now)
    {
        // RFC 5681 3.1 (4): ssthresh = max(FlightSize / 2, 2*SMSS).
        Ssthresh = Math.Max(flightSize / 2, 2 * Mss);
        Cwnd = Ssthresh;
        _bytesAckedInAvoidance = 0;
    }
}

/// <summary>
/// RFC 9438 CUBIC: after a loss the window follows W_cubic(t) = C*(t-K)^3 + W_max (in segments,
/// t in seconds since the congestion event), never below the Reno-friendly estimate W_est; with
/// fast convergence; slow start is HyStart++ (RFC 9406).
/// </summary>
internal sealed class CubicCongestionControl : CongestionControl
{
    public const double C = 0.4;       // RFC 9438 5.1
    public const double Beta = 0.7;    // RFC 9438 4.6
    private const double Alpha = 3 * (1 - Beta) / (1 + Beta); // RFC 9438 4.3

    // RFC 9406 4.3 constants.
    private const int MinRttThresholdMs = 4, MaxRttThresholdMs = 16, MinRttDivisor = 8, NRttSample = 8, CssGrowthDivisor = 4, CssRounds = 5;

    private double _wMax;           // segments
    private double _wLastMax;       // segments, for fast convergence
    private double _k;              // seconds
    private Instant _epochStart;
    private bool _inEpoch;
    private double _wEst;           // segments
    private double _cwndFraction;   // fractional segments accumulated

    // HyStart++ state.
    private TimeSpan _lastRoundMinRtt = TimeSpan.MaxValue;
    private TimeSpan _currentRoundMinRtt = TimeSpan.MaxValue;
    private int _rttSampleCount;
    private bool _inCss;
    private TimeSpan _cssBaselineMinRtt;
    private int _cssRoundsDone;

    public CubicCongestionControl(int mss)
        : base(mss)
    {
    }

    public override CongestionAlgorithm Algorithm => CongestionAlgorithm.Cubic;

    /// <summary>K of RFC 9438 4.2 in seconds, for tests.</summary>
    public double K => _k;

    /// <summary>W_max in segments, for tests.</summary>
    public double WMax => _wMax;

    /// <summary>True while HyStart++ is in conservative slow start.</summary>
    public bool InConservativeSlowStart => _inCss;

    /// <summary>RFC 9438 4.2 eq. 1: W_cubic(t) in segments.</summary>
    public double WCubic(double t) => C * Math.Pow(t - _k, 3) + _wMax;

    public override void OnAck(int ackedBytes, Instant now, TimeSpan rttSample, TimeSpan minRtt, bool roundEnd)
    {
        if (InSlowStart)
        {
            HyStartAck(ackedBytes, rttSample, roundEnd);
            return;
        }

        if (!_inEpoch)
        {
            // A congestion-avoidance epoch without a prior loss (after HyStart++ or an RTO):
            // start the curve at the current window (RFC 9438 4.2 with W_max = cwnd, K = 0).
            _inEpoch = true;
            _epochStart = now;
            _wMax = (double)Cwnd / Mss;
            _k = 0;
            _wEst = (double)Cwnd / Mss;
        }

        double segments = (double)Cwnd / Mss;
        double acked = (double)ackedBytes / Mss;

        // RFC 9438 4.3: the Reno-friendly estimate.
        _wEst += Alpha * acked / segments;

        // RFC 9438 4.2: the target one RTT ahead, clamped to [cwnd, 1.5 cwnd] (4.4).
        double t = (now - _epochStart).TotalSeconds + (minRtt == TimeSpan.MaxValue ? 0 : minRtt.TotalSeconds);
        double target = Math.Clamp(WCubic(t), segments, 1.5 * segments);
        double increase;
        if (WCubic(t - (minRtt == TimeSpan.MaxValue ? 0 : minRtt.TotalSeconds)) < _wEst)
        {
            // RFC 9438 4.3: in the Reno-friendly region cwnd follows W_est.
            increase = Math.Max(0, _wEst - segments);
        }
        else
        {
            // RFC 9438 4.4/4.5: (target - cwnd) / cwnd per acknowledged segment.
            increase = (target - segments) / segments * acked;
        }

        _cwndFraction += increase;
        if (_cwndFraction >= 1)
        {
            int whole = (int)_cwndFraction;
            _cwndFraction -= whole;
            Cwnd = (int)Math.Min((long)Cwnd + (long)whole * Mss, int.MaxValue / 2);
        }
    }

    public override void OnLoss(int flightSize, Instant now)
    {
        double segments = (double)Cwnd / Mss;

        // RFC 9438 4.7: fast convergence.
        _wMax = segments < _wLastMax ? segments * (1 + Beta) / 2 : segments;
        _wLastMax = segments;

        // RFC 9438 4.6: ssthresh = cwnd * beta (from the flight, never below 2 segments).
        Ssthresh = Math.Max((int)(Math.Max(Cwnd, flightSize) * Beta), 2 * Mss);
        Cwnd = Ssthresh;

        // RFC 9438 4.2 eq. 2: K = cbrt(W_max * (1 - beta) / C) (with cwnd = beta * W_max at t = 0).
        _k = Math.Cbrt(Math.Max(0, _wMax - (double)Cwnd / Mss) / C);
        _epochStart = now;
        _inEpoch = true;
        _wEst = (double)Cwnd / Mss;
        _cwndFraction = 0;
        _inCss = false;
    }

    public override void OnRetransmitTimeout(int flightSize, Instant now, bool firstInEpisode)
    {
        base.OnRetransmitTimeout(flightSize, now, firstInEpisode);
        _inEpoch = false; // RFC 9438 4.8: after an RTO, slow start, then a new epoch
        _lastRoundMinRtt = TimeSpan.MaxValue;
        _currentRoundMinRtt = TimeSpan.MaxValue;
    }

    // RFC 9406 4.2: HyStart++ — slow start that watches each round's minimum RTT and, when it
    // rises by more than a clamped eighth, continues in conservative slow start (a quarter of the
    // growth) for CSS_ROUNDS rounds before congestion avoidance.
    private void HyStartAck(int ackedBytes, TimeSpan rttSample, bool roundEnd)
    {
        if (rttSample > TimeSpan.Zero)
        {
            _rttSampleCount++;
            if (rttSample < _currentRoundMinRtt)
            {
                _currentRoundMinRtt = rttSample;
            }
        }

        if (_inCss)
        {
            Cwnd = (int)Math.Min((long)Cwnd + Math.Min(ackedBytes, Mss) / CssGrowthDivisor, int.MaxValue / 2);
            if (_rttSampleCount >= NRttSample && _currentRoundMinRtt < _cssBaselineMinRtt)
            {
                _inCss = false; // the RTT increase was spurious: back to slow start
            }
        }
        else
        {
            SlowStart(ackedBytes);
            if (_rttSampleCount >= NRttSample && _lastRoundMinRtt != TimeSpan.MaxValue && _currentRoundMinRtt != TimeSpan.MaxValue)
            {
                TimeSpan threshold = TimeSpan.FromTicks(Math.Clamp(
                    _lastRoundMinRtt.Ticks / MinRttDivisor,
                    TimeSpan.FromMilliseconds(MinRttThresholdMs).Ticks,
                    TimeSpan.FromMilliseconds(MaxRttThresholdMs).Ticks));
                if (_currentRoundMinRtt >= _lastRoundMinRtt + threshold)
                {
                    _inCss = true;
                    _cssBaselineMinRtt = _currentRoundMinRtt;
                    _cssRoundsDone = 0;
                }
            }
        }

        if (roundEnd)
        {
            _lastRoundMinRtt = _currentRoundMinRtt;
            _currentRoundMinRtt = TimeSpan.MaxValue;
            _rttSampleCount = 0;
            if (_inCss && ++_cssRoundsDone >= CssRounds)
            {
                Ssthresh = Cwnd; // RFC 9406 4.2: enter congestion avoidance
                _inCss = false;
            }
        }
    }
}
