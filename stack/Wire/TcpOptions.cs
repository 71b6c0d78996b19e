// TCP options: MSS (RFC 9293 3.2), window scale and timestamps (RFC 7323), SACK (RFC 2018).
using System.Buffers.Binary;

namespace TunStack.Wire;

/// <summary>
/// The TCP options the stack understands, parsed from or written to an options area.
/// Unknown options are skipped by their length; a length of 0 or 1, or one that overruns the
/// header, ends the walk (the rest is ignored), so a hostile option list can never loop.
/// </summary>
internal record struct TcpOptions
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
