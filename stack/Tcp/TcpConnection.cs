// RFC 9293 3.10: the connection state machine. Every state change goes through SetState; segment
// arrival is handled in one place (OnSegment) in the order of RFC 9293 3.10.7. The halves it
// drives each own one concern: TcpSender (output, ACKs of our data, retransmission), TcpReceiver
// (acceptability, text, window, delayed ACK), RttEstimator (RFC 6298), Recovery/ (RFC 6675,
// RFC 6582, RFC 8985), Congestion/ (one file per algorithm) and TcpTimers.
using TunStack.Tcp.Congestion;
using TunStack.Tcp.Recovery;
using TunStack.Wire;

namespace TunStack.Tcp;

/// <summary>
/// One TCP connection: the core's stream socket, which the sockets facade wraps. Use it only on the
/// stack's owner thread. Data written with <see cref="Send(ReadOnlySpan{byte}, out StackError)"/> is buffered and sent as the peer's
/// window allows; data received in order is buffered for <see cref="Receive"/>.
/// </summary>
public sealed partial class TcpConnection
{
    private const int MinSendMss = 48; // Linux tcp_min_snd_mss (CVE-2019-11477)
    private const int TimestampOptionLength = 12;

    private int _mss = 536;
    private uint _tsOffset;
    private Instant? _lastChallengeAck; // RFC 5961 7 rate limit per connection
    private readonly TcpKeepAlive _keepAlive;
    private bool _orphan;
    private bool _applicationClosed;

    internal TcpConnection(TcpLayer layer, TcpAcceptor? listener, int sendBufferSize = 0, int receiveBufferSize = 0)
    {
        Layer = layer;
        Acceptor = listener;
        TcpSettings settings = layer.Settings;
        sendBufferSize = sendBufferSize > 0 ? sendBufferSize : listener?.SendBufferSize ?? 0;
        receiveBufferSize = receiveBufferSize > 0 ? receiveBufferSize : listener?.ReceiveBufferSize ?? 0;
        bool autoTuneSend = sendBufferSize <= 0 && settings.AutoTuneBuffers;
        bool autoTuneReceive = receiveBufferSize <= 0 && settings.AutoTuneBuffers;
        int requestedReceive = receiveBufferSize;
        sendBufferSize = sendBufferSize > 0 ? sendBufferSize : settings.SendBufferSize;
        receiveBufferSize = receiveBufferSize > 0 ? receiveBufferSize : settings.ReceiveBufferSize;
        Timers = new TcpTimers(layer.Timers, this);
        Rtt = new RttEstimator(settings);
        Receiver = new TcpReceiver(this, receiveBufferSize, autoTuneReceive, TcpReceiver.ShiftFor(settings, requestedReceive));
        Sender = new TcpSender(this, sendBufferSize, autoTuneSend, CreateCongestionControl(settings, settings.CongestionControlName, 536));
        _keepAlive = new TcpKeepAlive(this, settings);
        Ecn = new TcpEcn(this);
    }

    internal TcpLayer Layer { get; }

    internal TcpSender Sender { get; }

    internal TcpReceiver Receiver { get; }

    internal RttEstimator Rtt { get; }

    /// <summary>
    /// Loss recovery, made when first needed: SackRecovery when both SYNs agreed to SACK (made by
    /// the handshake), NewReno otherwise, so that a connection that negotiates SACK never builds
    /// the NewReno one with its segment log only to drop it.
    /// </summary>
    internal LossRecovery Recovery => _recovery ??= new NewRenoRecovery(this, Sender.Capacity);

    private LossRecovery? _recovery;

    /// <summary>Whether <see cref="Recovery"/> has been made (before that, nothing has needed it: no data was sent).</summary>
    internal bool HasRecovery => _recovery is not null;

    /// <summary>True once the application closed or aborted the connection (it reads no more: unread data went back to the pool).</summary>
    internal bool ClosedByApplication => _applicationClosed;

    internal TcpTimers Timers { get; }

    /// <summary>RFC 3168: what the handshake agreed about ECN and what each half owes the peer.</summary>
    internal TcpEcn Ecn { get; }

    internal TcpAcceptor? Acceptor { get; set; }

    /// <summary>The connection's addresses and ports.</summary>
    public TcpTuple Tuple { get; private set; }

    /// <summary>The RFC 9293 state.</summary>
    public TcpConnectionState State => _timeWait is { Ended: true } ? TcpConnectionState.Closed : _state;

    private TcpConnectionState _state = TcpConnectionState.Closed;

    // Set when an application-closed connection went to TIME-WAIT: the wait lives on as this record
    // in the stack's TimeWaitTable and the connection reads Closed once it ends.
    private TimeWaitRecord? _timeWait;

    /// <summary>Why the connection failed (ConnectionRefused, ConnectionReset, TimedOut, ...), or None.</summary>
    public StackError Error { get; private set; }

    /// <summary>Bytes received and not yet read.</summary>
    public int Available => Receiver.Available;

    /// <summary>
    /// Bytes a <see cref="Send(ReadOnlySpan{byte}, out StackError)"/> would take now: the room left in the send buffer, or less when
    /// the stack's TCP memory is at its limit (<see cref="TcpSettings.MemoryLimit"/>), so that a
    /// socket reads writable only when a send would take something.
    /// </summary>
    public int SendSpace => Sender.QueueableNow;

    /// <summary>
    /// Size of the send buffer (SO_SNDBUF). Set on an open connection, it takes effect at once
    /// and stops auto-tuning (as Linux's SOCK_SNDBUF_LOCK); below what the buffer holds, sends
    /// take nothing until ACKs drain it.
    /// </summary>
    public int SendBufferSize
    {
        get => Sender.Capacity;
        set => Sender.SetCapacity(Math.Max(1, value));
    }

    /// <summary>Bytes in the send buffer not sent yet (Linux's write_seq - snd_nxt).</summary>
    public int Unsent => Math.Max(0, Sender.Unsent);

    /// <summary>
    /// TCP_NOTSENT_LOWAT in bytes; 0 (the default) for none. With a mark, a send starts a new
    /// unit of the size Linux builds its packets in only while fewer bytes than the mark wait
    /// unsent, and the socket reads writable only while fewer than half the mark do (Linux
    /// tcp_stream_memory_free). With none, the stack's <see cref="TcpSettings.NotSentLowWatermark"/> applies.
    /// </summary>
    public int NotSentLowWatermark { get; set; }

