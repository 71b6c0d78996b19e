// RFC 9293: Transmission Control Protocol; options from RFC 9293 3.2 (MSS), RFC 7323 (window
// scale, timestamps) and RFC 2018 (SACK).
using System.Buffers.Binary;

namespace TunStack.Wire;

/// <summary>TCP control bits (RFC 9293 3.1, RFC 3168 for ECE/CWR).</summary>
[Flags]
public enum TcpFlags : byte
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>FIN.</summary>
    Fin = 0x01,
    /// <summary>SYN.</summary>
    Syn = 0x02,
    /// <summary>RST.</summary>
    Rst = 0x04,
    /// <summary>PSH.</summary>
    Psh = 0x08,
    /// <summary>ACK.</summary>
    Ack = 0x10,
    /// <summary>URG.</summary>
    Urg = 0x20,
    /// <summary>ECE.</summary>
    Ece = 0x40,
    /// <summary>CWR.</summary>
    Cwr = 0x80,
}

/// <summary>A read-only view of a TCP segment; the data offset is checked against the buffer.</summary>
public readonly ref struct TcpSegment
{
    /// <summary>Length of a header without options.</summary>
    public const int MinHeaderLength = 20;

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

/// <summary>A TCP header (without options) as the stack writes it.</summary>
public record struct TcpHeader
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
    public readonly void WriteTo(Span<byte> segment, int optionsLength, uint pseudoHeader)
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
        BinaryPrimitives.WriteUInt16BigEndian(segment[16..], InternetChecksum.Finish(InternetChecksum.Add(pseudoHeader, segment)));
    }
}

/// <summary>A SACK block (RFC 2018 3): left edge inclusive, right edge exclusive.</summary>
/// <param name="Left">First sequence number of the block.</param>
/// <param name="Right">Sequence number after the block.</param>
public readonly record struct SackBlock(SeqNumber Left, SeqNumber Right);

/// <summary>
/// The TCP options the stack understands, parsed from or written to an options area.
/// Unknown options are skipped by their length; a length of 0 or 1, or one that overruns the
/// header, ends the walk (the rest is ignored), so a hostile option list can never loop.
/// </summary>
public record struct TcpOptions
{
    /// <summary>Option kinds (IANA TCP Option Kind Numbers).</summary>
    public const byte KindEnd = 0, KindNop = 1, KindMss = 2, KindWindowScale = 3, KindSackPermitted = 4, KindSack = 5, KindTimestamps = 8;

    /// <summary>RFC 7323 2.3: shift counts above 14 are treated as 14.</summary>
    public const byte MaxWindowScale = 14;

    /// <summary>Maximum segment size, 0 when absent.</summary>
    public ushort Mss;
    /// <summary>Window scale shift, or -1 when absent.</summary>
    public sbyte WindowScale;
    /// <summary>SACK-permitted present.</summary>
    public bool SackPermitted;
    /// <summary>Timestamps present.</summary>
    public bool HasTimestamps;
    /// <summary>TSval.</summary>
    public uint TimestampValue;
    /// <summary>TSecr.</summary>
    public uint TimestampEcho;
    /// <summary>Number of SACK blocks (0..4).</summary>
    public int SackCount;
    private SackBlock _sack0, _sack1, _sack2, _sack3;

    /// <summary>Options with nothing present.</summary>
    public static TcpOptions None => new() { WindowScale = -1 };

