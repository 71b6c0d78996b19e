using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace TunStack.Tests.Sockets;

/// <summary>
/// The reference for <see cref="SocketCallSequenceTests"/>: TCP sockets of the Linux kernel, called
/// through libc directly (not System.Net.Sockets.Socket, which adds checks of its own), on
/// 127.0.0.1 of a network namespace the test made. Each call returns what happened as
/// <see cref="SocketCallSequenceTests"/> writes it: "ok", a byte count, or the SocketError that
/// .NET maps the errno to.
/// </summary>
internal static partial class KernelSocketCalls
{
    private const int AfInet = 2, SockStream = 1, ShutWr = 1, MsgDontWait = 0x40, MsgNoSignal = 0x4000;
    private const int FGetFl = 3, FSetFl = 4, ONonBlock = 0x800;
    private const short PollIn = 1;

    public static int Socket() => NativeSocket(AfInet, SockStream, 0);

    public static string Bind(int fd, int port) => Result(BindTo(fd, port));

    public static string Listen(int fd) => Result(NativeListen(fd, 8));

    public static string Connect(int fd, int port) => Result(ConnectTo(fd, port));

    /// <summary>accept() without waiting, after up to <paramref name="waitMilliseconds"/> for a connection: the new descriptor, or -1 with the result.</summary>
    public static (int Fd, string Result) Accept(int fd, int waitMilliseconds)
    {
        WaitReadable(fd, waitMilliseconds);
        int flags = Fcntl(fd, FGetFl, 0);
        Fcntl(fd, FSetFl, flags | ONonBlock);
        int accepted = NativeAccept(fd, 0, 0);
        string result = Result(accepted);
        Fcntl(fd, FSetFl, flags);
        return (accepted, accepted >= 0 ? "ok" : result);
    }

    public static string Send(int fd, int count)
    {
        nint n = NativeSend(fd, new byte[count], (nuint)count, MsgNoSignal);
        return n >= 0 ? n.ToString(System.Globalization.CultureInfo.InvariantCulture) : Result(-1);
    }

    public static string Receive(int fd, int waitMilliseconds)
    {
        WaitReadable(fd, waitMilliseconds);
        nint n = NativeReceive(fd, new byte[4096], 4096, MsgDontWait);
        return n >= 0 ? n.ToString(System.Globalization.CultureInfo.InvariantCulture) : Result(-1);
    }

    public static string ShutdownSend(int fd) => Result(NativeShutdown(fd, ShutWr));

    public static void Close(int fd) => NativeClose(fd);

    // poll() on one descriptor: struct pollfd is the int descriptor, then the short events.
    private static void WaitReadable(int fd, int milliseconds) => NativePoll([(uint)fd | ((long)PollIn << 32)], 1, milliseconds);

    private static int BindTo(int fd, int port) => NativeBind(fd, Loopback(port), 16);

    private static int ConnectTo(int fd, int port) => NativeConnect(fd, Loopback(port), 16);

    // struct sockaddr_in for 127.0.0.1:port.
    private static byte[] Loopback(int port)
    {
        var address = new byte[16];
        address[0] = AfInet;
        address[2] = (byte)(port >> 8);
        address[3] = (byte)port;
        address[4] = 127;
        address[7] = 1;
        return address;
    }

    private static string Result(nint returned)
    {
        if (returned >= 0)
        {
            return "ok";
        }

        int errno = Marshal.GetLastPInvokeError();
        return errno switch
        {
            9 => "disposed", // EBADF
            11 => nameof(SocketError.WouldBlock),
            22 => nameof(SocketError.InvalidArgument),
            32 => nameof(SocketError.Shutdown), // EPIPE, as .NET maps it
            95 => nameof(SocketError.OperationNotSupported),
            98 => nameof(SocketError.AddressAlreadyInUse),
            104 => nameof(SocketError.ConnectionReset),
            106 => nameof(SocketError.IsConnected),
            107 => nameof(SocketError.NotConnected),
            111 => nameof(SocketError.ConnectionRefused),
            114 => nameof(SocketError.AlreadyInProgress),
            _ => $"errno {errno}",
        };
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int NativeSocket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    private static partial int NativeBind(int fd, byte[] address, int length);

    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    private static partial int NativeConnect(int fd, byte[] address, int length);

    [LibraryImport("libc", EntryPoint = "listen", SetLastError = true)]
    private static partial int NativeListen(int fd, int backlog);

    [LibraryImport("libc", EntryPoint = "accept", SetLastError = true)]
    private static partial int NativeAccept(int fd, nint address, nint length);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static partial nint NativeSend(int fd, byte[] data, nuint count, int flags);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static partial nint NativeReceive(int fd, byte[] buffer, nuint count, int flags);

    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    private static partial int NativeShutdown(int fd, int how);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int NativeClose(int fd);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int NativePoll(long[] fds, nuint count, int timeout);
}
