// Every timer of a connection in one place: created with the connection, scheduled and cancelled
// without allocating, and fired into one dispatch on the connection (TcpConnection.OnTimer).
using System.Runtime.CompilerServices;

namespace TunStack.Tcp;

/// <summary>The <see cref="TcpTimer"/>s of one connection on the stack's timer wheel.</summary>
internal sealed class TcpTimers : ITimerTarget
{
    private const int Count = (int)TcpTimer.Pace + 1;
    private readonly TimerWheel _wheel;
    private readonly TimerEntry[] _entries = new TimerEntry[Count];
    private readonly TcpConnection _connection;

    public TcpTimers(TimerWheel wheel, TcpConnection connection)
    {
        _wheel = wheel;
        _connection = connection;
        for (int i = 0; i < Count; i++)
        {
            _entries[i] = new TimerEntry(this, i);
        }
    }

    /// <summary>Sets <paramref name="timer"/> to fire at <paramref name="deadline"/> (rescheduling it if set).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Schedule(TcpTimer timer, Instant deadline) => _wheel.Schedule(_entries[(int)timer], deadline);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Cancel(TcpTimer timer) => _wheel.Cancel(_entries[(int)timer]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsScheduled(TcpTimer timer) => _entries[(int)timer].IsScheduled;

    /// <summary>When <paramref name="timer"/> fires (meaningful while <see cref="IsScheduled"/>).</summary>
    public Instant Deadline(TcpTimer timer) => _entries[(int)timer].Deadline;

    void ITimerTarget.OnTimer(int tag, Instant now) => _connection.OnTimer((TcpTimer)tag, now);

    /// <summary>Cancels every timer (the connection closed).</summary>
    public void CancelAll()
    {
        foreach (TimerEntry entry in _entries)
        {
            _wheel.Cancel(entry);
        }
    }
}
