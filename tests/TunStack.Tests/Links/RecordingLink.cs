using TunStack.Links;
using TunStack.Storage;

namespace TunStack.Tests.Links;

/// <summary>Passes packets through and remembers the length and offload metadata of every one transmitted.</summary>
internal sealed class RecordingLink(ILink inner) : ILink
{
    public List<(int Length, PacketOffload Offload, Instant At)> Sent { get; } = new();

    public int Mtu => inner.Mtu;

    public int MaxPacketLength => inner.MaxPacketLength;

    public LinkOffloads Offloads => inner.Offloads;

    public Action? ReceiveReady { get => inner.ReceiveReady; set => inner.ReceiveReady = value; }

    public Instant NextDeadline => inner.NextDeadline;

    public int Receive(PacketBatch batch, Instant now) => inner.Receive(batch, now);

    public void Transmit(PacketBatch batch, Instant now)
    {
        for (int i = 0; i < batch.Count; i++)
        {
            Sent.Add((batch[i].Length, batch.OffloadAt(i), now));
        }

        inner.Transmit(batch, now);
    }

    public void Dispose() => inner.Dispose();
}
