// The virtio-net header (virtio 1.2, 5.1.6) as the TUN device reads and writes it, mapped to and
// from the stack's PacketOffload: every gso_type and checksum flag round-trips, kinds the stack
// does not take come through as Unsupported (for the stack to drop and count), never as a guess.
using TunStack.Links;
using TunStack.Tun;

namespace TunStack.Tests.Tun;

public class VirtioNetHeaderTests
{
    public static IEnumerable<object[]> Offloads() => new[]
    {
        new object[] { default(PacketOffload) },
        new object[] { new PacketOffload { Checksum = PacketChecksum.Partial, ChecksumStart = 20, ChecksumOffset = 16 } },
        new object[] { new PacketOffload { Checksum = PacketChecksum.Partial, ChecksumStart = 40, ChecksumOffset = 6 } },
        new object[] { new PacketOffload { Checksum = PacketChecksum.Partial, ChecksumStart = 20, ChecksumOffset = 16, Segmentation = PacketSegmentation.TcpV4, SegmentSize = 1448, HeaderLength = 52 } },
        new object[] { new PacketOffload { Checksum = PacketChecksum.Partial, ChecksumStart = 40, ChecksumOffset = 16, Segmentation = PacketSegmentation.TcpV6, SegmentSize = 1428, HeaderLength = 72 } },
    };

    [Theory]
    [MemberData(nameof(Offloads))]
    public void StackMetadata_WrittenAsHeaderAndReadBack_Unchanged(PacketOffload offload)
    {
        var bytes = new byte[VirtioNetHeader.Length];
        TunDevice.HeaderFor(offload).WriteTo(bytes);
        Assert.Equal(offload, TunDevice.OffloadOf(bytes));
    }

    [Fact]
    public void SuperSegmentHeader_Bytes_LittleEndianFieldsWhereVirtioPutsThem()
    {
        var bytes = new byte[VirtioNetHeader.Length];
        TunDevice.HeaderFor(new PacketOffload { Checksum = PacketChecksum.Partial, ChecksumStart = 20, ChecksumOffset = 16, Segmentation = PacketSegmentation.TcpV4, SegmentSize = 1448, HeaderLength = 52 }).WriteTo(bytes);
        Assert.Equal(new byte[] { 1, 1, 52, 0, 0xA8, 0x05, 20, 0, 16, 0 }, bytes);
    }

    [Fact]
    public void KernelHeader_DataValid_Verified()
        => Assert.Equal(PacketChecksum.Verified, TunDevice.OffloadOf(new byte[] { 2, 0, 0, 0, 0, 0, 0, 0, 0, 0 }).Checksum);

    [Theory]
    [InlineData(3)]     // VIRTIO_NET_HDR_GSO_UDP (UFO)
    [InlineData(5)]     // VIRTIO_NET_HDR_GSO_UDP_L4 (USO)
    [InlineData(0x81)]  // TCPV4 with the ECN bit
    [InlineData(0x7F)]
    public void KernelHeader_GsoTypeNotTaken_Unsupported(byte gsoType)
        => Assert.Equal(PacketSegmentation.Unsupported, TunDevice.OffloadOf(new byte[] { 1, gsoType, 52, 0, 0xA8, 5, 20, 0, 16, 0 }).Segmentation);

    [Fact]
    public void HeaderCutShort_Read_PlainPacket()
        => Assert.Equal(default, TunDevice.OffloadOf(new byte[] { 1, 1, 52 }));
}
