// What a link says about a received packet (the virtio-net header of a TUN with offloads) is
// believed only where it fits the packet: a checksum the link vouches for is not verified again, a
// super-segment is taken whole, and metadata that disagrees with the bytes is dropped and counted.
using TunStack.Ip;
using TunStack.Links;
using TunStack.Tcp;
using TunStack.Tests.Tcp;
using TunStack.Wire;

namespace TunStack.Tests.Ip;

public class OffloadMetadataTests
{
    private const LinkOffloads All = LinkOffloads.TransportChecksum | LinkOffloads.TcpSegmentationV4 | LinkOffloads.TcpSegmentationV6;

    // A SYN to the listener whose TCP checksum field holds garbage (what a partial checksum looks like to a verifier).
    private static (RawPeer Peer, byte[] Syn) SynWithUnfinishedChecksum()
    {
        RawPeer peer = RawPeer.Listening(offloads: All);
        TcpOptions options = TcpOptions.None;
        options.Mss = 1460;
        byte[] syn = peer.Build(TcpFlags.Syn, new SeqNumber(7000), default, options: options);
        syn[20 + 16] ^= 0x5A;
        return (peer, syn);
    }

    [Fact]
    public void Listen_SynWithPartialChecksumAtTheTcpHeader_TakenUnverifiedAndAnswered()
    {
        (RawPeer peer, byte[] syn) = SynWithUnfinishedChecksum();
        List<SentSegment> replies = peer.Decode(peer.Probe.Send(syn, new PacketOffload { Checksum = PacketChecksum.Partial, ChecksumStart = 20, ChecksumOffset = 16 }));
        Assert.True(Assert.Single(replies).Has(TcpFlags.Syn | TcpFlags.Ack));
        Assert.Equal(0, peer.Probe[Counter.TcpBadChecksum]);
    }

    [Fact]
    public void Listen_SynTheLinkVerified_TakenUnverifiedAndAnswered()
    {
        (RawPeer peer, byte[] syn) = SynWithUnfinishedChecksum();
        List<SentSegment> replies = peer.Decode(peer.Probe.Send(syn, new PacketOffload { Checksum = PacketChecksum.Verified }));
        Assert.True(Assert.Single(replies).Has(TcpFlags.Syn | TcpFlags.Ack));
    }

    [Fact]
    public void Listen_SynWithBadChecksumAndNoMetadata_DroppedAsBadChecksum()
    {
        (RawPeer peer, byte[] syn) = SynWithUnfinishedChecksum();
        Assert.Empty(peer.Probe.Send(syn));
        Assert.Equal(1, peer.Probe[Counter.TcpBadChecksum]);
    }

    public static IEnumerable<object[]> Disagreeing() => new[]
    {
        new object[] { "partial checksum not at the TCP header", new PacketOffload { Checksum = PacketChecksum.Partial, ChecksumStart = 24, ChecksumOffset = 16 }, Counter.LinkBadOffload },
        new object[] { "partial checksum at UDP's offset", new PacketOffload { Checksum = PacketChecksum.Partial, ChecksumStart = 20, ChecksumOffset = 6 }, Counter.LinkBadOffload },
        new object[] { "IPv6 super-segment on an IPv4 packet", new PacketOffload { Checksum = PacketChecksum.Partial, ChecksumStart = 20, ChecksumOffset = 16, Segmentation = PacketSegmentation.TcpV6, SegmentSize = 1460 }, Counter.LinkBadOffload },
        new object[] { "super-segment without a segment size", new PacketOffload { Checksum = PacketChecksum.Partial, ChecksumStart = 20, ChecksumOffset = 16, Segmentation = PacketSegmentation.TcpV4 }, Counter.LinkBadOffload },
        new object[] { "a kind of super-segment not taken", new PacketOffload { Segmentation = PacketSegmentation.Unsupported, SegmentSize = 1460 }, Counter.LinkUnsupportedSegmentation },
    };

    [Theory]
    [MemberData(nameof(Disagreeing))]
    public void Listen_SynWithMetadataThatDisagrees_DroppedAndCounted(string what, PacketOffload offload, Counter counter)
    {
        (RawPeer peer, byte[] syn) = SynWithUnfinishedChecksum();
        Assert.True(peer.Probe.Send(syn, offload).Count == 0, what);
        Assert.Equal(1, peer.Probe[counter]);
        Assert.Equal(0, peer.Probe[Counter.TcpPassiveOpens]);
    }

    [Fact]
    public void UdpToClosedPort_TcpSuperSegmentMetadata_DroppedAsBadOffload()
    {
        var probe = new Probe(offloads: All);
        byte[] packet = Packets.UdpPacket(Probe.PeerV4, Probe.StackV4, 5000, 5001, new byte[3000]);
        Assert.Empty(probe.Send(packet, new PacketOffload { Segmentation = PacketSegmentation.TcpV4, SegmentSize = 1000, Checksum = PacketChecksum.Partial, ChecksumStart = 20, ChecksumOffset = 6 }));
        Assert.Equal(1, probe[Counter.LinkBadOffload]);
        Assert.Equal(0, probe[Counter.UdpNoPort]);
    }

    [Fact]
    public void UdpToClosedPort_PartialChecksumAtUdpOffset_TakenUnverified()
    {
        var probe = new Probe(offloads: All);
        byte[] packet = Packets.UdpPacket(Probe.PeerV4, Probe.StackV4, 5000, 5001, "x"u8);
        packet[20 + 6] ^= 0x33;
        probe.Send(packet, new PacketOffload { Checksum = PacketChecksum.Partial, ChecksumStart = 20, ChecksumOffset = 6 });
        Assert.Equal(0, probe[Counter.UdpBadChecksum]);
        Assert.Equal(1, probe[Counter.UdpNoPort]);
    }

    [Fact]
    public void Established_KernelSuperSegmentOfThreeMss_TakenWholeAndAckedOnce()
    {
        RawPeer peer = RawPeer.Established(offloads: All);
        var data = new byte[3 * 1460];
        new Random(3).NextBytes(data);
        byte[] packet = peer.Build(TcpFlags.Ack | TcpFlags.Psh, peer.Nxt, peer.StackNxt, data);
        List<SentSegment> replies = peer.Decode(peer.Probe.Send(packet, new PacketOffload
        {
            Checksum = PacketChecksum.Partial,
            ChecksumStart = 20,
            ChecksumOffset = 16,
            Segmentation = PacketSegmentation.TcpV4,
            SegmentSize = 1460,
            HeaderLength = 40,
        }));
        SentSegment ack = Assert.Single(replies);
        Assert.Equal(peer.Nxt + data.Length, ack.Ack);
        Assert.Equal(1, peer.Probe[Counter.LinkSuperSegmentsReceived]);
        TcpConnection connection = peer.Connection!;
        var got = new byte[data.Length];
        Assert.Equal(data.Length, connection.Receive(got, out _));
        Assert.Equal(data, got);
    }
}