    /// <summary>
    /// The mark in force: the connection's own, else the stack's (Linux's tcp_notsent_lowat():
    /// tp->notsent_lowat ?: sysctl_tcp_notsent_lowat); 0 for none.
    /// </summary>
    public int EffectiveNotSentLowWatermark => NotSentLowWatermark != 0 ? NotSentLowWatermark : Layer.Settings.NotSentLowWatermark;

    /// <summary>
    /// IP_TOS (IPv4) or IPV6_TCLASS (IPv6): the octet every segment of the connection carries;
    /// its two ECN bits are the stack's (RFC 3168), whatever is set here.
    /// </summary>
    public byte TypeOfService { get; set; }

    /// <summary>
    /// IPv4: segments carry DF (RFC 1191 path MTU discovery; the default). Off, as Linux's
    /// IP_PMTUDISC_DONT, they leave with DF clear.
    /// </summary>
    public bool DontFragment { get; set; } = true;

    /// <summary>Size of the receive buffer (SO_RCVBUF); it bounds the advertised window.</summary>
    public int ReceiveBufferSize => Receiver.Capacity;

    /// <summary>True once the peer's FIN has been received (reads return 0 after the buffer drains).</summary>
    public bool PeerClosed => Receiver.FinReceived;

    /// <summary>Disable Nagle's algorithm (TCP_NODELAY). Setting it does not send what waits; <see cref="Push"/> does.</summary>
    public bool NoDelay { get; set; }

    /// <summary>
    /// TCP_CORK, as Linux: while on, a partial segment at the tail of what waits is not sent, data
    /// in flight or not, until it fills to a full segment, the cork comes off, or the probe timer
    /// (about an RTO after nothing was left in flight) sends it. Taking it off sends what waits
    /// as Nagle allows (at once, partial segment included, with <see cref="NoDelay"/>).
    /// </summary>
    public bool Cork
    {
        get => Sender.Corked;
        set
        {
            bool uncorked = Sender.Corked && !value;
            Sender.Corked = value;
            if (uncorked && State.Sends)
            {
                if (NoDelay)
                {
                    Sender.PushPending();
                }
                else
                {
                    Sender.Output();
                }
            }
        }
    }

    /// <summary>
    /// Sends what waits now, a partial segment included, whatever Nagle, <see cref="Cork"/> or a
    /// send with more to come held (what Linux's setsockopt(TCP_NODELAY, 1) does every time).
    /// </summary>
    public void Push()
    {
        if (State.Sends)
        {
            Sender.PushPending();
        }
    }

    /// <summary>
    /// TCP_MAXSEG: the largest segment this side advertises in its SYN and sends; 0 (the default)
    /// for what the path allows. Set before the connection opens to change its SYN; it never raises
    /// the MSS above the path's or the peer's.
    /// </summary>
    public int MaxSegmentSize { get; set; }

    /// <summary>The effective send MSS: the largest payload per segment (timestamps included).</summary>
    public int Mss => _mss - (TimestampsEnabled ? TimestampOptionLength : 0);

    /// <summary>True when timestamps (RFC 7323) were negotiated.</summary>
    public bool TimestampsEnabled { get; private set; }

    /// <summary>Segments leave with a partial checksum that the link completes (its TransportChecksum offload, to a remote peer).</summary>
    internal bool ChecksumOffload { get; private set; }

    /// <summary>Payload bytes one super-segment may carry when the link segments this family (TSO); 0 when it does not.</summary>
    internal int MaxSuperSegment { get; private set; }

    /// <summary>The connection's position in its layer's connection list (-1 when not in the table).</summary>
    internal int TableIndex { get; set; } = -1;

    /// <summary>True when SACK (RFC 2018) was negotiated.</summary>
    public bool SackEnabled { get; private set; }

    /// <summary>True when Explicit Congestion Notification (RFC 3168) was negotiated (<see cref="TcpSettings.Ecn"/>).</summary>
    public bool EcnNegotiated => Ecn.Negotiated;

    /// <summary>True when window scaling (RFC 7323 2) was negotiated.</summary>
    public bool WindowScalingEnabled { get; private set; }

    /// <summary>The peer's window scale (RFC 7323 2.3: Snd.Wind.Shift), or -1 when window scaling was not negotiated.</summary>
    public int SendWindowScale => WindowScalingEnabled ? Sender.Shift : -1;

    /// <summary>Our window scale (Rcv.Wind.Shift), or -1 when window scaling was not negotiated.</summary>
    public int ReceiveWindowScale => WindowScalingEnabled ? Receiver.Shift : -1;

    /// <summary>Bytes in the send buffer: sent and not yet acknowledged, and not yet sent (Linux's Send-Q in <c>ss</c>).</summary>
    public int SendQueued => Sender.Buffered;

    /// <summary>Bytes of the stack's TCP memory (its 4 KiB chunks) the receive buffer holds: data not yet read, in order or not.</summary>
    public int ReceiveMemory => Receiver.HeldBytes;

    /// <summary>Bytes of the stack's TCP memory (its 4 KiB chunks) the send buffer holds.</summary>
    public int SendMemory => Sender.HeldBytes;

    /// <summary>Smoothed RTT (RFC 6298), zero before the first sample.</summary>
    public TimeSpan SmoothedRtt => Rtt.Smoothed;

    /// <summary>The current retransmission timeout.</summary>
    public TimeSpan RetransmissionTimeout => Rtt.Rto;

    /// <summary>
    /// The congestion control algorithm (<see cref="CongestionAlgorithm.Custom"/> for a registered one
    /// that is not a built-in); switching keeps the current window and threshold.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to <see cref="CongestionAlgorithm.Custom"/> (choose those by name).</exception>
    public CongestionAlgorithm CongestionAlgorithm
    {
        get => Sender.Congestion.Algorithm;
        set
        {
            if (value != Sender.Congestion.Algorithm)
            {
                CongestionControlName = CongestionControlRegistry.NameOf(value);
            }
        }
    }

