using System.Buffers.Binary;
using TunStack.Tcp;

namespace TunStack.Ip;

/// <summary>
/// IPv4 Identification and IPv6 fragment Identification values, per destination rather than from one
/// counter (RFC 7739 4.3, the algorithm Linux's ip_idents follows): a keyed hash of source,
/// destination and protocol picks one of 2,048 counters and an offset; the value is that counter
/// plus the offset. Anyone can still see the IDs of their own flows advance, but no longer the
/// traffic the stack sends to others (a global counter makes a host an idle-scan "zombie", RFC 6274 3.5).
/// </summary>
internal sealed class IpIdentifiers
{
    private const int Buckets = 2048;
    private readonly ushort[] _v4 = new ushort[Buckets];
    private readonly uint[] _v6 = new uint[Buckets];
    private readonly SipHash _hash;
    // The last destination asked for, whose bucket and offset are reused (a bulk flow asks once per packet).
    private (InternetAddress Source, InternetAddress Destination, byte Protocol, int Bucket, uint Offset) _last = (default, default, 255, -1, 0);

    /// <summary>A secret key and random counters from <paramref name="random"/> (a stack run from a seed gives the same IDs).</summary>
    public IpIdentifiers(Random random)
    {
        Span<byte> key = stackalloc byte[16];
        random.NextBytes(key);
        _hash = new SipHash(key);
        for (int i = 0; i < Buckets; i++)
        {
            _v4[i] = (ushort)random.Next(65536);
            _v6[i] = (uint)random.NextInt64(1L << 32);
        }
    }

    /// <summary>The IPv4 Identification of the next datagram (or first of <paramref name="count"/> segments a super-segment stands for).</summary>
    public ushort NextV4(InternetAddress source, InternetAddress destination, byte protocol, int count = 1)
    {
        (int bucket, uint offset) = Locate(source, destination, protocol);
        ushort id = (ushort)(_v4[bucket] + offset);
        _v4[bucket] += (ushort)count;
        return id;
    }

    /// <summary>The Identification of the next fragmented IPv6 packet (RFC 8200 4.5; RFC 7739 applies alike).</summary>
    public uint NextV6(InternetAddress source, InternetAddress destination, byte protocol)
    {
        (int bucket, uint offset) = Locate(source, destination, protocol);
        uint id = _v6[bucket] + offset;
        _v6[bucket]++;
        return id;
    }

    private (int Bucket, uint Offset) Locate(InternetAddress source, InternetAddress destination, byte protocol)
    {
        if (_last.Source == source && _last.Destination == destination && _last.Protocol == protocol)
        {
            return (_last.Bucket, _last.Offset);
        }

        Span<byte> input = stackalloc byte[33];
        int n = source.WriteTo(input);
        n += destination.WriteTo(input[n..]);
        input[n++] = protocol;
        ulong h = _hash.Compute(input[..n]);
        int bucket = (int)(h % Buckets);
        uint offset = (uint)(h >> 32);
        _last = (source, destination, protocol, bucket, offset);
        return (bucket, offset);
    }
}
