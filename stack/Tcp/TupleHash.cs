// The keyed hash of a connection's 4-tuple that RFC 6528 ISNs and RFC 4987 SYN cookies are made of.
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace TunStack.Tcp;

/// <summary>HMAC-SHA256 with a per-stack secret key over a 4-tuple and a few 32-bit words.</summary>
internal sealed class TupleHash
{
    private readonly byte[] _key = new byte[32];

    public TupleHash(Random random) => random.NextBytes(_key);

    /// <summary>The first 32 bits of HMAC(key, local address, local port, remote address, remote port, words...), all in network order.</summary>
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

        Span<byte> hash = stackalloc byte[32];
        HMACSHA256.HashData(_key, input[..n], hash);
        return BinaryPrimitives.ReadUInt32BigEndian(hash);
    }
}
