using TunStack.Storage;

namespace TunStack.Links;

/// <summary>
/// One end of an in-process wire between two stacks. What one end transmits, the other receives,
/// through a bounded queue per direction (a full queue drops and counts, like a NIC ring).
/// Safe for two stacks driven from two threads.
/// </summary>
public sealed class MemoryLink : ILink
{
    private readonly PacketQueue _inbound;
    private readonly PacketQueue _outbound;
    private MemoryLink? _peer;
    private long _dropped;

    private MemoryLink(int mtu, LinkOffloads offloads, PacketQueue inbound, PacketQueue outbound)
    {
        Mtu = mtu;
        Offloads = offloads;
        MaxPacketLength = inbound.PacketCapacity;
        _inbound = inbound;
        _outbound = outbound;
    }

    /// <summary>Creates both ends of a wire of plain packets.</summary>
    /// <param name="mtu">Largest packet carried.</param>
    /// <param name="queueCapacity">Packets each direction buffers before dropping.</param>
    public static (MemoryLink A, MemoryLink B) CreatePair(int mtu = 1500, int queueCapacity = 4096) => CreatePairWithOffloads(LinkOffloads.None, mtu, queueCapacity);

    /// <summary>Creates both ends of a wire.</summary>
    /// <param name="mtu">Largest packet carried.</param>
    /// <param name="queueCapacity">Packets each direction buffers before dropping.</param>
    /// <param name="offloads">
    /// Offloads both ends offer, as a veth pair between two kernels would: packets keep their
    /// metadata across the wire, so super-segments and partial checksums arrive as they were sent
    /// (each queued packet then takes a 65,575-byte slot: keep <paramref name="queueCapacity"/> small).
    /// </param>
    public static (MemoryLink A, MemoryLink B) CreatePairWithOffloads(LinkOffloads offloads, int mtu = 1500, int queueCapacity = 256)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(mtu, 1280);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(mtu, 65535);
        if (offloads != LinkOffloads.None && (offloads & LinkOffloads.TransportChecksum) == 0)
        {
            throw new ArgumentException("Segmentation offloads need TransportChecksum too.", nameof(offloads));
        }

        int packetCapacity = PacketOffload.LargestPacket(offloads, mtu);
        var aToB = new PacketQueue(queueCapacity, packetCapacity);
        var bToA = new PacketQueue(queueCapacity, packetCapacity);
        var a = new MemoryLink(mtu, offloads, bToA, aToB);
        var b = new MemoryLink(mtu, offloads, aToB, bToA);
        a._peer = b;
        b._peer = a;
        return (a, b);
    }

    /// <inheritdoc/>
    public int Mtu { get; }

    /// <inheritdoc/>
    public int MaxPacketLength { get; }

    /// <inheritdoc/>
    public LinkOffloads Offloads { get; }

    /// <inheritdoc/>
    public Action? ReceiveReady { get; set; }

    /// <summary>Packets this end transmitted that the wire dropped (queue full or larger than the MTU).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Packets waiting for this end to receive.</summary>
    public int Pending => _inbound.Count;

    /// <summary>Packets already waiting make the link due at once (<see cref="Instant.Zero"/>).</summary>
    public Instant NextDeadline => _inbound.Count > 0 ? Instant.Zero : Instant.MaxValue;

    /// <inheritdoc/>
    public int Receive(PacketBatch batch, Instant now) => _inbound.DequeueInto(batch);

    /// <inheritdoc/>
    public void Transmit(PacketBatch batch, Instant now)
    {
        int sent = 0;
        for (int i = 0; i < batch.Count; i++)
        {
            if (_outbound.TryEnqueue(batch[i], batch.OffloadAt(i)))
            {
                sent++;
            }
            else
            {
                Interlocked.Increment(ref _dropped);
            }
        }

        if (sent > 0)
        {
            _peer?.ReceiveReady?.Invoke();
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
    }
}
