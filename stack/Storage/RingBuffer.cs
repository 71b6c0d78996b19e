namespace TunStack.Storage;

/// <summary>
/// A fixed-capacity byte ring: writes append at the tail, reads consume from the head, both
/// wrapping around the end with at most two copies. Used for datagram queues and stream buffers.
/// </summary>
internal sealed class RingBuffer
{
    private byte[] _buffer;
    private int _head;

    /// <summary>Creates a ring of <paramref name="capacity"/> bytes.</summary>
    public RingBuffer(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _buffer = new byte[capacity];
    }

    /// <summary>Total bytes the ring holds.</summary>
    public int Capacity => _buffer.Length;

    /// <summary>Bytes stored.</summary>
    public int Count { get; private set; }

    /// <summary>Bytes that can still be written.</summary>
    public int Free => _buffer.Length - Count;

    /// <summary>Appends all of <paramref name="data"/>; false (nothing written) when it does not fit.</summary>
    public bool TryWrite(ReadOnlySpan<byte> data)
    {
        if (data.Length > Free)
        {
            return false;
        }

        int tail = (_head + Count) % _buffer.Length;
        int first = Math.Min(data.Length, _buffer.Length - tail);
        data[..first].CopyTo(_buffer.AsSpan(tail));
        data[first..].CopyTo(_buffer);
        Count += data.Length;
        return true;
    }

    /// <summary>
    /// Writes <paramref name="data"/> <paramref name="offset"/> bytes past the end of the readable
    /// data without making it readable (out-of-order data waiting for the gap before it);
    /// false (nothing written) when it would not fit in the free space.
    /// </summary>
    public bool TryWriteAt(int offset, ReadOnlySpan<byte> data)
    {
        if (offset < 0 || offset + data.Length > Free)
        {
            return false;
        }

        int at = (_head + Count + offset) % _buffer.Length;
        int first = Math.Min(data.Length, _buffer.Length - at);
        data[..first].CopyTo(_buffer.AsSpan(at));
        data[first..].CopyTo(_buffer);
        return true;
    }

    /// <summary>Makes <paramref name="count"/> bytes already written past the end (with <see cref="TryWriteAt"/>) readable.</summary>
    public void Commit(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Free);
        Count += count;
    }

    /// <summary>Copies up to <paramref name="destination"/>.Length bytes from <paramref name="offset"/> past the head without consuming.</summary>
    public int Peek(Span<byte> destination, int offset = 0)
    {
        int n = Math.Min(destination.Length, Count - offset);
        if (n <= 0)
        {
            return 0;
        }

        int start = (_head + offset) % _buffer.Length;
        int first = Math.Min(n, _buffer.Length - start);
        _buffer.AsSpan(start, first).CopyTo(destination);
        _buffer.AsSpan(0, n - first).CopyTo(destination[first..]);
        return n;
    }

    /// <summary>Discards up to <paramref name="count"/> bytes from the head; returns the bytes discarded.</summary>
    public int Skip(int count)
    {
        int n = Math.Min(count, Count);
        _head = (_head + n) % _buffer.Length;
        Count -= n;
        // The head is never reset when the ring empties: data written past the end with
        // TryWriteAt must stay where it is.
        return n;
    }

    /// <summary>Copies and consumes up to <paramref name="destination"/>.Length bytes.</summary>
    public int Read(Span<byte> destination) => Skip(Peek(destination));

    /// <summary>
    /// Grows the ring to <paramref name="capacity"/> bytes, keeping every byte where the reader
    /// and <see cref="TryWriteAt"/> expect it (also the ones parked past the end). Allocates: call
    /// it seldom (buffer auto-tuning), never per packet.
    /// </summary>
    public void Grow(int capacity)
    {
        if (capacity <= _buffer.Length)
        {
            return;
        }

        var grown = new byte[capacity];
        int first = _buffer.Length - _head;
        _buffer.AsSpan(_head, first).CopyTo(grown);
        _buffer.AsSpan(0, _head).CopyTo(grown.AsSpan(first));
        _buffer = grown;
        _head = 0;
    }

    /// <summary>Empties the ring.</summary>
    public void Clear()
    {
        _head = 0;
        Count = 0;
    }
}