    /// <summary>
    /// The congestion control algorithm by its registered name (TCP_CONGESTION; see
    /// <see cref="TcpSettings.CongestionControls"/>); switching keeps the current window and threshold.
    /// </summary>
    /// <exception cref="ArgumentException">No algorithm of that name is registered on this stack.</exception>
    public string CongestionControlName
    {
        get => Sender.Congestion.Name;
        set
        {
            CongestionControl current = Sender.Congestion;
            if (value != current.Name)
            {
                CongestionControl next = CreateCongestionControl(Layer.Settings, value, current.Mss);
                next.Restore(current.Cwnd, current.Ssthresh);
                Sender.Congestion = next;
            }
        }
    }

    // A controller of the registered name, with the stack's choices that the built-ins take.
    private static CongestionControl CreateCongestionControl(TcpSettings settings, string name, int mss)
    {
        CongestionControl controller = settings.CongestionControls.Create(name, mss);
        controller.SsthreshFromCwnd = settings.SsthreshFromCwnd;
        if (controller is CubicCongestionControl cubic)
        {
            cubic.LinuxHyStart = settings.SlowStartExit == TcpSlowStartExit.HyStart;
            cubic.LinuxCongestionAvoidance = settings.CubicCongestionAvoidanceAsLinux;
        }

        return controller;
    }

    /// <summary>The rate segments are paced at, in bytes per second (the controller's, or Linux's with <see cref="TcpSettings.Pacing"/>); 0 when not paced.</summary>
    public double PacingRate => Sender.PacingRate;

    /// <summary>The congestion window in bytes.</summary>
    public int CongestionWindow => Sender.Congestion.Cwnd;

    /// <summary>The slow start threshold in bytes (int.MaxValue / 2 until the first loss).</summary>
    public int SlowStartThreshold => Sender.Congestion.Ssthresh;

    /// <summary>True during fast recovery.</summary>
    public bool InRecovery => Recovery.InRecovery;

    /// <summary>State and statistics now, like Linux's tcp_info.</summary>
    public TcpConnectionInfo GetInfo() => new(
        State, Sender.Congestion.Algorithm, Mss, Rtt.Smoothed, Rtt.Variance, Rtt.Min, Rtt.Rto, Sender.Congestion.Cwnd, Sender.Congestion.Ssthresh,
        Recovery.InRecovery, Sender.Nxt - Sender.Una, Recovery.Pipe(), Sender.BytesSent, Sender.BytesRetransmitted, Sender.BytesAcked,
        Receiver.StreamWritten, Sender.RetransmitSegments, Sender.Timeouts, Recovery.Recoveries, Recovery.LostSegments,
        Recovery.SackedBytes, Recovery.Undos, Sender.DeliveryRate)
    {
        SinceLastDataReceived = Receiver.LastDataAt == default ? TimeSpan.Zero : Layer.Now - Receiver.LastDataAt,
        AlgorithmName = Sender.Congestion.Name,
        PacingRateBytesPerSecond = Sender.PacingRate,
        AdvertisedMss = AdvertisedMss,
        PeerWindow = Sender.Wnd,
        EcnNegotiated = Ecn.Negotiated,
        Bbr = Sender.Congestion is Congestion.BbrCongestionControl bbr
            ? new BbrInfo(bbr.BtlBw, bbr.Rtprop == TimeSpan.MaxValue ? TimeSpan.Zero : bbr.Rtprop, bbr.PacingGain, bbr.CwndGain)
            : null,
        CongestionState = Sender.CongestionState,
        Reordering = Recovery.Reordering,
        LostSegmentsOutstanding = Recovery.Log.LostOutSegments,
        BusyTime = Sender.BusyTime,
        ReceiveWindowLimitedTime = Sender.ReceiveWindowLimitedTime,
        SendBufferLimitedTime = Sender.SendBufferLimitedTime,
    };

    /// <summary>Called on the owner thread when data (or the peer's FIN) can be read.</summary>
    public Action? Readable { get; set; }

    /// <summary>Called on the owner thread when send space frees up.</summary>
    public Action? Writable { get; set; }

    /// <summary>Called on the owner thread after every state change.</summary>
    public Action<TcpConnectionState>? StateChanged { get; set; }

    /// <summary>
    /// Called on the owner thread after every acknowledgment from the peer has been processed
    /// (send window, RTT estimate, loss recovery and congestion control updated), with the RTT
    /// sample it gave, or <see cref="TimeSpan.Zero"/> when it gave none (a duplicate ACK, or one
    /// that acknowledged only retransmitted data without timestamps: Karn's rule). For tracing
    /// tools that want a row per ACK; keep it short, it runs inside segment processing.
    /// </summary>
    public Action<TimeSpan>? AckProcessed { get; set; }

    /// <summary>SO_KEEPALIVE: probe an idle connection and drop it with TimedOut when the probes go unanswered. Off by default.</summary>
    public bool KeepAlive
    {
        get => _keepAlive.Enabled;
        set => _keepAlive.Enabled = value;
    }

    /// <summary>TCP_KEEPIDLE: idle time before the first probe.</summary>
    public TimeSpan KeepAliveIdle
    {
        get => _keepAlive.Idle;
        set => _keepAlive.Idle = value;
    }

    /// <summary>TCP_KEEPINTVL: time between probes.</summary>
    public TimeSpan KeepAliveInterval
    {
        get => _keepAlive.Interval;
        set => _keepAlive.Interval = value;
    }

    /// <summary>TCP_KEEPCNT: unanswered probes before the connection is dropped.</summary>
    public int KeepAliveProbes
    {
        get => _keepAlive.Probes;
        set => _keepAlive.Probes = value;
    }

    /// <summary>TCP_USER_TIMEOUT (RFC 5482): abort with TimedOut when sent data stays unacknowledged this long; zero = off.</summary>
    public TimeSpan UserTimeout { get; set; }

    /// <summary>True when the next byte to read is where the urgent byte was (SIOCATMARK).</summary>
    public bool AtMark => Receiver.AtMark;

    /// <summary>True when an out-of-band byte is waiting (poll's POLLPRI).</summary>
    public bool HasUrgentData => Receiver.HasUrgentData;

