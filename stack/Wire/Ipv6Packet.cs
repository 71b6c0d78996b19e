// RFC 8200: Internet Protocol, Version 6.
using System.Buffers.Binary;

namespace TunStack.Wire;

/// <summary>
/// A read-only view of an IPv6 packet: the 40-byte fixed header and what Payload Length covers.
/// Jumbograms (Payload Length 0, RFC 2675) are refused.
/// </summary>
internal readonly ref struct Ipv6Packet
{
    /// <summary>Length of the fixed header.</summary>
    public const int HeaderLength = 40;

    private readonly ReadOnlySpan<byte> _bytes;

    private Ipv6Packet(ReadOnlySpan<byte> bytes) => _bytes = bytes;

    /// <summary>Validates lengths and creates the view.</summary>
    public static bool TryCreate(ReadOnlySpan<byte> buffer, out Ipv6Packet packet, out WireError error)
    {
        packet = default;
        if (buffer.Length < HeaderLength)
        {
            error = WireError.Truncated;
            return false;
        }

        if (buffer[0] >> 4 != 6)
        {
            error = WireError.BadVersion;
            return false;
        }

        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(buffer[4..]);
        // RFC 8200 3: Payload Length counts everything after the fixed header. Zero with a
        // Hop-by-Hop header would be a jumbogram, which this stack does not support.
        if (HeaderLength + payloadLength > buffer.Length || (payloadLength == 0 && buffer[6] == IpProtocol.HopByHop))
        {
            error = WireError.BadLength;
            return false;
        }

        packet = new Ipv6Packet(buffer[..(HeaderLength + payloadLength)]);
        error = WireError.None;
        return true;
    }

    /// <summary>Creates the view, discarding the reason for a refusal.</summary>
    public static bool TryCreate(ReadOnlySpan<byte> buffer, out Ipv6Packet packet) => TryCreate(buffer, out packet, out _);

    /// <summary>The whole packet through the end of Payload Length.</summary>
    public ReadOnlySpan<byte> Datagram => _bytes;

    /// <summary>Traffic class.</summary>
    public byte TrafficClass => (byte)((BinaryPrimitives.ReadUInt16BigEndian(_bytes) >> 4) & 0xFF);

    /// <summary>Flow label (20 bits).</summary>
    public int FlowLabel => (int)(BinaryPrimitives.ReadUInt32BigEndian(_bytes) & 0xFFFFF);

    /// <summary>Payload Length.</summary>
    public int PayloadLength => _bytes.Length - HeaderLength;

    /// <summary>Next Header of the fixed header.</summary>
    public byte NextHeader => _bytes[6];

    /// <summary>Hop limit.</summary>
    public byte HopLimit => _bytes[7];

    /// <summary>Source address (16 bytes).</summary>
    public ReadOnlySpan<byte> Source => _bytes.Slice(8, 16);

    /// <summary>Destination address (16 bytes).</summary>
    public ReadOnlySpan<byte> Destination => _bytes.Slice(24, 16);

    /// <summary>Everything after the fixed header.</summary>
    public ReadOnlySpan<byte> Payload => _bytes[HeaderLength..];
}
