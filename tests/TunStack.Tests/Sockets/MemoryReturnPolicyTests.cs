using TunStack.Sockets.Hosting;

namespace TunStack.Tests.Sockets;

/// <summary>When a runner returns memory to the operating system after a peak of connections.</summary>
public class MemoryReturnPolicyTests
{
    private static Instant At(int seconds) => Instant.FromMilliseconds(seconds * 1000L);

    [Fact]
    public void PeakOfTenThousand_FallsByHalves_OneCollectionPerHalving()
    {
        var policy = new MemoryReturnPolicy();
        Assert.False(policy.Observe(10_000, At(1)));
        Assert.False(policy.Observe(6_000, At(2)));
        Assert.True(policy.Observe(5_000, At(3)));
        Assert.False(policy.Observe(3_000, At(4))); // the peak is now 5,000: not yet half of it
        Assert.True(policy.Observe(2_500, At(5)));
        Assert.True(policy.Observe(0, At(6)));  // halved again (2,500 is still a peak worth returning)
        Assert.False(policy.Observe(0, At(7))); // nothing left to return
        Assert.False(policy.Observe(0, At(8)));
    }

    [Fact]
    public void SmallPeak_AllClose_NoCollection()
    {
        var policy = new MemoryReturnPolicy();
        Assert.False(policy.Observe(MemoryReturnPolicy.MinimumPeak - 1, At(1)));
        Assert.False(policy.Observe(0, At(2)));
    }

    [Fact]
    public void ManyObservationsWithinASecond_CheckedOnce()
    {
        var policy = new MemoryReturnPolicy();
        Assert.False(policy.Observe(10_000, At(1)));
        Assert.False(policy.Observe(0, At(1) + TimeSpan.FromMilliseconds(500)));
        Assert.True(policy.Observe(0, At(2)));
    }
}
