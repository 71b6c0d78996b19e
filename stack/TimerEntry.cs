namespace TunStack;

/// <summary>
/// A timer owned by a stack component: created once, then scheduled and cancelled as often as
/// needed without allocating. Its callback runs on the stack's owner thread inside Poll.
/// </summary>
internal sealed class TimerEntry
{
    internal TimerEntry? Previous;
    internal TimerEntry? Next;
    internal int Level = -1;
    internal int Slot;
    private readonly Action<Instant>? _callback;
    private readonly ITimerTarget? _target;
    private readonly int _tag;

    /// <summary>Creates a timer that calls <paramref name="callback"/> with the current time when it fires.</summary>
    public TimerEntry(Action<Instant> callback) => _callback = callback;

    /// <summary>Creates a timer that tells <paramref name="target"/> when it fires, with <paramref name="tag"/>.</summary>
    public TimerEntry(ITimerTarget target, int tag)
    {
        _target = target;
        _tag = tag;
    }

    /// <summary>When the timer fires (meaningful while scheduled).</summary>
    public Instant Deadline { get; internal set; }

    /// <summary>True while the timer is in a wheel.</summary>
    public bool IsScheduled => Level >= 0;

    internal void Fire(Instant now)
    {
        if (_target is not null)
        {
            _target.OnTimer(_tag, now);
        }
        else
        {
            _callback!(now);
        }
    }
}
