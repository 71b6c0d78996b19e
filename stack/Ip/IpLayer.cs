// RFC 791 and RFC 1122 3.2.1 (IPv4), RFC 8200 (IPv6): the IP layer of one stack. It owns the
// address table, the input of each family, the output, and ICMP, and delivers to the transports.
using TunStack.Links;
using TunStack.Storage;
using TunStack.Wire;

namespace TunStack.Ip;

/// <summary>
/// The stack's IP layer for both families. Owned by one <see cref="NetworkStack"/>; its parts are
/// <see cref="AddressTable"/>, <see cref="Ipv4Input"/>, <see cref="Ipv6Input"/>, <see cref="IpOutput"/>
/// and <see cref="IcmpLayer"/>.
/// </summary>
internal sealed class IpLayer
{
    private const int MaxPacket = PacketOffload.MaxSuperSegmentLength;

    private readonly StackCounters _counters;
    private readonly ILink _link;
    private readonly IpOutput _output;
    private readonly Ipv4Input _v4;
    private readonly Ipv6Input _v6;
    private Instant _now;
    private PacketOffload _inputOffload;   // the metadata of the packet Input is handling

    public IpLayer(StackCounters counters, StackOptions options, ILink link, TimerWheel timers, Random random)
    {
        _counters = counters;
        _link = link;
        Addresses = new AddressTable(counters, options);
        _output = new IpOutput(counters, options, link, Addresses, random);
        Icmp = new IcmpLayer(this, counters, options);
        // One buffer for what both families reassemble: a datagram is delivered before the next arrives.
        byte[] reassembled = new byte[MaxPacket];
        _v4 = new Ipv4Input(this, counters, options, timers, reassembled);
        _v6 = new Ipv6Input(this, counters, options, timers, reassembled);
    }

    public AddressTable Addresses { get; }

    public IcmpLayer Icmp { get; }

    public ITransportHandler? Udp { get; set; }

    public ITransportHandler? Tcp { get; set; }

    /// <summary>The transport for an IP protocol number, or null (ICMP is not one).</summary>
    public ITransportHandler? TransportFor(byte protocol) => protocol switch
    {
        IpProtocol.Udp => Udp,
        IpProtocol.Tcp => Tcp,
        _ => null,
    };

    public int Mtu => _link.Mtu;

    public Instant Now => _now;

    public Reassembler ReassemblerV4 => _v4.Reassembler;

    public Reassembler ReassemblerV6 => _v6.Reassembler;

    public bool HasLoopbackPending => _output.HasLoopbackPending;

    public void SetTime(Instant now) => _now = now;

    /// <summary>Handles one packet from the link or the loopback queue, with the offload metadata the link gave it.</summary>
    public void Input(ReadOnlySpan<byte> packet, in PacketOffload offload = default)
    {
        if (packet.Length == 0)
        {
            _counters.Increment(Counter.LinkUnknownVersion);
            return;
        }

        if (offload.IsSet)
        {
            // virtio 1.2 5.1.6.4: a super-segment is of a kind we take (TCP, of this packet's
            // family, with a segment size); anything else is dropped and counted, never guessed at.
            if (offload.Segmentation == PacketSegmentation.Unsupported)
            {
                _counters.Increment(Counter.LinkUnsupportedSegmentation);
                return;
            }

            if (offload.Segmentation != PacketSegmentation.None
                && (offload.SegmentSize == 0 || (packet[0] >> 4) != (offload.Segmentation == PacketSegmentation.TcpV6 ? 6 : 4)))
            {
                _counters.Increment(Counter.LinkBadOffload);
                return;
            }

            if (offload.Segmentation != PacketSegmentation.None)
            {
                _counters.Increment(Counter.LinkSuperSegmentsReceived);
            }

            _inputOffload = offload;
        }

        switch (packet[0] >> 4)
        {
            case 4:
                _v4.Receive(packet);
                break;
            case 6:
                _v6.Receive(packet);
                break;
            default:
                _counters.Increment(Counter.LinkUnknownVersion);
                break;
        }

        _inputOffload = default;
    }

    /// <summary>A fragment's metadata cannot describe the reassembled datagram: it is forgotten (its checksum is verified).</summary>
    public void ForgetInputOffload() => _inputOffload = default;

    // What the link said about the packet's transport checksum, checked against where the transport
    // header really is: a partial checksum must start at it, with the field where the protocol has
    // it (RFC 9293 3.1: offset 16; RFC 768: offset 6); a super-segment must be TCP. Null: drop.
    private bool? ChecksumTrusted(in IpDatagram datagram, byte protocol)
    {
        ref readonly PacketOffload offload = ref _inputOffload;
        if (!offload.IsSet)
        {
            return false;
        }

        if (offload.Segmentation != PacketSegmentation.None && protocol != IpProtocol.Tcp)
        {
            return null;
        }

        switch (offload.Checksum)
        {
            case PacketChecksum.Verified:
                return true;
            case PacketChecksum.Partial:
                int transportStart = datagram.Datagram.Length - datagram.Payload.Length;
                int fieldOffset = protocol switch
                {
                    IpProtocol.Tcp => 16,
                    IpProtocol.Udp => 6,
                    _ => -1,
                };
                return offload.ChecksumStart == transportStart && offload.ChecksumOffset == fieldOffset ? true : null;
            default:
                return false;
        }
    }

    /// <summary>TCP to addresses the stack does not own is taken (a TCP forwarder is set).</summary>
    public bool ForeignTcp { get; set; }

