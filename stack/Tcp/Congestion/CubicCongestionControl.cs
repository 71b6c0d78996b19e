// RFC 9438 CUBIC with HyStart++ (RFC 9406) in slow start.
namespace TunStack.Tcp.Congestion;

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
    private double _wLastMaxBeforeLoss; // restored when the loss is undone
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

    // Linux's HyStart (tcp_cubic.c, delay detection): constants and state.
    private const int HyStartLowWindow = 16, HyStartMinSamples = 8;
    private static readonly TimeSpan HyStartDelayMin = TimeSpan.FromMilliseconds(4), HyStartDelayMax = TimeSpan.FromMilliseconds(16);
    private static readonly TimeSpan HyStartSampleHoldOff = TimeSpan.FromSeconds(1);
    private TimeSpan _delayMin;          // ca->delay_min: the least RTT sample seen
    private TimeSpan _roundDelay = TimeSpan.MaxValue; // ca->curr_rtt: the least sample of this round
    private int _roundSamples;           // ca->sample_cnt
    private bool _roundOver = true;      // SND.UNA passed ca->end_seq: the next sample starts a round
    private bool _slowStartExitFound;    // ca->found
    private Instant _lossAt;

    // Linux's congestion avoidance (tcp_cubic.c bictcp_update, with tcp_cong_avoid_ai), in whole
    // segments, on jiffies of a millisecond (HZ 1000) and times in 1/1024 s (BICTCP_HZ 10).
    private const int LinuxBetaScale = 15;             // beta_scale: 8 * (1024 + 717) / 3 / (1024 - 717)
    private const int LinuxCubeRttScale = 410;         // cube_rtt_scale: bic_scale 41 * 10
    private const double LinuxCubeFactor = (double)(1L << 40) / LinuxCubeRttScale; // cube_factor, integer in Linux
    private const int LinuxRecalculateAfterMs = 1000 / 32; // HZ / 32
    private const int LinuxFirstEpochMaxCnt = 20;      // without a W_max, at least 5% a round
    private bool _linuxEpochStarted;    // ca->epoch_start != 0
    private long _linuxEpochStart;      // ca->epoch_start
    private long _linuxLastTime;        // ca->last_time
    private int _linuxLastCwnd;         // ca->last_cwnd
    private int _linuxLastMaxCwnd;      // ca->last_max_cwnd: W_max in segments, 0 after a timeout
    private int _linuxOriginPoint;      // ca->bic_origin_point
    private long _linuxK;               // ca->bic_K
    private int _linuxTcpCwnd;          // ca->tcp_cwnd: the Reno-friendly estimate
    private int _linuxAckCount;         // ca->ack_cnt
    private int _linuxCnt;              // ca->cnt: segments acknowledged per cwnd increment
    private int _linuxCwndCount;        // tp->snd_cwnd_cnt

    public CubicCongestionControl(int mss)
        : base(mss)
    {
    }

    /// <summary>
    /// Leave slow start as Linux's CUBIC does (HyStart delay detection, <see cref="StackProfile.Linux"/>)
    /// instead of by HyStart++ (RFC 9406).
    /// </summary>
    public bool LinuxHyStart { get; set; }

    /// <summary>
    /// Grow the window in congestion avoidance as Linux's CUBIC does (bictcp_update,
    /// <see cref="TcpSettings.CubicCongestionAvoidanceAsLinux"/>) instead of by RFC 9438's equations.
    /// </summary>
    public bool LinuxCongestionAvoidance { get; set; }

    /// <summary>K of RFC 9438 4.2 in seconds, for tests.</summary>
    public double K => _k;

    /// <summary>W_max in segments, for tests.</summary>
    public double WMax => _wMax;

    /// <summary>True while HyStart++ is in conservative slow start.</summary>
    public bool InConservativeSlowStart => _inCss;

    /// <summary>RFC 9438 4.2 eq. 1: W_cubic(t) in segments.</summary>
    public double WCubic(double t) => C * Math.Pow(t - _k, 3) + _wMax;

    public override void OnAck(in CongestionAck ack)
    {
        if (!ack.WindowMayGrow)
        {
            return; // in recovery PRR sets the window; an unused window does not grow
        }

        int ackedBytes = ack.AckedBytes;
        Instant now = ack.Now;
        TimeSpan rttSample = ack.RttSample, minRtt = ack.MinRtt;
        bool roundEnd = ack.RoundEnd;
        if (InSlowStart)
        {
            if (LinuxHyStart)
            {
                int before = Cwnd;
                LinuxHyStartAck(ackedBytes, ack.DeliveredRtt, roundEnd, now);
                if (InSlowStart)
                {
                    return;
                }

                if (LinuxCongestionAvoidance)
                {
                    // Linux tcp_slow_start: what slow start did not use of the ACK goes on to
                    // congestion avoidance; the ACK that reaches ssthresh exactly grows nothing more.
                    ackedBytes -= Cwnd - before;
                    if (ackedBytes <= 0)
                    {
                        return;
                    }
                }
            }
            else
            {
                HyStartAck(ackedBytes, rttSample, roundEnd);
                return;
            }
        }

        if (LinuxCongestionAvoidance)
        {
            LinuxCongestionAvoidanceAck((ackedBytes + Mss - 1) / Mss, now, minRtt);
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
        _lossAt = now;
        double segments = (double)Cwnd / Mss;

        // RFC 9438 4.7: fast convergence.
        _wLastMaxBeforeLoss = _wLastMax;
        _wMax = segments < _wLastMax ? segments * (1 + Beta) / 2 : segments;
        _wLastMax = segments;

        // RFC 9438 4.6: ssthresh = flight_size * beta, never below 2 segments; the flight no larger
        // than cwnd (data SACKed above a hole is not in flight; Linux uses cwnd).
        Ssthresh = Math.Max((int)(ReductionBase(flightSize) * Beta), 2 * Mss);
        Cwnd = Ssthresh;

        // RFC 9438 4.2 eq. 2: K = cbrt(W_max * (1 - beta) / C) (with cwnd = beta * W_max at t = 0).
        _k = Math.Cbrt(Math.Max(0, _wMax - (double)Cwnd / Mss) / C);
        _epochStart = now;
        _inEpoch = true;
        _wEst = (double)Cwnd / Mss;
        _cwndFraction = 0;
        _inCss = false;

        // Linux bictcp_recalc_ssthresh: a new epoch, and W_max with fast convergence; and
        // tcp_init_cwnd_reduction / tcp_enter_loss: snd_cwnd_cnt starts over.
        int cwndSegments = (int)segments;
        _linuxEpochStarted = false;
        _linuxLastMaxCwnd = cwndSegments < _linuxLastMaxCwnd ? cwndSegments * (1024 + 717) / 2048 : cwndSegments;
        _linuxCwndCount = 0;
    }

    /// <summary>
    /// The loss was spurious: the window comes back, and the next acknowledgment starts a new epoch
    /// at it (W_max = cwnd, K = 0), as Linux's CUBIC does after an undo; fast convergence forgets the loss.
    /// </summary>
    public override void Undo(int cwnd, int ssthresh)
    {
        base.Undo(cwnd, ssthresh);
        _inEpoch = false;
        _wLastMax = _wLastMaxBeforeLoss;
    }

    public override void OnRetransmitTimeout(int flightSize, Instant now, bool firstInEpisode)
    {
        base.OnRetransmitTimeout(flightSize, now, firstInEpisode);
        _inEpoch = false; // RFC 9438 4.8: after an RTO, slow start, then a new epoch
        _lastRoundMinRtt = TimeSpan.MaxValue;
        _currentRoundMinRtt = TimeSpan.MaxValue;
        _slowStartExitFound = false; // Linux cubictcp_state(TCP_CA_Loss): bictcp_reset and a new HyStart round
        _roundOver = true;

        // Linux bictcp_reset at TCP_CA_Loss (after bictcp_recalc_ssthresh): W_max is forgotten too.
        _linuxEpochStarted = false;
        _linuxEpochStart = _linuxLastTime = _linuxK = 0;
        _linuxLastCwnd = _linuxLastMaxCwnd = _linuxOriginPoint = _linuxTcpCwnd = _linuxAckCount = _linuxCnt = _linuxCwndCount = 0;
    }

    // Linux cubictcp_cong_avoid past slow start: bictcp_update sets ca->cnt, the segments to be
    // acknowledged per increment of cwnd, then tcp_cong_avoid_ai counts them.
    private void LinuxCongestionAvoidanceAck(int acked, Instant now, TimeSpan minRtt)
    {
        int cwnd = Math.Max(1, Cwnd / Mss);
        LinuxUpdateCnt(cwnd, acked, now.TotalMilliseconds, minRtt == TimeSpan.MaxValue ? TimeSpan.Zero : minRtt);

        // tcp_cong_avoid_ai(tp, ca->cnt, acked).
        int w = _linuxCnt, grown = cwnd;
        if (_linuxCwndCount >= w)
        {
            _linuxCwndCount = 0;
            grown++;
        }

        _linuxCwndCount += acked;
        if (_linuxCwndCount >= w)
        {
            int increments = _linuxCwndCount / w;
            _linuxCwndCount -= increments * w;
            grown += increments;
        }

        if (grown > cwnd)
        {
            Cwnd = (int)Math.Min((long)Cwnd + ((long)(grown - cwnd) * Mss), int.MaxValue / 2);
        }
    }

    // Linux bictcp_update: the cubic target one delay_min ahead (the connection's least RTT here),
    // recomputed at most once per HZ / 32 while cwnd stands still, at most 20 segments per
    // increment while no W_max is known, and the Reno-friendly window's pace when that is faster.
    private void LinuxUpdateCnt(int cwnd, int acked, long jiffies, TimeSpan delayMin)
    {
        _linuxAckCount += acked;
        if (_linuxLastCwnd == cwnd && jiffies - _linuxLastTime <= LinuxRecalculateAfterMs)
        {
            return;
        }

        if (!_linuxEpochStarted || jiffies != _linuxLastTime)
        {
            _linuxLastCwnd = cwnd;
            _linuxLastTime = jiffies;
            if (!_linuxEpochStarted)
            {
                _linuxEpochStarted = true;
                _linuxEpochStart = jiffies;
                _linuxAckCount = acked;
                _linuxTcpCwnd = cwnd;
                if (_linuxLastMaxCwnd <= cwnd)
                {
                    _linuxK = 0;
                    _linuxOriginPoint = cwnd;
                }
                else
                {
                    _linuxK = (long)Math.Cbrt(LinuxCubeFactor * (_linuxLastMaxCwnd - cwnd));
                    _linuxOriginPoint = _linuxLastMaxCwnd;
                }
            }

            long delayJiffies = (delayMin.Ticks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond; // usecs_to_jiffies rounds up
            long t = ((jiffies - _linuxEpochStart + delayJiffies) << 10) / 1000;
            ulong offs = (ulong)Math.Abs(t - _linuxK);
            long delta = (long)UInt128.Min((LinuxCubeRttScale * (UInt128)offs * offs * offs) >> 40, int.MaxValue);
            long target = t < _linuxK ? _linuxOriginPoint - delta : _linuxOriginPoint + delta;
            _linuxCnt = target > cwnd ? (int)Math.Max(1, cwnd / (target - cwnd)) : 100 * cwnd;
            if (_linuxLastMaxCwnd == 0 && _linuxCnt > LinuxFirstEpochMaxCnt)
            {
                _linuxCnt = LinuxFirstEpochMaxCnt;
            }
        }

        // TCP friendliness: the Reno window grows by one per cwnd * beta_scale / 8 acknowledged.
        int renoStep = Math.Max(1, (cwnd * LinuxBetaScale) >> 3);
        while (_linuxAckCount > renoStep)
        {
            _linuxAckCount -= renoStep;
            _linuxTcpCwnd++;
        }

        if (_linuxTcpCwnd > cwnd)
        {
            int maxCnt = cwnd / (_linuxTcpCwnd - cwnd);
            if (_linuxCnt > maxCnt)
            {
                _linuxCnt = maxCnt;
            }
        }

        _linuxCnt = Math.Max(_linuxCnt, 2); // at most 1.5 times cwnd per round
    }

    // Linux's HyStart delay detection (tcp_cubic.c: bictcp_acked, hystart_update with
    // hystart_detect's HYSTART_DELAY): once cwnd reaches 16 segments, the least RTT sample of the
    // first 8 of a round is compared with the least ever seen; when it exceeds that by an eighth
    // (clamped to 4..16 ms), slow start ends there: ssthresh = cwnd. The samples are Linux's
    // per-ACK ones (the age of the newest segment the ACK delivered), and those of the first
    // second after a loss are left out. ACK-train detection (HYSTART_ACK_TRAIN) is not modelled.
    private void LinuxHyStartAck(int ackedBytes, TimeSpan sample, bool roundEnd, Instant now)
    {
        // The ACK that passes the end of the last round starts the next one (hystart_update
        // resets when SND.UNA passed ca->end_seq, before it counts the ACK's sample).
        _roundOver |= roundEnd;
        if (sample > TimeSpan.Zero && (_lossAt == default || now - _lossAt >= HyStartSampleHoldOff))
        {
            if (_delayMin == TimeSpan.Zero || sample < _delayMin)
            {
                _delayMin = sample;
            }

            if (!_slowStartExitFound && Cwnd >= HyStartLowWindow * Mss)
            {
                if (_roundOver)
                {
                    _roundOver = false; // bictcp_hystart_reset
                    _roundSamples = 0;
                    _roundDelay = TimeSpan.MaxValue;
                }

                if (sample < _roundDelay)
                {
                    _roundDelay = sample;
                }

                if (_roundSamples < HyStartMinSamples)
                {
                    _roundSamples++;
                }
                else
                {
                    TimeSpan threshold = TimeSpan.FromTicks(Math.Clamp(_delayMin.Ticks / 8, HyStartDelayMin.Ticks, HyStartDelayMax.Ticks));
                    if (_roundDelay > _delayMin + threshold)
                    {
                        _slowStartExitFound = true;
                        Ssthresh = Cwnd;
                    }
                }
            }
        }

        if (InSlowStart)
        {
            SlowStart(ackedBytes, IncreaseLimit);
        }
    }

    // RFC 9406 4.2: HyStart++ — slow start that watches each round's minimum RTT and, when it
    // rises by more than a clamped eighth, continues in conservative slow start (a quarter of the
    // growth) for CSS_ROUNDS rounds before congestion avoidance.
    // RFC 9406 4.2: L, the SMSS one ACK may add. Counted without limit, as Linux's tcp_slow_start
    // does (RFC 9406 asks that of paced senders; ours hands bursts to a link that segments and
    // queues them): a receiver that ACKs a GRO-merged 64 KiB once (Linux does, and so do we for a
    // receive batch) must not turn the doubling per round into a crawl of L segments per ACK.
    private const long IncreaseLimit = int.MaxValue;

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
            Cwnd = (int)Math.Min((long)Cwnd + Math.Min(ackedBytes, IncreaseLimit * Mss) / CssGrowthDivisor, int.MaxValue / 2);
            if (_rttSampleCount >= NRttSample && _currentRoundMinRtt < _cssBaselineMinRtt)
            {
                _inCss = false; // the RTT increase was spurious: back to slow start
            }
        }
        else
        {
            SlowStart(ackedBytes, IncreaseLimit);
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