    /// <summary>Our timestamp clock (RFC 7323 5.4: milliseconds plus a per-connection offset).</summary>
    internal uint TimestampNow => TimestampClock(Layer.Now, _tsOffset);

    /// <summary>A TSval: a millisecond clock plus the connection's offset (RFC 7323 5.4).</summary>
    internal static uint TimestampClock(Instant now, uint offset) => (uint)(now.Microseconds / 1000) + offset;

    /// <summary>TS.Recent (RFC 7323 4.3): the peer's timestamp we echo.</summary>
    internal uint TsRecent { get; private set; }

    /// <summary>
    /// Appends data to the send buffer and sends what the window allows. Returns the bytes taken
    /// (0 when the buffer is full: try again when <see cref="Writable"/> fires), or an error:
    /// NotConnected before the handshake completes, Closed after Shutdown/Close, or the error that ended the connection.
    /// </summary>
    public int Send(ReadOnlySpan<byte> data, out StackError error) => Send(data, out error, endOfRecord: false, more: false);

    /// <summary>
    /// <see cref="Send(ReadOnlySpan{byte}, out StackError)"/>; with <paramref name="endOfRecord"/>
    /// (MSG_EOR) and all of <paramref name="data"/> taken, its last byte ends a record: no segment,
    /// sent or retransmitted, carries bytes from both sides of it (as Linux's tcp_skb_can_collapse_to).
    /// With <paramref name="more"/> (MSG_MORE) a partial segment at the end waits as under
    /// <see cref="Cork"/> until a later send, an ACK, a push or the probe timer, and carries no PSH.
    /// </summary>
    public int Send(ReadOnlySpan<byte> data, out StackError error, bool endOfRecord, bool more)
    {
        error = StackError.None;
        if (Error != StackError.None)
        {
            error = Error;
            return 0;
        }

        if (Sender.FinQueued || _applicationClosed)
        {
            error = StackError.Closed;
            return 0;
        }

        if (!State.AcceptsSends)
        {
            error = State is TcpConnectionState.SynSent or TcpConnectionState.SynReceived ? StackError.WouldBlock : StackError.NotConnected;
            return 0;
        }

        return Sender.Queue(data, endOfRecord, more);
    }

    /// <summary>
    /// The timer <c>ss -o</c> shows for this connection (see <see cref="TcpPendingTimer"/> for the
    /// order), with <paramref name="deadline"/> when it fires and <paramref name="count"/> as ss
    /// shows it: retransmissions since the last new acknowledgment (the backoff) for
    /// <see cref="TcpPendingTimer.Retransmit"/> and <see cref="TcpPendingTimer.Persist"/>, keepalive
    /// probes unanswered for <see cref="TcpPendingTimer.KeepAlive"/>, else 0. On the stack's thread.
    /// </summary>
    public TcpPendingTimer GetPendingTimer(out Instant deadline, out int count)
    {
        count = 0;
        deadline = default;
        if (Timers.IsScheduled(TcpTimer.Retransmit) || Timers.IsScheduled(TcpTimer.RackReordering))
        {
            TcpTimer timer = Timers.IsScheduled(TcpTimer.Retransmit) ? TcpTimer.Retransmit : TcpTimer.RackReordering;
            deadline = Timers.Deadline(timer);
            count = Sender.Retries;
            return timer == TcpTimer.Retransmit && Sender.Wnd == 0 ? TcpPendingTimer.Persist : TcpPendingTimer.Retransmit;
        }

        if (Timers.IsScheduled(TcpTimer.KeepAlive))
        {
            deadline = Timers.Deadline(TcpTimer.KeepAlive);
            count = _keepAlive.ProbesSent;
            return TcpPendingTimer.KeepAlive;
        }

        if (Timers.IsScheduled(TcpTimer.StateEnd))
        {
            deadline = Timers.Deadline(TcpTimer.StateEnd);
            return TcpPendingTimer.TimeWait;
        }

        return TcpPendingTimer.None;
    }

    /// <summary>
    /// Reads received data. Returns the bytes read; 0 with <paramref name="error"/> None means the
    /// peer closed and everything has been read (EOF); WouldBlock means nothing is waiting yet.
    /// </summary>
    public int Receive(Span<byte> buffer, out StackError error, bool peek = false)
    {
        error = StackError.None;
        int n = Receiver.Read(buffer, peek);
        if (n > 0)
        {
            return n;
        }

        // End of stream once the peer's FIN was read up to, even when a reset came after it
        // (Linux's tcp_recvmsg checks SOCK_DONE before sk_err; the error stays for the next send).
        if (Receiver.FinReceived)
        {
            return 0;
        }

        error = Error != StackError.None ? Error
            : State is TcpConnectionState.Closed ? StackError.NotConnected
            : StackError.WouldBlock;
        return 0;
    }

    /// <summary>
    /// Sends one byte of urgent data (send with MSG_OOB): it is appended to the stream and the
    /// segments up to it carry URG with the urgent pointer after it (RFC 6093). Returns 1, or 0
    /// when the send buffer is full.
    /// </summary>
    public int SendUrgent(byte value, out StackError error)
    {
        // Mark before sending, so that the segment carrying the byte already has URG.
        SeqNumber previousUp = Sender.UrgentPointer;
        bool previousUrgent = Sender.Urgent;
        Sender.UrgentPointer = Sender.Una + Sender.Buffered + 1;
        Sender.Urgent = true;
        ReadOnlySpan<byte> one = stackalloc byte[] { value };
        int n = Send(one, out error);
        if (n == 0)
        {
            Sender.UrgentPointer = previousUp;
            Sender.Urgent = previousUrgent;
        }

        return n;
    }

    /// <summary>Takes the out-of-band byte (recv with MSG_OOB); false (EINVAL on Linux) when none is waiting.</summary>
    public bool TryReceiveUrgent(out byte value, bool peek = false) => Receiver.TryTakeUrgent(out value, peek);

    /// <summary>Sends FIN after the buffered data; reading goes on (shutdown(SHUT_WR)).</summary>
    public void Shutdown()
    {
        if (State is TcpConnectionState.Established or TcpConnectionState.CloseWait or TcpConnectionState.SynReceived && !Sender.FinQueued)
        {
            Sender.FinQueued = true;
            Sender.Output();
        }
        else if (State == TcpConnectionState.SynSent)
        {
            SetState(TcpConnectionState.Closed);
        }
    }

