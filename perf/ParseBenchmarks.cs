using BenchmarkDotNet.Attributes;
using TunStack.Wire;

namespace TunStack.Perf;

/// <summary>Parse and validate headers as the input path does: views, lengths, checksums, options.</summary>
[MemoryDiagnoser]
public class ParseBenchmarks
{
    private byte[] _ipv4Tcp = Array.Empty<byte>();
    private byte[] _ipv6Udp = Array.Empty<byte>();

    [GlobalSetup]
    public void Setup()
    {
        _ipv4Tcp = PerfPackets.Ipv4Tcp(payload: 1448);
        _ipv6Udp = PerfPackets.Ipv6Udp(payload: 1232);
    }

    /// <summary>IPv4 header (lengths, header checksum, options) + TCP (data offset, options, checksum over 1448 B).</summary>
    [Benchmark]
    public int Ipv4TcpParseAndValidate()
    {
        if (!Ipv4Packet.TryCreate(_ipv4Tcp, out Ipv4Packet ip) || !ip.IsChecksumValid || !ip.TryValidateOptions(out _))
        {
            return -1;
        }

        if (!TcpSegment.TryCreate(ip.Payload, out TcpSegment tcp)
            || !tcp.IsChecksumValid(InternetChecksum.PseudoHeaderV4(ip.Source, ip.Destination, IpProtocol.Tcp, ip.Payload.Length)))
        {
            return -2;
        }

        TcpOptions options = TcpOptions.Parse(tcp.Options);
        return tcp.Payload.Length + (int)options.TimestampValue;
    }

    /// <summary>IPv6 header + extension walk + UDP (length, checksum over 1232 B).</summary>
    [Benchmark]
    public int Ipv6UdpParseAndValidate()
    {
        if (!Ipv6Packet.TryCreate(_ipv6Udp, out Ipv6Packet ip))
        {
            return -1;
        }

        Ipv6Chain chain = Ipv6Chain.Walk(ip.Datagram, Ipv6Packet.HeaderLength, ip.NextHeader, 6);
        if (chain.Verdict != Ipv6ChainVerdict.Ok || !UdpDatagram.TryCreate(ip.Datagram[chain.UpperOffset..], out UdpDatagram udp)
            || !udp.IsChecksumValid(InternetChecksum.PseudoHeaderV6(ip.Source, ip.Destination, IpProtocol.Udp, udp.Length)))
        {
            return -2;
        }

        return udp.Payload.Length;
    }

    /// <summary>The header-only part (no payload checksum): what a stack with checksum offload pays.</summary>
    [Benchmark]
    public int Ipv4TcpHeadersOnly()
    {
        if (!Ipv4Packet.TryCreate(_ipv4Tcp, out Ipv4Packet ip) || !ip.IsChecksumValid || !TcpSegment.TryCreate(ip.Payload, out TcpSegment tcp))
        {
            return -1;
        }

        return TcpOptions.Parse(tcp.Options).Mss + tcp.SourcePort;
    }
}
