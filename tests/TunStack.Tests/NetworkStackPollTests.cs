using TunStack.Ip;
using TunStack.Links;
using TunStack.Storage;

namespace TunStack.Tests;

/// <summary>What <see cref="NetworkStack.Poll(Instant)"/> tells its host about when to poll again.</summary>
public class NetworkStackPollTests
{
    [Fact]
    public void Poll_PacketsInABatchThatWasNotFull_ReturnsNowSoTheHostPollsAgainWithItsClockReadAfresh()
    {
        (MemoryLink near, MemoryLink far) = MemoryLink.CreatePair();
        var options = new StackOptions { RandomSeed = 1 };
        options.Addresses.Add(IpPrefix.Parse("10.0.0.2/24"));
        var stack = new NetworkStack(near, options, Instant.Zero);
        var input = new PacketBatch(1, 1500);
        input.TryAdd(Packets.EchoRequest(InternetAddress.Parse("10.0.0.1"), InternetAddress.Parse("10.0.0.2"), 1, 1, new byte[8]));
        far.Transmit(input, Instant.Zero);

        Instant first = stack.Poll(Instant.FromMilliseconds(1));
        Instant second = stack.Poll(Instant.FromMilliseconds(2));

        // The link may have more than one read returned (a TUN read after a wake takes one
        // packet), and reading it within the first poll would time it at that poll's instant.
        Assert.Equal(Instant.FromMilliseconds(1), first);
        Assert.True(second > Instant.FromMilliseconds(2), $"an empty read ends the burst: next poll at {second}");
        Assert.Equal(1, stack.Counters[Counter.IcmpEchoRepliesSent]);
    }
}
