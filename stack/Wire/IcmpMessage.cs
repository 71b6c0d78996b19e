// RFC 792 (ICMP for IPv4) and RFC 4443 (ICMPv6): both share the 8-byte header layout
// type, code, checksum, 4 bytes of type-specific data.
using System.Buffers.Binary;

namespace TunStack.Wire;

/// <summary>A read-only view of an ICMP or ICMPv6 message (the layouts are the same).</summary>
public readonly ref struct IcmpMessage
{
    /// <summary>Length of the header.</summary>
    public const int HeaderLength = 8;

    private readonly ReadOnlySpan<byte> _bytes;

    private IcmpMessage(ReadOnlySpan<byte> bytes) => _bytes = bytes;

    /// <summary>Checks that the 8-byte header is present.</summary>
    public static bool TryCreate(ReadOnlySpan<byte> buffer, out IcmpMessage message)
    {
        message = buffer.Length < HeaderLength ? default : new IcmpMessage(buffer);
        return buffer.Length >= HeaderLength;
    }

    /// <summary>The whole message.</summary>
    public ReadOnlySpan<byte> Message => _bytes;

    /// <summary>Type.</summary>
    public byte Type => _bytes[0];

    /// <summary>Code.</summary>
    public byte Code => _bytes[1];

    /// <summary>Checksum as carried.</summary>
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_bytes[2..]);

    /// <summary>The 4 type-specific bytes as one big-endian value.</summary>
    public uint RestOfHeader => BinaryPrimitives.ReadUInt32BigEndian(_bytes[4..]);

    /// <summary>Echo identifier (echo request/reply).</summary>
    public ushort Identifier => BinaryPrimitives.ReadUInt16BigEndian(_bytes[4..]);

    /// <summary>Echo sequence number (echo request/reply).</summary>
    public ushort SequenceNumber => BinaryPrimitives.ReadUInt16BigEndian(_bytes[6..]);

    /// <summary>Everything after the 8-byte header (echo data, or the quoted datagram of an error).</summary>
    public ReadOnlySpan<byte> Body => _bytes[HeaderLength..];

    /// <summary>RFC 792: the checksum covers the ICMP message (IPv4, no pseudo-header).</summary>
    public bool IsChecksumValidV4 => InternetChecksum.IsValid(InternetChecksum.Add(0, _bytes));

    /// <summary>RFC 4443 2.3: the checksum covers the IPv6 pseudo-header and the message.</summary>
    public bool IsChecksumValidV6(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination)
        => InternetChecksum.IsValid(InternetChecksum.Add(InternetChecksum.PseudoHeaderV6(source, destination, IpProtocol.IcmpV6, _bytes.Length), _bytes));
}

/// <summary>An ICMP/ICMPv6 header as the stack writes it.</summary>
/// <param name="Type">Type.</param>
/// <param name="Code">Code.</param>
/// <param name="RestOfHeader">The 4 type-specific bytes.</param>
public readonly record struct IcmpHeader(byte Type, byte Code, uint RestOfHeader)
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

/// <summary>ICMPv4 types (RFC 792) and codes used by the stack.</summary>
public static class Icmpv4Type
{
    /// <summary>Echo Reply.</summary>
    public const byte EchoReply = 0;
    /// <summary>Destination Unreachable.</summary>
    public const byte DestinationUnreachable = 3;
    /// <summary>Source Quench (deprecated, RFC 6633).</summary>
    public const byte SourceQuench = 4;
    /// <summary>Redirect.</summary>
    public const byte Redirect = 5;
    /// <summary>Echo Request.</summary>
    public const byte EchoRequest = 8;
    /// <summary>Time Exceeded.</summary>
    public const byte TimeExceeded = 11;
    /// <summary>Parameter Problem.</summary>
    public const byte ParameterProblem = 12;

    /// <summary>Destination Unreachable code: protocol unreachable.</summary>
    public const byte CodeProtocolUnreachable = 2;
    /// <summary>Destination Unreachable code: port unreachable.</summary>
    public const byte CodePortUnreachable = 3;
    /// <summary>Destination Unreachable code: fragmentation needed and DF set.</summary>
    public const byte CodeFragmentationNeeded = 4;
    /// <summary>Time Exceeded code: fragment reassembly time exceeded.</summary>
    public const byte CodeReassemblyTimeExceeded = 1;

    /// <summary>RFC 1122 3.2.2: error messages (as opposed to queries/informational).</summary>
    public static bool IsError(byte type) => type is DestinationUnreachable or SourceQuench or Redirect or TimeExceeded or ParameterProblem;
}

/// <summary>ICMPv6 types (RFC 4443, RFC 4861, RFC 3810) and codes used by the stack.</summary>
public static class Icmpv6Type
{
    /// <summary>Destination Unreachable.</summary>
    public const byte DestinationUnreachable = 1;
    /// <summary>Packet Too Big.</summary>
    public const byte PacketTooBig = 2;
    /// <summary>Time Exceeded.</summary>
    public const byte TimeExceeded = 3;
    /// <summary>Parameter Problem.</summary>
    public const byte ParameterProblem = 4;
    /// <summary>Echo Request.</summary>
    public const byte EchoRequest = 128;
    /// <summary>Echo Reply.</summary>
    public const byte EchoReply = 129;
    /// <summary>MLD query (RFC 2710).</summary>
    public const byte MldQuery = 130;
    /// <summary>MLDv1 report.</summary>
    public const byte MldReport = 131;
    /// <summary>MLDv1 done.</summary>
    public const byte MldDone = 132;
    /// <summary>Router Solicitation (RFC 4861).</summary>
    public const byte RouterSolicitation = 133;
    /// <summary>Router Advertisement.</summary>
    public const byte RouterAdvertisement = 134;
    /// <summary>Neighbor Solicitation.</summary>
    public const byte NeighborSolicitation = 135;
    /// <summary>Neighbor Advertisement.</summary>
    public const byte NeighborAdvertisement = 136;
    /// <summary>Redirect.</summary>
    public const byte Redirect = 137;
    /// <summary>MLDv2 report (RFC 3810).</summary>
    public const byte Mldv2Report = 143;

    /// <summary>Destination Unreachable code: port unreachable.</summary>
    public const byte CodePortUnreachable = 4;
    /// <summary>Time Exceeded code: fragment reassembly time exceeded.</summary>
    public const byte CodeReassemblyTimeExceeded = 1;
    /// <summary>Parameter Problem code: erroneous header field.</summary>
    public const byte CodeErroneousHeader = 0;
    /// <summary>Parameter Problem code: unrecognized Next Header.</summary>
    public const byte CodeUnrecognizedNextHeader = 1;
    /// <summary>Parameter Problem code: unrecognized IPv6 option.</summary>
    public const byte CodeUnrecognizedOption = 2;
    /// <summary>Parameter Problem code: first fragment has an incomplete header chain (RFC 7112).</summary>
    public const byte CodeIncompleteHeaderChain = 3;

    /// <summary>RFC 4443 2.1: types 0-127 are errors.</summary>
    public static bool IsError(byte type) => type < 128;
}
