using TunStack.Ip;
using TunStack.Wire;

namespace TunStack.Tcp;

/// <summary>
/// A listening TCP endpoint: a SYN queue of half-open connections and an accept queue of
/// established ones, each bounded by the backlog (clamped to <see cref="TcpSettings.MaxBacklog"/>).
/// When the accept queue is full new SYNs are dropped and counted, and the clients retry (Linux behaviour).
/// </summary>
public sealed class TcpAcceptor
{
    private readonly TcpLayer _layer;
    private readonly HashSet<TcpConnection> _synQueue = new();
    private readonly Queue<TcpConnection> _acceptQueue = new();
    private bool _closed;

    internal TcpAcceptor(TcpLayer layer, int backlog, bool v6Only, System.Net.Sockets.AddressFamily family)
    {
        _layer = layer;
        // listen(2): the backlog is clamped to SOMAXCONN; 0 still allows one connection, as Linux.
        Backlog = Math.Clamp(backlog, 1, layer.Settings.MaxBacklog);
        V6Only = v6Only;
        Family = family;
    }

    /// <summary>The bound address and port.</summary>
    public InternetEndpoint LocalEndpoint { get; internal set; }

    /// <summary>The effective backlog.</summary>
    public int Backlog { get; }

    /// <summary>Address family (an InterNetworkV6 listener also takes IPv4 unless <see cref="V6Only"/>).</summary>
    public System.Net.Sockets.AddressFamily Family { get; }

    /// <summary>IPV6_V6ONLY.</summary>
    public bool V6Only { get; }

    /// <summary>Send buffer size of the connections this listener makes (SO_SNDBUF inherited by accept); 0: the default, auto-tuned.</summary>
    public int SendBufferSize { get; set; }

    /// <summary>Receive buffer size of the connections this listener makes (SO_RCVBUF inherited by accept); 0: the default, auto-tuned.</summary>
    public int ReceiveBufferSize { get; set; }

    /// <summary>TCP_MAXSEG of the connections this listener makes: the largest segment they advertise and send; 0 for what the path allows.</summary>
    public int MaxSegmentSize { get; set; }

    /// <summary>Established connections waiting for <see cref="TryAccept"/>.</summary>
    public int PendingCount => _acceptQueue.Count;

    /// <summary>Half-open connections.</summary>
    public int HalfOpenCount => _synQueue.Count;

    /// <summary>Called on the owner thread when a connection is ready to accept.</summary>
    public Action? Readable { get; set; }

    internal bool CanAccept => _acceptQueue.Count < Backlog;

    internal bool AcceptsFamily(InternetAddress remote) => Family == System.Net.Sockets.AddressFamily.InterNetworkV6 ? remote.IsV6 || !V6Only : remote.IsV4;

    /// <summary>Takes the next established connection; false when none is waiting.</summary>
    public bool TryAccept(out TcpConnection? connection) => _acceptQueue.TryDequeue(out connection);

    /// <summary>Stops listening: pending and half-open connections are reset.</summary>
    public void Close()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        _layer.StopListening(this);
        foreach (TcpConnection c in _synQueue.ToList().Concat(_acceptQueue))
        {
            c.Acceptor = null;
            c.Abort();
        }

