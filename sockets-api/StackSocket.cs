// The POSIX/Linux sockets API over the stack, shaped like System.Net.Sockets.Socket.
// Every call takes the stack through StackRunner.Enter (one thread at a time, rule 2); blocking
// and async waits park on a ReadinessSignal that the stack's callbacks wake.
using System.Net;
using System.Net.Sockets;
using TunStack.Ip;
using TunStack.Sockets.Hosting;
using TunStack.Tcp;
using TunStack.Tcp.Congestion;
using TunStack.Udp;
using TcpAcceptor = TunStack.Tcp.TcpAcceptor;

namespace TunStack.Sockets;

/// <summary>
/// A socket on a <see cref="StackHost"/>: a TCP stream socket or a UDP datagram socket, IPv4 or
/// IPv6 (dual-mode with v4-mapped addresses unless <see cref="DualMode"/> is off). Members mirror
/// <see cref="Socket"/>; the semantics are those of POSIX and Linux (docs/sockets.md). Errors are
/// <see cref="SocketException"/>s with the matching <see cref="SocketError"/>; the <c>out SocketError</c>
/// overloads report EAGAIN and friends without an exception. One reader and one writer at a time;
/// <see cref="Dispose"/> from any thread wakes blocked callers with OperationAborted.
/// </summary>
public sealed partial class StackSocket : IDisposable
{
    private const int MaxBufferSize = 16 * 1024 * 1024;
    private const int MinBufferSize = 2048;
    private readonly StackHost _host;
    private readonly StackRunner _runner;
    private readonly ReadinessSignal _readable;
    private readonly ReadinessSignal _writable;
    private readonly Action _onReadable;
    private readonly Action _onWritable;
    private readonly Action<TcpConnectionState> _onStateChanged;

    // Stream sockets: a reservation from bind(), then a listener or a connection.
    private InternetEndpoint? _binding;
    private bool _bindingReuse;
    private bool _listenerBoundByCaller; // bind() before listen(): the port stays the socket's when it stops listening
    private InternetEndpoint? _boundBeforeConnect; // bind() before connect(): the socket keeps it if the attempt fails
    private InternetEndpoint? _releasedLocal; // the local end of a failed connect whose port was let go: getsockname shows it until bind, connect or listen
    private bool _portLocked; // bind() named a port (Linux's SOCK_BINDPORT_LOCK; an accepted socket has its listener's)
    private TcpAcceptor? _listener;
    private TcpConnection? _connection;
    private bool _accepted;
    private bool _connecting;

    // Datagram sockets.
    private readonly UdpEndpoint? _udp;

    // Who waits for this socket's readiness besides its own blocked calls: polls and PollSets.
    private ReadinessWatcherList _watchers;
    private bool _sendSpaceWanted;       // a writer or a poll found no room (Linux's SOCK_NOSPACE): the next ACK tells the watchers

    private StackError _pendingError;   // SO_ERROR: reported once, by the next call or GetSocketOption(Error)
    private bool _fatalReported;         // the connection's fatal error has been reported once (then EPIPE / EOF)
    private bool _shutdownSend;
    private bool _shutdownReceive;
    private bool _closed;
    private bool _reuseAddress;
    private bool _dualMode;
    private bool _noDelay;
    private int _maxSegmentSize; // TCP_MAXSEG; 0: the path's
    private bool _keepAlive;
    private int _sendBufferSize;
    private int _receiveBufferSize;
    private LingerOption _linger = new(false, 0);
    private string? _congestionControlName;
    private TimeSpan _userTimeout;      // TCP_USER_TIMEOUT; zero: off
    private int _notSentLowWatermark;   // TCP_NOTSENT_LOWAT; 0: none
    private byte _typeOfService;        // IP_TOS / IPV6_TCLASS, ECN bits clear
    private bool _dontFragment = true;  // IP_MTU_DISCOVER: false for IP_PMTUDISC_DONT
    private bool _cork;                 // TCP_CORK
    private Action<TcpConnection>? _applyOptionsBeforeSyn;

    internal StackSocket(StackHost host, AddressFamily addressFamily, SocketType socketType, ProtocolType protocolType)
    {
        if (addressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw SocketErrors.Exception(SocketError.AddressFamilyNotSupported);
        }

        bool stream = socketType == SocketType.Stream && protocolType is ProtocolType.Tcp or ProtocolType.Unspecified;
        bool datagram = socketType == SocketType.Dgram && protocolType is ProtocolType.Udp or ProtocolType.Unspecified;
        if (!stream && !datagram)
        {
            throw SocketErrors.Exception(socketType is SocketType.Stream or SocketType.Dgram ? SocketError.ProtocolNotSupported : SocketError.SocketNotSupported);
        }

        _host = host;
        _runner = host.Runner;
        _readable = new ReadinessSignal(_runner.Gate);
        _writable = new ReadinessSignal(_runner.Gate);
        _onReadable = OnReadable;
        _onWritable = OnWritable;
        _onStateChanged = _ => OnStateChanged();
        AddressFamily = addressFamily;
        SocketType = socketType;
        ProtocolType = stream ? ProtocolType.Tcp : ProtocolType.Udp;
        _dualMode = addressFamily == AddressFamily.InterNetworkV6;
        _sendBufferSize = 0;    // 0: the stack's default, auto-tuned (SO_SNDBUF unset)
        _receiveBufferSize = 0;
        if (datagram)
        {
            using StackCall call = _runner.Enter();
            _udp = call.Stack.OpenUdp(addressFamily);
            _udp.V6Only = !_dualMode;
            _udp.Readable = _onReadable;
            _udp.ErrorRaised = OnStateChangedAction;
        }
    }

