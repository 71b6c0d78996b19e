using System.Runtime.InteropServices;
using TunStack.Links;
using TunStack.Storage;
using TunStack.Tun.Interop;

namespace TunStack.Tun;

/// <summary>
/// One queue of a multi-queue TUN device as an <see cref="ILink"/> of its own (from
/// <see cref="TunDevice.SplitQueues"/>): it reads and writes only its queue's descriptor, and the
/// thread that drives its stack waits in poll() on it (<see cref="WaitForPackets"/>, woken by the
/// kernel or by <see cref="InterruptWait"/>). The kernel steers a flow to the queue it was last
/// written on, so each queue's stack writes its own flows here. The device owns the descriptor:
/// disposing the device closes it.
/// </summary>
public sealed class TunQueue : ILink
{
    private readonly SafeFileDescriptor _fd;
    private readonly SafeFileDescriptor _interrupt;
    private readonly bool _vnet;
    private readonly byte[] _vnetIn = new byte[VirtioNetHeader.Length];
    private readonly byte[] _vnetOut = new byte[VirtioNetHeader.Length];
    private TunQueueCounts _counts;
    private TunReadState _reads;

    internal TunQueue(TunDevice device, int index, SafeFileDescriptor fd, bool vnet)
    {
        Index = index;
        Mtu = device.Mtu;
        MaxPacketLength = device.MaxPacketLength;
        Offloads = device.Offloads;
        _fd = fd;
        _vnet = vnet;
        _interrupt = new SafeFileDescriptor(Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK));
    }

    /// <summary>The queue's position among the device's queues (0 to the count - 1).</summary>
    public int Index { get; }

    /// <inheritdoc/>
    public int Mtu { get; }

    /// <inheritdoc/>
    public int MaxPacketLength { get; }

    /// <inheritdoc/>
    public LinkOffloads Offloads { get; }

    /// <summary>Packets read from this queue.</summary>
    public long PacketsRead => _counts.Read;

    /// <summary>Packets written to this queue.</summary>
    public long PacketsWritten => _counts.Written;

    /// <summary>Packets the kernel refused to take on this queue; counted, never retried.</summary>
    public long WriteDrops => _counts.WriteDrops;

    /// <summary>Not called: the stack's thread waits on the queue itself.</summary>
    public Action? ReceiveReady { get; set; }

    /// <summary>True: the stack's thread waits in poll() on the queue.</summary>
    public bool CanWaitForPackets => true;

    /// <inheritdoc/>
    public int Receive(PacketBatch batch, Instant now) => _reads.Read(_fd.Fd, _vnet, _vnetIn, batch, ref _counts, now);

    /// <inheritdoc/>
    public void Transmit(PacketBatch batch, Instant now) => WritePackets(_fd.Fd, _vnet, _vnetOut, batch, ref _counts);

    /// <summary>Blocks in poll() on the queue and an interrupt eventfd until a packet, <see cref="InterruptWait"/> or the timeout.</summary>
    public void WaitForPackets(TimeSpan timeout) => _reads.Wait(_fd.Fd, _interrupt.Fd, timeout);

    /// <summary>Ends a <see cref="WaitForPackets"/> early (or the next one): one eventfd write.</summary>
    public void InterruptWait() => Signal(_interrupt);

    /// <summary>Closes the interrupt eventfd (the device closes the queue's descriptor).</summary>
    public void Dispose() => _interrupt.Dispose();

    // Reads up to limit packets from fd into batch until it is full or the queue is drained (drained true).
    internal static int ReadPackets(int fd, bool vnet, byte[] headerBuffer, PacketBatch batch, int limit, ref TunQueueCounts counts, out bool drained)
        => ReadPackets(fd, vnet, headerBuffer, batch, limit, flags: 0, ref counts, out drained, out _);

    // The same with preadv2's flags (RWF_NOWAIT: a read that never waits, on a descriptor that
    // otherwise blocks); error is the errno that ended the reads, 0 when limit or a full batch did.
    internal static int ReadPackets(int fd, bool vnet, byte[] headerBuffer, PacketBatch batch, int limit, int flags, ref TunQueueCounts counts, out bool drained, out int error)
    {
        int received = 0;
        drained = false;
        error = 0;
        while (!batch.IsFull && received < limit)
        {
            int errno = ReadPacket(fd, vnet, headerBuffer, batch, flags, ref counts);
            if (errno == 0)
            {
                received++;
                continue;
            }

            if (errno < 0)
            {
                continue; // shorter than its header: dropped and counted
            }

            error = errno;
            if (errno == Libc.EAGAIN)
            {
                drained = true;
            }
            else if (errno != Libc.EINTR)
            {
                counts.ReadErrors++;
            }

            break;
        }

        return received;
    }

    // One read into batch's next slot: 0 when a packet was committed, -1 when one came shorter than
    // its virtio-net header (counted, nothing to hand over), else the errno.
    private static unsafe int ReadPacket(int fd, bool vnet, byte[] headerBuffer, PacketBatch batch, int flags, ref TunQueueCounts counts)
    {
        Libc.IoVector* vectors = stackalloc Libc.IoVector[2];
        Span<byte> slot = batch.NextFree;
        nint n;
        fixed (byte* data = slot)
        fixed (byte* header = headerBuffer)
        {
            int count = 0;
            if (vnet)
            {
                vectors[count++] = new Libc.IoVector { Base = header, Length = VirtioNetHeader.Length };
            }

            vectors[count++] = new Libc.IoVector { Base = data, Length = (nuint)slot.Length };
            n = flags == 0 ? Libc.ReadVector(fd, vectors, count) : Libc.ReadVector(fd, vectors, count, -1, flags);
        }

        if (n < 0)
        {
            return Marshal.GetLastSystemError();
        }

        if (vnet && n < VirtioNetHeader.Length)
        {
            counts.BadHeaders++;
            return -1;
        }

        batch.Commit((int)n - (vnet ? VirtioNetHeader.Length : 0), vnet ? TunDevice.OffloadOf(headerBuffer) : default);
        counts.Read++;
        return 0;
    }

    // Writes every packet of batch to fd, with its virtio-net header when vnet.
    internal static unsafe void WritePackets(int fd, bool vnet, byte[] headerBuffer, PacketBatch batch, ref TunQueueCounts counts)
    {
        Libc.IoVector* vectors = stackalloc Libc.IoVector[2];
        for (int i = 0; i < batch.Count; i++)
        {
            Span<byte> packet = batch[i];
            nint n;
            fixed (byte* data = packet)
            fixed (byte* header = headerBuffer)
            {
                if (vnet)
                {
                    TunDevice.HeaderFor(batch.OffloadAt(i)).WriteTo(headerBuffer);
                    vectors[0] = new Libc.IoVector { Base = header, Length = VirtioNetHeader.Length };
                    vectors[1] = new Libc.IoVector { Base = data, Length = (nuint)packet.Length };
                    n = Libc.WriteVector(fd, vectors, 2);
                }
                else
                {
                    n = Libc.Write(fd, data, (nuint)packet.Length);
                }
            }

            if (n < 0)
            {
                counts.WriteDrops++;
            }
            else
            {
                counts.Written++;
            }
        }
    }

    // poll() on the queue and the interrupt eventfd; consumes the interrupt when it fired.
    internal static unsafe void Wait(int fd, int interruptFd, TimeSpan timeout)
    {
        Libc.PollFd* fds = stackalloc Libc.PollFd[2];
        fds[0] = new Libc.PollFd { Fd = fd, Events = Libc.POLLIN };
        fds[1] = new Libc.PollFd { Fd = interruptFd, Events = Libc.POLLIN };
        int milliseconds = (int)Math.Clamp(Math.Ceiling(timeout.TotalMilliseconds), 0, int.MaxValue);
        int ready = Libc.Poll(fds, 2, milliseconds);
        if (ready > 0 && fds[1].ReturnedEvents != 0)
        {
            ulong count;
            Libc.Read(interruptFd, (byte*)&count, sizeof(ulong));
        }
    }

    // Adds one to an eventfd, which makes it readable.
    internal static unsafe void Signal(SafeFileDescriptor eventFd)
    {
        ulong one = 1;
        Libc.Write(eventFd.Fd, (byte*)&one, sizeof(ulong));
    }
}
