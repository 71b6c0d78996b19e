namespace TunStack.Sockets;

/// <summary>
/// Wakes threads blocked in <see cref="StackSocket.Poll(Span{PollDescriptor}, int)"/> and
/// <see cref="StackSocket.Select"/> when any socket's readiness may have changed. Cheap when
/// nobody polls: a counter increment.
/// </summary>
internal static class PollWaiters
{
    private static readonly object s_lock = new();
    private static long s_generation;
    private static int s_waiting;

    public static long Generation => Volatile.Read(ref s_generation);

    public static void Notify()
    {
        Interlocked.Increment(ref s_generation);
        if (Volatile.Read(ref s_waiting) > 0)
        {
            lock (s_lock)
            {
                Monitor.PulseAll(s_lock);
            }
        }
    }

    /// <summary>Waits until the generation moves past <paramref name="seen"/> or the time is up; false on timeout.</summary>
    public static bool Wait(long seen, int timeoutMilliseconds)
    {
        lock (s_lock)
        {
            Interlocked.Increment(ref s_waiting);
            try
            {
                while (Generation == seen)
                {
                    if (!Monitor.Wait(s_lock, timeoutMilliseconds))
                    {
                        return Generation != seen;
                    }
                }

                return true;
            }
            finally
            {
                Interlocked.Decrement(ref s_waiting);
            }
        }
    }
}
