// Wire/ owns the byte formats: ref-struct views over untrusted bytes (every length checked in
// TryCreate, no accessor throws afterwards) and small header records that write headers.
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TunStack.Wire;

/// <summary>
/// The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum of
/// 16-bit words. Partial sums are <see cref="uint"/> values in network-order word space; add them
/// with <see cref="Add(uint, ReadOnlySpan{byte})"/> and close with <see cref="Finish(uint)"/>.
/// </summary>
internal static class InternetChecksum
{
    /// <summary>Adds the words of <paramref name="data"/> to a partial sum. Pieces must start at even offsets of the covered data.</summary>
    public static uint Add(uint partial, ReadOnlySpan<byte> data)
    {
        // RFC 1071 2(B): the sum is byte-order independent, so sum native (little-endian) words
        // and swap the folded result once instead of swapping every word.
        ushort folded = Fold(SumNative(data));
        if (BitConverter.IsLittleEndian)
        {
            folded = BinaryPrimitives.ReverseEndianness(folded);
        }

        return partial + folded;
    }

    /// <summary>Adds one 16-bit word (host value) to a partial sum.</summary>
    public static uint AddWord(uint partial, ushort word) => partial + word;

    /// <summary>Folds a partial sum to 16 bits and complements it: the value to put on the wire.</summary>
    public static ushort Finish(uint partial) => (ushort)~Fold(partial);

    /// <summary>The checksum of one contiguous buffer.</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => Finish(Add(0, data));

    /// <summary>True when data that embeds its own checksum sums to all ones (RFC 1071 1(4)).</summary>
    public static bool IsValid(uint partialIncludingChecksum) => Fold(partialIncludingChecksum) == 0xFFFF;

    /// <summary>RFC 768 / RFC 793 IPv4 pseudo-header: source, destination, zero, protocol, length.</summary>
    public static uint PseudoHeaderV4(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, byte protocol, int length)
    {
        uint sum = Add(0, source[..4]);
        sum = Add(sum, destination[..4]);
        return sum + protocol + (uint)length;
    }

    /// <summary>RFC 8200 8.1 IPv6 pseudo-header: source, destination, upper-layer length, next header.</summary>
    public static uint PseudoHeaderV6(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, byte nextHeader, int length)
    {
        uint sum = Add(0, source[..16]);
        sum = Add(sum, destination[..16]);
        return sum + (uint)(length >> 16) + (uint)(length & 0xFFFF) + nextHeader;
    }

    /// <summary>
    /// RFC 1624 (3): updates a checksum when one 16-bit word changes from <paramref name="oldWord"/>
    /// to <paramref name="newWord"/>: HC' = ~(~HC + ~m + m').
    /// </summary>
    public static ushort Update(ushort checksum, ushort oldWord, ushort newWord)
    {
        uint sum = (uint)(ushort)~checksum + (ushort)~oldWord + newWord;
        return (ushort)~Fold(sum);
    }

    /// <summary>RFC 1624 (3) for a 32-bit field (for example an IPv4 address or a sequence number).</summary>
    public static ushort Update(ushort checksum, uint oldValue, uint newValue)
    {
        uint sum = (uint)(ushort)~checksum
            + (ushort)~(oldValue >> 16) + (ushort)~(oldValue & 0xFFFF)
            + (newValue >> 16) + (newValue & 0xFFFF);
        return (ushort)~Fold(sum);
    }

    /// <summary>Folds carries back into the low 16 bits (end-around carry).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Fold(ulong sum)
    {
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    /// <summary>
    /// The reference scalar loop (one big-endian word at a time), kept for tests and for the
    /// benchmark that reports the vectorized ratio against it.
    /// </summary>
    public static ushort ComputeScalar(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        int i = 0;
        for (; i + 1 < data.Length; i += 2)
        {
            sum += (uint)((data[i] << 8) | data[i + 1]);
            if ((sum & 0x8000_0000) != 0)
            {
                sum = (sum & 0xFFFF) + (sum >> 16);
            }
        }

        if (i < data.Length)
        {
            sum += (uint)(data[i] << 8);
        }

        return (ushort)~Fold(sum);
    }

    // Sums native-order 32-bit words into 64-bit lanes (no overflow below 2^32 words); a sum of
    // 32-bit words folds to the same 16-bit value as a sum of 16-bit words since 2^16 = 1 (mod 2^16-1).
    private static ulong SumNative(ReadOnlySpan<byte> data)
    {
        ref byte start = ref MemoryMarshal.GetReference(data);
        nuint length = (nuint)data.Length;
        nuint i = 0;
        ulong total = 0;

        if (Vector256.IsHardwareAccelerated && length >= 64)
        {
            Vector256<ulong> acc0 = Vector256<ulong>.Zero;
            Vector256<ulong> acc1 = Vector256<ulong>.Zero;
            for (; i + 64 <= length; i += 64)
            {
                Vector256<uint> a = Vector256.LoadUnsafe(ref start, i).AsUInt32();
                Vector256<uint> b = Vector256.LoadUnsafe(ref start, i + 32).AsUInt32();
                (Vector256<ulong> aLo, Vector256<ulong> aHi) = Vector256.Widen(a);
                (Vector256<ulong> bLo, Vector256<ulong> bHi) = Vector256.Widen(b);
                acc0 += aLo + aHi;
                acc1 += bLo + bHi;
            }

            total += Vector256.Sum(acc0 + acc1);
        }

        if (Vector128.IsHardwareAccelerated && length - i >= 16)
        {
            Vector128<ulong> acc = Vector128<ulong>.Zero;
            for (; i + 16 <= length; i += 16)
            {
                (Vector128<ulong> lo, Vector128<ulong> hi) = Vector128.Widen(Vector128.LoadUnsafe(ref start, i).AsUInt32());
                acc += lo + hi;
            }

            total += Vector128.Sum(acc);
        }

        for (; i + 8 <= length; i += 8)
        {
            ulong word = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i));
            total += (word & 0xFFFF_FFFF) + (word >> 32);
        }

        if (i + 4 <= length)
        {
            total += Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref start, i));
            i += 4;
        }

        if (i + 2 <= length)
        {
            total += Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref start, i));
            i += 2;
        }

        if (i < length)
        {
            // RFC 1071 4.1: an odd trailing byte is padded with a zero byte on the right.
            byte last = Unsafe.Add(ref start, i);
            total += BitConverter.IsLittleEndian ? last : (ulong)last << 8;
        }

        return total;
    }
}
