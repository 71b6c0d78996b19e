namespace TunStack.Storage;

/// <summary>
/// A bounded FIFO of packets copied into buffers of their own; thread-safe so that two stacks on
/// two threads can share it. Enqueue copies; a full queue refuses (the caller counts the drop). A
/// dequeued packet's buffer goes back to a spare list for the next enqueue, so the queue allocates
/// at most one buffer per slot of its deepest fill; all of them up front unless told otherwise.
/// </summary>
internal sealed class PacketQueue
{
    private readonly byte[]?[] _slots;
    private readonly Stack<byte[]> _spares;
    private readonly int[] _lengths;
    private readonly Links.PacketOffload[] _offloads;
    private readonly object _lock = new();
    private int _head;
    private int _count;

    /// <summary>
    /// Creates a queue of <paramref name="capacity"/> packets of at most <paramref name="packetCapacity"/> bytes,
    /// with every buffer allocated now, or (<paramref name="allocateUpFront"/> false, for simulations
    /// of many stacks whose queues are rarely deep) each the first time the queue is that deep.
    /// </summary>
    public PacketQueue(int capacity, int packetCapacity, bool allocateUpFront = true)
    {
        _slots = new byte[capacity][];
        _spares = new Stack<byte[]>(allocateUpFront ? capacity : 0);
        for (int i = 0; allocateUpFront && i < capacity; i++)
        {
            _spares.Push(new byte[packetCapacity]);
        }

        _lengths = new int[capacity];
        _offloads = new Links.PacketOffload[capacity];
        PacketCapacity = packetCapacity;
    }

    /// <summary>Packets the queue holds before it refuses.</summary>
    public int Capacity => _slots.Length;

    /// <summary>Largest packet a slot holds.</summary>
    public int PacketCapacity { get; }

    /// <summary>Packets waiting.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>True when packets may be waiting: a read without the lock, for a cheap look before <see cref="DequeueInto"/>.</summary>
    public bool HasPackets => Volatile.Read(ref _count) > 0;

    /// <summary>Copies a packet in; false when full or too large.</summary>
    public bool TryEnqueue(ReadOnlySpan<byte> packet) => TryEnqueue(packet, default);

    /// <summary>Copies a packet in with its offload metadata; false when full or too large.</summary>
    public bool TryEnqueue(ReadOnlySpan<byte> packet, in Links.PacketOffload offload)
    {
        if (packet.Length > PacketCapacity)
        {
            return false;
        }

        lock (_lock)
        {
            if (_count == _slots.Length)
            {
                return false;
            }

            int tail = (_head + _count) % _slots.Length;
            byte[] buffer = _spares.Count > 0 ? _spares.Pop() : new byte[PacketCapacity];
            packet.CopyTo(buffer);
            _slots[tail] = buffer;
            _lengths[tail] = packet.Length;
            _offloads[tail] = offload;
            _count++;
            return true;
        }
    }

    /// <summary>Moves packets into <paramref name="batch"/> until it is full; returns the count moved.</summary>
    public int DequeueInto(PacketBatch batch)
    {
        int moved = 0;
        lock (_lock)
        {
            while (_count > 0 && !batch.IsFull)
            {
                byte[] buffer = _slots[_head]!;
                if (!batch.TryAdd(buffer.AsSpan(0, _lengths[_head]), _offloads[_head]))
                {
                    break;
                }

                _spares.Push(buffer);
                _slots[_head] = null;
                _head = (_head + 1) % _slots.Length;
                _count--;
                moved++;
            }
        }

        return moved;
    }
}