    /// <summary>
    /// Closes: graceful (FIN after buffered data) unless received data is unread, in which case
    /// the connection is reset (RFC 1122 4.2.2.13). Data arriving later is answered with RST.
    /// </summary>
    public void Close()
    {
        if (_applicationClosed)
        {
            return;
        }

        _applicationClosed = true;
        if (State is TcpConnectionState.Closed or TcpConnectionState.TimeWait)
        {
            // Unread data of a connection past its FIN exchange goes back to the pool: nobody will
            // read it, and no reset is owed (Linux's tcp_close purges the receive queue in every
            // state, and resets only a connection that can still send). A TIME-WAIT reached before
            // the close goes on, on its own timer.
            Receiver.ReleaseMemory(applicationClosed: true);
            return;
        }

        if (Receiver.Available > 0)
        {
            Layer.Counters.Increment(Counter.TcpAbortOnClose);
            Abort();
            return;
        }

        if (State != TcpConnectionState.SynSent)
        {
            if (Layer.OrphanCount >= Layer.Settings.MaxOrphans)
            {
                Layer.Counters.Increment(Counter.TcpOrphanOverflow);
                Abort();
                return;
            }

            _orphan = true;
            Layer.OrphanCount++;
            if (State == TcpConnectionState.FinWait2)
            {
                // Closed after shutdown(): an orphan now, so it waits for the peer's FIN no longer
                // than FinWait2Timeout from here (Linux tcp_close arms the same timer in FIN_WAIT2).
                Timers.Schedule(TcpTimer.StateEnd, Layer.Now + Layer.Settings.FinWait2Timeout);
            }
        }

        Shutdown();
    }

    /// <summary>Resets the connection at once (linger 0): RST to the peer, buffers dropped.</summary>
    public void Abort()
    {
        bool closedBefore = _applicationClosed;
        _applicationClosed = true;
        if (State == TcpConnectionState.Closed || (closedBefore && State == TcpConnectionState.TimeWait))
        {
            // Already closed (a peer's reset, a timeout): SetState has nothing to do, so the unread
            // data it kept for the application goes back to the pool here, as in Close. Or in
            // TIME-WAIT after the application closed: no reset (RFC 9293 3.10.4, ABORT in
            // TIME-WAIT), and the wait is the stack's since Close, whether it runs as a record in
            // the stack's table (which ends that TIME-WAIT and its count) or, when the connection
            // reached TIME-WAIT before the close, on the connection's own timer: an abort does not
            // cut it short.
            Receiver.ReleaseMemory(applicationClosed: true);
            return;
        }

        if (State.ResetsOnAbort)
        {
            Sender.SendActiveReset();
        }

        SetState(TcpConnectionState.Closed);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Tuple} {State}";

    /// <summary>
    /// RFC 9293 3.10.7: SEGMENT ARRIVES, for a connection in any state but LISTEN. A window update
    /// the application's reads earn meanwhile waits to the end, so that whatever the application
    /// sent from its callbacks carries it.
    /// </summary>
    internal void OnSegment(TcpSegment seg, EcnCodepoint ecn = EcnCodepoint.NotEct)
    {
        InSegment = true;
        try
        {
            ProcessSegment(seg, ecn);
        }
        finally
        {
            InSegment = false;
        }

        Receiver.SendOwedWindowUpdate();
    }

    /// <summary>True while an arriving segment is processed (the application's callbacks run inside).</summary>
    internal bool InSegment { get; private set; }

