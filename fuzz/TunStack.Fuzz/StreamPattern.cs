namespace TunStack.Fuzz;

/// <summary>
/// The bytes a fuzzing peer sends on a connection: each is a function of its offset in the
/// stream, so what the application reads shows whether any byte came twice, out of order or from
/// the wrong place. The function has no short period, so a repeated run of bytes is caught too.
/// </summary>
internal static class StreamPattern
{
    /// <summary>The byte at stream offset <paramref name="offset"/> (0 is the first byte after the SYN).</summary>
    public static byte At(long offset) => (byte)(unchecked((ulong)offset * 0x9E3779B97F4A7C15UL) >> 56);

    /// <summary>
    /// Fills <paramref name="destination"/> with the stream from <paramref name="offset"/> on. Offsets
    /// wrap as sequence numbers do (RFC 9293 3.4): a segment that starts before the first byte
    /// (offset 2^32 - n) carries the stream's first bytes after its n-th.
    /// </summary>
    public static void Fill(Span<byte> destination, uint offset)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = At(unchecked(offset + (uint)i));
        }
    }
}
