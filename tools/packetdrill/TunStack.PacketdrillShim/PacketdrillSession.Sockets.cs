// The socket calls of the packetdrill interface, each over a StackSocket. Every StackSocket is
// nonblocking; a blocking call is a loop of nonblocking attempts parked on the virtual clock
// (PacketdrillSession.Block). Results are >= 0, or -errno.
using System.Net;
using System.Net.Sockets;
using TunStack.Sockets;

namespace TunStack.PacketdrillShim;

internal sealed partial class PacketdrillSession
{
    // Linux's values (socket.h, fcntl.h, ioctls.h).
    private const int SockStream = 1, SockDgram = 2, SockNonBlock = 0x800, SockCloseOnExec = 0x80000;
    private const int IpProtoTcp = 6, IpProtoUdp = 17;
    private const int MsgOob = 0x1, MsgPeek = 0x2, MsgDontRoute = 0x4, MsgDontWait = 0x40, MsgEor = 0x80, MsgWaitAll = 0x100, MsgNoSignal = 0x4000, MsgMore = 0x8000, MsgZeroCopy = 0x4000000;
    private const int FGetFd = 1, FSetFd = 2, FGetFl = 3, FSetFl = 4, ORdWr = 2, ONonBlock = 0x800;
    private const ulong Fionread = 0x541B, Fionbio = 0x5421, Siocatmark = 0x8905;
    private const short PollErr = 0x8, PollHup = 0x10, PollNval = 0x20;

    /// <summary>socket(2): AF_INET or AF_INET6; SOCK_STREAM (TCP) or SOCK_DGRAM (UDP), with SOCK_NONBLOCK and SOCK_CLOEXEC.</summary>
    public long Socket(int domain, int type, int protocol)
    {
        using SessionCall call = Enter();
        AddressFamily family = domain switch
        {
            NativeSocketAddress.AfInet => AddressFamily.InterNetwork,
            NativeSocketAddress.AfInet6 => AddressFamily.InterNetworkV6,
            _ => AddressFamily.Unknown,
        };
        if (family == AddressFamily.Unknown)
        {
            return Result("socket", -Errno.EAFNOSUPPORT);
        }

        SocketType socketType = (type & ~(SockNonBlock | SockCloseOnExec)) switch
        {
            SockStream => SocketType.Stream,
            SockDgram => SocketType.Dgram,
            _ => SocketType.Unknown,
        };
        ProtocolType protocolType = protocol switch
        {
            0 => ProtocolType.Unspecified,
            IpProtoTcp => ProtocolType.Tcp,
            IpProtoUdp => ProtocolType.Udp,
            _ => ProtocolType.Unknown,
        };
        if (socketType == SocketType.Unknown)
        {
            return Result("socket", -Errno.ESOCKTNOSUPPORT);
        }

        if (protocolType == ProtocolType.Unknown)
        {
            return Result("socket", -Errno.EPROTONOSUPPORT);
        }

        // The script's sysctls have run by now (they come first); the setting is the stack's, read
        // by every connection as it sends, as Linux reads the namespace's.
        if (NamespaceSysctls.SlowStartAfterIdle() is bool restart)
        {
            _stackOptions.Tcp.RestartWindowAfterIdle = restart;
        }

        if (NamespaceSysctls.Ecn() is TcpEcnMode ecn)
        {
            _stackOptions.Tcp.Ecn = ecn;
        }

        if (NamespaceSysctls.MinTsoSegments() is int minTsoSegments)
        {
            _stackOptions.Tcp.MinSegmentsPerSuperSegment = minTsoSegments;
        }

        if (NamespaceSysctls.NotSentLowWatermark() is int lowWatermark)
        {
            _stackOptions.Tcp.NotSentLowWatermark = lowWatermark;
        }

        StackSocket socket = _host.CreateSocket(family, socketType, protocolType);
        socket.Blocking = false;
        int number = _descriptors.Add(socket, (type & SockNonBlock) != 0);
        if (number < 0)
        {
            socket.Dispose();
        }

        return Result("socket", number);
    }

    /// <summary>bind(2).</summary>
    public unsafe long Bind(int fd, byte* address, uint length)
        => OnDescriptor("bind", fd, descriptor =>
        {
            int error = NativeSocketAddress.TryRead(address, length, out IPEndPoint? local);
            if (error != 0 || local is null)
            {
                return -(error != 0 ? error : Errno.EAFNOSUPPORT);
            }

            return Try(() => descriptor.Socket.Bind(local));
        });

    /// <summary>listen(2).</summary>
    public long Listen(int fd, int backlog)
        => OnDescriptor("listen", fd, descriptor => Try(() => descriptor.Socket.Listen(Math.Max(1, backlog))));