    private void ProcessSegment(TcpSegment seg, EcnCodepoint ecn)
    {
        TcpFlags flags = seg.Flags;
        if (State == TcpConnectionState.SynSent)
        {
            OnSegmentInSynSent(seg);
            return;
        }

        // RFC 7323 5.3 (PAWS): a segment whose TSval is older than TS.Recent is a stale duplicate.
        TcpOptions received = TimestampsEnabled || SackEnabled ? TcpOptions.Parse(seg.Options) : TcpOptions.None;
        if (TimestampsEnabled && received.HasTimestamps && (flags & TcpFlags.Rst) == 0 && unchecked((int)(received.TimestampValue - TsRecent)) < 0)
        {
            Layer.Counters.Increment(Counter.TcpPawsRejected);
            Receiver.NoteDuplicate(seg.SequenceNumber, seg.Payload.Length); // RFC 2883 4: reported as Linux does
            if (Layer.TryOutOfWindowAck(seg, ref _lastChallengeAck))
            {
                Sender.SendAck();
            }

            return;
        }

        // The receiver's RTT for buffer auto-tuning: data echoing our timestamp.
        if (TimestampsEnabled && received.HasTimestamps && received.TimestampEcho != 0 && seg.Payload.Length > 0)
        {
            Receiver.MeasureRtt(unchecked(TimestampNow - received.TimestampEcho));
        }

        // First: the sequence number acceptability test (RFC 9293 3.10.7.4, four cases).
        if (!Receiver.IsAcceptable(seg))
        {
            Layer.Counters.Increment(Counter.TcpOutOfWindow);
            if ((flags & TcpFlags.Rst) == 0)
            {
                if (State == TcpConnectionState.TimeWait && (flags & TcpFlags.Fin) != 0)
                {
                    RestartTimeWait();
                }

                Receiver.NoteDuplicate(seg.SequenceNumber, seg.Payload.Length); // RFC 2883 4.1.1: a segment already received
                if (Layer.TryOutOfWindowAck(seg, ref _lastChallengeAck))
                {
                    Sender.SendAck();
                }
            }

            return;
        }

        _keepAlive.OnSegmentAccepted();

        // Second: RST (RFC 5961 3.2): exactly RCV.NXT resets; elsewhere in the window draws a challenge ACK.
        if ((flags & TcpFlags.Rst) != 0)
        {
            if (seg.SequenceNumber != Receiver.Nxt)
            {
                if (Layer.TryChallengeAck(ref _lastChallengeAck))
                {
                    Sender.SendAck();
                }

                return;
            }

            Layer.Counters.Increment(Counter.TcpResetsReceived);
            if (State == TcpConnectionState.SynReceived && Acceptor is not null)
            {
                // A passive open returns to LISTEN: this half-open connection just goes away.
                SetState(TcpConnectionState.Closed);
                return;
            }

            // The error by state, as Linux's tcp_reset: refused in a handshake, EPIPE in CLOSE-WAIT
            // (the peer had finished its side), a normal end once our FIN is out after theirs.
            Fail(State switch
            {
                TcpConnectionState.SynReceived => StackError.ConnectionRefused,
                TcpConnectionState.CloseWait => StackError.BrokenPipe,
                TcpConnectionState.Closing or TcpConnectionState.LastAck or TcpConnectionState.TimeWait => StackError.None,
                _ => StackError.ConnectionReset,
            });
            return;
        }

        // Fourth: SYN in a synchronized state (RFC 5961 4.2): a challenge ACK, never a reset.
        if ((flags & TcpFlags.Syn) != 0)
        {
            if (State == TcpConnectionState.SynReceived && seg.SequenceNumber == Receiver.Irs)
            {
                SendSyn(ack: true); // the peer retransmitted its SYN: repeat our SYN-ACK
                Rtt.StopTiming(); // Karn: the ACK may answer either SYN-ACK
                return;
            }

            if (Layer.TryChallengeAck(ref _lastChallengeAck))
            {
                Sender.SendAck();
            }

            return;
        }

        // Fifth: the ACK field.
        if ((flags & TcpFlags.Ack) == 0)
        {
            return;
        }

        if (!ProcessAck(seg, received))
        {
            return;
        }

        // Sixth: the URG bit (RFC 9293 3.10.7.4; pointer per RFC 6093: the byte after the urgent data).
        if ((flags & TcpFlags.Urg) != 0 && seg.UrgentPointer > 0 && State.ReceivesText)
        {
            Receiver.OnUrgentPointer(seg);
        }

        // RFC 3168 6.1.3: CWR ends our ECN-Echo, CE on data starts it (and is acknowledged at once).
        if (Ecn.OnSegment(flags, seg.Payload.Length, ecn))
        {
            Receiver.AckSoon();
        }

        // Seventh: segment text.
        ReadOnlySpan<byte> payload = seg.Payload;
        SeqNumber seq = seg.SequenceNumber;
        if (payload.Length > 0 && State.ReceivesText)
        {
            if (_applicationClosed)
            {
                // Nobody will read it: reset (RFC 9293 3.10.7.4 / RFC 1122 4.2.2.13, as Linux). Linux
                // answers the segment as from no connection (tcp_v4_send_reset after
                // tcp_rcv_state_process): the RST's sequence number is the segment's ACK field,
                // which is below SND.NXT while our FIN waits to be acknowledged.
                Layer.Counters.Increment(Counter.TcpAbortOnData);
                Sender.SendReset((flags & TcpFlags.Ack) != 0 ? seg.AcknowledgmentNumber : Sender.Nxt);
                Fail(StackError.ConnectionReset);
                return;
            }

            if (!Receiver.ReceiveText(ref seq, ref payload, ref flags))
            {
                // RFC 9293 3.10.7.4: the ACK field (fifth check) counts whatever becomes of the
                // text (seventh). What it acknowledged or the window it opened lets held data go
                // now, as after any ACK; with nothing left in flight no timer would send it later.
                Sender.Output();
                return;
            }
        }

        // Eighth: FIN.
        if ((flags & TcpFlags.Fin) != 0 && seq + payload.Length == Receiver.Nxt && !Receiver.FinReceived)
        {
            Receiver.FinReceived = true;
            Receiver.Nxt += 1;
            if (State is TcpConnectionState.SynReceived or TcpConnectionState.Established)
            {
                // CLOSE-WAIT before the application hears of the end of the stream, so that a
                // close from its callback is a passive close (LAST-ACK), never a simultaneous
                // one; what it sends from there (data, its FIN) carries the ACK of this FIN.
                SetState(TcpConnectionState.CloseWait);
                Readable?.Invoke();
                if (Receiver.LastAckSent != Receiver.Nxt)
                {
                    Sender.SendAck();
                }
            }
            else
            {
                Sender.SendAck();
                Readable?.Invoke();
                switch (State)
                {
                    case TcpConnectionState.FinWait1:
                        SetState(Sender.FinAcked ? TcpConnectionState.TimeWait : TcpConnectionState.Closing);
                        break;
                    case TcpConnectionState.FinWait2:
                        SetState(TcpConnectionState.TimeWait);
                        break;
                }
            }
        }
        else if ((flags & TcpFlags.Fin) != 0 && State == TcpConnectionState.TimeWait)
        {
            Sender.SendAck();
            RestartTimeWait();
        }

        Sender.Output();
    }

    // RFC 9293 3.10.7.4, fifth check. Returns false when the segment is to be dropped.
    // RFC 7323 4.3: TS.Recent follows acceptable segments that cover the last ACK we sent, and only
    // once the segment has passed the RST, SYN and ACK checks too (as Linux's tcp_ack does it): a
    // blind in-window segment whose ACK is out of range must not move TS.Recent, or a far-future
    // TSval would make PAWS drop every later valid segment.
    private void UpdateTsRecent(TcpSegment seg, in TcpOptions received)
    {
        if (TimestampsEnabled && received.HasTimestamps && seg.SequenceNumber <= Receiver.LastAckSent)
        {
            TsRecent = received.TimestampValue;
        }
    }

