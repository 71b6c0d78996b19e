// epoll_create, epoll_ctl and epoll_wait over the facade's PollSet (TunStack's epoll): level- and
// edge-triggered (EPOLLET) and one-shot registrations of the shim's sockets; epoll_wait's timeout
// runs on the virtual clock.
using System.Buffers.Binary;
using TunStack.Sockets;

namespace TunStack.PacketdrillShim;

internal sealed partial class PacketdrillSession
{
    private const int EpollCtlAdd = 1, EpollCtlDel = 2, EpollCtlMod = 3;
    private const uint EpollEdge = 1u << 31, EpollOneShot = 1u << 30;

    // EPOLLIN, EPOLLPRI, EPOLLOUT, EPOLLERR, EPOLLHUP and EPOLLRDHUP have poll(2)'s values, which PollEvents uses.
    private const uint EpollConditions = 0x001 | 0x002 | 0x004 | 0x008 | 0x010 | 0x2000;

    // struct epoll_event on x86-64 is packed: uint32 events, then uint64 data.
    private const int EpollEventSize = 12;

    private readonly Dictionary<int, EpollDescriptor> _epolls = new();

    /// <summary>epoll_create(2): a new, empty epoll descriptor; EINVAL for a size of 0 or less, as Linux.</summary>
    public long EpollCreate(int size)
    {
        using SessionCall call = Enter();
        if (size <= 0)
        {
            return Result("epoll_create", -Errno.EINVAL);
        }

        int number = Libc.OpenPlaceholder();
        if (number >= 0)
        {
            _epolls[number] = new EpollDescriptor(number);
        }

        return Result("epoll_create", number);
    }

    /// <summary>
    /// epoll_ctl(2): EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL of one of the shim's sockets;
    /// <paramref name="eventAt"/> is a struct epoll_event (unused for DEL).
    /// </summary>
    public unsafe long EpollControl(int epollFd, int operation, int fd, byte* eventAt)
    {
        using SessionCall call = Enter();
        if (!_epolls.TryGetValue(epollFd, out EpollDescriptor? epoll) || !_descriptors.TryGet(fd, out SocketDescriptor descriptor))
        {
            return Result("epoll_ctl", -Errno.EBADF);
        }

        if (operation != EpollCtlDel && eventAt is null)
        {
            return Result("epoll_ctl", -Errno.EFAULT);
        }

        uint events = operation == EpollCtlDel ? 0 : BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(eventAt, 4));
        ulong data = operation == EpollCtlDel ? 0 : BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(eventAt + 4, 8));
        var conditions = (PollEvents)(events & EpollConditions);
        PollTrigger trigger = ((events & EpollEdge) != 0 ? PollTrigger.Edge : PollTrigger.Level) | ((events & EpollOneShot) != 0 ? PollTrigger.OneShot : 0);
        long result;
        try
        {
            switch (operation)
            {
                case EpollCtlAdd:
                    epoll.Set.Add(descriptor.Socket, conditions, trigger, data);
                    result = 0;
                    break;
                case EpollCtlMod:
                    epoll.Set.Modify(descriptor.Socket, conditions, trigger, data);
                    result = 0;
                    break;
                case EpollCtlDel:
                    result = epoll.Set.Remove(descriptor.Socket) ? 0 : -Errno.ENOENT;
                    break;
                default:
                    result = -Errno.EINVAL;
                    break;
            }
        }
        catch (ObjectDisposedException)
        {
            result = -Errno.EBADF;
        }
        catch (InvalidOperationException)
        {
            result = operation == EpollCtlAdd ? -Errno.EEXIST : -Errno.ENOENT; // Linux: ADD of a registered socket, MOD of an unregistered one
        }

        return Result("epoll_ctl", result);
    }

    /// <summary>
    /// epoll_wait(2): up to <paramref name="capacity"/> struct epoll_event at <paramref name="eventsAt"/>;
    /// a timeout (negative: for ever) runs on the virtual clock.
    /// </summary>
    public unsafe long EpollWait(int epollFd, byte* eventsAt, int capacity, int timeoutMilliseconds)
    {
        using SessionCall call = Enter();
        if (!_epolls.TryGetValue(epollFd, out EpollDescriptor? epoll))
        {
            return Result("epoll_wait", -Errno.EBADF);
        }

        if (capacity <= 0)
        {
            return Result("epoll_wait", -Errno.EINVAL);
        }

        if (eventsAt is null)
        {
            return Result("epoll_wait", -Errno.EFAULT);
        }

        nint at = (nint)eventsAt;
        int room = Math.Min(capacity, 1024);
        long result = Block(
            () =>
            {
                ReadySocket[] ready = epoll.ReadyBuffer(room);
                int n = epoll.Set.Wait(ready.AsSpan(0, room), 0);
                int written = 0;
                for (int i = 0; i < n; i++)
                {
                    if (ready[i].Events == PollEvents.Invalid)
                    {
                        continue; // a socket closed while registered: it is out of the set, as in Linux's epoll
                    }

                    var entry = new Span<byte>((byte*)at + (EpollEventSize * written), EpollEventSize);
                    BinaryPrimitives.WriteUInt32LittleEndian(entry, (uint)ready[i].Events);
                    BinaryPrimitives.WriteUInt64LittleEndian(entry[4..], ready[i].UserToken is ulong data ? data : 0);
                    written++;
                }

                return written > 0 || timeoutMilliseconds == 0 ? written : null;
            },
            mayWait: timeoutMilliseconds != 0,
            timeoutMilliseconds > 0 ? TimeSpan.FromMilliseconds(timeoutMilliseconds) : TimeSpan.Zero,
            static () => 0);
        return Result("epoll_wait", result);
    }

    // close(2) of an epoll descriptor.
    private bool TryCloseEpoll(int fd)
    {
        if (!_epolls.Remove(fd, out EpollDescriptor? epoll))
        {
            return false;
        }

        epoll.Set.Dispose();
        Libc.ClosePlaceholder(fd);
        return true;
    }
}
