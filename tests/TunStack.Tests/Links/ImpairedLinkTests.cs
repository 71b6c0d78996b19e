// ImpairedLink's two kinds of reordering: "reorder" holds a packet back behind later ones,
// "overtake" lets a packet skip the delay and pass the ones still held (netem's reorder).
using TunStack.Links;
using TunStack.Storage;

namespace TunStack.Tests.Links;

public class ImpairedLinkTests
{
    [Fact]
    public void Parse_OvertakeItem_RoundTripsThroughText()
    {
        Assert.True(Impairment.TryParse("delay=10ms,overtake=2%", out Impairment parsed, out _, out string? error), error);
        Assert.Equal(2, parsed.OvertakePercent);
        Assert.Equal(0, parsed.ReorderPercent);
        Assert.False(parsed.IsNone);
        Assert.Equal("delay=10ms,overtake=2%", parsed.ToString());
        Assert.False(Impairment.TryParse("overtake=120%", out _, out _, out error));
        Assert.Contains("overtake", error);
    }

    [Fact]
    public void DelayedPath_OvertakingPackets_ArriveAtOnceAheadOfEarlierOnes()
    {
        (MemoryLink a, MemoryLink b) = MemoryLink.CreatePair(1500, 1024);
        var egress = new Impairment { Delay = TimeSpan.FromMilliseconds(10), OvertakePercent = 30 };
        var link = new ImpairedLink(a, Impairment.None, egress, seed: 3);
        var batch = new PacketBatch(200, 1500);
        for (int i = 0; i < 200; i++)
        {
            batch.TryAdd(new[] { (byte)(i >> 8), (byte)i });
        }

        Instant start = new(1_000_000);
        link.Transmit(batch, start);
        var order = new List<int>();
        var received = new PacketBatch(256, 1500);
        foreach (Instant at in new[] { start, start + TimeSpan.FromMilliseconds(10) })
        {
            link.Receive(new PacketBatch(1, 1500), at); // lets the egress line release what is due
            received.Clear();
            b.Receive(received, at);
            for (int i = 0; i < received.Count; i++)
            {
                order.Add((received[i][0] << 8) | received[i][1]);
            }

            if (at == start)
            {
                // Only the overtakers are through at once: about 30%, each ahead of the delayed rest.
                Assert.InRange(order.Count, 30, 90);
                Assert.Equal(order.Count, link.EgressStatistics.Reordered);
            }
        }

        Assert.Equal(200, order.Count);
        Assert.Equal(Enumerable.Range(0, 200), order.Order());
        Assert.NotEqual(Enumerable.Range(0, 200), order);
    }
}
