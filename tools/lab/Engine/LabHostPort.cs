using System.Buffers.Binary;
using TunStack.Links;
using TunStack.Storage;

namespace TunStack.Lab;

/// <summary>
/// A host's attachment to its lab link, as the stack sees it: an <see cref="ILink"/> whose
/// transmissions enter the outgoing direction's queue and whose receptions are what the incoming
/// direction delivered. It also notes the last window each of the host's TCP ports was offered,
/// so a trace can show the peer's receive window.
/// </summary>
internal sealed class LabHostPort : ILink, ILabNode
{
    private readonly Queue<LabPacket> _inbox = new();

    public LabHostPort(int mtu) => Mtu = mtu;

    /// <summary>The direction this host sends on (set when the link is built).</summary>
    public LabChannel? Outgoing { get; set; }

    /// <inheritdoc/>
    public int Mtu { get; }

    /// <inheritdoc/>
    public Action? ReceiveReady { get; set; }

    /// <inheritdoc/>
    public Instant NextDeadline => _inbox.Count > 0 ? Instant.Zero : Instant.MaxValue;

    public bool HasInput => _inbox.Count > 0;


    /// <inheritdoc/>
    public void Accept(LabPacket packet, long now)
    {
        _inbox.Enqueue(packet);
    }

    /// <inheritdoc/>
    public int Receive(PacketBatch batch, Instant now)
    {
        int added = 0;
        while (!batch.IsFull && _inbox.TryDequeue(out LabPacket? packet))
        {
            batch.TryAdd(packet.Data);
            added++;
        }

        return added;
    }

    /// <inheritdoc/>
    public void Transmit(PacketBatch batch, Instant now)
    {
        for (int i = 0; i < batch.Count; i++)
        {
            Outgoing?.Offer(new LabPacket(batch[i]), now.Microseconds);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
    }
}
