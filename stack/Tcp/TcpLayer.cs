// RFC 9293: demultiplexing to connections and listeners, RSTs for segments that belong to none,
// ISNs (RFC 6528), segment output, and ICMP errors checked as RFC 5927 asks.
using System.Buffers.Binary;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Ports;
using TunStack.Storage;
using TunStack.Wire;

namespace TunStack.Tcp;

/// <summary>TCP for one stack.</summary>
internal sealed class TcpLayer : ITransportHandler
{
    private readonly IpLayer _ip;
    private readonly PortTable _ports;
    private readonly StackCounters _counters;
    private readonly StackOptions _options;
    private readonly TupleHash _tupleHash;
    private readonly Dictionary<TcpTuple, TcpConnection> _connections = new();

    // The same connections in a list a walk can index into (NetworkStack.CopyTcpConnections): a
    // removal moves the last one into the gap, so adding and removing stay O(1).
    private readonly List<TcpConnection> _connectionList = new();

    // Connections in the table by state, kept as states change, so a status page counts them without a walk.
    private readonly int[] _stateCounts = new int[(int)TcpConnectionState.TimeWait + 1];
    private readonly List<TcpConnection> _owingAcks = new();
    private readonly List<TcpConnection> _owingOutput = new();
    private readonly Dictionary<ushort, List<TcpAcceptor>> _listeners = new();
    private readonly Dictionary<TcpTuple, TcpForwardRequest> _pendingForwards = new();
    private readonly Random _random;
    private long _challengeSecond = long.MinValue;
    private int _challengeBudget;

    public TcpLayer(IpLayer ip, PortTable ports, StackCounters counters, StackOptions options, TimerWheel timers, Random random)
    {
        _ip = ip;
        _ports = ports;
        _counters = counters;
        _options = options;
        Timers = timers;
        Memory = new ChunkPool(options.Tcp.BufferChunkSize, options.Tcp.MemoryLimit, counters);
        _tupleHash = new TupleHash(options.RandomSeed is null ? null : random);
        Cookies = new SynCookies(_tupleHash);
        _random = random;
        TimeWaits = new TimeWaitTable(this);
    }

    /// <summary>TIME-WAIT of the connections the application closed, as compact records.</summary>
    public TimeWaitTable TimeWaits { get; }

    public TimerWheel Timers { get; }

    /// <summary>The chunks every connection's send and receive data lives in, with the stack's TCP memory budget.</summary>
    public ChunkPool Memory { get; }

    /// <summary>RFC 4987 SYN cookies, keyed like the ISNs.</summary>
    public SynCookies Cookies { get; }

    public StackCounters Counters => _counters;

    public TcpSettings Settings => _options.Tcp;

    public Instant Now => _ip.Now;

    public int ConnectionCount => _connections.Count;

    /// <summary>Connections in the table in <paramref name="state"/>.</summary>
    public int CountInState(TcpConnectionState state) => (uint)state < (uint)_stateCounts.Length ? _stateCounts[(int)state] : 0;

    /// <summary>A connection in the table went from <paramref name="previous"/> to <paramref name="next"/> (its SetState says so).</summary>
    public void CountStateChange(TcpConnectionState previous, TcpConnectionState next)
    {
        _stateCounts[(int)previous]--;
        _stateCounts[(int)next]++;
    }

    public List<TcpConnection> SnapshotConnections() => new(_connections.Values);

    /// <summary>Copies the connections at positions <paramref name="start"/>... of <see cref="_connectionList"/> into <paramref name="into"/>; returns how many.</summary>
    public int CopyConnections(int start, Span<TcpConnection> into)
    {
        int count = Math.Clamp(_connectionList.Count - start, 0, into.Length);
        if (start >= 0 && count > 0)
        {
            System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_connectionList).Slice(start, count).CopyTo(into);
        }

