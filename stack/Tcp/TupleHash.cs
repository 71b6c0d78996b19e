// The keyed hash of a connection's 4-tuple that RFC 6528 ISNs and RFC 4987 SYN cookies are made of.
using System.Buffers.Binary;

namespace TunStack.Tcp;

/// <summary>
/// SipHash-2-4 with a per-stack secret key over a 4-tuple and a few 32-bit words. RFC 6528 section 3
/// asks for a pseudorandom function of the 4-tuple and a secret; Linux uses SipHash for its ISNs and
/// cookies, and so do we (an HMAC-SHA256 through the platform's crypto library cost about 8 µs of a
/// connection's 40 µs of user time; this costs tens of nanoseconds).
/// </summary>
internal sealed class TupleHash
{
    private readonly SipHash _function;

    /// <summary>
    /// A key from the operating system's secure generator, or from <paramref name="seeded"/> when the
    /// stack runs from a seed (simulations and tests, where the same seed must give the same ISNs).
    /// </summary>
    public TupleHash(Random? seeded)
    {
        Span<byte> key = stackalloc byte[16];
        if (seeded is null)
        {
            System.Security.Cryptography.RandomNumberGenerator.Fill(key);
        }
        else
        {
            seeded.NextBytes(key);
        }

        _function = new SipHash(key);
    }

    /// <summary>The low 32 bits of SipHash(key, local address, local port, remote address, remote port, words...), all in network order.</summary>
    public uint Compute(TcpTuple tuple, ReadOnlySpan<uint> words)
    {
        Span<byte> input = stackalloc byte[36 + (4 * words.Length)];
        int n = tuple.Local.Address.WriteTo(input);
        BinaryPrimitives.WriteUInt16BigEndian(input[n..], tuple.Local.Port);
        n += 2;
        n += tuple.Remote.Address.WriteTo(input[n..]);
        BinaryPrimitives.WriteUInt16BigEndian(input[n..], tuple.Remote.Port);
        n += 2;
        foreach (uint word in words)
        {
            BinaryPrimitives.WriteUInt32BigEndian(input[n..], word);
            n += 4;
        }

        return (uint)_function.Compute(input[..n]);
    }
}
