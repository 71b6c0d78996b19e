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
    private readonly Dictionary<ushort, ushort> _offeredWindows = new();

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

    /// <summary>The window field (unscaled) of the last segment that arrived for <paramref name="localPort"/>, or null.</summary>
    public ushort? OfferedWindow(ushort localPort) => _offeredWindows.TryGetValue(localPort, out ushort window) ? window : null;

    /// <inheritdoc/>
    public void Accept(LabPacket packet, long now)
    {
        NoteWindow(packet.Data);
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

    private void NoteWindow(ReadOnlySpan<byte> packet)
    {
        int tcp;
        if (packet.Length >= 20 && packet[0] >> 4 == 4 && packet[9] == 6)
        {
            tcp = (packet[0] & 0x0F) * 4;
        }
        else if (packet.Length >= 40 && packet[0] >> 4 == 6 && packet[6] == 6)
        {
            tcp = 40;
        }
        else
        {
            return;
        }

        if (packet.Length < tcp + 20 || (packet[tcp + 13] & 0x02) != 0)
        {
            return; // too short, or a SYN (whose window is never scaled)
        }

        _offeredWindows[BinaryPrimitives.ReadUInt16BigEndian(packet[(tcp + 2)..])] = BinaryPrimitives.ReadUInt16BigEndian(packet[(tcp + 14)..]);
    }
}
