// Cutting a TCP super-segment in software, as the kernel's GSO or a NIC's TSO does (Linux
// tcp_gso_segment): each piece a valid segment of its own, the payload in order, flags where
// they belong, and metadata that disagrees with the headers refused without a partial result.
using System.Buffers.Binary;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Storage;
using TunStack.Wire;

namespace TunStack.Tests.Links;

public class SoftwareSegmentationTests
{
    private static readonly InternetAddress Source4 = InternetAddress.Parse("10.1.0.1"), Destination4 = InternetAddress.Parse("10.1.0.2");
    private static readonly InternetAddress Source6 = InternetAddress.Parse("fd01::1"), Destination6 = InternetAddress.Parse("fd01::2");

    // A super-segment as the stack hands it to a link: IP header, TCP header with a partial
    // checksum (the pseudo-header sum over the whole length), and the payload.
    private static (byte[] Packet, PacketOffload Offload) SuperSegment(bool v6, byte[] payload, int mss, TcpFlags flags)
    {
        InternetAddress source = v6 ? Source6 : Source4, destination = v6 ? Destination6 : Destination4;
        var tcp = new byte[20 + payload.Length];
        payload.CopyTo(tcp, 20);
        new TcpHeader { SourcePort = 1111, DestinationPort = 2222, SequenceNumber = new SeqNumber(0xFFFFF000), AcknowledgmentNumber = new SeqNumber(77), Flags = flags, Window = 500 }
            .WriteTo(tcp, 0, PseudoHeader.Sum(source, destination, IpProtocol.Tcp, tcp.Length), partialChecksum: true);
        byte[] packet = v6 ? Packets.Ipv6(source, destination, IpProtocol.Tcp, tcp) : Packets.Ipv4(source, destination, IpProtocol.Tcp, tcp, id: 900, df: true);
        int ip = v6 ? 40 : 20;
        return (packet, new PacketOffload
        {
            Checksum = PacketChecksum.Partial,
            ChecksumStart = (ushort)ip,
            ChecksumOffset = 16,
            Segmentation = v6 ? PacketSegmentation.TcpV6 : PacketSegmentation.TcpV4,
            SegmentSize = (ushort)mss,
            HeaderLength = (ushort)(ip + 20),
        });
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SuperSegmentOfThreeAndAHalfMss_Segment_FourValidSegmentsInOrderFlagsOnTheLast(bool v6)
    {
        var payload = new byte[3500];
        new Random(35).NextBytes(payload);
        (byte[] packet, PacketOffload offload) = SuperSegment(v6, payload, 1000, TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin | TcpFlags.Cwr);
        var into = new PacketBatch(8, 1500);
        Assert.Equal(4, SoftwareSegmentation.Segment(packet, offload, into));
        Assert.Equal(4, into.Count);

        var joined = new List<byte>();
        for (int i = 0; i < 4; i++)
        {
            byte[] wire = into[i].ToArray();
            Assert.False(into.OffloadAt(i).IsSet);
            ReadOnlySpan<byte> transport;
            uint pseudo;
            if (v6)
            {
                Assert.True(Ipv6Packet.TryCreate(wire, out Ipv6Packet ip, out _));
                transport = ip.Payload;
                pseudo = InternetChecksum.PseudoHeaderV6(ip.Source, ip.Destination, IpProtocol.Tcp, transport.Length);
            }
            else
            {
                Assert.True(Ipv4Packet.TryCreate(wire, out Ipv4Packet ip, out _));
                Assert.True(ip.IsChecksumValid);
                Assert.Equal(900 + i, ip.Identification);
                Assert.True(ip.DontFragment);
                transport = ip.Payload;
                pseudo = InternetChecksum.PseudoHeaderV4(ip.Source, ip.Destination, IpProtocol.Tcp, transport.Length);
            }

            Assert.True(TcpSegment.TryCreate(transport, out TcpSegment segment, out _));
            Assert.True(segment.IsChecksumValid(pseudo), $"segment {i}: checksum");
            Assert.Equal(new SeqNumber(0xFFFFF000) + (i * 1000), segment.SequenceNumber);
            Assert.Equal(i < 3 ? 1000 : 500, segment.Payload.Length);
            bool last = i == 3;
            Assert.Equal(last, (segment.Flags & TcpFlags.Fin) != 0);
            Assert.Equal(last, (segment.Flags & TcpFlags.Psh) != 0);
            Assert.Equal(i == 0, (segment.Flags & TcpFlags.Cwr) != 0);
            Assert.True((segment.Flags & TcpFlags.Ack) != 0);
            joined.AddRange(segment.Payload.ToArray());
        }

        Assert.Equal(payload, joined.ToArray());
    }

    [Fact]
    public void PartialChecksumOnPlainPacket_CompleteChecksum_ValidAsAnyOther()
    {
        (byte[] packet, PacketOffload offload) = SuperSegment(false, new byte[333], 1000, TcpFlags.Ack);
        offload = offload with { Segmentation = PacketSegmentation.None, SegmentSize = 0 };
        Assert.True(SoftwareSegmentation.CompleteChecksum(packet, offload));
        Assert.True(Ipv4Packet.TryCreate(packet, out Ipv4Packet ip, out _));
        Assert.True(TcpSegment.TryCreate(ip.Payload, out TcpSegment segment, out _));
        Assert.True(segment.IsChecksumValid(InternetChecksum.PseudoHeaderV4(ip.Source, ip.Destination, IpProtocol.Tcp, ip.Payload.Length)));
    }

    [Fact]
    public void PartialChecksumOffsetsBeyondThePacket_CompleteChecksum_False()
    {
        (byte[] packet, PacketOffload offload) = SuperSegment(false, new byte[10], 1000, TcpFlags.Ack);
        Assert.False(SoftwareSegmentation.CompleteChecksum(packet, offload with { ChecksumStart = (ushort)(packet.Length - 4) }));
    }

    public static IEnumerable<object[]> Refused() => new[]
    {
        new object[] { "no segment size", (PacketOffload o) => o with { SegmentSize = 0 } },
        new object[] { "IPv6 kind on IPv4 bytes", (PacketOffload o) => o with { Segmentation = PacketSegmentation.TcpV6 } },
        new object[] { "a kind not cut here", (PacketOffload o) => o with { Segmentation = PacketSegmentation.Unsupported } },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void MetadataThatDisagrees_Segment_MinusOneAndNothingAdded(string what, Func<PacketOffload, PacketOffload> change)
    {
        (byte[] packet, PacketOffload offload) = SuperSegment(false, new byte[3000], 1000, TcpFlags.Ack);
        var into = new PacketBatch(8, 1500);
        Assert.True(SoftwareSegmentation.Segment(packet, change(offload), into) == -1, what);
        Assert.Equal(0, into.Count);
    }

    [Fact]
    public void TooFewSlots_Segment_MinusOneAndNothingAdded()
    {
        (byte[] packet, PacketOffload offload) = SuperSegment(false, new byte[5000], 1000, TcpFlags.Ack);
        var into = new PacketBatch(4, 1500);
        Assert.Equal(-1, SoftwareSegmentation.Segment(packet, offload, into));
        Assert.Equal(0, into.Count);
    }

    [Fact]
    public void TruncatedTcpHeader_Segment_MinusOne()
    {
        (byte[] packet, PacketOffload offload) = SuperSegment(false, new byte[3000], 1000, TcpFlags.Ack);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), 30);
        Assert.Equal(-1, SoftwareSegmentation.Segment(packet.AsSpan(0, 30), offload, new PacketBatch(8, 1500)));
    }
}
