namespace TunStack;

/// <summary>TCP configuration of one stack (defaults follow Linux where it has one).</summary>
public sealed class TcpSettings
{
    private string _congestionControlName = TunStack.Tcp.Congestion.CongestionControlRegistry.Cubic;

    /// <summary>
    /// Congestion control of new connections, a built-in (default CUBIC, as Linux); per connection see
    /// <see cref="TunStack.Tcp.TcpConnection.CongestionAlgorithm"/>. Reads <see cref="TunStack.Tcp.CongestionAlgorithm.Custom"/>
    /// when <see cref="CongestionControlName"/> names a registered algorithm that is not a built-in.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to <see cref="TunStack.Tcp.CongestionAlgorithm.Custom"/> (choose those by name).</exception>
    public TunStack.Tcp.CongestionAlgorithm CongestionControl
    {
        get => TunStack.Tcp.Congestion.CongestionControlRegistry.AlgorithmOf(_congestionControlName);
        set => _congestionControlName = TunStack.Tcp.Congestion.CongestionControlRegistry.NameOf(value);
    }

    /// <summary>
    /// Congestion control of new connections by name, one of <see cref="CongestionControls"/> (default "cubic";
    /// also "reno", "bbr", or one registered there). Per connection see <see cref="TunStack.Tcp.TcpConnection.CongestionControlName"/>.
    /// </summary>
    /// <exception cref="ArgumentException">No algorithm of that name is registered.</exception>
    public string CongestionControlName
    {
        get => _congestionControlName;
        set
        {
            if (!CongestionControls.Contains(value))
            {
                throw new ArgumentException($"no congestion control called '{value}' is registered", nameof(value));
            }

            _congestionControlName = value;
        }
    }

    /// <summary>The congestion control algorithms this stack knows by name; register your own here.</summary>
    public TunStack.Tcp.Congestion.CongestionControlRegistry CongestionControls { get; } = new();

    /// <summary>
    /// Pace every connection (default false): segments leave at a rate, not in bursts of a window. An
    /// algorithm with a pacing rate of its own (BBR) is always paced at it; the others, with this on,
    /// at Linux's rate: twice cwnd/SRTT in slow start, 1.2 times in congestion avoidance.
    /// </summary>
    public bool Pacing { get; set; }

    /// <summary>
    /// Grow a connection's buffers with its needs (receive: twice what the application reads per
    /// round trip, Linux's dynamic right-sizing; send: twice cwnd), from the sizes below up to
    /// <see cref="ReceiveBufferMax"/>/<see cref="SendBufferMax"/>. A size set on the socket turns it off for that buffer.
    /// </summary>
    public bool AutoTuneBuffers { get; set; } = true;

    /// <summary>Largest auto-tuned receive buffer (default 4 MiB); the window scale offered is sized for it.</summary>
    public int ReceiveBufferMax { get; set; } = 4 * 1024 * 1024;

    /// <summary>Largest auto-tuned send buffer (default 4 MiB).</summary>
    public int SendBufferMax { get; set; } = 4 * 1024 * 1024;

    /// <summary>Send buffer per connection (default 256 KiB).</summary>
    public int SendBufferSize { get; set; } = 256 * 1024;

    /// <summary>Receive buffer per connection (default 256 KiB); sets the window scale this stack offers.</summary>
    public int ReceiveBufferSize { get; set; } = 256 * 1024;

    /// <summary>Largest backlog a listener may ask for (default 4096, Linux SOMAXCONN).</summary>
    public int MaxBacklog { get; set; } = 4096;

    /// <summary>
    /// Connections per stack (TIME-WAIT records of closed connections not included). Default: one per 8 KiB of <see cref="MemoryLimit"/>
    /// (a connection without queued data costs about 3 KiB), at least 65,536.
    /// </summary>
    public int MaxConnections
    {
        get => _maxConnections ?? FromMemoryLimit(8 * 1024);
        set => _maxConnections = value;
    }

