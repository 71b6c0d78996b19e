// BBR version 1 as draft-cardwell-iccrg-bbr-congestion-control-00 describes it: a model of the
// path (the bottleneck bandwidth, a windowed maximum of delivery-rate samples over 10 rounds, and
// the round-trip propagation time, a minimum of RTT samples over 10 seconds) sets the pacing rate
// (gain x BtlBw) and cwnd (gain x BtlBw x RTprop), through four states: Startup, Drain, ProbeBW
// and ProbeRTT. Losses do not shrink the model; during the first round of fast recovery cwnd is
// held to packet conservation.
namespace TunStack.Tcp.Congestion;

/// <summary>BBRv1 (draft-cardwell-iccrg-bbr-congestion-control-00), paced at its own rate.</summary>
internal sealed class BbrCongestionControl : CongestionControl
{
    /// <summary>The draft's BBRHighGain, 2/ln(2): the smallest gain that doubles the delivery rate every round.</summary>
    public const double HighGain = 2.885390081777927;

    /// <summary>Drain's pacing gain, the inverse of Startup's.</summary>
    public const double DrainGain = 1 / HighGain;

    /// <summary>ProbeBW's cwnd gain.</summary>
    public const double ProbeBwCwndGain = 2;

    /// <summary>Rounds the BtlBw filter spans.</summary>
    public const int BtlBwFilterRounds = 10;

    /// <summary>Segments cwnd is held to in ProbeRTT, and never goes below otherwise (BBRMinPipeCwnd).</summary>
    public const int MinPipeSegments = 4;

    /// <summary>How long the RTprop estimate lasts without a new minimum before ProbeRTT.</summary>
    public static readonly TimeSpan RtpropWindow = TimeSpan.FromSeconds(10);

    /// <summary>How long ProbeRTT holds the flight at <see cref="MinPipeSegments"/> (at least, and at least one round).</summary>
    public static readonly TimeSpan ProbeRttDuration = TimeSpan.FromMilliseconds(200);

    private const double FullBwGrowth = 1.25; // Startup ends when BtlBw grew less than 25%...
    private const int FullBwRounds = 3;        // ...for 3 rounds in a row

    private static readonly double[] PacingGainCycle = [1.25, 0.75, 1, 1, 1, 1, 1, 1];

    private readonly WindowedMaxFilter _btlBw = new(BtlBwFilterRounds);
    private readonly WindowedMinFilter _rtprop = new(RtpropWindow);
    private readonly Random? _random;

    private bool _started;
    private long _delivered;
    private long _nextRoundDelivered;
    private bool _roundStart;
    private double _fullBw;
    private int _fullBwCount;
    private Instant _cycleStamp;
    private bool _rtpropExpired;
    private bool _probeRttDoneStampSet;
    private Instant _probeRttDoneStamp;
    private bool _probeRttRoundDone;
    private int _priorCwnd;
    private bool _inLossRecovery;
    private bool _packetConservation;
    private long _conservationRound;
    private int _lastInflight;
    private bool _idleRestart;

    /// <summary>
    /// ProbeBW's first phase comes from the clock's microseconds when ProbeBW is entered: as good
    /// as random between connections on a real clock, and the same from run to run on a virtual
    /// one, so that a seeded simulation or lab run repeats exactly.
    /// </summary>
    public BbrCongestionControl(int mss)
        : this(mss, null)
    {
    }

    /// <summary>With the random source that picks ProbeBW's first phase (tests fix it; null: the clock).</summary>
    public BbrCongestionControl(int mss, Random? random)
        : base(mss)
    {
        _random = random;
        EnterStartup();
    }

    /// <summary>BBR's states.</summary>
    public enum Mode
    {
        Startup,
        Drain,
        ProbeBw,
        ProbeRtt,
    }

    public Mode State { get; private set; }

    /// <summary>The bottleneck bandwidth estimate in bytes per second (0 before a sample).</summary>
    public double BtlBw => _btlBw.Best;

    /// <summary>The round-trip propagation time estimate (<see cref="TimeSpan.MaxValue"/> before a sample).</summary>
    public TimeSpan Rtprop => _rtprop.Value;

    public double PacingGain { get; private set; }

