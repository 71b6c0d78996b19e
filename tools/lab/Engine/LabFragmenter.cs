using System.Buffers.Binary;
using TunStack.Wire;

namespace TunStack.Lab;

/// <summary>
/// RFC 791 3.2 fragmentation at a lab router: an IPv4 packet without DF that is larger than the
/// next link's MTU leaves as fragments whose data are multiples of 8 bytes. The first fragment
/// keeps every option; later ones only the options whose copied flag is set.
/// </summary>
internal static class LabFragmenter
{
    /// <summary>The fragments of <paramref name="packet"/> for a link of <paramref name="mtu"/> bytes (its header checked by the caller).</summary>
    public static List<LabPacket> Fragment(LabPacket packet, int mtu)
    {
        ReadOnlySpan<byte> p = packet.Data;
        int headerLength = (p[0] & 0xF) * 4;
        ReadOnlySpan<byte> firstHeader = p[..headerLength];
        Span<byte> laterHeader = stackalloc byte[60];
        int laterLength = CopiedHeader(firstHeader, laterHeader);
        ReadOnlySpan<byte> data = p[headerLength..];
        ushort flagsAndOffset = BinaryPrimitives.ReadUInt16BigEndian(p[6..]);
        int baseOffset = (flagsAndOffset & 0x1FFF) * 8;
        bool moreAfterAll = (flagsAndOffset & 0x2000) != 0;

        var fragments = new List<LabPacket>();
        int at = 0;
        while (at < data.Length)
        {
            ReadOnlySpan<byte> header = at == 0 ? firstHeader : laterHeader[..laterLength];
            int room = (mtu - header.Length) / 8 * 8;
            int length = Math.Min(room, data.Length - at);
            bool more = at + length < data.Length || moreAfterAll;
            var fragment = new LabPacket(header.Length + length) { EnqueuedAt = packet.EnqueuedAt };
            Span<byte> f = fragment.Data;
            header.CopyTo(f);
            data.Slice(at, length).CopyTo(f[header.Length..]);
            f[0] = (byte)(0x40 | (header.Length / 4));
            BinaryPrimitives.WriteUInt16BigEndian(f[2..], (ushort)f.Length);
            BinaryPrimitives.WriteUInt16BigEndian(f[6..], (ushort)((more ? 0x2000 : 0) | ((baseOffset + at) / 8)));
            f[10] = 0;
            f[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(f[10..], InternetChecksum.Compute(f[..header.Length]));
            fragments.Add(fragment);
            at += length;
        }

        return fragments;
    }

    // RFC 791 3.1: the header of later fragments: the fixed part and the options with the copied
    // flag (the type's high bit), padded with End of Option List to a multiple of 4.
    private static int CopiedHeader(ReadOnlySpan<byte> header, Span<byte> into)
    {
        header[..Ipv4Packet.MinHeaderLength].CopyTo(into);
        int length = Ipv4Packet.MinHeaderLength;
        ReadOnlySpan<byte> options = header[Ipv4Packet.MinHeaderLength..];
        int i = 0;
        while (i < options.Length && options[i] != 0)
        {
            int size = options[i] == 1 ? 1 : i + 1 < options.Length ? Math.Max(2, (int)options[i + 1]) : options.Length - i;
            size = Math.Min(size, options.Length - i);
            if ((options[i] & 0x80) != 0)
            {
                options.Slice(i, size).CopyTo(into[length..]);
                length += size;
            }

            i += size;
        }

        while (length % 4 != 0)
        {
            into[length++] = 0;
        }

        return length;
    }
}
