using System.Text.Json;
using TunStack.Ip;
using TunStack.Udp;
using TunStack.Wire;

namespace TunStack.Tests.Wire;

/// <summary>
/// Known-good packets built by scapy (tests/TunStack.Tests/vectors/make_vectors.py): our views must
/// read every field as scapy dissected it and verify the checksums scapy computed.
/// </summary>
public class WireVectorTests
{
    public static IEnumerable<object[]> Names => Vectors.Names;

    [Theory]
    [MemberData(nameof(Names))]
    public void KnownGoodPacket_Parse_FieldsMatchScapy(string name)
    {
        Vectors.Vector v = Vectors.Get(name);
        JsonElement ip = v.Fields.GetProperty("ip");
        ReadOnlySpan<byte> transport;
        uint pseudo;
        byte protocol;
        bool isFragment;
        if (ip.GetProperty("version").GetInt32() == 4)
        {
            Assert.True(Ipv4Packet.TryCreate(v.Bytes, out Ipv4Packet p, out WireError e), e.ToString());
            Assert.Equal(ip.GetProperty("ihl").GetInt32() * 4, p.HeaderLength);
            Assert.Equal(ip.GetProperty("len").GetInt32(), p.TotalLength);
            Assert.Equal(ip.GetProperty("id").GetInt32(), p.Identification);
            int flags = ip.GetProperty("flags").GetInt32();
            Assert.Equal((flags & 2) != 0, p.DontFragment);
            Assert.Equal((flags & 1) != 0, p.MoreFragments);
            Assert.Equal(ip.GetProperty("frag").GetInt32(), p.FragmentOffset);
            Assert.Equal(ip.GetProperty("ttl").GetInt32(), p.TimeToLive);
            Assert.Equal(ip.GetProperty("proto").GetInt32(), p.Protocol);
            Assert.Equal(ip.GetProperty("chksum").GetInt32(), p.HeaderChecksum);
            Assert.Equal(ip.GetProperty("src").GetString(), InternetAddress.FromV4(p.Source).ToString());
            Assert.Equal(ip.GetProperty("dst").GetString(), InternetAddress.FromV4(p.Destination).ToString());
            Assert.True(p.IsChecksumValid);
            Assert.True(p.TryValidateOptions(out _));
            transport = p.Payload;
            protocol = p.Protocol;
            isFragment = p.IsFragment;
            pseudo = InternetChecksum.PseudoHeaderV4(p.Source, p.Destination, p.Protocol, transport.Length);
        }
        else
        {
            Assert.True(Ipv6Packet.TryCreate(v.Bytes, out Ipv6Packet p, out WireError e), e.ToString());
            Assert.Equal(ip.GetProperty("tc").GetInt32(), p.TrafficClass);
            Assert.Equal(ip.GetProperty("fl").GetInt32(), p.FlowLabel);
            Assert.Equal(ip.GetProperty("plen").GetInt32(), p.PayloadLength);
            Assert.Equal(ip.GetProperty("nh").GetInt32(), p.NextHeader);
            Assert.Equal(ip.GetProperty("hlim").GetInt32(), p.HopLimit);
            Assert.Equal(ip.GetProperty("src").GetString(), InternetAddress.FromV6(p.Source).ToString());
            Assert.Equal(ip.GetProperty("dst").GetString(), InternetAddress.FromV6(p.Destination).ToString());
            Ipv6Chain chain = Ipv6Chain.Walk(p.Datagram, 40, p.NextHeader, 6);
            Assert.Equal(Ipv6ChainVerdict.Ok, chain.Verdict);
            isFragment = chain.UpperProtocol == IpProtocol.Fragment;
            if (v.Fields.TryGetProperty("frag6", out JsonElement f))
            {
                Assert.True(isFragment);
                Assert.True(Ipv6FragmentHeader.TryParse(p.Datagram[chain.UpperOffset..], out Ipv6FragmentHeader fh));
                Assert.Equal(f.GetProperty("nh").GetInt32(), fh.NextHeader);
                Assert.Equal(f.GetProperty("offset").GetInt32(), fh.FragmentOffset);
                Assert.Equal(f.GetProperty("m").GetInt32() == 1, fh.MoreFragments);
                Assert.Equal(f.GetProperty("id").GetUInt32(), fh.Identification);
                chain = Ipv6Chain.Walk(p.Datagram, chain.UpperOffset + 8, fh.NextHeader, chain.UpperOffset);
            }

            transport = p.Datagram[chain.UpperOffset..];
            protocol = chain.UpperProtocol;
            pseudo = InternetChecksum.PseudoHeaderV6(p.Source, p.Destination, protocol, transport.Length);
            if (protocol == IpProtocol.IcmpV6)
            {
                Assert.True(IcmpMessage.TryCreate(transport, out IcmpMessage m));
                Assert.True(m.IsChecksumValidV6(p.Source, p.Destination), "ICMPv6 checksum computed by scapy verifies");
            }
        }

        if (v.Fields.TryGetProperty("udp", out JsonElement udp) && !isFragment)
        {
            Assert.True(UdpDatagram.TryCreate(transport, out UdpDatagram d));
            Assert.Equal(udp.GetProperty("sport").GetInt32(), d.SourcePort);
            Assert.Equal(udp.GetProperty("dport").GetInt32(), d.DestinationPort);
            Assert.Equal(udp.GetProperty("len").GetInt32(), d.Length);
            Assert.Equal(udp.GetProperty("chksum").GetInt32(), d.Checksum);
            if (d.Checksum != 0)
            {
                Assert.True(d.IsChecksumValid(pseudo));
                // Round trip: rewriting the header over the same data reproduces scapy's bytes.
                byte[] copy = transport[..d.Length].ToArray();
                Assert.True(UdpHeader.TryParse(copy, out UdpHeader h));
                h.WriteTo(copy, pseudo);
                Assert.Equal(transport[..d.Length].ToArray(), copy);
            }
        }

        if (v.Fields.TryGetProperty("tcp", out JsonElement tcp))
        {
            CheckTcp(tcp, transport, pseudo);
        }

        if (v.Fields.TryGetProperty("icmp", out JsonElement icmp))
        {
            Assert.True(IcmpMessage.TryCreate(transport, out IcmpMessage m));
            Assert.Equal(icmp.GetProperty("type").GetInt32(), m.Type);
            Assert.Equal(icmp.GetProperty("code").GetInt32(), m.Code);
            Assert.Equal(icmp.GetProperty("chksum").GetInt32(), m.Checksum);
            Assert.True(m.IsChecksumValidV4);
        }

        Assert.True(protocol is IpProtocol.Udp or IpProtocol.Tcp or IpProtocol.Icmp or IpProtocol.IcmpV6 || isFragment);
    }

