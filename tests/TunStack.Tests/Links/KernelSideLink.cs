using TunStack.Links;
using TunStack.Storage;

namespace TunStack.Tests.Links;

/// <summary>
/// The kernel's end of an in-memory multi-queue TUN: it receives what every queue's stack writes,
/// and writes everything on the queue the test chooses (<see cref="SendOnQueue"/>), as the kernel
/// does for a flow it has no entry for.
/// </summary>
internal sealed class KernelSideLink : ILink
{
    private readonly MemoryLink[] _ends;
    private readonly PacketBatch _one = new(1, 1500);
    private int _next;

    public KernelSideLink(int queues, out MemoryLink[] queueEnds)
    {
        _ends = new MemoryLink[queues];
        queueEnds = new MemoryLink[queues];
        for (int i = 0; i < queues; i++)
        {
            (_ends[i], queueEnds[i]) = MemoryLink.CreatePair();
        }
    }

    /// <summary>The queue the kernel writes on.</summary>
    public int SendOnQueue { get; set; }

    /// <summary>Writes each packet on the next queue in turn instead (so the fragments of one datagram arrive on different queues).</summary>
    public bool Spread { get; set; }

    public int Mtu => _ends[0].Mtu;

    public Action? ReceiveReady { get; set; }

    public Instant NextDeadline => _ends.Any(e => e.Pending > 0) ? Instant.Zero : Instant.MaxValue;

    public int Receive(PacketBatch batch, Instant now)
    {
        int received = 0;
        foreach (MemoryLink end in _ends)
        {
            received += end.Receive(batch, now);
        }

        return received;
    }

    public void Transmit(PacketBatch batch, Instant now)
    {
        if (!Spread)
        {
            _ends[SendOnQueue].Transmit(batch, now);
            return;
        }

        for (int i = 0; i < batch.Count; i++)
        {
            _one.Clear();
            _one.TryAdd(batch[i]);
            _ends[_next++ % _ends.Length].Transmit(_one, now);
        }
    }

    public void Dispose()
    {
    }
}
