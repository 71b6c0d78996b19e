using System.Buffers.Binary;
using TunStack.Ip;

namespace TunStack.Lab;

/// <summary>
/// A forwarding node: looks up each packet's destination (explicit routes by longest prefix, then
/// the host addresses reached by the shortest path), decrements the IPv4 TTL (updating the header
/// checksum, RFC 1624) or the IPv6 hop limit, and enqueues it on the output direction's queue.
/// Packets with no route or whose TTL runs out are dropped and counted (no ICMP is sent).
/// </summary>
internal sealed class LabRouter : ILabNode
{
    private readonly List<(IpPrefix Prefix, LabChannel Out)> _routes = new();
    private readonly Dictionary<InternetAddress, LabChannel> _hosts = new();

    public LabRouter(string name) => Name = name;

    public string Name { get; }

    /// <summary>Packets dropped for want of a route.</summary>
    public long Unroutable { get; private set; }

    /// <summary>Packets dropped because their TTL or hop limit ran out.</summary>
    public long Expired { get; private set; }

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
        InternetAddress destination;
        if (p.Length >= 20 && p[0] >> 4 == 4)
        {
            destination = InternetAddress.FromV4(p.Slice(16, 4));
            if (p[8] <= 1)
            {
                Expired++;
                return;
            }

            ushort before = BinaryPrimitives.ReadUInt16BigEndian(p[8..]);
            p[8]--;
            ushort after = BinaryPrimitives.ReadUInt16BigEndian(p[8..]);
            BinaryPrimitives.WriteUInt16BigEndian(p[10..], UpdateChecksum(BinaryPrimitives.ReadUInt16BigEndian(p[10..]), before, after));
        }
        else if (p.Length >= 40 && p[0] >> 4 == 6)
        {
            destination = InternetAddress.FromV6(p.Slice(24, 16));
            if (p[7] <= 1)
            {
                Expired++;
                return;
            }

            p[7]--;
        }
        else
        {
            Unroutable++;
            return;
        }

        LabChannel? output = Lookup(destination);
        if (output is null)
        {
            Unroutable++;
            return;
        }

        output.Offer(packet, now);
    }

    // RFC 1624 3: HC' = ~(~HC + ~m + m'), in ones' complement arithmetic.
    private static ushort UpdateChecksum(ushort checksum, ushort oldWord, ushort newWord)
    {
        uint sum = (uint)(~checksum & 0xFFFF) + (uint)(~oldWord & 0xFFFF) + newWord;
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
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
