using System.Buffers.Binary;
using TunStack.Ip;
using TunStack.Wire;

namespace TunStack.Lab;

/// <summary>
/// A forwarding node (RFC 1812 5.2 for IPv4, RFC 8200 for IPv6): looks up each packet's
/// destination (explicit routes by longest prefix, then the host addresses reached by the
/// shortest path), checks the TTL or hop limit and the next link's MTU, decrements the TTL
/// (updating the header checksum, RFC 1624) or the hop limit, and enqueues the packet on the output
/// direction's queue. What it cannot forward it drops, counts, and answers with an ICMP error unless
/// told not to: Time Exceeded, Destination Unreachable (no route), Fragmentation Needed with the
/// next-hop MTU (RFC 1191) or Packet Too Big (RFC 8201), which is what path MTU discovery across
/// the lab needs. An IPv4 packet without DF that is too large is fragmented (RFC 791).
/// </summary>
internal sealed class LabRouter : ILabNode
{
    /// <summary>RFC 7600: the IPv4 dummy address, the source of ICMP errors of a router with no IPv4 address of its own.</summary>
    public static readonly InternetAddress DefaultV4 = InternetAddress.FromV4(0xC000_0008);

    // Linux's icmp_msgs_per_sec and icmp_msgs_burst, one bucket per router; errors for path MTU
    // discovery are not limited (Linux icmpv4_xrlim_allow / icmpv6_xrlim_allow exempt them).
    private const int IcmpPerSecond = 1000;
    private const int IcmpBurst = 50;

    private readonly List<(IpPrefix Prefix, LabChannel Out)> _routes = new();
    private readonly Dictionary<InternetAddress, LabChannel> _hosts = new();
    private readonly InternetAddress _v4;
    private readonly InternetAddress _v6;
    private readonly bool _icmp;
    private readonly TokenBucket _icmpTokens = new(IcmpPerSecond, IcmpBurst);
    private ushort _identification;

    public LabRouter(LabRouterSpec spec, int index)
    {
        Name = spec.Name;
        _v4 = spec.V4 ?? DefaultV4;
        _v6 = spec.V6 ?? DefaultV6(index);
        _icmp = spec.Icmp;
    }

    public string Name { get; }

    /// <summary>Packets sent on towards their destination (a fragmented packet counts once).</summary>
    public long Forwarded { get; private set; }

    /// <summary>Packets dropped for want of a route.</summary>
    public long Unroutable { get; private set; }

    /// <summary>Packets dropped because their TTL or hop limit ran out.</summary>
    public long Expired { get; private set; }

    /// <summary>Packets dropped as larger than the next link's MTU (IPv6, or IPv4 with DF).</summary>
    public long TooBig { get; private set; }

    /// <summary>IPv4 packets without DF that left in fragments.</summary>
    public long Fragmented { get; private set; }

    /// <summary>ICMP errors sent.</summary>
    public long IcmpSent { get; private set; }

    /// <summary>ICMP errors not sent because the rate limit had no token left.</summary>
    public long IcmpRateLimited { get; private set; }

