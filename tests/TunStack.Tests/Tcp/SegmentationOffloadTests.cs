// TSO between two stacks on a virtual clock: the sender hands the link super-segments, bounded by
// what cwnd, the peer's window and the send buffer allow, and keeps MSS-sized accounting.
using System.Security.Cryptography;
using TunStack.Links;
using TunStack.Tcp;
using TunStack.Tests.Integration;
using TunStack.Tests.Links;

namespace TunStack.Tests.Tcp;

public class SegmentationOffloadTests
{
    private const LinkOffloads All = LinkOffloads.TransportChecksum | LinkOffloads.TcpSegmentationV4 | LinkOffloads.TcpSegmentationV6;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Established_BulkOverOffloadingLink_SuperSegmentsOfWholeMssPiecesAndShaMatches(bool v6)
    {
        RecordingLink? recorder = null;
        var net = new TwoStacks(wrapA: l => recorder = new RecordingLink(l), offloads: All);
        (_, TcpConnection client, TcpConnection server) = TcpTests.Connected(net, v6);
        var data = new byte[4 * 1024 * 1024];
        new Random(4).NextBytes(data);
        byte[] got = TcpTests.Transfer(net.Simulation, client, server, data, TimeSpan.FromMinutes(1));
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(got));

        var supers = recorder!.Sent.Where(p => p.Offload.Segmentation != PacketSegmentation.None).ToList();
        Assert.NotEmpty(supers);
        Assert.Equal(supers.Count, net.A.Counters[Counter.LinkSuperSegmentsSent]);
        Assert.Equal(supers.Count, net.B.Counters[Counter.LinkSuperSegmentsReceived]);
        int headers = (v6 ? 40 : 20) + 32;
        foreach ((int length, PacketOffload offload, _) in supers)
        {
            Assert.Equal(v6 ? PacketSegmentation.TcpV6 : PacketSegmentation.TcpV4, offload.Segmentation);
            Assert.Equal(client.Mss, offload.SegmentSize);
            Assert.Equal(headers, offload.HeaderLength);
            Assert.Equal(PacketChecksum.Partial, offload.Checksum);
            Assert.True(length <= PacketOffload.MaxSuperSegmentLength);
            Assert.Equal(0, (length - headers) % client.Mss);
            Assert.True((length - headers) / client.Mss >= 2);
        }

        Assert.Equal(0, net.B.Counters[Counter.TcpBadChecksum]);
        Assert.Equal(0, net.A.Counters[Counter.TcpRetransmits] + net.A.Counters[Counter.TcpFastRetransmits]);
    }
}
