// RFC 8200 3: the IPv6 fixed header.
using System.Buffers.Binary;

namespace TunStack.Wire;

/// <summary>An IPv6 fixed header as the stack writes it.</summary>
internal record struct Ipv6Header
{
    /// <summary>Traffic class.</summary>
    public byte TrafficClass;
    /// <summary>Flow label (20 bits).</summary>
    public int FlowLabel;
    /// <summary>Payload Length.</summary>
    public ushort PayloadLength;
    /// <summary>Next Header.</summary>
    public byte NextHeader;
    /// <summary>Hop limit.</summary>
    public byte HopLimit;

    /// <summary>Parses the fixed header of a validated packet.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out Ipv6Header header)
    {
        header = default;
        if (!Ipv6Packet.TryCreate(buffer, out Ipv6Packet p))
        {
            return false;
        }

        header = new Ipv6Header
        {
            TrafficClass = p.TrafficClass,
            FlowLabel = p.FlowLabel,
            PayloadLength = (ushort)p.PayloadLength,
            NextHeader = p.NextHeader,
            HopLimit = p.HopLimit,
        };
        return true;
    }

    /// <summary>Writes the 40-byte header; the caller supplies the addresses (16 bytes each).</summary>
    public readonly int WriteTo(Span<byte> destination, ReadOnlySpan<byte> source, ReadOnlySpan<byte> target)
    {
        Span<byte> h = destination[..Ipv6Packet.HeaderLength];
        BinaryPrimitives.WriteUInt32BigEndian(h, (6u << 28) | ((uint)TrafficClass << 20) | ((uint)FlowLabel & 0xFFFFF));
        BinaryPrimitives.WriteUInt16BigEndian(h[4..], PayloadLength);
        h[6] = NextHeader;
        h[7] = HopLimit;
        source[..16].CopyTo(h[8..]);
        target[..16].CopyTo(h[24..]);
        return Ipv6Packet.HeaderLength;
    }
}
