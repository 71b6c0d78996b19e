using TunStack.Ip;
using TunStack.Wire;

namespace TunStack.Tcp;

/// <summary>
/// A connection request (a SYN) to an address the stack does not own, handed to
/// <see cref="NetworkStack.TcpForwarder"/> while any-address termination is on (gVisor's
/// ForwarderRequest, smoltcp's any_ip). The forwarder decides once, now or later, on the stack's
/// thread: <see cref="Accept"/> answers the client from the original destination, <see cref="Reject"/>
/// resets it as a host with nothing listening would, <see cref="RejectUnreachable"/> answers as a
/// router that cannot reach the destination, <see cref="Drop"/> lets the client time out. Until then
/// the client's retransmitted SYNs are absorbed; an undecided request is dropped after
/// <see cref="TcpSettings.ForwardDecisionTimeout"/>.
/// </summary>
public sealed class TcpForwardRequest
{
    private readonly TcpLayer _layer;
    private readonly byte[] _packet;     // the SYN as received: IP header(s) and TCP header, no payload
    private readonly int _transportOffset;

    internal TcpForwardRequest(TcpLayer layer, TcpTuple tuple, in IpDatagram datagram, TcpSegment syn, Instant received)
    {
        _layer = layer;
        Tuple = tuple;
        Received = received;
        _transportOffset = datagram.Datagram.Length - datagram.Payload.Length;
        _packet = datagram.Datagram[..(_transportOffset + syn.HeaderLength)].ToArray();
        Protocol = datagram.Protocol;
    }

    /// <summary>The connection as it would be accepted: the local end is the original destination, the remote end the client.</summary>
    public TcpTuple Tuple { get; }

    /// <summary>Where the client wants to go (the original destination).</summary>
    public InternetEndpoint Destination => Tuple.Local;

    /// <summary>The client.</summary>
    public InternetEndpoint Source => Tuple.Remote;

    /// <summary>True until one of <see cref="Accept"/>, <see cref="Reject"/>, <see cref="RejectUnreachable"/> or <see cref="Drop"/> has been called (or the request expired).</summary>
    public bool IsPending { get; private set; } = true;

    internal Instant Received { get; }

    private byte Protocol { get; }

    /// <summary>
    /// Accepts: a connection in SYN-RECEIVED whose SYN-ACK is on its way from the original
    /// destination; watch <see cref="TcpConnection.StateChanged"/> for ESTABLISHED (or CLOSED when the
    /// client gave up or reset). Null, with the request dropped, when the stack's connection limit is
    /// reached or the request is no longer pending.
    /// </summary>
    public TcpConnection? Accept()
    {
        if (!Decide())
        {
            return null;
        }

        if (!_layer.HasRoomForConnection())
        {
            _layer.Counters.Increment(Counter.TcpForwardDropped);
            return null;
        }

        if (!TcpSegment.TryCreate(_packet.AsSpan(_transportOffset), out TcpSegment syn))
        {
            return null; // cannot happen: the header was valid when it arrived
        }

        var connection = new TcpConnection(_layer, listener: null);
        connection.StartPassive(Tuple, syn, _layer.InitialSequenceNumber(Tuple));
        _layer.Register(connection);
        _layer.Counters.Increment(Counter.TcpPassiveOpens);
        _layer.Counters.Increment(Counter.TcpForwardAccepted);
        return connection;
    }

    /// <summary>Refuses with a reset (RFC 9293 3.10.7.1: &lt;SEQ=0&gt;&lt;ACK=SEG.SEQ+1&gt;&lt;CTL=RST,ACK&gt;), as a host with no listener: the client's connect fails with ECONNREFUSED.</summary>
    public void Reject()
    {
        if (!Decide() || !TcpSegment.TryCreate(_packet.AsSpan(_transportOffset), out TcpSegment syn))
        {
            return;
        }

        _layer.Counters.Increment(Counter.TcpForwardRejected);
        _layer.SendResetFor(Tuple, syn);
    }

    /// <summary>
    /// Refuses with ICMP Destination Unreachable, host unreachable (IPv6: address unreachable), from
    /// the stack's own address as a router sends it (RFC 1812 5.2.7.1): the client's connect fails
    /// with EHOSTUNREACH.
    /// </summary>
    public void RejectUnreachable()
    {
        if (!Decide())
        {
            return;
        }

        _layer.Counters.Increment(Counter.TcpForwardUnreachable);
        bool v6 = Tuple.Local.Address.IsV6;
        var original = new IpDatagram(_packet, _packet.AsSpan(_transportOffset), Tuple.Remote.Address, Tuple.Local.Address, Protocol, toGroup: false);
        _layer.SendUnreachableFor(original, v6 ? Icmpv6Type.DestinationUnreachable : Icmpv4Type.DestinationUnreachable, v6 ? Icmpv6Type.CodeAddressUnreachable : Icmpv4Type.CodeHostUnreachable);
    }

    /// <summary>Answers nothing: the client retransmits its SYN until its connect times out.</summary>
    public void Drop()
    {
        if (Decide())
        {
            _layer.Counters.Increment(Counter.TcpForwardDropped);
        }
    }

    // Expired while undecided: dropped, and any later decision does nothing.
    internal void Expire()
    {
        if (Decide())
        {
            _layer.Counters.Increment(Counter.TcpForwardDropped);
        }
    }

    private bool Decide()
    {
        if (!IsPending)
        {
            return false;
        }

        IsPending = false;
        _layer.ForgetForward(this);
        return true;
    }
}