    private bool ProcessAck(TcpSegment seg, in TcpOptions received)
    {
        SeqNumber ack = seg.AcknowledgmentNumber;
        if (State == TcpConnectionState.SynReceived)
        {
            if (!(ack > Sender.Una && ack <= Sender.Nxt))
            {
                Sender.SendReset(ack);
                return false;
            }

            if (Acceptor is not null && !Acceptor.CanAccept)
            {
                // Accept queue full (Linux, tcp_abort_on_overflow=0): ignore the ACK; our SYN-ACK
                // is retransmitted and the handshake completes once there is room.
                Layer.Counters.Increment(Counter.TcpListenOverflow);
                return false;
            }

            UpdateTsRecent(seg, received);
            Rtt.SampleOnAck(ack, Layer.Now);
            Sender.SetWindow((uint)seg.Window << Sender.Shift, seg.SequenceNumber, ack);
            // Our SYN is acknowledged. SND.UNA moves before the state change, because entering
            // ESTABLISHED wakes the application (accept), which may send at once.
            Sender.Una = ack;
            SetState(TcpConnectionState.Established);
        }

        // RFC 5961 5.2: an ACK outside [SND.UNA - MAX.SND.WND, SND.NXT] draws an ACK and is dropped.
        if (ack > Sender.Max)
        {
            Layer.Counters.Increment(Counter.TcpAckOfUnsentData);
            Sender.SendAck();
            return false;
        }

        if (ack < Sender.Una - (int)Math.Min(Sender.MaxWnd, int.MaxValue))
        {
            Layer.Counters.Increment(Counter.TcpAckTooOld);
            Sender.SendAck();
            return false;
        }

        UpdateTsRecent(seg, received);
        Sender.OnAck(seg, received);
        if (Sender.FinAcked)
        {
            switch (State)
            {
                case TcpConnectionState.FinWait1:
                    SetState(TcpConnectionState.FinWait2);
                    break;
                case TcpConnectionState.Closing:
                    SetState(TcpConnectionState.TimeWait);
                    break;
                case TcpConnectionState.LastAck:
                    SetState(TcpConnectionState.Closed);
                    return false;
            }
        }

        return true;
    }

    // Our FIN went out: RFC 9293 3.10.4 (CLOSE) moves ESTABLISHED to FIN-WAIT-1, CLOSE-WAIT to LAST-ACK.
    internal void OnFinSent()
    {
        if (State == TcpConnectionState.Established)
        {
            SetState(TcpConnectionState.FinWait1);
        }
        else if (State == TcpConnectionState.CloseWait)
        {
            SetState(TcpConnectionState.LastAck);
        }
    }

    internal void OnIcmpError(StackError error, SeqNumber quotedSequence, int mtu = 0)
    {
        // RFC 5927 4.1: accept the error only if the quoted sequence number is in flight. With
        // nothing in flight nothing is: [SND.UNA, SND.UNA - 1] is not an empty range to a serial
        // comparison but the whole space, and every forged error passed while the connection was idle.
        bool inFlight = Sender.Una != Sender.Max && quotedSequence.IsBetweenInclusive(Sender.Una, Sender.Max - 1);
        if (!inFlight && !(State == TcpConnectionState.SynSent && quotedSequence == Sender.Iss))
        {
            Layer.Counters.Increment(Counter.TcpIcmpOutOfWindow);
            return;
        }

        if (error == StackError.MessageTooLong)
        {
            LowerPathMtu(mtu);
            return;
        }

        // RFC 1122 4.2.3.9: hard errors abort a connection still opening; otherwise they are soft.
        if (State == TcpConnectionState.SynSent && error is StackError.ConnectionRefused or StackError.HostUnreachable or StackError.NetworkUnreachable or StackError.ProtocolUnreachable)
        {
            Fail(error == StackError.ProtocolUnreachable ? StackError.ConnectionRefused : error);
        }
    }

    // RFC 1191 6.3 / RFC 8201 4 (and RFC 5927 5.2's care): a smaller path MTU lowers the send MSS,
    // never raises it; IPv4 is floored at 552 bytes (Linux's min_pmtu: a forged tiny MTU cannot
    // shrink segments to nothing), IPv6 at its minimum link MTU of 1280. Segments already in
    // flight were too big and dropped: send them again at the new size (go back to SND.UNA).
    private void LowerPathMtu(int mtu)
    {
        bool v6 = Tuple.Remote.Address.IsV6;
        int floor = v6 ? 1280 : 552;
        if (mtu <= 0)
        {
            mtu = v6 ? 1280 : 576; // RFC 1191 5: an old router sent no MTU; assume the minimum
        }

        mtu = Math.Max(mtu, floor);
        int mss = mtu - (v6 ? Ipv6Packet.HeaderLength : Ipv4Packet.MinHeaderLength) - TcpSegment.MinHeaderLength;
        mss = Math.Max(MinSendMss, mss);
        if (mss >= _mss)
        {
            return;
        }

        _mss = mss;
        Sender.Congestion.SetMss(Mss, beforeData: false);
        Layer.Counters.Increment(Counter.TcpPathMtuReductions);
        if (State.Sends && Sender.Nxt != Sender.Una)
        {
            Rtt.StopTiming();
            Sender.GoBackToUnacknowledged();
            Sender.Output();
        }
    }

    // Every timer of the connection fires here (TcpTimers).
    internal void OnTimer(TcpTimer timer, Instant now)
    {
        switch (timer)
        {
            case TcpTimer.Retransmit:
                OnRetransmitTimeout(now);
                break;
            case TcpTimer.DelayedAck:
                Sender.SendAck();
                break;
            case TcpTimer.StateEnd:
                OnStateTimeout();
                break;
            case TcpTimer.KeepAlive:
                _keepAlive.OnTimeout(now);
                break;
            case TcpTimer.RackReordering:
                if (State is not (TcpConnectionState.Closed or TcpConnectionState.TimeWait) && Sender.Nxt != Sender.Una)
                {
                    bool recoveringBefore = Recovery.InRecovery;
                    long sentBefore = Sender.BytesSent;
                    Recovery.DetectLoss();
                    if (!recoveringBefore)
                    {
                        Recovery.OnRecoveryEnteredByTimer(Sender.BytesSent - sentBefore);
                    }

                    Sender.Output();
                }

                break;
            case TcpTimer.Pace:
                if (State.Sends)
                {
                    Sender.Output(); // the next departure time has come
                }

                break;
        }
    }

