using TunStack.Wire;

namespace TunStack.Lab;

/// <summary>
/// A link direction's output queue: decides at arrival (and, for CoDel, at departure) which
/// packets to drop or, with ECN marking, to mark CE instead (RFC 3168 5). Counts what it held,
/// dropped and marked. Times are microseconds of virtual time.
/// </summary>
internal abstract class QueueDiscipline
{
    private readonly Queue<LabPacket> _packets = new();

    protected QueueDiscipline(bool ecnMarking) => EcnMarking = ecnMarking;

    public static QueueDiscipline Create(LabQueueSpec spec, bool ecnMarking, int mtu, Random random) => spec.Kind switch
    {
        LabQueueKind.Red => new RedQueue(spec.LimitPackets, spec.MinThreshold, spec.MaxThreshold, spec.MaxP, spec.Weight, ecnMarking, random),
        LabQueueKind.CoDel => new CoDelQueue(spec.LimitPackets, spec.TargetMicros, spec.IntervalMicros, mtu, ecnMarking),
        _ => new DropTailQueue(spec.LimitPackets, spec.LimitBytes),
    };

    public bool EcnMarking { get; }

    public int Count => _packets.Count;

    public long Bytes { get; private set; }

    public long Dropped { get; protected set; }

    public long Marked { get; protected set; }

    /// <summary>Offers an arriving packet; false when it was dropped.</summary>
    public bool Enqueue(LabPacket packet, long now)
    {
        if (!Admit(packet, now))
        {
            Dropped++;
            return false;
        }

        packet.EnqueuedAt = now;
        _packets.Enqueue(packet);
        Bytes += packet.Length;
        return true;
    }

    /// <summary>The next packet to send at <paramref name="now"/>, or null when none is left.</summary>
    public virtual LabPacket? Dequeue(long now) => Take();

    /// <summary>Whether an arrival may join the queue (it may be marked on the way).</summary>
    protected abstract bool Admit(LabPacket packet, long now);

    protected LabPacket? Take()
    {
        if (!_packets.TryDequeue(out LabPacket? packet))
        {
            return null;
        }

        Bytes -= packet.Length;
        return packet;
    }

    /// <summary>With ECN marking on, sets CE in an ECN-capable packet instead of dropping it; true when marked.</summary>
    protected bool TryMark(LabPacket packet)
    {
        if (EcnMarking && EcnField.TryMarkCongestionExperienced(packet.Data))
        {
            Marked++;
            return true;
        }

        return false;
    }
}
