// RFC 8200: validation of received IPv6 packets, the extension-header chain and its verdicts,
// and fragments (RFC 8200 4.5, RFC 7112, RFC 6946) before delivery.
using System.Buffers.Binary;
using TunStack.Wire;

namespace TunStack.Ip;

/// <summary>IPv6 input for one stack: validates each packet, walks its extension headers, reassembles fragments, and hands the rest to <see cref="IpLayer.Deliver"/>.</summary>
internal sealed class Ipv6Input
{
    private readonly IpLayer _ip;
    private readonly StackCounters _counters;
    private readonly AddressTable _addresses;
    private readonly byte[] _reassembled;

    /// <summary><paramref name="reassembled"/> receives each reassembled packet (65,535 bytes and the fixed header at least).</summary>
    public Ipv6Input(IpLayer ip, StackCounters counters, StackOptions options, TimerWheel timers, byte[] reassembled)
    {
        _ip = ip;
        _counters = counters;
        _addresses = ip.Addresses;
        _reassembled = reassembled;
        Reassembler = new Reassembler(counters, timers, options.ReassemblyTimeoutV6, options.ReassemblyMemoryLimit, options.ReassemblyMaxDatagrams, options.ReassemblyMaxFragments,
            (quote, now) => ip.Icmp.SendError(quote, isV6: true, Icmpv6Type.TimeExceeded, Icmpv6Type.CodeReassemblyTimeExceeded, 0));
    }

    public Reassembler Reassembler { get; }

    /// <summary>Handles one received IPv6 packet.</summary>
    public void Receive(ReadOnlySpan<byte> buffer)
    {
        _counters.Increment(Counter.Ipv6Received);
        if (!Ipv6Packet.TryCreate(buffer, out Ipv6Packet packet, out WireError error))
        {
            _counters.Increment(CounterFor(error));
            return;
        }

        InternetAddress source = InternetAddress.FromV6(packet.Source);
        InternetAddress destination = InternetAddress.FromV6(packet.Destination);

        // RFC 4291 2.7: multicast is never a source; ::1 never arrives from a link (RFC 4291 2.5.3).
        if (source.IsMulticast || source.IsLoopback)
        {
            _counters.Increment(Counter.Ipv6BadSource);
            return;
        }

        bool toGroup = destination.IsMulticast;
        if (!toGroup && !_ip.TerminatesForeign && !_addresses.IsLocal(destination))
        {
            _counters.Increment(Counter.Ipv6NotForUs);
            return;
        }

        ReadOnlySpan<byte> bytes = packet.Datagram;
        Ipv6Chain chain = Ipv6Chain.Walk(bytes, Ipv6Packet.HeaderLength, packet.NextHeader, 6);
        while (HandleChainVerdict(chain, bytes, source, destination, toGroup))
        {
            if (chain.UpperProtocol != IpProtocol.Fragment)
            {
                DeliverUpper(bytes, chain, source, destination, toGroup);
                return;
            }

            int length = ReceiveFragment(bytes, chain, source, destination, toGroup);
            if (length == 0)
            {
                return;
            }

            // RFC 8200 4.5: the reassembled packet (the first fragment's unfragmentable part, the
            // Fragment header gone) goes on from here like one that arrived whole, counted once as
            // received: its chain is walked again from the fixed header, and a Fragment header
            // inside it goes round once more.
            if (!Ipv6Packet.TryCreate(_reassembled.AsSpan(0, length), out packet, out error))
            {
                _counters.Increment(CounterFor(error));
                return;
            }

            bytes = packet.Datagram;
            chain = Ipv6Chain.Walk(bytes, Ipv6Packet.HeaderLength, packet.NextHeader, 6);
        }
    }

    private static Counter CounterFor(WireError error) => error == WireError.Truncated ? Counter.Ipv6Truncated : Counter.Ipv6BadLength;

