using System.Buffers.Binary;

namespace TunStack.Tun;

/// <summary>
/// struct virtio_net_hdr (virtio spec 5.1.6), the 10-byte prefix of every packet on a TUN opened
/// with IFF_VNET_HDR. <see cref="TunDevice"/> maps it to and from the stack's
/// <see cref="Links.PacketOffload"/>. Little-endian, as TUN uses by default on this host order.
/// </summary>
internal record struct VirtioNetHeader
{
    /// <summary>Size of the header without num_buffers.</summary>
    public const int Length = 10;

    /// <summary>VIRTIO_NET_HDR_F_NEEDS_CSUM.</summary>
    public const byte FlagNeedsChecksum = 1;
    /// <summary>VIRTIO_NET_HDR_F_DATA_VALID.</summary>
    public const byte FlagDataValid = 2;
    /// <summary>VIRTIO_NET_HDR_GSO_NONE.</summary>
    public const byte GsoNone = 0;
    /// <summary>VIRTIO_NET_HDR_GSO_TCPV4.</summary>
    public const byte GsoTcpV4 = 1;
    /// <summary>VIRTIO_NET_HDR_GSO_UDP.</summary>
    public const byte GsoUdp = 3;
    /// <summary>VIRTIO_NET_HDR_GSO_TCPV6.</summary>
    public const byte GsoTcpV6 = 4;

    /// <summary>flags.</summary>
    public byte Flags;
    /// <summary>gso_type.</summary>
    public byte GsoType;
    /// <summary>hdr_len.</summary>
    public ushort HeaderLength;
    /// <summary>gso_size.</summary>
    public ushort GsoSize;
    /// <summary>csum_start.</summary>
    public ushort ChecksumStart;
    /// <summary>csum_offset.</summary>
    public ushort ChecksumOffset;

    /// <summary>Reads 10 bytes.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out VirtioNetHeader header)
    {
        header = default;
        if (buffer.Length < Length)
        {
            return false;
        }

        header = new VirtioNetHeader
        {
            Flags = buffer[0],
            GsoType = buffer[1],
            HeaderLength = BinaryPrimitives.ReadUInt16LittleEndian(buffer[2..]),
            GsoSize = BinaryPrimitives.ReadUInt16LittleEndian(buffer[4..]),
            ChecksumStart = BinaryPrimitives.ReadUInt16LittleEndian(buffer[6..]),
            ChecksumOffset = BinaryPrimitives.ReadUInt16LittleEndian(buffer[8..]),
        };
        return true;
    }

    /// <summary>Writes 10 bytes.</summary>
    public readonly void WriteTo(Span<byte> destination)
    {
        destination[0] = Flags;
        destination[1] = GsoType;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], HeaderLength);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], GsoSize);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], ChecksumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[8..], ChecksumOffset);
    }
}