    public double CwndGain { get; private set; }

    /// <summary>Rounds counted (a round ends when a segment sent after its start is delivered).</summary>
    public long RoundCount { get; private set; }

    /// <summary>True once Startup saw BtlBw stop growing: the pipe is full.</summary>
    public bool FilledPipe { get; private set; }

    /// <summary>The ProbeBW phase (index into the gain cycle 1.25, 0.75, 1 x6).</summary>
    public int CycleIndex { get; private set; }

    /// <summary>The estimated bandwidth-delay product times <paramref name="gain"/>, in bytes (the initial window before the model has samples).</summary>
    public int Inflight(double gain)
    {
        if (_rtprop.Value == TimeSpan.MaxValue || BtlBw <= 0)
        {
            return InitialWindow(Mss);
        }

        return (int)Math.Min(gain * BtlBw * _rtprop.Value.TotalSeconds, int.MaxValue / 2);
    }

    public override bool UsesProportionalRateReduction => false;

    /// <summary>Draft 4.3.5 (BBRHandleProbeRTT): the low rate of ProbeRTT is not the path's; its samples are application-limited.</summary>
    internal override bool SamplesAreAppLimited => State == Mode.ProbeRtt;

    /// <summary>
    /// Draft-00, "Restarting From Idle" (BBRHandleRestartFromIdle): after an application-limited idle period, ProbeBW
    /// paces at exactly BtlBw (gain 1), to return to a full pipe without a queue; the idle
    /// restart also keeps the next ACK from starting ProbeRTT (BBRCheckProbeRTT).
    /// </summary>
    public override void OnRestartFromIdle(Instant now)
    {
        _idleRestart = true;
        if (State == Mode.ProbeBw && BtlBw > 0)
        {
            PacingRate = BtlBw;
        }
    }

    public override void OnAck(in CongestionAck ack)
    {
        Instant now = ack.Now;
        if (!_started)
        {
            // BBRInit: the RTprop window starts now; pacing begins at the high gain over the initial window per RTT.
            _started = true;
            _rtprop.Refresh(now);
            _cycleStamp = now;
            TimeSpan rtt = ack.RttSample > TimeSpan.Zero ? ack.RttSample : TimeSpan.FromMilliseconds(1);
            PacingRate = HighGain * Cwnd / rtt.TotalSeconds;
        }

        _lastInflight = ack.BytesInFlight;
        UpdateRound(ack);
        UpdateBtlBw(ack);
        CheckCyclePhase(ack);
        CheckFullPipe(ack);
        CheckDrain(ack);
        UpdateRtprop(ack);
        CheckProbeRtt(ack);
        SetPacingRate();
        SetCwnd(ack);
    }

    // Draft 4.5.3: upon entering fast recovery, cwnd is what is in flight (plus one segment for the
    // retransmission), and packet conservation holds it there for the first round of recovery.
    public override void OnLoss(int flightSize, Instant now)
    {
        SaveCwnd();
        _inLossRecovery = true;
        _packetConservation = true;
        _conservationRound = RoundCount;
        Cwnd = Math.Max(Math.Min(_lastInflight, flightSize), 0) + Mss;
    }

    public override void OnRecoveryEnd()
    {
        _inLossRecovery = false;
        _packetConservation = false;
        RestoreCwnd();
    }

    // Draft 4.5.3: a retransmission timeout saves cwnd and sets it to one segment.
    public override void OnRetransmitTimeout(int flightSize, Instant now, bool firstInEpisode)
    {
        if (firstInEpisode)
        {
            SaveCwnd();
        }

        _inLossRecovery = false;
        _packetConservation = false;
        Cwnd = Mss;
    }

    public override void Undo(int cwnd, int ssthresh)
    {
        _inLossRecovery = false;
        _packetConservation = false;
        base.Undo(cwnd, ssthresh);
    }

    /// <summary>BBR version 1 does not react to ECN marks (as Linux's bbr): its model reads rate and RTT only.</summary>
    public override void OnCongestionExperienced(int flightSize, Instant now)
    {
    }

