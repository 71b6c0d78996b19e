namespace TunStack.Tun;

/// <summary>
/// How the thread that waits on a TUN queue itself reads it. The first read after a wake takes
/// one packet, so that the stack answers a lone request (and the answer is written) before the
/// read that finds the queue empty rather than after it: that read costs a system call, and it
/// was on every request/response exchange's path. The stack reads again as long as reads return
/// packets; once one finds the queue empty, further reads at the same instant (the rest of that
/// poll) return nothing without a system call, and the next wait in poll() sees any packet that
/// arrived since.
/// </summary>
internal struct TunReadState
{
    private bool _woken;
    private bool _drained;
    private Instant _drainedAt;

    /// <summary>The thread returns from its wait in poll().</summary>
    public void Woken()
    {
        _woken = true;
        _drained = false;
    }

    /// <summary>How many packets a read at <paramref name="now"/> may take: 0 when the queue was found empty at this instant.</summary>
    public int Budget(Instant now)
    {
        if (_drained && _drainedAt == now)
        {
            return 0;
        }

        _drained = false;
        if (_woken)
        {
            _woken = false;
            return 1;
        }

        return int.MaxValue;
    }

    /// <summary>A read at <paramref name="now"/> ended; <paramref name="drained"/> when it found the queue empty.</summary>
    public void Finished(bool drained, Instant now)
    {
        if (drained)
        {
            _drained = true;
            _drainedAt = now;
        }
    }
}
