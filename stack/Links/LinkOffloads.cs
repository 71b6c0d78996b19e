namespace TunStack.Links;

/// <summary>
/// What a link does for the stack in the manner of a NIC's offloads (the virtio-net features a TUN
/// device negotiates with TUNSETOFFLOAD): with them the stack may hand over packets whose transport
/// checksum is left partial and TCP super-segments that the link cuts into wire segments.
/// </summary>
[Flags]
public enum LinkOffloads
{
    /// <summary>Plain packets: every checksum complete, nothing larger than the MTU.</summary>
    None = 0,

    /// <summary>
    /// The link completes TCP and UDP checksums left partial (<see cref="PacketChecksum.Partial"/>,
    /// TUN_F_CSUM), and may deliver packets whose checksum it vouches for.
    /// </summary>
    TransportChecksum = 1,

    /// <summary>The link segments IPv4 TCP super-segments (TUN_F_TSO4); needs <see cref="TransportChecksum"/>.</summary>
    TcpSegmentationV4 = 2,

    /// <summary>The link segments IPv6 TCP super-segments (TUN_F_TSO6); needs <see cref="TransportChecksum"/>.</summary>
    TcpSegmentationV6 = 4,
}
