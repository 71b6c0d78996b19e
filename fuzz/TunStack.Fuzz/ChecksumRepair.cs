using System.Buffers.Binary;
using TunStack.Ip;
using TunStack.Wire;

namespace TunStack.Fuzz;

/// <summary>
/// Rewrites the checksums of a packet that a fuzzer mutated, so that the input gets past the
/// checksum tests (which a mutation almost never satisfies by chance) to the code behind them.
/// Only what the stack's own views accept is repaired: the IPv4 header checksum, and the TCP,
/// UDP or ICMP checksum of an unfragmented packet, over the same bytes the stack verifies.
/// </summary>
internal static class ChecksumRepair
{
    /// <summary>Repairs the IP header checksum and/or the transport checksum in place.</summary>
    public static void Apply(Span<byte> packet, bool header, bool transport)
    {
        if (packet.IsEmpty)
        {
            return;
        }

        if (packet[0] >> 4 == 4)
        {
            RepairV4(packet, header, transport);
        }
        else if (packet[0] >> 4 == 6 && transport)
        {
            RepairV6(packet);
        }
    }

    private static void RepairV4(Span<byte> packet, bool header, bool transport)
    {
        int headerLength = (packet[0] & 0x0F) * 4;
        if (packet.Length < Ipv4Packet.MinHeaderLength || headerLength < Ipv4Packet.MinHeaderLength || headerLength > packet.Length)
        {
            return;
        }

        if (header)
        {
            // RFC 791 3.1: the checksum field is zero while the header's sum is taken.
            packet[10] = 0;
            packet[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(packet[10..], InternetChecksum.Compute(packet[..headerLength]));
        }

        if (!transport || !Ipv4Packet.TryCreate(packet, out Ipv4Packet view) || view.IsFragment)
        {
            return;
        }

        int totalLength = view.TotalLength;
        InternetAddress source = InternetAddress.FromV4(view.Source);
        InternetAddress destination = InternetAddress.FromV4(view.Destination);
        RepairTransport(packet[headerLength..totalLength], view.Protocol, source, destination, isV6: false);
    }

    private static void RepairV6(Span<byte> packet)
    {
        if (!Ipv6Packet.TryCreate(packet, out Ipv6Packet view))
        {
            return;
        }

        Ipv6Chain chain = Ipv6Chain.Walk(view.Datagram, Ipv6Packet.HeaderLength, view.NextHeader, 6);
        if (chain.Verdict != Ipv6ChainVerdict.Ok)
        {
            return;
        }

        InternetAddress source = InternetAddress.FromV6(view.Source);
        InternetAddress destination = InternetAddress.FromV6(view.Destination);
        RepairTransport(packet[chain.UpperOffset..view.Datagram.Length], chain.UpperProtocol, source, destination, isV6: true);
    }

    // The checksum field of each transport, computed as the stack's receivers check it.
    private static void RepairTransport(Span<byte> transport, byte protocol, InternetAddress source, InternetAddress destination, bool isV6)
    {
        switch (protocol)
        {
            case IpProtocol.Tcp when transport.Length >= TcpSegment.MinHeaderLength:
                Fill(transport, 16, PseudoHeader.Sum(source, destination, IpProtocol.Tcp, transport.Length));
                break;
            case IpProtocol.Udp when transport.Length >= UdpDatagram.HeaderLength:
                int length = BinaryPrimitives.ReadUInt16BigEndian(transport[4..]);
                if (length >= UdpDatagram.HeaderLength && length <= transport.Length)
                {
                    Fill(transport[..length], 6, PseudoHeader.Sum(source, destination, IpProtocol.Udp, length));
                }

                break;
            case IpProtocol.Icmp when !isV6 && transport.Length >= IcmpMessage.HeaderLength:
                Fill(transport, 2, 0);
                break;
            case IpProtocol.IcmpV6 when isV6 && transport.Length >= IcmpMessage.HeaderLength:
                Fill(transport, 2, PseudoHeader.Sum(source, destination, IpProtocol.IcmpV6, transport.Length));
                break;
        }
    }

    private static void Fill(Span<byte> covered, int field, uint pseudoHeader)
    {
        covered[field] = 0;
        covered[field + 1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(covered[field..], InternetChecksum.Finish(InternetChecksum.Add(pseudoHeader, covered)));
    }
}
