// RFC 791 and RFC 1122 3.2.1: received IPv4 datagrams, options included.
using TunStack.Ip;
using TunStack.Wire;

namespace TunStack.Fuzz;

/// <summary>
/// The IPv4 parser and input. The input is one control byte and a datagram. The datagram goes
/// through the view (<see cref="Ipv4Packet"/>, its options walk, <see cref="Ipv4Header"/> and its
/// writer, which must give back what they read) and then into a fresh stack's IPv4 input. Unless
/// the control byte says to keep them, the header and transport checksums are repaired first, so
/// that mutations reach the code behind the checksum tests.
/// </summary>
internal static class Ipv4Target
{
    public const byte KeepHeaderChecksum = 1, KeepTransportChecksum = 2;

    public static void Run(ReadOnlySpan<byte> input)
    {
        var reader = new FuzzInputReader(input);
        byte control = reader.Byte();
        byte[] packet = reader.Rest().ToArray();
        ChecksumRepair.Apply(packet, header: (control & KeepHeaderChecksum) == 0, transport: (control & KeepTransportChecksum) == 0);
        CheckView(packet);
        StackUnderFuzz.DeliverToFreshStack(packet);
    }

    private static void CheckView(byte[] packet)
    {
        bool parsed = Ipv4Header.TryParse(packet, out Ipv4Header header);
        bool viewed = Ipv4Packet.TryCreate(packet, out Ipv4Packet view, out WireError error);
        if (!InvariantViolationException.CheckParsersAgree(viewed, error, parsed, "IPv4 datagram"))
        {
            return;
        }

        InvariantViolationException.Check(view.HeaderLength >= Ipv4Packet.MinHeaderLength && view.HeaderLength <= view.TotalLength && view.TotalLength <= packet.Length,
            $"IPv4 lengths out of order: header {view.HeaderLength}, total {view.TotalLength}, buffer {packet.Length}");
        InvariantViolationException.Check(view.Header.Length + view.Payload.Length == view.TotalLength && view.Options.Length == view.HeaderLength - Ipv4Packet.MinHeaderLength,
            "IPv4 header, options and payload do not add up to the total length");
        if (!view.TryValidateOptions(out int pointer))
        {
            // RFC 792: the Parameter Problem pointer names an octet of the options.
            InvariantViolationException.Check(pointer >= Ipv4Packet.MinHeaderLength && pointer < view.HeaderLength, $"IPv4 option problem pointer {pointer} outside the options");
        }

        InvariantViolationException.Check(view.FragmentOffset is >= 0 and <= 65528 && view.FragmentOffset % 8 == 0, $"IPv4 fragment offset {view.FragmentOffset}");
        _ = view.IsChecksumValid;
        _ = view.ReservedFlag;

        // What the parser read, the writer writes back the same (options aside: the writer makes none).
        if (header.OptionsLength == 0)
        {
            var written = new byte[header.TotalLength];
            header.WriteTo(written);
            view.Payload.CopyTo(written.AsSpan(Ipv4Packet.MinHeaderLength));
            InvariantViolationException.Check(Ipv4Header.TryParse(written, out Ipv4Header again) && again == header, $"IPv4 header {header} written and read back as another");
            InvariantViolationException.Check(Ipv4Packet.TryCreate(written, out Ipv4Packet rewritten) && rewritten.IsChecksumValid, "the IPv4 header writer wrote a bad checksum");
        }
    }

    public static IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        InternetAddress peer = StackUnderFuzz.PeerV4, stack = StackUnderFuzz.StackV4;
        yield return ("echo-request", Control(PeerPackets.Ipv4(peer, stack, IpProtocol.Icmp, PeerPackets.Icmp(peer, stack, Icmpv4Type.EchoRequest, 0, 0x00010001, "ping"u8))));
        yield return ("udp-to-endpoint", Control(PeerPackets.Ipv4(peer, stack, IpProtocol.Udp, PeerPackets.Udp(peer, stack, 1234, StackUnderFuzz.UdpPort, "query"u8))));
        // RFC 791 3.1 options: NOP, a record route with room for one address, End of Option List.
        byte[] recordRoute = { 1, 7, 7, 4, 0, 0, 0, 0, 0, 0, 0, 0 };
        yield return ("options-record-route", Control(PeerPackets.Ipv4(peer, stack, IpProtocol.Udp, PeerPackets.Udp(peer, stack, 1234, StackUnderFuzz.UdpPort, "x"u8), options: recordRoute)));
        byte[] badOption = { 68, 1, 0, 0 };
        yield return ("options-bad-length", Control(PeerPackets.Ipv4(peer, stack, IpProtocol.Udp, PeerPackets.Udp(peer, stack, 1234, StackUnderFuzz.UdpPort, "x"u8), options: badOption)));
        yield return ("first-fragment", Control(PeerPackets.Ipv4(peer, stack, IpProtocol.Udp, new byte[16], identification: 7, moreFragments: true)));
        yield return ("unknown-protocol", Control(PeerPackets.Ipv4(peer, stack, 253, "data"u8)));
        yield return ("to-broadcast", Control(PeerPackets.Ipv4(peer, InternetAddress.Parse("10.0.0.255"), IpProtocol.Udp, PeerPackets.Udp(peer, InternetAddress.Parse("10.0.0.255"), 1234, StackUnderFuzz.UdpPort, "b"u8))));
    }

    private static byte[] Control(byte[] packet) => [0, .. packet];
}
