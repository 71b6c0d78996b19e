// The managed entry points that libtunstack-packetdrill.so (tools/packetdrill/shim.c) loads by
// name through hostfxr and calls from packetdrill's struct packetdrill_interface functions.
using System.Runtime.InteropServices;

namespace TunStack.PacketdrillShim;

/// <summary>
/// One static entry point per call of packetdrill's shared-object interface. Each takes the
/// session handle that <see cref="Open"/> returned and returns a result of zero or more or a
/// negated errno; the native side sets errno and returns -1 for those. No exception leaves an
/// entry point: an unexpected one is written to stderr and becomes EIO (EBADF for a socket
/// closed under a blocked call).
/// </summary>
public static unsafe class PacketdrillInterface
{
    /// <summary>Creates the session for the --so_flags string <paramref name="flags"/> (UTF-8); 0 on failure, said on stderr.</summary>
    [UnmanagedCallersOnly]
    public static nint Open(byte* flags)
    {
        try
        {
            var session = new PacketdrillSession(ShimOptions.Parse(Marshal.PtrToStringUTF8((nint)flags)));
            return GCHandle.ToIntPtr(GCHandle.Alloc(session));
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"tunstack-packetdrill: cannot start: {e.Message}");
            return 0;
        }
    }

    /// <summary>free: ends the session.</summary>
    [UnmanagedCallersOnly]
    public static void Free(nint session)
    {
        if (session == 0)
        {
            return;
        }

        GCHandle handle = GCHandle.FromIntPtr(session);
        Call(session, "free", s =>
        {
            s.Dispose();
            return 0;
        });
        handle.Free();
    }

    [UnmanagedCallersOnly]
    public static long Socket(nint session, int domain, int type, int protocol)
        => Call(session, "socket", s => s.Socket(domain, type, protocol));

    [UnmanagedCallersOnly]
    public static long Bind(nint session, int fd, byte* address, uint length)
        => Call(session, "bind", s => s.Bind(fd, address, length));

    [UnmanagedCallersOnly]
    public static long Listen(nint session, int fd, int backlog)
        => Call(session, "listen", s => s.Listen(fd, backlog));

    [UnmanagedCallersOnly]
    public static long Accept(nint session, int fd, byte* address, uint* length)
        => Call(session, "accept", s => s.Accept(fd, address, length));

    [UnmanagedCallersOnly]
    public static long Connect(nint session, int fd, byte* address, uint length)
        => Call(session, "connect", s => s.Connect(fd, address, length));

    /// <summary>read, readv, recv, recvfrom, recvmsg (the native side gathers the vectors).</summary>
    [UnmanagedCallersOnly]
    public static long Receive(nint session, int fd, byte* buffer, nuint length, int flags, byte* address, uint* addressLength)
        => Call(session, "recv", s => s.Receive(fd, buffer, length, flags, address, addressLength));

    /// <summary>write, writev, send, sendto, sendmsg (the native side gathers the vectors).</summary>
    [UnmanagedCallersOnly]
    public static long Send(nint session, int fd, byte* buffer, nuint length, int flags, byte* address, uint addressLength)
        => Call(session, "send", s => s.Send(fd, buffer, length, flags, address, addressLength));

    [UnmanagedCallersOnly]
    public static long Fcntl(nint session, int fd, int command, long argument)
        => Call(session, "fcntl", s => s.Fcntl(fd, command, argument));

    [UnmanagedCallersOnly]
    public static long Ioctl(nint session, int fd, ulong request, byte* argument)
        => Call(session, "ioctl", s => s.Ioctl(fd, request, argument));

    [UnmanagedCallersOnly]
    public static long Close(nint session, int fd)
        => Call(session, "close", s => s.Close(fd));

    [UnmanagedCallersOnly]
    public static long Shutdown(nint session, int fd, int how)
        => Call(session, "shutdown", s => s.Shutdown(fd, how));

    [UnmanagedCallersOnly]
    public static long GetSocketOption(nint session, int fd, int level, int name, byte* value, uint* length)
        => Call(session, "getsockopt", s => s.GetSocketOption(fd, level, name, value, length));

    [UnmanagedCallersOnly]
    public static long SetSocketOption(nint session, int fd, int level, int name, byte* value, uint length)
        => Call(session, "setsockopt", s => s.SetSocketOption(fd, level, name, value, length));

    /// <summary>After a recvmsg: the TCP_CM_INQ value when TCP_INQ is on for the descriptor, else a negated errno.</summary>
    [UnmanagedCallersOnly]
    public static long ReceiveQueueHint(nint session, int fd)
        => Call(session, "recvmsg", s => s.ReceiveQueueHint(fd));

    [UnmanagedCallersOnly]
    public static long EpollCreate(nint session, int size)
        => Call(session, "epoll_create", s => s.EpollCreate(size));

    /// <summary>epoll_ctl: <paramref name="eventAt"/> is a struct epoll_event (12 bytes, packed).</summary>
    [UnmanagedCallersOnly]
    public static long EpollControl(nint session, int epollFd, int operation, int fd, byte* eventAt)
        => Call(session, "epoll_ctl", s => s.EpollControl(epollFd, operation, fd, eventAt));

    /// <summary>epoll_wait: <paramref name="events"/> has room for <paramref name="capacity"/> struct epoll_event.</summary>
    [UnmanagedCallersOnly]
    public static long EpollWait(nint session, int epollFd, byte* events, int capacity, int timeoutMilliseconds)
        => Call(session, "epoll_wait", s => s.EpollWait(epollFd, events, capacity, timeoutMilliseconds));

    /// <summary>poll: <paramref name="descriptors"/> is an array of struct pollfd (8 bytes each).</summary>
    [UnmanagedCallersOnly]
    public static long Poll(nint session, byte* descriptors, ulong count, int timeoutMilliseconds)
        => Call(session, "poll", s => s.Poll(descriptors, count, timeoutMilliseconds));

    /// <summary>netdev_send: a packet from the script into the stack.</summary>
    [UnmanagedCallersOnly]
    public static long NetdevSend(nint session, byte* packet, nuint length)
        => Call(session, "netdev_send", s => s.Inject(new ReadOnlySpan<byte>(packet, (int)Math.Min(length, 65_535u))));

    /// <summary>netdev_receive: the next packet the stack sent; <c>*length</c> is the room in, the packet's length out (0 for none).</summary>
    [UnmanagedCallersOnly]
    public static long NetdevReceive(nint session, byte* buffer, nuint* length, long* sentMicroseconds)
        => Call(session, "netdev_receive", s =>
        {
            long result = s.Sniff(new Span<byte>(buffer, (int)Math.Min(*length, int.MaxValue)), out int received, out long sent);
            *length = (nuint)received;
            *sentMicroseconds = sent;
            return result;
        });

    [UnmanagedCallersOnly]
    public static long Sleep(nint session, uint microseconds)
        => Call(session, "usleep", s => s.Sleep(microseconds));

    /// <summary>gettimeofday: the virtual time in Unix µs.</summary>
    [UnmanagedCallersOnly]
    public static long TimeOfDay(nint session, long* microseconds)
        => Call(session, "gettimeofday", s =>
        {
            long result = s.TimeOfDay(out long now);
            *microseconds = now;
            return result;
        });

    private static long Call(nint session, string name, Func<PacketdrillSession, long> body)
    {
        try
        {
            if (session == 0 || GCHandle.FromIntPtr(session).Target is not PacketdrillSession target)
            {
                return -Errno.EBADF;
            }

            return body(target);
        }
        catch (ObjectDisposedException)
        {
            return -Errno.EBADF;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"tunstack-packetdrill: {name} failed: {e}");
            return -Errno.EIO;
        }
    }
}
