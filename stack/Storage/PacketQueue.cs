namespace TunStack.Storage;

/// <summary>
/// A bounded FIFO of packets in preallocated slots; thread-safe so that two stacks on two threads
/// can share it. Enqueue copies; a full queue refuses (the caller counts the drop).
/// </summary>
internal sealed class PacketQueue
{
    private readonly byte[][] _slots;
    private readonly int[] _lengths;
    private readonly Links.PacketOffload[] _offloads;
    private readonly object _lock = new();
    private int _head;
    private int _count;

    /// <summary>Creates a queue of <paramref name="capacity"/> packets of at most <paramref name="packetCapacity"/> bytes.</summary>
    public PacketQueue(int capacity, int packetCapacity)
    {
        _slots = new byte[capacity][];
        for (int i = 0; i < capacity; i++)
        {
            _slots[i] = new byte[packetCapacity];
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
            packet.CopyTo(_slots[tail]);
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
                ReadOnlySpan<byte> packet = _slots[_head].AsSpan(0, _lengths[_head]);
                if (!batch.TryAdd(packet, _offloads[_head]))
                {
                    break;
                }

                _head = (_head + 1) % _slots.Length;
                _count--;
                moved++;
            }
        }

        return moved;
    }
}
