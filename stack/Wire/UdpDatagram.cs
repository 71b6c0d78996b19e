// RFC 768: User Datagram Protocol.
using System.Buffers.Binary;

namespace TunStack.Wire;

/// <summary>A read-only view of a UDP datagram; the Length field is checked against the buffer.</summary>
internal readonly ref struct UdpDatagram
{
    /// <summary>Length of the header.</summary>
    public const int HeaderLength = 8;

    private readonly ReadOnlySpan<byte> _bytes;

    private UdpDatagram(ReadOnlySpan<byte> bytes) => _bytes = bytes;

    /// <summary>Validates lengths and creates the view.</summary>
    public static bool TryCreate(ReadOnlySpan<byte> buffer, out UdpDatagram datagram, out WireError error)
    {
        datagram = default;
        if (buffer.Length < HeaderLength)
        {
            error = WireError.Truncated;
            return false;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(buffer[4..]);
        // RFC 768: Length covers header and data, so it is at least 8; bytes past it are not the datagram's.
        if (length < HeaderLength || length > buffer.Length)
        {
            error = WireError.BadLength;
            return false;
        }

        datagram = new UdpDatagram(buffer[..length]);
        error = WireError.None;
        return true;
    }

    /// <summary>Creates the view, discarding the reason for a refusal.</summary>
    public static bool TryCreate(ReadOnlySpan<byte> buffer, out UdpDatagram datagram) => TryCreate(buffer, out datagram, out _);

    /// <summary>Header and data.</summary>
    public ReadOnlySpan<byte> Datagram => _bytes;

    /// <summary>Source port.</summary>
    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(_bytes);

    /// <summary>Destination port.</summary>
    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(_bytes[2..]);

    /// <summary>Length field.</summary>
    public int Length => _bytes.Length;

    /// <summary>Checksum as carried (0 = none, IPv4 only).</summary>
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_bytes[6..]);

    /// <summary>The data.</summary>
    public ReadOnlySpan<byte> Payload => _bytes[HeaderLength..];

    /// <summary>True when the checksum verifies against the given pseudo-header sum.</summary>
    public bool IsChecksumValid(uint pseudoHeader) => InternetChecksum.IsValid(InternetChecksum.Add(pseudoHeader, _bytes));
}