    // An accepted connection.
    private StackSocket(StackHost host, StackSocket listener, TcpConnection connection)
        : this(host, listener.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
    {
        _connection = connection;
        _accepted = true;
        _portLocked = listener._portLocked;
        _dualMode = listener._dualMode;
        _noDelay = listener._noDelay;
        _keepAlive = listener._keepAlive;
        _sendBufferSize = listener._sendBufferSize;
        _receiveBufferSize = listener._receiveBufferSize;
        _maxSegmentSize = listener._maxSegmentSize;
        _linger = listener._linger;
        _userTimeout = listener._userTimeout;
        _notSentLowWatermark = listener._notSentLowWatermark;
        _typeOfService = listener._typeOfService;
        _dontFragment = listener._dontFragment;
        _cork = listener._cork;
        ApplyConnectionOptions(); // inherited, and in effect (Linux clones them and arms keepalive)
        Wire(connection);
    }

    // A connection a forwarder accepted (StackHost.ForwardTcp): still in SYN-RECEIVED, so the
    // socket is "connecting" until the client's ACK arrives, as a connect() in progress is.
    internal StackSocket(StackHost host, TcpConnection forwarded)
        : this(host, forwarded.Tuple.Local.Address.IsV6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
    {
        _connection = forwarded;
        _accepted = true;
        _connecting = true;
        _dualMode = false;
        Wire(forwarded);
    }

    /// <summary>The local end a connect uses even when the stack does not own it (set by StackHost.ConnectFromAsync); null: bind's or the stack's choice.</summary>
    internal InternetEndpoint? TransparentSource { get; set; }

    private Action OnStateChangedAction => () => OnStateChanged();

    /// <summary>The gate of the socket's host: held to read readiness and to change <see cref="Watchers"/>.</summary>
    internal Lock Gate => _runner.Gate;

    /// <summary>Under <see cref="Gate"/>: the polls and PollSet entries watching this socket.</summary>
    internal ref ReadinessWatcherList Watchers => ref _watchers;

    /// <summary>Tests: how many polls and PollSets watch this socket now.</summary>
    internal int WatcherCount
    {
        get
        {
            lock (_runner.Gate)
            {
                return _watchers.Count;
            }
        }
    }

    /// <summary>Tests: a caller is parked waiting to read (or accept).</summary>
    internal bool IsReaderWaiting
    {
        get
        {
            lock (_runner.Gate)
            {
                return _readable.IsArmed;
            }
        }
    }

    /// <summary>InterNetwork or InterNetworkV6.</summary>
    public AddressFamily AddressFamily { get; }

    /// <summary>Stream or Dgram.</summary>
    public SocketType SocketType { get; }

    /// <summary>Tcp or Udp.</summary>
    public ProtocolType ProtocolType { get; }

    /// <summary>The host the socket lives on.</summary>
    public StackHost Host => _host;

    /// <summary>Whether calls block (true, the default) or fail with WouldBlock (O_NONBLOCK).</summary>
    public bool Blocking { get; set; } = true;

    /// <summary>Milliseconds a blocking receive (or accept) waits before TimedOut; 0 or -1 waits for ever (SO_RCVTIMEO).</summary>
    public int ReceiveTimeout { get; set; }

    /// <summary>Milliseconds a blocking send (or connect) waits before TimedOut; 0 or -1 waits for ever (SO_SNDTIMEO).</summary>
    public int SendTimeout { get; set; }

    /// <summary>True when the socket has a local address (bind, listen, connect or send did it).</summary>
    public bool IsBound
    {
        get
        {
            using StackCall call = Enter();
            return LocalIpEndpoint is not null;
        }
    }

    /// <summary>True for a connected stream socket, or a datagram socket with a default peer.</summary>
    public bool Connected
    {
        get
        {
            using StackCall call = Enter();
            UpdateConnecting();
            return _udp is not null ? _udp.RemoteEndpoint is not null : _connection is { State: not (TcpConnectionState.SynSent or TcpConnectionState.Closed) };
        }
    }

    /// <summary>The local address (getsockname); null when unbound.</summary>
    public EndPoint? LocalEndPoint
    {
        get
        {
            using StackCall call = Enter();
            return LocalIpEndpoint is { } local ? ToEndPoint(local) : null;
        }
    }

    /// <summary>The peer address (getpeername); null when not connected.</summary>
    public EndPoint? RemoteEndPoint
    {
        get
        {
            using StackCall call = Enter();
            UpdateConnecting();
            return RemoteIpEndpoint is { } remote ? ToEndPoint(remote) : null;
        }
    }

    /// <summary>getpeername(2): the peer, or ENOTCONN (SocketError.NotConnected).</summary>
    public EndPoint GetPeerName() => RemoteEndPoint ?? throw SocketErrors.Exception(SocketError.NotConnected);

    /// <summary>
    /// FIONREAD: unread bytes on a stream socket; the size of the next datagram on a datagram
    /// socket (0 for a zero-length datagram or none).
    /// </summary>
    public int Available
    {
        get
        {
            using StackCall call = Enter();
            return _udp is not null ? Math.Max(0, _udp.NextDatagramLength) : _connection?.Available ?? 0;
        }
    }

    /// <summary>
    /// TCP_NODELAY: send small segments without waiting (Nagle off). As on Linux, setting it true
    /// also sends at once what waits, a partial segment that <see cref="Cork"/> or
    /// <see cref="StackSocketFlags.More"/> held included.
    /// </summary>
    public bool NoDelay
    {
        get => _noDelay;
        set
        {
            using StackCall call = Enter();
            _noDelay = value;
            ApplyConnectionOptions();
            if (value)
            {
                _connection?.Push();
            }
        }
    }

    /// <summary>
    /// TCP_CORK, as Linux: while true, a stream socket sends only full segments; the partial one at
    /// the end waits until the cork comes off (then it goes as Nagle allows, at once with
    /// <see cref="NoDelay"/>), <see cref="NoDelay"/> is set, or about an RTO passes with nothing in
    /// flight (Linux's probe timer, about 200 ms). Accepted connections inherit it.
    /// </summary>
    public bool Cork
    {
        get => _cork;
        set => SetConnectionOption(ref _cork, value);
    }

    /// <summary>
    /// TCP_MAXSEG, as Linux: set, the largest segment the connection advertises in its SYN and
    /// sends (88 to 65535; 0 for what the path allows), inherited by accepted connections; read,
    /// the connection's send MSS once it has one, else the value set, else 536.
    /// </summary>
    /// <exception cref="SocketException">InvalidArgument for a value outside 88 to 65535 other than 0.</exception>
    public int MaxSegmentSize
    {
        get
        {
            using StackCall call = Enter();
            bool unconnected = _connection is null || _connection.State is TcpConnectionState.Closed or TcpConnectionState.Listen;
            return unconnected && _maxSegmentSize > 0 ? _maxSegmentSize
                : _connection is { State: not (TcpConnectionState.Closed or TcpConnectionState.SynSent) } c ? c.Mss
                : 536;
        }

        set
        {
            using StackCall call = Enter();
            if (value != 0 && value is < 88 or > 65535)
            {
                throw new SocketException((int)SocketError.InvalidArgument);
            }

            _maxSegmentSize = value;
            if (_listener is { } listener)
            {
                listener.MaxSegmentSize = value;
            }
        }
    }

    /// <summary>SO_LINGER: with Enabled and 0 seconds, Close resets the connection (RST); with more, a blocking Close waits up to that long for the data to go.</summary>
    public LingerOption LingerState
    {
        get => _linger;
        set => _linger = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>
    /// SO_RCVBUF in bytes (2 KiB to 16 MiB); for a stream socket it takes effect when set before
    /// connect or listen, and turns auto-tuning off for it (as on Linux). Unset, it reads the
    /// current (auto-tuned) size.
    /// </summary>
    public int ReceiveBufferSize
    {
        get => _connection?.ReceiveBufferSize ?? (_receiveBufferSize > 0 ? _receiveBufferSize : _udp is not null ? _host.Options.UdpReceiveQueueBytes : _host.Options.Tcp.ReceiveBufferSize);
        set => _receiveBufferSize = ClampBuffer(value);
    }

    /// <summary>
    /// SO_SNDBUF in bytes (2 KiB to 16 MiB), as <see cref="ReceiveBufferSize"/> for sending; on a
    /// connected stream socket it also takes effect at once (Linux applies SO_SNDBUF to an
    /// established connection: smaller than what waits, writes block until ACKs drain it).
    /// </summary>
    public int SendBufferSize
    {
        get => _connection?.SendBufferSize ?? (_sendBufferSize > 0 ? _sendBufferSize : _host.Options.Tcp.SendBufferSize);
        set
        {
            using StackCall call = Enter();
            _sendBufferSize = ClampBuffer(value);
            if (_connection is { } connection)
            {
                connection.SendBufferSize = _sendBufferSize;
            }
        }
    }

    /// <summary>
    /// TCP_USER_TIMEOUT (RFC 5482, as Linux): how long sent data may stay unacknowledged before
    /// the connection is dropped with TimedOut (ETIMEDOUT); zero (the default) leaves it to the
    /// retransmission limits. Set before or after connect; accepted connections inherit it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative time.</exception>
    public TimeSpan UserTimeout
    {
        get => _userTimeout;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            SetConnectionOption(ref _userTimeout, value);
        }
    }

    /// <summary>
    /// TCP_NOTSENT_LOWAT in bytes, 0 (the default) for none: with a mark, a send stops taking data
    /// once that many bytes wait unsent (at the end of the packet-sized unit it is filling, as
    /// Linux), and the socket reads writable (<see cref="PollEvents.Writable"/>) only while fewer
    /// than half the mark wait unsent. Accepted connections inherit it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative value.</exception>
    public int NotSentLowWatermark
    {
        get => _notSentLowWatermark;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            SetConnectionOption(ref _notSentLowWatermark, value);
        }
    }

    /// <summary>
    /// IP_TOS on an InterNetwork socket, IPV6_TCLASS on an InterNetworkV6 one: the octet the
    /// stream socket's segments carry in their IP header (RFC 2474's DS field). Its two ECN bits
    /// are the stack's (RFC 3168) and read back as 0, as on Linux for a TCP socket. Accepted
    /// connections inherit it.
    /// </summary>
    public byte TypeOfService
    {
        get => _typeOfService;
        set => SetConnectionOption(ref _typeOfService, (byte)(value & ~0x03));
    }

    /// <summary>
    /// As <see cref="Socket.DontFragment"/>, for a stream socket: its IPv4 segments carry DF (path
    /// MTU discovery, RFC 1191; the default). False is Linux's IP_PMTUDISC_DONT: DF clear.
    /// Accepted connections inherit it.
    /// </summary>
    public bool DontFragment
    {
        get => _dontFragment;
        set => SetConnectionOption(ref _dontFragment, value);
    }

    /// <summary>
    /// Linux's TCP_INQ hint (the TCP_CM_INQ control message of recvmsg): the bytes ready to
    /// read, or 1 when none are and the peer has closed (so that a reader tells the end of the
    /// stream from an empty queue); 0 without a connection.
    /// </summary>
    public int ReceiveQueueHint
    {
        get
        {
            using StackCall call = Enter();
            if (_connection is not { } connection)
            {
                return 0;
            }

            int available = connection.Available;
            return available == 0 && (connection.PeerClosed || _shutdownReceive) ? 1 : available;
        }
    }

    /// <summary>For an InterNetworkV6 socket: also IPv4, as v4-mapped addresses (IPV6_V6ONLY off). Set before bind/connect.</summary>
    public bool DualMode
    {
        get => _dualMode;
        set
        {
            if (AddressFamily != AddressFamily.InterNetworkV6)
            {
                throw new NotSupportedException("DualMode applies to InterNetworkV6 sockets.");
            }

            using StackCall call = Enter();
            if (LocalIpEndpoint is not null)
            {
                throw SocketErrors.Exception(SocketError.InvalidArgument);
            }

            _dualMode = value;
            if (_udp is not null)
            {
                _udp.V6Only = !value;
            }
        }
    }

    /// <summary>
    /// SIOCATMARK: true when the next byte to read is where the out-of-band byte was sent, so
    /// everything before the mark has been read.
    /// </summary>
    public bool AtMark
    {
        get
        {
            using StackCall call = Enter();
            return _connection?.AtMark ?? false;
        }
    }

    /// <summary>getsockopt(TCP_INFO): the connection's state and statistics (rtt, cwnd, retransmits, ...); null without a connection.</summary>
    public TcpConnectionInfo? GetTcpInfo()
    {
        using StackCall call = Enter();
        return _connection?.GetInfo();
    }

    /// <summary>TCP_CONGESTION: the connection's congestion control (set before or after connect).</summary>
    public CongestionAlgorithm CongestionAlgorithm
    {
        get
        {
            using StackCall call = Enter();
            return _connection?.CongestionAlgorithm
                ?? (_congestionControlName is { } name ? CongestionControlRegistry.AlgorithmOf(name) : _host.Options.Tcp.CongestionControl);
        }

        set
        {
            string name = CongestionControlRegistry.NameOf(value);
            using StackCall call = Enter();
            _congestionControlName = name;
            ApplyConnectionOptions();
        }
    }

    /// <summary>
    /// TCP_CONGESTION by name: the connection's congestion control, one registered on the stack
    /// (<see cref="TcpSettings.CongestionControls"/>: "cubic", "reno", "bbr" or an application's);
    /// set before or after connect.
    /// </summary>
    /// <exception cref="ArgumentException">No algorithm of that name is registered (Linux: ENOENT).</exception>
    public string CongestionControlName
    {
        get
        {
            using StackCall call = Enter();
            return _connection?.CongestionControlName ?? _congestionControlName ?? _host.Options.Tcp.CongestionControlName;
        }

        set
        {
            using StackCall call = Enter();
            if (!_host.Options.Tcp.CongestionControls.Contains(value))
            {
                throw new ArgumentException($"no congestion control called '{value}' is registered", nameof(value));
            }

            _congestionControlName = value;
            ApplyConnectionOptions();
        }
    }

    /// <summary>The TCP state of a stream socket's connection (Closed without one, Listen for a listener).</summary>
    public TcpConnectionState TcpConnectionState
    {
        get
        {
            using StackCall call = Enter();
            return _listener is not null ? TcpConnectionState.Listen : _connection?.State ?? TcpConnectionState.Closed;
        }
    }

    /// <summary>bind(2): gives the socket a local address; port 0 picks an ephemeral port.</summary>
    /// <exception cref="SocketException">AddressNotAvailable (not one of the stack's addresses, or no
    /// ephemeral port left), AddressAlreadyInUse, InvalidArgument (already bound), AddressFamilyNotSupported.</exception>
    public void Bind(EndPoint localEP)
    {
        InternetEndpoint local = FromEndPoint(localEP);
        using StackCall call = Enter();
        if (LocalIpEndpoint is not null && !PortReleasedByEndedConnection)
        {
            throw SocketErrors.Exception(SocketError.InvalidArgument);
        }

        StackError error;
        if (_udp is not null)
        {
            error = _udp.Bind(local);
        }
        else
        {
            error = call.Stack.BindTcp(local, _reuseAddress, out InternetEndpoint bound);
            if (error == StackError.None)
            {
                _binding = bound;
                _bindingReuse = _reuseAddress;
                _portLocked = local.Port != 0;
                _releasedLocal = null;
            }
        }

        ThrowIf(error);
    }

    /// <summary>
    /// listen(2): marks a stream socket passive. Without bind, an ephemeral port is picked (read it
    /// from <see cref="LocalEndPoint"/>). The backlog is clamped to [1, SOMAXCONN]; calling again changes nothing but succeeds.
    /// </summary>
    /// <exception cref="SocketException">OperationNotSupported on a datagram socket; InvalidArgument on a
    /// connected or accepted socket; AddressAlreadyInUse.</exception>
    public void Listen(int backlog = 4096)
    {
        using StackCall call = Enter();
        if (_udp is not null)
        {
            throw SocketErrors.Exception(SocketError.OperationNotSupported);
        }

        if (_listener is not null)
        {
            return;
        }

        if (_connection is not null || _accepted)
        {
            throw SocketErrors.Exception(SocketError.InvalidArgument);
        }

        _listenerBoundByCaller = _binding is not null;
        if (_binding is null)
        {
            ThrowIf(call.Stack.BindTcp(new InternetEndpoint(WildcardAddress, 0), _reuseAddress, out InternetEndpoint bound));
            _binding = bound;
            _releasedLocal = null;
            _bindingReuse = _reuseAddress;
        }

        InternetEndpoint local = _binding.Value;
        call.Stack.UnbindTcp(local, _bindingReuse);
        TcpAcceptor? listener = call.Stack.ListenTcp(local, backlog, out StackError error, v6Only: AddressFamily == AddressFamily.InterNetworkV6 && !_dualMode);
        if (listener is null)
        {
            call.Stack.BindTcp(local, _bindingReuse, out _);
            ThrowIf(error);
            return;
        }

        _binding = null;
        listener.SendBufferSize = _sendBufferSize;
        listener.ReceiveBufferSize = _receiveBufferSize;
        listener.MaxSegmentSize = _maxSegmentSize;
        listener.Readable = _onReadable;
        _listener = listener;
    }

    /// <summary>
    /// accept(2): the next connection whose handshake completed, as a new connected socket; the
    /// peer address is its <see cref="RemoteEndPoint"/>. Blocks unless nonblocking (then WouldBlock).
    /// </summary>
    /// <exception cref="SocketException">InvalidArgument when not listening; OperationNotSupported on a
    /// datagram socket; WouldBlock; TimedOut (ReceiveTimeout).</exception>
    public StackSocket Accept()
    {
        while (true)
        {
            using (StackCall call = Enter())
            {
                StackSocket? accepted = TryAccept(out SocketError error);
                if (accepted is not null)
                {
                    return accepted;
                }

                if (error != SocketError.WouldBlock || !Blocking)
                {
                    throw SocketErrors.Exception(error);
                }

                _readable.ArmBlocking();
            }

            WaitOrThrow(_readable, ReceiveTimeout);
        }
    }

    /// <summary>
    /// connect(2). A stream socket starts the handshake and, when blocking, waits for its outcome;
    /// nonblocking, it throws InProgress and completion shows as writable in <see cref="Poll(int, SelectMode)"/>
    /// with the result in SO_ERROR. A datagram socket records a default peer (a second connect
    /// changes it; <see cref="UnspecifiedEndPoint"/> dissolves it).
    /// </summary>
    /// <exception cref="SocketException">ConnectionRefused, TimedOut, NetworkUnreachable,
    /// HostUnreachable, AddressNotAvailable, InProgress, AlreadyInProgress, IsConnected.</exception>
    public void Connect(EndPoint remoteEP)
    {
        if (!BeginConnect(remoteEP))
        {
            return;
        }

        if (!Blocking)
        {
            throw SocketErrors.Exception(SocketError.InProgress);
        }

        while (true)
        {
            using (StackCall call = Enter())
            {
                if (HandshakeFinished())
                {
                    return;
                }

                _writable.ArmBlocking();
            }

            WaitOrThrow(_writable, SendTimeout);
        }
    }

    /// <summary>
    /// shutdown(2): Send sends FIN after the buffered data while reading goes on; Receive makes reads
    /// return 0. On a listener, as on Linux, Receive or Both stops listening (pending connections are
    /// reset, a blocked <see cref="Accept"/> wakes with InvalidArgument, and the socket keeps the
    /// address it was bound to, or none if listen picked it); Send does nothing.
    /// </summary>
    /// <exception cref="SocketException">NotConnected on a stream socket without a connection or listener,
    /// or whose connection is over (reset, or closed both ways), as on Linux.</exception>
    public void Shutdown(SocketShutdown how)
    {
        using StackCall call = Enter();
        UpdateConnecting();
        if (_listener is not null)
        {
            if (how is SocketShutdown.Receive or SocketShutdown.Both)
            {
                StopListening(call.Stack);
                WakeAll();
            }

            return;
        }

        if (_udp is null && (_connection is null || (!_connecting && ConnectionEnded)))
        {
            // Linux inet_shutdown on TCP_CLOSE (never connected, a connection reset, or over):
            // ENOTCONN, after setting the flags all the same (reads return 0, writes EPIPE; a
            // later connect keeps them).
            _shutdownSend |= how is SocketShutdown.Send or SocketShutdown.Both;
            _shutdownReceive |= how is SocketShutdown.Receive or SocketShutdown.Both;
            WakeAll();
            throw SocketErrors.Exception(SocketError.NotConnected);
        }

        if (how is SocketShutdown.Send or SocketShutdown.Both)
        {
            _shutdownSend = true;
            _connection?.Shutdown();
        }

        if (how is SocketShutdown.Receive or SocketShutdown.Both)
        {
            _shutdownReceive = true;
        }

        WakeAll();
    }

    // Linux inet_shutdown on TCP_LISTEN with RCV_SHUTDOWN: the listener disconnects; a port the
    // caller bound stays bound (SOCK_BINDPORT_LOCK), one listen() picked is released.
    private void StopListening(NetworkStack stack)
    {
        TcpAcceptor listener = _listener!;
        listener.Readable = null;
        listener.Close();
        _listener = null;
        if (_listenerBoundByCaller)
        {
            KeepCallerBinding(stack, listener.LocalEndpoint);
        }
    }

    // The port bind() gave goes back to the socket after listen() or connect() had it: without a
    // conflict check, since on Linux the socket never let go of it (connections accepted on it,
    // or a listener that came meanwhile, cannot have taken it).
    private void KeepCallerBinding(NetworkStack stack, InternetEndpoint bound)
    {
        stack.RestoreTcpBinding(bound, _bindingReuse);
        _binding = bound;
    }

    /// <summary>Closes the socket (same as <see cref="Dispose"/>).</summary>
    public void Close() => Dispose();

    /// <summary>
    /// close(2): a connection is closed gracefully (FIN after the buffered data), reset when
    /// unread data is waiting or <see cref="LingerState"/> is enabled with 0 seconds; a listener's
    /// pending connections are reset. Blocked callers wake with OperationAborted.
    /// </summary>
    public void Dispose()
    {
        TcpConnection? lingering = null;
        using (StackCall call = _runner.Enter())
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            if (_binding is { } bound)
            {
                call.Stack.UnbindTcp(bound, _bindingReuse);
                _binding = null;
            }

            if (_listener is not null)
            {
                _listener.Readable = null;
                _listener.Close();
            }

            if (_connection is not null)
            {
                _connection.Readable = null;
                _connection.Writable = null;
                _connection.StateChanged = null;
                if (_linger is { Enabled: true, LingerTime: 0 })
                {
                    _connection.Abort();
                }
                else
                {
                    _connection.Close();
                    if (_linger.Enabled && Blocking)
                    {
                        lingering = _connection;
                    }
                }
            }

            if (_udp is not null)
            {
                _udp.Readable = null;
                _udp.ErrorRaised = null;
                _udp.Close();
            }

            _readable.Signal();
            _writable.Signal();
            _watchers.Notify(PollEvents.Invalid); // every PollSet drops it, reporting it once
        }

        if (lingering is not null)
        {
            Linger(lingering);
        }
    }

