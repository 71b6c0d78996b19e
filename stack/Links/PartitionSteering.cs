using System.Buffers.Binary;
using TunStack.Storage;
using TunStack.Wire;

namespace TunStack.Links;

/// <summary>
/// The rule that gives every received packet one owning partition, when one stack is split into
/// several (one <see cref="NetworkStack"/> per queue of a multi-queue TUN, each on its own thread),
/// and the hand-off queues that carry a packet from the partition whose queue it arrived on to
/// its owner. The kernel steers a flow to the queue the stack last wrote it on, but it forgets an
/// idle flow after a few seconds and places a new one by a hash of its own: so a packet may
/// arrive anywhere, and <see cref="PartitionLink"/> hands it over when it is not its own.
/// <para>
/// The owner: a TCP or UDP packet to a port in the ephemeral range belongs to the partition whose
/// slice of that range holds the port (<see cref="EphemeralRange"/>: each partition opens its own
/// connections and sockets from its slice only, so their replies come home); any other TCP or UDP
/// packet, and an ICMP echo request, to the partition a hash of its addresses and ports picks (the
/// same for every packet of a flow, so every partition must listen where one listens); an IP
/// fragment by a hash of its addresses and identification (so the fragments of a datagram
/// reassemble in one place); an ICMP error by the packet it quotes, as that packet's own answer
/// would be; an echo reply by its identifier modulo the partition count. The hash is keyed per
/// process.
/// </para>
/// </summary>
public sealed class PartitionSteering
{
    private const int NoOwner = -1;
    private readonly PacketQueue[] _inboxes;
    private readonly PartitionLink?[] _links;
    private readonly int _ephemeralFirst;
    private readonly int _ephemeralCount;

    /// <summary>
    /// Steering for <paramref name="partitions"/> partitions (1 to 64) sharing the ephemeral port
    /// range <paramref name="ephemeralFirst"/>..<paramref name="ephemeralLast"/>, whose hand-off
    /// queues hold packets of up to <paramref name="maxPacketLength"/> bytes.
    /// </summary>
    public PartitionSteering(int partitions, ushort ephemeralFirst, ushort ephemeralLast, int maxPacketLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(partitions, 64);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPacketLength, 1);
        if (ephemeralFirst == 0 || ephemeralLast < ephemeralFirst || ephemeralLast - ephemeralFirst + 1 < partitions)
        {
            throw new ArgumentException("The ephemeral port range must exclude port 0 and hold at least one port per partition.", nameof(ephemeralLast));
        }

        _ephemeralFirst = ephemeralFirst;
        _ephemeralCount = ephemeralLast - ephemeralFirst + 1;
        // Hand-offs are the exception (a flow's first packet, or its first after an idle gap):
        // a few hundred small slots, fewer when each slot must hold a 64 KiB super-segment.
        int slots = maxPacketLength > 16 * 1024 ? 64 : 512;
        _inboxes = new PacketQueue[partitions];
        for (int i = 0; i < partitions; i++)
        {
            _inboxes[i] = new PacketQueue(slots, maxPacketLength);
        }

