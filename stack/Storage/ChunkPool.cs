// Memory on demand: TCP data lives in fixed-size chunks from one pool per stack, taken as data is
// queued and given back as it is consumed, so an idle connection holds no data memory. The pool
// keeps Linux tcp_mem's three marks (net/ipv4/tcp.c, tcp_init_mem: low, pressure, high).
namespace TunStack.Storage;

/// <summary>
/// Fixed-size byte chunks for the stack's buffers, with a budget. Chunks are recycled (no
/// allocation once the pool is warm); past the limit none is handed out. Owned by one stack thread.
/// </summary>
internal sealed class ChunkPool
{
    private readonly Stack<byte[]> _free = new();
    private readonly long _lowBytes;
    private readonly long _pressureBytes;
    private readonly StackCounters? _counters;
    private bool _underPressure;

    /// <summary>A pool of <paramref name="chunkSize"/>-byte chunks that hands out at most <paramref name="limitBytes"/>.</summary>
    public ChunkPool(int chunkSize, long limitBytes, StackCounters? counters = null)
    {
        _counters = counters;
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 64);
        ChunkSize = chunkSize;
        LimitBytes = Math.Max(limitBytes, chunkSize);
        // Linux tcp_mem: low = 3/4 of limit/16 pages, pressure = limit/16, high = 2 * low, i.e. low
        // and pressure are 1/2 and 2/3 of the high mark.
        _lowBytes = LimitBytes / 2;
        _pressureBytes = LimitBytes * 2 / 3;
    }

    /// <summary>Free chunks kept whatever the use (4 MiB): enough that a lone bulk transfer never allocates.</summary>
    public const long KeepFloorBytes = 4L * 1024 * 1024;

    public int ChunkSize { get; }

    /// <summary>The high mark: bytes in use never exceed it.</summary>
    public long LimitBytes { get; }

    /// <summary>Bytes in chunks handed out and not returned.</summary>
    public long InUseBytes { get; private set; }

    /// <summary>Bytes in free chunks kept for reuse.</summary>
    public long FreeBytes => (long)_free.Count * ChunkSize;

    /// <summary>The most bytes ever in use at once.</summary>
    public long PeakBytes { get; private set; }

    /// <summary>Where use stands: pressure begins at 2/3 of the limit and ends below 1/2 (hysteresis, as tcp_mem).</summary>
    public MemoryPressure Pressure
    {
        get
        {
            if (InUseBytes + ChunkSize > LimitBytes)
            {
                return MemoryPressure.Exhausted;
            }

            return _underPressure ? MemoryPressure.Pressure : MemoryPressure.None;
        }
    }

    /// <summary>Whether <see cref="TryRent"/> would give a chunk that is not guaranteed.</summary>
    public bool CanRent => InUseBytes + ChunkSize <= LimitBytes;

    /// <summary>
    /// Takes a chunk; false when that would pass the limit, unless <paramref name="guaranteed"/>
    /// (a buffer's minimum, as Linux guarantees tcp_wmem[0] to every socket even under pressure).
    /// </summary>
    public bool TryRent(out byte[] chunk, bool guaranteed = false)
    {
        if (!CanRent && !guaranteed)
        {
            chunk = null!;
            return false;
        }

        chunk = _free.Count > 0 ? _free.Pop() : new byte[ChunkSize];
        InUseBytes += ChunkSize;
        if (InUseBytes > PeakBytes)
        {
            PeakBytes = InUseBytes;
        }

        if (InUseBytes >= _pressureBytes && !_underPressure)
        {
            _underPressure = true;
            _counters?.Increment(Counter.TcpMemoryPressures);
        }

        return true;
    }

    /// <summary>
    /// Gives a chunk back. The pool keeps free chunks up to as many bytes as are in use (at least
    /// <see cref="KeepFloorBytes"/>) and lets go of the rest, so that memory goes back to the
    /// system after many connections close (Linux frees skb memory likewise).
    /// </summary>
    public void Return(byte[] chunk)
    {
        InUseBytes -= ChunkSize;
        if (FreeBytes < Math.Max(InUseBytes, KeepFloorBytes))
        {
            _free.Push(chunk);
        }

        if (InUseBytes < _lowBytes)
        {
            _underPressure = false;
        }
    }
}
