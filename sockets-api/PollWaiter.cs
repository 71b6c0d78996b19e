namespace TunStack.Sockets;

/// <summary>
/// A thread blocked in <see cref="StackSocket.Poll(Span{PollDescriptor}, int)"/> (or
/// <see cref="StackSocket.Select"/>): it watches each socket of its call while it sleeps and is
/// woken by an event on any of them, whichever host they belong to. One per thread, reused.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "A ManualResetEventSlim that never hands out its WaitHandle holds no kernel object; the waiter lives as long as its thread.")]
internal sealed class PollWaiter : ReadinessWatcher
{
    [ThreadStatic]
    private static PollWaiter? t_current;
    private readonly ManualResetEventSlim _event = new(false, spinCount: 0);

    /// <summary>The calling thread's waiter.</summary>
    public static PollWaiter ForCurrentThread => t_current ??= new PollWaiter();

    /// <summary>Forgets earlier events: call before looking at the sockets again.</summary>
    public void Reset() => _event.Reset();

    /// <summary>Sleeps until an event on a watched socket since <see cref="Reset"/>, or the time is up (negative: for ever); false on timeout.</summary>
    public bool Wait(int timeoutMilliseconds) => _event.Wait(timeoutMilliseconds < 0 ? Timeout.Infinite : timeoutMilliseconds);

    /// <inheritdoc/>
    public override void OnReadinessEvent(PollEvents hint) => _event.Set();
}
