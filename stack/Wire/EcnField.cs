// RFC 3168 5 and 6.1.1: the ECN field in IPv4 and IPv6 headers, as a router reads and marks it.
using System.Buffers.Binary;

namespace TunStack.Wire;

/// <summary>
/// Reads and marks the ECN field of a whole IP packet (IPv4 or IPv6, told apart by the version
/// nibble) in place. Marking keeps an IPv4 header checksum valid by an incremental update
/// (RFC 1624), so it costs a few instructions per packet.
/// </summary>
public static class EcnField
{
    /// <summary>The ECN codepoint of <paramref name="packet"/>; <see cref="EcnCodepoint.NotEct"/> when it is too short or not IP.</summary>
    public static EcnCodepoint Read(ReadOnlySpan<byte> packet)
    {
        if (packet.Length >= Ipv4Packet.MinHeaderLength && packet[0] >> 4 == 4)
        {
            return (EcnCodepoint)(packet[1] & 0x03);
        }

        if (packet.Length >= 40 && packet[0] >> 4 == 6)
        {
            // Traffic Class is bits 4..11 of the first word; ECN is its two low bits.
            return (EcnCodepoint)((packet[1] >> 4) & 0x03);
        }

        return EcnCodepoint.NotEct;
    }

    /// <summary>
    /// RFC 3168 5: a congested router sets CE in a packet that carries ECT(0) or ECT(1) instead of
    /// dropping it. Returns true when the packet was ECN-capable (it now carries CE, or already
    /// did); false for Not-ECT or a packet that is not IP, which the router drops instead.
    /// </summary>
    public static bool TryMarkCongestionExperienced(Span<byte> packet)
    {
        EcnCodepoint current = Read(packet);
        if (current == EcnCodepoint.NotEct)
        {
            return false;
        }

        if (current == EcnCodepoint.CongestionExperienced)
        {
            return true;
        }

        if (packet[0] >> 4 == 4)
        {
            ushort oldWord = BinaryPrimitives.ReadUInt16BigEndian(packet);
            packet[1] |= 0x03;
            ushort newWord = BinaryPrimitives.ReadUInt16BigEndian(packet);
            ushort checksum = BinaryPrimitives.ReadUInt16BigEndian(packet[10..]);
            // RFC 1624 3: HC' = ~(~HC + ~m + m') over the changed 16-bit word.
            BinaryPrimitives.WriteUInt16BigEndian(packet[10..], InternetChecksum.Update(checksum, oldWord, newWord));
        }
        else
        {
            packet[1] |= 0x30;
        }

        return true;
    }
}
