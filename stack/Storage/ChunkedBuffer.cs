// A byte stream buffer made of pool chunks: what a TCP connection sends and receives. It takes
// chunks as data arrives and gives each back as soon as everything in it has been consumed.
namespace TunStack.Storage;

/// <summary>
/// A FIFO of bytes up to <see cref="Capacity"/>, stored in <see cref="ChunkPool"/> chunks. Besides
/// appending, data may be written past the readable end (<see cref="WriteAt"/>: out-of-order TCP
/// data waiting for the gap before it) and made readable later (<see cref="Commit"/>). When the pool
/// refuses a chunk, writes take what fits in the chunks held and report how much that was.
/// </summary>
internal sealed class ChunkedBuffer
{
    private readonly ChunkPool _pool;
    private readonly int _chunkSize;
    private byte[]?[] _chunks = [];
    private int _first;       // ring index of the chunk holding the head
    private int _held;        // chunks held, from _first on
    private int _headOffset;  // offset of the head in chunk _first
    private int _written;     // bytes past the head that hold data (readable, or written ahead with WriteAt)

    private readonly int _guaranteedChunks;

    /// <summary>
    /// A buffer of <paramref name="capacity"/> bytes from <paramref name="pool"/>; it may hold
    /// <paramref name="guaranteedChunks"/> chunks even when the pool is at its limit.
    /// </summary>
    public ChunkedBuffer(ChunkPool pool, int capacity, int guaranteedChunks = 0)
    {
        _pool = pool;
        _chunkSize = pool.ChunkSize;
        Capacity = capacity;
        _guaranteedChunks = guaranteedChunks;
    }

    /// <summary>The most bytes the buffer may hold (SO_SNDBUF / SO_RCVBUF); <see cref="Grow"/> raises it.</summary>
    public int Capacity { get; private set; }

    /// <summary>Readable bytes.</summary>
    public int Count { get; private set; }

    /// <summary>Bytes that may still be written (within <see cref="Capacity"/>; the pool may still refuse them).</summary>
    public int Free => Math.Max(0, Capacity - Count);

    /// <summary>
    /// What a <see cref="Write"/> would take now: <see cref="Free"/>, or only the room in the chunks
    /// it holds (or is guaranteed) when the pool is at its limit.
    /// </summary>
    public int WritableNow => _pool.CanRent ? Free : FreeWithoutPool;

    /// <summary>Bytes of chunks held now (what this buffer costs).</summary>
    public int HeldBytes => _held * _chunkSize;

    /// <summary>
    /// Bytes past the readable end that fit in the chunks held and the ones the buffer is guaranteed
    /// (what it can take with the pool at its limit).
    /// </summary>
    public int FreeWithoutPool => Math.Max(0, Math.Min(Free, (Math.Max(_held, _guaranteedChunks) * _chunkSize) - _headOffset - Count));

    /// <summary>Appends as much of <paramref name="data"/> as fits and the pool allows; returns the bytes taken.</summary>
    public int Write(ReadOnlySpan<byte> data)
    {
        int n = WriteAt(0, data[..Math.Min(data.Length, Free)]);
        Count += n;
        return n;
    }

    /// <summary>
    /// Writes <paramref name="data"/> <paramref name="offset"/> bytes past the readable end without
    /// making it readable; returns the bytes written from its start (fewer when the pool refuses a
    /// chunk, none when it does not fit in <see cref="Free"/>).
    /// </summary>
    public int WriteAt(int offset, ReadOnlySpan<byte> data)
    {
        if (offset < 0 || offset + data.Length > Free || data.IsEmpty)
        {
            return 0;
        }

        int start = Count + offset;
        int covered = Cover(start + data.Length);
        int n = Math.Clamp(covered - start, 0, data.Length);
        if (n > 0)
        {
            CopyIn(start, data[..n]);
            _written = Math.Max(_written, start + n);
        }

        return n;
    }

