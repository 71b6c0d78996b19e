// RFC 792 (ICMP for IPv4) and RFC 4443 (ICMPv6): the shared 8-byte header.
using System.Buffers.Binary;

namespace TunStack.Wire;

/// <summary>An ICMP/ICMPv6 header as the stack writes it.</summary>
/// <param name="Type">Type.</param>
/// <param name="Code">Code.</param>
/// <param name="RestOfHeader">The 4 type-specific bytes.</param>
internal readonly record struct IcmpHeader(byte Type, byte Code, uint RestOfHeader)
{
    /// <summary>Parses the 8-byte header.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out IcmpHeader header)
    {
        header = default;
        if (!IcmpMessage.TryCreate(buffer, out IcmpMessage m))
        {
            return false;
        }

        header = new IcmpHeader(m.Type, m.Code, m.RestOfHeader);
        return true;
    }

    /// <summary>An echo request/reply header.</summary>
    public static IcmpHeader Echo(byte type, ushort identifier, ushort sequence) => new(type, 0, ((uint)identifier << 16) | sequence);

    /// <summary>
    /// Writes the header at the start of <paramref name="message"/>, whose body is already in place,
    /// and fills the checksum. <paramref name="pseudoHeader"/> is 0 for ICMPv4 and the RFC 8200 8.1
    /// pseudo-header sum for ICMPv6.
    /// </summary>
    public void WriteTo(Span<byte> message, uint pseudoHeader)
    {
        message[0] = Type;
        message[1] = Code;
        message[2] = 0;
        message[3] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(message[4..], RestOfHeader);
        BinaryPrimitives.WriteUInt16BigEndian(message[2..], InternetChecksum.Finish(InternetChecksum.Add(pseudoHeader, message)));
    }
}
