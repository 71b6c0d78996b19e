// RFC 768 (UDP), RFC 8200 8.1 (its checksum over IPv6): received datagrams.
using TunStack.Ip;
using TunStack.Wire;

namespace TunStack.Fuzz;

/// <summary>
/// UDP input. The input is one control byte and a UDP datagram (header and data), which the target
/// puts in an IPv4 or IPv6 packet from the peer to a stack with a dual-stack endpoint on port 53
/// and a connected one on port 5353. A datagram an endpoint takes must read back as it was sent.
/// </summary>
internal static class UdpTarget
{
    public const byte V6 = 1, KeepChecksum = 2, ToGroup = 4;

    public static void Run(ReadOnlySpan<byte> input)
    {
        var reader = new FuzzInputReader(input);
        byte control = reader.Byte();
        byte[] datagram = reader.Rest().ToArray();
        (InternetAddress source, InternetAddress destination) = StackUnderFuzz.Addresses((control & V6) != 0, (control & ToGroup) != 0);
        bool viewed = UdpDatagram.TryCreate(datagram, out UdpDatagram view, out WireError error);
        InvariantViolationException.CheckParsersAgree(viewed, error, UdpHeader.TryParse(datagram, out UdpHeader header), "UDP datagram");
        byte[] payload = viewed ? view.Payload.ToArray() : Array.Empty<byte>();
        if (viewed)
        {
            InvariantViolationException.Check(view.Length >= UdpDatagram.HeaderLength && view.Length <= datagram.Length && payload.Length == view.Length - UdpDatagram.HeaderLength,
                $"UDP length {view.Length} against a {datagram.Length}-byte buffer");
            var written = new byte[header.Length];
            payload.CopyTo(written, UdpDatagram.HeaderLength);
            header.WriteTo(written, PseudoHeader.Sum(source, destination, IpProtocol.Udp, written.Length));
            InvariantViolationException.Check(UdpHeader.TryParse(written, out UdpHeader again) && again == header, $"UDP header {header} written and read back as another");
        }

        byte[] packet = PeerPackets.Ip(source, destination, IpProtocol.Udp, datagram);
        ChecksumRepair.Apply(packet, header: false, transport: (control & KeepChecksum) == 0);

        var stack = new StackUnderFuzz(shape: 0, establish: false);
        stack.Deliver(packet);
        if (stack.Stack.Counters[Counter.UdpDelivered] > 0)
        {
            var read = new byte[65536];
            bool received = stack.Udp.TryReceiveFrom(read, out int copied, out int length, out InternetEndpoint from)
                || stack.ConnectedUdp.TryReceiveFrom(read, out copied, out length, out from);
            InvariantViolationException.Check(received, "a datagram was counted as delivered but no endpoint holds it");
            InvariantViolationException.Check(copied == length && read.AsSpan(0, copied).SequenceEqual(payload), "an endpoint read other data than the datagram carried");
            InvariantViolationException.Check(from.Address == source && from.Port == view.SourcePort, $"an endpoint read a datagram from {from}, sent from {source}:{view.SourcePort}");
        }

        stack.TearDown();
    }

    public static IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        InternetAddress peer4 = StackUnderFuzz.PeerV4, stack4 = StackUnderFuzz.StackV4, peer6 = StackUnderFuzz.PeerV6, stack6 = StackUnderFuzz.StackV6;
        yield return ("v4-to-endpoint", [0, .. PeerPackets.Udp(peer4, stack4, 1234, StackUnderFuzz.UdpPort, "query"u8)]);
        yield return ("v4-to-connected-endpoint", [0, .. PeerPackets.Udp(peer4, stack4, StackUnderFuzz.ConnectedUdpPort, StackUnderFuzz.ConnectedUdpPort, "answer"u8)]);
        yield return ("v4-no-port", [0, .. PeerPackets.Udp(peer4, stack4, 1234, 9, "nobody"u8)]);
        yield return ("v6-to-endpoint", [V6, .. PeerPackets.Udp(peer6, stack6, 1234, StackUnderFuzz.UdpPort, "query"u8)]);
        yield return ("v4-broadcast", [ToGroup, .. PeerPackets.Udp(peer4, InternetAddress.Parse("10.0.0.255"), 1234, StackUnderFuzz.UdpPort, "all"u8)]);
        yield return ("v4-empty", [0, .. PeerPackets.Udp(peer4, stack4, 1234, StackUnderFuzz.UdpPort, default)]);
    }
}