    private static void CheckTcp(JsonElement tcp, ReadOnlySpan<byte> transport, uint pseudo)
    {
        Assert.True(TcpSegment.TryCreate(transport, out TcpSegment s));
        Assert.Equal(tcp.GetProperty("sport").GetInt32(), s.SourcePort);
        Assert.Equal(tcp.GetProperty("dport").GetInt32(), s.DestinationPort);
        Assert.Equal(tcp.GetProperty("seq").GetUInt32(), s.SequenceNumber.Value);
        Assert.Equal(tcp.GetProperty("ack").GetUInt32(), s.AcknowledgmentNumber.Value);
        Assert.Equal(tcp.GetProperty("dataofs").GetInt32(), s.HeaderLength);
        Assert.Equal(tcp.GetProperty("flags").GetInt32(), (int)s.Flags);
        Assert.Equal(tcp.GetProperty("window").GetInt32(), s.Window);
        Assert.Equal(tcp.GetProperty("chksum").GetInt32(), s.Checksum);
        Assert.Equal(tcp.GetProperty("urgptr").GetInt32(), s.UrgentPointer);
        Assert.Equal(tcp.GetProperty("payload_len").GetInt32(), s.Payload.Length);
        Assert.True(s.IsChecksumValid(pseudo));

        TcpOptions o = TcpOptions.Parse(s.Options);
        JsonElement opts = tcp.GetProperty("options");
        Assert.Equal(opts.TryGetProperty("mss", out JsonElement mss) ? mss.GetInt32() : 0, o.Mss);
        Assert.Equal(opts.TryGetProperty("wscale", out JsonElement ws) ? ws.GetInt32() : -1, o.WindowScale);
        Assert.Equal(opts.TryGetProperty("sackok", out _), o.SackPermitted);
        Assert.Equal(opts.TryGetProperty("tsval", out JsonElement tsval), o.HasTimestamps);
        if (o.HasTimestamps)
        {
            Assert.Equal(tsval.GetUInt32(), o.TimestampValue);
            Assert.Equal(opts.GetProperty("tsecr").GetUInt32(), o.TimestampEcho);
        }

        if (opts.TryGetProperty("sack", out JsonElement sack))
        {
            uint[] edges = sack.EnumerateArray().Select(x => x.GetUInt32()).ToArray();
            Assert.Equal(edges.Length / 2, o.SackCount);
            for (int i = 0; i < o.SackCount; i++)
            {
                Assert.Equal(new SackBlock(new SeqNumber(edges[2 * i]), new SeqNumber(edges[2 * i + 1])), o.GetSack(i));
            }
        }

        // Round trip: the header record rewrites the same bytes (options left in place).
        byte[] copy = transport.ToArray();
        Assert.True(TcpHeader.TryParse(copy, out TcpHeader h));
        h.WriteTo(copy, s.HeaderLength - TcpSegment.MinHeaderLength, pseudo);
        Assert.Equal(transport.ToArray(), copy);

        // Our own option writer produces options that parse back to the same values.
        Span<byte> written = stackalloc byte[40];
        int n = o.WriteTo(written);
        Assert.Equal(0, n % 4);
        Assert.Equal(o.WrittenLength, n);
        Assert.Equal(o, TcpOptions.Parse(written[..n]));
    }

