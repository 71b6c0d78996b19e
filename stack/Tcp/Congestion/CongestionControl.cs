// Congestion control behind one public interface, one file per algorithm: NewReno (RFC 5681),
// CUBIC (RFC 9438) with HyStart++ (RFC 9406) and BBR (v1). Loss detection and recovery are
// Recovery/; the controller only decides cwnd, ssthresh and (optionally) a pacing rate from the
// events it is told of. Applications add their own by deriving from this class and registering a
// factory by name (CongestionControlRegistry, TcpSettings.CongestionControls).
namespace TunStack.Tcp.Congestion;

/// <summary>
/// The congestion control of one connection: <see cref="Cwnd"/> and <see cref="Ssthresh"/> in
/// bytes, and optionally a <see cref="PacingRate"/>, moved by the events the connection reports
/// (acknowledgments with their RTT and delivery-rate samples, losses, timeouts, ECN echoes, MSS
/// changes). Derive from it and register a factory in <see cref="CongestionControlRegistry"/> to
/// add an algorithm; one instance serves one connection, on the stack's thread.
/// </summary>
public abstract class CongestionControl
{
    /// <summary>RFC 5681 3.1: ssthresh starts "arbitrarily high" (int.MaxValue / 2).</summary>
    protected const int InitialSsthresh = int.MaxValue / 2;

    /// <summary>Starts with the initial window for <paramref name="mss"/> and an unbounded ssthresh.</summary>
    /// <param name="mss">The sender's MSS in bytes (536 until the handshake tells the real one; see <see cref="OnMssChanged"/>).</param>
    protected CongestionControl(int mss)
    {
        Mss = Math.Max(1, mss);
        Cwnd = InitialWindow(Mss);
        Ssthresh = InitialSsthresh;
    }

    /// <summary>The congestion window in bytes: the stack keeps no more than this in flight.</summary>
    public int Cwnd { get; protected set; }

    /// <summary>The slow start threshold in bytes.</summary>
    public int Ssthresh { get; protected set; }

    /// <summary>The sender's MSS the window is counted in.</summary>
    public int Mss { get; private set; }

    /// <summary>True while cwnd is below ssthresh.</summary>
    public bool InSlowStart => Cwnd < Ssthresh;

    /// <summary>
    /// The rate, in bytes per second, at which the connection paces what it sends, or 0 to leave
    /// pacing to the stack (off, or Linux's rate from cwnd and SRTT when
    /// <see cref="TcpSettings.Pacing"/> is on).
    /// </summary>
    public double PacingRate { get; protected set; }

    /// <summary>
    /// True (the default) when the stack sets cwnd during fast recovery by RFC 6937 Proportional
    /// Rate Reduction; false for an algorithm that sets cwnd on every ACK itself, recovery included (BBR).
    /// </summary>
    public virtual bool UsesProportionalRateReduction => true;

    /// <summary>The name it was created under in a <see cref="CongestionControlRegistry"/> (what TCP_CONGESTION and <c>ss -i</c> show).</summary>
    public string Name { get; internal set; } = string.Empty;

    /// <summary>RFC 6928 2: IW = min(10*MSS, max(2*MSS, 14600)).</summary>
    /// <param name="mss">The MSS in bytes.</param>
    public static int InitialWindow(int mss) => Math.Min(10 * mss, Math.Max(2 * mss, 14600));

    /// <summary>
    /// An acknowledgment that delivered data (cumulatively or by SACK): bytes delivered, the RTT
    /// and delivery-rate samples it gave, whether a round trip ended, and whether a window-based
    /// algorithm may grow on it (<see cref="CongestionAck.WindowMayGrow"/>). Called on the stack
    /// thread for every such ACK; keep it free of allocations.
    /// </summary>
    /// <param name="ack">What the acknowledgment told.</param>
    public abstract void OnAck(in CongestionAck ack);

