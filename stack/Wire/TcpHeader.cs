// RFC 9293 3.1: the TCP header format.
using System.Buffers.Binary;

namespace TunStack.Wire;

/// <summary>A TCP header (without options) as the stack writes it.</summary>
internal record struct TcpHeader
{
    /// <summary>Source port.</summary>
    public ushort SourcePort;
    /// <summary>Destination port.</summary>
    public ushort DestinationPort;
    /// <summary>Sequence number.</summary>
    public SeqNumber SequenceNumber;
    /// <summary>Acknowledgment number.</summary>
    public SeqNumber AcknowledgmentNumber;
    /// <summary>Control bits.</summary>
    public TcpFlags Flags;
    /// <summary>Window (already scaled down).</summary>
    public ushort Window;
    /// <summary>Urgent pointer.</summary>
    public ushort UrgentPointer;

    /// <summary>Parses the fixed header of a validated segment.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out TcpHeader header)
    {
        header = default;
        if (!TcpSegment.TryCreate(buffer, out TcpSegment s))
        {
            return false;
        }

        header = new TcpHeader
        {
            SourcePort = s.SourcePort,
            DestinationPort = s.DestinationPort,
            SequenceNumber = s.SequenceNumber,
            AcknowledgmentNumber = s.AcknowledgmentNumber,
            Flags = s.Flags,
            Window = s.Window,
            UrgentPointer = s.UrgentPointer,
        };
        return true;
    }

    /// <summary>
    /// Writes the header at the start of <paramref name="segment"/>, whose options (already written,
    /// <paramref name="optionsLength"/> bytes, a multiple of 4) and data follow, and fills the checksum.
    /// </summary>
    public readonly void WriteTo(Span<byte> segment, int optionsLength, uint pseudoHeader, bool partialChecksum = false)
    {
        BinaryPrimitives.WriteUInt16BigEndian(segment, SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(segment[2..], DestinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(segment[4..], SequenceNumber.Value);
        BinaryPrimitives.WriteUInt32BigEndian(segment[8..], AcknowledgmentNumber.Value);
        segment[12] = (byte)(((TcpSegment.MinHeaderLength + optionsLength) / 4) << 4);
        segment[13] = (byte)Flags;
        BinaryPrimitives.WriteUInt16BigEndian(segment[14..], Window);
        segment[16] = 0;
        segment[17] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(segment[18..], UrgentPointer);
        // virtio 1.2 5.1.6.2 (NEEDS_CSUM): a partial checksum is the folded pseudo-header sum, not
        // complemented; the link adds the sum of the segment from the TCP header on and complements.
        BinaryPrimitives.WriteUInt16BigEndian(segment[16..], partialChecksum
            ? InternetChecksum.Fold(pseudoHeader)
            : InternetChecksum.Finish(InternetChecksum.Add(pseudoHeader, segment)));
    }
}
