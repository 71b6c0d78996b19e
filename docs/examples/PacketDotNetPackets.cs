// docs/examples/PacketDotNetPackets.cs: a bridge from PacketDotNet to the stack's links. A packet
// built (or parsed) with PacketDotNet becomes the bytes of one IP packet, with its lengths and
// checksums computed here rather than by PacketDotNet (which gets the ICMPv6 checksum of packets
// it builds wrong), ready to hand to a link: a PacketBatch for MemoryLink.Transmit on the far end
// of a stack's link, or SharpPcap's SendPacket on the kernel side of a TUN. For tests and tools:
// the stack's own packet path never goes through PacketDotNet.
using System;
using System.Buffers.Binary;
using PacketDotNet;
using TunStack.Storage;

namespace TunStack.Examples;

public static class PacketDotNetPackets
{
    /// <summary>The IP packet in <paramref name="packet"/> (an Ethernet frame is unwrapped) as bytes, lengths and checksums filled in.</summary>
    public static byte[] ToIpBytes(Packet packet)
    {
        ArgumentNullException.ThrowIfNull(packet);
        IPPacket ip = packet as IPPacket ?? packet.Extract<IPPacket>()
            ?? throw new ArgumentException("the packet holds no IPv4 or IPv6 packet", nameof(packet));
        ip.UpdateCalculatedValues(); // total and payload lengths
        byte[] bytes = (byte[])ip.Bytes.Clone();
        bool v6 = bytes[0] >> 4 == 6;
        int header = v6 ? 40 : (bytes[0] & 0x0F) * 4;
        byte protocol = bytes[v6 ? 6 : 9]; // IPv6: a packet without extension headers
        if (!v6)
        {
            bytes[10] = bytes[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(10), Checksum(0, bytes.AsSpan(0, header)));
        }

        Span<byte> transport = bytes.AsSpan(header);
        int at = protocol switch { 6 => 16, 17 => 6, 1 or 58 => 2, _ => -1 }; // TCP, UDP, ICMP, ICMPv6
        if (at < 0 || transport.Length < at + 2)
        {
            return bytes;
        }

        transport[at] = transport[at + 1] = 0;
        ulong sum = 0;
        if (protocol != 1) // every transport but ICMPv4 sums a pseudo-header too (RFC 793, 768, 8200 8.1)
        {
            sum = v6 ? Sum(Sum(0, bytes.AsSpan(8, 32)), (ulong)transport.Length + protocol)
                     : Sum(Sum(0, bytes.AsSpan(12, 8)), (ulong)transport.Length + protocol);
        }

        ushort checksum = Checksum(sum, transport);
        BinaryPrimitives.WriteUInt16BigEndian(transport[at..], protocol == 17 && checksum == 0 ? (ushort)0xFFFF : checksum);
        return bytes;
    }

    /// <summary>Adds <paramref name="packet"/> to <paramref name="batch"/> as one IP packet; false when the batch is full or its slots too small.</summary>
    public static bool TryAdd(PacketBatch batch, Packet packet)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return batch.TryAdd(ToIpBytes(packet));
    }

    // RFC 1071: the one's complement of the one's complement sum of 16-bit words.
    private static ushort Checksum(ulong sum, ReadOnlySpan<byte> data)
    {
        sum = Sum(sum, data);
        while (sum >> 16 != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }

    private static ulong Sum(ulong sum, ReadOnlySpan<byte> data)
    {
        for (int i = 0; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }

        return data.Length % 2 == 1 ? sum + ((ulong)data[^1] << 8) : sum;
    }

    private static ulong Sum(ulong sum, ulong value) => sum + (value >> 16) + (value & 0xFFFF);
}