    // SO_LINGER with a time: wait (polling the state at 10 ms) until everything sent was acknowledged.
    private void Linger(TcpConnection connection)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(_linger.LingerTime);
        while (DateTime.UtcNow < deadline)
        {
            using (StackCall call = _runner.Enter())
            {
                if (connection.State is TcpConnectionState.Closed or TcpConnectionState.TimeWait or TcpConnectionState.FinWait2)
                {
                    return;
                }
            }

            Thread.Sleep(10);
        }
    }

    /// <summary>Sets an option: Socket/ReuseAddress, KeepAlive, Linger, ReceiveBuffer, SendBuffer, ReceiveTimeout, SendTimeout; Tcp/NoDelay; IPv6/IPv6Only.</summary>
    public void SetSocketOption(SocketOptionLevel optionLevel, SocketOptionName optionName, int optionValue)
    {
        switch (optionLevel, optionName)
        {
            case (SocketOptionLevel.Socket, SocketOptionName.ReuseAddress):
                _reuseAddress = optionValue != 0;
                break;
            case (SocketOptionLevel.Socket, SocketOptionName.KeepAlive):
                using (StackCall call = Enter())
                {
                    _keepAlive = optionValue != 0;
                    ApplyConnectionOptions();
                }

                break;
            case (SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer):
                ReceiveBufferSize = optionValue;
                break;
            case (SocketOptionLevel.Socket, SocketOptionName.SendBuffer):
                SendBufferSize = optionValue;
                break;
            case (SocketOptionLevel.Socket, SocketOptionName.ReceiveTimeout):
                ReceiveTimeout = optionValue;
                break;
            case (SocketOptionLevel.Socket, SocketOptionName.SendTimeout):
                SendTimeout = optionValue;
                break;
            case (SocketOptionLevel.Tcp, SocketOptionName.NoDelay):
                NoDelay = optionValue != 0;
                break;
            case (SocketOptionLevel.IPv6, SocketOptionName.IPv6Only):
                DualMode = optionValue == 0;
                break;
            default:
                throw SocketErrors.Exception(SocketError.ProtocolOption);
        }
    }

    /// <summary>Sets a boolean option (see <see cref="SetSocketOption(SocketOptionLevel, SocketOptionName, int)"/>).</summary>
    public void SetSocketOption(SocketOptionLevel optionLevel, SocketOptionName optionName, bool optionValue)
        => SetSocketOption(optionLevel, optionName, optionValue ? 1 : 0);

    /// <summary>Sets SO_LINGER from a <see cref="LingerOption"/>.</summary>
    public void SetSocketOption(SocketOptionLevel optionLevel, SocketOptionName optionName, object optionValue)
    {
        if (optionLevel == SocketOptionLevel.Socket && optionName == SocketOptionName.Linger && optionValue is LingerOption linger)
        {
            LingerState = linger;
            return;
        }

        SetSocketOption(optionLevel, optionName, Convert.ToInt32(optionValue, System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Reads an option. Socket/Error is SO_ERROR: the pending error as a <see cref="SocketError"/>
    /// value (0 for none), cleared by reading it. Also ReuseAddress, KeepAlive, buffers, timeouts,
    /// Type, AcceptConnection; Tcp/NoDelay; IPv6/IPv6Only.
    /// </summary>
    public int GetSocketOption(SocketOptionLevel optionLevel, SocketOptionName optionName)
    {
        switch (optionLevel, optionName)
        {
            case (SocketOptionLevel.Socket, SocketOptionName.Error):
                using (StackCall call = Enter())
                {
                    UpdateConnecting();
                    StackError error = TakePendingError();
                    return (int)SocketErrors.ToSocketError(error);
                }

            case (SocketOptionLevel.Socket, SocketOptionName.ReuseAddress):
                return _reuseAddress ? 1 : 0;
            case (SocketOptionLevel.Socket, SocketOptionName.KeepAlive):
                return _keepAlive ? 1 : 0;
            case (SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer):
                return ReceiveBufferSize;
            case (SocketOptionLevel.Socket, SocketOptionName.SendBuffer):
                return SendBufferSize;
            case (SocketOptionLevel.Socket, SocketOptionName.ReceiveTimeout):
                return ReceiveTimeout;
            case (SocketOptionLevel.Socket, SocketOptionName.SendTimeout):
                return SendTimeout;
            case (SocketOptionLevel.Socket, SocketOptionName.Type):
                return (int)SocketType;
            case (SocketOptionLevel.Socket, SocketOptionName.AcceptConnection):
                using (StackCall call = Enter())
                {
                    return _listener is null ? 0 : 1;
                }

            case (SocketOptionLevel.Tcp, SocketOptionName.NoDelay):
                return _noDelay ? 1 : 0;
            case (SocketOptionLevel.IPv6, SocketOptionName.IPv6Only):
                return _dualMode ? 0 : 1;
            default:
                throw SocketErrors.Exception(SocketError.ProtocolOption);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{SocketType} {LocalEndPoint?.ToString() ?? "unbound"} -> {RemoteEndPoint?.ToString() ?? "none"}";

    // ---- under the gate --------------------------------------------------------------------

    private StackCall Enter()
    {
        StackCall call = _runner.Enter();
        if (_closed)
        {
            call.Dispose();
            throw new ObjectDisposedException(nameof(StackSocket));
        }

        return call;
    }

    // A binding comes before the connection only after the connection ended: the port the socket
    // kept (KeepLockedPortAfterConnection) or a new one bind() named (PortReleasedByEndedConnection).
    private InternetEndpoint? LocalIpEndpoint
        => _udp is not null ? _udp.LocalEndpoint
            : _listener is not null ? _listener.LocalEndpoint
            : _binding is not null ? _binding
            : _connection?.Tuple.Local ?? _releasedLocal;

    // The connection has ended as Linux counts it for the socket (TCP_CLOSE): reset, its close
    // completed, or TIME-WAIT reached while the application still holds the socket (the wait is
    // then a record of its own, Linux's tcp_timewait_sock, and the socket itself is closed).
    private bool ConnectionEnded => _connection is { State: TcpConnectionState.Closed or TcpConnectionState.TimeWait };

    // Linux: when the connection ends, tcp_set_state(TCP_CLOSE) releases a port the socket did not
    // bind itself (inet_put_port unless SOCK_BINDPORT_LOCK). So inet_bind's "already bound" check
    // (inet_num) passes and bind() may name a port again, with the usual conflicts; getsockname
    // still shows the old port until then. A socket whose port was bound by the caller (or
    // accepted on a listener whose port was) keeps it: EINVAL.
    private bool PortReleasedByEndedConnection
        => _udp is null && _listener is null && _binding is null && !_portLocked && (ConnectionEnded || (_connection is null && _releasedLocal is not null));

    // The socket's family's wildcard address (0.0.0.0 or ::).
    private InternetAddress WildcardAddress => AddressFamily == AddressFamily.InterNetworkV6 ? InternetAddress.AnyV6 : InternetAddress.AnyV4;

    private InternetEndpoint? RemoteIpEndpoint
        => _udp is not null ? _udp.RemoteEndpoint
            : _connection is { State: not (TcpConnectionState.SynSent or TcpConnectionState.Closed) } c ? c.Tuple.Remote
            : _connection is { State: TcpConnectionState.Closed } closed && closed.Error == StackError.None ? closed.Tuple.Remote
            : null;

    private StackSocket? TryAccept(out SocketError error)
    {
        if (_udp is not null)
        {
            error = SocketError.OperationNotSupported;
            return null;
        }

        if (_listener is null)
        {
            error = SocketError.InvalidArgument;
            return null;
        }

        if (_listener.TryAccept(out TcpConnection? connection))
        {
            error = SocketError.Success;
            return new StackSocket(_host, this, connection!);
        }

        error = SocketError.WouldBlock;
        return null;
    }

    // connect(2)'s first half for both forms: a datagram socket is connected at once (false); a
    // stream socket starts its handshake (true: the caller waits for it, or not).
    private bool BeginConnect(EndPoint remoteEP)
    {
        ArgumentNullException.ThrowIfNull(remoteEP);
        if (_udp is not null)
        {
            ConnectDatagram(remoteEP);
            return false;
        }

        InternetEndpoint remote = FromEndPoint(remoteEP);
        using StackCall call = Enter();
        StartConnect(call.Stack, remote);
        return true;
    }

    private void StartConnect(NetworkStack stack, InternetEndpoint remote)
    {
        UpdateConnecting();
        if (_listener is not null || _connection is { State: not TcpConnectionState.Closed })
        {
            throw SocketErrors.Exception(_connecting ? SocketError.AlreadyInProgress : SocketError.IsConnected);
        }

        if (_connection is not null)
        {
            // A connection that ended: Linux lets the socket connect again only after a failed attempt.
            throw SocketErrors.Exception(SocketError.IsConnected);
        }

        InternetAddress? localAddress = null;
        ushort localPort = 0;
        if (TransparentSource is { } transparent)
        {
            // StackHost.ConnectFromAsync: a local end the stack need not own (as Linux's IP_TRANSPARENT).
            localAddress = transparent.Address;
            localPort = transparent.Port;
        }
        else if (_binding is { } bound)
        {
            localAddress = bound.Address.IsUnspecified ? null : bound.Address;
            localPort = bound.Port;
            stack.UnbindTcp(bound, _bindingReuse);
        }

        _boundBeforeConnect = TransparentSource is null ? _binding : null;

        TcpConnection? connection = stack.ConnectConfiguredTcp(remote, _applyOptionsBeforeSyn ??= ApplyIpOptions, out StackError error, localAddress, localPort, _sendBufferSize, _receiveBufferSize, _maxSegmentSize);
        if (connection is null)
        {
            if (_binding is { } again)
            {
                stack.BindTcp(again, _bindingReuse, out _);
            }

            ThrowIf(error);
            return;
        }

        _binding = null;
        _releasedLocal = null;
        _pendingError = StackError.None;
        _fatalReported = false;
        _connection = connection;
        _connecting = true;
        ApplyConnectionOptions();
        Wire(connection);
    }

    // The one place the socket's TCP options (TCP_NODELAY, SO_KEEPALIVE, TCP_CONGESTION,
    // TCP_USER_TIMEOUT, TCP_NOTSENT_LOWAT, IP_TOS) reach its
    // connection: when connect or accept makes it and when an option changes. Each is set only when it
    // differs, so that setting one does not disturb the others (turning keepalive on again does
    // not restart its timer, as Linux's tcp_set_keepalive).
    private void ApplyConnectionOptions()
    {
        if (_connection is not { } connection)
        {
            return;
        }

        connection.NoDelay = _noDelay;
        connection.Cork = _cork; // uncorking sends what waits
        connection.UserTimeout = _userTimeout;
        connection.NotSentLowWatermark = _notSentLowWatermark;
        ApplyIpOptions(connection);
        if (connection.KeepAlive != _keepAlive)
        {
            connection.KeepAlive = _keepAlive;
        }

        if (_congestionControlName is { } name)
        {
            connection.CongestionControlName = name; // a no-op when it is the algorithm already
        }
    }

    // Sets one of the options ApplyConnectionOptions carries to the connection, under the gate.
    private void SetConnectionOption<T>(ref T field, T value)
    {
        using StackCall call = Enter();
        field = value;
        ApplyConnectionOptions();
    }

    // IP_TOS and IP_MTU_DISCOVER: in the SYN already when set before connect.
    private void ApplyIpOptions(TcpConnection connection)
    {
        connection.TypeOfService = _typeOfService;
        connection.DontFragment = _dontFragment;
    }

    /// <summary>Moves a finished handshake out of "connecting"; true while it is still in progress.</summary>
    private bool UpdateConnecting()
    {
        if (!_connecting || _connection is null)
        {
            return false;
        }

        if (_connection.State is TcpConnectionState.SynSent or TcpConnectionState.SynReceived)
        {
            return true;
        }

        _connecting = false;
        if (_connection.State == TcpConnectionState.Closed && _connection.Error != StackError.None)
        {
            // The attempt failed: the error goes to SO_ERROR (and to a blocking connect), and the
            // socket may connect again, with its shutdown flags cleared (Linux's inet_stream_connect
            // disconnects the failed socket, and tcp_disconnect resets sk_shutdown).
            _pendingError = _connection.Error;
            InternetEndpoint failedLocal = _connection.Tuple.Local;
            Unwire(_connection);
            _connection = null;
            _shutdownSend = false;
            _shutdownReceive = false;
            KeepBindingAfterFailedConnect(failedLocal);
        }

        return false;
    }

    // Linux: a port the caller named in bind() stays bound when a connect fails
    // (SOCK_BINDPORT_LOCK), so the socket may connect again from it, and a second bind() is
    // EINVAL. Any other port goes (tcp_done -> inet_put_port clears inet_num): one connect()
    // picked, and one bind() picked for port 0 (inet_bind sets SOCK_BINDPORT_LOCK only for a
    // port it was given). Then another socket may bind it, this one may bind() again, and
    // getsockname still shows it (inet_sport stays) until the socket binds or connects anew.
    private void KeepBindingAfterFailedConnect(InternetEndpoint failedLocal)
    {
        if (_boundBeforeConnect is { } bound && _portLocked)
        {
            KeepCallerBinding(_runner.StackUnderGate, bound);
        }
        else
        {
            // Without a bound address the source address goes too (tcp_disconnect -> inet_reset_saddr).
            _releasedLocal = _boundBeforeConnect ?? new InternetEndpoint(WildcardAddress, failedLocal.Port);
        }

        _boundBeforeConnect = null;
    }

    /// <summary>For connect: true once the handshake is over; throws the error when it failed (leaving SO_ERROR clear).</summary>
    private bool HandshakeFinished()
    {
        if (UpdateConnecting())
        {
            return false;
        }

        if (_connection is null)
        {
            StackError failed = _pendingError;
            _pendingError = StackError.None;
            ThrowIf(failed == StackError.None ? StackError.ConnectionRefused : failed);
        }

        return true;
    }

    private StackError TakePendingError()
    {
        StackError error = _pendingError;
        _pendingError = StackError.None;
        if (error == StackError.None && _udp is not null)
        {
            error = _udp.TakePendingError();
        }

        if (error == StackError.None && _connection is { Error: not StackError.None } c && !_fatalReported)
        {
            _fatalReported = true;
            error = c.Error;
        }

        return error;
    }

    private void Wire(TcpConnection connection)
    {
        connection.Readable = _onReadable;
        connection.Writable = _onWritable;
        connection.StateChanged = _onStateChanged;
    }

    private static void Unwire(TcpConnection connection)
    {
        connection.Readable = null;
        connection.Writable = null;
        connection.StateChanged = null;
    }

    // The stack's callbacks, under the gate. Each tells the direction's blocked caller and the
    // socket's watchers what may have changed; a socket nobody watches costs a count check.
    private void OnReadable()
    {
        _readable.Signal();
        _watchers.Notify(PollEvents.Readable | PollEvents.Priority | PollEvents.ReadHangUp); // data, urgent data, FIN
    }

    // Called for every ACK of new data. The watchers hear of it only when someone found the send
    // buffer full since the last time (Linux's SOCK_NOSPACE in tcp_poll and sendmsg), so an
    // edge-triggered writer that never filled the buffer is not woken for each ACK.
    private void OnWritable()
    {
        _writable.Signal();
        if (_sendSpaceWanted)
        {
            _sendSpaceWanted = false;
            _watchers.Notify(PollEvents.Writable);
        }
    }

    private void OnStateChanged()
    {
        KeepLockedPortAfterConnection();
        WakeAll();
    }

    // Linux: when the connection ends (ConnectionEnded), the socket keeps a port bind() named, or
    // its listener's (tcp_set_state(TCP_CLOSE) calls inet_put_port only without
    // SOCK_BINDPORT_LOCK): it stays in the bind table, so other binds to it conflict until the
    // socket is closed, and a bind() on the socket itself is EINVAL. A connect() that fails keeps
    // the binding in UpdateConnecting.
    private void KeepLockedPortAfterConnection()
    {
        if (_portLocked && !_connecting && !_closed && _binding is null && ConnectionEnded)
        {
            KeepCallerBinding(_runner.StackUnderGate, _connection!.Tuple.Local);
        }
    }

    private void WakeAll()
    {
        _readable.Signal();
        _writable.Signal();
        _watchers.Notify(AnyCondition);
    }

    private const PollEvents AnyCondition = PollEvents.Readable | PollEvents.Priority | PollEvents.Writable | PollEvents.Error | PollEvents.HangUp | PollEvents.ReadHangUp;

    /// <summary>Under the gate: ObjectDisposedException when the socket is closed.</summary>
    internal void ThrowIfClosedUnderGate() => ObjectDisposedException.ThrowIf(_closed, this);

    // Outside the gate: waits, then throws when the time is up or the socket was closed meanwhile.
    private void WaitOrThrow(ReadinessSignal signal, int timeoutMilliseconds)
    {
        SocketError error = Wait(signal, timeoutMilliseconds);
        if (error != SocketError.Success)
        {
            throw SocketErrors.Exception(error);
        }
    }

    // Outside the gate: waits for the armed signal; TimedOut when the time is up,
    // OperationAborted when the socket was closed meanwhile.
    private SocketError Wait(ReadinessSignal signal, int timeoutMilliseconds)
        => !signal.WaitBlocking(timeoutMilliseconds) ? SocketError.TimedOut
            : Volatile.Read(ref _closed) ? SocketError.OperationAborted
            : SocketError.Success;

    private void ThrowIfClosedWhileWaiting()
    {
        if (Volatile.Read(ref _closed))
        {
            throw SocketErrors.Exception(SocketError.OperationAborted);
        }
    }

    private static void ThrowIf(StackError error)
    {
        if (error != StackError.None)
        {
            throw SocketErrors.Exception(SocketErrors.ToSocketError(error));
        }
    }

    private static int ClampBuffer(int value) => Math.Clamp(value, MinBufferSize, MaxBufferSize);

    private InternetEndpoint FromEndPoint(EndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        if (endPoint is not IPEndPoint ip)
        {
            throw SocketErrors.Exception(SocketError.AddressFamilyNotSupported);
        }

        IPAddress address = ip.Address;
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
            if (AddressFamily == AddressFamily.InterNetworkV6 && !_dualMode)
            {
                throw SocketErrors.Exception(SocketError.NetworkUnreachable);
            }
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6 && AddressFamily == AddressFamily.InterNetwork)
        {
            throw SocketErrors.Exception(SocketError.AddressFamilyNotSupported);
        }

        if (address.AddressFamily == AddressFamily.InterNetwork && AddressFamily == AddressFamily.InterNetworkV6)
        {
            if (!_dualMode)
            {
                throw SocketErrors.Exception(SocketError.AddressFamilyNotSupported);
            }

            // An unspecified IPv4 address on a dual-mode socket means the IPv6 wildcard (both families).
            if (address.Equals(IPAddress.Any))
            {
                return new InternetEndpoint(InternetAddress.AnyV6, (ushort)ip.Port);
            }
        }

        return new InternetEndpoint(InternetAddress.FromIPAddress(address), (ushort)ip.Port);
    }

    private IPEndPoint ToEndPoint(InternetEndpoint endpoint)
    {
        IPAddress address = endpoint.Address.ToIPAddress();
        if (AddressFamily == AddressFamily.InterNetworkV6 && address.AddressFamily == AddressFamily.InterNetwork)
        {
            address = address.MapToIPv6();
        }

        return new IPEndPoint(address, endpoint.Port);
    }
}
