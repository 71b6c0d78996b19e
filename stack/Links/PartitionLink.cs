using TunStack.Storage;

namespace TunStack.Links;

/// <summary>
/// One partition's link (made by <see cref="PartitionSteering.CreateLink"/>): it reads and writes
/// its own queue, and of what it reads keeps the packets its partition owns; each other packet is
/// copied into its owner's hand-off queue (counted as <see cref="Counter.PartitionHandedOff"/>, or
/// <see cref="Counter.PartitionHandOffDropped"/> when that queue is full) and the owner's loop is
/// woken. Packets handed to this partition come first in its next <see cref="Receive"/>. What
/// its stack sends goes out on its own queue, so the kernel learns to steer the flow there.
/// Waiting (<see cref="WaitForPackets"/>, <see cref="InterruptWait"/>) is the queue's.
/// </summary>
public sealed class PartitionLink : ILink
{
    private readonly PartitionSteering _steering;
    private readonly ILink _queue;
    private readonly PacketQueue _inbox;
    private Action? _receiveReady;

    internal PartitionLink(PartitionSteering steering, int partition, ILink queue, PacketQueue inbox)
    {
        _steering = steering;
        Partition = partition;
        _queue = queue;
        _inbox = inbox;
    }

    /// <summary>Which partition this is (0 to the steering's count - 1).</summary>
    public int Partition { get; }

    /// <summary>The queue this partition reads and writes.</summary>
    public ILink Queue => _queue;

    /// <summary>
    /// Where hand-offs are counted: set it to the partition's stack's <see cref="NetworkStack.Counters"/>
    /// (they are counted on the partition's own thread, where the stack counts). Null counts nothing.
    /// </summary>
    public StackCounters? Counters { get; set; }

    /// <inheritdoc/>
    public int Mtu => _queue.Mtu;

    /// <inheritdoc/>
    public int MaxPacketLength => _queue.MaxPacketLength;

    /// <inheritdoc/>
    public LinkOffloads Offloads => _queue.Offloads;

    /// <inheritdoc/>
    public Action? ReceiveReady
    {
        get => _receiveReady;
        set
        {
            _receiveReady = value;
            _queue.ReceiveReady = value;
        }
    }

    /// <summary>Due at once while packets handed over wait; otherwise when the queue is.</summary>
    public Instant NextDeadline => _inbox.HasPackets ? Instant.Zero : _queue.NextDeadline;

    /// <inheritdoc/>
    public bool CanWaitForPackets => _queue.CanWaitForPackets;

    /// <inheritdoc/>
    public void WaitForPackets(TimeSpan timeout) => _queue.WaitForPackets(timeout);

    /// <inheritdoc/>
    public void InterruptWait() => _queue.InterruptWait();

    /// <inheritdoc/>
    public int Receive(PacketBatch batch, Instant now)
    {
        int first = batch.Count;
        if (_inbox.HasPackets)
        {
            _inbox.DequeueInto(batch);
        }

        int handedIn = batch.Count;
        if (!batch.IsFull)
        {
            _queue.Receive(batch, now);
        }

        // Keep this partition's packets in their order, moving each other one to its owner.
        int kept = handedIn;
        ulong woken = 0;
        for (int i = handedIn; i < batch.Count; i++)
        {
            int owner = _steering.OwnerOf(batch[i], Partition);
            if (owner == Partition)
            {
                if (kept != i)
                {
                    batch.Swap(kept, i);
                }

                kept++;
                continue;
            }

            if (_steering.InboxOf(owner).TryEnqueue(batch[i], batch.OffloadAt(i)))
            {
                Counters?.Increment(Counter.PartitionHandedOff);
                woken |= 1UL << owner;
            }
            else
            {
                Counters?.Increment(Counter.PartitionHandOffDropped);
            }
        }

        batch.Truncate(kept);
        for (int owner = 0; woken != 0; owner++, woken >>= 1)
        {
            if ((woken & 1) != 0)
            {
                _steering.Wake(owner);
            }
        }

        return kept - first;
    }

    /// <inheritdoc/>
    public void Transmit(PacketBatch batch, Instant now) => _queue.Transmit(batch, now);

    /// <summary>Disposes the queue.</summary>
    public void Dispose() => _queue.Dispose();
}
