using System.Runtime.InteropServices;
using TunStack.Tun.Interop;

namespace TunStack.Tun;

/// <summary>
/// The signal that ends a read() blocked on a TUN queue: a real-time signal (SIGRTMAX - 3) whose
/// handler is installed without SA_RESTART, so that the read returns EINTR instead of starting
/// over (signal(7); drivers/net/tun.c tun_ring_recv returns -ERESTARTSYS when a signal is
/// pending). The handler must do nothing and be safe to run at any moment, so no managed code
/// runs in it: it is the C library's abs(), a function of one int that only computes. Installed
/// once per process, at the first use; where that cannot be done (no glibc, or another handler
/// already owns the signal), <see cref="Available"/> is false and TUN reads do not block.
/// </summary>
internal static class ReadInterruptSignal
{
    private static readonly Lazy<int> s_number = new(Install);

    /// <summary>True when the handler is in place.</summary>
    public static bool Available => s_number.Value > 0;

    /// <summary>Sends the signal to the thread whose kernel id is <paramref name="threadId"/> (gettid).</summary>
    public static void Send(int threadId)
    {
        if (Available)
        {
            Libc.SignalThread(Libc.ProcessId(), threadId, s_number.Value);
        }
    }

    private static unsafe int Install()
    {
        try
        {
            int signal = Libc.HighestRealTimeSignal() - 3;
            nint handler = NativeLibrary.GetExport(NativeLibrary.Load("libc.so.6"), "abs");
            Libc.SignalAction previous;
            if (Libc.SetSignalAction(signal, null, &previous) != 0 || (previous.Handler != 0 && previous.Handler != handler))
            {
                return 0; // someone else's signal
            }

            Libc.SignalAction action = default; // an empty mask; no SA_RESTART
            action.Handler = handler;
            return Libc.SetSignalAction(signal, &action, null) == 0 ? signal : 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return 0;
        }
    }
}
