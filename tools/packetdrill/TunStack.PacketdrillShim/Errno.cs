// Linux errno values, and the one table that turns the sockets facade's SocketError into them.
using System.Net.Sockets;

namespace TunStack.PacketdrillShim;

/// <summary>
/// Linux x86-64 errno values. Every entry point returns a result of zero or more, or the negated
/// errno, which the native side stores in the caller's errno before returning -1.
/// </summary>
internal static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EEXIST = 17;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EFAULT = 14;
    public const int EINVAL = 22;
    public const int EMFILE = 24;
    public const int ENOTTY = 25;
    public const int EPIPE = 32;
    public const int ENOSYS = 38;
    public const int ENOTSOCK = 88;
    public const int EDESTADDRREQ = 89;
    public const int EMSGSIZE = 90;
    public const int EPROTOTYPE = 91;
    public const int ENOPROTOOPT = 92;
    public const int EPROTONOSUPPORT = 93;
    public const int ESOCKTNOSUPPORT = 94;
    public const int EOPNOTSUPP = 95;
    public const int EAFNOSUPPORT = 97;
    public const int EADDRINUSE = 98;
    public const int EADDRNOTAVAIL = 99;
    public const int ENETDOWN = 100;
    public const int ENETUNREACH = 101;
    public const int ECONNABORTED = 103;
    public const int ECONNRESET = 104;
    public const int ENOBUFS = 105;
    public const int EISCONN = 106;
    public const int ENOTCONN = 107;
    public const int ESHUTDOWN = 108;
    public const int ETIMEDOUT = 110;
    public const int ECONNREFUSED = 111;
    public const int EHOSTUNREACH = 113;
    public const int EALREADY = 114;
    public const int EINPROGRESS = 115;

    /// <summary>
    /// The errno a Linux socket call would set for <paramref name="error"/>. Shutdown is EPIPE:
    /// the facade reports a write after shutdown(SHUT_WR) or after a reported reset that way.
    /// </summary>
    public static int From(SocketError error) => error switch
    {
        SocketError.WouldBlock => EAGAIN,
        SocketError.AddressAlreadyInUse => EADDRINUSE,
        SocketError.AddressNotAvailable => EADDRNOTAVAIL,
        SocketError.AddressFamilyNotSupported => EAFNOSUPPORT,
        SocketError.NetworkUnreachable => ENETUNREACH,
        SocketError.HostUnreachable => EHOSTUNREACH,
        SocketError.ConnectionRefused => ECONNREFUSED,
        SocketError.ConnectionReset => ECONNRESET,
        SocketError.ConnectionAborted => ECONNABORTED,
        SocketError.TimedOut => ETIMEDOUT,
        SocketError.MessageSize => EMSGSIZE,
        SocketError.InvalidArgument => EINVAL,
        SocketError.NotConnected => ENOTCONN,
        SocketError.IsConnected => EISCONN,
        SocketError.DestinationAddressRequired => EDESTADDRREQ,
        SocketError.AccessDenied => EACCES,
        SocketError.ProtocolType => EPROTOTYPE,
        SocketError.ProtocolNotSupported => EPROTONOSUPPORT,
        SocketError.SocketNotSupported => ESOCKTNOSUPPORT,
        SocketError.ProtocolOption => ENOPROTOOPT,
        SocketError.OperationNotSupported => EOPNOTSUPP,
        SocketError.NoBufferSpaceAvailable => ENOBUFS,
        SocketError.Shutdown => EPIPE,
        SocketError.InProgress => EINPROGRESS,
        SocketError.AlreadyInProgress => EALREADY,
        SocketError.OperationAborted => EBADF,
        SocketError.NetworkDown => ENETDOWN,
        SocketError.Interrupted => EINTR,
        SocketError.Fault => EFAULT,
        SocketError.TooManyOpenSockets => EMFILE,
        SocketError.NotSocket => ENOTSOCK,
        _ => EIO,
    };
}
