using System.Buffers.Binary;
using System.Text.Json;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Storage;
using TunStack.Wire;

namespace TunStack.Tests;

/// <summary>
/// A stack under test whose link's far end is the test: it injects raw packets and collects what
/// the stack sends, on a virtual clock.
/// </summary>
internal sealed class Probe
{
    public static readonly InternetAddress StackV4 = InternetAddress.Parse("10.0.0.2");
    public static readonly InternetAddress PeerV4 = InternetAddress.Parse("10.0.0.1");
    public static readonly InternetAddress StackV6 = InternetAddress.Parse("fd00::2");
    public static readonly InternetAddress PeerV6 = InternetAddress.Parse("fd00::1");

    private readonly MemoryLink _far;
    private readonly PacketBatch _out = new(256, 65535);

    public Probe(Action<StackOptions>? configure = null, int mtu = 1500)
    {
        (MemoryLink near, MemoryLink far) = MemoryLink.CreatePair(mtu);
        _far = far;
        var options = new StackOptions { RandomSeed = 1 };
        options.Addresses.Add(IpPrefix.Parse("10.0.0.2/24"));
        options.Addresses.Add(IpPrefix.Parse("fd00::2/64"));
        configure?.Invoke(options);
        Clock = new VirtualClock(Instant.FromMilliseconds(1000));
        Stack = new NetworkStack(near, options, Clock.Now);
    }

    public NetworkStack Stack { get; }

    public VirtualClock Clock { get; }

    public long this[Counter c] => Stack.Counters[c];

    /// <summary>Injects one packet and polls; returns what the stack sent in response.</summary>
    public List<byte[]> Send(ReadOnlySpan<byte> packet)
    {
        var batch = new PacketBatch(1, Math.Max(packet.Length, 1));
        batch.TryAdd(packet);
        _far.Transmit(batch, Clock.Now);
        return Poll();
    }

    public List<byte[]> Poll()
    {
        Stack.Poll(Clock.Now);
        return Drain();
    }

    public List<byte[]> Advance(TimeSpan by)
    {
        Clock.Advance(by);
        return Poll();
    }

    public List<byte[]> Drain()
    {
        var result = new List<byte[]>();
        while (true)
        {
            _out.Clear();
            if (_far.Receive(_out, Clock.Now) == 0)
            {
                return result;
            }

            for (int i = 0; i < _out.Count; i++)
            {
                result.Add(_out[i].ToArray());
            }
        }
    }
}

/// <summary>Builds raw packets for tests (headers written field by field, checksums computed here).</summary>
internal static class Packets
{
    public static byte[] Ipv4(InternetAddress src, InternetAddress dst, byte protocol, ReadOnlySpan<byte> payload, ushort id = 1, bool mf = false, int fragmentOffset = 0, byte ttl = 64, bool df = false)
    {
        var p = new byte[20 + payload.Length];
        new Ipv4Header
        {
            TotalLength = (ushort)p.Length, Identification = id, MoreFragments = mf, FragmentOffset = fragmentOffset,
            TimeToLive = ttl, Protocol = protocol, Source = src.V4, Destination = dst.V4, DontFragment = df,
        }.WriteTo(p);
        payload.CopyTo(p.AsSpan(20));
        return p;
    }

    public static byte[] Ipv6(InternetAddress src, InternetAddress dst, byte nextHeader, ReadOnlySpan<byte> payload, byte hopLimit = 64)
    {
        var p = new byte[40 + payload.Length];
        Span<byte> s = stackalloc byte[16], d = stackalloc byte[16];
        src.WriteTo(s);
        dst.WriteTo(d);
        new Ipv6Header { PayloadLength = (ushort)payload.Length, NextHeader = nextHeader, HopLimit = hopLimit }.WriteTo(p, s, d);
        payload.CopyTo(p.AsSpan(40));
        return p;
    }

    public static byte[] Udp(InternetAddress src, InternetAddress dst, ushort sport, ushort dport, ReadOnlySpan<byte> data)
    {
        var u = new byte[8 + data.Length];
        data.CopyTo(u.AsSpan(8));
        new UdpHeader(sport, dport, (ushort)u.Length).WriteTo(u, PseudoHeader(src, dst, IpProtocol.Udp, u.Length));
        return u;
    }

