// Storage/ owns the stack's memory: fixed packet slots reused for every batch, byte rings for
// queues, so the steady-state path never allocates (ARCHITECTURE rule 3).
namespace TunStack.Storage;

/// <summary>
/// A reusable batch of packets exchanged with an <see cref="Links.ILink"/>: a fixed number of slots,
/// each a preallocated buffer of <see cref="SlotCapacity"/> bytes. A producer asks for the next free
/// slot, writes into it, and commits the length; a consumer reads <see cref="this[int]"/> and then
/// calls <see cref="Clear"/>. Nothing is allocated after construction.
/// </summary>
public sealed class PacketBatch
{
    private readonly byte[][] _slots;
    private readonly int[] _lengths;
    private readonly long[] _timestamps;
    private readonly Links.PacketOffload[] _offloads;

    /// <summary>Creates a batch of <paramref name="capacity"/> slots of <paramref name="slotCapacity"/> bytes.</summary>
    public PacketBatch(int capacity, int slotCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(slotCapacity, 1);
        _slots = new byte[capacity][];
        for (int i = 0; i < capacity; i++)
        {
            _slots[i] = new byte[slotCapacity];
        }

        _lengths = new int[capacity];
        _timestamps = new long[capacity];
        _offloads = new Links.PacketOffload[capacity];
        SlotCapacity = slotCapacity;
    }

    /// <summary>Number of slots.</summary>
    public int Capacity => _slots.Length;

    /// <summary>Bytes each slot holds.</summary>
    public int SlotCapacity { get; }

    /// <summary>Committed packets.</summary>
    public int Count { get; private set; }

    /// <summary>True when every slot is committed.</summary>
    public bool IsFull => Count == _slots.Length;

    /// <summary>The committed packet at <paramref name="index"/>.</summary>
    public Span<byte> this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
            return _slots[index].AsSpan(0, _lengths[index]);
        }
    }

    /// <summary>The offload metadata of the committed packet at <paramref name="index"/> (default for a plain packet).</summary>
    public ref readonly Links.PacketOffload OffloadAt(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        return ref _offloads[index];
    }

    /// <summary>The writable space of the next free slot; empty when the batch is full.</summary>
    public Span<byte> NextFree => IsFull ? Span<byte>.Empty : _slots[Count];

    /// <summary>Commits <paramref name="length"/> bytes written into <see cref="NextFree"/>.</summary>
    public void Commit(int length) => Commit(length, default);

    /// <summary>Commits <paramref name="length"/> bytes written into <see cref="NextFree"/>, with their offload metadata.</summary>
    public void Commit(int length, in Links.PacketOffload offload)
    {
        if (IsFull || (uint)length > (uint)SlotCapacity)
        {
            throw new InvalidOperationException("PacketBatch.Commit without a free slot or with a length beyond the slot.");
        }

        _lengths[Count] = length;
        _timestamps[Count] = 0;
        _offloads[Count] = offload;
        Count++;
    }

    /// <summary>Copies a packet into the next free slot; false when the batch is full or the packet does not fit.</summary>
    public bool TryAdd(ReadOnlySpan<byte> packet) => TryAdd(packet, default);

    /// <summary>Copies a packet with its offload metadata into the next free slot; false when the batch is full or the packet does not fit.</summary>
    public bool TryAdd(ReadOnlySpan<byte> packet, in Links.PacketOffload offload)
    {
        if (IsFull || packet.Length > SlotCapacity)
        {
            return false;
        }

        packet.CopyTo(_slots[Count]);
        Commit(packet.Length, offload);
        return true;
    }

    /// <summary>
    /// Exchanges the committed packets at <paramref name="a"/> and <paramref name="b"/> (their
    /// buffers, lengths and metadata: nothing is copied), for a link that compacts a batch.
    /// </summary>
    internal void Swap(int a, int b)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)a, (uint)Count, nameof(a));
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)b, (uint)Count, nameof(b));
        (_slots[a], _slots[b]) = (_slots[b], _slots[a]);
        (_lengths[a], _lengths[b]) = (_lengths[b], _lengths[a]);
        (_timestamps[a], _timestamps[b]) = (_timestamps[b], _timestamps[a]);
        (_offloads[a], _offloads[b]) = (_offloads[b], _offloads[a]);
    }

    /// <summary>Keeps the first <paramref name="count"/> committed packets and frees the slots of the rest.</summary>
    internal void Truncate(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)count, (uint)Count, nameof(count));
        Count = count;
    }

    /// <summary>Empties the batch (the slots stay allocated).</summary>
    public void Clear() => Count = 0;
}
