// NetworkStack owns one stack instance: its link, the IP layer (with ICMP), UDP, TCP, the port
// table, timers and counters. It has no thread and no clock: a host calls Poll(now) and sleeps
// until the returned deadline or until the link or an application has work (ARCHITECTURE rules 1 and 2).
using AddressFamily = System.Net.Sockets.AddressFamily;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Ports;
using TunStack.Storage;
using TunStack.Tcp;
using TunStack.Udp;
using TunStack.Wire;

namespace TunStack;

/// <summary>
/// A user-space TCP/UDP/IP stack over one <see cref="ILink"/>. Single-threaded: every member is
/// called from the owner thread. Sends queue packets that leave at the next <see cref="Poll"/>.
/// </summary>
public sealed class NetworkStack
{
    private readonly ILink _link;
    private readonly StackOptions _options;
    private readonly IpLayer _ip;
    private readonly PortTable _ports;
    private readonly UdpLayer _udp;
    private readonly TcpLayer _tcp;
    private readonly PacketBatch _rx;
    private readonly TimerWheel _timers;
    private readonly SegmentCoalescer? _coalescer;
    private Instant _now;

    /// <summary>Creates a stack on <paramref name="link"/> with <paramref name="options"/>, starting at time <paramref name="start"/>.</summary>
    public NetworkStack(ILink link, StackOptions options, Instant start = default)
    {
        ArgumentNullException.ThrowIfNull(link);
        ArgumentNullException.ThrowIfNull(options);
        if (options.EphemeralPortFirst > options.EphemeralPortLast || options.EphemeralPortFirst == 0)
        {
            throw new ArgumentException("The ephemeral port range must be non-empty and exclude port 0.", nameof(options));
        }

        _link = link;
        _options = options;
        _now = start;
        var random = options.RandomSeed is int seed ? new Random(seed) : new Random();
        _timers = new TimerWheel(start);
        _ip = new IpLayer(Counters, options, link, _timers, random);
        _ip.SetTime(start);
        _ports = new PortTable(_ip.Addresses, options, random);
        _udp = new UdpLayer(_ip, _ports, Counters, options);
        _ip.Udp = _udp;
        _tcp = new TcpLayer(_ip, _ports, Counters, options, _timers, random);
        _ip.Tcp = _tcp;
        _rx = new PacketBatch(options.BatchSize, link.MaxPacketLength);
        _coalescer = options.CoalesceReceivedSegments ? new SegmentCoalescer(Counters) : null;
    }

    /// <summary>Counters for every drop reason and protocol event.</summary>
    public StackCounters Counters { get; } = new();

    /// <summary>The stack's options.</summary>
    public StackOptions Options => _options;

    /// <summary>The link the stack sends and receives on.</summary>
    public ILink Link => _link;

    /// <summary>The stack's addresses with their prefixes.</summary>
    public IReadOnlyList<IpPrefix> Addresses => _ip.Addresses.Entries;

    /// <summary>The route table (longest-prefix match).</summary>
    public RouteTable Routes => _ip.Addresses.Routes;

    /// <summary>The time of the latest <see cref="Poll"/>.</summary>
    public Instant Now => _now;

    /// <summary>Scheduled timers (reassembly, TCP), for tests.</summary>
    internal TimerWheel Timers => _timers;

    /// <summary>Datagrams being reassembled (IPv4, IPv6) and the bytes they hold.</summary>
    public (int V4, int V6, int Bytes) Reassembly => (_ip.ReassemblerV4.InProgress, _ip.ReassemblerV6.InProgress, _ip.ReassemblerV4.MemoryUsed + _ip.ReassemblerV6.MemoryUsed);

    /// <summary>Adds an address (with its on-link prefix).</summary>
    public void AddAddress(IpPrefix address) => _ip.Addresses.Add(address);

    /// <summary>True when <paramref name="address"/> is one of the stack's addresses.</summary>
    public bool IsLocalAddress(InternetAddress address) => _ip.Addresses.IsLocal(address);