    public static byte[] UdpPacket(InternetAddress src, InternetAddress dst, ushort sport, ushort dport, ReadOnlySpan<byte> data)
    {
        byte[] u = Udp(src, dst, sport, dport, data);
        return src.IsV6 ? Ipv6(src, dst, IpProtocol.Udp, u) : Ipv4(src, dst, IpProtocol.Udp, u);
    }

    public static byte[] Icmp(InternetAddress src, InternetAddress dst, byte type, byte code, uint rest, ReadOnlySpan<byte> body)
    {
        var m = new byte[8 + body.Length];
        body.CopyTo(m.AsSpan(8));
        new IcmpHeader(type, code, rest).WriteTo(m, src.IsV6 ? PseudoHeader(src, dst, IpProtocol.IcmpV6, m.Length) : 0);
        return m;
    }

    public static byte[] EchoRequest(InternetAddress src, InternetAddress dst, ushort id, ushort seq, ReadOnlySpan<byte> data)
    {
        byte type = src.IsV6 ? Icmpv6Type.EchoRequest : Icmpv4Type.EchoRequest;
        byte[] m = Icmp(src, dst, type, 0, ((uint)id << 16) | seq, data);
        return src.IsV6 ? Ipv6(src, dst, IpProtocol.IcmpV6, m) : Ipv4(src, dst, IpProtocol.Icmp, m);
    }

    public static uint PseudoHeader(InternetAddress src, InternetAddress dst, byte protocol, int length) => TunStack.Ip.PseudoHeader.Sum(src, dst, protocol, length);

    /// <summary>Splits an IPv4 datagram's payload into fragments of <paramref name="chunk"/> bytes (a multiple of 8).</summary>
    public static List<byte[]> FragmentV4(InternetAddress src, InternetAddress dst, byte protocol, byte[] payload, int chunk, ushort id)
    {
        var list = new List<byte[]>();
        for (int off = 0; off < payload.Length; off += chunk)
        {
            int n = Math.Min(chunk, payload.Length - off);
            list.Add(Ipv4(src, dst, protocol, payload.AsSpan(off, n), id, mf: off + n < payload.Length, fragmentOffset: off));
        }

        return list;
    }

    /// <summary>Builds IPv6 fragments (Fragment header right after the fixed header).</summary>
    public static List<byte[]> FragmentV6(InternetAddress src, InternetAddress dst, byte protocol, byte[] payload, int chunk, uint id)
    {
        var list = new List<byte[]>();
        for (int off = 0; off < payload.Length; off += chunk)
        {
            int n = Math.Min(chunk, payload.Length - off);
            list.Add(Fragment6(src, dst, protocol, payload.AsSpan(off, n), off, off + n < payload.Length, id));
        }

        return list;
    }

    public static byte[] Fragment6(InternetAddress src, InternetAddress dst, byte protocol, ReadOnlySpan<byte> data, int offset, bool more, uint id)
    {
        var body = new byte[8 + data.Length];
        new Ipv6FragmentHeader { NextHeader = protocol, FragmentOffset = offset, MoreFragments = more, Identification = id }.WriteTo(body);
        data.CopyTo(body.AsSpan(8));
        return Ipv6(src, dst, IpProtocol.Fragment, body);
    }
}

/// <summary>The scapy-built known-good packets in vectors/packets.json.</summary>
internal static class Vectors
{
    public sealed record Vector(string Name, byte[] Bytes, JsonElement Fields)
    {
        public override string ToString() => Name;
    }

    private static readonly Lazy<List<Vector>> s_all = new(() =>
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "vectors", "packets.json")));
        return doc.RootElement.EnumerateArray()
            .Select(e => new Vector(e.GetProperty("name").GetString()!, Convert.FromHexString(e.GetProperty("hex").GetString()!), e.GetProperty("fields").Clone()))
            .ToList();
    });

    public static IReadOnlyList<Vector> All => s_all.Value;

    public static Vector Get(string name) => All.Single(v => v.Name == name);

    public static IEnumerable<object[]> Names => All.Select(v => new object[] { v.Name });

    public static ushort ReadU16(byte[] b, int offset) => BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(offset));
}