    /// <summary>
    /// A loss detected by duplicate ACKs, SACK or RACK: fast recovery begins (RFC 5681 3.2 step 2 /
    /// RFC 6675 5 step 4.2). <paramref name="flightSize"/> is what was outstanding.
    /// </summary>
    /// <param name="flightSize">SND.NXT - SND.UNA in bytes.</param>
    /// <param name="now">The stack's clock.</param>
    public abstract void OnLoss(int flightSize, Instant now);

    /// <summary>
    /// Recovery ended with everything up to the recovery point acknowledged. The default, after
    /// RFC 6937 3 (PRR held the flight near ssthresh through recovery): cwnd = ssthresh.
    /// </summary>
    public virtual void OnRecoveryEnd() => Cwnd = Ssthresh;

    /// <summary>
    /// RFC 5681 3.1 (4)-(5): a retransmission timeout. The default sets cwnd to one segment; the
    /// first timeout of an episode also reduces as for a loss (a segment timed out again keeps ssthresh).
    /// </summary>
    /// <param name="flightSize">SND.NXT - SND.UNA in bytes.</param>
    /// <param name="now">The stack's clock.</param>
    /// <param name="firstInEpisode">True for the first timeout since data was last acknowledged.</param>
    public virtual void OnRetransmitTimeout(int flightSize, Instant now, bool firstInEpisode)
    {
        if (firstInEpisode)
        {
            OnLoss(flightSize, now);
        }

        Cwnd = Mss;
    }

    /// <summary>
    /// RFC 3708 / RFC 4015: the reduction for a loss was needless (the retransmissions were
    /// spurious): by default the window and threshold from before it come back.
    /// </summary>
    /// <param name="cwnd">cwnd before the reduction.</param>
    /// <param name="ssthresh">ssthresh before the reduction.</param>
    public virtual void Undo(int cwnd, int ssthresh) => Restore(cwnd, ssthresh);

    /// <summary>
    /// The MSS became known (after the handshake, <paramref name="beforeData"/> true: the initial
    /// window is recounted in it) or shrank (path MTU). Override to rescale state kept in segments.
    /// </summary>
    /// <param name="mss">The new MSS in bytes.</param>
    /// <param name="beforeData">True when no data has been sent yet.</param>
    public virtual void OnMssChanged(int mss, bool beforeData)
    {
        if (beforeData)
        {
            Cwnd = InitialWindow(mss);
        }
    }

    /// <summary>
    /// The sender is about to send new data with nothing in flight after the connection was
    /// application-limited: a restart from idle (Linux's CA_EVENT_TX_START). Called before the
    /// pacing check of that first send. The default does nothing; BBR paces at its bandwidth
    /// estimate again (draft-cardwell-iccrg-bbr-congestion-control-00, "Restarting From Idle").
    /// </summary>
    /// <param name="now">The stack's clock.</param>
    public virtual void OnRestartFromIdle(Instant now)
    {
    }

    /// <summary>
    /// RFC 3168 6.1.2: the peer echoed Congestion Experienced (ECN-Echo): a reduction as for a
    /// loss, without a retransmission. The default reduces as <see cref="OnLoss"/> does.
    /// </summary>
    /// <param name="flightSize">SND.NXT - SND.UNA in bytes.</param>
    /// <param name="now">The stack's clock.</param>
    public virtual void OnCongestionExperienced(int flightSize, Instant now) => OnLoss(flightSize, now);

    /// <summary>
    /// RFC 5681 3.1: slow start grows cwnd by min(N, L * SMSS) per ACK; L = 1 unless the algorithm
    /// says otherwise (RFC 3465 2.3 allows 2; RFC 9406 4.2 lets a paced sender count all of N).
    /// </summary>
    /// <param name="ackedBytes">N, the bytes the ACK delivered.</param>
    /// <param name="limitSegments">L.</param>
    protected void SlowStart(int ackedBytes, long limitSegments = 1) => Cwnd = (int)Math.Min((long)Cwnd + Math.Min(ackedBytes, limitSegments * Mss), int.MaxValue / 2);

    /// <summary>
    /// True while the algorithm deliberately sends below the path's rate and the delivery-rate
    /// samples of this flight must be marked application-limited (BBR's ProbeRTT).
    /// </summary>
    internal virtual bool SamplesAreAppLimited => false;

