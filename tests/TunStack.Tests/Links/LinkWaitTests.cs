using TunStack.Links;

namespace TunStack.Tests.Links;

/// <summary>ILink's wait capability: links that cannot be waited on say so, and wrappers pass it through.</summary>
public class LinkWaitTests
{
    [Fact]
    public void MemoryLink_CannotBeWaitedOn_WaitThrowsInterruptDoesNothing()
    {
        (MemoryLink a, _) = MemoryLink.CreatePair();
        ILink link = a;
        Assert.False(link.CanWaitForPackets);
        Assert.Throws<NotSupportedException>(() => link.WaitForPackets(TimeSpan.FromMilliseconds(1)));
        link.InterruptWait();
    }

    [Fact]
    public void ImpairedAndCaptureLinks_OverALinkThatCannotBeWaitedOn_CannotEither()
    {
        (MemoryLink a, _) = MemoryLink.CreatePair();
        var impaired = new ImpairedLink(a, Impairment.None, Impairment.None, 1);
        Assert.False(impaired.CanWaitForPackets);
        Assert.Throws<NotSupportedException>(() => impaired.WaitForPackets(TimeSpan.FromMilliseconds(1)));
    }
}
