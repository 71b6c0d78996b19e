// RFC 791 and RFC 1122 3.2.1: validation of received IPv4 datagrams, and their reassembly
// (RFC 791 3.2, RFC 815) before delivery.
using System.Buffers.Binary;
using TunStack.Wire;

namespace TunStack.Ip;

/// <summary>IPv4 input for one stack: validates each datagram, reassembles fragments, and hands whole datagrams to <see cref="IpLayer.Deliver"/>.</summary>
internal sealed class Ipv4Input
{
    private readonly IpLayer _ip;
    private readonly StackCounters _counters;
    private readonly AddressTable _addresses;
    private readonly byte[] _reassembled;

    /// <summary><paramref name="reassembled"/> receives each reassembled datagram (65,535 bytes at least).</summary>
    public Ipv4Input(IpLayer ip, StackCounters counters, StackOptions options, TimerWheel timers, byte[] reassembled)
    {
        _ip = ip;
        _counters = counters;
        _addresses = ip.Addresses;
        _reassembled = reassembled;
        Reassembler = new Reassembler(counters, timers, options.ReassemblyTimeoutV4, options.ReassemblyMemoryLimit, options.ReassemblyMaxDatagrams, options.ReassemblyMaxFragments,
            (quote, now) => ip.Icmp.SendError(quote, isV6: false, Icmpv4Type.TimeExceeded, Icmpv4Type.CodeReassemblyTimeExceeded, 0));
    }

    public Reassembler Reassembler { get; }

    /// <summary>Handles one received IPv4 datagram.</summary>
    public void Receive(ReadOnlySpan<byte> buffer)
    {
        _counters.Increment(Counter.Ipv4Received);
        if (!Ipv4Packet.TryCreate(buffer, out Ipv4Packet packet, out WireError error))
        {
            _counters.Increment(CounterFor(error));
            return;
        }

        // RFC 1122 3.2.1.2: a datagram whose header checksum fails is silently discarded.
        if (!packet.IsChecksumValid)
        {
            _counters.Increment(Counter.Ipv4BadChecksum);
            return;
        }

        InternetAddress source = InternetAddress.FromV4(packet.Source);
        InternetAddress destination = InternetAddress.FromV4(packet.Destination);

        // RFC 1122 3.2.1.3: discard datagrams whose source is not a unique host address
        // (broadcast, multicast, 0.0.0.0, 127/8 arriving from outside, a directed broadcast).
        if (source.IsMulticast || source.IsUnspecified || source.IsLoopback || _addresses.IsBroadcastV4(source))
        {
            _counters.Increment(Counter.Ipv4BadSource);
            return;
        }

        bool toGroup = _addresses.IsBroadcastV4(destination) || destination.IsMulticast;
        if (!toGroup && !_ip.TerminatesForeign && !_addresses.IsLocal(destination))
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
            _ip.Icmp.SendErrorFor(bad, packet.FragmentOffset, Icmpv4Type.ParameterProblem, 0, (uint)pointer << 24);
            return;
        }

        if (packet.IsFragment)
        {
            _ip.ForgetInputOffload();
            _counters.Increment(Counter.Ipv4FragmentsReceived);
            var key = new FragmentKey(source, destination, packet.Identification, packet.Protocol);
            ReassemblyOutcome outcome = Reassembler.Add(key, packet.Header, packet.FragmentOffset, packet.MoreFragments, packet.Payload,
                -1, 0, _ip.Now, _reassembled, out int length, out int headerLength);
            if (outcome != ReassemblyOutcome.Complete)
            {
                return;
            }

            // RFC 791 3.2: the reassembled datagram carries the first fragment's header (its options
            // were validated when that fragment arrived) with length, flags and checksum rewritten;
            // it goes on from here like any unfragmented datagram, counted once as received.
            Span<byte> whole = _reassembled.AsSpan(0, length);
            BinaryPrimitives.WriteUInt16BigEndian(whole[2..], (ushort)length);
            BinaryPrimitives.WriteUInt16BigEndian(whole[6..], 0);
            whole[10] = 0;
            whole[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(whole[10..], InternetChecksum.Compute(whole[..headerLength]));
            _counters.Increment(Counter.Ipv4Reassembled);
            if (!Ipv4Packet.TryCreate(whole, out packet, out error))
            {
                _counters.Increment(CounterFor(error));
                return;
            }
        }

        var datagram = new IpDatagram(packet.Datagram, packet.Payload, source, destination, packet.Protocol, toGroup);
        _ip.Deliver(datagram, packet.Protocol, 0);
    }

    private static Counter CounterFor(WireError error) => error switch
    {
        WireError.Truncated => Counter.Ipv4Truncated,
        WireError.BadHeaderLength => Counter.Ipv4BadHeaderLength,
        _ => Counter.Ipv4BadLength,
    };
}
