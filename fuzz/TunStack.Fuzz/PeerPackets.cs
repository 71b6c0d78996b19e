using TunStack.Ip;
using TunStack.Wire;

namespace TunStack.Fuzz;

/// <summary>
/// Packets as a peer of the stack sends them, written with the stack's own header writers
/// (<see cref="Ipv4Header"/>, <see cref="Ipv6Header"/>, <see cref="TcpHeader"/>, <see cref="UdpHeader"/>,
/// <see cref="IcmpHeader"/>), checksums included. The seeds and the structured inputs of the
/// targets are built here.
/// </summary>
internal static class PeerPackets
{
    /// <summary>An IPv4 datagram (20-byte header) or an IPv6 packet (fixed header only) around <paramref name="payload"/>.</summary>
    public static byte[] Ip(InternetAddress source, InternetAddress destination, byte protocol, ReadOnlySpan<byte> payload, ushort identification = 1)
        => source.IsV6 ? Ipv6(source, destination, protocol, payload) : Ipv4(source, destination, protocol, payload, identification);

    public static byte[] Ipv4(InternetAddress source, InternetAddress destination, byte protocol, ReadOnlySpan<byte> payload,
        ushort identification = 1, bool moreFragments = false, int fragmentOffset = 0, ReadOnlySpan<byte> options = default)
    {
        int headerLength = Ipv4Packet.MinHeaderLength + options.Length;
        var packet = new byte[headerLength + payload.Length];
        new Ipv4Header
        {
            TotalLength = (ushort)packet.Length,
            Identification = identification,
            MoreFragments = moreFragments,
            FragmentOffset = fragmentOffset,
            TimeToLive = 64,
            Protocol = protocol,
            Source = source.V4,
            Destination = destination.V4,
        }.WriteTo(packet);
        if (!options.IsEmpty)
        {
            // The writer makes option-less headers: widen IHL and sum the header again.
            packet[0] = (byte)(0x40 | (headerLength / 4));
            options.CopyTo(packet.AsSpan(Ipv4Packet.MinHeaderLength));
            ChecksumRepair.Apply(packet, header: true, transport: false);
        }

        payload.CopyTo(packet.AsSpan(headerLength));
        return packet;
    }

    /// <summary>An IPv6 packet whose fixed header names <paramref name="nextHeader"/>; <paramref name="payload"/> holds any extension headers.</summary>
    public static byte[] Ipv6(InternetAddress source, InternetAddress destination, byte nextHeader, ReadOnlySpan<byte> payload)
    {
        var packet = new byte[Ipv6Packet.HeaderLength + payload.Length];
        Span<byte> s = stackalloc byte[16];
        Span<byte> d = stackalloc byte[16];
        source.WriteTo(s);
        destination.WriteTo(d);
        new Ipv6Header { PayloadLength = (ushort)payload.Length, NextHeader = nextHeader, HopLimit = 64 }.WriteTo(packet, s, d);
        payload.CopyTo(packet.AsSpan(Ipv6Packet.HeaderLength));
        return packet;
    }

    /// <summary>A TCP segment (header, options, data) with its checksum for the given addresses.</summary>
    public static byte[] TcpSegment(InternetAddress source, InternetAddress destination, in TcpHeader header, in TcpOptions options, ReadOnlySpan<byte> data)
    {
        Span<byte> optionBytes = stackalloc byte[64];
        int optionsLength = Math.Min(options.WriteTo(optionBytes), Wire.TcpSegment.MaxHeaderLength - Wire.TcpSegment.MinHeaderLength);
        return TcpSegment(source, destination, header, optionBytes[..optionsLength], data);
    }

    /// <summary>A TCP segment with raw option bytes (padded to a multiple of 4 with End of Option List).</summary>
    public static byte[] TcpSegment(InternetAddress source, InternetAddress destination, in TcpHeader header, ReadOnlySpan<byte> options, ReadOnlySpan<byte> data)
    {
        int optionsLength = Math.Min((options.Length + 3) & ~3, Wire.TcpSegment.MaxHeaderLength - Wire.TcpSegment.MinHeaderLength);
        var segment = new byte[Wire.TcpSegment.MinHeaderLength + optionsLength + data.Length];
        options[..Math.Min(options.Length, optionsLength)].CopyTo(segment.AsSpan(Wire.TcpSegment.MinHeaderLength));
        data.CopyTo(segment.AsSpan(Wire.TcpSegment.MinHeaderLength + optionsLength));
        header.WriteTo(segment, optionsLength, PseudoHeader.Sum(source, destination, IpProtocol.Tcp, segment.Length));
        return segment;
    }

    /// <summary>A UDP datagram (header and data) with its checksum.</summary>
    public static byte[] Udp(InternetAddress source, InternetAddress destination, ushort sourcePort, ushort destinationPort, ReadOnlySpan<byte> data)
    {
        var datagram = new byte[UdpDatagram.HeaderLength + data.Length];
        data.CopyTo(datagram.AsSpan(UdpDatagram.HeaderLength));
        new UdpHeader(sourcePort, destinationPort, (ushort)datagram.Length).WriteTo(datagram, PseudoHeader.Sum(source, destination, IpProtocol.Udp, datagram.Length));
        return datagram;
    }

    /// <summary>An ICMP or ICMPv6 message (by the family of <paramref name="source"/>) with its checksum.</summary>
    public static byte[] Icmp(InternetAddress source, InternetAddress destination, byte type, byte code, uint restOfHeader, ReadOnlySpan<byte> body)
    {
        var message = new byte[IcmpMessage.HeaderLength + body.Length];
        body.CopyTo(message.AsSpan(IcmpMessage.HeaderLength));
        uint pseudoHeader = source.IsV6 ? PseudoHeader.Sum(source, destination, IpProtocol.IcmpV6, message.Length) : 0;
        new IcmpHeader(type, code, restOfHeader).WriteTo(message, pseudoHeader);
        return message;
    }

    /// <summary>An IPv6 Fragment header followed by <paramref name="data"/>.</summary>
    public static byte[] Ipv6Fragment(byte nextHeader, int offset, bool more, uint identification, ReadOnlySpan<byte> data)
    {
        var body = new byte[Ipv6FragmentHeader.Length + data.Length];
        new Ipv6FragmentHeader { NextHeader = nextHeader, FragmentOffset = offset, MoreFragments = more, Identification = identification }.WriteTo(body);
        data.CopyTo(body.AsSpan(Ipv6FragmentHeader.Length));
        return body;
    }
}