    /// <summary>Makes <paramref name="count"/> bytes already written past the end (with <see cref="WriteAt"/>) readable.</summary>
    public void Commit(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _written - Count);
        Count += count;
    }

    /// <summary>Copies up to <paramref name="destination"/>.Length readable bytes from <paramref name="offset"/> past the head without consuming.</summary>
    public int Peek(Span<byte> destination, int offset = 0)
    {
        int n = Math.Min(destination.Length, Count - offset);
        if (n <= 0)
        {
            return 0;
        }

        int at = _headOffset + offset;
        int done = 0;
        while (done < n)
        {
            byte[] chunk = _chunks[(_first + (at / _chunkSize)) % _chunks.Length]!;
            int within = at % _chunkSize;
            int piece = Math.Min(n - done, _chunkSize - within);
            chunk.AsSpan(within, piece).CopyTo(destination[done..]);
            done += piece;
            at += piece;
        }

        return n;
    }

    /// <summary>Discards up to <paramref name="count"/> readable bytes; returns the bytes discarded. Emptied chunks go back to the pool.</summary>
    public int Skip(int count)
    {
        int n = Math.Min(count, Count);
        Count -= n;
        _written -= n;
        _headOffset += n;
        while (_headOffset >= _chunkSize && _held > 0)
        {
            ReturnFirst();
            _headOffset -= _chunkSize;
        }

        if (_written == 0)
        {
            ReleaseAll(); // nothing readable and nothing written ahead: hold no memory
        }

        return n;
    }

    /// <summary>Copies and consumes up to <paramref name="destination"/>.Length bytes.</summary>
    public int Read(Span<byte> destination) => Skip(Peek(destination));

    /// <summary>Sets <see cref="Capacity"/> (SO_SNDBUF on a connection); below <see cref="Count"/>, nothing more is taken until reads drain it.</summary>
    public void SetCapacity(int capacity) => Capacity = Math.Max(1, capacity);

    /// <summary>Raises <see cref="Capacity"/> (buffer auto-tuning); allocates nothing.</summary>
    public void Grow(int capacity) => Capacity = Math.Max(Capacity, capacity);

    /// <summary>Drops everything written past the readable end (out-of-order data pruned under memory pressure).</summary>
    public void DiscardUnreadable()
    {
        _written = Count;
        int needed = Count == 0 ? 0 : (_headOffset + Count + _chunkSize - 1) / _chunkSize;
        while (_held > needed)
        {
            int last = (_first + _held - 1) % _chunks.Length;
            _pool.Return(_chunks[last]!);
            _chunks[last] = null;
            _held--;
        }

        if (_written == 0)
        {
            ReleaseAll();
        }
    }

    /// <summary>Empties the buffer and gives every chunk back (the connection is done with it).</summary>
    public void Clear()
    {
        Count = 0;
        _written = 0;
        ReleaseAll();
    }

    // Holds chunks for bytes [0, end) past the head, as far as the pool allows; returns the bytes covered.
    private int Cover(int end)
    {
        int needed = (_headOffset + end + _chunkSize - 1) / _chunkSize;
        while (_held < needed)
        {
            if (_held == _chunks.Length)
            {
                GrowRing();
            }

            if (!_pool.TryRent(out byte[] chunk, guaranteed: _held < _guaranteedChunks))
            {
                return (_held * _chunkSize) - _headOffset;
            }

            _chunks[(_first + _held) % _chunks.Length] = chunk;
            _held++;
        }

        return end;
    }

    private void CopyIn(int position, ReadOnlySpan<byte> data)
    {
        int at = _headOffset + position;
        while (!data.IsEmpty)
        {
            byte[] chunk = _chunks[(_first + (at / _chunkSize)) % _chunks.Length]!;
            int within = at % _chunkSize;
            int piece = Math.Min(data.Length, _chunkSize - within);
            data[..piece].CopyTo(chunk.AsSpan(within));
            data = data[piece..];
            at += piece;
        }
    }

    private void ReturnFirst()
    {
        _pool.Return(_chunks[_first]!);
        _chunks[_first] = null;
        _first = (_first + 1) % _chunks.Length;
        _held--;
    }

    private void ReleaseAll()
    {
        while (_held > 0)
        {
            ReturnFirst();
        }

        _first = 0;
        _headOffset = 0;
    }

    // The ring of chunk references doubles when full (allocates: as the buffer's high-water mark
    // grows, never per packet once a connection has reached its working size).
    private void GrowRing()
    {
        var grown = new byte[]?[Math.Max(4, _chunks.Length * 2)];
        for (int i = 0; i < _held; i++)
        {
            grown[i] = _chunks[(_first + i) % _chunks.Length];
        }

        _chunks = grown;
        _first = 0;
    }
}
