namespace TunStack;

/// <summary>
/// Drives several stacks (for example two over a MemoryLink) on one thread with a
/// <see cref="VirtualClock"/>: polls every stack until none has work left at the current time,
/// then jumps the clock to the earliest deadline. Deterministic for a given input.
/// </summary>
public sealed class Simulation
{
    private readonly List<NetworkStack> _stacks = new();

    /// <summary>Creates a simulation on <paramref name="clock"/> (a new one at zero if null).</summary>
    public Simulation(VirtualClock? clock = null) => Clock = clock ?? new VirtualClock();

    /// <summary>The shared clock.</summary>
    public VirtualClock Clock { get; }

    /// <summary>The stacks being driven.</summary>
    public IReadOnlyList<NetworkStack> Stacks => _stacks;

    /// <summary>Adds a stack.</summary>
    public NetworkStack Add(NetworkStack stack)
    {
        _stacks.Add(stack);
        return stack;
    }

    /// <summary>Polls every stack at the current time until all are idle; returns the earliest deadline.</summary>
    public Instant Settle() => Settle(out _);

    // Settles; moved: whether any stack received a packet while doing so.
    private Instant Settle(out bool moved)
    {
        moved = false;
        // Bounded: stop after a round that received nothing and left no stack due at this instant.
        // Deadlines are read after the whole round, since a stack polled late in the round can
        // hand packets to one polled earlier.
        for (int round = 0; round < 1_000_000; round++)
        {
            bool movedThisRound = false;
            foreach (NetworkStack stack in _stacks)
            {
                long before = stack.Counters[Counter.LinkReceived];
                stack.Poll(Clock.Now);
                movedThisRound |= stack.Counters[Counter.LinkReceived] != before;
            }

            moved |= movedThisRound;

            Instant next = Instant.MaxValue;
            foreach (NetworkStack stack in _stacks)
            {
                next = Instant.Min(next, stack.NextDeadline);
            }

            if (!movedThisRound && next > Clock.Now)
            {
                return next;
            }
        }

        throw new InvalidOperationException("Simulation did not settle: a stack keeps reporting work at the same instant.");
    }

    /// <summary>Moves the clock to <paramref name="to"/> and tells every stack (see <see cref="NetworkStack.SetTime"/>).</summary>
    public void AdvanceTo(Instant to)
    {
        Clock.AdvanceTo(to);
        foreach (NetworkStack stack in _stacks)
        {
            stack.SetTime(Clock.Now);
        }
    }

    /// <summary>
    /// Runs until <paramref name="condition"/> holds or <paramref name="timeout"/> of virtual time
    /// passes; true if it held. The condition may act as an application does (read, send): what
    /// its calls queue leaves before the clock moves, and the condition looks again at the same
    /// instant when that moved packets.
    /// </summary>
    public bool RunUntil(Func<bool> condition, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(condition);
        Instant end = Clock.Now + timeout;
        int looksAtThisInstant = 0;
        while (true)
        {
            Settle();
            if (condition())
            {
                return true;
            }

            // What the condition's own calls queued (a read's window update, a send) leaves now,
            // before the clock moves; if that moved packets, the condition looks again.
            // (At most 1,000 times at one instant: a condition that sends at every look would
            // otherwise hold the clock still for ever.)
            Instant next = Settle(out bool moved);
            if (moved && ++looksAtThisInstant < 1_000)
            {
                continue;
            }

            looksAtThisInstant = 0;

            if (next >= end || next == Instant.MaxValue)
            {
                AdvanceTo(end);
                Settle();
                return condition();
            }

            AdvanceTo(next);
        }
    }

    /// <summary>Runs for <paramref name="duration"/> of virtual time, firing every deadline on the way.</summary>
    public void RunFor(TimeSpan duration) => RunUntil(static () => false, duration);
}