    // Draft 4.1.1.3: a round starts when a segment sent after the previous round's start is delivered.
    private void UpdateRound(in CongestionAck ack)
    {
        DeliveryRateSample rs = ack.Rate;
        if (rs.PriorDelivered >= 0)
        {
            _delivered = rs.TotalDelivered;
            _roundStart = rs.PriorDelivered >= _nextRoundDelivered;
            if (_roundStart)
            {
                _nextRoundDelivered = _delivered;
            }
        }
        else
        {
            _roundStart = ack.RoundEnd; // no segment of the log delivered: the stack's sequence-based rounds
        }

        if (_roundStart)
        {
            RoundCount++;
            if (_packetConservation && RoundCount > _conservationRound + 1)
            {
                _packetConservation = false; // the first round of recovery is over
            }
        }
    }

    // Draft 4.1.1.4: a sample enters the BtlBw filter unless it is application-limited and lower than the estimate.
    private void UpdateBtlBw(in CongestionAck ack)
    {
        DeliveryRateSample rs = ack.Rate;
        if (rs.IsValid && (rs.BytesPerSecond >= BtlBw || !rs.IsAppLimited))
        {
            _btlBw.Update(rs.BytesPerSecond, RoundCount);
        }
    }

    // Draft 4.3.4.3: ProbeBW moves through the gain cycle, each phase about one RTprop long; the
    // probing phase (1.25) lasts until the flight reached 1.25 BDP or a loss, the draining one
    // (0.75) until the flight fell to one BDP.
    private void CheckCyclePhase(in CongestionAck ack)
    {
        if (State == Mode.ProbeBw && IsNextCyclePhase(ack))
        {
            AdvanceCyclePhase(ack.Now);
        }
    }

    private bool IsNextCyclePhase(in CongestionAck ack)
    {
        bool fullLength = _rtprop.Value != TimeSpan.MaxValue && ack.Now - _cycleStamp > _rtprop.Value;
        if (PacingGain == 1)
        {
            return fullLength;
        }

        if (PacingGain > 1)
        {
            return fullLength && (ack.LostBytes > 0 || ack.PriorBytesInFlight >= Inflight(PacingGain));
        }

        return fullLength || ack.PriorBytesInFlight <= Inflight(1);
    }

    private void AdvanceCyclePhase(Instant now)
    {
        _cycleStamp = now;
        CycleIndex = (CycleIndex + 1) % PacingGainCycle.Length;
        PacingGain = PacingGainCycle[CycleIndex];
    }

    // Draft 4.3.2.2: the pipe is full when BtlBw grew by less than 25% in three rounds in a row
    // (rounds whose samples were not application-limited).
    private void CheckFullPipe(in CongestionAck ack)
    {
        if (FilledPipe || !_roundStart || ack.Rate.IsAppLimited)
        {
            return;
        }

        if (BtlBw >= _fullBw * FullBwGrowth)
        {
            _fullBw = BtlBw;
            _fullBwCount = 0;
            return;
        }

        if (++_fullBwCount >= FullBwRounds)
        {
            FilledPipe = true;
        }
    }

    // Draft 4.3.2.3 / 4.3.3: Startup hands over to Drain, which lasts until the flight is down to one BDP.
    private void CheckDrain(in CongestionAck ack)
    {
        if (State == Mode.Startup && FilledPipe)
        {
            State = Mode.Drain;
            PacingGain = DrainGain;
            CwndGain = HighGain;
        }

        if (State == Mode.Drain && ack.BytesInFlight <= Inflight(1))
        {
            EnterProbeBw(ack.Now);
        }
    }

    // Draft 4.3.4.4: ProbeBW starts at a random phase other than the draining one.
    private void EnterProbeBw(Instant now)
    {
        State = Mode.ProbeBw;
        PacingGain = 1;
        CwndGain = ProbeBwCwndGain;
        int draw = _random?.Next(PacingGainCycle.Length - 1) ?? (int)((ulong)now.Microseconds % (ulong)(PacingGainCycle.Length - 1));
        CycleIndex = PacingGainCycle.Length - 1 - draw;
        AdvanceCyclePhase(now);
    }

    private void EnterStartup()
    {
        State = Mode.Startup;
        PacingGain = HighGain;
        CwndGain = HighGain;
    }

