// RFC 9293: Transmission Control Protocol, the segment as received (its options: TcpOptions).
using System.Buffers.Binary;

namespace TunStack.Wire;

/// <summary>A read-only view of a TCP segment; the data offset is checked against the buffer.</summary>
internal readonly ref struct TcpSegment
{
    /// <summary>Length of a header without options.</summary>
    public const int MinHeaderLength = 20;

    /// <summary>The largest TCP header: 15 words (RFC 9293 3.1, Data Offset).</summary>
    public const int MaxHeaderLength = 60;

    private readonly ReadOnlySpan<byte> _bytes;

    private TcpSegment(ReadOnlySpan<byte> bytes) => _bytes = bytes;

    /// <summary>Validates lengths and creates the view.</summary>
    public static bool TryCreate(ReadOnlySpan<byte> buffer, out TcpSegment segment, out WireError error)
    {
        segment = default;
        if (buffer.Length < MinHeaderLength)
        {
            error = WireError.Truncated;
            return false;
        }

        int headerLength = (buffer[12] >> 4) * 4;
        // RFC 9293 3.1: Data Offset is at least 5 words and the header cannot outrun the segment.
        if (headerLength < MinHeaderLength || headerLength > buffer.Length)
        {
            error = WireError.BadHeaderLength;
            return false;
        }

        segment = new TcpSegment(buffer);
        error = WireError.None;
        return true;
    }

    /// <summary>Creates the view, discarding the reason for a refusal.</summary>
    public static bool TryCreate(ReadOnlySpan<byte> buffer, out TcpSegment segment) => TryCreate(buffer, out segment, out _);

    /// <summary>Header and data.</summary>
    public ReadOnlySpan<byte> Segment => _bytes;

    /// <summary>Source port.</summary>
    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(_bytes);

    /// <summary>Destination port.</summary>
    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(_bytes[2..]);

    /// <summary>Sequence number.</summary>
    public SeqNumber SequenceNumber => new(BinaryPrimitives.ReadUInt32BigEndian(_bytes[4..]));

    /// <summary>Acknowledgment number.</summary>
    public SeqNumber AcknowledgmentNumber => new(BinaryPrimitives.ReadUInt32BigEndian(_bytes[8..]));

    /// <summary>Header length in bytes.</summary>
    public int HeaderLength => (_bytes[12] >> 4) * 4;

    /// <summary>Control bits.</summary>
    public TcpFlags Flags => (TcpFlags)_bytes[13];

    /// <summary>Window (unscaled).</summary>
    public ushort Window => BinaryPrimitives.ReadUInt16BigEndian(_bytes[14..]);

    /// <summary>Checksum as carried.</summary>
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_bytes[16..]);

    /// <summary>Urgent pointer.</summary>
    public ushort UrgentPointer => BinaryPrimitives.ReadUInt16BigEndian(_bytes[18..]);

    /// <summary>The options area.</summary>
    public ReadOnlySpan<byte> Options => _bytes[MinHeaderLength..HeaderLength];

    /// <summary>The data.</summary>
    public ReadOnlySpan<byte> Payload => _bytes[HeaderLength..];

    /// <summary>Sequence space consumed: data length plus one for SYN and one for FIN (RFC 9293 3.4).</summary>
    public int SegmentLength => Payload.Length + ((Flags & TcpFlags.Syn) != 0 ? 1 : 0) + ((Flags & TcpFlags.Fin) != 0 ? 1 : 0);

    /// <summary>True when the checksum verifies against the given pseudo-header sum.</summary>
    public bool IsChecksumValid(uint pseudoHeader) => InternetChecksum.IsValid(InternetChecksum.Add(pseudoHeader, _bytes));
}