    /// <summary>UDP to addresses the stack does not own is taken (a UDP forwarder is set).</summary>
    public bool ForeignUdp { get; set; }

    /// <summary>ICMP echo requests to addresses the stack does not own are taken (an echo forwarder is set).</summary>
    public bool ForeignIcmpEcho { get; set; }

    /// <summary>Whether input keeps datagrams to addresses the stack does not own (for <see cref="Deliver"/> to sort).</summary>
    public bool TerminatesForeign => ForeignTcp || ForeignUdp || ForeignIcmpEcho;

    /// <summary>
    /// Hands a validated, whole datagram to ICMP or its transport; <paramref name="nextHeaderFieldOffset"/>
    /// is where the IPv6 Parameter Problem for an unknown protocol points.
    /// </summary>
    public void Deliver(in IpDatagram received, byte protocol, int nextHeaderFieldOffset)
    {
        bool v6 = received.IsV6;
        IpDatagram datagram = received;
        if (TerminatesForeign && !received.ToBroadcastOrMulticast && !Addresses.IsLocal(received.Destination))
        {
            // Any-address termination takes only what a forwarder is set for; the rest is not ours.
            if (!(protocol == IpProtocol.Tcp && ForeignTcp) && !(protocol == IpProtocol.Udp && ForeignUdp)
                && !(protocol == (v6 ? IpProtocol.IcmpV6 : IpProtocol.Icmp) && ForeignIcmpEcho))
            {
                _counters.Increment(v6 ? Counter.Ipv6NotForUs : Counter.Ipv4NotForUs);
                return;
            }

            _counters.Increment(Counter.IpForeignDelivered);
            datagram = received.Foreign();
        }

        if (protocol == (v6 ? IpProtocol.IcmpV6 : IpProtocol.Icmp))
        {
            _counters.Increment(v6 ? Counter.Ipv6Delivered : Counter.Ipv4Delivered);
            Icmp.Receive(datagram);
            return;
        }

        ITransportHandler? handler = TransportFor(protocol);
        if (handler is null)
        {
            _counters.Increment(protocol == IpProtocol.Tcp ? Counter.TcpNoEngine : v6 ? Counter.Ipv6ParameterProblem : Counter.Ipv4UnknownProtocol);
            if (v6)
            {
                // RFC 8200 4: an unrecognized Next Header draws Parameter Problem code 1.
                Icmp.SendErrorFor(datagram, 0, Icmpv6Type.ParameterProblem, Icmpv6Type.CodeUnrecognizedNextHeader, (uint)nextHeaderFieldOffset);
            }
            else
            {
                // RFC 1122 3.2.2.1: Protocol Unreachable for a protocol with no handler.
                Icmp.SendErrorFor(datagram, 0, Icmpv4Type.DestinationUnreachable, Icmpv4Type.CodeProtocolUnreachable, 0);
            }

            return;
        }

        if (datagram.ToBroadcastOrMulticast && (v6 || datagram.Destination.IsMulticast))
        {
            // No multicast group memberships: only ICMPv6 (handled above) is taken from groups.
            _counters.Increment(v6 ? Counter.Ipv6NotForUs : Counter.Ipv4NotForUs);
            return;
        }

        bool? trusted = ChecksumTrusted(datagram, protocol);
        if (trusted is null)
        {
            _counters.Increment(Counter.LinkBadOffload);
            return;
        }

        _counters.Increment(v6 ? Counter.Ipv6Delivered : Counter.Ipv4Delivered);
        if (trusted.Value)
        {
            handler.Receive(datagram.Trusted());
        }
        else
        {
            handler.Receive(datagram);
        }
    }

    /// <summary>
    /// Sends a transport payload: routes it, adds the IP header and fragments it to the link MTU
    /// (IPv4 unless <paramref name="dontFragment"/>; IPv6 with a Fragment header, RFC 8200 4.5).
    /// Packets to one of the stack's own addresses loop back into its input.
    /// </summary>
    public StackError Output(InternetAddress source, InternetAddress destination, byte protocol, ReadOnlySpan<byte> payload, bool dontFragment = false)
        => _output.Send(source, destination, protocol, payload, dontFragment, _now);

    /// <summary>Starts a TCP packet: the room behind its IP header in the next transmit slot, or empty without a route (see <see cref="IpOutput.BeginTcp"/>).</summary>
    public Span<byte> BeginTcp(InternetAddress destination, out bool loopback) => _output.BeginTcp(destination, out loopback, _now);

    /// <summary>Finishes the TCP packet <see cref="BeginTcp"/> started (see <see cref="IpOutput.EndTcp"/>).</summary>
    public void EndTcp(InternetAddress source, InternetAddress destination, bool loopback, int segmentLength, int tcpHeaderLength, bool checksumPartial, int segmentSize, EcnCodepoint ecn = EcnCodepoint.NotEct, byte typeOfService = 0, bool allowFragmentation = false)
        => _output.EndTcp(source, destination, loopback, segmentLength, tcpHeaderLength, checksumPartial, segmentSize, _now, ecn, typeOfService, allowFragmentation);

    /// <summary>The link's offloads.</summary>
    public LinkOffloads Offloads => _link.Offloads;

    /// <summary>Hands queued packets to the link.</summary>
    public void Flush() => _output.Flush(_now);

    /// <summary>Moves looped-back packets into a batch for input.</summary>
    public int DrainLoopback(PacketBatch batch) => _output.DrainLoopback(batch);
}
