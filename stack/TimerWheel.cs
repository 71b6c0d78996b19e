namespace TunStack;

/// <summary>
/// A timer owned by a stack component: created once, then scheduled and cancelled as often as
/// needed without allocating. Its callback runs on the stack's owner thread inside Poll.
/// </summary>
public sealed class TimerEntry
{
    internal TimerEntry? Previous;
    internal TimerEntry? Next;
    internal int Level = -1;
    internal int Slot;
    private readonly Action<Instant> _callback;

    /// <summary>Creates a timer that calls <paramref name="callback"/> with the current time when it fires.</summary>
    public TimerEntry(Action<Instant> callback) => _callback = callback;

    /// <summary>When the timer fires (meaningful while scheduled).</summary>
    public Instant Deadline { get; internal set; }

    /// <summary>True while the timer is in a wheel.</summary>
    public bool IsScheduled => Level >= 0;

    internal void Fire(Instant now) => _callback(now);
}

/// <summary>
/// A hierarchical timing wheel (Varghese and Lauck): three levels of 256 slots with 1 ms, 256 ms
/// and 65.5 s granularity cover 4.6 hours; later deadlines wait in the last level and are
/// re-filed as time advances. Schedule and cancel are O(1); <see cref="NextDeadline"/> scans at
/// most 768 slots and is cached between changes.
/// </summary>
public sealed class TimerWheel
{
    private const int SlotBits = 8;
    private const int SlotCount = 1 << SlotBits;
    private const int SlotMask = SlotCount - 1;
    private const int Levels = 3;

    private readonly TimerEntry?[] _slots = new TimerEntry?[Levels * SlotCount];
    private readonly int[] _levelCounts = new int[Levels];
    private const int Firing = Levels + 1;
    private TimerEntry? _due;
    private TimerEntry? _firing;
    private long _currentTick;
    private Instant? _cachedNext;

    /// <summary>Creates a wheel whose time starts at <paramref name="start"/>.</summary>
    public TimerWheel(Instant start) => _currentTick = start.Microseconds / 1000;

    /// <summary>Scheduled timers.</summary>
    public int Count { get; private set; }