        _synQueue.Clear();
        _acceptQueue.Clear();
    }

    // RFC 9293 3.10.7.2: LISTEN.
    internal void OnSegment(TcpTuple tuple, TcpSegment segment, EcnCodepoint ecn = EcnCodepoint.NotEct)
    {
        TcpFlags flags = segment.Flags;
        if ((flags & TcpFlags.Rst) != 0)
        {
            return;
        }

        if ((flags & TcpFlags.Ack) != 0)
        {
            // RFC 4987 3.6: an ACK (ACK|PSH, ACK|FIN) may complete a handshake answered with a
            // cookie; a SYN|ACK or anything that does not validate is reset as LISTEN requires.
            if ((flags & TcpFlags.Syn) == 0 && _layer.Settings.SynCookies && TryCompleteFromCookie(tuple, segment, ecn))
            {
                return;
            }

            if ((flags & TcpFlags.Syn) == 0 && _layer.Settings.SynCookies)
            {
                _layer.Counters.Increment(Counter.TcpSynCookiesInvalid);
            }

            _layer.SendResetFor(tuple, segment);
            return;
        }

        if ((flags & TcpFlags.Syn) == 0)
        {
            return;
        }

        // SYN with FIN: no real stack sends it (it is a scanner's or an evasion probe); Linux and
        // the BSDs discard it in LISTEN rather than answer and keep half-open state for it.
        if ((flags & TcpFlags.Fin) != 0)
        {
            _layer.Counters.Increment(Counter.TcpSynFinDropped);
            return;
        }

        if (!CanAccept)
        {
            _layer.Counters.Increment(Counter.TcpListenOverflow);
            return;
        }

        if (_synQueue.Count >= Backlog)
        {
            if (_layer.Settings.SynCookies)
            {
                SendCookieSynAck(tuple, segment);
                return;
            }

            _layer.Counters.Increment(Counter.TcpSynQueueOverflow);
            return;
        }

        if (!_layer.HasRoomForConnection())
        {
            return;
        }

        var connection = new TcpConnection(_layer, this);
        connection.StartPassive(tuple, segment, _layer.InitialSequenceNumber(tuple));
        _layer.Register(connection);
        _synQueue.Add(connection);
        _layer.Counters.Increment(Counter.TcpPassiveOpens);
    }

    // RFC 4987 3.6: the SYN-ACK of a SYN answered without state.
    private void SendCookieSynAck(TcpTuple tuple, TcpSegment syn)
    {
        TcpOptions theirs = TcpOptions.Parse(syn.Options);
        int ourMss = TcpConnection.ClampToUserMss(_layer.MssFor(tuple.Remote.Address), MaxSegmentSize);
        int mss = Math.Min(ourMss, theirs.Mss == 0 ? (tuple.Remote.Address.IsV6 ? 1220 : 536) : theirs.Mss);
        SeqNumber cookie = _layer.Cookies.Create(tuple, syn.SequenceNumber, mss, _layer.Now);
        int shift = TcpReceiver.ShiftFor(_layer.Settings, ReceiveBufferSize);
        // RFC 3168 6.1.1: agree to ECN as a listener with state would, when the TSval can carry it.
        bool ecn = theirs.HasTimestamps && TcpEcn.SynAsks(syn.Flags) && TcpEcn.Accepts(_layer.Settings);
        TcpOptions options = SynCookies.SynAckOptions(theirs, ourMss, shift, ecn, cookie, _layer.Now);

        _layer.Counters.Increment(Counter.TcpSynCookiesSent);
        _layer.Send(new OutgoingSegment
        {
            Tuple = tuple,
            Sequence = cookie,
            Acknowledgment = syn.SequenceNumber + 1,
            Flags = TcpFlags.Syn | TcpFlags.Ack | (ecn ? TcpFlags.Ece : TcpFlags.None),
            Window = 65535,
            Options = options,
        });
    }

    // RFC 4987 3.6: an ACK that returns a valid cookie completes the handshake.
    private bool TryCompleteFromCookie(TcpTuple tuple, TcpSegment ack, EcnCodepoint ecnCodepoint)
    {
        SeqNumber cookie = ack.AcknowledgmentNumber - 1;
        SeqNumber clientIsn = ack.SequenceNumber - 1;
        if (!_layer.Cookies.TryValidate(tuple, clientIsn, cookie, _layer.Now, out int mss))
        {
            return false;
        }

        if (!CanAccept)
        {
            // Valid, but no room: drop it silently as Linux does; the client's next segment (its
            // data, which still carries the cookie) completes the connection once there is room.
            _layer.Counters.Increment(Counter.TcpListenOverflow);
            return true;
        }

        TcpOptions options = TcpOptions.Parse(ack.Options);
        SynCookies.DecodeOptions(options, out int windowScale, out bool sack, out bool ecn);

        if (!_layer.HasRoomForConnection())
        {
            return false;
        }

        var connection = new TcpConnection(_layer, this);
        connection.StartFromCookie(tuple, cookie, clientIsn, mss, windowScale, sack, ecn && TcpEcn.Accepts(_layer.Settings), options);
        _layer.Register(connection);

        _layer.Counters.Increment(Counter.TcpSynCookiesValid);
        _layer.Counters.Increment(Counter.TcpPassiveOpens);
        connection.EstablishFromCookie(ack, ecnCodepoint);
        return true;
    }

    internal void OnEstablished(TcpConnection connection)
    {
        _synQueue.Remove(connection);
        _acceptQueue.Enqueue(connection);
        Readable?.Invoke();
    }

    internal void OnClosed(TcpConnection connection)
    {
        // Only a half-open connection leaves: one reset while waiting in the accept queue stays
        // there; accept() returns it and the first read reports the reset, as on Linux.
        _synQueue.Remove(connection);
    }
}
