// RFC 9293 3.10: the connection state machine. Every state change goes through SetState; segment
// arrival is handled in one place (OnSegment) in the order of RFC 9293 3.10.7.
using TunStack.Ip;
using TunStack.Storage;
using TunStack.Wire;

namespace TunStack.Tcp;

/// <summary>
/// One TCP connection: the core's stream socket, which the sockets facade wraps. Use it only on the
/// stack's owner thread. Data written with <see cref="Send"/> is buffered and sent as the peer's
/// window allows; data received in order is buffered for <see cref="Receive"/>.
/// </summary>
public sealed class TcpConnection
{
    private const int MinSendMss = 48; // Linux tcp_min_snd_mss (CVE-2019-11477)
    private const int MaxOutOfOrderRanges = 32; // separate holes tracked; beyond that segments are dropped
    private const int TimestampOptionLength = 12;

    private readonly TcpLayer _layer;
    private readonly RingBuffer _sendBuffer;
    private readonly RingBuffer _receiveBuffer;
    private readonly TimerEntry _retransmitTimer;
    private readonly TimerEntry _delayedAckTimer;
    private readonly TimerEntry _timeWaitTimer;
    private readonly TimerEntry _keepAliveTimer;
    private int _keepAliveProbesSent;
    private bool _keepAlive;
    private bool _orphan;
    private Instant _oldestUnackedAt;

    // Urgent data (RFC 9293 3.8.5 with RFC 6093's pointer: the byte after the urgent data), as
    // Linux/BSD: one byte taken out of the stream, readable with MSG_OOB, the stream marked where it was.
    private SeqNumber _sndUp;
    private bool _sndUrgent;
    private SeqNumber _rcvUp;
    private bool _rcvUrgentPending;
    private int _oobByte = -1;
    private long _streamWritten;
    private long _streamRead;
    private long _urgentMark = -1;

    // RFC 9293 3.3.1 send and receive sequence variables.
    private SeqNumber _iss, _sndUna, _sndNxt, _sndWl1, _sndWl2, _irs, _rcvNxt;
    private uint _sndWnd;
    private uint _maxSndWnd; // MAX.SND.WND of RFC 5961 5.2: the largest window the peer has offered
    private int _sndShift, _rcvShift;
    private bool _windowScaling;
    private int _mss = 536;
    private SeqNumber _advertisedRight;

    // RFC 2018 SACK and RFC 7323 timestamps, when both SYNs carried them.
    private bool _sackPermitted, _timestamps;
    private uint _tsRecent, _tsOffset;
    private SeqNumber _lastAckSent;
    private readonly Assembler _outOfOrder = new(MaxOutOfOrderRanges);
    private SeqNumber? _outOfOrderFin;

    // Closing: FIN queued by the application, sent at _finSeq, acknowledged.
    private bool _finQueued, _finSent, _finAcked, _finReceived, _applicationClosed;
    private SeqNumber _finSeq;
    private bool _finEverSent;
    private SeqNumber _sndMax; // the highest SND.NXT so far: after a go-back-N retransmission, ACKs up to here are valid (as BSD's snd_max)

    // RFC 6298: RTT estimation with Karn's algorithm, backoff, retry count.
    private TimeSpan _srtt, _rttvar, _rto;
    private bool _hasRtt;
    private bool _timing;
    private SeqNumber _timedSeq;
    private Instant _timedAt;
    private int _retries;
    private int _unackedBytes;

    // Loss recovery (RFC 5681 3.2, RFC 6582 NewReno, RFC 6675 SACK, RFC 3042) and congestion control.
    private const int DupThresh = 3; // RFC 5681 3.2 / RFC 6675 2
    private CongestionControl _cc;
    private readonly SackScoreboard _scoreboard = new();
    private int _dupAcks;
    private bool _inRecovery;
    private SeqNumber _recoveryPoint;   // RFC 6582 "recover" / RFC 6675 RecoveryPoint: SND.NXT when the loss was found
    private SeqNumber _highRxt;         // RFC 6675 HighRxt: end of the highest retransmission in this recovery
    private int _renoSacked;            // without SACK: segments the duplicate ACKs say have left the network
    private bool _limitedTransmit;
    private SeqNumber _roundEnd;        // HyStart++ rounds: a round ends when this is acknowledged
    private TimeSpan _minRtt = TimeSpan.MaxValue;

    // RFC 7661 congestion window validation: cwnd grows only when the flight used at least half
    // of it in the last round trips; an unused window ages out after the non-validated period.
    private static readonly TimeSpan NonValidatedPeriod = TimeSpan.FromMinutes(5);
    private int _roundMaxFlight, _lastRoundMaxFlight;
    private Instant _nonValidatedSince;

    // Buffer auto-tuning (Linux tcp_rcv_space_adjust / tcp_sndbuf_expand).
    private readonly bool _autoTuneSend, _autoTuneReceive;
    private Instant _rcvSpaceStart;
    private long _rcvSpaceRead;
    private TimeSpan _rcvRtt;

    // tcp_info statistics.
    private long _bytesSent, _bytesRetransmitted, _bytesAcked, _retransmitSegments, _timeouts, _recoveries, _lostSegments, _undos;
    private long _roundStartAcked;

    // RFC 3708 / RFC 2883: undo of a loss episode whose retransmissions all prove needless.
    private bool _undoArmed;
    private int _undoCwnd, _undoSsthresh, _undoRetransmissions;
    private SeqNumber _undoMarker;

    // RFC 8985 RACK-TLP (SACK connections): the segments in flight with their send times, the most
    // recently sent segment known delivered, the reordering window, and the tail loss probe.
    private readonly SentSegments _sent;
    private readonly Action<SentSegments.Entry> _onDelivered;
    private readonly TimerEntry _rackTimer;
    private Instant _rackXmitTs;
    private long _rackOrder;
    private TimeSpan _rackRtt;
    private SeqNumber _rackFack;
    private bool _rackReorderingSeen;
    private bool _ptoArmed;          // the retransmission timer is set for a probe timeout, not an RTO
    private bool _tlpInFlight;       // a probe was sent and not yet answered
    private SeqNumber _tlpEndSeq;
    private bool _tlpWasRetransmission;
    private bool _probeSegment;
    private Instant _roundStartAt;
    private double _deliveryRate;

    internal TcpConnection(TcpLayer layer, TcpListener? listener, int sendBufferSize = 0, int receiveBufferSize = 0)
    {
        _layer = layer;
        Listener = listener;
        sendBufferSize = sendBufferSize > 0 ? sendBufferSize : listener?.SendBufferSize ?? 0;
        receiveBufferSize = receiveBufferSize > 0 ? receiveBufferSize : listener?.ReceiveBufferSize ?? 0;
        _autoTuneSend = sendBufferSize <= 0 && layer.Settings.AutoTuneBuffers;
        _autoTuneReceive = receiveBufferSize <= 0 && layer.Settings.AutoTuneBuffers;
        int requestedReceive = receiveBufferSize;
        sendBufferSize = sendBufferSize > 0 ? sendBufferSize : layer.Settings.SendBufferSize;
        receiveBufferSize = receiveBufferSize > 0 ? receiveBufferSize : layer.Settings.ReceiveBufferSize;
        _sendBuffer = new RingBuffer(sendBufferSize);
        _receiveBuffer = new RingBuffer(receiveBufferSize);
        _retransmitTimer = new TimerEntry(OnRetransmitTimeout);
        _delayedAckTimer = new TimerEntry(_ => SendAck());
        _timeWaitTimer = new TimerEntry(_ => OnStateTimer());
        _keepAliveTimer = new TimerEntry(OnKeepAliveTimer);
        KeepAliveIdle = layer.Settings.KeepAliveIdle;
        KeepAliveInterval = layer.Settings.KeepAliveInterval;
        KeepAliveProbes = layer.Settings.KeepAliveProbes;
        _rto = layer.Settings.InitialRto;
        _rcvShift = ReceiveShiftFor(layer.Settings, requestedReceive);
        _cc = CongestionControl.Create(layer.Settings.CongestionControl, 536);
        _sent = new SentSegments((sendBufferSize / 512) + 64);
        _onDelivered = OnRackDelivered;
        _rackTimer = new TimerEntry(_ => OnRackTimer());
    }

    /// <summary>
    /// The window scale offered for a receive buffer of <paramref name="requested"/> bytes (0: the
    /// default, auto-tuned up to <see cref="TcpSettings.ReceiveBufferMax"/>, so scaled for that).
    /// </summary>
    internal static int ReceiveShiftFor(TcpSettings settings, int requested)
        => ReceiveShift(requested > 0 ? requested : settings.AutoTuneBuffers ? Math.Max(settings.ReceiveBufferSize, settings.ReceiveBufferMax) : settings.ReceiveBufferSize);

    /// <summary>The window scale that lets a window of <paramref name="bufferSize"/> bytes be advertised (RFC 7323 2.3, at most 14).</summary>
    internal static int ReceiveShift(int bufferSize)
    {
        int shift = 0;
        while ((bufferSize >> shift) > 65535 && shift < TcpOptions.MaxWindowScale)
        {
            shift++;
        }

        return shift;
    }

    /// <summary>The connection's addresses and ports.</summary>
    public TcpTuple Tuple { get; private set; }

    /// <summary>The RFC 9293 state.</summary>
    public TcpState State { get; private set; } = TcpState.Closed;

    /// <summary>Why the connection failed (ConnectionRefused, ConnectionReset, TimedOut, ...), or None.</summary>
    public StackError Error { get; private set; }

    /// <summary>Bytes received and not yet read.</summary>
    public int Available => _receiveBuffer.Count;

    /// <summary>Room left in the send buffer.</summary>
    public int SendSpace => _sendBuffer.Free;

    /// <summary>Size of the send buffer (SO_SNDBUF).</summary>
    public int SendBufferSize => _sendBuffer.Capacity;

