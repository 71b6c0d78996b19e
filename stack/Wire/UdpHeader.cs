// RFC 768: the UDP header.
using System.Buffers.Binary;

namespace TunStack.Wire;

/// <summary>A UDP header as the stack writes it.</summary>
/// <param name="SourcePort">Source port.</param>
/// <param name="DestinationPort">Destination port.</param>
/// <param name="Length">Header plus data length.</param>
internal readonly record struct UdpHeader(ushort SourcePort, ushort DestinationPort, ushort Length)
{
    /// <summary>Parses 8 bytes.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out UdpHeader header)
    {
        header = default;
        if (!UdpDatagram.TryCreate(buffer, out UdpDatagram d))
        {
            return false;
        }

        header = new UdpHeader(d.SourcePort, d.DestinationPort, (ushort)d.Length);
        return true;
    }

    /// <summary>
    /// Writes the header at the start of <paramref name="datagram"/> (data already in place) and the
    /// checksum over <paramref name="pseudoHeader"/> and the datagram. RFC 768: a computed checksum of
    /// zero is sent as all ones, since zero means "no checksum".
    /// </summary>
    public void WriteTo(Span<byte> datagram, uint pseudoHeader)
    {
        BinaryPrimitives.WriteUInt16BigEndian(datagram, SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(datagram[2..], DestinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(datagram[4..], Length);
        datagram[6] = 0;
        datagram[7] = 0;
        ushort checksum = InternetChecksum.Finish(InternetChecksum.Add(pseudoHeader, datagram[..Length]));
        BinaryPrimitives.WriteUInt16BigEndian(datagram[6..], checksum == 0 ? (ushort)0xFFFF : checksum);
    }
}
