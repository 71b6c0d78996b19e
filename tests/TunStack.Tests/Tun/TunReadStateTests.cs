using TunStack.Tun;

namespace TunStack.Tests.Tun;

public class TunReadStateTests
{
    [Fact]
    public void Woken_FirstRead_TakesOnePacketThenAsManyAsThereAre()
    {
        var state = default(TunReadState);
        state.Woken(TimeSpan.Zero);

        Assert.Equal(1, state.Budget(Instant.FromMilliseconds(1)));
        state.Finished(drained: false, Instant.FromMilliseconds(1));
        Assert.Equal(int.MaxValue, state.Budget(Instant.FromMilliseconds(1)));
    }

    [Fact]
    public void WokenAfterSleeping_AfterTheOnePacket_NoReadUntilTheNextWake()
    {
        // A lone request: poll() slept until it came. Reading again would find the queue empty
        // (a system call for nothing); the next poll() returns at once if more has come.
        var state = default(TunReadState);
        state.Woken(TimeSpan.FromMilliseconds(3));

        Assert.Equal(1, state.Budget(Instant.FromMilliseconds(1)));
        state.Finished(drained: false, Instant.FromMilliseconds(1));
        Assert.Equal(0, state.Budget(Instant.FromMilliseconds(2)));

        state.Woken(TimeSpan.FromMicroseconds(2));
        Assert.Equal(1, state.Budget(Instant.FromMilliseconds(2)));
        Assert.Equal(int.MaxValue, state.Budget(Instant.FromMilliseconds(2)));
    }

    [Fact]
    public void QueueFoundEmpty_ReadAtTheSameInstant_NoSystemCall_ReadAtALaterOne_Reads()
    {
        var state = default(TunReadState);
        Assert.Equal(int.MaxValue, state.Budget(Instant.FromMilliseconds(1)));
        state.Finished(drained: true, Instant.FromMilliseconds(1));

        Assert.Equal(0, state.Budget(Instant.FromMilliseconds(1)));
        Assert.Equal(int.MaxValue, state.Budget(Instant.FromMilliseconds(2)));
    }

    [Fact]
    public void QueueFoundEmpty_WokenAtTheSameInstant_ReadsOnePacket()
    {
        // A wake means the kernel has a packet, whatever the clock says.
        var state = default(TunReadState);
        state.Budget(Instant.FromMilliseconds(1));
        state.Finished(drained: true, Instant.FromMilliseconds(1));

        state.Woken(TimeSpan.Zero);

        Assert.Equal(1, state.Budget(Instant.FromMilliseconds(1)));
    }
}
