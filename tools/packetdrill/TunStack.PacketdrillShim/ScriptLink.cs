// The wire between packetdrill's script and the stack: what netdev_send injects, what netdev_receive sniffs.
using TunStack.Links;
using TunStack.Storage;

namespace TunStack.PacketdrillShim;

/// <summary>
/// A point-to-point link whose far end is the packetdrill script: packets the script injects wait
/// here until the stack's next poll, and packets the stack sends wait, with the virtual time they
/// left, until the script sniffs them. It offers what packetdrill's own tun0 offers the kernel
/// (checksum offload, TSO for IPv4 and IPv6), because the scripts are written for it: the stack
/// sends TCP super-segments, which the link hands over whole with their checksums completed, and
/// a TCP segment the script injects larger than the MTU (packetdrill writes those to tun0 as GSO
/// packets) reaches the stack as a super-segment. Used under the session's lock only.
/// </summary>
internal sealed class ScriptLink : ILink
{
    private const LinkOffloads TunOffloads = LinkOffloads.TransportChecksum | LinkOffloads.TcpSegmentationV4 | LinkOffloads.TcpSegmentationV6;
    private readonly Queue<(byte[] Packet, PacketOffload Offload)> _toStack = new();
    private readonly Queue<(byte[] Packet, Instant Sent)> _fromStack = new();

    public ScriptLink(int mtu) => Mtu = mtu;

    /// <inheritdoc/>
    public int Mtu { get; }

    /// <inheritdoc/>
    public int MaxPacketLength => PacketOffload.MaxSuperSegmentLength;

    /// <inheritdoc/>
    public LinkOffloads Offloads => TunOffloads;

    /// <inheritdoc/>
    public Action? ReceiveReady { get; set; }

    /// <inheritdoc/>
    public Instant NextDeadline => _toStack.Count > 0 ? Instant.Zero : Instant.MaxValue;

    /// <summary>Packets the stack sent that the script has not sniffed yet.</summary>
    public int Sent => _fromStack.Count;

    /// <summary>
    /// Queues a packet from the script for the stack's next poll; false (and dropped) when it is
    /// larger than the MTU and no TCP segment that could travel as a super-segment.
    /// </summary>
    public bool Inject(ReadOnlySpan<byte> packet)
    {
        if (packet.Length <= Mtu)
        {
            _toStack.Enqueue((packet.ToArray(), default));
            return true;
        }

        if (packet.Length > MaxPacketLength || SuperSegment(packet) is not { } offload)
        {
            return false;
        }

        _toStack.Enqueue((packet.ToArray(), offload));
        return true;
    }

    /// <summary>The oldest packet the stack sent and the virtual time it left, if any.</summary>
    public bool TrySniff(out byte[] packet, out Instant sent)
    {
        if (_fromStack.TryDequeue(out (byte[] Packet, Instant Sent) next))
        {
            (packet, sent) = next;
            return true;
        }

        packet = [];
        sent = default;
        return false;
    }

    /// <inheritdoc/>
    public int Receive(PacketBatch batch, Instant now)
    {
        int added = 0;
        while (!batch.IsFull && _toStack.TryPeek(out (byte[] Packet, PacketOffload Offload) next) && batch.TryAdd(next.Packet, next.Offload))
        {
            _toStack.Dequeue();
            added++;
        }

        return added;
    }

    /// <inheritdoc/>
    public void Transmit(PacketBatch batch, Instant now)
    {
        for (int i = 0; i < batch.Count; i++)
        {
            byte[] packet = batch[i].ToArray();
            SoftwareSegmentation.CompleteChecksum(packet, batch.OffloadAt(i));
            _fromStack.Enqueue((packet, now));
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _toStack.Clear();
        _fromStack.Clear();
    }

    // The GSO metadata packetdrill's tun write would carry for a TCP packet over the MTU (its
    // checksum is complete: the stack verifies it over the whole packet); null for anything else.
    private PacketOffload? SuperSegment(ReadOnlySpan<byte> packet)
    {
        int version = packet[0] >> 4;
        int ipHeader;
        if (version == 4 && packet.Length >= 20 && packet[9] == 6)
        {
            ipHeader = (packet[0] & 0x0f) * 4;
        }
        else if (version == 6 && packet.Length >= 40 && packet[6] == 6)
        {
            ipHeader = 40;
        }
        else
        {
            return null;
        }

        if (packet.Length < ipHeader + 20)
        {
            return null;
        }

        int headers = ipHeader + ((packet[ipHeader + 12] >> 4) * 4);
        return new PacketOffload
        {
            Segmentation = version == 4 ? PacketSegmentation.TcpV4 : PacketSegmentation.TcpV6,
            SegmentSize = (ushort)Math.Max(1, Mtu - headers),
            HeaderLength = (ushort)headers,
        };
    }
}
