using System.Runtime.InteropServices;

namespace TunStack.Tun.Interop;

internal static partial class Libc
{
    public const int O_RDWR = 0x2, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000, O_CREAT = 0x40, O_RDONLY = 0;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    // The reads and writes of packets and eventfds run once or more per packet, so they leave
    // out SetLastError's bookkeeping (clearing errno before the call, copying it into the
    // runtime's per-thread slot after): a caller that needs the errno of a failure reads it
    // with Marshal.GetLastSystemError() right after the call that returned -1.
    [LibraryImport("libc", EntryPoint = "read")]
    public static unsafe partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write")]
    public static unsafe partial nint Write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "writev")]
    public static unsafe partial nint WriteVector(int fd, IoVector* vectors, int count);

    [LibraryImport("libc", EntryPoint = "readv")]
    public static unsafe partial nint ReadVector(int fd, IoVector* vectors, int count);

    /// <summary>preadv2's flag for a read that must not wait (Linux 4.14; a TUN honours it from Linux 6.x).</summary>
    public const int RWF_NOWAIT = 0x8;

    // preadv2 with offset -1 reads at the current position, as readv does, with per-call flags.
    [LibraryImport("libc", EntryPoint = "preadv2")]
    public static unsafe partial nint ReadVector(int fd, IoVector* vectors, int count, long offset, int flags);

    public const int F_GETFL = 3, F_SETFL = 4;

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static unsafe partial int Ioctl(int fd, nuint request, void* argument);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, nint argument);

    public const int LOCK_EX = 2;

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    public static partial int Flock(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initial, int flags);

    public const int EFD_NONBLOCK = 0x800, EFD_CLOEXEC = 0x80000;

    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct IoVector
    {
        public byte* Base;
        public nuint Length;
    }
}
