using TunStack.Links;
using TunStack.Storage;

namespace TunStack.Tests.Links;

/// <summary>Passes packets through and remembers the length and offload metadata of every one transmitted.</summary>
internal sealed class RecordingLink(ILink inner) : PassThroughLink(inner)
{
    public List<(int Length, PacketOffload Offload, Instant At)> Sent { get; } = new();

    public override void Transmit(PacketBatch batch, Instant now)
    {
        for (int i = 0; i < batch.Count; i++)
        {
            Sent.Add((batch[i].Length, batch.OffloadAt(i), now));
        }

        Inner.Transmit(batch, now);
    }
}
