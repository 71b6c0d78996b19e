// RFC 791 and RFC 1122 3.2.1 (IPv4), RFC 8200 (IPv6): validation of received packets, delivery
// to transports, reassembly, and output with routing and fragmentation.
using System.Buffers.Binary;
using TunStack.Links;
using TunStack.Storage;
using TunStack.Wire;

namespace TunStack.Ip;

/// <summary>The stack's IP layer for both families. Owned by one <see cref="NetworkStack"/>.</summary>
internal sealed class IpLayer
{
    private const int MaxPacket = 65535 + Ipv6Packet.HeaderLength;

    private readonly StackCounters _counters;
    private readonly StackOptions _options;
    private readonly ILink _link;
    private readonly PacketBatch _tx;
    private readonly PacketQueue _loopback;
    private readonly Reassembler _reassemblerV4;
    private readonly Reassembler _reassemblerV6;
    private readonly byte[] _reassembled = new byte[MaxPacket];
    private readonly List<IpPrefix> _addresses = new();
    private ushort _nextIdV4;
    private uint _nextIdV6;
    private Instant _now;

    public IpLayer(StackCounters counters, StackOptions options, ILink link, TimerWheel timers, Random random)
    {
        _counters = counters;
        _options = options;
        _link = link;
        _tx = new PacketBatch(options.BatchSize, link.Mtu);
        _loopback = new PacketQueue(256, link.Mtu);
        _nextIdV4 = (ushort)random.Next();
        _nextIdV6 = (uint)random.Next();
        Icmp = new IcmpLayer(this, counters, options);
        _reassemblerV4 = new Reassembler(counters, timers, options.ReassemblyTimeoutV4, options.ReassemblyMemoryLimit, options.ReassemblyMaxDatagrams, options.ReassemblyMaxFragments,
            (quote, now) => Icmp.SendError(quote, isV6: false, Icmpv4Type.TimeExceeded, Icmpv4Type.CodeReassemblyTimeExceeded, 0));
        _reassemblerV6 = new Reassembler(counters, timers, options.ReassemblyTimeoutV6, options.ReassemblyMemoryLimit, options.ReassemblyMaxDatagrams, options.ReassemblyMaxFragments,
            (quote, now) => Icmp.SendError(quote, isV6: true, Icmpv6Type.TimeExceeded, Icmpv6Type.CodeReassemblyTimeExceeded, 0));
        foreach (IpPrefix address in options.Addresses)
        {
            _addresses.Add(address);
        }

        foreach (Route route in options.Routes)
        {
            Routes.Add(route);
        }

        if (options.Routes.Count == 0)
        {
            AddDefaultRoutes();
        }
    }

    public IcmpLayer Icmp { get; }

    public ITransportHandler? Udp { get; set; }

    public ITransportHandler? Tcp { get; set; }

    public RouteTable Routes { get; } = new();

    public IReadOnlyList<IpPrefix> Addresses => _addresses;

    public int Mtu => _link.Mtu;

    public Instant Now => _now;

    public Reassembler ReassemblerV4 => _reassemblerV4;

    public Reassembler ReassemblerV6 => _reassemblerV6;

    public void SetTime(Instant now) => _now = now;

    public void AddAddress(IpPrefix address)
    {
        if (!_addresses.Contains(address))
        {
            _addresses.Add(address);
        }
    }

    public bool RemoveAddress(IpPrefix address) => _addresses.Remove(address);

    private void AddDefaultRoutes()
    {
        bool v4 = false, v6 = false;
        foreach (IpPrefix a in _addresses)
        {
            Routes.Add(new Route(new IpPrefix(a.Address, a.Length)));
            v4 |= a.Address.IsV4;
            v6 |= a.Address.IsV6;
        }

        if (v4)
        {
            Routes.Add(new Route(new IpPrefix(IpAddress.AnyV4, 0)));
        }

        if (v6)
        {
            Routes.Add(new Route(new IpPrefix(IpAddress.AnyV6, 0)));
        }
    }

