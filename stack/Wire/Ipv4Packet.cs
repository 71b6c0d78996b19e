// RFC 791: Internet Protocol, version 4.
using System.Buffers.Binary;

namespace TunStack.Wire;

/// <summary>
/// A read-only view of an IPv4 datagram. <see cref="TryCreate(ReadOnlySpan{byte}, out Ipv4Packet, out WireError)"/>
/// checks version, IHL and total length against the buffer; afterwards no accessor throws.
/// Bytes past Total Length (link padding) are excluded from <see cref="Datagram"/>.
/// </summary>
internal readonly ref struct Ipv4Packet
{
    /// <summary>Length of a header without options.</summary>
    public const int MinHeaderLength = 20;

    private readonly ReadOnlySpan<byte> _bytes;

    private Ipv4Packet(ReadOnlySpan<byte> bytes) => _bytes = bytes;

    /// <summary>Validates lengths and creates the view.</summary>
    public static bool TryCreate(ReadOnlySpan<byte> buffer, out Ipv4Packet packet, out WireError error)
    {
        packet = default;
        if (buffer.Length < MinHeaderLength)
        {
            error = WireError.Truncated;
            return false;
        }

        if (buffer[0] >> 4 != 4)
        {
            error = WireError.BadVersion;
            return false;
        }

        int headerLength = (buffer[0] & 0x0F) * 4;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(buffer[2..]);
        // RFC 791 3.1: IHL is at least 5; RFC 1122 3.2.1.8: total length covers the header.
        if (headerLength < MinHeaderLength || headerLength > buffer.Length)
        {
            error = WireError.BadHeaderLength;
            return false;
        }

        if (totalLength < headerLength || totalLength > buffer.Length)
        {
            error = WireError.BadLength;
            return false;
        }

        packet = new Ipv4Packet(buffer[..totalLength]);
        error = WireError.None;
        return true;
    }

    /// <summary>Creates the view, discarding the reason for a refusal.</summary>
    public static bool TryCreate(ReadOnlySpan<byte> buffer, out Ipv4Packet packet) => TryCreate(buffer, out packet, out _);

    /// <summary>The datagram, header through the end of Total Length.</summary>
    public ReadOnlySpan<byte> Datagram => _bytes;

    /// <summary>Header length in bytes (IHL * 4).</summary>
    public int HeaderLength => (_bytes[0] & 0x0F) * 4;

    /// <summary>The header including options.</summary>
    public ReadOnlySpan<byte> Header => _bytes[..HeaderLength];

    /// <summary>The options area (possibly empty).</summary>
    public ReadOnlySpan<byte> Options => _bytes[MinHeaderLength..HeaderLength];

    /// <summary>The payload (fragment data when fragmented).</summary>
    public ReadOnlySpan<byte> Payload => _bytes[HeaderLength..];

    /// <summary>Type of service / DSCP+ECN byte.</summary>
    public byte TypeOfService => _bytes[1];

    /// <summary>Total Length.</summary>
    public int TotalLength => _bytes.Length;

    /// <summary>Identification.</summary>
    public ushort Identification => BinaryPrimitives.ReadUInt16BigEndian(_bytes[4..]);

    /// <summary>The DF flag.</summary>
    public bool DontFragment => (_bytes[6] & 0x40) != 0;

    /// <summary>The MF flag.</summary>
    public bool MoreFragments => (_bytes[6] & 0x20) != 0;

    /// <summary>The reserved flag bit, which must be zero (RFC 791 3.1).</summary>
    public bool ReservedFlag => (_bytes[6] & 0x80) != 0;

    /// <summary>Fragment offset in bytes.</summary>
    public int FragmentOffset => (BinaryPrimitives.ReadUInt16BigEndian(_bytes[6..]) & 0x1FFF) * 8;

    /// <summary>True when this datagram is a fragment (MF set or a nonzero offset).</summary>
    public bool IsFragment => MoreFragments || FragmentOffset != 0;

    /// <summary>Time to live.</summary>
    public byte TimeToLive => _bytes[8];

    /// <summary>Protocol.</summary>
    public byte Protocol => _bytes[9];

    /// <summary>Header checksum as carried.</summary>
    public ushort HeaderChecksum => BinaryPrimitives.ReadUInt16BigEndian(_bytes[10..]);

    /// <summary>Source address (4 bytes).</summary>
    public ReadOnlySpan<byte> Source => _bytes.Slice(12, 4);

    /// <summary>Destination address (4 bytes).</summary>
    public ReadOnlySpan<byte> Destination => _bytes.Slice(16, 4);

    /// <summary>RFC 1122 3.2.1.2: the header checksum verifies.</summary>
    public bool IsChecksumValid => InternetChecksum.IsValid(InternetChecksum.Add(0, Header));

    /// <summary>
    /// Walks the options (RFC 791 3.1): EOL ends the list, NOP is one byte, every other option has
    /// a length of at least 2 that stays inside the header. On failure <paramref name="pointer"/> is
    /// the header offset of the offending byte, for an ICMP Parameter Problem.
    /// </summary>
    public bool TryValidateOptions(out int pointer)
    {
        ReadOnlySpan<byte> options = Options;
        int i = 0;
        while (i < options.Length)
        {
            byte kind = options[i];
            if (kind == 0)
            {
                break;
            }

            if (kind == 1)
            {
                i++;
                continue;
            }

            if (i + 1 >= options.Length)
            {
                pointer = MinHeaderLength + i;
                return false;
            }

            int length = options[i + 1];
            if (length < 2 || i + length > options.Length)
            {
                pointer = MinHeaderLength + i + 1;
                return false;
            }

            i += length;
        }

        pointer = 0;
        return true;
    }
}