    /// <summary>Size of the receive buffer (SO_RCVBUF); it bounds the advertised window.</summary>
    public int ReceiveBufferSize => _receiveBuffer.Capacity;

    /// <summary>True once the peer's FIN has been received (reads return 0 after the buffer drains).</summary>
    public bool PeerClosed => _finReceived;

    /// <summary>Disable Nagle's algorithm (TCP_NODELAY).</summary>
    public bool NoDelay { get; set; }

    /// <summary>The effective send MSS: the largest payload per segment (timestamps included).</summary>
    public int Mss => _mss - (_timestamps ? TimestampOptionLength : 0);

    /// <summary>True when timestamps (RFC 7323) were negotiated.</summary>
    public bool TimestampsEnabled => _timestamps;

    /// <summary>True when SACK (RFC 2018) was negotiated.</summary>
    public bool SackEnabled => _sackPermitted;

    /// <summary>True when window scaling (RFC 7323 2) was negotiated.</summary>
    public bool WindowScalingEnabled => _windowScaling;

    /// <summary>Smoothed RTT (RFC 6298), zero before the first sample.</summary>
    public TimeSpan SmoothedRtt => _srtt;

    /// <summary>The current retransmission timeout.</summary>
    public TimeSpan RetransmissionTimeout => _rto;

    /// <summary>The congestion control algorithm; switching keeps the current window and threshold.</summary>
    public CongestionAlgorithm CongestionAlgorithm
    {
        get => _cc.Algorithm;
        set
        {
            if (value != _cc.Algorithm)
            {
                CongestionControl next = CongestionControl.Create(value, _cc.Mss);
                next.Restore(_cc.Cwnd, _cc.Ssthresh);
                _cc = next;
            }
        }
    }

    /// <summary>The congestion window in bytes.</summary>
    public int CongestionWindow => _cc.Cwnd;

    /// <summary>The slow start threshold in bytes (int.MaxValue / 2 until the first loss).</summary>
    public int SlowStartThreshold => _cc.Ssthresh;

    /// <summary>True during fast recovery.</summary>
    public bool InRecovery => _inRecovery;

    /// <summary>State and statistics now, like Linux's tcp_info.</summary>
    public TcpConnectionInfo GetInfo() => new(
        State, _cc.Algorithm, Mss, _srtt, _rttvar, _minRtt, _rto, _cc.Cwnd, _cc.Ssthresh, _inRecovery, _sndNxt - _sndUna, Pipe(),
        _bytesSent, _bytesRetransmitted, _bytesAcked, _streamWritten, _retransmitSegments, _timeouts, _recoveries, _lostSegments,
        _scoreboard.SackedBytes, _undos, _deliveryRate);

    /// <summary>Called on the owner thread when data (or the peer's FIN) can be read.</summary>
    public Action? Readable { get; set; }

    /// <summary>Called on the owner thread when send space frees up.</summary>
    public Action? Writable { get; set; }

    /// <summary>Called on the owner thread after every state change.</summary>
    public Action<TcpState>? StateChanged { get; set; }

    internal TcpListener? Listener { get; set; }

    /// <summary>SO_KEEPALIVE: probe an idle connection and drop it with TimedOut when the probes go unanswered. Off by default.</summary>
    public bool KeepAlive
    {
        get => _keepAlive;
        set
        {
            _keepAlive = value;
            if (value)
            {
                ArmKeepAlive();
            }
            else
            {
                _layer.Timers.Cancel(_keepAliveTimer);
            }
        }
    }

    /// <summary>TCP_KEEPIDLE: idle time before the first probe.</summary>
    public TimeSpan KeepAliveIdle { get; set; }

    /// <summary>TCP_KEEPINTVL: time between probes.</summary>
    public TimeSpan KeepAliveInterval { get; set; }

    /// <summary>TCP_KEEPCNT: unanswered probes before the connection is dropped.</summary>
    public int KeepAliveProbes { get; set; }

    /// <summary>TCP_USER_TIMEOUT (RFC 5482): abort with TimedOut when sent data stays unacknowledged this long; zero = off.</summary>
    public TimeSpan UserTimeout { get; set; }

    /// <summary>
    /// Appends data to the send buffer and sends what the window allows. Returns the bytes taken
    /// (0 when the buffer is full: try again when <see cref="Writable"/> fires), or an error:
    /// NotConnected before the handshake completes, Closed after Shutdown/Close, or the error that ended the connection.
    /// </summary>
    public int Send(ReadOnlySpan<byte> data, out StackError error)
    {
        error = StackError.None;
        if (Error != StackError.None)
        {
            error = Error;
            return 0;
        }

        if (_finQueued || _applicationClosed)
        {
            error = StackError.Closed;
            return 0;
        }

        if (State is not (TcpState.Established or TcpState.CloseWait))
        {
            error = State is TcpState.SynSent or TcpState.SynReceived ? StackError.WouldBlock : StackError.NotConnected;
            return 0;
        }

        int n = Math.Min(data.Length, _sendBuffer.Free);
        _sendBuffer.TryWrite(data[..n]);
        Output();
        return n;
    }

    /// <summary>
    /// Reads received data. Returns the bytes read; 0 with <paramref name="error"/> None means the
    /// peer closed and everything has been read (EOF); WouldBlock means nothing is waiting yet.
    /// </summary>
    public int Receive(Span<byte> buffer, out StackError error, bool peek = false)
    {
        error = StackError.None;
        if (_urgentMark > _streamRead && _urgentMark - _streamRead < buffer.Length)
        {
            buffer = buffer[..(int)(_urgentMark - _streamRead)]; // a read stops at the mark, as on Linux
        }

        int n = peek ? _receiveBuffer.Peek(buffer) : _receiveBuffer.Read(buffer);
        if (!peek)
        {
            _streamRead += n;
            TuneReceiveBuffer();
        }

        if (n > 0)
        {
            if (!peek)
            {
                MaybeSendWindowUpdate();
            }

            return n;
        }

        if (Error != StackError.None)
        {
            error = Error;
        }
        else if (!_finReceived)
        {
            error = State is TcpState.Closed ? StackError.NotConnected : StackError.WouldBlock;
        }

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
        SeqNumber previousUp = _sndUp;
        bool previousUrgent = _sndUrgent;
        _sndUp = _sndUna + _sendBuffer.Count + 1;
        _sndUrgent = true;
        ReadOnlySpan<byte> one = stackalloc byte[] { value };
        int n = Send(one, out error);
        if (n == 0)
        {
            _sndUp = previousUp;
            _sndUrgent = previousUrgent;
        }

        return n;
    }

    /// <summary>Takes the out-of-band byte (recv with MSG_OOB); false (EINVAL on Linux) when none is waiting.</summary>
    public bool TryReceiveUrgent(out byte value, bool peek = false)
    {
        value = _oobByte < 0 ? (byte)0 : (byte)_oobByte;
        if (_oobByte < 0)
        {
            return false;
        }

        if (!peek)
        {
            _oobByte = -1;
        }

        return true;
    }

    /// <summary>True when the next byte to read is where the urgent byte was (SIOCATMARK).</summary>
    public bool AtMark => _urgentMark >= 0 && _streamRead == _urgentMark;

    /// <summary>True when an out-of-band byte is waiting (poll's POLLPRI).</summary>
    public bool HasUrgentData => _oobByte >= 0;