    /// <summary>accept(2): blocks (on the virtual clock) unless the descriptor is nonblocking; the peer goes to <paramref name="address"/>.</summary>
    public unsafe long Accept(int fd, byte* address, uint* length)
        => OnDescriptor("accept", fd, descriptor =>
        {
            nint addressAt = (nint)address, lengthAt = (nint)length;
            return Block(
                () =>
                {
                    StackSocket accepted;
                    try
                    {
                        accepted = descriptor.Socket.Accept();
                    }
                    catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
                    {
                        return null;
                    }
                    catch (SocketException e)
                    {
                        return -Errno.From(e.SocketErrorCode);
                    }

                    accepted.Blocking = false;
                    int number = _descriptors.Add(accepted, nonBlocking: false);
                    if (number < 0)
                    {
                        accepted.Dispose();
                        return number;
                    }

                    if (accepted.RemoteEndPoint is IPEndPoint peer)
                    {
                        NativeSocketAddress.Write(peer, (byte*)addressAt, (uint*)lengthAt);
                    }

                    return number;
                },
                !descriptor.NonBlocking,
                descriptor.ReceiveTimeout,
                static () => -Errno.EAGAIN);
        });

    /// <summary>
    /// connect(2). A stream socket sends its SYN; nonblocking, EINPROGRESS; blocking, it waits on
    /// the virtual clock for the handshake's outcome (the error a failed one left in SO_ERROR).
    /// </summary>
    public unsafe long Connect(int fd, byte* address, uint length)
        => OnDescriptor("connect", fd, descriptor =>
        {
            int error = NativeSocketAddress.TryRead(address, length, out IPEndPoint? remote);
            if (error != 0)
            {
                return -error;
            }

            StackSocket socket = descriptor.Socket;
            EndPoint to = remote ?? (EndPoint)UnspecifiedEndPoint.Instance;
            if (socket.SocketType == SocketType.Dgram)
            {
                return Try(() => socket.Connect(to));
            }

            if (remote is null)
            {
                return -Errno.EAFNOSUPPORT; // AF_UNSPEC on a stream socket (Linux's disconnect) is not supported
            }

            long started = Try(() => socket.Connect(remote));
            if (started != -Errno.EINPROGRESS || descriptor.NonBlocking)
            {
                return started;
            }

            return Block(
                () =>
                {
                    if (socket.TcpConnectionState is Tcp.TcpConnectionState.SynSent or Tcp.TcpConnectionState.SynReceived)
                    {
                        return null;
                    }

                    var failed = (SocketError)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error);
                    return failed == SocketError.Success ? 0 : -Errno.From(failed);
                },
                mayWait: true,
                descriptor.SendTimeout,
                static () => -Errno.EINPROGRESS);
        });

    /// <summary>
    /// read, recv, recvfrom (and readv and recvmsg, gathered by the native side): MSG_PEEK,
    /// MSG_OOB, MSG_DONTWAIT, MSG_WAITALL. The sender of a datagram goes to <paramref name="address"/>.
    /// </summary>
    public unsafe long Receive(int fd, byte* buffer, nuint length, int flags, byte* address, uint* addressLength)
        => OnDescriptor("recv", fd, descriptor =>
        {
            if ((flags & ~(MsgOob | MsgPeek | MsgDontWait | MsgWaitAll)) != 0)
            {
                return Unsupported($"recv flags 0x{flags & ~(MsgOob | MsgPeek | MsgDontWait | MsgWaitAll):x}", Errno.EOPNOTSUPP);
            }

            StackSocket socket = descriptor.Socket;
            SocketFlags socketFlags = ((flags & MsgOob) != 0 ? SocketFlags.OutOfBand : 0) | ((flags & MsgPeek) != 0 ? SocketFlags.Peek : 0);
            bool waitAll = (flags & MsgWaitAll) != 0 && (flags & (MsgPeek | MsgOob)) == 0;
            int size = (int)Math.Min(length, int.MaxValue);
            nint bufferAt = (nint)buffer, addressAt = (nint)address, addressLengthAt = (nint)addressLength;
            int total = 0;
            long result = Block(
                () =>
                {
                    var into = new Span<byte>((byte*)bufferAt + total, size - total);
                    int n;
                    SocketError error;
                    EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                    if (socket.SocketType == SocketType.Dgram)
                    {
                        try
                        {
                            SocketFlags received = socketFlags;
                            n = socket.ReceiveMessageFrom(into, ref received, ref from);
                            error = SocketError.Success;
                        }
                        catch (SocketException e)
                        {
                            n = 0;
                            error = e.SocketErrorCode;
                        }
                    }
                    else
                    {
                        n = socket.Receive(into, socketFlags, out error);
                    }

                    if (error == SocketError.WouldBlock)
                    {
                        return total > 0 && !waitAll ? total : null;
                    }

                    if (error != SocketError.Success)
                    {
                        return total > 0 ? total : -Errno.From(error);
                    }

                    if (from is IPEndPoint sender && socket.SocketType == SocketType.Dgram)
                    {
                        NativeSocketAddress.Write(sender, (byte*)addressAt, (uint*)addressLengthAt);
                    }

                    total += n;
                    return waitAll && n > 0 && total < size ? null : total;
                },
                !descriptor.NonBlocking && (flags & MsgDontWait) == 0,
                descriptor.ReceiveTimeout,
                () => total > 0 ? total : -Errno.EAGAIN);
            return result == -Errno.EAGAIN && total > 0 ? total : result; // a nonblocking MSG_WAITALL returns what came
        });

    /// <summary>
    /// write, send, sendto (and writev and sendmsg, gathered by the native side): MSG_OOB,
    /// MSG_DONTWAIT, MSG_DONTROUTE, MSG_MORE; MSG_NOSIGNAL changes nothing (no signal is ever raised). A
    /// blocking stream send waits on the virtual clock until everything is in the send buffer.
    /// </summary>
    public unsafe long Send(int fd, byte* buffer, nuint length, int flags, byte* address, uint addressLength)
        => OnDescriptor("send", fd, descriptor =>
        {
            // MSG_ZEROCOPY is ignored without SO_ZEROCOPY, as Linux ignores it (tcp_sendmsg_locked
            // zero-copies only with SOCK_ZEROCOPY); with it the data is copied all the same, and no
            // completion is queued, since the shim has no error queue (MSG_ERRQUEUE).
            int known = MsgOob | MsgDontWait | MsgDontRoute | MsgNoSignal | MsgEor | MsgMore | MsgZeroCopy;
            if ((flags & ~known) != 0)
            {
                return Unsupported($"send flags 0x{flags & ~known:x} (MSG_FASTOPEN 0x20000000)", Errno.EOPNOTSUPP);
            }

            if ((flags & MsgZeroCopy) != 0 && descriptor.ZeroCopy && length > 0)
            {
                Report("MSG_ZEROCOPY sends a copy; no completion reaches an error queue (MSG_ERRQUEUE is not supported)");
            }

            StackSocket socket = descriptor.Socket;
            SocketFlags socketFlags = ((flags & MsgOob) != 0 ? SocketFlags.OutOfBand : 0) | ((flags & MsgDontRoute) != 0 ? SocketFlags.DontRoute : 0)
                | ((flags & MsgEor) != 0 && socket.SocketType == SocketType.Stream ? StackSocketFlags.EndOfRecord : 0)
                | ((flags & MsgMore) != 0 && socket.SocketType == SocketType.Stream ? StackSocketFlags.More : 0);
            int size = (int)Math.Min(length, int.MaxValue);
            nint bufferAt = (nint)buffer;
            if (socket.SocketType == SocketType.Dgram)
            {
                IPEndPoint? to = null;
                if (address is not null)
                {
                    int error = NativeSocketAddress.TryRead(address, addressLength, out to);
                    if (error != 0)
                    {
                        return -error;
                    }
                }

                return Try(() =>
                {
                    var from = new ReadOnlySpan<byte>((byte*)bufferAt, size);
                    return to is null ? socket.Send(from, socketFlags) : socket.SendTo(from, socketFlags, to);
                });
            }

            int total = 0;
            long result = Block(
                () =>
                {
                    int n = socket.Send(new ReadOnlySpan<byte>((byte*)bufferAt + total, size - total), socketFlags, out SocketError error);
                    total += n;
                    if (error == SocketError.WouldBlock || (error == SocketError.Success && total < size))
                    {
                        return null;
                    }

                    return error == SocketError.Success || total > 0 ? total : -Errno.From(error);
                },
                !descriptor.NonBlocking && (flags & MsgDontWait) == 0,
                descriptor.SendTimeout,
                () => total > 0 ? total : -Errno.EAGAIN);
            return result == -Errno.EAGAIN && total > 0 ? total : result; // a nonblocking send returns what fitted
        });

    /// <summary>close(2): closes the socket (FIN, or RST with unread data or SO_LINGER 0) and the descriptor, or an epoll descriptor.</summary>
    public long Close(int fd)
    {
        using SessionCall entered = Enter();
        if (TryCloseEpoll(fd))
        {
            return Result("close", 0);
        }

        if (!_descriptors.TryGet(fd, out SocketDescriptor descriptor))
        {
            return Result("close", -Errno.EBADF);
        }

        _descriptors.Remove(descriptor);
        descriptor.Socket.Dispose();
        PollStack();
        return Result("close", 0);
    }

    /// <summary>shutdown(2): SHUT_RD, SHUT_WR, SHUT_RDWR.</summary>
    public long Shutdown(int fd, int how)
        => OnDescriptor("shutdown", fd, descriptor =>
        {
            SocketShutdown? direction = how switch
            {
                0 => SocketShutdown.Receive,
                1 => SocketShutdown.Send,
                2 => SocketShutdown.Both,
                _ => null,
            };
            return direction is { } d ? Try(() => descriptor.Socket.Shutdown(d)) : -Errno.EINVAL;
        });

    /// <summary>fcntl(2): F_GETFL and F_SETFL (O_NONBLOCK), F_GETFD and F_SETFD (accepted, no effect).</summary>
    public long Fcntl(int fd, int command, long argument)
        => OnDescriptor("fcntl", fd, descriptor =>
        {
            switch (command)
            {
                case FGetFl:
                    return ORdWr | (descriptor.NonBlocking ? ONonBlock : 0);
                case FSetFl:
                    descriptor.NonBlocking = (argument & ONonBlock) != 0;
                    return 0;
                case FGetFd:
                case FSetFd:
                    return 0;
                default:
                    return Unsupported($"fcntl command {command}", Errno.EOPNOTSUPP);
            }
        });

    /// <summary>ioctl(2): FIONREAD (SIOCINQ), SIOCATMARK, FIONBIO.</summary>
    public unsafe long Ioctl(int fd, ulong request, byte* argument)
        => OnDescriptor("ioctl", fd, descriptor =>
        {
            if (argument is null)
            {
                return -Errno.EFAULT;
            }

            switch (request)
            {
                case Fionread:
                    *(int*)argument = descriptor.Socket.Available;
                    return 0;
                case Siocatmark:
                    *(int*)argument = descriptor.Socket.AtMark ? 1 : 0;
                    return 0;
                case Fionbio:
                    descriptor.NonBlocking = *(int*)argument != 0;
                    return 0;
                default:
                    return Unsupported($"ioctl request 0x{request:x}", Errno.EOPNOTSUPP);
            }
        });

    /// <summary>poll(2) over the shim's descriptors; a timeout runs on the virtual clock. Other descriptors report POLLNVAL.</summary>
    public unsafe long Poll(byte* descriptors, ulong count, int timeoutMilliseconds)
    {
        using SessionCall call = Enter();
        if (descriptors is null && count > 0)
        {
            return Result("poll", -Errno.EFAULT);
        }

        nint at = (nint)descriptors;
        int entries = (int)Math.Min(count, 4096);
        long result = Block(
            () =>
            {
                int ready = 0;
                for (int i = 0; i < entries; i++)
                {
                    byte* entry = (byte*)at + (8 * i);
                    int fd = *(int*)entry;
                    short events = *(short*)(entry + 4);
                    short returned = 0;
                    if (fd >= 0)
                    {
                        returned = _descriptors.TryGet(fd, out SocketDescriptor descriptor)
                            ? (short)((short)descriptor.Socket.Readiness & (events | PollErr | PollHup | PollNval))
                            : PollNval;
                    }

                    *(short*)(entry + 6) = returned;
                    ready += returned != 0 ? 1 : 0;
                }

                return ready > 0 || timeoutMilliseconds == 0 ? ready : null;
            },
            mayWait: timeoutMilliseconds != 0,
            timeoutMilliseconds > 0 ? TimeSpan.FromMilliseconds(timeoutMilliseconds) : TimeSpan.Zero,
            static () => 0);
        return Result("poll", result);
    }

    // One call on a descriptor: enters, finds it (EBADF for a number the shim did not hand out), runs the body.
    private long OnDescriptor(string call, int fd, Func<SocketDescriptor, long> body)
    {
        using SessionCall entered = Enter();
        return Result(call, _descriptors.TryGet(fd, out SocketDescriptor descriptor) ? body(descriptor) : -Errno.EBADF);
    }

    // Runs a facade call that reports errors as exceptions: 0, or -errno.
    private static long Try(Action action)
    {
        try
        {
            action();
            return 0;
        }
        catch (SocketException e)
        {
            return -Errno.From(e.SocketErrorCode);
        }
    }

    // Runs a facade call that returns a count or throws: the count, or -errno.
    private static long Try(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (SocketException e)
        {
            return -Errno.From(e.SocketErrorCode);
        }
    }

    // A call or an argument the shim does not support: -errno, reported once on stderr.
    private long Unsupported(string what, int errno)
    {
        Report($"{what} is not supported: errno {errno}");
        return -errno;
    }

    private long Result(string call, long result)
    {
        Trace($"{call} = {result}");
        return result;
    }
}
