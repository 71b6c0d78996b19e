// SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): the keyed
// function Linux uses for RFC 6528 initial sequence numbers and for SYN cookies.
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace TunStack.Tcp;

/// <summary>SipHash-2-4 with a 128-bit key: two compression rounds per 8-byte word, four to finish.</summary>
internal readonly struct SipHash
{
    private readonly ulong _k0;
    private readonly ulong _k1;

    /// <summary>A key of 16 bytes, read as two little-endian words as the paper does.</summary>
    public SipHash(ReadOnlySpan<byte> key)
    {
        if (key.Length != 16)
        {
            throw new ArgumentException("a SipHash key is 16 bytes", nameof(key));
        }

        _k0 = BinaryPrimitives.ReadUInt64LittleEndian(key);
        _k1 = BinaryPrimitives.ReadUInt64LittleEndian(key[8..]);
    }

    /// <summary>The 64-bit SipHash-2-4 of <paramref name="message"/>.</summary>
    public ulong Compute(ReadOnlySpan<byte> message)
    {
        // The four state words start as the key XOR "somepseudorandomlygeneratedbytes".
        ulong v0 = _k0 ^ 0x736f6d6570736575UL;
        ulong v1 = _k1 ^ 0x646f72616e646f6dUL;
        ulong v2 = _k0 ^ 0x6c7967656e657261UL;
        ulong v3 = _k1 ^ 0x7465646279746573UL;

        int whole = message.Length & ~7;
        for (int i = 0; i < whole; i += 8)
        {
            ulong m = BinaryPrimitives.ReadUInt64LittleEndian(message[i..]);
            v3 ^= m;
            Round(ref v0, ref v1, ref v2, ref v3);
            Round(ref v0, ref v1, ref v2, ref v3);
            v0 ^= m;
        }

        // The last word: the 0-7 bytes left over, with the message length mod 256 in its top byte.
        ulong last = (ulong)message.Length << 56;
        ReadOnlySpan<byte> tail = message[whole..];
        for (int i = 0; i < tail.Length; i++)
        {
            last |= (ulong)tail[i] << (8 * i);
        }

        v3 ^= last;
        Round(ref v0, ref v1, ref v2, ref v3);
        Round(ref v0, ref v1, ref v2, ref v3);
        v0 ^= last;

        v2 ^= 0xff;
        Round(ref v0, ref v1, ref v2, ref v3);
        Round(ref v0, ref v1, ref v2, ref v3);
        Round(ref v0, ref v1, ref v2, ref v3);
        Round(ref v0, ref v1, ref v2, ref v3);
        return v0 ^ v1 ^ v2 ^ v3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Round(ref ulong v0, ref ulong v1, ref ulong v2, ref ulong v3)
    {
        v0 += v1;
        v1 = BitOperations.RotateLeft(v1, 13);
        v1 ^= v0;
        v0 = BitOperations.RotateLeft(v0, 32);
        v2 += v3;
        v3 = BitOperations.RotateLeft(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = BitOperations.RotateLeft(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = BitOperations.RotateLeft(v1, 17);
        v1 ^= v2;
        v2 = BitOperations.RotateLeft(v2, 32);
    }
}
