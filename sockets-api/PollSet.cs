// An epoll instance over stack sockets. Each registration is a PollSetEntry that watches its
// socket (the socket's events reach only the sets and polls watching it); an event puts the entry
// on the set's ready list, and a wait looks only at that list, so a wait costs O(ready), not
// O(registered). Locks: the socket's gate (StackRunner.Gate), then the set's own lock; a wait
// never holds the set's lock while it takes a gate.
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace TunStack.Sockets;

/// <summary>
/// A set of sockets watched together, as Linux's epoll: <see cref="Add"/>, <see cref="Modify"/> and
/// <see cref="Remove"/> register a socket with the conditions of interest (epoll_ctl), and
/// <see cref="Wait"/> or <see cref="WaitAsync"/> (epoll_wait) fill a caller's buffer with the sockets
/// that are ready, in the order they became ready. A wait costs in proportion to the sockets
/// reported, not to the sockets registered, and allocates nothing.
/// <para>
/// Conditions are those of <see cref="StackSocket.Poll(Span{PollDescriptor}, int)"/>;
/// <see cref="PollEvents.Error"/> and <see cref="PollEvents.HangUp"/> are reported whether
/// registered or not. <see cref="PollTrigger"/> chooses level-triggered (the default),
/// edge-triggered and one-shot reporting. Closing a registered socket removes it from every set:
/// the next wait reports it once with <see cref="PollEvents.Invalid"/>, waking a wait that is
/// blocked, so that the caller can drop what it keeps for the socket; <see cref="Remove"/> before
/// closing avoids that report. The sockets may belong to different hosts; a socket may be in
/// several sets. All members are thread-safe; several threads may wait at once (a level-triggered
/// socket may then be reported to more than one of them, as with epoll: use
/// <see cref="PollTrigger.OneShot"/> to hand each socket to one thread), but only one
/// <see cref="WaitAsync"/> at a time.
/// </para>
/// </summary>
public sealed class PollSet : IDisposable
{
    /// <summary>Conditions reported whether registered or not (EPOLLERR, EPOLLHUP).</summary>
    internal const PollEvents AlwaysReported = PollEvents.Error | PollEvents.HangUp;

    private readonly object _lock = new();
    private readonly ReadinessSignal _asyncWaiter;
    private PollSetEntry? _readyHead;
    private PollSetEntry? _readyTail;
    private PollSetEntry? _allHead;
    private int _count;
    private int _blockingWaiters;
    private bool _disposed;

    /// <summary>Creates an empty set (epoll_create).</summary>
    public PollSet() => _asyncWaiter = new ReadinessSignal(_lock);