    /// <summary>SACK block <paramref name="index"/> (0..<see cref="SackCount"/>-1).</summary>
    public readonly SackBlock GetSack(int index) => index switch
    {
        0 => _sack0,
        1 => _sack1,
        2 => _sack2,
        3 => _sack3,
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    /// <summary>Appends a SACK block (at most 4 are kept).</summary>
    public void AddSack(SackBlock block)
    {
        switch (SackCount)
        {
            case 0: _sack0 = block; break;
            case 1: _sack1 = block; break;
            case 2: _sack2 = block; break;
            case 3: _sack3 = block; break;
            default: return;
        }

        SackCount++;
    }

    /// <summary>Parses an options area. Never throws; malformed input ends the walk.</summary>
    public static TcpOptions Parse(ReadOnlySpan<byte> options)
    {
        TcpOptions result = None;
        int i = 0;
        while (i < options.Length)
        {
            byte kind = options[i];
            if (kind == KindEnd)
            {
                break;
            }

            if (kind == KindNop)
            {
                i++;
                continue;
            }

            if (i + 1 >= options.Length)
            {
                break;
            }

            int length = options[i + 1];
            if (length < 2 || i + length > options.Length)
            {
                break;
            }

            ReadOnlySpan<byte> value = options.Slice(i + 2, length - 2);
            switch (kind)
            {
                case KindMss when length == 4:
                    result.Mss = BinaryPrimitives.ReadUInt16BigEndian(value);
                    break;
                case KindWindowScale when length == 3:
                    result.WindowScale = (sbyte)Math.Min(value[0], MaxWindowScale);
                    break;
                case KindSackPermitted when length == 2:
                    result.SackPermitted = true;
                    break;
                case KindTimestamps when length == 10:
                    result.HasTimestamps = true;
                    result.TimestampValue = BinaryPrimitives.ReadUInt32BigEndian(value);
                    result.TimestampEcho = BinaryPrimitives.ReadUInt32BigEndian(value[4..]);
                    break;
                case KindSack when (length - 2) % 8 == 0:
                    for (int b = 0; b + 8 <= value.Length && result.SackCount < 4; b += 8)
                    {
                        result.AddSack(new SackBlock(
                            new SeqNumber(BinaryPrimitives.ReadUInt32BigEndian(value[b..])),
                            new SeqNumber(BinaryPrimitives.ReadUInt32BigEndian(value[(b + 4)..]))));
                    }

                    break;
            }

            i += length;
        }

        return result;
    }

    /// <summary>The bytes <see cref="WriteTo(Span{byte})"/> will write (a multiple of 4).</summary>
    public readonly int WrittenLength
    {
        get
        {
            int n = (Mss != 0 ? 4 : 0) + (WindowScale >= 0 ? 4 : 0) + (HasTimestamps ? 12 : 0);
            n += SackPermitted && !HasTimestamps ? 4 : 0;
            n += SackCount > 0 ? 4 + 8 * SackCount : 0;
            return n;
        }
    }

    /// <summary>
    /// Writes the options in the layout Linux uses (MSS; SACK-permitted folded into the NOP padding
    /// before timestamps; NOP+window scale; NOP NOP + SACK blocks), returning the length, a multiple of 4.
    /// </summary>
    public readonly int WriteTo(Span<byte> destination)
    {
        int i = 0;
        if (Mss != 0)
        {
            destination[i++] = KindMss;
            destination[i++] = 4;
            BinaryPrimitives.WriteUInt16BigEndian(destination[i..], Mss);
            i += 2;
        }

        if (HasTimestamps)
        {
            if (SackPermitted)
            {
                destination[i++] = KindSackPermitted;
                destination[i++] = 2;
            }
            else
            {
                destination[i++] = KindNop;
                destination[i++] = KindNop;
            }

            destination[i++] = KindTimestamps;
            destination[i++] = 10;
            BinaryPrimitives.WriteUInt32BigEndian(destination[i..], TimestampValue);
            BinaryPrimitives.WriteUInt32BigEndian(destination[(i + 4)..], TimestampEcho);
            i += 8;
        }
        else if (SackPermitted)
        {
            destination[i++] = KindNop;
            destination[i++] = KindNop;
            destination[i++] = KindSackPermitted;
            destination[i++] = 2;
        }

        if (WindowScale >= 0)
        {
            destination[i++] = KindNop;
            destination[i++] = KindWindowScale;
            destination[i++] = 3;
            destination[i++] = (byte)WindowScale;
        }

        if (SackCount > 0)
        {
            destination[i++] = KindNop;
            destination[i++] = KindNop;
            destination[i++] = KindSack;
            destination[i++] = (byte)(2 + 8 * SackCount);
            for (int b = 0; b < SackCount; b++)
            {
                SackBlock block = GetSack(b);
                BinaryPrimitives.WriteUInt32BigEndian(destination[i..], block.Left.Value);
                BinaryPrimitives.WriteUInt32BigEndian(destination[(i + 4)..], block.Right.Value);
                i += 8;
            }
        }

        return i;
    }
}
