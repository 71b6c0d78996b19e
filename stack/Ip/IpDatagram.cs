using TunStack.Wire;

namespace TunStack.Ip;

/// <summary>A validated datagram handed by the IP layer to a transport.</summary>
internal readonly ref struct IpDatagram
{
    public IpDatagram(ReadOnlySpan<byte> datagram, ReadOnlySpan<byte> payload, InternetAddress source, InternetAddress destination, byte protocol, bool toGroup, bool checksumTrusted = false, bool toForeign = false)
    {
        ChecksumTrusted = checksumTrusted;
        ToForeign = toForeign;
        Datagram = datagram;
        Payload = payload;
        Source = source;
        Destination = destination;
        Protocol = protocol;
        ToBroadcastOrMulticast = toGroup;
    }

    /// <summary>The whole IP packet, header first (what an ICMP error quotes).</summary>
    public ReadOnlySpan<byte> Datagram { get; }

    /// <summary>The transport header and data.</summary>
    public ReadOnlySpan<byte> Payload { get; }

    public InternetAddress Source { get; }

    public InternetAddress Destination { get; }

    public byte Protocol { get; }

    /// <summary>Sent to a broadcast or multicast address (no ICMP errors about it, RFC 1122 3.2.2).</summary>
    public bool ToBroadcastOrMulticast { get; }

    public bool IsV6 => Source.IsV6;

    /// <summary>
    /// The ECN field of the IP header (RFC 3168 5), read from <see cref="Datagram"/>: what TCP echoes
    /// when a router marked the datagram Congestion Experienced. A reassembled datagram carries its
    /// first fragment's header.
    /// </summary>
    public EcnCodepoint Ecn => EcnField.Read(Datagram);

    /// <summary>
    /// The link vouched for the transport checksum (virtio-net DATA_VALID, or NEEDS_CSUM on a packet
    /// the kernel made and never sent over a wire): the transport does not verify it.
    /// </summary>
    public bool ChecksumTrusted { get; }

    /// <summary>
    /// Sent to a unicast address the stack does not own, and kept because a forwarder terminates any
    /// address (decided once, by <see cref="IpLayer.Deliver"/>; the transports read it instead of looking again).
    /// </summary>
    public bool ToForeign { get; }

    /// <summary>This datagram with <see cref="ChecksumTrusted"/> set.</summary>
    public IpDatagram Trusted() => new(Datagram, Payload, Source, Destination, Protocol, ToBroadcastOrMulticast, checksumTrusted: true, ToForeign);

    /// <summary>This datagram with <see cref="ToForeign"/> set.</summary>
    public IpDatagram Foreign() => new(Datagram, Payload, Source, Destination, Protocol, ToBroadcastOrMulticast, ChecksumTrusted, toForeign: true);
}