    // RFC 6298 5: on expiry retransmit the earliest unacknowledged segment, back off, restart.
    private void OnRetransmitTimeout(Instant now)
    {
        if (State is TcpConnectionState.Closed or TcpConnectionState.TimeWait or TcpConnectionState.Listen || Sender.OnCorkProbeTimeout() || Sender.OnProbeTimeout())
        {
            return;
        }

        Recovery.OnRetransmitTimeout();
        TcpSettings settings = Layer.Settings;
        int limit = State switch
        {
            TcpConnectionState.SynSent => settings.MaxSynRetransmissions,
            TcpConnectionState.SynReceived => settings.MaxSynAckRetransmissions,
            _ => settings.MaxRetransmissions,
        };
        // RFC 5482: the user timeout bounds how long data may stay unacknowledged.
        if (UserTimeout > TimeSpan.Zero && State is not (TcpConnectionState.SynSent or TcpConnectionState.SynReceived) && now - Sender.OldestUnackedAt >= UserTimeout)
        {
            Layer.Counters.Increment(Counter.TcpUserTimeouts);
            Fail(StackError.TimedOut);
            return;
        }

        if (Sender.Retries >= limit)
        {
            Layer.Counters.Increment(Counter.TcpTimeoutAborts);
            if (State == TcpConnectionState.SynReceived && Acceptor is not null)
            {
                SetState(TcpConnectionState.Closed);
                return;
            }

            Fail(StackError.TimedOut);
            return;
        }

        Sender.Retries++;
        Sender.Timeouts++;
        Layer.Counters.Increment(Counter.TcpTimeouts);
        Rtt.BackOff(); // RFC 6298 5.5
        Rtt.StopTiming(); // Karn: no RTT sample from retransmitted data
        switch (State)
        {
            case TcpConnectionState.SynSent:
                SendSyn(ack: false, retransmission: true);
                break;
            case TcpConnectionState.SynReceived:
                SendSyn(ack: true);
                break;
            default:
                Sender.OnRetransmitTimeout(now);
                break;
        }

        Sender.ArmRetransmit(restart: true);
    }

    // RFC 9293 3.10.7.4 (eighth, TIME-WAIT): a FIN restarts the 2 MSL wait. Not once the wait has
    // gone on as a record in the stack's table: the segment that made it (a FIN+ACK acknowledging
    // our FIN in CLOSING) is still being processed here, the record was started just now, and a
    // timer set on the released connection would end that TIME-WAIT a second time.
    private void RestartTimeWait()
    {
        if (_timeWait is null)
        {
            Timers.Schedule(TcpTimer.StateEnd, Layer.Now + Layer.Settings.TimeWaitDuration);
        }
    }

    // The state timer ends TIME-WAIT, or an orphan's wait in FIN-WAIT-2.
    private void OnStateTimeout()
    {
        if (State == TcpConnectionState.FinWait2)
        {
            Layer.Counters.Increment(Counter.TcpFinWait2Timeouts);
        }

        SetState(TcpConnectionState.Closed);
    }

    internal void Fail(StackError error)
    {
        Error = error;
        SetState(TcpConnectionState.Closed);
        Readable?.Invoke();
        Writable?.Invoke();
    }

    /// <summary>The one place state changes (ARCHITECTURE rule 5): counts, arms and cancels timers, notifies.</summary>
    private void SetState(TcpConnectionState next)
    {
        TcpConnectionState previous = State;
        if (next == TcpConnectionState.TimeWait && previous != TcpConnectionState.TimeWait && Layer.TimeWaitCount >= Layer.Settings.MaxTimeWait)
        {
            // The TIME-WAIT bound is reached: close at once (as Linux past tcp_max_tw_buckets).
            Layer.Counters.Increment(Counter.TcpTimeWaitOverflow);
            next = TcpConnectionState.Closed;
        }

        if (previous == next)
        {
            return;
        }

        _state = next;
        if (TableIndex >= 0)
        {
            Layer.CountStateChange(previous, next);
        }

        switch (next)
        {
            case TcpConnectionState.FinWait2:
                if (_orphan)
                {
                    Timers.Schedule(TcpTimer.StateEnd, Layer.Now + Layer.Settings.FinWait2Timeout);
                }

                break;
            case TcpConnectionState.Established:
                Layer.Counters.Increment(Counter.TcpEstablished);
                (ChecksumOffload, MaxSuperSegment) = Layer.OffloadsFor(Tuple.Remote.Address);
                Sender.OnEstablished();
                Receiver.OnEstablished();
                Ecn.OnEstablished();
                _keepAlive.OnEstablished();

                if (previous == TcpConnectionState.SynReceived)
                {
                    Timers.Cancel(TcpTimer.Retransmit);
                    Sender.Retries = 0;
                    Acceptor?.OnEstablished(this);
                }

                break;
            case TcpConnectionState.TimeWait when _applicationClosed:
                // Nobody reads or writes this connection again: its TIME-WAIT continues as a compact
                // record in the stack's table and the connection lets go of everything it holds.
                Layer.Counters.Increment(Counter.TcpTimeWaits);
                uint window = Receiver.Window;
                _timeWait = new TimeWaitRecord
                {
                    Tuple = Tuple,
                    SendNext = Sender.Nxt,
                    ReceiveNext = Receiver.Nxt,
                    ReceiveWindow = window,
                    WindowField = (ushort)Math.Min(window >> Receiver.Shift, ushort.MaxValue),
                    MaxSendWindow = Sender.MaxWnd,
                    Timestamps = TimestampsEnabled,
                    TimestampOffset = _tsOffset,
                    TimestampRecent = TsRecent,
                };
                Layer.TimeWaits.Add(_timeWait);
                Release();
                break;
            case TcpConnectionState.TimeWait:
                Layer.Counters.Increment(Counter.TcpTimeWaits);
                Layer.TimeWaitCount++;
                ReleaseOrphan();
                Timers.Cancel(TcpTimer.KeepAlive);
                Timers.Cancel(TcpTimer.Retransmit);
                Timers.Cancel(TcpTimer.DelayedAck);
                RestartTimeWait();
                break;
            case TcpConnectionState.Closed:
                if (previous == TcpConnectionState.TimeWait)
                {
                    Layer.TimeWaitCount--;
                }

                Release();
                break;
        }

        StateChanged?.Invoke(next);
    }

    // Out of the tables, timers stopped, data memory back in the pool.
    private void Release()
    {
        Timers.CancelAll();
        Sender.ReleaseMemory();
        Receiver.ReleaseMemory(_applicationClosed);
        ReleaseOrphan();
        Layer.Unregister(this);
        Acceptor?.OnClosed(this);
    }

    private void ReleaseOrphan()
    {
        if (_orphan)
        {
            _orphan = false;
            Layer.OrphanCount--;
        }
    }
}
