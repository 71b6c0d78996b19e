// The few libc calls the shim makes itself: placeholder descriptors, and errno text for messages.
using System.Runtime.InteropServices;

namespace TunStack.PacketdrillShim;

internal static partial class Libc
{
    private const int ReadWrite = 2;          // O_RDWR
    private const int CloseOnExec = 0x80000;  // O_CLOEXEC

    /// <summary>A new descriptor on /dev/null: a real number that no other file holds while it is open; -errno on failure.</summary>
    public static int OpenPlaceholder()
    {
        int fd = Open("/dev/null", ReadWrite | CloseOnExec);
        return fd >= 0 ? fd : -Marshal.GetLastPInvokeError();
    }

    /// <summary>Closes a placeholder made by <see cref="OpenPlaceholder"/>.</summary>
    public static void ClosePlaceholder(int fd) => _ = Close(fd);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
