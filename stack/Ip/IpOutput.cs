// RFC 791 and RFC 8200: output of both families with routing, the IP header, fragmentation to the
// link MTU, the transmit batch and the loopback queue for the stack's own addresses.
using TunStack.Links;
using TunStack.Storage;
using TunStack.Wire;

namespace TunStack.Ip;

/// <summary>
/// IP output for one stack: writes each packet into the next slot of the transmit batch, which goes
/// to the link on <see cref="Flush"/> (or as soon as it is full); packets to one of the stack's own
/// addresses go to the loopback queue instead and are received at the next poll.
/// </summary>
internal sealed class IpOutput
{
    private readonly StackCounters _counters;
    private readonly StackOptions _options;
    private readonly ILink _link;
    private readonly AddressTable _addresses;
    private readonly PacketBatch _tx;
    private readonly PacketQueue _loopback;
    private readonly IpIdentifiers _identifiers;

    public IpOutput(StackCounters counters, StackOptions options, ILink link, AddressTable addresses, Random random)
    {
        _counters = counters;
        _options = options;
        _link = link;
        _addresses = addresses;
        _tx = new PacketBatch(options.BatchSize, link.MaxPacketLength);
        _loopback = new PacketQueue(256, link.Mtu, allocateUpFront: false); // most stacks never talk to themselves
        _identifiers = new IpIdentifiers(random);
    }

    public bool HasLoopbackPending => _loopback.HasPackets; // only the stack's own thread enqueues and dequeues

    /// <summary>
    /// Sends a transport payload: routes it, adds the IP header and fragments it to the link MTU
    /// (IPv4 unless <paramref name="dontFragment"/>; IPv6 with a Fragment header, RFC 8200 4.5).
    /// Packets to one of the stack's own addresses loop back into its input.
    /// </summary>
    public StackError Send(InternetAddress source, InternetAddress destination, byte protocol, ReadOnlySpan<byte> payload, bool dontFragment, Instant now)
    {
        bool loopback = _addresses.IsLocal(destination);
        if (!loopback && _addresses.Routes.Lookup(destination) is null)
        {
            _counters.Increment(Counter.OutputNoRoute);
            return StackError.NetworkUnreachable;
        }

        return destination.IsV6
            ? SendV6(source, destination, protocol, payload, loopback, now)
            : SendV4(source, destination, protocol, payload, dontFragment, loopback, now);
    }

    private StackError SendV4(InternetAddress source, InternetAddress destination, byte protocol, ReadOnlySpan<byte> payload, bool dontFragment, bool loopback, Instant now)
    {
        int mtu = _link.Mtu;
        if (Ipv4Packet.MinHeaderLength + payload.Length > 65535)
        {
            return StackError.MessageTooLong;
        }

        var header = new Ipv4Header
        {
            TimeToLive = _options.DefaultTtl,
            Protocol = protocol,
            Source = source.V4,
            Destination = destination.V4,
            DontFragment = dontFragment,
            Identification = _identifiers.NextV4(source, destination, protocol),
        };

        if (Ipv4Packet.MinHeaderLength + payload.Length <= mtu)
        {
            Span<byte> slot = NextSlot(now);
            header.TotalLength = (ushort)(Ipv4Packet.MinHeaderLength + payload.Length);
            header.WriteTo(slot);
            payload.CopyTo(slot[Ipv4Packet.MinHeaderLength..]);
            Emit(slot[..header.TotalLength], loopback, Counter.Ipv4Sent);
            return StackError.None;
        }

        if (dontFragment)
        {
            _counters.Increment(Counter.Ipv4OutputTooBigDontFragment);
            return StackError.MessageTooLong;
        }

        // RFC 791 3.2: every fragment but the last carries a multiple of 8 data bytes.
        int chunk = (mtu - Ipv4Packet.MinHeaderLength) & ~7;
        for (int offset = 0; offset < payload.Length; offset += chunk)
        {
            int length = Math.Min(chunk, payload.Length - offset);
            Span<byte> slot = NextSlot(now);
            header.FragmentOffset = offset;
            header.MoreFragments = offset + length < payload.Length;
            header.TotalLength = (ushort)(Ipv4Packet.MinHeaderLength + length);
            header.WriteTo(slot);
            payload.Slice(offset, length).CopyTo(slot[Ipv4Packet.MinHeaderLength..]);
            _counters.Increment(Counter.Ipv4FragmentsCreated);
            Emit(slot[..header.TotalLength], loopback, Counter.Ipv4Sent);
        }

        return StackError.None;
    }

