// The Linux TUN driver (Documentation/networking/tuntap.rst): /dev/net/tun, TUNSETIFF.
using System.Text;
using TunStack.Links;
using TunStack.Storage;
using TunStack.Tun.Interop;

namespace TunStack.Tun;

/// <summary>
/// A TUN device as an <see cref="ILink"/>: raw IPv4/IPv6 packets (IFF_TUN | IFF_NO_PI),
/// nonblocking descriptors read and written by the stack's thread. With one queue the stack's loop
/// waits in poll() on it itself (<see cref="WaitForPackets"/>, woken by the kernel or by
/// <see cref="InterruptWait"/>); with several, one small poll thread per queue signals
/// <see cref="ReceiveReady"/> when packets wait and then sleeps until the stack has drained them.
/// Closing the last descriptor of a device this process created removes it.
/// </summary>
public sealed class TunDevice : ILink
{
    private const nuint TunSetIff = 0x400454ca;        // _IOW('T', 202, int)
    private const nuint TunSetVnetHdrSz = 0x400454d8;  // _IOW('T', 216, int)
    private const nuint TunSetOffload = 0x400454d0;    // _IOW('T', 208, unsigned int)
    private const short IffTun = 0x0001, IffNoPi = 0x1000, IffMultiQueue = 0x0100, IffVnetHdr = 0x4000;
    private const int IfNameSize = 16;

    private readonly SafeFileDescriptor[] _queues;
    private readonly SafeFileDescriptor _stop;
    private readonly SafeFileDescriptor _interrupt;
    private readonly Thread[] _pollers;
    private readonly ManualResetEventSlim[] _drained;
    private readonly bool _vnet;
    private readonly byte[] _vnetScratch = new byte[VirtioNetHeader.Length];
    private readonly byte[] _vnetOut = new byte[VirtioNetHeader.Length];
    private TunQueueCounts _counts;
    private TunQueue[]? _split;
    private int _nextQueue;
    private volatile bool _closing;
    private volatile bool _waitedOn;
    private TunReadState _reads;
    private readonly bool _readsCanSkipWaiting;
    private volatile bool _readingBlocking;
    private int _readerThreadId;
    private int _inRead;        // 1 while the reader thread is inside a read that may block
    private int _interruptRead; // 1 when InterruptRead asked the read under way, or the next, to end

    // A blocking read that returned within this found its packet already queued: more may wait.
    private static readonly TimeSpan s_queuedWithin = TimeSpan.FromMicroseconds(3);
    [ThreadStatic]
    private static int t_threadId;
    private bool _streaming;
    private int _drainsSkipped;
    private PacketBatch? _probed; // a packet ReadsCanSkipWaiting read at open: the first read returns it
    private const int StreamBurst = 4, DrainsSkippedAfterNoBurst = 32;
    private readonly BusyPollWindow _busyPoll;
    private long _busyPolls, _busyPollHits;

