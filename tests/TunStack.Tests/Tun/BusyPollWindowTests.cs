// The adaptive poll before a blocking TUN read: it opens while packets come within the limit of
// each other, closes when they stop, and a limit of zero never polls.
using TunStack.Tun;

namespace TunStack.Tests.Tun;

public class BusyPollWindowTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMicroseconds(50);

    [Fact]
    public void NewWindow_NothingSeen_IsClosed()
    {
        var window = new BusyPollWindow(Limit);
        Assert.Equal(TimeSpan.Zero, window.Window);
        Assert.Equal(Limit, window.Limit);
    }

    [Fact]
    public void ClosedWindow_BlockedReadShorterThanLimit_OpensAtGrowStartThenDoublesUpToLimit()
    {
        var window = new BusyPollWindow(Limit);
        TimeSpan gap = TimeSpan.FromMicroseconds(45);

        window.OnBlocked(gap);
        Assert.Equal(BusyPollWindow.GrowStart, window.Window);
        window.OnBlocked(gap);
        Assert.Equal(TimeSpan.FromMicroseconds(20), window.Window);
        window.OnBlocked(gap);
        Assert.Equal(TimeSpan.FromMicroseconds(40), window.Window);
        window.OnBlocked(gap);
        Assert.Equal(Limit, window.Window); // capped
        window.OnBlocked(gap);
        Assert.Equal(Limit, window.Window);
    }

    [Fact]
    public void OpenWindow_BlockedReadWithinWindow_StaysAsItIs()
    {
        var window = new BusyPollWindow(Limit);
        window.OnBlocked(TimeSpan.FromMicroseconds(30));
        window.OnBlocked(TimeSpan.FromMicroseconds(30));
        Assert.Equal(TimeSpan.FromMicroseconds(20), window.Window);

        // A wait no longer than the window it followed (the packet came as the poll ended) says
        // nothing new: a wider window is not needed for it.
        window.OnBlocked(TimeSpan.FromMicroseconds(20));
        Assert.Equal(TimeSpan.FromMicroseconds(20), window.Window);
    }

    [Fact]
    public void OpenWindow_BlockedReadsLongerThanLimit_HalveItAndCloseItBelowGrowStart()
    {
        var window = new BusyPollWindow(Limit);
        for (int i = 0; i < 4; i++)
        {
            window.OnBlocked(TimeSpan.FromMicroseconds(45));
        }

        Assert.Equal(Limit, window.Window);
        TimeSpan idle = TimeSpan.FromMilliseconds(200);
        window.OnBlocked(idle);
        Assert.Equal(TimeSpan.FromMicroseconds(25), window.Window);
        window.OnBlocked(idle);
        Assert.Equal(TimeSpan.FromMicroseconds(12.5), window.Window);
        window.OnBlocked(idle);
        Assert.Equal(TimeSpan.Zero, window.Window); // 6.25 µs is below the grow start: closed
        window.OnBlocked(idle);
        Assert.Equal(TimeSpan.Zero, window.Window);
    }

    [Fact]
    public void ZeroLimit_ShortGaps_NeverOpens()
    {
        var window = new BusyPollWindow(TimeSpan.Zero);
        window.OnBlocked(TimeSpan.FromMicroseconds(1));
        window.OnBlocked(TimeSpan.Zero);
        Assert.Equal(TimeSpan.Zero, window.Window);
    }

    [Fact]
    public void LimitBelowGrowStart_ShortGap_OpensToTheLimit()
    {
        var window = new BusyPollWindow(TimeSpan.FromMicroseconds(4));
        window.OnBlocked(TimeSpan.FromMicroseconds(3));
        Assert.Equal(TimeSpan.FromMicroseconds(4), window.Window);
    }

    [Fact]
    public void NegativeLimit_Constructed_Throws()
        => Assert.Throws<ArgumentOutOfRangeException>(() => new BusyPollWindow(TimeSpan.FromMicroseconds(-1)));
}
