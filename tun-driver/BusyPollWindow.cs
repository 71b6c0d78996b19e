namespace TunStack.Tun;

/// <summary>
/// How long a blocking reader polls its queue (reads that do not wait) before it blocks, adapted
/// to the gaps it sees, as a guest's cpuidle-haltpoll adapts its poll before HLT: a thread that
/// blocks and is woken by the kernel pays a sleep and a wake-up (on a virtual machine a halted
/// vCPU, an inter-processor interrupt and the host's scheduler), where a packet that arrives
/// while the reader still polls costs one more read.
/// <list type="bullet">
/// <item>The window starts closed (0): an idle reader or one that sees long gaps never polls.</item>
/// <item>A blocking read that waited longer than the window but no longer than the limit would
/// have been caught by a wider window: the window opens (to <see cref="GrowStart"/>) or doubles,
/// up to the limit.</item>
/// <item>A blocking read that waited longer than the limit was a gap polling cannot bridge: the
/// window halves, and closes below <see cref="GrowStart"/>.</item>
/// <item>A packet caught while polling leaves the window as it is.</item>
/// </list>
/// So polling lasts only while packets keep coming within the limit of each other (a
/// request/response exchange, a handshake), and costs nothing once they stop. Time is an input.
/// </summary>
internal sealed class BusyPollWindow
{
    /// <summary>The window a first short wait opens (and below which a halved window closes).</summary>
    public static readonly TimeSpan GrowStart = TimeSpan.FromMicroseconds(10);

    private readonly long _limitTicks;
    private readonly long _growStartTicks;
    private long _windowTicks;

    /// <summary>A closed window that opens up to <paramref name="limit"/>; zero never polls.</summary>
    public BusyPollWindow(TimeSpan limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, TimeSpan.Zero);
        _limitTicks = limit.Ticks;
        _growStartTicks = Math.Min(GrowStart.Ticks, _limitTicks);
    }

    /// <summary>How long to poll before the next blocking read (zero: block at once).</summary>
    public TimeSpan Window => new(_windowTicks);

    /// <summary>The most the window opens to.</summary>
    public TimeSpan Limit => new(_limitTicks);

    /// <summary>Records a read that had to block: <paramref name="waited"/> from the start of the poll to the packet.</summary>
    public void OnBlocked(TimeSpan waited)
    {
        long ticks = waited.Ticks;
        if (ticks > _limitTicks)
        {
            _windowTicks /= 2;
            if (_windowTicks < _growStartTicks)
            {
                _windowTicks = 0;
            }
        }
        else if (ticks > _windowTicks)
        {
            _windowTicks = Math.Min(_limitTicks, Math.Max(_growStartTicks, _windowTicks * 2));
        }
    }
}
