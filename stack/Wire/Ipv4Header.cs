// RFC 791 3.1: the IPv4 header format.
using System.Buffers.Binary;

namespace TunStack.Wire;

/// <summary>An IPv4 header without options, as the stack writes it.</summary>
internal record struct Ipv4Header
{
    /// <summary>Type of service.</summary>
    public byte TypeOfService;
    /// <summary>Total Length: header plus payload.</summary>
    public ushort TotalLength;
    /// <summary>Identification.</summary>
    public ushort Identification;
    /// <summary>DF flag.</summary>
    public bool DontFragment;
    /// <summary>MF flag.</summary>
    public bool MoreFragments;
    /// <summary>Fragment offset in bytes (a multiple of 8).</summary>
    public int FragmentOffset;
    /// <summary>Time to live.</summary>
    public byte TimeToLive;
    /// <summary>Protocol number.</summary>
    public byte Protocol;
    /// <summary>Source address, network order as a big-endian integer.</summary>
    public uint Source;
    /// <summary>Destination address, network order as a big-endian integer.</summary>
    public uint Destination;
    /// <summary>Length of the options that followed the parsed header (0 for written headers).</summary>
    public int OptionsLength;

    /// <summary>Parses the header of a validated view.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out Ipv4Header header)
    {
        header = default;
        if (!Ipv4Packet.TryCreate(buffer, out Ipv4Packet p))
        {
            return false;
        }

        header = new Ipv4Header
        {
            TypeOfService = p.TypeOfService,
            TotalLength = (ushort)p.TotalLength,
            Identification = p.Identification,
            DontFragment = p.DontFragment,
            MoreFragments = p.MoreFragments,
            FragmentOffset = p.FragmentOffset,
            TimeToLive = p.TimeToLive,
            Protocol = p.Protocol,
            Source = BinaryPrimitives.ReadUInt32BigEndian(p.Source),
            Destination = BinaryPrimitives.ReadUInt32BigEndian(p.Destination),
            OptionsLength = p.HeaderLength - Ipv4Packet.MinHeaderLength,
        };
        return true;
    }

    /// <summary>Writes the 20-byte header with its checksum; returns the bytes written.</summary>
    public readonly int WriteTo(Span<byte> destination)
    {
        Span<byte> h = destination[..Ipv4Packet.MinHeaderLength];
        h[0] = 0x45;
        h[1] = TypeOfService;
        BinaryPrimitives.WriteUInt16BigEndian(h[2..], TotalLength);
        BinaryPrimitives.WriteUInt16BigEndian(h[4..], Identification);
        int flagsOffset = (DontFragment ? 0x4000 : 0) | (MoreFragments ? 0x2000 : 0) | ((FragmentOffset >> 3) & 0x1FFF);
        BinaryPrimitives.WriteUInt16BigEndian(h[6..], (ushort)flagsOffset);
        h[8] = TimeToLive;
        h[9] = Protocol;
        h[10] = 0;
        h[11] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(h[12..], Source);
        BinaryPrimitives.WriteUInt32BigEndian(h[16..], Destination);
        BinaryPrimitives.WriteUInt16BigEndian(h[10..], InternetChecksum.Compute(h));
        return Ipv4Packet.MinHeaderLength;
    }
}
