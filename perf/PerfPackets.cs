using TunStack.Ip;
using TunStack.Wire;

namespace TunStack.Perf;

/// <summary>Packets for the benchmarks, built with the stack's own header writers.</summary>
internal static class PerfPackets
{
    private static readonly InternetAddress s_peer4 = InternetAddress.Parse("10.0.0.1"), s_self4 = InternetAddress.Parse("10.0.0.2");
    private static readonly InternetAddress s_peer6 = InternetAddress.Parse("fd00::1"), s_self6 = InternetAddress.Parse("fd00::2");

    public static byte[] Ipv4Udp(int payload) => Ipv4(IpProtocol.Udp, Udp(s_peer4, s_self4, payload));

    public static byte[] Ipv6Udp(int payload)
    {
        byte[] udp = Udp(s_peer6, s_self6, payload);
        var p = new byte[40 + udp.Length];
        Span<byte> s = stackalloc byte[16], d = stackalloc byte[16];
        s_peer6.WriteTo(s);
        s_self6.WriteTo(d);
        new Ipv6Header { PayloadLength = (ushort)udp.Length, NextHeader = IpProtocol.Udp, HopLimit = 64 }.WriteTo(p, s, d);
        udp.CopyTo(p, 40);
        return p;
    }

    public static byte[] Ipv4Tcp(int payload)
    {
        TcpOptions options = TcpOptions.None;
        options.HasTimestamps = true;
        options.TimestampValue = 12345;
        options.TimestampEcho = 678;
        int optionsLength = options.WrittenLength;
        var segment = new byte[20 + optionsLength + payload];
        options.WriteTo(segment.AsSpan(20));
        new Random(2).NextBytes(segment.AsSpan(20 + optionsLength));
        new TcpHeader { SourcePort = 40000, DestinationPort = 80, SequenceNumber = new SeqNumber(1), AcknowledgmentNumber = new SeqNumber(2), Flags = TcpFlags.Ack | TcpFlags.Psh, Window = 1000 }
            .WriteTo(segment, optionsLength, PseudoHeader.Sum(s_peer4, s_self4, IpProtocol.Tcp, segment.Length));
        return Ipv4(IpProtocol.Tcp, segment);
    }

    private static byte[] Udp(InternetAddress src, InternetAddress dst, int payload)
    {
        var u = new byte[8 + payload];
        new Random(3).NextBytes(u.AsSpan(8));
        new UdpHeader(5000, 9, (ushort)u.Length).WriteTo(u, PseudoHeader.Sum(src, dst, IpProtocol.Udp, u.Length));
        return u;
    }

    private static byte[] Ipv4(byte protocol, byte[] payload)
    {
        var p = new byte[20 + payload.Length];
        new Ipv4Header { TotalLength = (ushort)p.Length, Identification = 1, TimeToLive = 64, Protocol = protocol, Source = s_peer4.V4, Destination = s_self4.V4, DontFragment = true }.WriteTo(p);
        payload.CopyTo(p, 20);
        return p;
    }
}