    private StackError SendV6(InternetAddress source, InternetAddress destination, byte protocol, ReadOnlySpan<byte> payload, bool loopback, Instant now)
    {
        int mtu = _link.Mtu;
        if (payload.Length > 65535)
        {
            return StackError.MessageTooLong;
        }

        Span<byte> src = stackalloc byte[16];
        Span<byte> dst = stackalloc byte[16];
        source.WriteTo(src);
        destination.WriteTo(dst);
        var header = new Ipv6Header { HopLimit = _options.DefaultHopLimit, NextHeader = protocol };

        if (Ipv6Packet.HeaderLength + payload.Length <= mtu)
        {
            Span<byte> slot = NextSlot(now);
            header.PayloadLength = (ushort)payload.Length;
            header.WriteTo(slot, src, dst);
            payload.CopyTo(slot[Ipv6Packet.HeaderLength..]);
            Emit(slot[..(Ipv6Packet.HeaderLength + payload.Length)], loopback, Counter.Ipv6Sent);
            return StackError.None;
        }

        // RFC 8200 4.5: fragments carry the IPv6 header and a Fragment header; all but the last
        // fragment carry a multiple of 8 bytes. Identification from a per-destination counter (RFC 7739).
        int chunk = (mtu - Ipv6Packet.HeaderLength - Ipv6FragmentHeader.Length) & ~7;
        var fragment = new Ipv6FragmentHeader { NextHeader = protocol, Identification = _identifiers.NextV6(source, destination, protocol) };
        header.NextHeader = IpProtocol.Fragment;
        for (int offset = 0; offset < payload.Length; offset += chunk)
        {
            int length = Math.Min(chunk, payload.Length - offset);
            Span<byte> slot = NextSlot(now);
            header.PayloadLength = (ushort)(Ipv6FragmentHeader.Length + length);
            header.WriteTo(slot, src, dst);
            fragment.FragmentOffset = offset;
            fragment.MoreFragments = offset + length < payload.Length;
            fragment.WriteTo(slot[Ipv6Packet.HeaderLength..]);
            payload.Slice(offset, length).CopyTo(slot[(Ipv6Packet.HeaderLength + Ipv6FragmentHeader.Length)..]);
            _counters.Increment(Counter.Ipv6FragmentsCreated);
            Emit(slot[..(Ipv6Packet.HeaderLength + Ipv6FragmentHeader.Length + length)], loopback, Counter.Ipv6Sent);
        }

        return StackError.None;
    }

    /// <summary>
    /// Starts a TCP packet in the next transmit slot and returns the room behind its IP header, where
    /// the caller writes the segment itself (one copy: send buffer to slot). Empty, and counted, when
    /// there is no route. Finish with <see cref="EndTcp"/> before anything else is sent.
    /// </summary>
    public Span<byte> BeginTcp(InternetAddress destination, out bool loopback, Instant now)
    {
        loopback = _addresses.IsLocal(destination);
        if (!loopback && _addresses.Routes.Lookup(destination) is null)
        {
            _counters.Increment(Counter.OutputNoRoute);
            return Span<byte>.Empty;
        }

        return NextSlot(now)[(destination.IsV6 ? Ipv6Packet.HeaderLength : Ipv4Packet.MinHeaderLength)..];
    }

