namespace TunStack.Links;

/// <summary>The state of a packet's transport checksum as a link hands it over (virtio-net header flags).</summary>
public enum PacketChecksum : byte
{
    /// <summary>Complete in the packet and not yet checked: the receiver verifies it.</summary>
    Unverified = 0,

    /// <summary>
    /// VIRTIO_NET_HDR_F_NEEDS_CSUM: the checksum field holds only the pseudo-header sum; the sum over
    /// the bytes from <see cref="PacketOffload.ChecksumStart"/> is still to be added. A packet the
    /// kernel made this way never crossed a wire, so a receiver takes it as correct.
    /// </summary>
    Partial = 1,

    /// <summary>VIRTIO_NET_HDR_F_DATA_VALID: the link has verified it.</summary>
    Verified = 2,
}