        return Math.Max(0, count);
    }

    public List<TcpAcceptor> SnapshotListeners() => _listeners.Values.SelectMany(list => list).ToList();

    /// <summary>4-tuples in TIME-WAIT: records in <see cref="TimeWaits"/> and connections still held by their application.</summary>
    public int TimeWaitCount { get; set; }

    public int OrphanCount { get; set; }

    public void Receive(in IpDatagram datagram)
    {
        _counters.Increment(Counter.TcpReceived);
        if (!TcpSegment.TryCreate(datagram.Payload, out TcpSegment segment, out WireError error))
        {
            _counters.Increment(error == WireError.Truncated ? Counter.TcpTruncated : Counter.TcpBadHeaderLength);
            return;
        }

        if (!datagram.ChecksumTrusted && !segment.IsChecksumValid(PseudoHeader.Sum(datagram.Source, datagram.Destination, IpProtocol.Tcp, datagram.Payload.Length)))
        {
            _counters.Increment(Counter.TcpBadChecksum);
            return;
        }

        // RFC 1122 4.2.3.10: a segment to a broadcast or multicast address is dropped.
        if (datagram.ToBroadcastOrMulticast)
        {
            _counters.Increment(Counter.TcpToGroup);
            return;
        }

        var tuple = new TcpTuple(new InternetEndpoint(datagram.Destination, segment.DestinationPort), new InternetEndpoint(datagram.Source, segment.SourcePort));
        if (_connections.TryGetValue(tuple, out TcpConnection? connection))
        {
            connection.OnSegment(segment, datagram.Ecn);
            return;
        }

        // A SYN that ends a TIME-WAIT (RFC 6191) goes on to the listener as a new connection request.
        if (TimeWaits.TryGet(tuple, out TimeWaitRecord? timeWait) && !TimeWaits.OnSegment(timeWait!, segment))
        {
            return;
        }

        // Any-address termination: a segment to an address we do not own (IP input let it through
        // only because a forwarder is set) goes to the forwarder, never to a wildcard listener; so
        // does one to our own address that no listener takes (a forwarder's gateway address).
        bool foreign = datagram.ToForeign;
        TcpAcceptor? listener = foreign ? null : FindAcceptor(datagram.Destination, segment.DestinationPort, datagram.Source);
        if (listener is not null)
        {
            listener.OnSegment(tuple, segment, datagram.Ecn);
            return;
        }

        if (Forwarder is not null)
        {
            OnForeignSegment(tuple, datagram, segment);
            return;
        }

        _counters.Increment(Counter.TcpNoConnection);
        SendResetFor(tuple, segment);
    }

    /// <summary>
    /// Decides connection requests to addresses the stack does not own, and to its own addresses on
    /// ports no listener takes; null (the default): IP input drops the first as not ours, and the
    /// second are reset. Called on the stack's thread.
    /// </summary>
    public Action<TcpForwardRequest>? Forwarder { get; set; }

    /// <summary>Connection requests waiting for the forwarder's decision.</summary>
    public int PendingForwards => _pendingForwards.Count;

    // A segment to a foreign address with no connection: a SYN becomes a request for the forwarder
    // (one per 4-tuple while undecided: retransmitted SYNs are absorbed); anything else is answered
    // as CLOSED answers it (RFC 9293 3.10.7.1).
    private void OnForeignSegment(TcpTuple tuple, in IpDatagram datagram, TcpSegment segment)
    {
        TcpFlags flags = segment.Flags;
        if ((flags & (TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Rst)) != TcpFlags.Syn)
        {
            if (_pendingForwards.TryGetValue(tuple, out TcpForwardRequest? waiting) && (flags & TcpFlags.Rst) != 0)
            {
                waiting.Drop(); // the client gave up (RFC 9293 3.10.7.2: a RST in LISTEN is ignored; nothing is kept)
                return;
            }

            _counters.Increment(Counter.TcpNoConnection);
            SendResetFor(tuple, segment);
            return;
        }

        if ((flags & TcpFlags.Fin) != 0)
        {
            _counters.Increment(Counter.TcpSynFinDropped); // as in LISTEN: a SYN with FIN is discarded
            return;
        }

        if (_pendingForwards.ContainsKey(tuple))
        {
            return;
        }

        if (_pendingForwards.Count >= Settings.MaxPendingForwards)
        {
            ExpireForwards();
            if (_pendingForwards.Count >= Settings.MaxPendingForwards)
            {
                _counters.Increment(Counter.TcpForwardPendingOverflow);
                return;
            }
        }

        var request = new TcpForwardRequest(this, tuple, datagram, segment, Now);
        _pendingForwards.Add(tuple, request);
        _counters.Increment(Counter.TcpForwardRequests);
        Forwarder!(request);
    }

    // Drops the requests that waited longer than the decision timeout.
    private void ExpireForwards()
    {
        Instant oldest = Now - Settings.ForwardDecisionTimeout;
        List<TcpForwardRequest>? expired = null;
        foreach (TcpForwardRequest r in _pendingForwards.Values)
        {
            if (r.Received <= oldest)
            {
                (expired ??= new()).Add(r);
            }
        }

        expired?.ForEach(r => r.Expire());
    }

    internal void ForgetForward(TcpForwardRequest request) => _pendingForwards.Remove(request.Tuple);

    internal void SendUnreachableFor(in IpDatagram original, byte type, byte code) => _ip.Icmp.SendErrorFor(original, 0, type, code, 0);

    /// <summary>
    /// RFC 9293 3.10.7.1 (CLOSED): a segment with RST is dropped; with ACK the reset is
    /// &lt;SEQ=SEG.ACK&gt;&lt;CTL=RST&gt;; otherwise &lt;SEQ=0&gt;&lt;ACK=SEG.SEQ+SEG.LEN&gt;&lt;CTL=RST,ACK&gt;.
    /// </summary>
    public void SendResetFor(TcpTuple tuple, TcpSegment segment)
    {
        if ((segment.Flags & TcpFlags.Rst) != 0)
        {
            return;
        }

        if ((segment.Flags & TcpFlags.Ack) != 0)
        {
            Send(OutgoingSegment.Control(tuple, segment.AcknowledgmentNumber, default, TcpFlags.Rst));
        }
        else
        {
            Send(OutgoingSegment.Control(tuple, default, segment.SequenceNumber + segment.SegmentLength, TcpFlags.Rst | TcpFlags.Ack));
        }
    }

    public void ReceiveIcmpError(in IcmpError error, ReadOnlySpan<byte> quotedTransport)
    {
        var tuple = new TcpTuple(
            new InternetEndpoint(error.QuotedSource, BinaryPrimitives.ReadUInt16BigEndian(quotedTransport)),
            new InternetEndpoint(error.QuotedDestination, BinaryPrimitives.ReadUInt16BigEndian(quotedTransport[2..])));
        if (_connections.TryGetValue(tuple, out TcpConnection? connection))
        {
            connection.OnIcmpError(error.Error, new SeqNumber(BinaryPrimitives.ReadUInt32BigEndian(quotedTransport[4..])), error.Mtu);
        }
    }

    private TcpAcceptor? FindAcceptor(InternetAddress local, ushort port, InternetAddress remote)
    {
        if (!_listeners.TryGetValue(port, out List<TcpAcceptor>? list))
        {
            return null;
        }

        TcpAcceptor? wildcard = null;
        foreach (TcpAcceptor l in list)
        {
            if (!l.AcceptsFamily(remote))
            {
                continue;
            }

            if (l.LocalEndpoint.Address == local)
            {
                return l;
            }

            if (l.LocalEndpoint.Address.IsUnspecified)
            {
                wildcard = l;
            }
        }

        return wildcard;
    }

    public StackError Listen(TcpAcceptor listener, InternetEndpoint local)
    {
        StackError error = _ports.ListenTcp(local, out InternetEndpoint bound);
        if (error != StackError.None)
        {
            return error;
        }

        if (!_listeners.TryGetValue(bound.Port, out List<TcpAcceptor>? list))
        {
            list = new List<TcpAcceptor>(1);
            _listeners.Add(bound.Port, list);
        }

        listener.LocalEndpoint = bound;
        list.Add(listener);
        return StackError.None;
    }

    public void StopListening(TcpAcceptor listener)
    {
        if (_listeners.TryGetValue(listener.LocalEndpoint.Port, out List<TcpAcceptor>? list) && list.Remove(listener))
        {
            if (list.Count == 0)
            {
                _listeners.Remove(listener.LocalEndpoint.Port);
            }

            _ports.StopListeningTcp(listener.LocalEndpoint);
        }
    }

    /// <summary>Opens a connection to <paramref name="remote"/> (RFC 9293 3.10.1, active OPEN).</summary>
    public StackError Connect(TcpConnection connection, InternetEndpoint remote, InternetAddress? localAddress, ushort localPort)
    {
        InternetAddress source;
        if (localAddress is { } given && !given.IsUnspecified)
        {
            source = given;
        }
        else
        {
            StackError routed = _ip.Addresses.SelectSource(remote.Address, out source);
            if (routed != StackError.None)
            {
                return routed;
            }
        }

        // The ephemeral port only has to make this 4-tuple unique: connections to different peers may share one.
        if (localPort == 0 && !_ports.TryTcpConnectionPort((Layer: this, Source: source, Remote: remote),
                static (s, port) => s.Layer.HasTuple(new TcpTuple(new InternetEndpoint(s.Source, port), s.Remote)), out localPort))
        {
            return StackError.AddressNotAvailable;
        }

        var tuple = new TcpTuple(new InternetEndpoint(source, localPort), remote);
        if (HasTuple(tuple))
        {
            return StackError.AddressInUse;
        }

        if (!HasRoomForConnection())
        {
            return StackError.NoBufferSpace;
        }

        Add(tuple, connection);
        _counters.Increment(Counter.TcpActiveOpens);
        connection.StartActive(tuple, InitialSequenceNumber(tuple));
        return StackError.None;
    }

    /// <summary>
    /// Whether one more connection fits; at <see cref="TcpSettings.MaxConnections"/> it is refused
    /// and counted (a listener sends no SYN-ACK; a connect fails with ENOBUFS), before any
    /// connection object is registered.
    /// </summary>
    public bool HasRoomForConnection()
    {
        if (_connections.Count >= _options.Tcp.MaxConnections)
        {
            _counters.Increment(Counter.TcpConnectionLimit);
            return false;
        }

        return true;
    }

    /// <summary>Registers a connection made by a listener (after <see cref="HasRoomForConnection"/>).</summary>
    public void Register(TcpConnection connection) => Add(connection.Tuple, connection);

    public void Unregister(TcpConnection connection)
    {
        if (_connections.TryGetValue(connection.Tuple, out TcpConnection? current) && current == connection)
        {
            _connections.Remove(connection.Tuple);
            int at = connection.TableIndex;
            TcpConnection last = _connectionList[^1];
            _connectionList[at] = last;
            last.TableIndex = at;
            _connectionList.RemoveAt(_connectionList.Count - 1);
            connection.TableIndex = -1;
            _stateCounts[(int)connection.State]--;
            _ports.RemoveTcpConnection(connection.Tuple.Local);
        }
    }

    // A connection or a TIME-WAIT record has this 4-tuple.
    private bool HasTuple(in TcpTuple tuple) => _connections.ContainsKey(tuple) || TimeWaits.Contains(tuple);

    /// <summary>A TIME-WAIT record holds <paramref name="local"/> as its connection did.</summary>
    public void HoldPort(InternetEndpoint local) => _ports.AddTcpConnection(local);

    /// <summary>A TIME-WAIT record has ended: <paramref name="local"/> is one holder lighter.</summary>
    public void ReleasePort(InternetEndpoint local) => _ports.RemoveTcpConnection(local);

    // The connection table and the port table change together: a connection holds its local port.
    private void Add(TcpTuple tuple, TcpConnection connection)
    {
        _connections.Add(tuple, connection);
        connection.TableIndex = _connectionList.Count;
        _connectionList.Add(connection);
        _stateCounts[(int)connection.State]++;
        _ports.AddTcpConnection(tuple.Local);
    }

    /// <summary>Tests only: when set, every ISN is this value (to put sequence wrap-around where a test wants it).</summary>
    internal uint? FixedInitialSequenceNumber { get; set; }

    /// <summary>RFC 6528 3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a 4 µs clock.</summary>
    public SeqNumber InitialSequenceNumber(TcpTuple tuple)
    {
        if (FixedInitialSequenceNumber is uint fixedIsn)
        {
            return new SeqNumber(fixedIsn);
        }

        uint m = (uint)(Now.Microseconds / 4);
        return new SeqNumber(m + _tupleHash.Compute(tuple, ReadOnlySpan<uint>.Empty));
    }

    /// <summary>
    /// Linux's tcp_oow_rate_limited, for an open connection and a TIME-WAIT record alike: true when
    /// the out-of-window (or PAWS-rejected) <paramref name="seg"/> may be answered with an ACK now.
    /// A segment that occupies sequence space (data or FIN) without SYN is no part of an ACK loop and
    /// is always answered; one that occupies none, or has SYN, is answered at most once per <see cref="TcpSettings.ChallengeAckInterval"/>
    /// per connection (<paramref name="lastSent"/>, shared with its challenge ACKs), so that a flood
    /// of forged ACKs draws no ACK each.
    /// </summary>
    public bool TryOutOfWindowAck(TcpSegment seg, ref Instant? lastSent)
    {
        if (seg.SegmentLength > 0 && (seg.Flags & TcpFlags.Syn) == 0)
        {
            return true;
        }

        if (lastSent is { } last && Now - last < Settings.ChallengeAckInterval)
        {
            _counters.Increment(Counter.TcpOutOfWindowAcksSkipped);
            return false;
        }

        lastSent = Now;
        return true;
    }

    /// <summary>
    /// RFC 5961 7: challenge ACKs are rate-limited, per connection (<paramref name="lastSent"/>, the
    /// time of its last one, null before the first) and per stack; true when one may go now.
    /// </summary>
    public bool TryChallengeAck(ref Instant? lastSent)
    {
        // Per connection first (Linux's tcp_oow_rate_limited): one answer per interval.
        if (lastSent is { } last && Now - last < Settings.ChallengeAckInterval)
        {
            _counters.Increment(Counter.TcpChallengeAcksRateLimited);
            return false;
        }

        // Then the stack's budget for this second, drawn anew each second between half and one and
        // a half times the limit (RFC 5961 7; the CVE-2016-5696 mitigation: a fixed shared count
        // is a side channel that tells an attacker whether another connection's segment was in window).
        long second = Now.Microseconds / 1_000_000;
        if (second != _challengeSecond)
        {
            _challengeSecond = second;
            int limit = Math.Max(1, Settings.ChallengeAcksPerSecond);
            _challengeBudget = ((limit + 1) / 2) + _random.Next(limit);
        }

        if (_challengeBudget <= 0)
        {
            _counters.Increment(Counter.TcpChallengeAcksRateLimited);
            return false;
        }

        _challengeBudget--;
        lastSent = Now;
        _counters.Increment(Counter.TcpChallengeAcks);
        return true;
    }

    /// <summary>
    /// What the link does for segments to <paramref name="remote"/>: complete their checksums, and
    /// cut super-segments of up to this many payload bytes (65,535 less the largest IP and TCP
    /// headers) or 0. Nothing for one of the stack's own addresses (the loopback queue is no link).
    /// </summary>
    public (bool Checksum, int MaxSuperSegment) OffloadsFor(InternetAddress remote)
    {
        LinkOffloads offloads = _ip.Offloads;
        if ((offloads & LinkOffloads.TransportChecksum) == 0 || _ip.Addresses.IsLocal(remote))
        {
            return (false, 0);
        }

        LinkOffloads segmentation = remote.IsV6 ? LinkOffloads.TcpSegmentationV6 : LinkOffloads.TcpSegmentationV4;
        return (true, (offloads & segmentation) != 0 ? 65535 - Ipv6Packet.HeaderLength - TcpSegment.MaxHeaderLength : 0);
    }

    /// <summary>True while a receive batch is handled: ACKs and writes from callbacks wait for its end.</summary>
    public bool InReceiveBatch { get; private set; }

    /// <summary>A receive batch begins.</summary>
    public void BeginReceiveBatch() => InReceiveBatch = true;

    /// <summary>Remembers a connection that owes an ACK, to be sent by <see cref="FinishReceiveBatch"/>.</summary>
    public void OweAck(TcpConnection connection) => _owingAcks.Add(connection);

    /// <summary>Remembers a connection whose application wrote during the batch, to be sent by <see cref="FinishReceiveBatch"/>.</summary>
    public void OweOutput(TcpConnection connection) => _owingOutput.Add(connection);

    /// <summary>
    /// At the end of a receive batch: first what applications wrote from their callbacks goes out
    /// (carrying the ACKs owed), then each connection that still owes an ACK for the in-order data
    /// it took sends one (RFC 9293 3.10.7.4, RFC 5681 4.2); never a call into the link mid-batch.
    /// </summary>
    public void FinishReceiveBatch()
    {
        InReceiveBatch = false;
        for (int i = 0; i < _owingOutput.Count; i++)
        {
            _owingOutput[i].Sender.SendOwedOutput();
        }

        _owingOutput.Clear();
        for (int i = 0; i < _owingAcks.Count; i++)
        {
            _owingAcks[i].Receiver.SendOwedAck();
        }

        _owingAcks.Clear();
    }

    public int MssFor(InternetAddress remote) => _ip.Mtu - (remote.IsV6 ? Ipv6Packet.HeaderLength : Ipv4Packet.MinHeaderLength) - TcpSegment.MinHeaderLength;

    /// <summary>Builds and sends one segment; its data is copied from the send buffer straight into place.</summary>
    public void Send(in OutgoingSegment s)
    {
        ref readonly TcpTuple tuple = ref s.Tuple;
        // One copy: the segment is written straight into the transmit slot, behind its IP header.
        Span<byte> room = _ip.BeginTcp(tuple.Remote.Address, out bool loopback);
        if (room.IsEmpty)
        {
            return;
        }

        int optionsLength = s.Options.WriteTo(room[TcpSegment.MinHeaderLength..]);
        int headerLength = TcpSegment.MinHeaderLength + optionsLength;
        if (s.DataLength > 0)
        {
            s.Data!.Peek(room.Slice(headerLength, s.DataLength), s.DataOffset);
        }

        Span<byte> segment = room[..(headerLength + s.DataLength)];
        bool offloaded = s.ChecksumOffload || s.SegmentSize > 0;
        new TcpHeader
        {
            SourcePort = tuple.Local.Port,
            DestinationPort = tuple.Remote.Port,
            SequenceNumber = s.Sequence,
            AcknowledgmentNumber = s.Acknowledgment,
            Flags = s.Flags,
            Window = s.Window,
            UrgentPointer = s.UrgentPointer,
        }.WriteTo(segment, optionsLength, PseudoHeader.Sum(tuple.Local.Address, tuple.Remote.Address, IpProtocol.Tcp, segment.Length), partialChecksum: offloaded);
        _counters.Increment(Counter.TcpSent);
        if ((s.Flags & TcpFlags.Rst) != 0)
        {
            _counters.Increment(Counter.TcpResetsSent);
        }

        // The link completes a partial checksum and cuts a super-segment into segments of SegmentSize.
        _ip.EndTcp(tuple.Local.Address, tuple.Remote.Address, loopback, segment.Length, headerLength, offloaded, s.SegmentSize, s.Ecn, s.TypeOfService, s.AllowFragmentation);
    }
}