    /// <summary>
    /// Puts the IP header before the segment written into the room <see cref="BeginTcp"/> gave, and
    /// queues the packet (to the loopback queue when BeginTcp said <paramref name="loopback"/>). IPv4 sets DF (RFC
    /// 1191 3: segments are never fragmented on the way; IPv6 never is), and a segment beyond the
    /// MTU is dropped and counted, unless it is a super-segment: with <paramref name="checksumPartial"/>
    /// the TCP checksum is left for the link to complete (virtio 1.2 5.1.6.2: NEEDS_CSUM, csum_start
    /// at the TCP header, csum_offset 16), and with <paramref name="segmentSize"/> above 0 the packet
    /// is a super-segment that the link cuts into segments of that many payload bytes (gso_type
    /// TCPV4/TCPV6, hdr_len over both headers); IPv4 then takes one identification per wire
    /// segment, as Linux does. <paramref name="ecn"/> goes into the ECN field (RFC 3168 5), the same in
    /// every segment the link cuts from a super-segment; the other six bits of the TOS octet
    /// (IPv6 traffic class) are <paramref name="typeOfService"/>'s (the socket's IP_TOS or
    /// IPV6_TCLASS: RFC 2474's DS field; as Linux, the ECN bits stay the stack's, RFC 3168 6.1.1).
    /// With <paramref name="allowFragmentation"/> (the socket's IP_PMTUDISC_DONT) IPv4 leaves DF clear.
    /// </summary>
    public void EndTcp(InternetAddress source, InternetAddress destination, bool loopback, int segmentLength, int tcpHeaderLength, bool checksumPartial, int segmentSize, Instant now, EcnCodepoint ecn = EcnCodepoint.NotEct, byte typeOfService = 0, bool allowFragmentation = false)
    {
        byte trafficClass = (byte)((typeOfService & ~0x03) | ((byte)ecn & 0x03));
        bool v6 = destination.IsV6;
        int ipHeaderLength = v6 ? Ipv6Packet.HeaderLength : Ipv4Packet.MinHeaderLength;
        int total = ipHeaderLength + segmentLength;
        if (segmentSize == 0 && total > _link.Mtu)
        {
            if (!v6)
            {
                _counters.Increment(Counter.Ipv4OutputTooBigDontFragment);
                return;
            }

            // RFC 8200 5: only the source fragments IPv6; rare (the MSS follows the path MTU), so
            // the segment leaves the slot for a rented buffer and goes the fragmenting way.
            byte[] copy = System.Buffers.ArrayPool<byte>.Shared.Rent(segmentLength);
            _tx.NextFree.Slice(ipHeaderLength, segmentLength).CopyTo(copy);
            if (checksumPartial)
            {
                SoftwareSegmentation.CompleteChecksum(copy.AsSpan(0, segmentLength), new PacketOffload { Checksum = PacketChecksum.Partial, ChecksumOffset = 16 });
            }

            SendV6(source, destination, IpProtocol.Tcp, copy.AsSpan(0, segmentLength), loopback, now);
            System.Buffers.ArrayPool<byte>.Shared.Return(copy);
            return;
        }

        Span<byte> slot = _tx.NextFree;
        if (v6)
        {
            Span<byte> addresses = stackalloc byte[32];
            source.WriteTo(addresses);
            destination.WriteTo(addresses[16..]);
            new Ipv6Header { TrafficClass = trafficClass, HopLimit = _options.DefaultHopLimit, NextHeader = IpProtocol.Tcp, PayloadLength = (ushort)segmentLength }.WriteTo(slot, addresses[..16], addresses[16..]);
        }
        else
        {
            int segments = segmentSize > 0 ? (segmentLength - tcpHeaderLength + segmentSize - 1) / segmentSize : 1;
            new Ipv4Header
            {
                TypeOfService = trafficClass,
                TimeToLive = _options.DefaultTtl,
                Protocol = IpProtocol.Tcp,
                Source = source.V4,
                Destination = destination.V4,
                DontFragment = !allowFragmentation,
                Identification = _identifiers.NextV4(source, destination, IpProtocol.Tcp, segments),
                TotalLength = (ushort)total,
            }.WriteTo(slot);
        }

        PacketOffload offload = default;
        if (checksumPartial)
        {
            offload = new PacketOffload
            {
                Checksum = PacketChecksum.Partial,
                ChecksumStart = (ushort)ipHeaderLength,
                ChecksumOffset = 16,
                Segmentation = segmentSize == 0 ? PacketSegmentation.None : v6 ? PacketSegmentation.TcpV6 : PacketSegmentation.TcpV4,
                SegmentSize = (ushort)segmentSize,
                HeaderLength = (ushort)(ipHeaderLength + tcpHeaderLength),
            };
        }

        if (segmentSize > 0)
        {
            _counters.Increment(Counter.LinkSuperSegmentsSent);
        }

        Emit(slot[..total], loopback, v6 ? Counter.Ipv6Sent : Counter.Ipv4Sent, offload);
    }

    private Span<byte> NextSlot(Instant now)
    {
        if (_tx.IsFull)
        {
            Flush(now);
        }

        return _tx.NextFree;
    }

    private void Emit(ReadOnlySpan<byte> packet, bool loopback, Counter sent, in PacketOffload offload = default)
    {
        _counters.Increment(sent);
        if (loopback)
        {
            // Built in the next free slot but not committed: the slot is reused.
            if (!_loopback.TryEnqueue(packet))
            {
                _counters.Increment(Counter.OutputLoopbackQueueFull);
            }

            return;
        }

        _tx.Commit(packet.Length, offload);
        _counters.Increment(Counter.LinkSent);
    }

    /// <summary>Hands queued packets to the link.</summary>
    public void Flush(Instant now)
    {
        if (_tx.Count > 0)
        {
            _link.Transmit(_tx, now);
            _tx.Clear();
        }
    }

    /// <summary>Moves looped-back packets into a batch for input.</summary>
    public int DrainLoopback(PacketBatch batch) => _loopback.DequeueInto(batch);
}
