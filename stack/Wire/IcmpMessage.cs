// RFC 792 (ICMP for IPv4) and RFC 4443 (ICMPv6): both share the 8-byte header layout
// type, code, checksum, 4 bytes of type-specific data.
using System.Buffers.Binary;

namespace TunStack.Wire;

/// <summary>A read-only view of an ICMP or ICMPv6 message (the layouts are the same).</summary>
internal readonly ref struct IcmpMessage
{
    /// <summary>Length of the header.</summary>
    public const int HeaderLength = 8;

    private readonly ReadOnlySpan<byte> _bytes;

    private IcmpMessage(ReadOnlySpan<byte> bytes) => _bytes = bytes;

    /// <summary>Checks that the 8-byte header is present.</summary>
    public static bool TryCreate(ReadOnlySpan<byte> buffer, out IcmpMessage message)
    {
        message = buffer.Length < HeaderLength ? default : new IcmpMessage(buffer);
        return buffer.Length >= HeaderLength;
    }

    /// <summary>The whole message.</summary>
    public ReadOnlySpan<byte> Message => _bytes;

    /// <summary>Type.</summary>
    public byte Type => _bytes[0];

    /// <summary>Code.</summary>
    public byte Code => _bytes[1];

    /// <summary>Checksum as carried.</summary>
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_bytes[2..]);

    /// <summary>The 4 type-specific bytes as one big-endian value.</summary>
    public uint RestOfHeader => BinaryPrimitives.ReadUInt32BigEndian(_bytes[4..]);

    /// <summary>Echo identifier (echo request/reply).</summary>
    public ushort Identifier => BinaryPrimitives.ReadUInt16BigEndian(_bytes[4..]);

    /// <summary>Echo sequence number (echo request/reply).</summary>
    public ushort SequenceNumber => BinaryPrimitives.ReadUInt16BigEndian(_bytes[6..]);

    /// <summary>Everything after the 8-byte header (echo data, or the quoted datagram of an error).</summary>
    public ReadOnlySpan<byte> Body => _bytes[HeaderLength..];

    /// <summary>RFC 792: the checksum covers the ICMP message (IPv4, no pseudo-header).</summary>
    public bool IsChecksumValidV4 => InternetChecksum.IsValid(InternetChecksum.Add(0, _bytes));

    /// <summary>RFC 4443 2.3: the checksum covers the IPv6 pseudo-header and the message.</summary>
    public bool IsChecksumValidV6(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination)
        => InternetChecksum.IsValid(InternetChecksum.Add(InternetChecksum.PseudoHeaderV6(source, destination, IpProtocol.IcmpV6, _bytes.Length), _bytes));
}
