namespace TunStack;

/// <summary>
/// A hierarchical timing wheel (Varghese and Lauck): three levels of 256 slots with 1 ms, 256 ms
/// and 65.5 s granularity cover 4.6 hours; later deadlines wait in the last slot of the last level
/// and are re-filed as time advances. Schedule and cancel are O(1). A timer never fires before its
/// deadline, nor later than the first <see cref="Advance"/> at or after it. <see cref="NextDeadline"/>
/// scans at most 512 slots plus the top level and is cached between changes.
/// </summary>
internal sealed class TimerWheel
{
    private const int SlotBits = 8;
    private const int SlotCount = 1 << SlotBits;
    private const int SlotMask = SlotCount - 1;
    private const int Levels = 3;

    // Entries outside the wheel's slots live in one of three lists, identified by Level.
    private const int DueList = Levels;          // due now, fired by the current Advance
    private const int FiringList = Levels + 1;   // being fired; a callback may still cancel them
    private const int DeferredList = Levels + 2; // scheduled for "now" from a callback: next Advance

    private readonly TimerEntry?[] _slots = new TimerEntry?[Levels * SlotCount];
    private readonly TimerEntry?[] _lists = new TimerEntry?[3];
    private readonly int[] _levelCounts = new int[Levels];
    private long _currentTick;
    private bool _firing;
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

    /// <summary>Fires every timer whose deadline is at or before <paramref name="now"/>.</summary>
    public void Advance(Instant now)
    {
        MoveList(DeferredList, DueList);
        long target = now.Microseconds / 1000;
        while (_currentTick < target)
        {
            if (Count == 0)
            {
                _currentTick = target;
                break;
            }

            if (_levelCounts[0] == 0 && _lists[DueList - Levels] is null)
            {
                // Nothing in the lowest level: skip to just before the next boundary at which a
                // higher level cascades (every 256 ticks, or every 65,536 when level 1 is empty too).
                long mask = _levelCounts[1] == 0 ? (1L << (2 * SlotBits)) - 1 : SlotMask;
                long lastBeforeBoundary = _currentTick | mask;
                if (lastBeforeBoundary > _currentTick)
                {
                    _currentTick = Math.Min(lastBeforeBoundary, target);
                    continue;
                }
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

            CollectSlot((int)(_currentTick & SlotMask));
            FireDue(now);
        }

        // Deadlines are rounded up to whole ticks, so the next tick's slot can hold entries already
        // due when "now" lies inside the current millisecond: take those too. When the next tick
        // starts a higher level's range, such an entry still waits in that level's slot (it is
        // cascaded only when time enters the range): look there as well, or NextDeadline would
        // keep reporting a deadline that no Advance before the next millisecond fires.
        long next = _currentTick + 1;
        TakeDue(0, (int)(next & SlotMask), now);
        if ((next & SlotMask) == 0)
        {
            TakeDue(1, (int)((next >> SlotBits) & SlotMask), now);
            if ((next & ((1L << (2 * SlotBits)) - 1)) == 0)
            {
                TakeDue(2, (int)((next >> (2 * SlotBits)) & SlotMask), now);
            }
        }

        FireDue(now);
        _cachedNext = null;
    }

    // Moves the entries of one slot whose deadline is at or before now to the due list.
    private void TakeDue(int level, int slot, Instant now)
    {
        for (TimerEntry? e = _slots[(level * SlotCount) + slot]; e is not null;)
        {
            TimerEntry? following = e.Next;
            if (e.Deadline <= now)
            {
                Unlink(e);
                Push(e, DueList);
            }

            e = following;
        }
    }

    private void FireDue(Instant now)
    {
        MoveList(DueList, FiringList);
        _firing = true;
        try
        {
            while (_lists[FiringList - Levels] is TimerEntry entry)
            {
                Unlink(entry);
                Count--;
                entry.Fire(now);
            }
        }
        finally
        {
            _firing = false;
        }
    }

    private void MoveList(int from, int to)
    {
        TimerEntry? e = _lists[from - Levels];
        _lists[from - Levels] = null;
        while (e is not null)
        {
            TimerEntry? next = e.Next;
            Push(e, to);
            e = next;
        }
    }

    private void CollectSlot(int slot)
    {
        TimerEntry? entry = _slots[slot];
        _slots[slot] = null;
        while (entry is not null)
        {
            TimerEntry? next = entry.Next;
            _levelCounts[0]--;
            Push(entry, DueList);
            entry = next;
        }
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
            Insert(entry);
            entry = next;
        }
    }

    private void Push(TimerEntry entry, int list)
    {
        entry.Level = list;
        entry.Previous = null;
        entry.Next = _lists[list - Levels];
        if (entry.Next is not null)
        {
            entry.Next.Previous = entry;
        }

        _lists[list - Levels] = entry;
    }

    private void Insert(TimerEntry entry)
    {
        // Round up so a timer never fires before its deadline.
        long tick = (entry.Deadline.Microseconds + 999) / 1000;
        long delta = tick - _currentTick;
        if (delta <= 0)
        {
            // Due already. From inside a callback it waits for the next Advance, so a timer that
            // keeps rescheduling itself for "now" cannot make one Advance loop forever.
            Push(entry, _firing ? DeferredList : DueList);
            return;
        }

        // A level-L slot covers one aligned range of 256^L ticks; an entry goes to the lowest level
        // whose ranges ahead of the current one (1..255 ranges away) include its tick, so every
        // slot is collected or cascaded exactly when time enters its range.
        int level;
        long slotTick;
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
        if (entry.Previous is not null)
        {
            entry.Previous.Next = entry.Next;
        }
        else if (entry.Level >= Levels)
        {
            _lists[entry.Level - Levels] = entry.Next;
        }
        else
        {
            _slots[entry.Level * SlotCount + entry.Slot] = entry.Next;
        }

        if (entry.Next is not null)
        {
            entry.Next.Previous = entry.Previous;
        }

        if (entry.Level < Levels)
        {
            _levelCounts[entry.Level]--;
        }

        entry.Next = null;
        entry.Previous = null;
        entry.Level = -1;
    }

    private Instant ComputeNext()
    {
        Instant best = Instant.MaxValue;
        foreach (TimerEntry? head in _lists)
        {
            best = MinOf(head, best);
        }

        // Levels 0 and 1: slots hold disjoint ascending time ranges, so the first non-empty slot
        // ahead holds the level's earliest deadline. A higher level can still hold an earlier
        // deadline than a lower one (filed before time moved on), hence the minimum over levels.
        for (int level = 0; level < 2; level++)
        {
            if (_levelCounts[level] == 0)
            {
                continue;
            }

            long start = (_currentTick >> (level * SlotBits)) + (level == 0 ? 0 : 1);
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

        // Level 2 also holds clamped far-future entries out of slot order: take all of it.
        if (_levelCounts[2] > 0)
        {
            for (int i = 0; i < SlotCount; i++)
            {
                best = MinOf(_slots[2 * SlotCount + i], best);
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
