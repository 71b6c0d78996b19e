using TunStack.Wire;

namespace TunStack.Ip;

/// <summary>The transport checksum pseudo-header for a pair of addresses of either family.</summary>
internal static class PseudoHeader
{
    /// <summary>
    /// RFC 768 / RFC 9293 3.1 (IPv4) or RFC 8200 8.1 (IPv6) pseudo-header sum for a transport
    /// message of <paramref name="length"/> bytes from <paramref name="source"/> to <paramref name="destination"/>.
    /// </summary>
    public static uint Sum(InternetAddress source, InternetAddress destination, byte protocol, int length)
    {
        Span<byte> s = stackalloc byte[16];
        Span<byte> d = stackalloc byte[16];
        int n = source.WriteTo(s);
        destination.WriteTo(d);
        return source.IsV6
            ? InternetChecksum.PseudoHeaderV6(s, d, protocol, length)
            : InternetChecksum.PseudoHeaderV4(s[..n], d[..n], protocol, length);
    }
}