    /// <summary>
    /// Connection requests to foreign addresses waiting for the TCP forwarder's decision (default 1,024;
    /// gVisor's forwarder takes a maximum in-flight count the same way). SYNs beyond it are dropped and
    /// counted; the client retransmits them.
    /// </summary>
    public int MaxPendingForwards { get; set; } = 1024;

    /// <summary>
    /// How long a forwarded connection request may wait for a decision before it is dropped (default
    /// 75 s: a Linux client's connect gives up after its SYN retries, about 127 s, so a later answer is useless).
    /// </summary>
    public TimeSpan ForwardDecisionTimeout { get; set; } = TimeSpan.FromSeconds(75);

    /// <summary>TIME-WAIT duration, 2*MSL (default 60 s, as Linux).</summary>
    public TimeSpan TimeWaitDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Restart the congestion window after an idle period (default false). On: a connection with
    /// nothing outstanding that sent nothing for more than an RTO restarts cwnd before it sends
    /// again, as RFC 5681 4.1 and Linux (tcp_slow_start_after_idle=1, its default) do: cwnd halves
    /// per RTO of idleness down to min(IW, cwnd). Off: RFC 7661 (which obsoletes RFC 2861's
    /// restart) keeps the window through idle periods and halves it only after its non-validated
    /// period (5 minutes), so a request-response connection does not start each response from
    /// the initial window. <see cref="StackProfile.Linux"/> turns it on.
    /// </summary>
    public bool RestartWindowAfterIdle { get; set; }