        _links = new PartitionLink?[partitions];
    }

    /// <summary>How many partitions share the stack.</summary>
    public int Count => _inboxes.Length;

    /// <summary>Packets each partition's hand-off queue holds before it drops.</summary>
    public int HandOffCapacity => _inboxes[0].Capacity;

    /// <summary>
    /// The slice of the ephemeral port range that <paramref name="partition"/> takes its own ports
    /// from (set it as that partition's <see cref="StackOptions.EphemeralPortFirst"/> and
    /// <see cref="StackOptions.EphemeralPortLast"/>): the range cut into <see cref="Count"/>
    /// consecutive slices of nearly equal size.
    /// </summary>
    public (ushort First, ushort Last) EphemeralRange(int partition)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)partition, (uint)Count, nameof(partition));
        return ((ushort)(_ephemeralFirst + SliceStart(partition)), (ushort)(_ephemeralFirst + SliceStart(partition + 1) - 1));
    }

    /// <summary>
    /// The link of <paramref name="partition"/> over <paramref name="queue"/> (the queue it reads
    /// and writes): give it to that partition's <see cref="NetworkStack"/>. One per partition.
    /// </summary>
    public PartitionLink CreateLink(int partition, ILink queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)partition, (uint)Count, nameof(partition));
        if (_links[partition] is not null)
        {
            throw new InvalidOperationException($"Partition {partition} already has its link.");
        }

        var link = new PartitionLink(this, partition, queue, _inboxes[partition]);
        _links[partition] = link;
        return link;
    }

    /// <summary>
    /// The partition that owns <paramref name="packet"/> (a raw IPv4 or IPv6 packet received from
    /// the wire), or <paramref name="arrivedOn"/> when nothing in it names one (too short to parse,
    /// neither IPv4 nor IPv6): such a packet stays where it arrived, to be dropped and counted there.
    /// </summary>
    public int OwnerOf(ReadOnlySpan<byte> packet, int arrivedOn)
    {
        if (Count == 1)
        {
            return 0;
        }

        int owner = Owner(packet, quoted: false);
        return owner == NoOwner ? arrivedOn : owner;
    }

    /// <summary>The hand-off queue of <paramref name="partition"/>, for a link handing a packet to it.</summary>
    internal PacketQueue InboxOf(int partition) => _inboxes[partition];

    /// <summary>Wakes <paramref name="partition"/>'s loop after packets were handed to it.</summary>
    internal void Wake(int partition) => _links[partition]?.ReceiveReady?.Invoke();

    // Offset of slice p in the ephemeral range: ceil(p * count / partitions), so that port offset o
    // is in slice floor(o * partitions / count).
    private int SliceStart(int partition) => (int)(((long)partition * _ephemeralCount + Count - 1) / Count);

    // The owner of a packet as received (quoted: false), or of the packet an ICMP error quotes, which
    // we sent, so its source is the local end (quoted: true).
    private int Owner(ReadOnlySpan<byte> packet, bool quoted)
    {
        if (packet.Length < 20)
        {
            return NoOwner;
        }

        int version = packet[0] >> 4;
        ReadOnlySpan<byte> source, destination, transport;
        int protocol;
        if (version == 4)
        {
            int headerLength = (packet[0] & 0x0F) * 4;
            if (headerLength < 20 || packet.Length < headerLength)
            {
                return NoOwner;
            }

            source = packet.Slice(12, 4);
            destination = packet.Slice(16, 4);
            protocol = packet[9];
            if ((BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & 0x3FFF) != 0)
            {
                // More fragments or an offset: every fragment of the datagram goes to one place.
                return Hash(source, destination, packet.Slice(4, 2), protocol);
            }

            transport = packet[headerLength..];
        }
        else if (version == 6 && packet.Length >= 40)
        {
            source = packet.Slice(8, 16);
            destination = packet.Slice(24, 16);
            // Hop-by-hop, routing and destination options may come before the fragment header: the
            // stack's own walk finds what follows them (a chain it would refuse has no owner here).
            Ipv6Chain chain = Ipv6Chain.Walk(packet, Ipv6Packet.HeaderLength, packet[6], 6);
            if (chain.Verdict != Ipv6ChainVerdict.Ok)
            {
                return NoOwner;
            }

            protocol = chain.UpperProtocol;
            int offset = chain.UpperOffset;
            if (protocol == IpProtocol.Fragment)
            {
                return packet.Length >= offset + 8 ? Hash(source, destination, packet.Slice(offset + 4, 4), IpProtocol.Fragment) : NoOwner;
            }

            transport = packet[offset..];
        }
        else
        {
            return NoOwner;
        }

        if (quoted)
        {
            // Our own packet, quoted back: its source is our end.
            ReadOnlySpan<byte> ours = source;
            source = destination;
            destination = ours;
        }

        switch (protocol)
        {
            case 6 or 17 when transport.Length >= 4:
            {
                ushort remotePort = BinaryPrimitives.ReadUInt16BigEndian(quoted ? transport[2..] : transport);
                ushort localPort = BinaryPrimitives.ReadUInt16BigEndian(quoted ? transport : transport[2..]);
                int offset = localPort - _ephemeralFirst;
                if ((uint)offset < (uint)_ephemeralCount)
                {
                    return (int)((long)offset * Count / _ephemeralCount);
                }

                // The ports in one order, remote then local, whichever way the packet went.
                Span<byte> ports = stackalloc byte[4];
                BinaryPrimitives.WriteUInt16BigEndian(ports, remotePort);
                BinaryPrimitives.WriteUInt16BigEndian(ports[2..], localPort);
                return Hash(source, destination, ports, protocol);
            }

            case 1 or 58 when transport.Length >= 8 && !quoted:
            {
                byte type = transport[0];
                bool v6 = protocol == 58;
                if (type == (v6 ? 129 : 0))
                {
                    return BinaryPrimitives.ReadUInt16BigEndian(transport[4..]) % Count; // an echo reply: its identifier
                }

                bool error = v6 ? type is 1 or 2 or 3 or 4 : type is 3 or 4 or 5 or 11 or 12;
                if (error)
                {
                    int owner = Owner(transport[8..], quoted: true);
                    return owner == NoOwner ? Hash(source, destination, default, protocol) : owner;
                }

                return Hash(source, destination, default, protocol);
            }

            default:
                return Hash(source, destination, default, protocol);
        }
    }

    // The same for every packet with these addresses (in the order received, or remote then local
    // for a flow) and these further bytes (a flow's ports, a fragment identification, or none),
    // keyed per process by HashCode's random seed.
    private int Hash(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, ReadOnlySpan<byte> rest, int protocol)
    {
        var hash = new HashCode();
        hash.AddBytes(source);
        hash.AddBytes(destination);
        hash.AddBytes(rest);
        hash.Add(protocol);
        return (int)((uint)hash.ToHashCode() % (uint)Count);
    }
}
