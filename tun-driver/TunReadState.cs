using TunStack.Storage;

namespace TunStack.Tun;

/// <summary>
/// How the thread that waits on a TUN queue itself reads it. The first read after a wake takes
/// one packet, so that the stack answers a lone request (and the answer is written) before any
/// read that finds the queue empty. What comes next depends on the wake: after a wait that
/// really slept (traffic is sparse: a request, a handshake), the thread does not read again but
/// goes back to poll(), which returns at once if more has come, so a lone request costs poll,
/// read and write and no read that finds the queue empty. After a wait that returned at once
/// (packets were already queued: a stream), the stack reads on as long as reads return packets,
/// and once one finds the queue empty, further reads at the same instant return nothing without
/// a system call.
/// </summary>
internal struct TunReadState
{
    /// <summary>A wait this long or longer slept: a poll() that finds a packet queued returns in a few microseconds.</summary>
    public static readonly TimeSpan SleptAtLeast = TimeSpan.FromMicroseconds(5);

    private bool _woken;
    private bool _sparse;
    private bool _drained;
    private Instant _drainedAt;

    /// <summary>The thread returns from its wait in poll(), which took <paramref name="waited"/>.</summary>
    public void Woken(TimeSpan waited)
    {
        _woken = true;
        _sparse = waited >= SleptAtLeast;
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

        // Sparse traffic: the next poll() says whether more has come.
        return _sparse ? 0 : int.MaxValue;
    }

    /// <summary>Blocks in poll() on <paramref name="fd"/> and <paramref name="interruptFd"/> (see <see cref="TunQueue.Wait"/>) and notes how long it took.</summary>
    public void Wait(int fd, int interruptFd, TimeSpan timeout)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        TunQueue.Wait(fd, interruptFd, timeout);
        Woken(System.Diagnostics.Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Reads from <paramref name="fd"/> as many packets as <see cref="Budget"/> allows at <paramref name="now"/> (see TunQueue.ReadPackets).</summary>
    public int Read(int fd, bool vnet, byte[] headerBuffer, PacketBatch batch, ref TunQueueCounts counts, Instant now)
    {
        int budget = Budget(now);
        if (budget == 0)
        {
            return 0;
        }

        int received = TunQueue.ReadPackets(fd, vnet, headerBuffer, batch, budget, ref counts, out bool drained);
        Finished(drained, now);
        return received;
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
