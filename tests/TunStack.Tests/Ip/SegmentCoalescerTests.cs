// Software GRO on a receive batch: a run of in-order segments of one flow becomes one segment
// (one pass through TCP, one ACK), and each rule that keeps Linux's GRO from merging two segments
// keeps this one from it too.
using TunStack.Tcp;
using TunStack.Tests.Tcp;
using TunStack.Wire;

namespace TunStack.Tests.Ip;

public class SegmentCoalescerTests
{
    private const int Mss = 1460;
    private const int First = 1400; // the first segment of a refusal case: room for a larger second under the MTU

    private static byte[] Payload(int i) => Enumerable.Repeat((byte)i, Mss).ToArray();

    [Fact]
    public void Established_FourInOrderSegmentsInOneBatch_MergedIntoOneDataExactOneAck()
    {
        RawPeer peer = RawPeer.Established();
        var packets = Enumerable.Range(0, 4).Select(i => peer.Build(TcpFlags.Ack | (i == 3 ? TcpFlags.Psh : 0), peer.Nxt + (i * Mss), peer.StackNxt, Payload(i))).ToList();
        long received = peer.Probe[Counter.TcpReceived];
        SentSegment ack = Assert.Single(peer.Decode(peer.Probe.SendTogether(packets)));
        Assert.Equal(peer.Nxt + (4 * Mss), ack.Ack);
        Assert.Equal(3, peer.Probe[Counter.TcpSegmentsCoalesced]);
        Assert.Equal(received + 1, peer.Probe[Counter.TcpReceived]);
        var got = new byte[4 * Mss];
        Assert.Equal(got.Length, peer.Connection!.Receive(got, out _));
        Assert.Equal(Enumerable.Range(0, 4).SelectMany(Payload).ToArray(), got);
    }

    [Fact]
    public void Established_TimestampValuesDifferBetweenSegments_StillMerged()
    {
        RawPeer peer = RawPeer.Established(timestamps: true);
        var packets = new List<byte[]>();
        for (int i = 0; i < 3; i++)
        {
            peer.TsVal += 7;
            packets.Add(peer.Build(TcpFlags.Ack, peer.Nxt + (i * (Mss - 12)), peer.StackNxt, new byte[Mss - 12]));
        }

        Assert.Single(peer.Decode(peer.Probe.SendTogether(packets)));
        Assert.Equal(2, peer.Probe[Counter.TcpSegmentsCoalesced]);
        Assert.Equal(3 * (Mss - 12), peer.Connection!.Available);
    }

    private static readonly Dictionary<string, Func<RawPeer, byte[]>> SecondSegments = new()
    {
        ["a gap before the second"] = p => p.Build(TcpFlags.Ack, p.Nxt + First + 1, p.StackNxt, Payload(1)),
        ["another ACK number"] = p => p.Build(TcpFlags.Ack, p.Nxt + First, p.StackNxt - 1, Payload(1)),
        ["another window"] = p => p.Build(TcpFlags.Ack, p.Nxt + First, p.StackNxt, Payload(1), window: 1000),
        ["a FIN"] = p => p.Build(TcpFlags.Ack | TcpFlags.Fin, p.Nxt + First, p.StackNxt, Payload(1)),
        ["URG"] = p => p.Build(TcpFlags.Ack | TcpFlags.Urg, p.Nxt + First, p.StackNxt, Payload(1), urgentPointer: 5),
        ["other options"] = p => p.Build(TcpFlags.Ack, p.Nxt + First, p.StackNxt, new byte[First], options: WithSack(p)),
        ["larger than the first"] = p => p.Build(TcpFlags.Ack, p.Nxt + First, p.StackNxt, new byte[First + 1]),
        ["a bad checksum"] = p => Corrupt(p.Build(TcpFlags.Ack, p.Nxt + First, p.StackNxt, Payload(1))),
    };

    public static IEnumerable<object[]> Refusals() => SecondSegments.Keys.Select(k => new object[] { k });

    private static TcpOptions WithSack(RawPeer p)
    {
        TcpOptions o = TcpOptions.None;
        o.AddSack(new SackBlock(p.StackNxt - 100, p.StackNxt - 50));
        return o;
    }

    private static byte[] CorruptIpChecksum(byte[] packet)
    {
        packet[10] ^= 0xFF;
        return packet;
    }