    private bool HandleChainVerdict(in Ipv6Chain chain, ReadOnlySpan<byte> bytes, InternetAddress source, InternetAddress destination, bool toGroup)
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
                    _ip.Icmp.SendErrorFor(bad, 0, Icmpv6Type.ParameterProblem, chain.ProblemCode, (uint)chain.ProblemPointer);
                }

                return false;
        }
    }

    // A packet whose chain stopped at a Fragment header. Returns the length of the reassembled
    // packet now in the reassembly buffer, or 0 when there is nothing to go on with (an atomic
    // fragment was delivered, a fragment was kept for later, or one was dropped).
    private int ReceiveFragment(ReadOnlySpan<byte> bytes, Ipv6Chain chain, InternetAddress source, InternetAddress destination, bool toGroup)
    {
        int at = chain.UpperOffset;
        if (!Ipv6FragmentHeader.TryParse(bytes[at..], out Ipv6FragmentHeader fragment))
        {
            _counters.Increment(Counter.Ipv6BadExtensionHeader);
            return 0;
        }

        ReadOnlySpan<byte> data = bytes[(at + Ipv6FragmentHeader.Length)..];
        if (fragment.FragmentOffset == 0 && !fragment.MoreFragments)
        {
            // RFC 6946: an atomic fragment is processed as a whole packet, outside reassembly.
            _counters.Increment(Counter.Ipv6AtomicFragments);
            Ipv6Chain rest = Ipv6Chain.Walk(bytes, at + Ipv6FragmentHeader.Length, fragment.NextHeader, at);
            if (HandleChainVerdict(rest, bytes, source, destination, toGroup))
            {
                DeliverUpper(bytes, rest, source, destination, toGroup);
            }

            return 0;
        }

        _ip.ForgetInputOffload();
        _counters.Increment(Counter.Ipv6FragmentsReceived);
        var asReceived = new IpDatagram(bytes, data, source, destination, IpProtocol.Fragment, toGroup);

        // RFC 8200 4.5: a non-final fragment whose length is not a multiple of 8 draws a Parameter
        // Problem pointing at Payload Length; one that would pass 65,535 bytes points at its offset.
        if (fragment.MoreFragments && data.Length % 8 != 0)
        {
            _counters.Increment(Counter.ReassemblyBadFragment);
            // RFC 8200 4.5 requires this error for any fragment, so it is not suppressed as a later fragment.
            _ip.Icmp.SendErrorFor(asReceived, 0, Icmpv6Type.ParameterProblem, Icmpv6Type.CodeErroneousHeader, 4);
            return 0;
        }

        if (fragment.FragmentOffset + data.Length > 65535)
        {
            _counters.Increment(Counter.ReassemblyOversize);
            _ip.Icmp.SendErrorFor(asReceived, 0, Icmpv6Type.ParameterProblem, Icmpv6Type.CodeErroneousHeader, (uint)(at + 2));
            return 0;
        }

        if (fragment.FragmentOffset == 0 && !HasWholeHeaderChain(bytes, at, fragment.NextHeader))
        {
            // RFC 7112 5 / RFC 8200 4.5: the first fragment must hold every header up to and
            // including the upper-layer header.
            _counters.Increment(Counter.Ipv6IncompleteHeaderChain);
            _ip.Icmp.SendErrorFor(asReceived, 0, Icmpv6Type.ParameterProblem, Icmpv6Type.CodeIncompleteHeaderChain, 0);
            return 0;
        }

        var key = new FragmentKey(source, destination, fragment.Identification, 0);
        ReassemblyOutcome outcome = Reassembler.Add(key, bytes[..at], fragment.FragmentOffset, fragment.MoreFragments, data,
            chain.NextHeaderFieldOffset, fragment.NextHeader, _ip.Now, _reassembled, out int length, out _);
        if (outcome != ReassemblyOutcome.Complete)
        {
            return 0;
        }

        BinaryPrimitives.WriteUInt16BigEndian(_reassembled.AsSpan(4), (ushort)(length - Ipv6Packet.HeaderLength));
        _counters.Increment(Counter.Ipv6Reassembled);
        return length;
    }

    private static bool HasWholeHeaderChain(ReadOnlySpan<byte> bytes, int fragmentHeaderOffset, byte nextHeader)
    {
        Ipv6Chain inFragment = Ipv6Chain.Walk(bytes, fragmentHeaderOffset + Ipv6FragmentHeader.Length, nextHeader, fragmentHeaderOffset);
        // A chain longer than the walk's bound cannot be shown whole either (the walk stops before
        // any upper-layer header): such a first fragment used to pass, and waited in reassembly for
        // a packet the stack would drop for its headers anyway.
        if (inFragment.Verdict is Ipv6ChainVerdict.Malformed or Ipv6ChainVerdict.TooManyHeaders)
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

    private void DeliverUpper(ReadOnlySpan<byte> bytes, in Ipv6Chain chain, InternetAddress source, InternetAddress destination, bool toGroup)
    {
        // RFC 8200 4.7: No Next Header means there is nothing to deliver.
        if (chain.UpperProtocol == IpProtocol.NoNextHeader)
        {
            _counters.Increment(Counter.Ipv6NoNextHeader);
            return;
        }

        var datagram = new IpDatagram(bytes, bytes[chain.UpperOffset..], source, destination, chain.UpperProtocol, toGroup);
        _ip.Deliver(datagram, chain.UpperProtocol, chain.NextHeaderFieldOffset);
    }
}
