// What a NIC (or the kernel's GSO) does with an offloaded packet, done in software: completing a
// partial checksum and cutting a TCP super-segment into wire segments. Links that cannot pass
// offloaded packets on (an impairment that acts per wire packet) use it, and so do tests.
using System.Buffers.Binary;
using TunStack.Storage;
using TunStack.Wire;

namespace TunStack.Links;

/// <summary>
/// Turns offloaded packets into plain ones: <see cref="CompleteChecksum"/> finishes a partial
/// transport checksum; <see cref="Segment"/> cuts a TCP super-segment into segments of
/// <see cref="PacketOffload.SegmentSize"/> payload bytes, as Linux's tcp_gso_segment does.
/// </summary>
public static class SoftwareSegmentation
{
    /// <summary>
    /// A batch with room for the wire segments of the largest super-segment, cut at a segment size
    /// of 256 bytes or more, each at most <paramref name="mtu"/> bytes.
    /// </summary>
    internal static PacketBatch WireBatch(int mtu) => new((PacketOffload.MaxSuperSegmentLength / 256) + 1, mtu);

    /// <summary>
    /// Completes a <see cref="PacketChecksum.Partial"/> checksum in place: the field already holds
    /// the pseudo-header sum, so the one's complement of the sum from ChecksumStart to the end is
    /// the checksum (virtio 1.2, 5.1.6.2). False when the offsets lie outside the packet.
    /// </summary>
    public static bool CompleteChecksum(Span<byte> packet, in PacketOffload offload)
    {
        if (offload.Checksum != PacketChecksum.Partial)
        {
            return true;
        }

        int start = offload.ChecksumStart;
        int field = start + offload.ChecksumOffset;
        if (field + 2 > packet.Length)
        {
            return false;
        }

        BinaryPrimitives.WriteUInt16BigEndian(packet[field..], InternetChecksum.Finish(InternetChecksum.Add(0, packet[start..])));
        return true;
    }

    /// <summary>
    /// Cuts the super-segment <paramref name="packet"/> into wire segments appended to
    /// <paramref name="into"/>, each with its own IP length (IPv4: identification counting up and a
    /// header checksum), sequence number and complete TCP checksum; FIN and PSH only on the last,
    /// CWR only on the first. A packet that is no super-segment is copied with its checksum
    /// completed. Returns the segments added, or -1 (nothing added) when the headers disagree with
    /// the metadata or <paramref name="into"/> lacks room.
    /// </summary>
    public static int Segment(ReadOnlySpan<byte> packet, in PacketOffload offload, PacketBatch into)
    {
        ArgumentNullException.ThrowIfNull(into);
        if (offload.Segmentation == PacketSegmentation.None)
        {
            if (into.IsFull || packet.Length > into.SlotCapacity)
            {
                return -1;
            }

            Span<byte> slot = into.NextFree;
            packet.CopyTo(slot);
            if (!CompleteChecksum(slot[..packet.Length], offload))
            {
                return -1;
            }

            into.Commit(packet.Length);
            return 1;
        }

        bool v6 = offload.Segmentation == PacketSegmentation.TcpV6;
        if (offload.Segmentation is not (PacketSegmentation.TcpV4 or PacketSegmentation.TcpV6) || packet.Length == 0 || (packet[0] >> 4) != (v6 ? 6 : 4))
        {
            return -1;
        }

        int ipHeader = v6 ? Ipv6Packet.HeaderLength : (packet[0] & 0x0F) * 4;
        if (ipHeader < 20 || ipHeader + TcpSegment.MinHeaderLength > packet.Length || packet[v6 ? 6 : 9] != IpProtocol.Tcp)
        {
            return -1;
        }

        int headers = ipHeader + ((packet[ipHeader + 12] >> 4) * 4);
        int mss = offload.SegmentSize;
        if (headers < ipHeader + TcpSegment.MinHeaderLength || headers > packet.Length || mss == 0)
        {
            return -1;
        }

        int payload = packet.Length - headers;
        int count = Math.Max(1, (payload + mss - 1) / mss);
        if (into.Capacity - into.Count < count || headers + Math.Min(mss, payload) > into.SlotCapacity)
        {
            return -1;
        }

        ReadOnlySpan<byte> header = packet[..headers];
        uint sequence = BinaryPrimitives.ReadUInt32BigEndian(packet[(ipHeader + 4)..]);
        ushort identification = v6 ? (ushort)0 : BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
        byte flags = packet[ipHeader + 13];
        for (int i = 0; i < count; i++)
        {
            int offset = i * mss;
            int length = Math.Min(mss, payload - offset);
            Span<byte> slot = into.NextFree;
            header.CopyTo(slot);
            packet.Slice(headers + offset, length).CopyTo(slot[headers..]);
            Span<byte> segment = slot[..(headers + length)];
            Span<byte> tcp = segment[ipHeader..];
            BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], sequence + (uint)offset);
            byte segmentFlags = flags;
            if (i < count - 1)
            {
                segmentFlags &= unchecked((byte)~(TcpFlags.Fin | TcpFlags.Psh));
            }

            if (i > 0)
            {
                segmentFlags &= unchecked((byte)~TcpFlags.Cwr);
            }

            tcp[13] = segmentFlags;
            uint pseudo;
            if (v6)
            {
                BinaryPrimitives.WriteUInt16BigEndian(segment[4..], (ushort)(segment.Length - Ipv6Packet.HeaderLength));
                pseudo = InternetChecksum.PseudoHeaderV6(segment.Slice(8, 16), segment.Slice(24, 16), IpProtocol.Tcp, tcp.Length);
            }
            else
            {
                BinaryPrimitives.WriteUInt16BigEndian(segment[2..], (ushort)segment.Length);
                BinaryPrimitives.WriteUInt16BigEndian(segment[4..], (ushort)(identification + i));
                segment[10] = 0;
                segment[11] = 0;
                BinaryPrimitives.WriteUInt16BigEndian(segment[10..], InternetChecksum.Compute(segment[..ipHeader]));
                pseudo = InternetChecksum.PseudoHeaderV4(segment.Slice(12, 4), segment.Slice(16, 4), IpProtocol.Tcp, tcp.Length);
            }

            tcp[16] = 0;
            tcp[17] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], InternetChecksum.Finish(InternetChecksum.Add(pseudo, tcp)));
            into.Commit(segment.Length);
        }

        return count;
    }
}