    /// <summary>The IPv6 source of router number <paramref name="index"/> (from 0) without an address of its own: fd6c:6162::N, N from 1.</summary>
    public static InternetAddress DefaultV6(int index)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, 0xFD6C_6162);
        BinaryPrimitives.WriteUInt32BigEndian(bytes[12..], (uint)index + 1);
        return InternetAddress.FromV6(bytes);
    }

    public void AddRoute(IpPrefix prefix, LabChannel output)
    {
        // Longest prefix first; among equal lengths, the order of the file.
        int at = _routes.FindIndex(r => r.Prefix.Length < prefix.Length);
        _routes.Insert(at < 0 ? _routes.Count : at, (prefix, output));
    }

    public void AddHost(InternetAddress address, LabChannel output) => _hosts.TryAdd(address, output);

    public void Accept(LabPacket packet, long now)
    {
        Span<byte> p = packet.Data;
        bool v6;
        if (p.Length >= Ipv4Packet.MinHeaderLength && p[0] >> 4 == 4 && (p[0] & 0xF) * 4 is int ihl && ihl >= Ipv4Packet.MinHeaderLength && ihl <= p.Length)
        {
            v6 = false;
        }
        else if (p.Length >= Ipv6Packet.HeaderLength && p[0] >> 4 == 6)
        {
            v6 = true;
        }
        else
        {
            Unroutable++;
            return;
        }

        // RFC 1812 5.3.1 / RFC 8200 3: a packet whose TTL would reach zero goes no further.
        if ((v6 ? p[7] : p[8]) <= 1)
        {
            Expired++;
            Answer(p, now, v6 ? Icmpv6Type.TimeExceeded : Icmpv4Type.TimeExceeded, 0, 0);
            return;
        }

        InternetAddress destination = v6 ? InternetAddress.FromV6(p.Slice(24, 16)) : InternetAddress.FromV4(p.Slice(16, 4));
        LabChannel? output = Lookup(destination);
        if (output is null)
        {
            Unroutable++;
            Answer(p, now, v6 ? Icmpv6Type.DestinationUnreachable : Icmpv4Type.DestinationUnreachable, 0, 0); // net unreachable / no route
            return;
        }

        bool tooBig = p.Length > output.Mtu;
        if (tooBig && (v6 || (p[6] & 0x40) != 0))
        {
            TooBig++;
            // RFC 8201 4 / RFC 4443 3.2: Packet Too Big with the next link's MTU; RFC 1191 4:
            // Fragmentation Needed with the next-hop MTU in the low 16 bits.
            Answer(p, now, v6 ? Icmpv6Type.PacketTooBig : Icmpv4Type.DestinationUnreachable, v6 ? (byte)0 : Icmpv4Type.CodeFragmentationNeeded, (uint)output.Mtu);
            return;
        }

        if (v6)
        {
            p[7]--;
        }
        else
        {
            ushort before = BinaryPrimitives.ReadUInt16BigEndian(p[8..]);
            p[8]--;
            BinaryPrimitives.WriteUInt16BigEndian(p[10..], InternetChecksum.Update(BinaryPrimitives.ReadUInt16BigEndian(p[10..]), before, BinaryPrimitives.ReadUInt16BigEndian(p[8..])));
        }

        Forwarded++;
        if (tooBig)
        {
            Fragmented++;
            foreach (LabPacket fragment in LabFragmenter.Fragment(packet, output.Mtu))
            {
                output.Offer(fragment, now);
            }

            return;
        }

        output.Offer(packet, now);
    }

    // An ICMP error about the packet p, back towards its source, if the rules and the rate limit allow.
    private void Answer(ReadOnlySpan<byte> p, long now, byte type, byte code, uint rest)
    {
        bool v6 = p[0] >> 4 == 6;
        if (!_icmp || !LabIcmpError.MayAnswer(p))
        {
            return;
        }

        bool forPathMtu = v6 ? type == Icmpv6Type.PacketTooBig : type == Icmpv4Type.DestinationUnreachable && code == Icmpv4Type.CodeFragmentationNeeded;
        if (!forPathMtu && !_icmpTokens.TryTake(new Instant(now)))
        {
            IcmpRateLimited++;
            return;
        }

        InternetAddress to = v6 ? InternetAddress.FromV6(p.Slice(8, 16)) : InternetAddress.FromV4(p.Slice(12, 4));
        LabChannel? back = Lookup(to);
        if (back is null)
        {
            return;
        }

        LabPacket error = v6 ? LabIcmpError.V6(_v6, p, type, code, rest) : LabIcmpError.V4(_v4, _identification++, p, type, code, rest);
        IcmpSent++;
        back.Offer(error, now);
    }

    private LabChannel? Lookup(InternetAddress destination)
    {
        foreach ((IpPrefix prefix, LabChannel output) in _routes)
        {
            if (prefix.Contains(destination))
            {
                return output;
            }
        }

        return _hosts.TryGetValue(destination, out LabChannel? host) ? host : null;
    }
}
