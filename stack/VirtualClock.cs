namespace TunStack;

/// <summary>
/// A virtual clock shared by stacks under test: time moves only when the simulation moves it, so
/// whole conversations (timeouts, retransmissions, reassembly expiry) run deterministically and fast.
/// </summary>
public sealed class VirtualClock
{
    /// <summary>Creates a clock at <paramref name="start"/>.</summary>
    public VirtualClock(Instant start = default) => Now = start;

    /// <summary>The current virtual time.</summary>
    public Instant Now { get; private set; }

    /// <summary>Moves time forward by <paramref name="by"/>.</summary>
    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        Now += by;
    }

    /// <summary>Moves time forward to <paramref name="to"/> (never backwards).</summary>
    public void AdvanceTo(Instant to)
    {
        if (to > Now)
        {
            Now = to;
        }
    }
}
