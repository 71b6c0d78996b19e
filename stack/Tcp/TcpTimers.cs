// Every timer of a connection in one place: created with the connection, scheduled and cancelled
// without allocating, and fired into one dispatch on the connection (TcpConnection.OnTimer).
using System.Runtime.CompilerServices;

namespace TunStack.Tcp;

/// <summary>The <see cref="TcpTimer"/>s of one connection on the stack's timer wheel.</summary>
internal sealed class TcpTimers : ITimerTarget
{
    private const int Count = (int)TcpTimer.Pace + 1;
    private readonly TimerWheel _wheel;
    private readonly TimerEntry?[] _entries = new TimerEntry?[Count];
    private readonly TcpConnection _connection;

    public TcpTimers(TimerWheel wheel, TcpConnection connection)
    {
        _wheel = wheel;
        _connection = connection;
    }

    /// <summary>Sets <paramref name="timer"/> to fire at <paramref name="deadline"/> (rescheduling it if set).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Schedule(TcpTimer timer, Instant deadline) => _wheel.Schedule(_entries[(int)timer] ?? Create(timer), deadline);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Cancel(TcpTimer timer)
    {
        if (_entries[(int)timer] is { } entry)
        {
            _wheel.Cancel(entry);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsScheduled(TcpTimer timer) => _entries[(int)timer]?.IsScheduled ?? false;

    /// <summary>When <paramref name="timer"/> fires (meaningful while <see cref="IsScheduled"/>).</summary>
    public Instant Deadline(TcpTimer timer) => _entries[(int)timer]?.Deadline ?? default;

    // An entry is made the first time its timer is set: a short connection never sets most of them.
    private TimerEntry Create(TcpTimer timer) => _entries[(int)timer] = new TimerEntry(this, (int)timer);

    void ITimerTarget.OnTimer(int tag, Instant now) => _connection.OnTimer((TcpTimer)tag, now);

    /// <summary>Cancels every timer (the connection closed).</summary>
    public void CancelAll()
    {
        foreach (TimerEntry? entry in _entries)
        {
            if (entry is not null)
            {
                _wheel.Cancel(entry);
            }
        }
    }
}
