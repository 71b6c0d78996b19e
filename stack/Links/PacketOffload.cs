namespace TunStack.Links;

/// <summary>
/// The offload metadata of one packet, as a virtio-net header carries it (virtio 1.2, 5.1.6): the
/// state of its transport checksum and, for a super-segment, how the link is to cut it. The default
/// value is a plain packet with a complete, unverified checksum.
/// </summary>
public readonly record struct PacketOffload
{
    /// <summary>The largest packet a link with segmentation offloads carries: a 65,535-byte IPv6 payload behind its 40-byte header.</summary>
    public const int MaxSuperSegmentLength = 65535 + 40;

    /// <summary>The largest packet a link with <paramref name="offloads"/> carries: a super-segment where it segments TCP, else <paramref name="mtu"/>.</summary>
    public static int LargestPacket(LinkOffloads offloads, int mtu)
        => (offloads & (LinkOffloads.TcpSegmentationV4 | LinkOffloads.TcpSegmentationV6)) != 0 ? MaxSuperSegmentLength : mtu;

    /// <summary>The transport checksum's state.</summary>
    public PacketChecksum Checksum { get; init; }

    /// <summary>With <see cref="PacketChecksum.Partial"/>: where the checksummed bytes start (the transport header), from the IP header's first byte (csum_start).</summary>
    public ushort ChecksumStart { get; init; }

    /// <summary>With <see cref="PacketChecksum.Partial"/>: where the checksum field lies, from <see cref="ChecksumStart"/> (csum_offset: 16 for TCP, 6 for UDP).</summary>
    public ushort ChecksumOffset { get; init; }

    /// <summary>Whether this packet is a super-segment, and of which kind (gso_type).</summary>
    public PacketSegmentation Segmentation { get; init; }

    /// <summary>For a super-segment: payload bytes per wire segment (gso_size, the MSS).</summary>
    public ushort SegmentSize { get; init; }

    /// <summary>For a super-segment: bytes of IP and TCP header that each wire segment repeats (hdr_len).</summary>
    public ushort HeaderLength { get; init; }

    /// <summary>True for anything but a plain packet with an unverified checksum.</summary>
    public bool IsSet => Checksum != PacketChecksum.Unverified || Segmentation != PacketSegmentation.None;
}