    [Theory]
    [InlineData("ipv4_udp")]
    [InlineData("ipv4_icmp_echo")]
    [InlineData("ipv4_tcp_syn_options")]
    public void Ipv4HeaderRecord_RoundTrip_ReproducesScapyHeader(string name)
    {
        byte[] bytes = Vectors.Get(name).Bytes;
        Assert.True(Ipv4Header.TryParse(bytes, out Ipv4Header h));
        var written = new byte[20];
        h.WriteTo(written);
        Assert.Equal(bytes[..20], written);
    }

    [Theory]
    [InlineData("ipv6_udp")]
    [InlineData("ipv6_icmpv6_echo")]
    public void Ipv6HeaderRecord_RoundTrip_ReproducesScapyHeader(string name)
    {
        byte[] bytes = Vectors.Get(name).Bytes;
        Assert.True(Ipv6Header.TryParse(bytes, out Ipv6Header h));
        var written = new byte[40];
        h.WriteTo(written, bytes.AsSpan(8, 16), bytes.AsSpan(24, 16));
        Assert.Equal(bytes[..40], written);
    }

    private static readonly Counter[] s_ipLengthDrops =
    {
        Counter.LinkUnknownVersion, Counter.Ipv4Truncated, Counter.Ipv4BadHeaderLength, Counter.Ipv4BadLength,
        Counter.Ipv6Truncated, Counter.Ipv6BadLength,
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void KnownGoodPacket_EveryTruncation_DroppedAndCounted(string name)
    {
        byte[] bytes = Vectors.Get(name).Bytes;
        var probe = new Probe();
        for (int length = 0; length < bytes.Length; length++)
        {
            long dropsBefore = s_ipLengthDrops.Sum(c => probe[c]);
            long deliveredBefore = probe[Counter.Ipv4Delivered] + probe[Counter.Ipv6Delivered];
            List<byte[]> sent = probe.Send(bytes.AsSpan(0, length));
            Assert.Equal(dropsBefore + 1, s_ipLengthDrops.Sum(c => probe[c]));
            Assert.Equal(deliveredBefore, probe[Counter.Ipv4Delivered] + probe[Counter.Ipv6Delivered]);
            Assert.Empty(sent);
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void KnownGoodPacket_EveryByteCorrupted_NeverThrowsAndRepliesAreWellFormed(string name)
    {
        byte[] bytes = Vectors.Get(name).Bytes;
        var probe = new Probe();
        var random = new Random(name.Length);
        for (int i = 0; i < bytes.Length; i++)
        {
            byte[] bad = (byte[])bytes.Clone();
            bad[i] ^= (byte)(i % 2 == 0 ? 0xFF : 1 << random.Next(8));
            foreach (byte[] reply in probe.Send(bad))
            {
                AssertWellFormed(reply);
            }
        }
    }

    private static readonly string[] s_dropWords =
    {
        "Bad", "Truncated", "NotForUs", "Unknown", "Discard", "Oversize", "Overlap", "Incomplete", "TooMany",
        "ParameterProblem", "NoNextHeader", "NoPort", "ZeroChecksum", "QueueFull", "Evicted",
    };

    private static readonly Counter[] s_dropCounters = Enum.GetValues<Counter>()
        .Where(c => s_dropWords.Any(w => c.ToString().Contains(w, StringComparison.Ordinal))).ToArray();

    /// <summary>The byte ranges of a vector that a checksum the stack verifies protects.</summary>
    private static List<(int Start, int End)> ProtectedRanges(byte[] packet)
    {
        var ranges = new List<(int, int)>();
        var probe = new Probe();
        if (packet[0] >> 4 == 4)
        {
            Assert.True(Ipv4Packet.TryCreate(packet, out Ipv4Packet ip));
            ranges.Add((0, ip.HeaderLength)); // RFC 1122 3.2.1.2: header checksum
            bool ours = probe.Stack.IsLocalAddress(InternetAddress.FromV4(ip.Destination));
            bool udpWithChecksum = ip.Protocol == IpProtocol.Udp && ip.Payload.Length >= 8 && (ip.Payload[6] | ip.Payload[7]) != 0;
            if (ours && !ip.IsFragment && (ip.Protocol == IpProtocol.Icmp || udpWithChecksum))
            {
                ranges.Add((ip.HeaderLength, ip.TotalLength));
            }
        }
        else
        {
            // IPv6 has no header checksum; the ICMPv6 and UDP checksums cover their message.
            Assert.True(Ipv6Packet.TryCreate(packet, out Ipv6Packet ip));
            Ipv6Chain chain = Ipv6Chain.Walk(ip.Datagram, 40, ip.NextHeader, 6);
            bool ours = probe.Stack.IsLocalAddress(InternetAddress.FromV6(ip.Destination)) || (chain.UpperProtocol == IpProtocol.IcmpV6 && ip.Destination[0] == 0xFF);
            if (ours && chain.UpperProtocol is IpProtocol.IcmpV6 or IpProtocol.Udp)
            {
                ranges.Add((chain.UpperOffset, ip.Datagram.Length));
            }
        }

        return ranges;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void KnownGoodPacket_ByteUnderAChecksumCorrupted_DroppedAndCounted(string name)
    {
        byte[] bytes = Vectors.Get(name).Bytes;
        var probe = new Probe();
        foreach ((int start, int end) in ProtectedRanges(bytes))
        {
            for (int i = start; i < end; i++)
            {
                byte[] bad = (byte[])bytes.Clone();
                bad[i] ^= 0xFF;
                long before = s_dropCounters.Sum(c => probe[c]);
                long delivered = probe[Counter.UdpDelivered] + probe[Counter.IcmpEchoRequests];
                probe.Send(bad);
                Assert.True(s_dropCounters.Sum(c => probe[c]) > before, $"{name}: byte {i} corrupted was not counted as a drop");
                Assert.Equal(delivered, probe[Counter.UdpDelivered] + probe[Counter.IcmpEchoRequests]);
            }
        }
    }

    [Fact]
    public void UdpDatagram_AnyByteCorrupted_NeverDeliveredAndCounted()
    {
        // RFC 1122 3.2.1.2 and RFC 768: the IP header checksum covers the header, the UDP checksum
        // covers the pseudo-header and data; a one-byte change anywhere is caught by one of them.
        byte[] bytes = Vectors.Get("ipv4_udp").Bytes;
        var probe = new Probe();
        UdpEndpoint endpoint = probe.Stack.OpenUdp();
        Assert.Equal(StackError.None, endpoint.Bind(new InternetEndpoint(InternetAddress.AnyV4, 53)));
        probe.Send(bytes);
        Assert.Equal(1, endpoint.QueuedDatagrams);
        for (int i = 0; i < bytes.Length; i++)
        {
            byte[] bad = (byte[])bytes.Clone();
            bad[i] ^= 0xFF;
            probe.Send(bad);
        }

        Assert.Equal(1, endpoint.QueuedDatagrams);
        Assert.True(probe[Counter.Ipv4BadChecksum] > 0);
        Assert.True(probe[Counter.UdpBadChecksum] > 0);
    }

    internal static void AssertWellFormed(byte[] packet)
    {
        if (packet[0] >> 4 == 4)
        {
            Assert.True(Ipv4Packet.TryCreate(packet, out Ipv4Packet p));
            Assert.True(p.IsChecksumValid);
            if (p.Protocol == IpProtocol.Icmp)
            {
                Assert.True(IcmpMessage.TryCreate(p.Payload, out IcmpMessage m) && m.IsChecksumValidV4);
            }
        }
        else
        {
            Assert.True(Ipv6Packet.TryCreate(packet, out Ipv6Packet p));
            if (p.NextHeader == IpProtocol.IcmpV6)
            {
                Assert.True(IcmpMessage.TryCreate(p.Payload, out IcmpMessage m) && m.IsChecksumValidV6(p.Source, p.Destination));
            }
        }
    }
}
