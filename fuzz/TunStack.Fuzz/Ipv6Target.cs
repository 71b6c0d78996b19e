// RFC 8200: received IPv6 packets, their extension-header chain and fragments.
using TunStack.Ip;
using TunStack.Wire;

namespace TunStack.Fuzz;

/// <summary>
/// The IPv6 parser and input. The input is one control byte and a packet. The packet goes through
/// the view (<see cref="Ipv6Packet"/>), the extension-header walk (<see cref="Ipv6Chain"/>), the
/// Fragment header parser and the header writers, and then into a fresh stack's IPv6 input.
/// Unless the control byte says to keep it, the transport checksum is repaired first.
/// </summary>
internal static class Ipv6Target
{
    public const byte KeepTransportChecksum = 2;

    public static void Run(ReadOnlySpan<byte> input)
    {
        var reader = new FuzzInputReader(input);
        byte control = reader.Byte();
        byte[] packet = reader.Rest().ToArray();
        ChecksumRepair.Apply(packet, header: false, transport: (control & KeepTransportChecksum) == 0);
        CheckView(packet);
        StackUnderFuzz.DeliverToFreshStack(packet);
    }

    private static void CheckView(byte[] packet)
    {
        bool parsed = Ipv6Header.TryParse(packet, out Ipv6Header header);
        bool viewed = Ipv6Packet.TryCreate(packet, out Ipv6Packet view, out WireError error);
        if (!InvariantViolationException.CheckParsersAgree(viewed, error, parsed, "IPv6 packet"))
        {
            return;
        }

        ReadOnlySpan<byte> datagram = view.Datagram;
        InvariantViolationException.Check(datagram.Length == Ipv6Packet.HeaderLength + view.PayloadLength && datagram.Length <= packet.Length && view.Payload.Length == view.PayloadLength,
            "IPv6 payload length disagrees with the view");

        Ipv6Chain chain = Ipv6Chain.Walk(datagram, Ipv6Packet.HeaderLength, view.NextHeader, 6);
        InvariantViolationException.Check(chain.HeaderCount <= Ipv6Chain.MaxHeaders + 1, $"the chain walk went through {chain.HeaderCount} headers");
        switch (chain.Verdict)
        {
            case Ipv6ChainVerdict.Ok:
                // The walk stops inside the packet, and the Next Header field it names says the protocol it reports.
                InvariantViolationException.Check(chain.UpperOffset >= Ipv6Packet.HeaderLength && chain.UpperOffset <= datagram.Length, $"the chain walk stopped at offset {chain.UpperOffset} of {datagram.Length}");
                InvariantViolationException.Check(chain.NextHeaderFieldOffset < chain.UpperOffset && datagram[chain.NextHeaderFieldOffset] == chain.UpperProtocol,
                    $"the Next Header field at {chain.NextHeaderFieldOffset} does not name protocol {chain.UpperProtocol}");
                if (chain.UpperProtocol == IpProtocol.Fragment && Ipv6FragmentHeader.TryParse(datagram[chain.UpperOffset..], out Ipv6FragmentHeader fragment))
                {
                    var written = new byte[Ipv6FragmentHeader.Length];
                    fragment.WriteTo(written);
                    InvariantViolationException.Check(Ipv6FragmentHeader.TryParse(written, out Ipv6FragmentHeader again) && again == fragment, $"fragment header {fragment} written and read back as another");
                }

                break;
            case Ipv6ChainVerdict.ParameterProblem:
                // RFC 4443 3.4: the pointer names an octet of the packet.
                InvariantViolationException.Check(chain.ProblemPointer >= 0 && chain.ProblemPointer < datagram.Length, $"Parameter Problem pointer {chain.ProblemPointer} outside a {datagram.Length}-byte packet");
                break;
        }

        var rewritten = new byte[datagram.Length];
        header.WriteTo(rewritten, view.Source, view.Destination);
        view.Payload.CopyTo(rewritten.AsSpan(Ipv6Packet.HeaderLength));
        InvariantViolationException.Check(Ipv6Header.TryParse(rewritten, out Ipv6Header back) && back == header, $"IPv6 header {header} written and read back as another");
    }

    public static IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        InternetAddress peer = StackUnderFuzz.PeerV6, stack = StackUnderFuzz.StackV6;
        byte[] echo = PeerPackets.Icmp(peer, stack, Icmpv6Type.EchoRequest, 0, 0x00010001, "ping"u8);
        yield return ("echo-request", Control(PeerPackets.Ipv6(peer, stack, IpProtocol.IcmpV6, echo)));
        yield return ("udp-to-endpoint", Control(PeerPackets.Ipv6(peer, stack, IpProtocol.Udp, PeerPackets.Udp(peer, stack, 1234, StackUnderFuzz.UdpPort, "query"u8))));

        // RFC 8200 4.3 and 4.6: Hop-by-Hop (PadN) then Destination Options (an unknown option, action 00) before UDP.
        byte[] udp = PeerPackets.Udp(peer, stack, 1234, StackUnderFuzz.UdpPort, "x"u8);
        byte[] chained = [IpProtocol.DestinationOptions, 0, 1, 4, 0, 0, 0, 0, IpProtocol.Udp, 0, 0x1E, 4, 0, 0, 0, 0, .. udp];
        yield return ("hop-by-hop-destination-options", Control(PeerPackets.Ipv6(peer, stack, IpProtocol.HopByHop, chained)));
        // RFC 8200 4.4: a Routing header with Segments Left 0.
        byte[] routed = [IpProtocol.Udp, 0, 0, 0, 0, 0, 0, 0, .. udp];
        yield return ("routing-segments-left-zero", Control(PeerPackets.Ipv6(peer, stack, IpProtocol.Routing, routed)));
        yield return ("first-fragment", Control(PeerPackets.Ipv6(peer, stack, IpProtocol.Fragment, PeerPackets.Ipv6Fragment(IpProtocol.Udp, 0, true, 9, udp.Concat(new byte[7]).ToArray()))));
        yield return ("atomic-fragment", Control(PeerPackets.Ipv6(peer, stack, IpProtocol.Fragment, PeerPackets.Ipv6Fragment(IpProtocol.IcmpV6, 0, false, 10, echo))));
        yield return ("unknown-next-header", Control(PeerPackets.Ipv6(peer, stack, 253, "data"u8)));
        yield return ("router-solicitation-to-group", Control(PeerPackets.Ipv6(peer, InternetAddress.Parse("ff02::2"), IpProtocol.IcmpV6,
            PeerPackets.Icmp(peer, InternetAddress.Parse("ff02::2"), Icmpv6Type.RouterSolicitation, 0, 0, default))));
    }

    private static byte[] Control(byte[] packet) => [0, .. packet];
}
