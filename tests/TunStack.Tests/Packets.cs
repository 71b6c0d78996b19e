using TunStack.Ip;
using TunStack.Wire;

namespace TunStack.Tests;

/// <summary>Builds raw packets for tests (headers written field by field, checksums computed here).</summary>
internal static class Packets
{
    public static byte[] Ipv4(InternetAddress src, InternetAddress dst, byte protocol, ReadOnlySpan<byte> payload, ushort id = 1, bool mf = false, int fragmentOffset = 0, byte ttl = 64, bool df = false)
    {
        var p = new byte[20 + payload.Length];
        new Ipv4Header
        {
            TotalLength = (ushort)p.Length,
            Identification = id,
            MoreFragments = mf,
            FragmentOffset = fragmentOffset,
            TimeToLive = ttl,
            Protocol = protocol,
            Source = src.V4,
            Destination = dst.V4,
            DontFragment = df,
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
