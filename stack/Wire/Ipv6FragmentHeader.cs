using System.Buffers.Binary;

namespace TunStack.Wire;

/// <summary>An IPv6 Fragment header (RFC 8200 4.5), 8 bytes.</summary>
internal record struct Ipv6FragmentHeader
{
    /// <summary>Length of the header.</summary>
    public const int Length = 8;
    /// <summary>Next Header of the fragmented part.</summary>
    public byte NextHeader;
    /// <summary>Offset in bytes (a multiple of 8).</summary>
    public int FragmentOffset;
    /// <summary>M flag.</summary>
    public bool MoreFragments;
    /// <summary>Identification.</summary>
    public uint Identification;

    /// <summary>Parses 8 bytes.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out Ipv6FragmentHeader header)
    {
        header = default;
        if (buffer.Length < Length)
        {
            return false;
        }

        ushort offsetFlags = BinaryPrimitives.ReadUInt16BigEndian(buffer[2..]);
        header = new Ipv6FragmentHeader
        {
            NextHeader = buffer[0],
            FragmentOffset = offsetFlags & 0xFFF8,
            MoreFragments = (offsetFlags & 1) != 0,
            Identification = BinaryPrimitives.ReadUInt32BigEndian(buffer[4..]),
        };
        return true;
    }

    /// <summary>Writes 8 bytes.</summary>
    public readonly int WriteTo(Span<byte> destination)
    {
        destination[0] = NextHeader;
        destination[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)((FragmentOffset & 0xFFF8) | (MoreFragments ? 1 : 0)));
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], Identification);
        return Length;
    }
}