    /// <summary>Schedules (or reschedules) <paramref name="entry"/> for <paramref name="deadline"/>.</summary>
    public void Schedule(TimerEntry entry, Instant deadline)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Cancel(entry);
        entry.Deadline = deadline;
        Insert(entry);
        Count++;
        if (_cachedNext is { } cached && deadline < cached)
        {
            _cachedNext = deadline;
        }
    }

    /// <summary>Removes <paramref name="entry"/> if scheduled.</summary>
    public void Cancel(TimerEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!entry.IsScheduled)
        {
            return;
        }

        Unlink(entry);
        Count--;
        if (_cachedNext is { } cached && entry.Deadline == cached)
        {
            _cachedNext = null;
        }
    }

    /// <summary>The earliest deadline, or <see cref="Instant.MaxValue"/> when nothing is scheduled.</summary>
    public Instant NextDeadline
    {
        get
        {
            _cachedNext ??= ComputeNext();
            return _cachedNext.Value;
        }
    }

    /// <summary>Fires, in deadline order per millisecond, every timer due at or before <paramref name="now"/>.</summary>
    public void Advance(Instant now)
    {
        long target = now.Microseconds / 1000;
        while (_currentTick < target)
        {
            if (Count == 0)
            {
                _currentTick = target;
                break;
            }

            _currentTick++;
            if ((_currentTick & SlotMask) == 0)
            {
                if ((_currentTick & ((1L << (2 * SlotBits)) - 1)) == 0)
                {
                    Cascade(2, (int)((_currentTick >> (2 * SlotBits)) & SlotMask));
                }

                Cascade(1, (int)((_currentTick >> SlotBits) & SlotMask));
            }

            CollectSlot(0, (int)(_currentTick & SlotMask));
            FireDue(now);
        }

        // Timers scheduled for the current or a past millisecond land in the due list.
        FireDue(now);
        _cachedNext = null;
    }

    private void FireDue(Instant now)
    {
        // Fire only what is due now; a callback that reschedules for "now" lands in _due and fires
        // on the next Advance, so this loop is bounded. Entries being fired sit in _firing, where a
        // callback can still cancel them.
        _firing = _due;
        _due = null;
        for (TimerEntry? e = _firing; e is not null; e = e.Next)
        {
            e.Level = Firing;
        }

        while (_firing is not null)
        {
            TimerEntry entry = _firing;
            _firing = entry.Next;
            if (_firing is not null)
            {
                _firing.Previous = null;
            }

            entry.Next = null;
            entry.Level = -1;
            Count--;
            entry.Fire(now);
        }
    }

    private void CollectSlot(int level, int slot)
    {
        int index = level * SlotCount + slot;
        TimerEntry? entry = _slots[index];
        _slots[index] = null;
        while (entry is not null)
        {
            TimerEntry? next = entry.Next;
            _levelCounts[level]--;
            PushDue(entry);
            entry = next;
        }
    }

    private void PushDue(TimerEntry entry)
    {
        entry.Level = Levels;
        entry.Previous = null;
        entry.Next = _due;
        if (_due is not null)
        {
            _due.Previous = entry;
        }

        _due = entry;
    }

    private void Cascade(int level, int slot)
    {
        int index = level * SlotCount + slot;
        TimerEntry? entry = _slots[index];
        _slots[index] = null;
        while (entry is not null)
        {
            TimerEntry? next = entry.Next;
            _levelCounts[level]--;
            entry.Level = -1;
            entry.Next = null;
            entry.Previous = null;
            Insert(entry);
            entry = next;
        }
    }

    private void Insert(TimerEntry entry)
    {
        // Round up so a timer never fires before its deadline.
        long tick = (entry.Deadline.Microseconds + 999) / 1000;
        long delta = tick - _currentTick;
        int level;
        long slotTick;
        if (delta <= 0)
        {
            PushDue(entry);
            return;
        }

        // A level-L slot covers one aligned range of 256^L ticks; an entry goes to the lowest level
        // whose ranges ahead of the current one (1..255 ranges away) include its tick, so every
        // slot is collected or cascaded exactly when time enters its range.
        if (delta < SlotCount)
        {
            level = 0;
            slotTick = tick;
        }
        else if ((tick >> SlotBits) - (_currentTick >> SlotBits) < SlotCount)
        {
            level = 1;
            slotTick = tick >> SlotBits;
        }
        else
        {
            level = 2;
            slotTick = Math.Min(tick >> (2 * SlotBits), (_currentTick >> (2 * SlotBits)) + SlotCount - 1);
        }

        int slot = (int)(slotTick & SlotMask);
        int index = level * SlotCount + slot;
        entry.Level = level;
        entry.Slot = slot;
        entry.Previous = null;
        entry.Next = _slots[index];
        if (entry.Next is not null)
        {
            entry.Next.Previous = entry;
        }

        _slots[index] = entry;
        _levelCounts[level]++;
    }

    private void Unlink(TimerEntry entry)
    {
        if (entry.Level >= Levels)
        {
            if (entry.Previous is null)
            {
                if (entry.Level == Levels)
                {
                    _due = entry.Next;
                }
                else
                {
                    _firing = entry.Next;
                }
            }
        }
        else
        {
            int index = entry.Level * SlotCount + entry.Slot;
            if (entry.Previous is null)
            {
                _slots[index] = entry.Next;
            }

            _levelCounts[entry.Level]--;
        }

        if (entry.Previous is not null)
        {
            entry.Previous.Next = entry.Next;
        }

        if (entry.Next is not null)
        {
            entry.Next.Previous = entry.Previous;
        }

        entry.Next = null;
        entry.Previous = null;
        entry.Level = -1;
    }

    private Instant ComputeNext()
    {
        Instant best = MinOf(_due, Instant.MaxValue);

        // Within a level slots are bucketed by absolute time, so the first non-empty slot ahead
        // holds that level's earliest deadline; a higher level can still hold an earlier one than
        // a lower level (it was filed before time moved on), hence the minimum over levels.
        for (int level = 0; level < Levels; level++)
        {
            if (_levelCounts[level] == 0)
            {
                continue;
            }

            int shift = level * SlotBits;
            long start = (_currentTick >> shift) + (level == 0 ? 0 : 1);
            for (int i = 0; i < SlotCount; i++)
            {
                TimerEntry? head = _slots[level * SlotCount + (int)((start + i) & SlotMask)];
                if (head is not null)
                {
                    best = MinOf(head, best);
                    break;
                }
            }
        }

        return best;
    }

    private static Instant MinOf(TimerEntry? entry, Instant best)
    {
        for (; entry is not null; entry = entry.Next)
        {
            best = Instant.Min(best, entry.Deadline);
        }

        return best;
    }
}
