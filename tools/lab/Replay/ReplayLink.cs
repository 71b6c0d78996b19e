using TunStack.Links;
using TunStack.Storage;

namespace TunStack.Lab.Replay;

/// <summary>
/// The replaying stack's link: packets from the capture wait here until the stack reads them, and
/// every packet the stack transmits goes at once to <see cref="Transmitted"/> (no queue, so a burst
/// of answers is never dropped and memory does not grow with the capture's largest packet).
/// </summary>
internal sealed class ReplayLink : ILink
{
    private readonly Queue<byte[]> _arriving = new();

    public ReplayLink(int mtu) => Mtu = mtu;

    public int Mtu { get; }

    public Action? ReceiveReady { get; set; }

    /// <summary>Called with each packet the stack transmits.</summary>
    public Action<Span<byte>>? Transmitted { get; set; }

    public Instant NextDeadline => _arriving.Count > 0 ? Instant.Zero : Instant.MaxValue;

    /// <summary>Queues a packet for the stack to read at its next poll.</summary>
    public void Arrive(byte[] packet) => _arriving.Enqueue(packet);

    public int Receive(PacketBatch batch, Instant now)
    {
        int n = 0;
        while (_arriving.Count > 0 && batch.TryAdd(_arriving.Peek()))
        {
            _arriving.Dequeue();
            n++;
        }

        return n;
    }

    public void Transmit(PacketBatch batch, Instant now)
    {
        for (int i = 0; i < batch.Count; i++)
        {
            Transmitted?.Invoke(batch[i]);
        }
    }

    public void Dispose()
    {
    }
}