    private static byte[] Corrupt(byte[] packet)
    {
        packet[^1] ^= 0xFF;
        return packet;
    }

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Established_SecondSegmentDiffers_NotMergedAndCounted(string what)
    {
        RawPeer peer = RawPeer.Established();
        byte[] first = peer.Build(TcpFlags.Ack, peer.Nxt, peer.StackNxt, new byte[First]);
        long received = peer.Probe[Counter.TcpReceived];
        peer.Probe.SendTogether(new[] { first, SecondSegments[what](peer) });
        Assert.True(peer.Probe[Counter.TcpCoalesceRefused] == 1, $"{what}: refused {peer.Probe[Counter.TcpCoalesceRefused]}, merged {peer.Probe[Counter.TcpSegmentsCoalesced]}");
        Assert.Equal(0, peer.Probe[Counter.TcpSegmentsCoalesced]);
        Assert.Equal(received + 2, peer.Probe[Counter.TcpReceived]);
    }

    [Fact]
    public void Established_ShortSegmentThenMore_RunEndsAtTheShortOne()
    {
        // Every merged segment but the last is as long as the first: after a short one, a new run.
        RawPeer peer = RawPeer.Established();
        var packets = new List<byte[]>
        {
            peer.Build(TcpFlags.Ack, peer.Nxt, peer.StackNxt, Payload(0)),
            peer.Build(TcpFlags.Ack, peer.Nxt + Mss, peer.StackNxt, new byte[100]),
            peer.Build(TcpFlags.Ack, peer.Nxt + Mss + 100, peer.StackNxt, Payload(2)),
        };
        long received = peer.Probe[Counter.TcpReceived];
        peer.Probe.SendTogether(packets);
        Assert.Equal(1, peer.Probe[Counter.TcpSegmentsCoalesced]);
        Assert.Equal(0, peer.Probe[Counter.TcpCoalesceRefused]);
        Assert.Equal(received + 2, peer.Probe[Counter.TcpReceived]);
        Assert.Equal((2 * Mss) + 100, peer.Connection!.Available);
    }

    [Fact]
    public void CoalescingOff_FourInOrderSegments_EachProcessedAlone()
    {
        RawPeer peer = RawPeer.Established(configure: o => o.CoalesceReceivedSegments = false);
        var packets = Enumerable.Range(0, 4).Select(i => peer.Build(TcpFlags.Ack, peer.Nxt + (i * Mss), peer.StackNxt, Payload(i))).ToList();
        long received = peer.Probe[Counter.TcpReceived];
        peer.Probe.SendTogether(packets);
        Assert.Equal(received + 4, peer.Probe[Counter.TcpReceived]);
        Assert.Equal(0, peer.Probe[Counter.TcpSegmentsCoalesced]);
    }

    [Fact]
    public void Established_LonePshSegmentWithBadChecksum_StillDroppedAsBadChecksum()
    {
        // A segment that cannot start a run is passed on as verified only when its checksum was.
        RawPeer peer = RawPeer.Established();
        byte[] bad = Corrupt(peer.Build(TcpFlags.Ack | TcpFlags.Psh, peer.Nxt, peer.StackNxt, "ping"u8));
        Assert.Empty(peer.Probe.SendTogether(new[] { bad }));
        Assert.Equal(1, peer.Probe[Counter.TcpBadChecksum]);
        Assert.Equal(0, peer.Connection!.Available);
    }

    [Fact]
    public void Established_FirstSegmentsIpHeaderChecksumBad_DroppedByIpv4InputAndTheRestStillMerged()
    {
        RawPeer peer = RawPeer.Established();
        var packets = new List<byte[]>
        {
            CorruptIpChecksum(peer.Build(TcpFlags.Ack, peer.Nxt, peer.StackNxt, Payload(0))),
            peer.Build(TcpFlags.Ack, peer.Nxt + Mss, peer.StackNxt, Payload(1)),
            peer.Build(TcpFlags.Ack, peer.Nxt + (2 * Mss), peer.StackNxt, Payload(2)),
        };
        peer.Probe.SendTogether(packets);
        Assert.Equal(1, peer.Probe[Counter.Ipv4BadChecksum]);
        Assert.Equal(1, peer.Probe[Counter.TcpSegmentsCoalesced]); // the second and third, held out of order
        Assert.Equal(0, peer.Connection!.Available);
    }

    [Fact]
    public void Established_SecondSegmentsIpHeaderChecksumBad_NotMergedAndDroppedByIpv4Input()
    {
        RawPeer peer = RawPeer.Established();
        byte[] first = peer.Build(TcpFlags.Ack, peer.Nxt, peer.StackNxt, Payload(0));
        byte[] second = CorruptIpChecksum(peer.Build(TcpFlags.Ack, peer.Nxt + Mss, peer.StackNxt, Payload(1)));
        peer.Probe.SendTogether(new[] { first, second });
        Assert.Equal(1, peer.Probe[Counter.TcpCoalesceRefused]);
        Assert.Equal(0, peer.Probe[Counter.TcpSegmentsCoalesced]);
        Assert.Equal(1, peer.Probe[Counter.Ipv4BadChecksum]);
        Assert.Equal(Mss, peer.Connection!.Available);
    }
}