    /// <summary>
    /// Runs the stack at time <paramref name="now"/>: fires due timers, handles received packets
    /// (at most <see cref="StackOptions.PollBudget"/>), and hands queued packets to the link.
    /// Returns when it next needs to run without new input: <paramref name="now"/> itself if work
    /// is left over, else the earliest timer or link deadline (<see cref="Instant.MaxValue"/> for none).
    /// </summary>
    public Instant Poll(Instant now)
    {
        if (now > _now)
        {
            _now = now;
        }

        _ip.SetTime(_now);
        _timers.Advance(_now);

        int handled = 0;
        bool more = true;
        bool received = false;
        while (more && handled < _options.PollBudget)
        {
            _rx.Clear();
            if (_ip.HasLoopbackPending)
            {
                _ip.DrainLoopback(_rx);
            }

            Counters.Add(Counter.LinkReceived, _link.Receive(_rx, _now));
            HandleReceived(_rx);

            // A full batch may have more behind it: read again at once, at the same time.
            handled += _rx.Count;
            more = _rx.IsFull || _ip.HasLoopbackPending;
            received = _rx.Count > 0;
            _ip.Flush();
        }

        _ip.Flush();

        // A batch that was not full may still have more behind it (a TUN read right after a wake
        // takes one packet; see TunReadState): the host polls again, with its clock read afresh,
        // so that an answer to what this poll sent is timed from when it arrives (an RTT sample
        // taken within one poll's instant would be zero).
        if (more || received || _ip.HasLoopbackPending)
        {
            return _now;
        }

        return NextDeadline;
    }

    /// <summary>
    /// Takes packets that a host's reader thread read from the link itself
    /// (<see cref="ILink.ReadBlocking"/>) at <paramref name="now"/>: the link admits them
    /// (<see cref="ILink.Admit"/>: a decorator impairs or records them), the stack handles them as
    /// one received batch, as <see cref="Poll"/> handles what it reads, and sends what they
    /// caused. Timers are left to <see cref="Poll"/>. Returns <see cref="NextDeadline"/>; a host
    /// whose loop sleeps until a later time wakes it. Call with the stack held, as any call.
    /// </summary>
    public Instant Deliver(PacketBatch batch, Instant now)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (now > _now)
        {
            _now = now;
        }

        _ip.SetTime(_now);
        int admitted = _link.Admit(batch, _now);
        Counters.Add(Counter.LinkReceived, admitted);
        if (admitted > 0)
        {
            HandleReceived(batch);
        }

