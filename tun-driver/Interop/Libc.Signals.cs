using System.Runtime.InteropServices;

namespace TunStack.Tun.Interop;

internal static partial class Libc
{
    // glibc's struct sigaction on Linux (x86-64 and arm64 alike): the handler, a 1024-bit mask,
    // the flags, and the restorer glibc fills in itself.
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct SignalAction
    {
        public nint Handler;
        public fixed ulong Mask[16];
        public int Flags;
        public nint Restorer;
    }

    [LibraryImport("libc", EntryPoint = "sigaction", SetLastError = true)]
    public static unsafe partial int SetSignalAction(int signal, SignalAction* action, SignalAction* previous);

    /// <summary>The highest real-time signal number of this C library (SIGRTMAX is a function in glibc).</summary>
    [LibraryImport("libc", EntryPoint = "__libc_current_sigrtmax")]
    public static partial int HighestRealTimeSignal();

    [LibraryImport("libc", EntryPoint = "getpid")]
    public static partial int ProcessId();

    [LibraryImport("libc", EntryPoint = "tgkill", SetLastError = true)]
    public static partial int SignalThread(int processId, int threadId, int signal);
}
