namespace TunStack.Sockets;

/// <summary>Readiness conditions of poll(2), with Linux's bit values.</summary>
[Flags]
public enum PollEvents : short
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>POLLIN: data (or end of file) to read, or a connection to accept.</summary>
    Readable = 0x001,

    /// <summary>POLLPRI: out-of-band data waits.</summary>
    Priority = 0x002,

    /// <summary>POLLOUT: a write would not block.</summary>
    Writable = 0x004,

    /// <summary>POLLERR: an error is pending (read it with SO_ERROR); always reported.</summary>
    Error = 0x008,

    /// <summary>POLLHUP: both directions are shut (or the socket was never connected); always reported.</summary>
    HangUp = 0x010,

    /// <summary>POLLNVAL: the socket is closed; always reported.</summary>
    Invalid = 0x020,

    /// <summary>POLLRDHUP: the peer shut its sending side (FIN received).</summary>
    ReadHangUp = 0x2000,
}

/// <summary>One entry of <see cref="StackSocket.Poll(Span{PollDescriptor}, int)"/>: a socket, what to wait for, what happened.</summary>
public struct PollDescriptor
{
    /// <summary>Creates an entry for <paramref name="socket"/> waiting for <paramref name="events"/>.</summary>
    public PollDescriptor(StackSocket socket, PollEvents events)
    {
        Socket = socket;
        Events = events;
        ReturnedEvents = PollEvents.None;
    }

    /// <summary>The socket.</summary>
    public StackSocket Socket { get; }

    /// <summary>The conditions asked for (Error, HangUp and Invalid are reported anyway).</summary>
    public PollEvents Events { get; set; }

    /// <summary>The conditions found (revents).</summary>
    public PollEvents ReturnedEvents { get; set; }
}

/// <summary>Flags of recv/send that <see cref="System.Net.Sockets.SocketFlags"/> has no member for.</summary>
public static class StackSocketFlags
{
    /// <summary>MSG_WAITALL: a blocking receive waits for the whole buffer (or EOF, an error, a signal of close).</summary>
    public const System.Net.Sockets.SocketFlags WaitAll = (System.Net.Sockets.SocketFlags)0x0100_0000;

    /// <summary>MSG_DONTWAIT: this one call does not block, whatever <see cref="StackSocket.Blocking"/> says.</summary>
    public const System.Net.Sockets.SocketFlags DontWait = (System.Net.Sockets.SocketFlags)0x0200_0000;
}

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
