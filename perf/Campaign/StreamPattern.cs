using System.Buffers.Binary;

namespace TunStack.Perf.Campaign;

/// <summary>
/// The bytes of a campaign stream: byte k of stream s is a keyed function of (s, k), so a receiver
/// checks every byte as it arrives without keeping what was sent, and a byte delivered twice, out
/// of order or from another stream shows up as a mismatch.
/// </summary>
internal static class StreamPattern
{
    /// <summary>Byte <paramref name="offset"/> of stream <paramref name="stream"/>.</summary>
    public static byte At(ulong stream, long offset) => (byte)(Word(stream, offset >> 3) >> (int)((offset & 7) * 8));

    /// <summary>Fills <paramref name="destination"/> with the stream from <paramref name="offset"/> on.</summary>
    public static void Fill(Span<byte> destination, ulong stream, long offset)
    {
        int i = 0;
        for (; i < destination.Length && ((offset + i) & 7) != 0; i++)
        {
            destination[i] = At(stream, offset + i);
        }

        // Whole positions: the eight bytes of one position are its word, least significant first.
        for (; i + 8 <= destination.Length; i += 8)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(destination[i..], Word(stream, (offset + i) >> 3));
        }

        for (; i < destination.Length; i++)
        {
            destination[i] = At(stream, offset + i);
        }
    }

    /// <summary>The index of the first byte of <paramref name="data"/> (at <paramref name="offset"/>) that is not the stream's, or -1.</summary>
    public static int FirstMismatch(ReadOnlySpan<byte> data, ulong stream, long offset)
    {
        int i = 0;
        for (; i < data.Length && ((offset + i) & 7) != 0; i++)
        {
            if (data[i] != At(stream, offset + i))
            {
                return i;
            }
        }

        for (; i + 8 <= data.Length; i += 8)
        {
            if (BinaryPrimitives.ReadUInt64LittleEndian(data[i..]) != Word(stream, (offset + i) >> 3))
            {
                break; // the byte-wise loop below finds which of the eight
            }
        }

        for (; i < data.Length; i++)
        {
            if (data[i] != At(stream, offset + i))
            {
                return i;
            }
        }

        return -1;
    }

    // SplitMix64 of (stream, position): the eight bytes at offsets 8 * position to 8 * position + 7.
    private static ulong Word(ulong stream, long position)
    {
        ulong x = (stream * 0x9E3779B97F4A7C15UL) ^ (ulong)position * 0xBF58476D1CE4E5B9UL;
        x ^= x >> 30;
        x *= 0xBF58476D1CE4E5B9UL;
        x ^= x >> 27;
        x *= 0x94D049BB133111EBUL;
        x ^= x >> 31;
        return x;
    }
}