    /// <summary>Sends FIN after the buffered data; reading goes on (shutdown(SHUT_WR)).</summary>
    public void Shutdown()
    {
        if (State is TcpState.Established or TcpState.CloseWait or TcpState.SynReceived && !_finQueued)
        {
            _finQueued = true;
            Output();
        }
        else if (State == TcpState.SynSent)
        {
            SetState(TcpState.Closed);
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
        if (_receiveBuffer.Count > 0 && State is not (TcpState.Closed or TcpState.TimeWait))
        {
            _layer.Counters.Increment(Counter.TcpAbortOnClose);
            Abort();
            return;
        }

        if (State is not (TcpState.Closed or TcpState.TimeWait or TcpState.SynSent))
        {
            if (_layer.OrphanCount >= _layer.Settings.MaxOrphans)
            {
                _layer.Counters.Increment(Counter.TcpOrphanOverflow);
                Abort();
                return;
            }

            _orphan = true;
            _layer.OrphanCount++;
        }

        Shutdown();
    }

    /// <summary>Resets the connection at once (linger 0): RST to the peer, buffers dropped.</summary>
    public void Abort()
    {
        _applicationClosed = true;
        if (State is TcpState.SynReceived or TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2 or TcpState.CloseWait)
        {
            _layer.Send(Tuple, _sndNxt, default, TcpFlags.Rst, 0, TcpOptions.None, null, 0, 0);
        }

        SetState(TcpState.Closed);
    }

    internal void StartActive(TcpTuple tuple, SeqNumber iss)
    {
        Tuple = tuple;
        _iss = iss;
        _tsOffset = iss.Value * 2654435761u; // RFC 7323 5.4: a per-connection timestamp offset
        _sndUna = iss;
        _sndNxt = iss + 1;
        _sndMax = _sndNxt;
        _mss = Math.Max(MinSendMss, DefaultMss(tuple.Remote.Address));
        SetState(TcpState.SynSent);
        SendSyn(ack: false);
        ArmRetransmit();
    }

    // RFC 9293 3.10.7.2 (LISTEN) for the listener: a SYN opens a connection in SYN-RECEIVED.
    internal void StartPassive(TcpTuple tuple, TcpSegment syn, SeqNumber iss)
    {
        Tuple = tuple;
        _iss = iss;
        _tsOffset = iss.Value * 2654435761u; // RFC 7323 5.4: a per-connection timestamp offset
        _irs = syn.SequenceNumber;
        _rcvNxt = _irs + 1;
        _lastAckSent = _rcvNxt; // the SYN-ACK acknowledges the SYN
        _sndUna = iss;
        _sndNxt = iss + 1;
        _sndMax = _sndNxt;
        ApplySynOptions(syn);
        _sndWnd = syn.Window; // RFC 7323 2.2: the window in a SYN is never scaled
        _sndWl1 = syn.SequenceNumber;
        _sndWl2 = syn.AcknowledgmentNumber;
        SetState(TcpState.SynReceived);
        SendSyn(ack: true);
        ArmRetransmit();
    }

    // RFC 4987 3.6: a handshake completed from a SYN cookie starts with what the cookie carried.
    internal void StartFromCookie(TcpTuple tuple, SeqNumber iss, SeqNumber irs, int mss, int windowScale, bool sack, in TcpOptions ackOptions)
    {
        Tuple = tuple;
        _iss = iss;
        _irs = irs;
        _rcvNxt = irs + 1;
        _lastAckSent = _rcvNxt;
        _sndUna = iss + 1;
        _sndNxt = iss + 1;
        _sndMax = _sndNxt;
        _mss = Math.Max(MinSendMss, mss);
        _windowScaling = windowScale >= 0;
        _sndShift = _windowScaling ? windowScale : 0;
        if (!_windowScaling)
        {
            _rcvShift = 0;
        }

        _sackPermitted = sack;
        _timestamps = ackOptions.HasTimestamps;
        _tsRecent = ackOptions.TimestampValue;
        _tsOffset = iss.Value; // continues the TSval clock of the cookie SYN-ACK, so the peer's PAWS accepts us
        State = TcpState.SynReceived;
    }

    // Enters ESTABLISHED (waking the listener) and handles what the completing ACK carried (data, FIN).
    internal void EstablishFromCookie(TcpSegment ack)
    {
        _sndWnd = (uint)ack.Window << _sndShift;
        _sndWl1 = ack.SequenceNumber;
        _sndWl2 = ack.AcknowledgmentNumber;
        SetState(TcpState.Established);
        if (ack.Payload.Length > 0 || (ack.Flags & TcpFlags.Fin) != 0)
        {
            OnSegment(ack);
        }
    }

    private static int DefaultMss(IpAddress remote) => remote.IsV6 ? 1220 : 536; // RFC 9293 3.7.1

    private void ApplySynOptions(TcpSegment syn)
    {
        TcpOptions options = TcpOptions.Parse(syn.Options);
        int ours = _layer.MssFor(Tuple.Remote.Address);
        // RFC 9293 3.7.1: an MSS of 0 is ignored (default used); tiny values are clamped up.
        int theirs = options.Mss == 0 ? DefaultMss(Tuple.Remote.Address) : options.Mss;
        _mss = Math.Max(MinSendMss, Math.Min(ours, theirs));
        // RFC 7323 2.2: window scaling only when both SYNs carry the option.
        _windowScaling = options.WindowScale >= 0;
        _sndShift = _windowScaling ? options.WindowScale : 0;
        if (!_windowScaling)
        {
            _rcvShift = 0;
        }

        // RFC 2018 2 and RFC 7323 3.2: used only when the SYN carried them (and ours offers them).
        _sackPermitted = options.SackPermitted;
        _timestamps = options.HasTimestamps;
        if (_timestamps)
        {
            _tsRecent = options.TimestampValue;
        }
    }

    private uint TimestampNow => (uint)(_layer.Now.Microseconds / 1000) + _tsOffset;

    // Options on every non-SYN segment: timestamps if negotiated; SACK blocks only on pure ACKs,
    // so a data segment never grows past the MSS.
    private TcpOptions SegmentOptions(bool withSack)
    {
        TcpOptions options = TcpOptions.None;
        if (_timestamps)
        {
            options.HasTimestamps = true;
            options.TimestampValue = TimestampNow;
            options.TimestampEcho = _tsRecent;
        }

        if (withSack && _sackPermitted && _outOfOrder.Count > 0)
        {
            _outOfOrder.WriteSackBlocks(ref options, _timestamps ? 3 : 4);
        }

        return options;
    }

    private void SendSyn(bool ack)
    {
        TcpOptions options = TcpOptions.None;
        options.Mss = (ushort)_layer.MssFor(Tuple.Remote.Address);
        if (!ack || _windowScaling)
        {
            options.WindowScale = (sbyte)_rcvShift;
        }

        options.SackPermitted = !ack || _sackPermitted;
        if (!ack || _timestamps)
        {
            options.HasTimestamps = true;
            options.TimestampValue = TimestampNow;
            options.TimestampEcho = ack ? _tsRecent : 0;
        }

        _layer.Send(Tuple, _iss, ack ? _rcvNxt : default, ack ? TcpFlags.Syn | TcpFlags.Ack : TcpFlags.Syn, (ushort)Math.Min(_receiveBuffer.Free, 65535), options, null, 0, 0);
    }

    /// <summary>RFC 9293 3.10.7: SEGMENT ARRIVES, for a connection in any state but LISTEN.</summary>
    internal void OnSegment(TcpSegment seg)
    {
        TcpFlags flags = seg.Flags;
        if (State == TcpState.SynSent)
        {
            OnSegmentInSynSent(seg);
            return;
        }

        // RFC 7323 5.3 (PAWS): a segment whose TSval is older than TS.Recent is a stale duplicate.
        TcpOptions received = _timestamps || _sackPermitted ? TcpOptions.Parse(seg.Options) : TcpOptions.None;
        if (_timestamps && received.HasTimestamps && (flags & TcpFlags.Rst) == 0 && unchecked((int)(received.TimestampValue - _tsRecent)) < 0)
        {
            _layer.Counters.Increment(Counter.TcpPawsRejected);
            SendAck();
            return;
        }

        // The receiver's RTT for buffer auto-tuning (Linux tcp_rcv_rtt_measure_ts): data echoing our timestamp.
        if (_timestamps && received.HasTimestamps && received.TimestampEcho != 0 && seg.Payload.Length > 0)
        {
            uint ms = unchecked(TimestampNow - received.TimestampEcho);
            if (ms is > 0 and < int.MaxValue)
            {
                TimeSpan sample = TimeSpan.FromMilliseconds(ms);
                _rcvRtt = _rcvRtt == TimeSpan.Zero ? sample : ((_rcvRtt * 7) + sample) / 8;
            }
        }

        // First: the sequence number acceptability test (RFC 9293 3.10.7.4, four cases).
        int length = seg.SegmentLength;
        uint window = ReceiveWindow;
        bool acceptable = length == 0
            ? window == 0 ? seg.SequenceNumber == _rcvNxt : seg.SequenceNumber.IsInWindow(_rcvNxt, window)
            : window != 0 && (seg.SequenceNumber.IsInWindow(_rcvNxt, window) || (seg.SequenceNumber + (length - 1)).IsInWindow(_rcvNxt, window));
        if (!acceptable)
        {
            _layer.Counters.Increment(Counter.TcpOutOfWindow);
            if ((flags & TcpFlags.Rst) == 0)
            {
                if (State == TcpState.TimeWait && (flags & TcpFlags.Fin) != 0)
                {
                    RestartTimeWait();
                }

                SendAck();
            }

            return;
        }

        _keepAliveProbesSent = 0;
        if (_keepAlive)
        {
            ArmKeepAlive();
        }

        // RFC 7323 4.3: TS.Recent follows acceptable segments that cover the last ACK we sent.
        if (_timestamps && received.HasTimestamps && seg.SequenceNumber <= _lastAckSent)
        {
            _tsRecent = received.TimestampValue;
        }

        // Second: RST (RFC 5961 3.2): exactly RCV.NXT resets; elsewhere in the window draws a challenge ACK.
        if ((flags & TcpFlags.Rst) != 0)
        {
            if (seg.SequenceNumber != _rcvNxt)
            {
                if (_layer.TryChallengeAck())
                {
                    SendAck();
                }

                return;
            }

            _layer.Counters.Increment(Counter.TcpResetsReceived);
            if (State == TcpState.SynReceived && Listener is not null)
            {
                // A passive open returns to LISTEN: this half-open connection just goes away.
                SetState(TcpState.Closed);
                return;
            }

            Fail(State is TcpState.SynReceived ? StackError.ConnectionRefused : State is TcpState.Closing or TcpState.LastAck or TcpState.TimeWait ? StackError.None : StackError.ConnectionReset);
            return;
        }

        // Fourth: SYN in a synchronized state (RFC 5961 4.2): a challenge ACK, never a reset.
        if ((flags & TcpFlags.Syn) != 0)
        {
            if (State == TcpState.SynReceived && seg.SequenceNumber == _irs)
            {
                SendSyn(ack: true); // the peer retransmitted its SYN: repeat our SYN-ACK
                return;
            }

            if (_layer.TryChallengeAck())
            {
                SendAck();
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
        if ((flags & TcpFlags.Urg) != 0 && seg.UrgentPointer > 0 && State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2)
        {
            SeqNumber up = seg.SequenceNumber + seg.UrgentPointer;
            if (!_rcvUrgentPending || up > _rcvUp)
            {
                _rcvUp = up;
                _rcvUrgentPending = up > _rcvNxt;
            }
        }

        // Seventh: segment text.
        ReadOnlySpan<byte> payload = seg.Payload;
        SeqNumber seq = seg.SequenceNumber;
        if (payload.Length > 0 && State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2)
        {
            if (_applicationClosed)
            {
                // Nobody will read it: reset (RFC 9293 3.10.7.4 / RFC 1122 4.2.2.13, as Linux).
                _layer.Counters.Increment(Counter.TcpAbortOnData);
                _layer.Send(Tuple, _sndNxt, default, TcpFlags.Rst, 0, TcpOptions.None, null, 0, 0);
                Fail(StackError.ConnectionReset);
                return;
            }

            if (seq != _rcvNxt)
            {
                int already = _rcvNxt - seq;
                if (already < 0)
                {
                    QueueOutOfOrder(seq, payload, (flags & TcpFlags.Fin) != 0);
                    return;
                }

                // Starts before RCV.NXT: trim the part already received.
                payload = already < payload.Length ? payload[already..] : ReadOnlySpan<byte>.Empty;
                seq = _rcvNxt;
            }

            int taken = Math.Min(payload.Length, _receiveBuffer.Free);
            if (taken > 0)
            {
                WriteInOrder(payload[..taken]);
                // Data held out of order may now follow on without a gap.
                int joined = _outOfOrder.Count > 0 ? _outOfOrder.TakeContiguous(_rcvNxt) : 0;
                if (joined > 0)
                {
                    _receiveBuffer.Commit(joined);
                    _streamWritten += joined;
                    _rcvNxt += joined;
                    _unackedBytes = int.MaxValue / 2; // a filled hole is acknowledged at once (RFC 5681 4.2)
                }

                Readable?.Invoke();
            }

            // RFC 9293 3.8.6.3 / RFC 1122 4.2.3.2: ACK at least every second full-sized segment's
            // worth of data (counted in bytes, so a GRO-coalesced segment counts for what it holds),
            // else within the delayed-ACK time.
            _unackedBytes += taken;
            if (_unackedBytes >= 2 * Mss || taken < payload.Length || (flags & TcpFlags.Psh) != 0 && taken < Mss)
            {
                SendAck();
            }
            else
            {
                _layer.Timers.Schedule(_delayedAckTimer, _layer.Now + _layer.Settings.DelayedAck);
            }

            if (taken < payload.Length)
            {
                return; // the rest did not fit; the FIN (if any) waits too
            }

            if (_outOfOrderFin is { } pendingFin && pendingFin == _rcvNxt)
            {
                flags |= TcpFlags.Fin;
                seq = _rcvNxt;
                payload = ReadOnlySpan<byte>.Empty;
            }
        }

        // Eighth: FIN.
        if ((flags & TcpFlags.Fin) != 0 && seq + payload.Length == _rcvNxt && !_finReceived)
        {
            _finReceived = true;
            _rcvNxt += 1;
            SendAck();
            Readable?.Invoke();
            switch (State)
            {
                case TcpState.SynReceived:
                case TcpState.Established:
                    SetState(TcpState.CloseWait);
                    break;
                case TcpState.FinWait1:
                    SetState(_finAcked ? TcpState.TimeWait : TcpState.Closing);
                    break;
                case TcpState.FinWait2:
                    SetState(TcpState.TimeWait);
                    break;
            }
        }
        else if ((flags & TcpFlags.Fin) != 0 && State == TcpState.TimeWait)
        {
            SendAck();
            RestartTimeWait();
        }

        Output();
    }

    // Writes in-order data at RCV.NXT; the urgent byte (at RCV.UP - 1) is taken out of the stream
    // into the out-of-band slot and the stream is marked there.
    private void WriteInOrder(ReadOnlySpan<byte> data)
    {
        int urgentAt = _rcvUrgentPending ? (_rcvUp - 1) - _rcvNxt : -1;
        if (urgentAt >= 0 && urgentAt < data.Length && _outOfOrder.Count == 0)
        {
            _receiveBuffer.TryWriteAt(0, data[..urgentAt]);
            _receiveBuffer.Commit(urgentAt);
            _streamWritten += urgentAt;
            _oobByte = data[urgentAt];
            _urgentMark = _streamWritten;
            _rcvUrgentPending = false;
            int rest = data.Length - urgentAt - 1;
            _receiveBuffer.TryWriteAt(0, data.Slice(urgentAt + 1, rest));
            _receiveBuffer.Commit(rest);
            _streamWritten += rest;
            _rcvNxt += data.Length;
            _layer.Counters.Increment(Counter.TcpUrgentReceived);
            return;
        }

        _receiveBuffer.TryWriteAt(0, data);
        _receiveBuffer.Commit(data.Length);
        _streamWritten += data.Length;
        _rcvNxt += data.Length;
    }

    // Out-of-order data is written into the receive ring past its end and remembered by range;
    // RFC 5681 4.2 / RFC 9293 3.10.7.4: an out-of-order segment is acknowledged at once.
    private void QueueOutOfOrder(SeqNumber seq, ReadOnlySpan<byte> payload, bool fin)
    {
        int offset = seq - _rcvNxt;
        int room = _receiveBuffer.Free - offset;
        int n = Math.Min(payload.Length, room);
        if (n > 0 && _outOfOrder.TryAdd(seq, seq + n))
        {
            _receiveBuffer.TryWriteAt(offset, payload[..n]);
            _layer.Counters.Increment(Counter.TcpOutOfOrderQueued);
            if (fin && n == payload.Length)
            {
                _outOfOrderFin = seq + n;
            }
        }
        else
        {
            _layer.Counters.Increment(Counter.TcpOutOfOrderDropped);
        }

        SendAck();
    }

    // RFC 9293 3.10.7.3: SYN-SENT.
    private void OnSegmentInSynSent(TcpSegment seg)
    {
        TcpFlags flags = seg.Flags;
        bool hasAck = (flags & TcpFlags.Ack) != 0;
        if (hasAck && (seg.AcknowledgmentNumber <= _iss || seg.AcknowledgmentNumber > _sndNxt))
        {
            if ((flags & TcpFlags.Rst) == 0)
            {
                _layer.Send(Tuple, seg.AcknowledgmentNumber, default, TcpFlags.Rst, 0, TcpOptions.None, null, 0, 0);
            }

            return;
        }

        if ((flags & TcpFlags.Rst) != 0)
        {
            // RFC 9293: a RST is acceptable here only if it acknowledges our SYN: connection refused.
            if (hasAck)
            {
                _layer.Counters.Increment(Counter.TcpResetsReceived);
                Fail(StackError.ConnectionRefused);
            }

            return;
        }

        if ((flags & TcpFlags.Syn) == 0)
        {
            return;
        }

        _irs = seg.SequenceNumber;
        _rcvNxt = _irs + 1;
        ApplySynOptions(seg);
        _sndWnd = seg.Window;
        _sndWl1 = seg.SequenceNumber;
        _sndWl2 = seg.AcknowledgmentNumber;
        if (hasAck)
        {
            _sndUna = seg.AcknowledgmentNumber;
            TakeRttSample(seg.AcknowledgmentNumber);
            _layer.Timers.Cancel(_retransmitTimer);
            _retries = 0;
            SetState(TcpState.Established);
            SendAck();
            Output();
        }
        else
        {
            // Simultaneous open (RFC 9293 3.5, figure 8): SYN-RECEIVED, answer with SYN-ACK.
            SetState(TcpState.SynReceived);
            SendSyn(ack: true);
        }
    }

    // RFC 9293 3.10.7.4, fifth check. Returns false when the segment is to be dropped.
    private bool ProcessAck(TcpSegment seg, in TcpOptions received)
    {
        SeqNumber ack = seg.AcknowledgmentNumber;
        if (State == TcpState.SynReceived)
        {
            if (!(ack > _sndUna && ack <= _sndNxt))
            {
                _layer.Send(Tuple, ack, default, TcpFlags.Rst, 0, TcpOptions.None, null, 0, 0);
                return false;
            }

            if (Listener is not null && !Listener.CanAccept)
            {
                // Accept queue full (Linux, tcp_abort_on_overflow=0): ignore the ACK; our SYN-ACK
                // is retransmitted and the handshake completes once there is room.
                _layer.Counters.Increment(Counter.TcpListenOverflow);
                return false;
            }

            _sndWnd = (uint)seg.Window << _sndShift;
            _sndWl1 = seg.SequenceNumber;
            _sndWl2 = ack;
            // Our SYN is acknowledged. SND.UNA moves before the state change, because entering
            // ESTABLISHED wakes the application (accept), which may send at once.
            _sndUna = ack;
            SetState(TcpState.Established);
        }

        // RFC 5961 5.2: an ACK outside [SND.UNA - MAX.SND.WND, SND.NXT] draws an ACK and is dropped.
        if (ack > _sndMax)
        {
            _layer.Counters.Increment(Counter.TcpAckOfUnsentData);
            SendAck();
            return false;
        }

        if (ack < _sndUna - (int)Math.Min(_maxSndWnd, int.MaxValue))
        {
            _layer.Counters.Increment(Counter.TcpAckTooOld);
            SendAck();
            return false;
        }

        bool sackNews = _sackPermitted && received.SackCount > 0 && TakeSackBlocks(received, ack);
        bool windowUnchanged = ((uint)seg.Window << _sndShift) == _sndWnd;
        int flightBefore = _sndNxt - _sndUna;

        if (ack > _sndUna)
        {
            int acked = ack - _sndUna;
            int dataAcked = acked;
            if (_sndUna == _iss)
            {
                dataAcked--; // our SYN
            }

            if (_finEverSent && ack == _finSeq + 1)
            {
                _finSent = true; // acknowledged before its retransmission went out
                _finAcked = true;
                dataAcked--;
            }

            _sendBuffer.Skip(Math.Max(0, dataAcked));
            _sndUna = ack;
            if (_sndNxt < ack)
            {
                _sndNxt = ack; // data sent before a go-back-N retransmission was acknowledged after all
            }

            _oldestUnackedAt = _layer.Now;
            if (_sndUrgent && _sndUna >= _sndUp)
            {
                _sndUrgent = false; // the urgent data is acknowledged
            }
            TimeSpan rttSample = _timestamps && received.HasTimestamps && received.TimestampEcho != 0
                ? TakeTimestampRttSample(received.TimestampEcho)
                : TakeRttSample(ack);
            _retries = 0;
            _scoreboard.AdvanceTo(ack);
            if (_sackPermitted)
            {
                _sent.AckTo(ack, _onDelivered);
            }

            OnNewAck(ack, Math.Max(0, dataAcked), rttSample);
            if (_sndUna == _sndNxt)
            {
                _layer.Timers.Cancel(_retransmitTimer);
            }
            else
            {
                ArmRetransmit(restart: true);
            }

            if (dataAcked > 0)
            {
                Writable?.Invoke();
            }
        }

        else if (ack == _sndUna && flightBefore > 0 && seg.Payload.Length == 0 && (seg.Flags & (TcpFlags.Syn | TcpFlags.Fin)) == 0
            && windowUnchanged && (!_sackPermitted || sackNews))
        {
            // RFC 5681 2 (a)-(e), and for a SACK sender new SACK information (RFC 6675 2).
            OnDuplicateAck();
        }

        if (_sackPermitted && _sndNxt != _sndUna)
        {
            RackDetectLoss();
        }

        // RFC 9293 3.10.7.4: update the send window from this segment if it is not older.
        if (_sndWl1 < seg.SequenceNumber || (_sndWl1 == seg.SequenceNumber && _sndWl2 <= ack))
        {
            _sndWnd = (uint)seg.Window << _sndShift;
            _sndWl1 = seg.SequenceNumber;
            _sndWl2 = ack;
        }

        _maxSndWnd = Math.Max(_maxSndWnd, _sndWnd);

        if (_finAcked)
        {
            switch (State)
            {
                case TcpState.FinWait1:
                    SetState(TcpState.FinWait2);
                    break;
                case TcpState.Closing:
                    SetState(TcpState.TimeWait);
                    break;
                case TcpState.LastAck:
                    SetState(TcpState.Closed);
                    return false;
            }
        }

        return true;
    }

    /// <summary>Sends what the window and Nagle allow, then a FIN when closing and everything is sent.</summary>
    private void Output()
    {
        if (State is not (TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.Closing or TcpState.LastAck))
        {
            return;
        }

        while (true)
        {
            // RFC 6675 5 step (C): in recovery, lost segments go first while cwnd - pipe allows.
            if (_inRecovery && _cc.Cwnd - Pipe() >= Mss && RetransmitLostHole())
            {
                continue;
            }

            int sent = _sndNxt - _sndUna - (_finSent ? 1 : 0);
            int unsent = _sendBuffer.Count - sent;
            long usable = (long)_sndWnd - (_sndNxt - _sndUna);
            if (unsent > 0 && !_finSent)
            {
                int length = (int)Math.Min(Math.Min(Mss, unsent), Math.Max(0, usable));
                if (length <= 0)
                {
                    if (_sndWnd == 0 && _sndNxt == _sndUna)
                    {
                        ArmRetransmit(); // the persist timer: a zero-window probe follows
                    }

                    return;
                }

                // RFC 7661 4.3-4.4 (which replaces RFC 5681 4.1's restart after idle): a window not
                // validated by use for the non-validated period (5 minutes) is halved, not below IW.
                if (_nonValidatedSince != default && _layer.Now - _nonValidatedSince > NonValidatedPeriod)
                {
                    _layer.Counters.Increment(Counter.TcpCwndValidationHalvings);
                    _cc.OnNonValidatedPeriodEnd();
                    _nonValidatedSince = _layer.Now;
                }

                // RFC 5681 3.1: no more than cwnd in flight (the pipe, in recovery); RFC 3042 lets
                // the first two duplicate ACKs each send one new segment beyond it (up to cwnd + 2*SMSS).
                long cwndRoom = _probeSegment ? length
                    : _limitedTransmit ? (long)_cc.Cwnd + (2L * Mss) - (_sndNxt - _sndUna)
                    : (long)_cc.Cwnd - Pipe();
                if (cwndRoom < length)
                {
                    return; // window-limited: ACKs will open it
                }

                if (_limitedTransmit)
                {
                    _limitedTransmit = false;
                    _layer.Counters.Increment(Counter.TcpLimitedTransmits);
                }

                // RFC 1122 4.2.3.4 / RFC 896: with data in flight, hold a small segment unless NoDelay.
                if (length < Mss && _sndNxt != _sndUna && !NoDelay)
                {
                    return;
                }

                bool last = length == unsent;
                if (_sndNxt == _sndUna)
                {
                    _oldestUnackedAt = _layer.Now;
                }

                bool urgent = _sndUrgent && _sndUp > _sndNxt;
                ushort pointer = urgent ? (ushort)Math.Min(_sndUp - _sndNxt, 65535) : (ushort)0;
                _layer.Send(Tuple, _sndNxt, _rcvNxt, TcpFlags.Ack | (last ? TcpFlags.Psh : 0) | (urgent ? TcpFlags.Urg : 0), AdvertisedWindow(), SegmentOptions(withSack: false), _sendBuffer, sent, length, pointer);
                AckSent();
                if (!_timing)
                {
                    _timing = true;
                    _timedSeq = _sndNxt;
                    _timedAt = _layer.Now;
                }

                _bytesSent += length;
                if (_sackPermitted && !(_sndNxt < _sndMax && _sent.Resent(_sndNxt, length, _layer.Now)))
                {
                    _sent.Append(_sndNxt, length, _layer.Now);
                }

                if (_sndNxt < _sndMax)
                {
                    _bytesRetransmitted += length; // going back over data sent before (after an RTO)
                    _retransmitSegments++;
                    CountRetransmissionForUndo();
                }

                _sndNxt += length;
                if (_sndNxt > _sndMax)
                {
                    _sndMax = _sndNxt;
                }

                if (_sndNxt - _sndUna > _roundMaxFlight)
                {
                    _roundMaxFlight = _sndNxt - _sndUna;
                }

                // RFC 8985 7.2: new data restarts the probe timeout (for the flight as it is now);
                // an RTO, once running, is not restarted by sending (RFC 6298 5.1).
                ArmRetransmit(restart: CanProbe());
                if (_probeSegment)
                {
                    return;
                }

                continue;
            }

            if (_finQueued && !_finSent && unsent == 0)
            {
                _finSeq = _sndNxt;
                _finSent = true;
                _finEverSent = true;
                _layer.Send(Tuple, _sndNxt, _rcvNxt, TcpFlags.Fin | TcpFlags.Ack, AdvertisedWindow(), SegmentOptions(withSack: false), null, 0, 0);
                AckSent();
                _sndNxt += 1;
                if (_sndNxt > _sndMax)
                {
                    _sndMax = _sndNxt;
                }

                ArmRetransmit();
                if (State == TcpState.Established)
                {
                    SetState(TcpState.FinWait1);
                }
                else if (State == TcpState.CloseWait)
                {
                    SetState(TcpState.LastAck);
                }
            }

            return;
        }
    }

    // RFC 2018 / RFC 6675 2: record the peer's SACK blocks; true when one told something new.
    // RFC 2883: a first block below the cumulative ACK is a D-SACK (a duplicate arrived).
    private bool TakeSackBlocks(in TcpOptions received, SeqNumber ack)
    {
        bool news = false;
        for (int i = 0; i < received.SackCount; i++)
        {
            SackBlock block = received.GetSack(i);
            _layer.Counters.Increment(Counter.TcpSackBlocksReceived);
            if (block.Right <= ack || (i == 0 && block.Right <= _sndUna))
            {
                _layer.Counters.Increment(Counter.TcpDsackReceived);
                OnDuplicateReported(block);
                continue;
            }

            // Only what is in flight can be SACKed; anything else is ignored (RFC 6675 is silent;
            // Linux drops such blocks too).
            SeqNumber left = block.Left < ack ? ack : block.Left;
            SeqNumber right = block.Right > _sndMax ? _sndMax : block.Right;
            if (right <= left || block.Left > _sndMax)
            {
                continue;
            }

            int before = _scoreboard.Count;
            _sent.MarkSacked(left, right, _onDelivered);
            if (_scoreboard.Add(left, right))
            {
                news = true;
            }
            else if (before == SackScoreboard.MaxRanges && !_scoreboard.IsSacked(left, right - left))
            {
                _layer.Counters.Increment(Counter.TcpSackScoreboardFull);
            }
        }

        return news;
    }

    // New data acknowledged: recovery bookkeeping, or window growth outside recovery.
    private void OnNewAck(SeqNumber ack, int dataAcked, TimeSpan rttSample)
    {
        _limitedTransmit = false;
        _bytesAcked += dataAcked;
        bool roundEnd = ack >= _roundEnd;
        if (roundEnd)
        {
            _roundEnd = _sndNxt;
            _lastRoundMaxFlight = _roundMaxFlight;
            _roundMaxFlight = _sndNxt - _sndUna;
            TimeSpan elapsed = _layer.Now - _roundStartAt;
            if (elapsed > TimeSpan.Zero && _roundStartAt != default)
            {
                _deliveryRate = (_bytesAcked - _roundStartAcked) / elapsed.TotalSeconds;
            }

            _roundStartAcked = _bytesAcked;
            _roundStartAt = _layer.Now;
        }

        if (_inRecovery)
        {
            if (ack >= _recoveryPoint)
            {
                // RFC 6582 3.2 step 3 / RFC 6675 5: a full acknowledgment ends recovery.
                _inRecovery = false;
                _dupAcks = 0;
                _renoSacked = 0;
                _cc.OnRecoveryEnd(_sndNxt - _sndUna);
                return;
            }

            // RFC 6582 3.2 step 5: a partial ACK. Without SACK the next unacknowledged segment is
            // lost too (it goes out from Output); the duplicate ACKs it accounted for shrink.
            _layer.Counters.Increment(Counter.TcpPartialAcks);
            if (!_sackPermitted)
            {
                _renoSacked = Math.Max(0, _renoSacked - (dataAcked + Mss - 1) / Mss);
                RetransmitLostHole(force: true); // "retransmit the first unacknowledged segment" at once
            }

            return;
        }

        _dupAcks = 0;

        // RFC 7661 4.3: the validated phase is pipeACK >= cwnd / 2 (here: the largest flight of
        // this or the last round trip); otherwise the window is not grown by application-limited ACKs.
        if (2L * Math.Max(_roundMaxFlight, _lastRoundMaxFlight) >= _cc.Cwnd)
        {
            _nonValidatedSince = default;
            _cc.OnAck(dataAcked, _layer.Now, rttSample, _minRtt, roundEnd);
            TuneSendBuffer();
        }
        else if (_nonValidatedSince == default)
        {
            _nonValidatedSince = _layer.Now;
        }
    }

    // Linux's dynamic right-sizing (tcp_rcv_space_adjust): once per receiver RTT, if the
    // application read more than half the buffer in that time, the buffer (and so the window)
    // grows to twice that plus 16 segments, up to ReceiveBufferMax.
    private void TuneReceiveBuffer()
    {
        if (!_autoTuneReceive)
        {
            return;
        }

        Instant now = _layer.Now;
        TimeSpan rtt = _rcvRtt > TimeSpan.Zero ? _rcvRtt : _hasRtt && _srtt > TimeSpan.Zero ? _srtt : TimeSpan.FromMilliseconds(100);
        if (_rcvSpaceStart == default)
        {
            _rcvSpaceStart = now;
            _rcvSpaceRead = _streamRead;
            return;
        }

        if (now - _rcvSpaceStart < rtt)
        {
            return;
        }

        long copied = _streamRead - _rcvSpaceRead;
        _rcvSpaceStart = now;
        _rcvSpaceRead = _streamRead;
        long want = Math.Min(_layer.Settings.ReceiveBufferMax, (2 * copied) + (16L * Mss));
        if (want > _receiveBuffer.Capacity)
        {
            _receiveBuffer.Grow((int)Math.Min(_layer.Settings.ReceiveBufferMax, Math.Max(want, 2L * _receiveBuffer.Capacity)));
            _layer.Counters.Increment(Counter.TcpReceiveBufferGrowths);
        }
    }

    // Linux tcp_sndbuf_expand: a send buffer of at least twice cwnd, so the window is never
    // limited by the buffer while the application keeps it full.
    private void TuneSendBuffer()
    {
        if (_autoTuneSend && _sendBuffer.Capacity < _layer.Settings.SendBufferMax && 2L * _cc.Cwnd > _sendBuffer.Capacity)
        {
            _sendBuffer.Grow((int)Math.Min(_layer.Settings.SendBufferMax, Math.Max(2L * _cc.Cwnd, 2L * _sendBuffer.Capacity)));
            _sent.MaxCapacity = (_sendBuffer.Capacity / 512) + 64; // one entry per segment in flight
            _layer.Counters.Increment(Counter.TcpSendBufferGrowths);
        }
    }

    private void OnDuplicateAck()
    {
        _dupAcks++;
        if (_inRecovery)
        {
            if (!_sackPermitted)
            {
                _renoSacked++; // RFC 6582 3.2 step 4: a segment has left the network
            }

            return; // Output, after the ACK, sends what the pipe allows
        }

        // RFC 8985: with SACK, RACK finds losses by time (RackDetectLoss, after every ACK);
        // without, the third duplicate ACK does (RFC 5681 3.2).
        bool lost = !_sackPermitted && _dupAcks >= DupThresh;
        if (!lost)
        {
            // RFC 3042: on the first two duplicate ACKs, one new segment each if the windows allow.
            _limitedTransmit = true;
            return;
        }

        // RFC 6582 3.2 step 1 / 4.1: no new recovery for losses from before the last one (or an RTO).
        if (_sndUna < _recoveryPoint)
        {
            return;
        }

        EnterRecovery();
    }

    // RFC 3708 2: the window is about to be reduced for a loss; remember it, so that the reduction
    // can be undone if D-SACKs show that every retransmission of this episode was needless.
    private void ArmUndo()
    {
        _undoArmed = true;
        _undoCwnd = _cc.Cwnd;
        _undoSsthresh = _cc.Ssthresh;
        _undoRetransmissions = 0;
        _undoMarker = _sndUna;
    }

    private void CountRetransmissionForUndo()
    {
        if (_undoArmed)
        {
            _undoRetransmissions++;
        }
    }

    // RFC 2883 4.2 / RFC 3708 3.2: a D-SACK for data of the current episode means one of its
    // retransmissions was needless; when that has been shown for all of them, undo the reduction.
    private void OnDuplicateReported(SackBlock block)
    {
        if (!_undoArmed || block.Left < _undoMarker || block.Right > _sndMax)
        {
            return;
        }

        if (--_undoRetransmissions > 0)
        {
            return;
        }

        _undoArmed = false;
        _undos++;
        _layer.Counters.Increment(Counter.TcpSpuriousRetransmissionUndos);
        _cc.Restore(_undoCwnd, _undoSsthresh);
        _inRecovery = false;
        _dupAcks = 0;
        _renoSacked = 0;
    }

    // RFC 6675 5 steps 4.1-4.3 (RFC 5681 3.2 steps 2-3 without SACK).
    private void EnterRecovery()
    {
        _layer.Counters.Increment(Counter.TcpFastRecoveries);
        _recoveries++;
        ArmUndo();
        _inRecovery = true;
        _recoveryPoint = _sndNxt;
        _highRxt = _sndUna;
        _renoSacked = _sackPermitted ? 0 : _dupAcks;
        _cc.OnLoss(_sndNxt - _sndUna, _layer.Now);
        _timing = false; // Karn: the timed segment may be the lost one
        _tlpInFlight = false;
        RetransmitLostHole(force: true);
        ArmRetransmit(restart: true); // an RTO now, not a probe timeout
    }

    /// <summary>
    /// RFC 6675 4 SetPipe: the bytes still in the network. Outside recovery, SND.NXT - SND.UNA.
    /// With SACK: the flight less what is SACKed and what is deemed lost and not yet sent again
    /// (RFC 8985 marks; Linux's packets_out - sacked_out - lost_out + retrans_out, in bytes).
    /// Without SACK: the flight less the segments the duplicate ACKs accounted for, less the first
    /// segment until it is retransmitted.
    /// </summary>
    private int Pipe()
    {
        int flight = _sndNxt - _sndUna;
        if (_sackPermitted)
        {
            return Math.Max(0, flight - _sent.SackedBytes - _sent.LostBytes);
        }

        if (!_inRecovery)
        {
            return flight;
        }

        int pipe = flight - (_renoSacked * Mss);
        if (_highRxt <= _sndUna)
        {
            pipe -= Math.Min(Mss, flight);
        }

        return Math.Max(0, pipe);
    }

    /// <summary>
    /// RFC 6675 4 NextSeg rule 1: retransmits the lowest segment deemed lost (with SACK: marked by
    /// RACK; without: the segment at SND.UNA, once per partial ACK). With <paramref name="force"/>
    /// (entering NewReno recovery) it goes whatever the pipe says.
    /// </summary>
    private bool RetransmitLostHole(bool force = false)
    {
        SeqNumber start;
        int length;
        if (_sackPermitted)
        {
            int i = -1;
            var candidates = new UnsackedEntries(this);
            while (candidates.MoveNext())
            {
                if (_sent[candidates.Current].Is(SentSegments.Marks.Lost))
                {
                    i = candidates.Current;
                    break;
                }
            }

            if (i < 0)
            {
                return false;
            }

            start = _sent[i].Start;
            length = Math.Min(Mss, _sent[i].Length);
        }
        else
        {
            if (_highRxt > _sndUna && !force)
            {
                return false;
            }

            start = _sndUna;
            length = Math.Min(Mss, _sndNxt - _sndUna);
        }

        length = Math.Min(length, _sendBuffer.Count - (start - _sndUna));
        if (length <= 0)
        {
            return false; // only the FIN is outstanding there: the RTO resends it
        }

        _layer.Counters.Increment(Counter.TcpFastRetransmits);
        _lostSegments++;
        CountRetransmissionForUndo();
        Resend(start, length);
        if (start + length > _highRxt)
        {
            _highRxt = start + length;
        }

        ArmRetransmit();
        return true;
    }

    // Sends [start, start + length) of the send buffer again (a fast retransmission or a loss
    // probe): counted in tcp_info, and its new send time recorded for RACK.
    private void Resend(SeqNumber start, int length)
    {
        _bytesSent += length;
        _bytesRetransmitted += length;
        _retransmitSegments++;
        _layer.Send(Tuple, start, _rcvNxt, TcpFlags.Ack, AdvertisedWindow(), SegmentOptions(withSack: false), _sendBuffer, start - _sndUna, length, 0);
        AckSent();
        if (_sackPermitted)
        {
            _sent.Resent(start, length, _layer.Now);
        }
    }

    // RFC 8985 6.2 step 2-3: a newly delivered (cumulatively ACKed or SACKed) segment updates
    // RACK.xmit_ts / end_seq / rtt, unless it was retransmitted and the ACK may be for the original.
    private void OnRackDelivered(SentSegments.Entry e)
    {
        TimeSpan rtt = _layer.Now - e.SentAt;
        if (e.Is(SentSegments.Marks.Retransmitted) && rtt < (_minRtt == TimeSpan.MaxValue ? TimeSpan.Zero : _minRtt))
        {
            return; // RFC 8985 6.2 step 2: possibly an ACK of the original transmission
        }

        // "Sent after": a later time, or the same instant and later in transmission order (RFC 8985
        // breaks ties by end sequence; the order also handles a retransmission sent in the same tick).
        if (e.SentAt > _rackXmitTs || (e.SentAt == _rackXmitTs && e.Order > _rackOrder))
        {
            _rackXmitTs = e.SentAt;
            _rackOrder = e.Order;
            _rackRtt = rtt;
        }

        // Step 3: delivered below a segment already delivered later in sequence, never retransmitted: reordering.
        if (e.End < _rackFack && !e.Is(SentSegments.Marks.Retransmitted))
        {
            _rackReorderingSeen = true;
        }
        else if (e.End > _rackFack)
        {
            _rackFack = e.End;
        }

        if (_tlpInFlight && e.End >= _tlpEndSeq)
        {
            OnTlpAnswered();
        }
    }

    // RFC 8985 6.2 step 4: the reordering window.
    private TimeSpan RackReorderingWindow()
    {
        if (!_rackReorderingSeen && (_inRecovery || _sent.SackedBytes >= DupThresh * Mss))
        {
            return TimeSpan.Zero;
        }

        TimeSpan quarter = _minRtt == TimeSpan.MaxValue ? TimeSpan.Zero : _minRtt / 4;
        return _hasRtt && quarter > _srtt ? _srtt : quarter;
    }

    /// <summary>
    /// RFC 8985 6.2 step 5: every segment sent before the most recently delivered one, and not
    /// delivered within RACK.rtt + reo_wnd of its sending, is lost; for the others a timer is set
    /// to look again when they would be. Entering recovery follows the first loss (RFC 8985 6.3).
    /// </summary>
    private void RackDetectLoss()
    {
        if (_rackOrder == 0)
        {
            return;
        }

        TimeSpan window = _rackRtt + RackReorderingWindow();
        Instant now = _layer.Now;
        TimeSpan wait = TimeSpan.Zero;
        bool anyLost = false;
        var candidates = new UnsackedEntries(this);
        while (candidates.MoveNext())
        {
            int i = candidates.Current;
            ref SentSegments.Entry e = ref _sent[i];
            bool sentBefore = e.SentAt < _rackXmitTs || (e.SentAt == _rackXmitTs && e.Order < _rackOrder);
            if (!sentBefore)
            {
                if (!e.Is(SentSegments.Marks.Retransmitted))
                {
                    break; // later entries were sent later still
                }

                continue;
            }

            if (e.Is(SentSegments.Marks.Sacked | SentSegments.Marks.Lost))
            {
                continue;
            }

            TimeSpan remaining = e.SentAt + window - now;
            if (remaining <= TimeSpan.Zero)
            {
                if (_sent.MarkLost(i))
                {
                    anyLost = true;
                    _layer.Counters.Increment(Counter.TcpRackLosses);
                }
            }
            else if (remaining > wait)
            {
                wait = remaining;
            }
        }

        if (wait > TimeSpan.Zero)
        {
            _layer.Timers.Schedule(_rackTimer, now + wait);
        }

        if (anyLost && !_inRecovery && _sndUna >= _recoveryPoint)
        {
            EnterRecovery();
        }
    }

    /// <summary>
    /// The log entries in the holes between SACKed ranges, in sequence order. The scoreboard has at
    /// most 32 ranges, so a walk costs O(32 log n) plus the entries it visits, which are never the
    /// SACKed ones: no ACK pays for a long run of SACKed segments.
    /// </summary>
    private struct UnsackedEntries
    {
        private readonly TcpConnection _connection;
        private int _hole;
        private int _index;
        private SeqNumber _holeEnd;

        public UnsackedEntries(TcpConnection connection)
        {
            _connection = connection;
            _hole = -1;
            _index = -1;
            Current = -1;
        }

        public int Current { get; private set; }

        public bool MoveNext()
        {
            SentSegments log = _connection._sent;
            SackScoreboard board = _connection._scoreboard;
            while (true)
            {
                if (_index >= 0 && ++_index < log.Count && log[_index].Start < _holeEnd)
                {
                    Current = _index;
                    return true;
                }

                if (++_hole > board.Count)
                {
                    return false;
                }

                SeqNumber start = _hole == 0 ? _connection._sndUna : board.Right(_hole - 1);
                _holeEnd = _hole < board.Count ? board.Left(_hole) : _connection._sndMax;
                _index = _holeEnd > start ? log.Find(start) : -1;
                if (_index >= 0)
                {
                    Current = _index;
                    return true;
                }
            }
        }
    }

    private void OnRackTimer()
    {
        if (State is TcpState.Closed or TcpState.TimeWait || _sndNxt == _sndUna)
        {
            return;
        }

        RackDetectLoss();
        Output();
    }

    // RFC 6298 5: on expiry retransmit the earliest unacknowledged segment, back off, restart.
    private void OnRetransmitTimeout(Instant now)
    {
        if (State is TcpState.Closed or TcpState.TimeWait or TcpState.Listen)
        {
            return;
        }

        if (_ptoArmed)
        {
            _ptoArmed = false;
            if (CanProbe())
            {
                SendLossProbe();
            }

            // Either way the RTO proper follows (recovery may have begun since the probe was set).
            ArmRetransmit(restart: true);
            return;
        }

        _tlpInFlight = false;

        int limit = State switch
        {
            TcpState.SynSent => _layer.Settings.MaxSynRetransmissions,
            TcpState.SynReceived => _layer.Settings.MaxSynAckRetransmissions,
            _ => _layer.Settings.MaxRetransmissions,
        };
        // RFC 5482: the user timeout bounds how long data may stay unacknowledged.
        if (UserTimeout > TimeSpan.Zero && State is not (TcpState.SynSent or TcpState.SynReceived) && now - _oldestUnackedAt >= UserTimeout)
        {
            _layer.Counters.Increment(Counter.TcpUserTimeouts);
            Fail(StackError.TimedOut);
            return;
        }

        if (_retries >= limit)
        {
            _layer.Counters.Increment(Counter.TcpTimeoutAborts);
            if (State == TcpState.SynReceived && Listener is not null)
            {
                SetState(TcpState.Closed);
                return;
            }

            Fail(StackError.TimedOut);
            return;
        }

        _retries++;
        _timeouts++;
        _layer.Counters.Increment(Counter.TcpTimeouts);
        _rto = TimeSpan.FromTicks(Math.Min(_rto.Ticks * 2, _layer.Settings.MaxRto.Ticks)); // RFC 6298 5.5
        _timing = false; // Karn: no RTT sample from retransmitted data
        switch (State)
        {
            case TcpState.SynSent:
                SendSyn(ack: false);
                break;
            case TcpState.SynReceived:
                SendSyn(ack: true);
                break;
            default:
                if (_sndWnd == 0 && _sndNxt == _sndUna && _sendBuffer.Count > 0 && !_finSent)
                {
                    // Zero-window probe (RFC 9293 3.8.6.1 / RFC 1122 4.2.2.17) in Linux's form: no
                    // data, SEG.SEQ = SND.UNA - 1, which the peer must answer with an ACK carrying its
                    // current window. (RFC 9293 suggests one new octet; a byte taken while the
                    // window reopens was then acknowledged beyond SND.NXT and the ACK, window and
                    // all, was dropped: a stall. This form has no byte in doubt.)
                    _layer.Counters.Increment(Counter.TcpWindowProbes);
                    _layer.Send(Tuple, _sndUna - 1, _rcvNxt, TcpFlags.Ack, AdvertisedWindow(), SegmentOptions(withSack: false), null, 0, 0);
                    _retries = 0; // a probed zero window is not a dead peer
                    break;
                }

                // RFC 5681 3.1 (4)-(5): the first timeout of an episode sets ssthresh from the flight;
                // every timeout sets cwnd to one segment. Recovery and the scoreboard are abandoned
                // (RFC 6675 5.1; RFC 2018 lets the receiver renege), and RFC 6582 4.1: losses below
                // the old SND.NXT will not start a fast recovery.
                if (_retries == 1)
                {
                    ArmUndo();
                }

                _cc.OnRetransmitTimeout(_sndNxt - _sndUna, now, firstInEpisode: _retries == 1);
                _recoveryPoint = _sndNxt;
                _layer.Counters.Increment(Counter.TcpRetransmits);
                GoBackToUnacknowledged(); // RFC 8985 6.3: after an RTO everything outstanding is sent again

                uint savedWindow = _sndWnd;
                _sndWnd = Math.Max(_sndWnd, (uint)Mss); // at least one segment goes out
                Output();
                _sndWnd = savedWindow;
                break;
        }

        ArmRetransmit(restart: true);
    }

    internal void OnIcmpError(StackError error, SeqNumber quotedSequence, int mtu = 0)
    {
        // RFC 5927 4.1: accept the error only if the quoted sequence number is in flight.
        if (!quotedSequence.IsBetweenInclusive(_sndUna, _sndMax - 1) && !(State == TcpState.SynSent && quotedSequence == _iss))
        {
            return;
        }

        if (error == StackError.MessageTooLong)
        {
            LowerPathMtu(mtu);
            return;
        }

        // RFC 1122 4.2.3.9: hard errors abort a connection still opening; otherwise they are soft.
        if (State == TcpState.SynSent && error is StackError.ConnectionRefused or StackError.HostUnreachable or StackError.NetworkUnreachable or StackError.ProtocolUnreachable)
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
        _cc.SetMss(Mss, beforeData: false);
        _layer.Counters.Increment(Counter.TcpPathMtuReductions);
        if (State is TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.Closing or TcpState.LastAck && _sndNxt != _sndUna)
        {
            _timing = false;
            GoBackToUnacknowledged();
            Output();
        }
    }

    // Go-back-N (after an RTO or a path MTU drop): everything from SND.UNA is sent again, the FIN
    // too if it was not acknowledged; recovery, the SACK scoreboard and the segment log start
    // over. ACKs up to the highest sequence sent stay acceptable (_sndMax).
    private void GoBackToUnacknowledged()
    {
        _sndNxt = _sndUna;
        if (_finSent && !_finAcked)
        {
            _finSent = false;
        }

        _inRecovery = false;
        _dupAcks = 0;
        _renoSacked = 0;
        _limitedTransmit = false;
        _scoreboard.Clear();
        _sent.Clear();
        _layer.Timers.Cancel(_rackTimer);
    }

    // Returns the sample taken (TimeSpan.Zero for none).
    private TimeSpan TakeRttSample(SeqNumber ack)
    {
        if (!_timing || ack <= _timedSeq)
        {
            return TimeSpan.Zero;
        }

        _timing = false;
        return UpdateRtt(_layer.Now - _timedAt);
    }

    // RFC 7323 4.1 (RTTM): with timestamps every ACK that advances SND.UNA gives a sample, the
    // retransmitted ones too (the echo is of the segment that arrived), at the TS clock's 1 ms grain.
    private TimeSpan TakeTimestampRttSample(uint echo)
    {
        uint elapsed = unchecked(TimestampNow - echo);
        if (elapsed > int.MaxValue)
        {
            return TimeSpan.Zero; // an echo from the future: ignore
        }

        _timing = false;
        return UpdateRtt(TimeSpan.FromMilliseconds(elapsed));
    }

    // RFC 6298 2.2-2.4: SRTT, RTTVAR and RTO from a sample.
    private TimeSpan UpdateRtt(TimeSpan r)
    {
        if (!_hasRtt)
        {
            // RFC 6298 2.2.
            _srtt = r;
            _rttvar = r / 2;
            _hasRtt = true;
        }
        else
        {
            // RFC 6298 2.3 with alpha = 1/8, beta = 1/4.
            _rttvar = (_rttvar * 3 / 4) + (Abs(_srtt - r) / 4);
            _srtt = (_srtt * 7 / 8) + (r / 8);
        }

        TimeSpan rto = _srtt + TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(1).Ticks, (_rttvar * 4).Ticks));
        _rto = Clamp(rto, _layer.Settings.MinRto, _layer.Settings.MaxRto);
        if (r < _minRtt)
        {
            _minRtt = r;
        }

        return r;
    }

    private static TimeSpan Abs(TimeSpan t) => t < TimeSpan.Zero ? -t : t;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static TimeSpan Clamp(TimeSpan t, TimeSpan min, TimeSpan max) => t < min ? min : t > max ? max : t;

    private void ArmRetransmit(bool restart = false)
    {
        if (restart || !_retransmitTimer.IsScheduled)
        {
            // RFC 8985 7.2: while nothing is being recovered, a probe timeout (2 SRTT, plus the
            // worst-case delayed ACK when one segment is out) comes before the RTO.
            _ptoArmed = CanProbe();
            TimeSpan wait = _rto;
            if (_ptoArmed)
            {
                TimeSpan pto = _hasRtt ? Max(2 * _srtt, TimeSpan.FromMilliseconds(10)) : TimeSpan.FromSeconds(1); // 10 ms floor as Linux
                if (_sndNxt - _sndUna <= Mss)
                {
                    pto += TimeSpan.FromMilliseconds(200); // WCDelAckT
                }

                wait = pto < _rto ? pto : _rto;
            }

            _layer.Timers.Schedule(_retransmitTimer, _layer.Now + wait);
        }
    }

    private bool CanProbe() => _sackPermitted && !_inRecovery && !_tlpInFlight && _retries == 0 && _sndNxt != _sndUna
        && State is TcpState.Established or TcpState.CloseWait;

    // RFC 8985 7.3: the probe is one new segment if the receive window allows, else the last
    // segment sent again; either way an ACK (with SACK) follows that lets RACK see a tail loss.
    private void SendLossProbe()
    {
        _layer.Counters.Increment(Counter.TcpLossProbes);
        _tlpInFlight = true;
        int sent = _sndNxt - _sndUna - (_finSent ? 1 : 0);
        int unsent = _sendBuffer.Count - sent;
        long room = (long)_sndWnd - (_sndNxt - _sndUna);
        if (unsent > 0 && !_finSent && room >= Math.Min(Mss, unsent))
        {
            _tlpWasRetransmission = false;
            _probeSegment = true; // one new segment, not held back by cwnd
            Output();
            _probeSegment = false;
        }
        else if (_sent.Count > 0)
        {
            _tlpWasRetransmission = true;
            ref SentSegments.Entry last = ref _sent[_sent.Count - 1];
            int length = Math.Min(Math.Min(Mss, last.Length), _sendBuffer.Count - (last.Start - _sndUna));
            if (length > 0)
            {
                Resend(last.End - length, length);
            }
        }

        _tlpEndSeq = _sndNxt;
    }

    // RFC 8985 7.4: the probe was answered. If it was a retransmission that repaired a loss (its
    // ACK is not a D-SACK), the loss still calls for the congestion response.
    private void OnTlpAnswered()
    {
        _tlpInFlight = false;
        if (_tlpWasRetransmission)
        {
            _layer.Counters.Increment(Counter.TcpLossProbeRecoveries);
            ArmUndo();
            _cc.OnLoss(_sndNxt - _sndUna, _layer.Now);
        }
    }

    private uint ReceiveWindow => (uint)Math.Min(_receiveBuffer.Free, 65535 << _rcvShift);

    private ushort AdvertisedWindow()
    {
        uint window = ReceiveWindow;
        _advertisedRight = _rcvNxt + (int)(window >> _rcvShift << _rcvShift);
        return (ushort)(window >> _rcvShift);
    }

    private void AckSent()
    {
        _lastAckSent = _rcvNxt;
        _unackedBytes = 0;
        _layer.Timers.Cancel(_delayedAckTimer);
    }

    private void SendAck()
    {
        if (State is TcpState.Closed or TcpState.Listen or TcpState.SynSent)
        {
            return;
        }

        _layer.Send(Tuple, _sndNxt, _rcvNxt, TcpFlags.Ack, AdvertisedWindow(), SegmentOptions(withSack: true), null, 0, 0);
        AckSent();
    }

    // RFC 1122 4.2.3.3 (receiver SWS avoidance): announce a larger window only once it has grown
    // by at least min(MSS, half the buffer).
    private void MaybeSendWindowUpdate()
    {
        if (State is not (TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2))
        {
            return;
        }

        int growth = (_rcvNxt + (int)ReceiveWindow) - _advertisedRight;
        if (growth >= Math.Min(Mss, _receiveBuffer.Capacity / 2))
        {
            SendAck();
        }
    }

    private void RestartTimeWait() => _layer.Timers.Schedule(_timeWaitTimer, _layer.Now + _layer.Settings.TimeWaitDuration);

    // The state timer ends TIME-WAIT, or an orphan's wait in FIN-WAIT-2.
    private void OnStateTimer()
    {
        if (State == TcpState.FinWait2)
        {
            _layer.Counters.Increment(Counter.TcpFinWait2Timeouts);
        }

        SetState(TcpState.Closed);
    }

    private void ArmKeepAlive()
    {
        if (State is TcpState.Established or TcpState.CloseWait)
        {
            _layer.Timers.Schedule(_keepAliveTimer, _layer.Now + (_keepAliveProbesSent == 0 ? KeepAliveIdle : KeepAliveInterval));
        }
    }

    // RFC 1122 4.2.3.6: a keepalive probe is a segment with SEG.SEQ = SND.NXT-1 and no data, which
    // the peer must acknowledge; unanswered probes end the connection.
    private void OnKeepAliveTimer(Instant now)
    {
        if (!_keepAlive || State is not (TcpState.Established or TcpState.CloseWait))
        {
            return;
        }

        if (_keepAliveProbesSent >= KeepAliveProbes)
        {
            _layer.Counters.Increment(Counter.TcpKeepAliveTimeouts);
            Fail(StackError.TimedOut);
            return;
        }

        _keepAliveProbesSent++;
        _layer.Counters.Increment(Counter.TcpKeepAliveProbes);
        _layer.Send(Tuple, _sndUna - 1, _rcvNxt, TcpFlags.Ack, AdvertisedWindow(), SegmentOptions(withSack: false), null, 0, 0);
        _layer.Timers.Schedule(_keepAliveTimer, now + KeepAliveInterval);
    }

    private void Fail(StackError error)
    {
        Error = error;
        SetState(TcpState.Closed);
        Readable?.Invoke();
        Writable?.Invoke();
    }

    /// <summary>The one place state changes (ARCHITECTURE rule 5): counts, arms and cancels timers, notifies.</summary>
    private void SetState(TcpState next)
    {
        TcpState previous = State;
        if (previous == next)
        {
            return;
        }

        State = next;
        switch (next)
        {
            case TcpState.FinWait2:
                if (_orphan)
                {
                    _layer.Timers.Schedule(_timeWaitTimer, _layer.Now + _layer.Settings.FinWait2Timeout);
                }

                break;
            case TcpState.Established:
                _layer.Counters.Increment(Counter.TcpEstablished);
                _cc.SetMss(Mss, beforeData: true); // RFC 6928: IW counted in the negotiated MSS
                _recoveryPoint = _sndNxt;
                _roundEnd = _sndNxt;
                if (_keepAlive)
                {
                    ArmKeepAlive();
                }

                if (previous == TcpState.SynReceived)
                {
                    _layer.Timers.Cancel(_retransmitTimer);
                    _retries = 0;
                    Listener?.OnEstablished(this);
                }

                break;
            case TcpState.TimeWait when _layer.TimeWaitCount >= _layer.Settings.MaxTimeWait:
                // The TIME-WAIT bound is reached: close at once (as Linux past tcp_max_tw_buckets).
                _layer.Counters.Increment(Counter.TcpTimeWaitOverflow);
                State = previous;
                SetState(TcpState.Closed);
                return;
            case TcpState.TimeWait:
                _layer.Counters.Increment(Counter.TcpTimeWaits);
                _layer.TimeWaitCount++;
                ReleaseOrphan();
                _layer.Timers.Cancel(_keepAliveTimer);
                _layer.Timers.Cancel(_retransmitTimer);
                _layer.Timers.Cancel(_delayedAckTimer);
                RestartTimeWait();
                break;
            case TcpState.Closed:
                if (previous == TcpState.TimeWait)
                {
                    _layer.TimeWaitCount--;
                }

                _layer.Timers.Cancel(_retransmitTimer);
                _layer.Timers.Cancel(_delayedAckTimer);
                _layer.Timers.Cancel(_timeWaitTimer);
                _layer.Timers.Cancel(_keepAliveTimer);
                _layer.Timers.Cancel(_rackTimer);
                ReleaseOrphan();
                _layer.Unregister(this);
                Listener?.OnClosed(this);
                break;
        }

        StateChanged?.Invoke(next);
    }

    private void ReleaseOrphan()
    {
        if (_orphan)
        {
            _orphan = false;
            _layer.OrphanCount--;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Tuple} {State}";
}