    /// <summary>
    /// TCP_NOTSENT_LOWAT of every connection that sets none of its own, in bytes (default 0, none; Linux's
    /// net.ipv4.tcp_notsent_lowat, whose default is none too). A connection's own mark
    /// (<see cref="TunStack.Tcp.TcpConnection.NotSentLowWatermark"/>) takes precedence, and reads
    /// back as 0 when it set none, as on Linux.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative value.</exception>
    public int NotSentLowWatermark
    {
        get => _notSentLowWatermark;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _notSentLowWatermark = value;
        }
    }

    /// <summary>
    /// Size each TSO super-segment as Linux's tcp_write_xmit does (default false): at most the
    /// whole segments of a millisecond at the pacing rate, and no fewer than
    /// <see cref="MinSegmentsPerSuperSegment"/> (tcp_tso_autosize), and at most half of cwnd, so
    /// that at least two are in flight (tcp_cwnd_test); each packet of that full size carries PSH,
    /// as Linux's do. Off: a super-segment takes whatever cwnd, the peer's window and the link
    /// allow, the fewest packets for a bulk transfer. <see cref="StackProfile.Linux"/> turns it on.
    /// </summary>
    public bool SuperSegmentsSizedAsLinux { get; set; }

    /// <summary>
    /// The fewest segments of the unit written data is cut into for PSH, and with
    /// <see cref="SuperSegmentsSizedAsLinux"/> of a super-segment (default 2, Linux's
    /// net.ipv4.tcp_min_tso_segs).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public int MinSegmentsPerSuperSegment
    {
        get => _minSegmentsPerSuperSegment;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _minSegmentsPerSuperSegment = value;
        }
    }

    /// <summary>
    /// How CUBIC leaves slow start before a loss (default <see cref="TcpSlowStartExit.HyStartPlusPlus"/>,
    /// RFC 9406; <see cref="StackProfile.Linux"/> chooses Linux's <see cref="TcpSlowStartExit.HyStart"/>).
    /// </summary>
    public TcpSlowStartExit SlowStartExit { get; set; }

    /// <summary>
    /// Grow CUBIC's window in congestion avoidance as Linux's tcp_cubic does (default false). Off:
    /// RFC 9438 4.2-4.5, cwnd follows W_cubic(t) or the Reno-friendly W_est, whichever is larger.
    /// On: Linux's bictcp_update and tcp_cong_avoid_ai, in whole segments: the cubic target is
    /// recomputed at most once per 31 ms while cwnd stands still, an epoch without a W_max (after
    /// a timeout, which forgets it) grows cwnd by at most one segment per 20 acknowledged, and the
    /// Reno-friendly window grows by one per 15/8 cwnd acknowledged.
    /// <see cref="StackProfile.Linux"/> turns it on.
    /// </summary>
    public bool CubicCongestionAvoidanceAsLinux { get; set; }

    /// <summary>Initial retransmission timeout (RFC 6298 2.1: 1 s).</summary>
    public TimeSpan InitialRto { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Minimum retransmission timeout (default 200 ms, as Linux).</summary>
    public TimeSpan MinRto { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Apply <see cref="MinRto"/> to the variance term of the RTO rather than to the whole (default
    /// false). Off: RTO = max(MinRto, SRTT + 4 * RTTVAR), RFC 6298 2.2-2.4. On: RTO = SRTT +
    /// max(4 * RTTVAR, MinRto), as Linux's tcp_rtt_estimator keeps its rttvar at no less than
    /// tcp_rto_min and __tcp_set_rto adds it to SRTT, so that a path of 100 ms waits 300 ms, not
    /// 200. <see cref="StackProfile.Linux"/> turns it on.
    /// </summary>
    public bool MinRtoOnVariance { get; set; }

    /// <summary>
    /// Take RACK.rtt from the last segment an ACK delivers, in the order it delivers them (SACKed
    /// ones, then cumulatively acknowledged ones, each in sequence order), rather than from the
    /// most recently sent one (default false). Off: RFC 8985 6.2 step 2 walks the delivered
    /// segments in the order they were sent, so RACK.rtt is the round trip of the newest
    /// transmission among them. On: as Linux's tcp_rack_advance, called per segment from the SACK
    /// walk and tcp_clean_rtx_queue, so that an ACK which delivers a retransmission and an older
    /// original above it keeps the original's longer round trip, and segments sent with that
    /// original are not deemed lost by the shorter one. <see cref="StackProfile.Linux"/> turns it on.
    /// </summary>
    public bool RackRttFromLastDelivered { get; set; }

    /// <summary>
    /// Set ssthresh after a loss, a retransmission timeout or an ECN echo from cwnd rather than from
    /// the flight (default false). Off: RFC 5681 eq. (4) and RFC 9438 4.6 reduce from the data
    /// outstanding (no more than cwnd), so a timeout with one segment out leaves ssthresh at two
    /// segments. On: as Linux's tcp_reno_ssthresh and bictcp_recalc_ssthresh, which read snd_cwnd,
    /// so that the same timeout after a window of 10 leaves ssthresh at 7 with CUBIC; RFC 9438 4.6
    /// allows it where cwnd does not grow while the flight is below it, as here. NewReno and CUBIC
    /// follow it; BBR and registered algorithms are given the flight either way.
    /// <see cref="StackProfile.Linux"/> turns it on.
    /// </summary>
    public bool SsthreshFromCwnd { get; set; }

    /// <summary>Maximum retransmission timeout (default 120 s, as Linux).</summary>
    public TimeSpan MaxRto { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>Retransmissions of data before the connection is aborted with TimedOut (default 15, Linux tcp_retries2).</summary>
    public int MaxRetransmissions { get; set; } = 15;

    /// <summary>SYN retransmissions before connect fails with TimedOut (default 6, Linux tcp_syn_retries).</summary>
    public int MaxSynRetransmissions { get; set; } = 6;

    /// <summary>SYN-ACK retransmissions for a half-open connection (default 5, Linux tcp_synack_retries).</summary>
    public int MaxSynAckRetransmissions { get; set; } = 5;

    /// <summary>Delayed-ACK timer (default 40 ms, as Linux's minimum).</summary>
    public TimeSpan DelayedAck { get; set; } = TimeSpan.FromMilliseconds(40);

    /// <summary>
    /// Challenge ACKs per second per stack (RFC 5961 7; default 1000, Linux tcp_challenge_ack_limit). The
    /// budget of each second is drawn at random between half and one and a half times this, as Linux
    /// draws it since CVE-2016-5696, so that nobody can count another connection's challenge ACKs
    /// against a fixed shared limit.
    /// </summary>
    public int ChallengeAcksPerSecond { get; set; } = 1000;

    /// <summary>
    /// Least time between two challenge ACKs of one connection (or TIME-WAIT record) (default 500 ms,
    /// Linux tcp_invalid_ratelimit): a burst of forged RSTs or SYNs draws one answer per interval.
    /// </summary>
    public TimeSpan ChallengeAckInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Keepalive: idle time before the first probe (default 2 h, Linux tcp_keepalive_time). Keepalive itself is off unless a connection turns it on.</summary>
    public TimeSpan KeepAliveIdle { get; set; } = TimeSpan.FromHours(2);

    /// <summary>Keepalive: time between probes (default 75 s, Linux tcp_keepalive_intvl).</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(75);

    /// <summary>Keepalive: unanswered probes before the connection is dropped (default 9, Linux tcp_keepalive_probes).</summary>
    public int KeepAliveProbes { get; set; } = 9;

    /// <summary>How long an orphaned connection (closed by the application) may wait in FIN-WAIT-2 (default 60 s, Linux tcp_fin_timeout).</summary>
    public TimeSpan FinWait2Timeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// TIME-WAIT entries per stack; past it a closing connection skips TIME-WAIT (Linux
    /// tcp_max_tw_buckets). Default: one per 4 KiB of <see cref="MemoryLimit"/> (a record is about 200 bytes), at least 65,536.
    /// </summary>
    public int MaxTimeWait
    {
        get => _maxTimeWait ?? FromMemoryLimit(4 * 1024);
        set => _maxTimeWait = value;
    }

    /// <summary>
    /// Explicit Congestion Notification (RFC 3168) for new connections (default
    /// <see cref="TcpEcnMode.AcceptOnly"/>, as Linux's net.ipv4.tcp_ecn=2). A connection that
    /// negotiated it sends its new data as ECT(0), echoes a Congestion Experienced mark back with
    /// ECE, and halves its window once per window of data when the peer echoes one.
    /// </summary>
    public TcpEcnMode Ecn { get; set; } = TcpEcnMode.AcceptOnly;

    /// <summary>Answer SYNs with SYN cookies (RFC 4987) when a listener's SYN queue is full (default on, as Linux tcp_syncookies=1).</summary>
    public bool SynCookies { get; set; } = true;

    /// <summary>
    /// Orphaned connections per stack; past it a close resets instead (Linux tcp_max_orphans).
    /// Default: as <see cref="MaxConnections"/>'s default.
    /// </summary>
    public int MaxOrphans
    {
        get => _maxOrphans ?? FromMemoryLimit(8 * 1024);
        set => _maxOrphans = value;
    }

    /// <summary>
    /// The most memory all TCP buffers of the stack may hold, in bytes (Linux tcp_mem's high mark).
    /// Data lives in <see cref="BufferChunkSize"/> chunks taken as it is queued and given back as it
    /// is consumed. Past two thirds of it (until use falls below half) buffers and windows stop
    /// growing; at it, arriving data is dropped and counted rather than memory growing. Default: 3/32
    /// of the memory the runtime may use (Linux's share), at least 16 MiB.
    /// </summary>
    public long MemoryLimit { get; set; } = DefaultMemoryLimit();

    /// <summary>Size of the chunks TCP data is stored in (default 4 KiB, a page).</summary>
    public int BufferChunkSize { get; set; } = 4096;

    private int? _maxConnections, _maxTimeWait, _maxOrphans;
    private int _notSentLowWatermark;
    private int _minSegmentsPerSuperSegment = 2;

    // Linux sizes tcp_max_orphans and tcp_max_tw_buckets from memory too (tcp_init: by the
    // established-hash size); here one entry per bytesEach of the memory limit, never below 65,536.
    private int FromMemoryLimit(int bytesEach) => (int)Math.Clamp(MemoryLimit / bytesEach, 65536, int.MaxValue);

    private static long DefaultMemoryLimit()
        => Math.Max(16L * 1024 * 1024, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * 3 / 32);
}