    // Draft 4.1.2.3: RTprop takes a lower sample, or any sample once 10 s passed without one.
    private void UpdateRtprop(in CongestionAck ack) => _rtpropExpired = _rtprop.Update(ack.RttSample, ack.Now);

    // Draft 4.3.5: when RTprop went 10 s without a new minimum, ProbeRTT holds the flight at four
    // segments for at least 200 ms and one round, so the queue drains and the path's RTT shows.
    private void CheckProbeRtt(in CongestionAck ack)
    {
        if (State != Mode.ProbeRtt && _rtpropExpired && !_idleRestart)
        {
            SaveCwnd();
            State = Mode.ProbeRtt;
            PacingGain = 1;
            CwndGain = 1;
            _probeRttDoneStampSet = false;
        }

        if (State == Mode.ProbeRtt)
        {
            HandleProbeRtt(ack);
        }

        _idleRestart = false;
    }

    private void HandleProbeRtt(in CongestionAck ack)
    {
        Instant now = ack.Now;
        if (!_probeRttDoneStampSet && ack.BytesInFlight <= MinPipeSegments * Mss)
        {
            _probeRttDoneStamp = now + ProbeRttDuration;
            _probeRttDoneStampSet = true;
            _probeRttRoundDone = false;
            _nextRoundDelivered = _delivered; // the round ProbeRTT must last starts now
        }
        else if (_probeRttDoneStampSet)
        {
            if (_roundStart)
            {
                _probeRttRoundDone = true;
            }

            if (_probeRttRoundDone && now > _probeRttDoneStamp)
            {
                _rtprop.Refresh(now);
                RestoreCwnd();
                if (FilledPipe)
                {
                    EnterProbeBw(now);
                }
                else
                {
                    EnterStartup();
                }
            }
        }
    }

    // Draft 4.2.1: pacing rate = gain x BtlBw; in Startup it never falls (BtlBw may still be growing).
    private void SetPacingRate()
    {
        double rate = PacingGain * BtlBw;
        if (rate > 0 && (FilledPipe || rate > PacingRate))
        {
            PacingRate = rate;
        }
    }

    // Draft 4.2.2: the send quantum, by pacing rate: 1 segment below 1.2 Mbps, 2 below 24 Mbps, else a millisecond of the rate (at most 64 KiB).
    private int SendQuantum()
        => PacingRate < 1.2e6 / 8 ? Mss
            : PacingRate < 24e6 / 8 ? 2 * Mss
            : (int)Math.Min(PacingRate / 1000, 64 * 1024);

    // Draft 4.2.3: cwnd tends to cwnd_gain x BDP plus three send quanta; it grows by what each ACK
    // delivered (before the pipe filled, without a ceiling); in recovery it follows packet
    // conservation first; in ProbeRTT it is held at four segments.
    private void SetCwnd(in CongestionAck ack)
    {
        int minPipe = MinPipeSegments * Mss;
        long target = (long)Inflight(CwndGain) + (3L * SendQuantum());
        long cwnd = Cwnd;
        if (ack.LostBytes > 0)
        {
            cwnd = Math.Max(cwnd - ack.LostBytes, Mss);
        }

        if (_packetConservation)
        {
            cwnd = Math.Max(cwnd, (long)ack.BytesInFlight + ack.AckedBytes);
        }
        else
        {
            if (FilledPipe)
            {
                cwnd = Math.Min(cwnd + ack.AckedBytes, target);
            }
            else if (cwnd < target || _delivered < InitialWindow(Mss))
            {
                cwnd += ack.AckedBytes;
            }

            cwnd = Math.Max(cwnd, minPipe);
        }

        if (State == Mode.ProbeRtt)
        {
            cwnd = Math.Min(cwnd, minPipe);
        }

        Cwnd = (int)Math.Clamp(cwnd, Mss, int.MaxValue / 2);
    }

    // Draft 4.2.3.4: the last good cwnd, restored after recovery and ProbeRTT.
    private void SaveCwnd() => _priorCwnd = _inLossRecovery || State == Mode.ProbeRtt ? Math.Max(_priorCwnd, Cwnd) : Cwnd;

    private void RestoreCwnd() => Cwnd = Math.Max(Cwnd, _priorCwnd);
}