    /// <summary>The algorithm's place among the built-ins (<see cref="CongestionAlgorithm.Custom"/> for a registered one).</summary>
    internal CongestionAlgorithm Algorithm => CongestionControlRegistry.AlgorithmOf(Name);

    /// <summary>
    /// Reduce from cwnd rather than from the flight (<see cref="TcpSettings.SsthreshFromCwnd"/>); the
    /// window-based built-ins read it through <see cref="ReductionBase"/>.
    /// </summary>
    internal bool SsthreshFromCwnd { get; set; }

    /// <summary>
    /// What a loss, a timeout or an ECN echo reduces the window from: the flight, no larger than
    /// cwnd (RFC 5681 eq. (4), RFC 9438 4.6), or cwnd itself with <see cref="SsthreshFromCwnd"/>
    /// (Linux: tcp_reno_ssthresh, bictcp_recalc_ssthresh; RFC 9438 4.6 allows it where cwnd does
    /// not grow while the flight is below it, which TcpSender's window-use check ensures).
    /// </summary>
    private protected int ReductionBase(int flightSize) => SsthreshFromCwnd ? Cwnd : Math.Min(flightSize, Cwnd);

    /// <summary>The stack's view of the MSS changing: recorded, then the algorithm is told.</summary>
    internal void SetMss(int mss, bool beforeData)
    {
        Mss = Math.Max(1, mss);
        OnMssChanged(Mss, beforeData);
    }

    /// <summary>New data acknowledged, in the shape the window-based algorithms' tests use.</summary>
    internal void OnAck(int ackedBytes, Instant now, TimeSpan rttSample, TimeSpan minRtt, bool roundEnd)
        => OnAck(new CongestionAck { AckedBytes = ackedBytes, Now = now, RttSample = rttSample, MinRtt = minRtt, RoundEnd = roundEnd, WindowMayGrow = true });

    /// <summary>
    /// RFC 6937 3.1: during recovery Proportional Rate Reduction sets the window on every ACK to
    /// pipe + sndcnt, in bytes (never below one segment).
    /// </summary>
    internal void SetRecoveryWindow(long cwnd) => Cwnd = (int)Math.Clamp(cwnd, Mss, int.MaxValue / 2);

    /// <summary>Sets the window and threshold (switching algorithm mid-connection keeps them).</summary>
    internal void Restore(int cwnd, int ssthresh)
    {
        Cwnd = Math.Max(cwnd, Mss);
        Ssthresh = Math.Max(ssthresh, 2 * Mss);
    }

    /// <summary>
    /// RFC 5681 4.1: the connection sent nothing for <paramref name="idle"/>, more than an RTO,
    /// and nothing is outstanding: cwnd restarts. As Linux's tcp_cwnd_restart does it: ssthresh
    /// keeps at least 3/4 of the old window (tcp_current_ssthresh), and cwnd halves once per RTO
    /// of idleness, down to the restart window RW = min(IW, cwnd) and never below it.
    /// </summary>
    internal void RestartWindowAfterIdle(TimeSpan idle, TimeSpan rto)
    {
        Ssthresh = Math.Max(Ssthresh, (Cwnd / 2) + (Cwnd / 4));
        int restart = Math.Min(InitialWindow(Mss), Cwnd);
        int cwnd = Cwnd;
        if (rto > TimeSpan.Zero)
        {
            for (TimeSpan left = idle - rto; left > TimeSpan.Zero && cwnd > restart; left -= rto)
            {
                cwnd /= 2;
            }
        }

        Cwnd = Math.Max(cwnd, restart);
    }

    /// <summary>
    /// RFC 7661 4.4: the window went unvalidated for the whole non-validated period: halve it
    /// (not below the initial window), with ssthresh no lower than 3/4 of the old window.
    /// </summary>
    internal void OnNonValidatedPeriodEnd()
    {
        Ssthresh = Math.Max(Ssthresh, 3 * Cwnd / 4);
        Cwnd = Math.Max(InitialWindow(Mss), Cwnd / 2);
    }
}
