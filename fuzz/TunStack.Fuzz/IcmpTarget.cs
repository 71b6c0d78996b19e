// RFC 792 and RFC 1122 3.2.2 (ICMPv4), RFC 4443 (ICMPv6): received messages.
using System.Buffers.Binary;
using TunStack.Ip;
using TunStack.Wire;

namespace TunStack.Fuzz;

/// <summary>
/// ICMPv4 and ICMPv6 input. The input is one control byte and an ICMP message, which the target
/// puts in an IP packet from the peer to a stack that has an established TCP connection, a
/// connected UDP endpoint and an echo endpoint (so that errors quoting them, and echo replies,
/// reach the code that acts on them). Echo replies the endpoint takes must carry the data sent.
/// </summary>
internal static class IcmpTarget
{
    public const byte V6 = 1, KeepChecksum = 2, ToGroup = 4;

    public static void Run(ReadOnlySpan<byte> input)
    {
        var reader = new FuzzInputReader(input);
        byte control = reader.Byte();
        byte[] message = reader.Rest().ToArray();
        bool v6 = (control & V6) != 0;
        (InternetAddress source, InternetAddress destination) = StackUnderFuzz.Addresses(v6, (control & ToGroup) != 0);

        bool parsed = IcmpHeader.TryParse(message, out IcmpHeader header);
        InvariantViolationException.Check(parsed == IcmpMessage.TryCreate(message, out _) && parsed == message.Length >= IcmpMessage.HeaderLength,
            "the ICMP header parser and view disagree on a message");
        if (parsed)
        {
            // What the parser read, the writer writes back.
            var written = (byte[])message.Clone();
            header.WriteTo(written, 0);
            InvariantViolationException.Check(IcmpHeader.TryParse(written, out IcmpHeader again) && again == header, $"ICMP header {header} written and read back as another");
        }

        byte[] packet = PeerPackets.Ip(source, destination, v6 ? IpProtocol.IcmpV6 : IpProtocol.Icmp, message);
        ChecksumRepair.Apply(packet, header: false, transport: (control & KeepChecksum) == 0);

        var stack = new StackUnderFuzz(shape: 0, establish: true);
        long repliesBefore = stack.Stack.Counters[Counter.IcmpEchoRepliesReceived] - stack.Stack.Counters[Counter.IcmpEchoNoEndpoint];
        stack.Deliver(packet);
        if (stack.Stack.Counters[Counter.IcmpEchoRepliesReceived] - stack.Stack.Counters[Counter.IcmpEchoNoEndpoint] > repliesBefore && stack.Echo.PendingReplies > 0)
        {
            var data = new byte[65536];
            InvariantViolationException.Check(stack.Echo.TryReceiveReply(data, out _, out _, out int length), "an echo reply was delivered but cannot be read");
            InvariantViolationException.Check(data.AsSpan(0, length).SequenceEqual(message.AsSpan(IcmpMessage.HeaderLength)), "the echo endpoint read other data than the reply carried");
        }

        stack.ConnectedUdp.TakePendingError();
        stack.Advance(TimeSpan.FromSeconds(2));
        stack.TearDown();
    }

    public static IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        InternetAddress peer4 = StackUnderFuzz.PeerV4, stack4 = StackUnderFuzz.StackV4, peer6 = StackUnderFuzz.PeerV6, stack6 = StackUnderFuzz.StackV6;
        yield return ("v4-echo-request", [0, .. PeerPackets.Icmp(peer4, stack4, Icmpv4Type.EchoRequest, 0, 0x00070001, "ping"u8)]);
        yield return ("v4-echo-reply-to-endpoint", [0, .. PeerPackets.Icmp(peer4, stack4, Icmpv4Type.EchoReply, 0, ((uint)StackUnderFuzz.EchoIdentifier << 16) | 1, "pong"u8)]);
        yield return ("v6-echo-request", [V6, .. PeerPackets.Icmp(peer6, stack6, Icmpv6Type.EchoRequest, 0, 0x00070001, "ping"u8)]);

        // RFC 1191: Fragmentation Needed quoting the established connection's first data segment.
        byte[] tcpQuote = QuotedTcp(StackUnderFuzz.ListenPort, StackUnderFuzz.PeerPort, StackUnderFuzz.StackIss + 1);
        byte[] quoteV4 = PeerPackets.Ipv4(stack4, peer4, IpProtocol.Tcp, tcpQuote);
        yield return ("v4-fragmentation-needed-quoting-tcp", [0, .. PeerPackets.Icmp(peer4, stack4, Icmpv4Type.DestinationUnreachable, Icmpv4Type.CodeFragmentationNeeded, 576, quoteV4)]);
        yield return ("v4-port-unreachable-quoting-tcp", [0, .. PeerPackets.Icmp(peer4, stack4, Icmpv4Type.DestinationUnreachable, Icmpv4Type.CodePortUnreachable, 0, quoteV4)]);
        byte[] udpQuote = PeerPackets.Ipv4(stack4, peer4, IpProtocol.Udp, PeerPackets.Udp(stack4, peer4, StackUnderFuzz.ConnectedUdpPort, StackUnderFuzz.ConnectedUdpPort, "q"u8));
        yield return ("v4-port-unreachable-quoting-udp", [0, .. PeerPackets.Icmp(peer4, stack4, Icmpv4Type.DestinationUnreachable, Icmpv4Type.CodePortUnreachable, 0, udpQuote)]);

        // RFC 8201: Packet Too Big quoting a TCP segment over IPv6 (no connection there: the quote is walked and dispatched).
        byte[] quoteV6 = PeerPackets.Ipv6(stack6, peer6, IpProtocol.Tcp, QuotedTcp(StackUnderFuzz.ListenPort, StackUnderFuzz.PeerPort, 1));
        yield return ("v6-packet-too-big-quoting-tcp", [V6, .. PeerPackets.Icmp(peer6, stack6, Icmpv6Type.PacketTooBig, 0, 1280, quoteV6)]);
        yield return ("v6-neighbor-solicitation", [V6, .. PeerPackets.Icmp(peer6, stack6, Icmpv6Type.NeighborSolicitation, 0, 0, new byte[16])]);
    }

    // The first 8 bytes of a TCP header: the ports and the sequence number (RFC 792: what an error quotes).
    private static byte[] QuotedTcp(ushort sourcePort, ushort destinationPort, uint sequence)
    {
        var quote = new byte[8];
        BinaryPrimitives.WriteUInt16BigEndian(quote, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(quote.AsSpan(2), destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(quote.AsSpan(4), sequence);
        return quote;
    }
}
