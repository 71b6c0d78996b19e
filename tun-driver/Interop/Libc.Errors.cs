using System.Runtime.InteropServices;

namespace TunStack.Tun.Interop;

internal static partial class Libc
{
    public const int EPERM = 1, ENOENT = 2, EINTR = 4, EIO = 5, ENXIO = 6, EBADF = 9, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EBUSY = 16,
        EEXIST = 17, ENODEV = 19, EINVAL = 22, ENOSPC = 28, ENETUNREACH = 101, EADDRNOTAVAIL = 99, EOPNOTSUPP = 95;

    /// <summary>errno of the last call made with SetLastError.</summary>
    public static int LastError => Marshal.GetLastPInvokeError();

    /// <summary>"No such file or directory (ENOENT)".</summary>
    public static string Describe(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} ({Name(errno)})";

    public static string Name(int errno) => errno switch
    {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        EINTR => "EINTR",
        EIO => "EIO",
        ENXIO => "ENXIO",
        EBADF => "EBADF",
        EAGAIN => "EAGAIN",
        ENOMEM => "ENOMEM",
        EACCES => "EACCES",
        EBUSY => "EBUSY",
        EEXIST => "EEXIST",
        ENODEV => "ENODEV",
        EINVAL => "EINVAL",
        ENOSPC => "ENOSPC",
        ENETUNREACH => "ENETUNREACH",
        EADDRNOTAVAIL => "EADDRNOTAVAIL",
        EOPNOTSUPP => "EOPNOTSUPP",
        _ => $"errno {errno}",
    };
}