        _ip.Flush();
        return _ip.HasLoopbackPending ? _now : NextDeadline; // looped-back packets wait for a poll
    }

    // One received batch through IP (merged first where the stack coalesces segments); the ACKs
    // it owes go when the batch is done.
    private void HandleReceived(PacketBatch batch)
    {
        _tcp.BeginReceiveBatch();
        if (_coalescer is not null)
        {
            _coalescer.Deliver(batch, _ip);
        }
        else
        {
            for (int i = 0; i < batch.Count; i++)
            {
                _ip.Input(batch[i], batch.OffloadAt(i));
            }
        }

        _tcp.FinishReceiveBatch();
    }

    /// <summary>
    /// Tells the stack the current time without doing any I/O. Hosts call it before running
    /// application work between polls, so that what that work starts (a retransmission timer, a
    /// connect) is timed from now rather than from the last <see cref="Poll"/>. Time never goes back.
    /// </summary>
    public void SetTime(Instant now)
    {
        if (now > _now)
        {
            _now = now;
            _ip.SetTime(now);
        }
    }

    /// <summary>When the stack next needs <see cref="Poll"/> without new input: the earliest timer or link deadline.</summary>
    public Instant NextDeadline => Instant.Min(_timers.NextDeadline, _link.NextDeadline);

    /// <summary>Opens a UDP endpoint of <paramref name="family"/> (InterNetwork, or InterNetworkV6 for dual-stack).</summary>
    public UdpEndpoint OpenUdp(AddressFamily family = AddressFamily.InterNetwork)
    {
        if (family is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentOutOfRangeException(nameof(family), family, "UDP endpoints are InterNetwork or InterNetworkV6.");
        }

        return _udp.Open(family);
    }

    /// <summary>
    /// Any-address termination for TCP (gVisor's TCP forwarder, smoltcp's any_ip): when set, every
    /// connection request (SYN) to an address the stack does not own, or to one of its own addresses on a
    /// port no listener takes, is handed to this callback as a <see cref="TcpForwardRequest"/>, which
    /// accepts it as a connection whose local end is the original destination, or refuses or drops it. Segments of accepted connections go to them as to any other;
    /// other segments to foreign addresses are answered as by a closed port. Null (the default): such
    /// datagrams are dropped as not ours (Ipv4NotForUs / Ipv6NotForUs). Called on the stack's thread;
    /// undecided requests are bounded by <see cref="TcpSettings.MaxPendingForwards"/>.
    /// </summary>
    public Action<TcpForwardRequest>? TcpForwarder
    {
        get => _tcp.Forwarder;
        set
        {
            _tcp.Forwarder = value;
            _ip.ForeignTcp = value is not null;
        }
    }

    /// <summary>
    /// Any-address termination for UDP: when set, every datagram to an address the stack does not own,
    /// or to one of its own on a port no endpoint is bound to, is handed to this callback (on the stack's thread), and <see cref="SendUdp"/> answers from that
    /// address. Null (the default): such datagrams are dropped as not ours.
    /// </summary>
    public UdpForwardHandler? UdpForwarder
    {
        get => _udp.Forwarder;
        set
        {
            _udp.Forwarder = value;
            _ip.ForeignUdp = value is not null;
        }
    }

    /// <summary>
    /// Any-address termination for ping: when set, every ICMP or ICMPv6 echo request to an address the
    /// stack does not own is handed to this callback (on the stack's thread), and
    /// <see cref="SendEchoReply"/> answers from that address. Other ICMP to foreign addresses is
    /// dropped as not ours. Null (the default): echo requests to foreign addresses are dropped too.
    /// </summary>
    public IcmpEchoForwardHandler? IcmpEchoForwarder
    {
        get => _ip.Icmp.EchoForwarder;
        set
        {
            _ip.Icmp.EchoForwarder = value;
            _ip.ForeignIcmpEcho = value is not null;
        }
    }

    /// <summary>
    /// Sends an echo reply from <paramref name="source"/>, which need not be one of the stack's
    /// addresses (an echo forwarder's answer from the original destination). Errors: MessageTooLong,
    /// NetworkUnreachable, AddressFamilyNotSupported.
    /// </summary>
    public StackError SendEchoReply(InternetAddress source, InternetAddress destination, ushort identifier, ushort sequence, ReadOnlySpan<byte> data)
        => source.IsV6 != destination.IsV6 ? StackError.AddressFamilyNotSupported : _ip.Icmp.SendEchoReplyFrom(source, destination, identifier, sequence, data);

    /// <summary>Forwarded connection requests waiting for a decision.</summary>
    public int PendingTcpForwards => _tcp.PendingForwards;

    /// <summary>
    /// Sends one UDP datagram from <paramref name="source"/>, which need not be one of the stack's
    /// addresses (a UDP forwarder answers from the original destination). Errors: MessageTooLong,
    /// NetworkUnreachable, NoBufferSpace.
    /// </summary>
    public StackError SendUdp(InternetEndpoint source, InternetEndpoint destination, ReadOnlySpan<byte> payload)
    {
        if (source.Address.IsV6 != destination.Address.IsV6)
        {
            return StackError.AddressFamilyNotSupported;
        }

        return _udp.Send(source, destination, payload);
    }

    /// <summary>
    /// A UDP forwarder's way to say that the outside refused a flow: ICMP (ICMPv6) destination
    /// unreachable, port unreachable, to <paramref name="client"/> about its datagrams to
    /// <paramref name="destination"/>, so the client's connected socket reports ECONNREFUSED, as when
    /// the destination answers so itself. Rate-limited as every ICMP error.
    /// </summary>
    public void SendUdpPortUnreachable(InternetEndpoint client, InternetEndpoint destination)
    {
        if (client.Address.IsV6 == destination.Address.IsV6)
        {
            _udp.SendPortUnreachable(client, destination);
        }
    }

    /// <summary>
    /// Listens for TCP connections on <paramref name="local"/> (port 0 picks an ephemeral port).
    /// Errors: AddressNotAvailable, AddressInUse.
    /// </summary>
    public TcpAcceptor? ListenTcp(InternetEndpoint local, int backlog, out StackError error, bool v6Only = false)
    {
        var listener = new TcpAcceptor(_tcp, backlog, v6Only, local.Address.IsV6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
        error = _tcp.Listen(listener, local);
        return error == StackError.None ? listener : null;
    }

    /// <summary>
    /// Starts a TCP connection to <paramref name="remote"/> (the handshake completes in later polls;
    /// watch <see cref="TcpConnection.StateChanged"/>). A local address and port may be given; 0 picks one.
    /// Buffer sizes of 0 take <see cref="TcpSettings"/>' sizes.
    /// Errors: NetworkUnreachable, AddressNotAvailable, AddressInUse, NoBufferSpace (connection limit).
    /// </summary>
    public TcpConnection? ConnectTcp(InternetEndpoint remote, out StackError error, InternetAddress? localAddress = null, ushort localPort = 0, int sendBufferSize = 0, int receiveBufferSize = 0, int maxSegmentSize = 0)
        => ConnectConfiguredTcp(remote, configure: null, out error, localAddress, localPort, sendBufferSize, receiveBufferSize, maxSegmentSize);

    /// <summary>
    /// <see cref="ConnectTcp(InternetEndpoint, out StackError, InternetAddress?, ushort, int, int, int)"/>,
    /// with <paramref name="configure"/> run on the new connection before its SYN goes, so that
    /// options which show in the SYN (TypeOfService, DontFragment) are in it, as a socket's
    /// options set before connect are on Linux.
    /// </summary>
    public TcpConnection? ConnectConfiguredTcp(InternetEndpoint remote, Action<TcpConnection>? configure, out StackError error, InternetAddress? localAddress, ushort localPort, int sendBufferSize, int receiveBufferSize, int maxSegmentSize)
    {
        var connection = new TcpConnection(_tcp, null, sendBufferSize, receiveBufferSize) { MaxSegmentSize = maxSegmentSize };
        configure?.Invoke(connection);
        error = _tcp.Connect(connection, remote, localAddress, localPort);
        return error == StackError.None ? connection : null;
    }

    /// <summary>
    /// Reserves a TCP local address and port (bind(2) on a stream socket); port 0 picks an
    /// ephemeral one, returned in <paramref name="bound"/>. Errors: AddressNotAvailable (not a local
    /// address, or no ephemeral port left), AddressInUse (a listener, another binding or a
    /// connection holds it; <paramref name="reuseAddress"/> lets bindings share and ignores connections).
    /// </summary>
    public StackError BindTcp(InternetEndpoint local, bool reuseAddress, out InternetEndpoint bound) => _ports.BindTcp(local, reuseAddress, out bound);

    /// <summary>Releases a reservation made by <see cref="BindTcp"/> with the same arguments.</summary>
    public void UnbindTcp(InternetEndpoint bound, bool reuseAddress) => _ports.UnbindTcp(bound, reuseAddress);

    /// <summary>
    /// Takes back a reservation released with <see cref="UnbindTcp"/> for a connect attempt that
    /// failed, without checking for conflicts: on Linux a port the caller bound is never given up
    /// by connect, so nothing that bound or listened meanwhile can have taken it.
    /// </summary>
    public void RestoreTcpBinding(InternetEndpoint bound, bool reuseAddress) => _ports.RestoreTcpBinding(bound, reuseAddress);

    /// <summary>
    /// Hands packets that application calls queued (a send, a connect) to the link at once, instead
    /// of at the next <see cref="Poll"/>. Returns true when looped-back packets wait for a poll.
    /// </summary>
    public bool FlushOutput()
    {
        _ip.Flush();
        return _ip.HasLoopbackPending;
    }

    /// <summary>Tests only: fixes every TCP ISN (see <see cref="TcpLayer.FixedInitialSequenceNumber"/>).</summary>
    internal uint? FixedTcpIsnForTests
    {
        get => _tcp.FixedInitialSequenceNumber;
        set => _tcp.FixedInitialSequenceNumber = value;
    }

    /// <summary>RFC 6528 ISN for a tuple at the current time (for tests of the generator).</summary>
    internal SeqNumber TcpInitialSequenceNumber(TcpTuple tuple) => _tcp.InitialSequenceNumber(tuple);

    /// <summary>The TCP connections in the table now (TIME-WAIT included), for status pages; read them on the stack's thread.</summary>
    public IReadOnlyList<TcpConnection> ListTcpConnections() => _tcp.SnapshotConnections();

    /// <summary>
    /// Copies the TCP connections at positions <paramref name="start"/> onwards of the stack's
    /// connection table (0 to <see cref="TcpConnections"/>'s count - 1) into <paramref name="into"/>
    /// and returns how many it copied: a walk in slices that costs the slice, not the table, as
    /// <see cref="ListTcpConnections"/> does. A connection that leaves the table moves the last one
    /// into its position, so slices over a changing table may see a connection twice or miss one
    /// (fine for sampling). Read them on the stack's thread.
    /// </summary>
    public int CopyTcpConnections(int start, Span<TcpConnection> into) => _tcp.CopyConnections(start, into);

    /// <summary>The listening TCP endpoints now, for status pages (<c>ss -l</c>); read them on the stack's thread.</summary>
    public IReadOnlyList<TcpAcceptor> ListTcpListeners() => _tcp.SnapshotListeners();

    /// <summary>
    /// The TIME-WAIT records now (connections the application closed, kept as compact records rather
    /// than in <see cref="ListTcpConnections"/>), each with when its wait ends; read them on the stack's thread.
    /// </summary>
    public IReadOnlyList<(TcpTuple Tuple, Instant Expires)> ListTcpTimeWaits() => _tcp.TimeWaits.Snapshot();

    /// <summary>The bound UDP endpoints now, for status pages (<c>ss -u</c>); read them on the stack's thread.</summary>
    public IReadOnlyList<UdpEndpoint> ListUdpEndpoints() => _udp.SnapshotEndpoints();

    /// <summary>TCP buffer memory: in use, kept free, peak, limit and pressure.</summary>
    public TcpMemoryUse TcpMemory
    {
        get
        {
            Storage.ChunkPool pool = _tcp.Memory;
            return new TcpMemoryUse(pool.InUseBytes, pool.FreeBytes, pool.PeakBytes, pool.LimitBytes, pool.Pressure);
        }
    }

    /// <summary>
    /// TIME-WAIT records: 4-tuples in TIME-WAIT whose connection the application closed, kept outside
    /// the connection table (<see cref="TcpConnections"/>' TimeWait counts them and the connections in
    /// TIME-WAIT that an application still holds).
    /// </summary>
    public int TcpTimeWaitRecords => _tcp.TimeWaits.Count;

    /// <summary>
    /// How many connections in the table (<see cref="TcpConnections"/>) are in <paramref name="state"/>
    /// now: kept as connections change state, so it costs the same with ten connections or 100,000.
    /// TIME-WAIT records are not in the table; <see cref="TcpTimeWaitRecords"/> counts them. Read it on the stack's thread.
    /// </summary>
    public int CountTcpConnections(TcpConnectionState state) => _tcp.CountInState(state);

    /// <summary>TCP connections in the table (TIME-WAIT included) and in TIME-WAIT.</summary>
    public (int Connections, int TimeWait) TcpConnections => (_tcp.ConnectionCount, _tcp.TimeWaitCount);

    /// <summary>
    /// Opens an ICMP echo endpoint for <paramref name="identifier"/>; null when another endpoint
    /// already owns it.
    /// </summary>
    public IcmpEchoEndpoint? OpenEcho(ushort identifier)
    {
        var endpoint = new IcmpEchoEndpoint(_ip.Icmp, identifier, 64 * 1024);
        return _ip.Icmp.OpenEcho(endpoint) == StackError.None ? endpoint : null;
    }
}
