using TunStack.Ip;
using TunStack.Wire;

namespace TunStack.Lab;

/// <summary>
/// The ICMP error a lab router sends about a packet it could not forward: an IPv4 packet with an
/// ICMP message quoting as much of the offending packet as fits in 576 bytes (RFC 1812 4.3.2.3),
/// or an IPv6 packet with an ICMPv6 message quoting as much as fits in 1280 (RFC 4443 2.4(c)).
/// </summary>
internal static class LabIcmpError
{
    private const byte HopLimit = 64;

    /// <summary>
    /// Whether an error may be sent about <paramref name="offending"/> at all (RFC 1812 4.3.2.7,
    /// RFC 4443 2.4(e)): never about an ICMP error, a packet to a multicast or broadcast address,
    /// a fragment other than the first, or from an address that is not one host's.
    /// </summary>
    public static bool MayAnswer(ReadOnlySpan<byte> offending)
    {
        bool v6 = offending[0] >> 4 == 6;
        InternetAddress source = v6 ? InternetAddress.FromV6(offending.Slice(8, 16)) : InternetAddress.FromV4(offending.Slice(12, 4));
        InternetAddress destination = v6 ? InternetAddress.FromV6(offending.Slice(24, 16)) : InternetAddress.FromV4(offending.Slice(16, 4));
        if (source.IsUnspecified || source.IsMulticast || source.IsLimitedBroadcast || destination.IsMulticast || destination.IsLimitedBroadcast)
        {
            return false;
        }

        int headerLength = v6 ? Ipv6Packet.HeaderLength : (offending[0] & 0xF) * 4;
        if (!v6 && FragmentOffset(offending) != 0)
        {
            return false;
        }

        return !IcmpLayer.IsAboutIcmpError(v6, v6 ? offending[6] : offending[9], offending[Math.Min(headerLength, offending.Length)..]);
    }

    /// <summary>An ICMPv4 error from <paramref name="from"/> to the source of <paramref name="offending"/>.</summary>
    public static LabPacket V4(InternetAddress from, ushort identification, ReadOnlySpan<byte> offending, byte type, byte code, uint rest)
    {
        int quoted = Math.Min(offending.Length, IcmpLayer.QuoteLimitV4 - Ipv4Packet.MinHeaderLength - IcmpMessage.HeaderLength);
        var packet = new LabPacket(Ipv4Packet.MinHeaderLength + IcmpMessage.HeaderLength + quoted);
        Span<byte> p = packet.Data;
        new Ipv4Header
        {
            TotalLength = (ushort)p.Length,
            Identification = identification,
            TimeToLive = HopLimit,
            Protocol = IpProtocol.Icmp,
            Source = from.V4,
            Destination = InternetAddress.FromV4(offending.Slice(12, 4)).V4,
        }.WriteTo(p);
        Span<byte> message = p[Ipv4Packet.MinHeaderLength..];
        offending[..quoted].CopyTo(message[IcmpMessage.HeaderLength..]);
        new IcmpHeader(type, code, rest).WriteTo(message, 0); // RFC 792: no pseudo-header
        return packet;
    }

    /// <summary>An ICMPv6 error from <paramref name="from"/> to the source of <paramref name="offending"/>.</summary>
    public static LabPacket V6(InternetAddress from, ReadOnlySpan<byte> offending, byte type, byte code, uint rest)
    {
        int quoted = Math.Min(offending.Length, IcmpLayer.QuoteLimitV6 - Ipv6Packet.HeaderLength - IcmpMessage.HeaderLength);
        var packet = new LabPacket(Ipv6Packet.HeaderLength + IcmpMessage.HeaderLength + quoted);
        Span<byte> p = packet.Data;
        Span<byte> source = stackalloc byte[16];
        from.WriteTo(source);
        ReadOnlySpan<byte> destination = offending.Slice(8, 16);
        new Ipv6Header
        {
            PayloadLength = (ushort)(IcmpMessage.HeaderLength + quoted),
            NextHeader = IpProtocol.IcmpV6,
            HopLimit = HopLimit,
        }.WriteTo(p, source, destination);
        Span<byte> message = p[Ipv6Packet.HeaderLength..];
        offending[..quoted].CopyTo(message[IcmpMessage.HeaderLength..]);
        // RFC 4443 2.3: the checksum covers a pseudo-header.
        new IcmpHeader(type, code, rest).WriteTo(message, PseudoHeader.Sum(from, InternetAddress.FromV6(destination), IpProtocol.IcmpV6, message.Length));
        return packet;
    }

    private static int FragmentOffset(ReadOnlySpan<byte> v4) => ((v4[6] << 8) | v4[7]) & 0x1FFF;
}
