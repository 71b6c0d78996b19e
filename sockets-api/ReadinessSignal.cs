// One waiter for one direction (read or write) of one socket, or for one PollSet's WaitAsync: a
// blocked thread or an awaiting ValueTask, armed and signalled under one lock (the host's gate,
// or the set's lock) so that no wake-up is lost.
using System.Threading.Tasks.Sources;

namespace TunStack.Sockets;

/// <summary>
/// Wakes the one caller waiting for a socket to become readable (or writable). The caller checks
/// readiness and arms the signal under the host's gate; the stack's callbacks signal under the
/// same gate; so a readiness change between the check and the wait cannot be missed. Reused for
/// every wait: an async wait is a <see cref="ValueTask"/> over this object, no allocation.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "A ManualResetEventSlim that never hands out its WaitHandle holds no kernel object; disposing it under a waiter would be the bug.")]
internal sealed class ReadinessSignal : IValueTaskSource
{
    private const int Idle = 0, Blocking = 1, Awaiting = 2;
    private const string AlreadyWaiting = "Another call is already waiting here (a socket takes one reader and one writer at a time, a PollSet one WaitAsync).";
    private static readonly Action<object?, CancellationToken> s_cancel = static (state, token) => ((ReadinessSignal)state!).Cancel(token);
    private readonly Lock? _gate;
    private readonly object? _monitor;
    private readonly ManualResetEventSlim _event = new(false, spinCount: 0);
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private CancellationTokenRegistration _registration;
    private int _mode;

    /// <summary>A signal armed and signalled under a host's gate.</summary>
    public ReadinessSignal(Lock gate) => _gate = gate;

    /// <summary>A signal armed and signalled under a monitor (a PollSet's lock, which it also waits on).</summary>
    public ReadinessSignal(object monitor) => _monitor = monitor;

    /// <summary>True while a caller waits.</summary>
    public bool IsArmed => _mode != Idle;

    /// <summary>Under the gate: prepares a blocking wait (then call <see cref="WaitBlocking"/> outside it).</summary>
    public void ArmBlocking()
    {
        if (_mode != Idle)
        {
            throw new InvalidOperationException(AlreadyWaiting);
        }

        _event.Reset();
        _mode = Blocking;
    }

    /// <summary>Outside the gate: waits for the signal; false on timeout (the signal is disarmed).</summary>
    public bool WaitBlocking(int timeoutMilliseconds)
    {
        if (_event.Wait(timeoutMilliseconds <= 0 ? Timeout.Infinite : timeoutMilliseconds))
        {
            return true;
        }

        EnterLock();
        try
        {
            if (_mode == Blocking)
            {
                _mode = Idle;
                return false;
            }
        }
        finally
        {
            ExitLock();
        }

        return true;
    }

    /// <summary>Under the gate: arms an async wait and returns it.</summary>
    public ValueTask ArmAsync(CancellationToken cancellationToken)
    {
        if (_mode != Idle)
        {
            throw new InvalidOperationException(AlreadyWaiting);
        }

        _core.Reset();
        _mode = Awaiting;
        if (cancellationToken.CanBeCanceled)
        {
            _registration = cancellationToken.UnsafeRegister(s_cancel, this);
        }

        return new ValueTask(this, _core.Version);
    }

    /// <summary>Under the gate: wakes the waiter, if any.</summary>
    public void Signal()
    {
        switch (_mode)
        {
            case Blocking:
                _mode = Idle;
                _event.Set();
                break;
            case Awaiting:
                _mode = Idle;
                _core.SetResult(true);
                break;
        }
    }

    private void Cancel(CancellationToken token)
    {
        EnterLock();
        try
        {
            if (_mode == Awaiting)
            {
                _mode = Idle;
                _core.SetException(new OperationCanceledException(token));
            }
        }
        finally
        {
            ExitLock();
        }
    }

    private void EnterLock()
    {
        if (_gate is not null)
        {
            _gate.Enter();
        }
        else
        {
            Monitor.Enter(_monitor!);
        }
    }

    private void ExitLock()
    {
        if (_gate is not null)
        {
            _gate.Exit();
        }
        else
        {
            Monitor.Exit(_monitor!);
        }
    }

    void IValueTaskSource.GetResult(short token)
    {
        _registration.Dispose();
        _registration = default;
        _core.GetResult(token);
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);
}
