// Congestion control behind one interface, one file per algorithm: NewReno (RFC 5681) and CUBIC
// (RFC 9438) with HyStart++ (RFC 9406). Loss detection and recovery are Recovery/; the controller
// only decides cwnd and ssthresh from the events it is told of.
namespace TunStack.Tcp.Congestion;

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

    /// <summary>
    /// Recovery ended with everything up to the recovery point acknowledged. RFC 6937 3 (PRR,
    /// which held the flight near ssthresh through recovery): cwnd = ssthresh; RFC 6582 3.2 step 3
    /// allows the same.
    /// </summary>
    public void OnRecoveryEnd() => Cwnd = Ssthresh;

    /// <summary>
    /// RFC 6937 3.1: during recovery Proportional Rate Reduction sets the window on every ACK to
    /// pipe + sndcnt, in bytes (never below one segment).
    /// </summary>
    public void SetRecoveryWindow(long cwnd) => Cwnd = (int)Math.Clamp(cwnd, Mss, int.MaxValue / 2);

    /// <summary>
    /// RFC 3708 / RFC 4015: the reduction for a loss was needless (the retransmissions were
    /// spurious): the window and threshold from before it come back.
    /// </summary>
    public virtual void Undo(int cwnd, int ssthresh) => Restore(cwnd, ssthresh);

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

    /// <summary>
    /// RFC 5681 3.1: slow start grows cwnd by min(N, L * SMSS) per ACK; L = 1 unless the algorithm
    /// says otherwise (RFC 3465 2.3 allows 2; RFC 9406 4.2 lets a paced sender count all of N).
    /// </summary>
    protected void SlowStart(int ackedBytes, long limitSegments = 1) => Cwnd = (int)Math.Min((long)Cwnd + Math.Min(ackedBytes, limitSegments * Mss), int.MaxValue / 2);

    /// <summary>
    /// RFC 3168 6.1.2: the peer echoed a Congestion Experienced mark (ECE). ssthresh and cwnd are
    /// reduced as for a loss, but nothing is retransmitted and no recovery begins; the sender calls
    /// this at most once per window of data. An algorithm that reacts to marks otherwise overrides it.
    /// </summary>
    public virtual void OnCongestionExperienced(int flightSize, Instant now) => OnLoss(flightSize, now);
}