    /// <summary>True when <paramref name="address"/> is one of the stack's unicast addresses.</summary>
    public bool IsLocal(IpAddress address)
    {
        foreach (IpPrefix a in _addresses)
        {
            if (a.Address == address)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>255.255.255.255 or the directed broadcast of one of our IPv4 prefixes (RFC 1122 3.2.1.3).</summary>
    public bool IsBroadcastV4(IpAddress address)
    {
        if (address.IsLimitedBroadcast)
        {
            return true;
        }

        foreach (IpPrefix a in _addresses)
        {
            if (a.Address.IsV4 && a.Length < 31 && a.DirectedBroadcast == address)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Chooses the source address for a destination: the address whose prefix contains the
    /// gateway or the destination, else the first of the family (RFC 6724 reduced to one link).
    /// </summary>
    public StackError SelectSource(IpAddress destination, out IpAddress source)
    {
        source = default;
        Route? route = Routes.Lookup(destination);
        if (route is null && !IsLocal(destination))
        {
            _counters.Increment(Counter.OutputNoRoute);
            return StackError.NetworkUnreachable;
        }

        if (IsLocal(destination))
        {
            source = destination;
            return StackError.None;
        }

        IpAddress nextHop = route!.Gateway ?? destination;
        bool found = false;
        foreach (IpPrefix a in _addresses)
        {
            if (a.Address.IsV6 != destination.IsV6)
            {
                continue;
            }

            if (a.Contains(nextHop))
            {
                source = a.Address;
                return StackError.None;
            }

            if (!found && !(destination.IsV6 && a.Address.IsLinkLocalV6 && !destination.IsLinkLocalV6))
            {
                source = a.Address;
                found = true;
            }
        }

        if (!found)
        {
            _counters.Increment(Counter.OutputNoSource);
            return StackError.AddressNotAvailable;
        }

        return StackError.None;
    }

    /// <summary>Handles one packet from the link or the loopback queue.</summary>
    public void Input(ReadOnlySpan<byte> packet)
    {
        if (packet.Length == 0)
        {
            _counters.Increment(Counter.LinkUnknownVersion);
            return;
        }

        switch (packet[0] >> 4)
        {
            case 4:
                InputV4(packet);
                break;
            case 6:
                InputV6(packet);
                break;
            default:
                _counters.Increment(Counter.LinkUnknownVersion);
                break;
        }
    }

    private void InputV4(ReadOnlySpan<byte> buffer)
    {
        _counters.Increment(Counter.Ipv4Received);
        if (!Ipv4Packet.TryCreate(buffer, out Ipv4Packet packet, out WireError error))
        {
            _counters.Increment(error switch
            {
                WireError.Truncated => Counter.Ipv4Truncated,
                WireError.BadHeaderLength => Counter.Ipv4BadHeaderLength,
                _ => Counter.Ipv4BadLength,
            });
            return;
        }

        // RFC 1122 3.2.1.2: a datagram whose header checksum fails is silently discarded.
        if (!packet.IsChecksumValid)
        {
            _counters.Increment(Counter.Ipv4BadChecksum);
            return;
        }

        IpAddress source = IpAddress.FromV4(packet.Source);
        IpAddress destination = IpAddress.FromV4(packet.Destination);

        // RFC 1122 3.2.1.3: discard datagrams whose source is not a unique host address
        // (broadcast, multicast, 0.0.0.0, 127/8 arriving from outside, a directed broadcast).
        if (source.IsMulticast || source.IsUnspecified || source.IsLoopback || IsBroadcastV4(source))
        {
            _counters.Increment(Counter.Ipv4BadSource);
            return;
        }

        bool toGroup = IsBroadcastV4(destination) || destination.IsMulticast;
        if (!toGroup && !IsLocal(destination))
        {
            _counters.Increment(Counter.Ipv4NotForUs);
            return;
        }

        // RFC 1122 3.2.1.8: options are validated; unknown options are ignored, malformed ones draw
        // a Parameter Problem pointing at the offending octet (RFC 792).
        if (!packet.TryValidateOptions(out int pointer))
        {
            _counters.Increment(Counter.Ipv4BadOptions);
            var bad = new IpDatagram(packet.Datagram, packet.Payload, source, destination, packet.Protocol, toGroup);
            Icmp.SendErrorFor(bad, packet.FragmentOffset, Icmpv4Type.ParameterProblem, 0, (uint)pointer << 24);
            return;
        }

        if (packet.IsFragment)
        {
            _counters.Increment(Counter.Ipv4FragmentsReceived);
            var key = new FragmentKey(source, destination, packet.Identification, packet.Protocol);
            ReassemblyOutcome outcome = _reassemblerV4.Add(key, packet.Header, packet.FragmentOffset, packet.MoreFragments, packet.Payload,
                -1, 0, _now, _reassembled, out int length, out int headerLength);
            if (outcome != ReassemblyOutcome.Complete)
            {
                return;
            }

            // The reassembled datagram carries the first fragment's header with length, flags and
            // checksum rewritten; it is then processed like any unfragmented datagram.
            Span<byte> whole = _reassembled.AsSpan(0, length);
            BinaryPrimitives.WriteUInt16BigEndian(whole[2..], (ushort)length);
            BinaryPrimitives.WriteUInt16BigEndian(whole[6..], 0);
            whole[10] = 0;
            whole[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(whole[10..], InternetChecksum.Compute(whole[..headerLength]));
            _counters.Increment(Counter.Ipv4Reassembled);
            _counters.Add(Counter.Ipv4Received, -1);
            InputV4(whole);
            return;
        }

        var datagram = new IpDatagram(packet.Datagram, packet.Payload, source, destination, packet.Protocol, toGroup);
        Deliver(datagram, packet.Protocol, 0);
    }

    private void InputV6(ReadOnlySpan<byte> buffer)
    {
        _counters.Increment(Counter.Ipv6Received);
        if (!Ipv6Packet.TryCreate(buffer, out Ipv6Packet packet, out WireError error))
        {
            _counters.Increment(error == WireError.Truncated ? Counter.Ipv6Truncated : Counter.Ipv6BadLength);
            return;
        }

        IpAddress source = IpAddress.FromV6(packet.Source);
        IpAddress destination = IpAddress.FromV6(packet.Destination);

        // RFC 4291 2.7: multicast is never a source; ::1 never arrives from a link (RFC 4291 2.5.3).
        if (source.IsMulticast || source.IsLoopback)
        {
            _counters.Increment(Counter.Ipv6BadSource);
            return;
        }

        bool toGroup = destination.IsMulticast;
        if (!toGroup && !IsLocal(destination))
        {
            _counters.Increment(Counter.Ipv6NotForUs);
            return;
        }

        ReadOnlySpan<byte> bytes = packet.Datagram;
        Ipv6Chain chain = Ipv6Chain.Walk(bytes, Ipv6Packet.HeaderLength, packet.NextHeader, 6);
        if (!HandleChainVerdict(chain, bytes, source, destination, toGroup))
        {
            return;
        }

        if (chain.UpperProtocol == IpProtocol.Fragment)
        {
            InputV6Fragment(bytes, chain, source, destination, toGroup);
            return;
        }

        DeliverV6(bytes, chain, source, destination, toGroup);
    }

    private bool HandleChainVerdict(in Ipv6Chain chain, ReadOnlySpan<byte> bytes, IpAddress source, IpAddress destination, bool toGroup)
    {
        switch (chain.Verdict)
        {
            case Ipv6ChainVerdict.Ok:
                return true;
            case Ipv6ChainVerdict.Malformed:
                _counters.Increment(Counter.Ipv6BadExtensionHeader);
                return false;
            case Ipv6ChainVerdict.TooManyHeaders:
                _counters.Increment(Counter.Ipv6TooManyExtensionHeaders);
                return false;
            case Ipv6ChainVerdict.DiscardSilently:
                _counters.Increment(Counter.Ipv6OptionDiscarded);
                return false;
            default:
                _counters.Increment(Counter.Ipv6ParameterProblem);
                // RFC 8200 4.2: action 11 reports only when the destination was not multicast;
                // RFC 4443 2.4(e.3): an unrecognized option with action 10 is reported even to multicast.
                bool allowGroup = chain.ProblemCode == Icmpv6Type.CodeUnrecognizedOption && !chain.ProblemOnlyIfUnicast;
                if (!(toGroup && chain.ProblemOnlyIfUnicast))
                {
                    var bad = new IpDatagram(bytes, ReadOnlySpan<byte>.Empty, source, destination, IpProtocol.NoNextHeader, toGroup && !allowGroup);
                    Icmp.SendErrorFor(bad, 0, Icmpv6Type.ParameterProblem, chain.ProblemCode, (uint)chain.ProblemPointer);
                }

                return false;
        }
    }

    private void InputV6Fragment(ReadOnlySpan<byte> bytes, Ipv6Chain chain, IpAddress source, IpAddress destination, bool toGroup)
    {
        int at = chain.UpperOffset;
        if (!Ipv6FragmentHeader.TryParse(bytes[at..], out Ipv6FragmentHeader fragment))
        {
            _counters.Increment(Counter.Ipv6BadExtensionHeader);
            return;
        }

        ReadOnlySpan<byte> data = bytes[(at + Ipv6FragmentHeader.Length)..];
        if (fragment.FragmentOffset == 0 && !fragment.MoreFragments)
        {
            // RFC 6946: an atomic fragment is processed as a whole packet, outside reassembly.
            _counters.Increment(Counter.Ipv6AtomicFragments);
            Ipv6Chain rest = Ipv6Chain.Walk(bytes, at + Ipv6FragmentHeader.Length, fragment.NextHeader, at);
            if (HandleChainVerdict(rest, bytes, source, destination, toGroup))
            {
                DeliverV6(bytes, rest, source, destination, toGroup);
            }

            return;
        }

        _counters.Increment(Counter.Ipv6FragmentsReceived);
        var asReceived = new IpDatagram(bytes, data, source, destination, IpProtocol.Fragment, toGroup);

        // RFC 8200 4.5: a non-final fragment whose length is not a multiple of 8 draws a Parameter
        // Problem pointing at Payload Length; one that would pass 65,535 bytes points at its offset.
        if (fragment.MoreFragments && data.Length % 8 != 0)
        {
            _counters.Increment(Counter.ReassemblyBadFragment);
            // RFC 8200 4.5 requires this error for any fragment, so it is not suppressed as a later fragment.
            Icmp.SendErrorFor(asReceived, 0, Icmpv6Type.ParameterProblem, Icmpv6Type.CodeErroneousHeader, 4);
            return;
        }

        if (fragment.FragmentOffset + data.Length > 65535)
        {
            _counters.Increment(Counter.ReassemblyOversize);
            Icmp.SendErrorFor(asReceived, 0, Icmpv6Type.ParameterProblem, Icmpv6Type.CodeErroneousHeader, (uint)(at + 2));
            return;
        }

        if (fragment.FragmentOffset == 0 && !HasWholeHeaderChain(bytes, at, fragment.NextHeader))
        {
            // RFC 7112 5 / RFC 8200 4.5: the first fragment must hold every header up to and
            // including the upper-layer header.
            _counters.Increment(Counter.Ipv6IncompleteHeaderChain);
            Icmp.SendErrorFor(asReceived, 0, Icmpv6Type.ParameterProblem, Icmpv6Type.CodeIncompleteHeaderChain, 0);
            return;
        }

        var key = new FragmentKey(source, destination, fragment.Identification, 0);
        ReassemblyOutcome outcome = _reassemblerV6.Add(key, bytes[..at], fragment.FragmentOffset, fragment.MoreFragments, data,
            chain.NextHeaderFieldOffset, fragment.NextHeader, _now, _reassembled, out int length, out _);
        if (outcome != ReassemblyOutcome.Complete)
        {
            return;
        }

        BinaryPrimitives.WriteUInt16BigEndian(_reassembled.AsSpan(4), (ushort)(length - Ipv6Packet.HeaderLength));
        _counters.Increment(Counter.Ipv6Reassembled);
        _counters.Add(Counter.Ipv6Received, -1);
        InputV6(_reassembled.AsSpan(0, length));
    }

    private static bool HasWholeHeaderChain(ReadOnlySpan<byte> bytes, int fragmentHeaderOffset, byte nextHeader)
    {
        Ipv6Chain inFragment = Ipv6Chain.Walk(bytes, fragmentHeaderOffset + Ipv6FragmentHeader.Length, nextHeader, fragmentHeaderOffset);
        if (inFragment.Verdict == Ipv6ChainVerdict.Malformed)
        {
            return false;
        }

        int needed = inFragment.UpperProtocol switch
        {
            IpProtocol.Tcp => TcpSegment.MinHeaderLength,
            IpProtocol.Udp => UdpDatagram.HeaderLength,
            IpProtocol.IcmpV6 => IcmpMessage.HeaderLength,
            _ => 0,
        };
        return inFragment.UpperOffset + needed <= bytes.Length;
    }

    private void DeliverV6(ReadOnlySpan<byte> bytes, in Ipv6Chain chain, IpAddress source, IpAddress destination, bool toGroup)
    {
        if (chain.UpperProtocol == IpProtocol.NoNextHeader)
        {
            _counters.Increment(Counter.Ipv6NoNextHeader);
            return;
        }

        var datagram = new IpDatagram(bytes, bytes[chain.UpperOffset..], source, destination, chain.UpperProtocol, toGroup);
        Deliver(datagram, chain.UpperProtocol, chain.NextHeaderFieldOffset);
    }

    private void Deliver(in IpDatagram datagram, byte protocol, int nextHeaderFieldOffset)
    {
        bool v6 = datagram.IsV6;
        ITransportHandler? handler = protocol switch
        {
            IpProtocol.Udp => Udp,
            IpProtocol.Tcp => Tcp,
            _ => null,
        };

        if (protocol == (v6 ? IpProtocol.IcmpV6 : IpProtocol.Icmp))
        {
            _counters.Increment(v6 ? Counter.Ipv6Delivered : Counter.Ipv4Delivered);
            Icmp.Receive(datagram);
            return;
        }

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

        _counters.Increment(v6 ? Counter.Ipv6Delivered : Counter.Ipv4Delivered);
        handler.Receive(datagram);
    }

    /// <summary>
    /// Sends a transport payload: routes it, adds the IP header and fragments it to the link MTU
    /// (IPv4 unless <paramref name="dontFragment"/>; IPv6 with a Fragment header, RFC 8200 4.5).
    /// Packets to one of the stack's own addresses loop back into its input.
    /// </summary>
    public StackError Output(IpAddress source, IpAddress destination, byte protocol, ReadOnlySpan<byte> payload, bool dontFragment = false)
    {
        bool loopback = IsLocal(destination);
        if (!loopback && Routes.Lookup(destination) is null)
        {
            _counters.Increment(Counter.OutputNoRoute);
            return StackError.NetworkUnreachable;
        }

        return destination.IsV6
            ? OutputV6(source, destination, protocol, payload, loopback)
            : OutputV4(source, destination, protocol, payload, dontFragment, loopback);
    }

    private StackError OutputV4(IpAddress source, IpAddress destination, byte protocol, ReadOnlySpan<byte> payload, bool dontFragment, bool loopback)
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
            Identification = _nextIdV4++,
        };

        if (Ipv4Packet.MinHeaderLength + payload.Length <= mtu)
        {
            Span<byte> slot = NextSlot();
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
            Span<byte> slot = NextSlot();
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

    private StackError OutputV6(IpAddress source, IpAddress destination, byte protocol, ReadOnlySpan<byte> payload, bool loopback)
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
            Span<byte> slot = NextSlot();
            header.PayloadLength = (ushort)payload.Length;
            header.WriteTo(slot, src, dst);
            payload.CopyTo(slot[Ipv6Packet.HeaderLength..]);
            Emit(slot[..(Ipv6Packet.HeaderLength + payload.Length)], loopback, Counter.Ipv6Sent);
            return StackError.None;
        }

        // RFC 8200 4.5: fragments carry the IPv6 header and a Fragment header; all but the last
        // fragment carry a multiple of 8 bytes. Identification from a per-stack counter.
        int chunk = (mtu - Ipv6Packet.HeaderLength - Ipv6FragmentHeader.Length) & ~7;
        var fragment = new Ipv6FragmentHeader { NextHeader = protocol, Identification = _nextIdV6++ };
        header.NextHeader = IpProtocol.Fragment;
        for (int offset = 0; offset < payload.Length; offset += chunk)
        {
            int length = Math.Min(chunk, payload.Length - offset);
            Span<byte> slot = NextSlot();
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

    private Span<byte> NextSlot()
    {
        if (_tx.IsFull)
        {
            Flush();
        }

        return _tx.NextFree;
    }

    private void Emit(ReadOnlySpan<byte> packet, bool loopback, Counter sent)
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

        _tx.Commit(packet.Length);
        _counters.Increment(Counter.LinkSent);
    }

    /// <summary>Hands queued packets to the link.</summary>
    public void Flush()
    {
        if (_tx.Count > 0)
        {
            _link.Transmit(_tx, _now);
            _tx.Clear();
        }
    }

    /// <summary>Moves looped-back packets into a batch for input.</summary>
    public int DrainLoopback(PacketBatch batch) => _loopback.DequeueInto(batch);

    public bool HasLoopbackPending => _loopback.Count > 0;
}