    /// <summary>How many sockets are registered (a closed socket counts until a wait has reported it).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>
    /// EPOLL_CTL_ADD: watches <paramref name="socket"/> for <paramref name="events"/>. If a
    /// condition holds already, the next wait reports it (in every trigger mode).
    /// </summary>
    /// <param name="socket">The socket, of any host.</param>
    /// <param name="events">The conditions of interest (None: only Error and HangUp).</param>
    /// <param name="trigger">Level (the default), Edge, OneShot, or Edge | OneShot.</param>
    /// <param name="userToken">Handed back with every report of this socket (epoll_event's data).</param>
    /// <exception cref="InvalidOperationException">The socket is in this set already (EEXIST).</exception>
    /// <exception cref="ObjectDisposedException">The socket or the set is closed (EBADF).</exception>
    public void Add(StackSocket socket, PollEvents events, PollTrigger trigger = PollTrigger.Level, object? userToken = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        CheckTrigger(trigger);
        lock (socket.Gate)
        {
            socket.ThrowIfClosedUnderGate();
            if (Find(socket) is not null)
            {
                throw new InvalidOperationException("The socket is in this set already (EEXIST); use Modify to change what it waits for.");
            }

            var entry = new PollSetEntry(this, socket, events, trigger, userToken);
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                LinkAll(entry);
            }

            socket.Watchers.Add(entry);
            QueueIfReady(entry);
        }
    }

    /// <summary>
    /// EPOLL_CTL_MOD: replaces what <paramref name="socket"/> is watched for, its trigger and its
    /// token, and re-arms it: a one-shot socket that was reported is watched again, and a condition
    /// that holds now is reported by the next wait (also when edge-triggered).
    /// </summary>
    /// <exception cref="InvalidOperationException">The socket is not in this set (ENOENT).</exception>
    /// <exception cref="ObjectDisposedException">The socket or the set is closed (EBADF).</exception>
    public void Modify(StackSocket socket, PollEvents events, PollTrigger trigger = PollTrigger.Level, object? userToken = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        CheckTrigger(trigger);
        lock (socket.Gate)
        {
            socket.ThrowIfClosedUnderGate();
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
            PollSetEntry entry = Find(socket) ?? throw new InvalidOperationException("The socket is not in this set (ENOENT); use Add.");
            entry.Events = events;
            entry.Trigger = trigger;
            entry.UserToken = userToken;
            entry.Disabled = false;
            QueueIfReady(entry);
        }
    }

    /// <summary>
    /// EPOLL_CTL_DEL: stops watching <paramref name="socket"/>; no wait reports it afterwards
    /// (a wait already returning may still hold it). Safe while another thread waits, and after
    /// the socket or the set was closed.
    /// </summary>
    /// <returns>False when the socket was not in the set (ENOENT).</returns>
    public bool Remove(StackSocket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        lock (socket.Gate)
        {
            PollSetEntry? entry = Find(socket);
            if (entry is null)
            {
                return false;
            }

            entry.Removed = true;
            socket.Watchers.Remove(entry);
            lock (_lock)
            {
                UnlinkAll(entry);
            }

            return true;
        }
    }

    /// <summary>
    /// epoll_wait: fills <paramref name="ready"/> with the sockets that are ready, up to its
    /// length, and returns how many; waits up to <paramref name="timeoutMilliseconds"/> (negative:
    /// for ever, 0: just look) until at least one is. Returns 0 when the time is up. When more
    /// sockets are ready than <paramref name="ready"/> holds, the rest stay first in line for the
    /// next wait, and a level-triggered socket just reported goes to the back of the line, so every
    /// ready socket gets its turn.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="ready"/> is empty.</exception>
    /// <exception cref="ObjectDisposedException">The set is closed (also when closed during the wait).</exception>
    public int Wait(Span<ReadySocket> ready, int timeoutMilliseconds)
    {
        if (ready.IsEmpty)
        {
            throw new ArgumentException("Room for at least one socket is needed (epoll_wait's maxevents).", nameof(ready));
        }

        long start = timeoutMilliseconds > 0 ? Stopwatch.GetTimestamp() : 0;
        while (true)
        {
            PollSetEntry? taken;
            lock (_lock)
            {
                while (true)
                {
                    ObjectDisposedException.ThrowIf(_disposed, this);
                    if (_readyHead is not null)
                    {
                        break;
                    }

                    int remaining = Remaining(start, timeoutMilliseconds);
                    if (remaining == 0)
                    {
                        return 0;
                    }

                    _blockingWaiters++;
                    try
                    {
                        Monitor.Wait(_lock, remaining);
                    }
                    finally
                    {
                        _blockingWaiters--;
                    }
                }

                taken = TakeReady(ready.Length);
            }

            int reported = Report(taken, ready);
            if (reported > 0 || Remaining(start, timeoutMilliseconds) == 0)
            {
                return reported;
            }
        }
    }

    /// <summary>
    /// epoll_wait as a <see cref="ValueTask{TResult}"/>: completes with how many sockets it put in
    /// <paramref name="ready"/> (at least one) once any is ready; at once, without allocating, when
    /// one is ready already. Allocates nothing in the steady state when it waits either. One
    /// <see cref="WaitAsync"/> at a time per set.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="ready"/> is empty.</exception>
    /// <exception cref="InvalidOperationException">Another WaitAsync on this set is pending.</exception>
    /// <exception cref="ObjectDisposedException">The set is closed (also when closed during the wait).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<int> WaitAsync(Memory<ReadySocket> ready, CancellationToken cancellationToken = default)
    {
        if (ready.IsEmpty)
        {
            throw new ArgumentException("Room for at least one socket is needed (epoll_wait's maxevents).", nameof(ready));
        }

        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            PollSetEntry? taken = null;
            ValueTask wait = default;
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_readyHead is not null)
                {
                    taken = TakeReady(ready.Length);
                }
                else
                {
                    wait = _asyncWaiter.ArmAsync(cancellationToken);
                }
            }

            if (taken is not null)
            {
                int reported = Report(taken, ready.Span);
                if (reported > 0)
                {
                    return reported;
                }

                continue;
            }

            await wait.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Closes the set (closing an epoll descriptor): every socket stops being watched by it;
    /// blocked and later waits throw <see cref="ObjectDisposedException"/>. The sockets stay open.
    /// </summary>
    public void Dispose()
    {
        PollSetEntry? all;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            all = _allHead;
            _allHead = null;
            _readyHead = null;
            _readyTail = null;
            _count = 0;
            Wake();
        }

        // The links are frozen now: nothing changes them once the set is disposed.
        for (PollSetEntry? entry = all; entry is not null; entry = entry.AllNext)
        {
            lock (entry.Socket.Gate)
            {
                if (!entry.Removed)
                {
                    entry.Removed = true;
                    entry.Socket.Watchers.Remove(entry);
                }
            }
        }
    }

    /// <summary>Under the entry's socket's gate: puts the entry on the ready list (an event came, or it is ready at Add or Modify).</summary>
    internal void Enqueue(PollSetEntry entry)
    {
        lock (_lock)
        {
            if (_disposed || !entry.InSet)
            {
                return;
            }

            if (entry.InTransfer)
            {
                entry.EventDuringTransfer = true;
            }
            else if (!entry.OnReadyList)
            {
                AppendReady(entry);
                Wake();
            }
        }
    }

    // Under the gate: EPOLL_CTL_ADD and MOD look at the socket once (ep_insert, ep_modify).
    private void QueueIfReady(PollSetEntry entry)
    {
        if ((entry.Socket.ReadinessUnderGate() & (entry.Events | AlwaysReported)) != PollEvents.None)
        {
            entry.Signalled = true;
            Enqueue(entry);
        }
    }

    // Under the socket's gate: this set's entry for the socket.
    private PollSetEntry? Find(StackSocket socket)
    {
        ref ReadinessWatcherList watchers = ref socket.Watchers;
        for (int i = 0; i < watchers.Count; i++)
        {
            if (watchers[i] is PollSetEntry entry && entry.Set == this && !entry.Removed)
            {
                return entry;
            }
        }

        return null;
    }

    // Under the set's lock: cuts up to `max` entries off the front of the ready list, still linked
    // through ReadyNext, and marks them in transfer (events for them meanwhile are remembered).
    private PollSetEntry? TakeReady(int max)
    {
        PollSetEntry? head = _readyHead;
        PollSetEntry? last = null;
        int n = 0;
        for (PollSetEntry? entry = head; entry is not null && n < max; entry = entry.ReadyNext, n++)
        {
            entry.OnReadyList = false;
            entry.ReadyPrevious = null;
            entry.InTransfer = true;
            entry.EventDuringTransfer = false;
            entry.RequeueAfterTransfer = false;
            last = entry;
        }

        if (last is not null)
        {
            _readyHead = last.ReadyNext;
            last.ReadyNext = null;
            if (_readyHead is null)
            {
                _readyTail = null;
            }
            else
            {
                _readyHead.ReadyPrevious = null;
            }
        }

        return head;
    }

    // Outside the set's lock: looks at each taken entry under its socket's gate (taken once for a
    // run of entries of one host), reports those ready, then puts back on the ready list those
    // still level-triggered ready or signalled meanwhile (ep_send_events).
    private int Report(PollSetEntry? taken, Span<ReadySocket> ready)
    {
        int reported = 0;
        Lock? held = null;
        try
        {
            for (PollSetEntry? entry = taken; entry is not null; entry = entry.ReadyNext)
            {
                Lock gate = entry.Socket.Gate;
                if (gate != held)
                {
                    if (held is not null)
                    {
                        held.Exit();
                        held = null;
                    }

                    gate.Enter();
                    held = gate;
                }

                if (entry.Removed || (entry.Disabled && !entry.Closed))
                {
                    continue;
                }

                if (entry.Closed)
                {
                    ready[reported++] = new ReadySocket(entry.Socket, PollEvents.Invalid, entry.UserToken);
                    entry.Removed = true;
                    entry.Socket.Watchers.Remove(entry);
                    entry.DropAfterTransfer = true;
                    continue;
                }

                bool edge = (entry.Trigger & PollTrigger.Edge) != 0;
                if (edge && !entry.Signalled)
                {
                    continue;
                }

                entry.Signalled = false;
                PollEvents events = entry.Socket.ReadinessUnderGate() & (entry.Events | AlwaysReported);
                if (events == PollEvents.None)
                {
                    continue;
                }

                ready[reported++] = new ReadySocket(entry.Socket, events, entry.UserToken);
                if ((entry.Trigger & PollTrigger.OneShot) != 0)
                {
                    entry.Disabled = true;
                }
                else if (!edge)
                {
                    entry.RequeueAfterTransfer = true;
                }
            }
        }
        finally
        {
            held?.Exit();
        }

        lock (_lock)
        {
            bool requeued = false;
            PollSetEntry? entry = taken;
            while (entry is not null)
            {
                PollSetEntry? next = entry.ReadyNext;
                entry.ReadyNext = null;
                entry.InTransfer = false;
                if (!_disposed && entry.InSet)
                {
                    if (entry.DropAfterTransfer)
                    {
                        UnlinkAll(entry);
                    }
                    else if (entry.RequeueAfterTransfer || entry.EventDuringTransfer)
                    {
                        AppendReady(entry);
                        requeued = true;
                    }
                }

                entry = next;
            }

            if (requeued)
            {
                Wake();
            }
        }

        return reported;
    }

    // Under the set's lock.
    private void Wake()
    {
        if (_blockingWaiters > 0)
        {
            Monitor.PulseAll(_lock);
        }

        _asyncWaiter.Signal();
    }

    private void AppendReady(PollSetEntry entry)
    {
        entry.ReadyPrevious = _readyTail;
        entry.ReadyNext = null;
        if (_readyTail is null)
        {
            _readyHead = entry;
        }
        else
        {
            _readyTail.ReadyNext = entry;
        }

        _readyTail = entry;
        entry.OnReadyList = true;
    }

    private void UnlinkReady(PollSetEntry entry)
    {
        if (entry.ReadyPrevious is null)
        {
            _readyHead = entry.ReadyNext;
        }
        else
        {
            entry.ReadyPrevious.ReadyNext = entry.ReadyNext;
        }

        if (entry.ReadyNext is null)
        {
            _readyTail = entry.ReadyPrevious;
        }
        else
        {
            entry.ReadyNext.ReadyPrevious = entry.ReadyPrevious;
        }

        entry.ReadyPrevious = null;
        entry.ReadyNext = null;
        entry.OnReadyList = false;
    }

    private void LinkAll(PollSetEntry entry)
    {
        entry.AllNext = _allHead;
        if (_allHead is not null)
        {
            _allHead.AllPrevious = entry;
        }

        _allHead = entry;
        entry.InSet = true;
        _count++;
    }

    private void UnlinkAll(PollSetEntry entry)
    {
        if (_disposed || !entry.InSet)
        {
            return;
        }

        if (entry.OnReadyList)
        {
            UnlinkReady(entry);
        }

        if (entry.AllPrevious is null)
        {
            _allHead = entry.AllNext;
        }
        else
        {
            entry.AllPrevious.AllNext = entry.AllNext;
        }

        if (entry.AllNext is not null)
        {
            entry.AllNext.AllPrevious = entry.AllPrevious;
        }

        entry.AllPrevious = null;
        entry.AllNext = null;
        entry.InSet = false;
        _count--;
    }

    // Milliseconds left of a timeout (-1: for ever, 0: none left).
    private static int Remaining(long start, int timeoutMilliseconds)
    {
        if (timeoutMilliseconds <= 0)
        {
            return timeoutMilliseconds < 0 ? Timeout.Infinite : 0;
        }

        long left = timeoutMilliseconds - (long)Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        return left <= 0 ? 0 : (int)left;
    }

    private static void CheckTrigger(PollTrigger trigger)
    {
        if ((trigger & ~(PollTrigger.Edge | PollTrigger.OneShot)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(trigger), trigger, "Level, Edge, OneShot or Edge | OneShot.");
        }
    }
}
