namespace TunStack.Links;

/// <summary>What kind of super-segment a packet is (virtio-net gso_type), if it is one.</summary>
public enum PacketSegmentation : byte
{
    /// <summary>An ordinary packet (VIRTIO_NET_HDR_GSO_NONE).</summary>
    None = 0,

    /// <summary>An IPv4 TCP super-segment, cut into segments of <see cref="PacketOffload.SegmentSize"/> payload bytes (GSO_TCPV4).</summary>
    TcpV4 = 1,

    /// <summary>An IPv6 TCP super-segment (GSO_TCPV6).</summary>
    TcpV6 = 4,

    /// <summary>A kind the stack does not handle (UDP fragmentation or segmentation, TCP with ECN); such packets are dropped and counted.</summary>
    Unsupported = 255,
}