    private TunDevice(string name, int mtu, SafeFileDescriptor[] queues, bool vnet, LinkOffloads offloads, string? offloadFallback, bool createdByUs, TimeSpan busyPoll)
    {
        _busyPoll = new BusyPollWindow(busyPoll);
        _readsCanSkipWaiting = queues.Length == 1 && ReadsCanSkipWaiting(queues[0].Fd, vnet, PacketOffload.LargestPacket(offloads, mtu), out _probed, ref _counts);
        Name = name;
        Mtu = mtu;
        _queues = queues;
        _vnet = vnet;
        Offloads = offloads;
        OffloadFallback = offloadFallback;
        MaxPacketLength = PacketOffload.LargestPacket(offloads, mtu);
        CreatedByUs = createdByUs;
        int stop = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        _stop = new SafeFileDescriptor(stop);
        _interrupt = new SafeFileDescriptor(Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK));
        _drained = new ManualResetEventSlim[queues.Length];
        _pollers = new Thread[queues.Length];
        for (int i = 0; i < queues.Length; i++)
        {
            _drained[i] = new ManualResetEventSlim(true);
            int queue = i;
            _pollers[i] = new Thread(() => PollLoop(queue)) { IsBackground = true, Name = $"tun-poll-{i}" };
        }
    }

    /// <summary>The interface name.</summary>
    public string Name { get; }

    /// <inheritdoc/>
    public int Mtu { get; }

    /// <summary>Up to 65,575 bytes with segmentation offloads (the kernel's super-segments), else <see cref="Mtu"/>.</summary>
    public int MaxPacketLength { get; }

    /// <summary>
    /// The offloads in force: with them every packet carries a virtio-net header, received packets
    /// may be 64 KiB super-segments or carry checksums the kernel vouches for (see
    /// <see cref="PacketBatch.OffloadAt"/>), and the stack may send either.
    /// </summary>
    public LinkOffloads Offloads { get; }

    /// <summary>With <see cref="TunOffload.Auto"/>: why offloads are off (the kernel refused them), or null.</summary>
    public string? OffloadFallback { get; }

    /// <summary>Received packets whose virtio-net header was cut short; dropped.</summary>
    public long BadHeaders => _counts.BadHeaders;

    /// <summary>True when this process created the device (it disappears when closed); false when it attached to a persistent one.</summary>
    public bool CreatedByUs { get; }

    /// <summary>Packets read (through the device; the queues of <see cref="SplitQueues"/> count their own).</summary>
    public long PacketsRead => _counts.Read;

    /// <summary>Packets written (through the device).</summary>
    public long PacketsWritten => _counts.Written;

    /// <summary>Reads that failed with an error other than EAGAIN.</summary>
    public long ReadErrors => _counts.ReadErrors;

    /// <summary>Packets the kernel refused to take (write failed); counted, never retried.</summary>
    public long WriteDrops => _counts.WriteDrops;

    /// <summary>The most the blocking reader polls before it blocks (<see cref="TunOptions.BusyPoll"/>).</summary>
    public TimeSpan BusyPollLimit => _busyPoll.Limit;

    /// <summary>Blocking reads that polled the queue first (<see cref="TunOptions.BusyPoll"/>).</summary>
    public long BusyPolls => Volatile.Read(ref _busyPolls);

    /// <summary>Of <see cref="BusyPolls"/>, those that found a packet while polling, so did not block.</summary>
    public long BusyPollHits => Volatile.Read(ref _busyPollHits);

    /// <inheritdoc/>
    public Action? ReceiveReady { get; set; }

    /// <summary>
    /// Opens (creating or attaching to) a TUN device in the calling thread's network namespace.
    /// Use <see cref="NetworkNamespace.Run{T}"/> to open one inside another namespace.
    /// </summary>
    public static TunDevice Open(TunOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!IsValidName(options.Name))
        {
            throw new TunException($"invalid TUN device name '{options.Name}' (1-15 characters, no '/', ':' or whitespace)", Libc.EINVAL);
        }

        if (options.Queues is < 1 or > 64)
        {
            throw new TunException($"TUN queues must be 1-64, not {options.Queues}", Libc.EINVAL);
        }

        bool existed = Libc.InterfaceIndex(options.Name) != 0;
        bool vnet = options.VnetHeader || options.Offload != TunOffload.Off;
        var queues = new SafeFileDescriptor[options.Queues];
        LinkOffloads offloads = LinkOffloads.None;
        string? fallback = null;
        try
        {
            for (int i = 0; i < queues.Length; i++)
            {
                queues[i] = OpenQueue(options, vnet);
            }

            if (options.Offload != TunOffload.Off)
            {
                // Documentation/networking/tuntap.rst, drivers/net/tun.c set_offload: the device
                // then advertises checksum offload and TSO, so the kernel sends 64 KiB
                // super-segments with partial checksums and takes them from us.
                if (Libc.Ioctl(queues[0].Fd, TunSetOffload, (nint)options.OffloadFlags) == 0)
                {
                    offloads = LinkOffloads.TransportChecksum | LinkOffloads.TcpSegmentationV4 | LinkOffloads.TcpSegmentationV6;
                }
                else
                {
                    int errno = Libc.LastError;
                    if (options.Offload == TunOffload.On)
                    {
                        throw new TunException($"offloads requested (--offload on) but the kernel refused TUNSETOFFLOAD (checksum, TSO4, TSO6) on {options.Name}: {Libc.Describe(errno)}", errno);
                    }

                    fallback = $"the kernel refused TUNSETOFFLOAD (checksum, TSO4, TSO6): {Libc.Describe(errno)}";
                }
            }
        }
        catch
        {
            foreach (SafeFileDescriptor? q in queues)
            {
                q?.Dispose();
            }

            throw;
        }

        var device = new TunDevice(options.Name, options.Mtu, queues, vnet, offloads, fallback, createdByUs: !existed, options.BusyPoll);
        device.Start();
        return device;
    }

    /// <summary>Linux interface names: 1-15 bytes, not "." or "..", no '/', ':' or whitespace.</summary>
    public static bool IsValidName(string? name)
        => !string.IsNullOrEmpty(name) && Encoding.UTF8.GetByteCount(name) < IfNameSize && name != "." && name != ".."
           && !name.Any(c => c is '/' or ':' || char.IsWhiteSpace(c));

    private static unsafe SafeFileDescriptor OpenQueue(TunOptions options, bool vnet)
    {
        int fd = Libc.Open(options.DevicePath, Libc.O_RDWR | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0);
        if (fd < 0)
        {
            int errno = Libc.LastError;
            throw errno switch
            {
                Libc.ENOENT or Libc.ENODEV or Libc.ENXIO => new TunException(
                    $"{options.DevicePath} does not exist: load the tun driver (modprobe tun) or create the node (mkdir -p /dev/net && mknod {options.DevicePath} c 10 200)", errno),
                Libc.EPERM or Libc.EACCES => new TunPermissionException(
                    $"this user may not open {options.DevicePath} ({Libc.Name(errno)}): run as root (sudo), or run the service as a user the device node lets in "
                    + "(read and write; systemd: DeviceAllow=/dev/net/tun rw where the unit restricts devices); see docs/daemon.md", capability: null, errno),
                _ => new TunException($"cannot open {options.DevicePath}: {Libc.Describe(errno)}", errno),
            };
        }

        var handle = new SafeFileDescriptor(fd);
        // struct ifreq: char ifr_name[IFNAMSIZ]; short ifr_flags; padded to 40 bytes.
        byte* ifreq = stackalloc byte[40];
        new Span<byte>(ifreq, 40).Clear();
        Encoding.UTF8.GetBytes(options.Name, new Span<byte>(ifreq, IfNameSize - 1));
        short flags = (short)(IffTun | IffNoPi | (options.Queues > 1 ? IffMultiQueue : 0) | (vnet ? IffVnetHdr : 0));
        *(short*)(ifreq + IfNameSize) = flags;
        if (Libc.Ioctl(fd, TunSetIff, ifreq) != 0)
        {
            int errno = Libc.LastError;
            handle.Dispose();
            throw errno switch
            {
                Libc.EPERM or Libc.EACCES => new TunPermissionException(TunException.CapabilityAdvice($"creating TUN device {options.Name}") + $" ({Libc.Name(errno)})", "CAP_NET_ADMIN", errno),
                Libc.EBUSY => new TunException($"TUN device {options.Name} is in use by another process (or was made with other queue flags)", errno),
                Libc.EINVAL => new TunException($"{options.Name} exists but is not a TUN device of matching kind (tun, {(options.Queues > 1 ? "multi-queue" : "single queue")}): {Libc.Describe(errno)}", errno),
                _ => new TunException($"TUNSETIFF {options.Name} failed: {Libc.Describe(errno)}", errno),
            };
        }

        if (vnet)
        {
            int size = VirtioNetHeader.Length;
            if (Libc.Ioctl(fd, TunSetVnetHdrSz, &size) != 0)
            {
                int errno = Libc.LastError;
                handle.Dispose();
                throw new TunException($"TUNSETVNETHDRSZ on {options.Name} failed: {Libc.Describe(errno)}", errno);
            }
        }

        return handle;
    }

    // Whether reads of this queue can be told not to wait (preadv2 with RWF_NOWAIT, which a TUN
    // honours from Linux 6.x; older kernels refuse the flag with EOPNOTSUPP). Asked while the
    // descriptor is still nonblocking, so the question itself never waits. A packet already queued
    // (an existing device that was up) is read by it and kept in probed for the first read.
    internal static bool ReadsCanSkipWaiting(int fd, bool vnet, int maxPacketLength, out PacketBatch? probed, ref TunQueueCounts counts)
    {
        var probe = new PacketBatch(1, maxPacketLength);
        TunQueue.ReadPackets(fd, vnet, new byte[VirtioNetHeader.Length], probe, 1, Libc.RWF_NOWAIT, ref counts, out _, out int error);
        probed = probe.Count > 0 ? probe : null;
        return error is not (Libc.EOPNOTSUPP or Libc.EINVAL);
    }

    // The packet the probe at open read, moved into the first read's batch (true), once.
    private bool TakeProbed(PacketBatch batch)
    {
        PacketBatch? probed = _probed;
        if (probed is null)
        {
            return false;
        }

        _probed = null;
        return batch.TryAdd(probed[0], probed.OffloadAt(0));
    }

    private void Start()
    {
        foreach (Thread poller in _pollers)
        {
            poller.Start();
        }
    }

    /// <inheritdoc/>
    public int Receive(PacketBatch batch, Instant now)
    {
        if (_readingBlocking)
        {
            return 0; // the reader thread reads (ReadBlocking)
        }

        if (_probed is not null && TakeProbed(batch))
        {
            return 1;
        }

        if (_waitedOn)
        {
            // One queue, waited on by the stack's thread itself.
            return _reads.Read(_queues[0].Fd, _vnet, _vnetScratch, batch, ref _counts, now);
        }

        int received = 0;
        for (int q = 0; q < _queues.Length && !batch.IsFull; q++)
        {
            int queue = (_nextQueue + q) % _queues.Length;
            received += TunQueue.ReadPackets(_queues[queue].Fd, _vnet, _vnetScratch, batch, int.MaxValue, ref _counts, out bool drained);
            if (drained)
            {
                // Drained: let the poll thread wait for the next packet.
                _drained[queue].Set();
            }
        }

        _nextQueue = (_nextQueue + 1) % _queues.Length;
        return received;
    }

    /// <inheritdoc/>
    public void Transmit(PacketBatch batch, Instant now) => TunQueue.WritePackets(_queues[0].Fd, _vnet, _vnetOut, batch, ref _counts);

    // virtio 1.2 5.1.6: the header the kernel wrote, as the stack's metadata. Unknown gso types
    // (UDP, ECN) are passed on as Unsupported for the stack to drop and count.
    internal static PacketOffload OffloadOf(ReadOnlySpan<byte> header)
    {
        if (!VirtioNetHeader.TryParse(header, out VirtioNetHeader h))
        {
            return default;
        }

        return new PacketOffload
        {
            Checksum = (h.Flags & VirtioNetHeader.FlagNeedsChecksum) != 0 ? PacketChecksum.Partial
                : (h.Flags & VirtioNetHeader.FlagDataValid) != 0 ? PacketChecksum.Verified
                : PacketChecksum.Unverified,
            ChecksumStart = h.ChecksumStart,
            ChecksumOffset = h.ChecksumOffset,
            Segmentation = h.GsoType switch
            {
                VirtioNetHeader.GsoNone => PacketSegmentation.None,
                VirtioNetHeader.GsoTcpV4 => PacketSegmentation.TcpV4,
                VirtioNetHeader.GsoTcpV6 => PacketSegmentation.TcpV6,
                _ => PacketSegmentation.Unsupported,
            },
            SegmentSize = h.GsoSize,
            HeaderLength = h.HeaderLength,
        };
    }

    // The header for a packet the stack sends: NEEDS_CSUM for a partial checksum, gso fields for a super-segment.
    internal static VirtioNetHeader HeaderFor(in PacketOffload offload) => new()
    {
        Flags = offload.Checksum == PacketChecksum.Partial ? VirtioNetHeader.FlagNeedsChecksum : (byte)0,
        GsoType = offload.Segmentation switch
        {
            PacketSegmentation.TcpV4 => VirtioNetHeader.GsoTcpV4,
            PacketSegmentation.TcpV6 => VirtioNetHeader.GsoTcpV6,
            _ => VirtioNetHeader.GsoNone,
        },
        HeaderLength = offload.HeaderLength,
        GsoSize = offload.SegmentSize,
        ChecksumStart = offload.ChecksumStart,
        ChecksumOffset = offload.ChecksumOffset,
    };

    /// <summary>True with one queue: the stack's loop can then wait in poll() on it itself.</summary>
    public bool CanWaitForPackets => _queues.Length == 1;

    /// <summary>
    /// Blocks in poll() on the queue and an interrupt eventfd: the stack's thread is woken by the
    /// kernel when a packet arrives, with no poll thread in between (the first call stops it).
    /// </summary>
    public void WaitForPackets(TimeSpan timeout)
    {
        if (!CanWaitForPackets)
        {
            throw new NotSupportedException("A multi-queue TUN is read through its poll threads (ReceiveReady).");
        }

        if (!_waitedOn)
        {
            // From now on this thread waits for packets: the poll thread leaves.
            _waitedOn = true;
            StopPollThreads();
        }

        _reads.Wait(_queues[0].Fd, _interrupt.Fd, timeout);
    }

    /// <summary>Ends a <see cref="WaitForPackets"/> early (or the next one): one eventfd write.</summary>
    public void InterruptWait() => TunQueue.Signal(_interrupt);

    /// <summary>
    /// True with one queue, on a kernel whose TUN reads can both block and be told not to wait
    /// (preadv2 with RWF_NOWAIT, Linux 6.x), while nothing reads or waits on the device yet: a
    /// thread of the host may then block in read() on it (<see cref="ReadBlocking"/>), one system
    /// call per packet that finds the stack idle instead of a poll() and a read().
    /// </summary>
    public bool CanReadBlocking => _readsCanSkipWaiting && !_waitedOn && !_closing && ReadInterruptSignal.Available;

    /// <summary>
    /// From now on the device is read by <see cref="ReadBlocking"/> only: the poll thread leaves,
    /// the descriptor blocks, and <see cref="Receive"/> returns nothing. Call with the stack held.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not <see cref="CanReadBlocking"/>.</exception>
    /// <exception cref="TunException">The descriptor could not be made to block.</exception>
    public void BeginBlockingReads()
    {
        if (!CanReadBlocking)
        {
            throw new InvalidOperationException($"TUN device {Name} cannot be read by a blocking reader (several queues, a kernel whose TUN ignores RWF_NOWAIT, or already read another way).");
        }

        _waitedOn = true;
        StopPollThreads();
        int fd = _queues[0].Fd;
        int flags = Libc.Fcntl(fd, Libc.F_GETFL, 0);
        if (flags < 0 || Libc.Fcntl(fd, Libc.F_SETFL, flags & ~Libc.O_NONBLOCK) != 0)
        {
            int errno = Libc.LastError;
            throw new TunException($"cannot make TUN device {Name}'s descriptor block: {Libc.Describe(errno)}", errno);
        }

        _readingBlocking = true;
    }

    /// <summary>
    /// Blocks in read() until a packet arrives and moves it into <paramref name="batch"/>; when it
    /// was already queued (the read did not wait), moves as many more as are queued, reading
    /// without waiting until the queue is empty or the batch full. Returns how many packets were
    /// added, or 0 when <see cref="InterruptRead"/> ended the wait. One thread only, after
    /// <see cref="BeginBlockingReads"/>; never call it holding the stack.
    /// </summary>
    /// <exception cref="TunException">The read failed (the device was removed, say).</exception>
    public int ReadBlocking(PacketBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (!_readingBlocking)
        {
            throw new InvalidOperationException($"TUN device {Name}: BeginBlockingReads first.");
        }

        if (t_threadId == 0)
        {
            t_threadId = Libc.ThreadId(); // gettid() is a system call: once per thread
        }

        Volatile.Write(ref _readerThreadId, t_threadId);
        if (_probed is not null && TakeProbed(batch))
        {
            return 1;
        }

        int fd = _queues[0].Fd;
        int before = batch.Count;
        while (true)
        {
            // Announced before the flag is read: an InterruptRead either finds the flag taken here
            // or finds this thread in its read and signals it (it repeats until the reader is out).
            Interlocked.Exchange(ref _inRead, 1);
            if (Interlocked.Exchange(ref _interruptRead, 0) == 1)
            {
                Volatile.Write(ref _inRead, 0);
                return 0;
            }

            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            long attempted = started;
            int received = 0, error = 0;
            TimeSpan window = _busyPoll.Window;
            if (window > TimeSpan.Zero)
            {
                received = Poll(fd, batch, started, window, ref attempted, out error);
            }

            if (received == 0 && error is (0 or Libc.EAGAIN) && Volatile.Read(ref _interruptRead) == 0)
            {
                attempted = System.Diagnostics.Stopwatch.GetTimestamp();
                received = TunQueue.ReadPackets(fd, _vnet, _vnetScratch, batch, 1, flags: 0, ref _counts, out _, out error);
                if (received > 0)
                {
                    _busyPoll.OnBlocked(System.Diagnostics.Stopwatch.GetElapsedTime(started));
                }
            }

            Volatile.Write(ref _inRead, 0);
            if (received > 0)
            {
                // Draining the queue without waiting makes a burst one batch (one pass through the
                // stack, segments merged), at the price of the read that finds the queue empty; a
                // packet drained costs the same one read as a blocking read of it. So it pays
                // where bursts are long: in a stream (the last drain found a burst's worth, or
                // super-segments, each a burst the kernel already merged) the
                // queue is drained after every read. A read that did not wait may be a stream
                // starting (or a full-sized packet, a bulk sender's, whose copy alone may take
                // longer than the wait), or a quick peer's next request with little or nothing behind it (a
                // request/response or a handshake): it drains on trial, and after a trial that
                // found no burst the next 32 quick reads do not. A lone request that the read
                // waited for is delivered alone, with no read that finds the queue empty.
                bool quick = System.Diagnostics.Stopwatch.GetElapsedTime(attempted) < s_queuedWithin || batch[before].Length >= Mtu;
                if (_streaming || (quick && --_drainsSkipped < 0))
                {
                    int drained = TunQueue.ReadPackets(fd, _vnet, _vnetScratch, batch, int.MaxValue, Libc.RWF_NOWAIT, ref _counts, out _, out _);
                    _streaming = drained >= StreamBurst || (drained > 0 && batch[batch.Count - 1].Length > Mtu); // a burst, or super-segments
                    _drainsSkipped = _streaming ? 0 : DrainsSkippedAfterNoBurst;
                }

                return batch.Count - before;
            }

            if (error is not (0 or Libc.EINTR or Libc.EAGAIN))
            {
                throw new TunException($"reading TUN device {Name} failed: {Libc.Describe(error)}", error);
            }
        }
    }

    // Reads that do not wait, until one finds a packet, window has passed since started, an error
    // other than EAGAIN ends them, or InterruptRead asks the reader to leave. Between reads the
    // thread yields its CPU (sched_yield), so that a thread waiting for that CPU (the application's,
    // or the peer's on the same CPU) runs rather than waiting for the poll to end: on a machine
    // whose CPUs are all busy the poll then costs little. attempted is the start of the last read
    // (a packet it found was already queued if that read returned at once).
    private int Poll(int fd, PacketBatch batch, long started, TimeSpan window, ref long attempted, out int error)
    {
        long until = started + (long)(window.Ticks * (System.Diagnostics.Stopwatch.Frequency / (double)TimeSpan.TicksPerSecond));
        _busyPolls++; // one writer, the reader thread
        while (true)
        {
            int received = TunQueue.ReadPackets(fd, _vnet, _vnetScratch, batch, 1, Libc.RWF_NOWAIT, ref _counts, out _, out error);
            if (received > 0)
            {
                _busyPollHits++;
                return received;
            }

            long now = System.Diagnostics.Stopwatch.GetTimestamp();
            if (error is not (0 or Libc.EAGAIN) || now >= until || Volatile.Read(ref _interruptRead) == 1)
            {
                return 0;
            }

            Thread.Yield();
            attempted = System.Diagnostics.Stopwatch.GetTimestamp();
        }
    }

    /// <summary>
    /// Ends the <see cref="ReadBlocking"/> under way with 0, or the next one if none is: the reader
    /// thread gets a signal whose handler makes its read() return EINTR. A signal can land just
    /// before the read starts, so a caller that must see the reader leave repeats this until it has.
    /// </summary>
    public void InterruptRead()
    {
        Interlocked.Exchange(ref _interruptRead, 1);
        int reader = Volatile.Read(ref _readerThreadId);
        if (Volatile.Read(ref _inRead) == 1 && reader != 0)
        {
            ReadInterruptSignal.Send(reader);
        }
    }

    /// <summary>
    /// Splits a device into its queues, each an <see cref="ILink"/> of its own for a stack
    /// partition on its own thread (see <see cref="PartitionSteering"/>): the poll threads stop,
    /// and from then on packets are read and written through the queues only, never through the
    /// device. Once per device.
    /// </summary>
    /// <exception cref="InvalidOperationException">The queues were already split off, or the device was waited on.</exception>
    public IReadOnlyList<TunQueue> SplitQueues()
    {
        if (_split is not null || _waitedOn)
        {
            throw new InvalidOperationException($"TUN device {Name}: its queues are already being read ({(_split is not null ? "split off before" : "by a stack waiting on the device")}).");
        }

        _waitedOn = true;
        StopPollThreads();
        _split = new TunQueue[_queues.Length];
        for (int i = 0; i < _queues.Length; i++)
        {
            _split[i] = new TunQueue(this, i, _queues[i], _vnet);
        }

        return _split;
    }

    // Wakes every poll thread (from poll() through the stop eventfd, or from its wait for the
    // stack to drain) and waits until each has seen _closing or _waitedOn and left.
    private void StopPollThreads()
    {
        TunQueue.Signal(_stop);
        foreach (ManualResetEventSlim drained in _drained)
        {
            drained.Set();
        }

        foreach (Thread poller in _pollers)
        {
            if (poller.IsAlive)
            {
                poller.Join();
            }
        }
    }

    private unsafe void PollLoop(int queue)
    {
        Libc.PollFd* fds = stackalloc Libc.PollFd[2];
        while (!_closing)
        {
            // Wait until the stack has read everything, then sleep in poll() for the next packet.
            _drained[queue].Wait();
            if (_closing || _waitedOn)
            {
                return;
            }

            _drained[queue].Reset();
            fds[0] = new Libc.PollFd { Fd = _queues[queue].Fd, Events = Libc.POLLIN };
            fds[1] = new Libc.PollFd { Fd = _stop.Fd, Events = Libc.POLLIN };
            int ready = Libc.Poll(fds, 2, -1);
            if (_closing || _waitedOn || (ready > 0 && fds[1].ReturnedEvents != 0))
            {
                return;
            }

            if (ready > 0 && (fds[0].ReturnedEvents & (Libc.POLLERR | Libc.POLLHUP | Libc.POLLNVAL)) != 0)
            {
                return;
            }

            if (ready <= 0)
            {
                _drained[queue].Set();
                continue;
            }

            ReceiveReady?.Invoke();
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_closing)
        {
            return;
        }

        _closing = true;
        StopPollThreads();
        for (int i = 0; i < 1000 && Volatile.Read(ref _inRead) == 1; i++)
        {
            InterruptRead(); // a reader still blocked: out before the descriptor closes
            Thread.Sleep(1);
        }

        foreach (SafeFileDescriptor queue in _queues)
        {
            queue.Dispose();
        }

        _stop.Dispose();
        _interrupt.Dispose();
        foreach (TunQueue queue in _split ?? [])
        {
            queue.Dispose();
        }

        foreach (ManualResetEventSlim drained in _drained)
        {
            drained.Dispose();
        }
    }
}
