namespace TunStack.Perf.Campaign;

/// <summary>
/// The bytes of a campaign stream: byte k of stream s is a keyed function of (s, k), so a receiver
/// checks every byte as it arrives without keeping what was sent, and a byte delivered twice, out
/// of order or from another stream shows up as a mismatch.
/// </summary>
internal static class StreamPattern
{
    /// <summary>Byte <paramref name="offset"/> of stream <paramref name="stream"/>.</summary>
    public static byte At(ulong stream, long offset)
    {
        // SplitMix64 of (stream, offset / 8), one byte of the eight per position.
        ulong x = (stream * 0x9E3779B97F4A7C15UL) ^ (ulong)(offset >> 3) * 0xBF58476D1CE4E5B9UL;
        x ^= x >> 30;
        x *= 0xBF58476D1CE4E5B9UL;
        x ^= x >> 27;
        x *= 0x94D049BB133111EBUL;
        x ^= x >> 31;
        return (byte)(x >> (int)((offset & 7) * 8));
    }

    /// <summary>Fills <paramref name="destination"/> with the stream from <paramref name="offset"/> on.</summary>
    public static void Fill(Span<byte> destination, ulong stream, long offset)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = At(stream, offset + i);
        }
    }

    /// <summary>The index of the first byte of <paramref name="data"/> (at <paramref name="offset"/>) that is not the stream's, or -1.</summary>
    public static int FirstMismatch(ReadOnlySpan<byte> data, ulong stream, long offset)
    {
        for (int i = 0; i < data.Length; i++)
        {
            if (data[i] != At(stream, offset + i))
            {
                return i;
            }
        }

        return -1;
    }
}
