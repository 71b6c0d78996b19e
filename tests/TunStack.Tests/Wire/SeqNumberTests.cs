using TunStack.Wire;

namespace TunStack.Tests.Wire;

public class SeqNumberTests
{
    [Fact]
    public void Comparison_AcrossWrap_IsModulo2To32()
    {
        // RFC 9293 3.4: comparisons are modulo 2^32, so 2^32-1 precedes 0.
        var high = new SeqNumber(uint.MaxValue);
        var zero = new SeqNumber(0);
        Assert.True(high < zero);
        Assert.True(zero > high);
        Assert.True(high <= zero && zero >= high);
        Assert.Equal(1, zero - high);
        Assert.Equal(zero, high + 1);
        Assert.Equal(high, zero - 1);
        Assert.Equal(zero, SeqNumber.Max(high, zero));
        Assert.Equal(high, SeqNumber.Min(high, zero));
    }

    [Theory]
    [InlineData(0xFFFFFFF0u, 0xFFFFFFF0u, 32u, true)]
    [InlineData(0x0000000Fu, 0xFFFFFFF0u, 32u, true)]   // inside a window that wraps
    [InlineData(0x00000010u, 0xFFFFFFF0u, 32u, false)]  // first byte past it
    [InlineData(0xFFFFFFEFu, 0xFFFFFFF0u, 32u, false)]  // just before it
    [InlineData(5u, 5u, 0u, false)]                     // a zero window holds nothing
    public void IsInWindow_Rfc9293Test_HoldsAcrossWrap(uint seq, uint start, uint size, bool expected)
        => Assert.Equal(expected, new SeqNumber(seq).IsInWindow(new SeqNumber(start), size));

    [Fact]
    public void IsBetweenInclusive_WrappedRange_Works()
    {
        var low = new SeqNumber(0xFFFFFF00);
        var high = new SeqNumber(0x100);
        Assert.True(new SeqNumber(0).IsBetweenInclusive(low, high));
        Assert.True(low.IsBetweenInclusive(low, high));
        Assert.True(high.IsBetweenInclusive(low, high));
        Assert.False(new SeqNumber(0x101).IsBetweenInclusive(low, high));
    }
}
