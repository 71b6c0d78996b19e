// TSO between two stacks on a virtual clock: the sender hands the link super-segments, bounded by
// what cwnd, the peer's window and the send buffer allow, and keeps MSS-sized accounting.
using System.Security.Cryptography;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Storage;
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

    [Fact]
    public void Established_FirstFlightOfOneMegabyte_OneSuperSegmentOfTheInitialWindow()
    {
        RecordingLink? recorder = null;
        var net = new TwoStacks(wrapA: l => recorder = new RecordingLink(l), offloads: All);
        (_, TcpConnection client, _) = TcpTests.Connected(net);
        int before = recorder!.Sent.Count;
        Assert.True(client.Send(new byte[1024 * 1024], out _) > 0);
        net.A.FlushOutput();
        (int length, PacketOffload offload, _) = Assert.Single(recorder.Sent.Skip(before));
        // RFC 6928: cwnd starts at 10 segments (14,600 bytes at most), so the first super-segment is 10 MSS.
        Assert.Equal(PacketSegmentation.TcpV4, offload.Segmentation);
        Assert.Equal(10 * client.Mss, length - offload.HeaderLength);
    }

    [Fact]
    public void Established_PeerWindowOfEightKilobytes_NoSuperSegmentBeyondIt()
    {
        RecordingLink? recorder = null;
        var net = new TwoStacks(wrapB: l => recorder = new RecordingLink(l), offloads: All);
        TcpAcceptor listener = net.B.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 8080), 4, out _)!;
        TcpConnection client = net.A.ConnectTcp(new InternetEndpoint(TwoStacks.B4, 8080), out _, receiveBufferSize: 8192)!;
        Assert.True(net.Simulation.RunUntil(() => listener.PendingCount > 0, TimeSpan.FromSeconds(5)));
        Assert.True(listener.TryAccept(out TcpConnection? server));
        var data = new byte[1024 * 1024];
        new Random(8).NextBytes(data);
        byte[] got = TcpTests.Transfer(net.Simulation, server!, client, data, TimeSpan.FromMinutes(1));
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(got));
        var supers = recorder!.Sent.Where(p => p.Offload.Segmentation != PacketSegmentation.None).ToList();
        Assert.NotEmpty(supers);
        Assert.All(supers, p => Assert.True(p.Length - p.Offload.HeaderLength <= 8192, $"{p.Length - p.Offload.HeaderLength} bytes past an 8 KiB window"));
    }

    [Fact]
    public void NoDelayEstablished_SendOfFiveKilobytes_OneSuperSegmentWithTheShortLastPiece()
    {
        (TwoStacks net, RecordingLink recorder, TcpConnection client, TcpConnection server) = ConnectedWithRecorder(noDelay: true);
        int before = recorder.Sent.Count;

        Assert.Equal(5382, client.Send(new byte[5382], out _));
        net.A.FlushOutput();

        (int length, PacketOffload offload, _) = Assert.Single(recorder.Sent.Skip(before));
        Assert.Equal(PacketSegmentation.TcpV4, offload.Segmentation);
        Assert.Equal(client.Mss, offload.SegmentSize);
        Assert.Equal(5382, length - offload.HeaderLength);
        Assert.True(net.Simulation.RunUntil(() => server.Available == 5382, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void NagleEstablished_SendOfFiveKilobytes_WholePiecesLeaveAndTheShortRestWaitsForTheAck()
    {
        (TwoStacks net, RecordingLink recorder, TcpConnection client, _) = ConnectedWithRecorder(noDelay: false);
        int before = recorder.Sent.Count;

        client.Send(new byte[5382], out _);
        net.A.FlushOutput();

        (int length, PacketOffload offload, _) = Assert.Single(recorder.Sent.Skip(before));
        Assert.Equal(3 * client.Mss, length - offload.HeaderLength);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Established_ThreeSendsWithMoreThenOneWithout_WholeSegmentsLeaveAtOnce_TheShortTailWaitsForTheLastSend(bool noDelay)
    {
        (TwoStacks net, RecordingLink recorder, TcpConnection client, TcpConnection server) = ConnectedWithRecorder(noDelay);
        int before = recorder.Sent.Count;

        // MSG_MORE as Linux (its sendmsg_msg_more script): whole segments go, the partial tail is corked.
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(1500, client.Send(new byte[1500], out _, endOfRecord: false, more: true));
            net.A.FlushOutput();
            int sent = recorder.Sent.Skip(before).Sum(p => p.Length - p.Offload.HeaderLength);
            Assert.Equal((1500 * (i + 1)) / client.Mss * client.Mss, sent);
        }

        client.Send(new byte[700], out _);
        net.A.FlushOutput();

        // Without Nagle the tail leaves with the last send; with it, once the flight is acknowledged.
        int total = recorder.Sent.Skip(before).Sum(p => p.Length - p.Offload.HeaderLength);
        Assert.Equal(noDelay ? 5200 : 5200 / client.Mss * client.Mss, total);
        Assert.True(net.Simulation.RunUntil(() => server.Available == 5200, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void EstablishedWithoutOffloads_SendWithMoreOfThreeSegments_WholeSegmentsLeaveTheShortRestWaits()
    {
        RecordingLink? recorder = null;
        var net = new TwoStacks(wrapA: l => recorder = new RecordingLink(l));
        (_, TcpConnection client, TcpConnection server) = TcpTests.Connected(net);
        client.NoDelay = true;
        int before = recorder!.Sent.Count;

        client.Send(new byte[(2 * client.Mss) + 100], out _, endOfRecord: false, more: true);
        net.A.FlushOutput();
        Assert.Equal(2, recorder.Sent.Count - before);

        client.Send(new byte[50], out _);
        net.A.FlushOutput();

        Assert.Equal(3, recorder.Sent.Count - before);
        Assert.True(net.Simulation.RunUntil(() => server.Available == (2 * client.Mss) + 150, TimeSpan.FromSeconds(5)));
    }

    private static (TwoStacks Net, RecordingLink Recorder, TcpConnection Client, TcpConnection Server) ConnectedWithRecorder(bool noDelay)
    {
        RecordingLink? recorder = null;
        var net = new TwoStacks(wrapA: l => recorder = new RecordingLink(l), offloads: All);
        (_, TcpConnection client, TcpConnection server) = TcpTests.Connected(net);
        client.NoDelay = noDelay;
        return (net, recorder!, client, server);
    }

    /// <summary>Offers TSO to its stack and does it in software, dropping chosen wire segments that carry data.</summary>
    private sealed class CuttingLink(ILink inner, Func<int, bool> drop) : PassThroughLink(inner)
    {
        private readonly PacketBatch _wire = new(512, inner.Mtu);
        private readonly PacketBatch _pass = new(512, inner.Mtu);
        private int _dataSegments;

        public List<int> DroppedSequences { get; } = new();

        public override int MaxPacketLength => PacketOffload.MaxSuperSegmentLength;

        public override LinkOffloads Offloads => All;

        public override void Transmit(PacketBatch batch, Instant now)
        {
            _pass.Clear();
            for (int i = 0; i < batch.Count; i++)
            {
                _wire.Clear();
                Assert.True(SoftwareSegmentation.Segment(batch[i], batch.OffloadAt(i), _wire) > 0);
                for (int j = 0; j < _wire.Count; j++)
                {
                    Span<byte> packet = _wire[j];
                    bool data = packet.Length > 20 + 32;
                    if (data && drop(_dataSegments++))
                    {
                        DroppedSequences.Add(System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(packet[24..]));
                        continue;
                    }

                    _pass.TryAdd(packet);
                }
            }

            Inner.Transmit(_pass, now);
        }
    }

    [Fact]
    public void Established_OneWireSegmentOfASuperSegmentLost_OnlyThatMssRetransmitted_ShaMatches()
    {
        CuttingLink? link = null;
        var net = new TwoStacks(wrapA: l => link = new CuttingLink(l, n => n == 25));
        (_, TcpConnection client, TcpConnection server) = TcpTests.Connected(net);
        var data = new byte[2 * 1024 * 1024];
        new Random(25).NextBytes(data);
        byte[] got = TcpTests.Transfer(net.Simulation, client, server, data, TimeSpan.FromMinutes(1));
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(got));
        Assert.Single(link!.DroppedSequences);
        Assert.True(net.A.Counters[Counter.LinkSuperSegmentsSent] > 0);
        TcpConnectionInfo info = client.GetInfo();
        // SACK names the hole; RACK/SACK recovery resends that one MSS and nothing else, without an RTO.
        Assert.Equal(client.Mss, info.BytesRetransmitted);
        Assert.Equal(1, net.A.Counters[Counter.TcpFastRetransmits]);
        Assert.Equal(0, net.A.Counters[Counter.TcpRetransmits]);
    }

    [Fact]
    public void Established_SuperSegmentsThroughOnePercentLoss_ShaMatchesAndSackRepairs()
    {
        Assert.True(Impairment.TryParse("loss=1%,delay=5ms", out Impairment profile, out _, out string? error), error);
        ImpairedLink? impaired = null;
        var net = new TwoStacks(wrapA: l => impaired = new ImpairedLink(l, profile, profile, 11), offloads: All);
        (_, TcpConnection client, TcpConnection server) = TcpTests.Connected(net);
        var data = new byte[8 * 1024 * 1024];
        new Random(11).NextBytes(data);
        byte[] got = TcpTests.Transfer(net.Simulation, client, server, data, TimeSpan.FromMinutes(10));
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(got));
        // The impairment acts on the wire segments the super-segments stand for.
        Assert.True(net.A.Counters[Counter.LinkSuperSegmentsSent] > 0);
        Assert.True(impaired!.EgressStatistics.Lost > 0);
        Assert.Equal(0, impaired.SegmentationFailures);
        Assert.True(net.A.Counters[Counter.TcpFastRetransmits] > net.A.Counters[Counter.TcpRetransmits]);
        Assert.True(net.A.Counters[Counter.TcpSackBlocksReceived] > 0);
    }
}
