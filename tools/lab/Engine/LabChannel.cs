using TunStack.Links;

namespace TunStack.Lab;

/// <summary>
/// One direction of a lab link: an output queue (its <see cref="QueueDiscipline"/>), a transmitter
/// that serializes one packet at a time at the rate, then the wire: random loss, delay with
/// jitter, reordering and duplication, all drawn from this direction's own seeded generator.
/// What leaves the queue is written to the link's capture. Times are microseconds.
/// </summary>
internal sealed class LabChannel
{
    private readonly LabChannelSpec _spec;
    private readonly int _mtu;
    private readonly Random _random;
    private readonly LossProcess _loss;
    private readonly PcapngWriter? _capture;
    private readonly CaptureDirection _direction;
    private readonly List<int> _sojourns;
    private readonly PriorityQueue<LabPacket, (long At, long Order)> _onWire = new();
    private long _order;
    private long _busyUntil;

    public LabChannel(LabChannelSpec spec, int mtu, int seed, PcapngWriter? capture, CaptureDirection direction, List<int> sojourns)
    {
        _spec = spec;
        _mtu = mtu;
        _random = new Random(seed);
        _loss = new LossProcess(spec.Loss, new Random(unchecked((seed * 7919) + 17)));
        Queue = QueueDiscipline.Create(spec.Queue, spec.EcnMarking, mtu, new Random(unchecked((seed * 104_729) + 29)));
        _capture = capture;
        _direction = direction;
        _sojourns = sojourns;
    }

    public ILabNode? Destination { get; set; }

    /// <summary>The largest packet this direction carries, in bytes.</summary>
    public int Mtu => _mtu;

    public QueueDiscipline Queue { get; }

    /// <summary>Packets that reached the far end (duplicates included).</summary>
    public long Delivered { get; private set; }

    /// <summary>Packets lost on the wire (random loss) or refused as larger than the MTU.</summary>
    public long Lost { get; private set; }

    /// <summary>Everything dropped in this direction: by the queue, on the wire, or for size.</summary>
    public long Dropped => Queue.Dropped + Lost;

    /// <summary>When something next happens here: the transmitter frees up with a packet waiting, or a packet arrives.</summary>
    public long NextEvent
    {
        get
        {
            long next = Queue.Count > 0 ? _busyUntil : long.MaxValue;
            return _onWire.TryPeek(out _, out (long At, long Order) head) ? Math.Min(next, head.At) : next;
        }
    }

    /// <summary>A packet arrives at the queue at <paramref name="now"/>.</summary>
    public void Offer(LabPacket packet, long now)
    {
        if (packet.Length > _mtu)
        {
            Lost++;
            return;
        }

        Queue.Enqueue(packet, now);
    }

    /// <summary>Starts sending queued packets while the transmitter is free; true when one left the queue.</summary>
    public bool Pump(long now)
    {
        bool moved = false;
        while (_busyUntil <= now && Queue.Count > 0)
        {
            LabPacket? packet = Queue.Dequeue(now);
            if (packet is null)
            {
                break;
            }

            moved = true;
            _sojourns.Add((int)Math.Min(int.MaxValue, now - packet.EnqueuedAt));
            _capture?.Write(packet.Data, new Instant(now), _direction);
            long serialization = _spec.RateBitsPerSecond > 0 ? (packet.Length * 8L * 1_000_000) + (_spec.RateBitsPerSecond - 1) : 0;
            _busyUntil = now + (_spec.RateBitsPerSecond > 0 ? serialization / _spec.RateBitsPerSecond : 0);
            if (_loss.NextIsLost())
            {
                Lost++;
                continue;
            }

            Launch(packet, _busyUntil);
            if (_spec.Duplicate > 0 && _random.NextDouble() < _spec.Duplicate)
            {
                Launch(packet.Copy(), _busyUntil);
            }
        }

        return moved;
    }

    /// <summary>Hands packets whose arrival time has come to the far end; true when any did.</summary>
    public bool Deliver(long now)
    {
        bool moved = false;
        while (_onWire.TryPeek(out LabPacket? packet, out (long At, long Order) head) && head.At <= now)
        {
            _onWire.Dequeue();
            Delivered++;
            moved = true;
            Destination!.Accept(packet, now);
        }

        return moved;
    }

    private void Launch(LabPacket packet, long sent)
    {
        long delay = _spec.DelayMicros;
        if (_spec.JitterMicros > 0)
        {
            delay = Math.Max(0, delay + (long)Math.Round(((_random.NextDouble() * 2) - 1) * _spec.JitterMicros));
        }

        if (_spec.Reorder > 0 && _random.NextDouble() < _spec.Reorder)
        {
            delay += _spec.ReorderDelayMicros;
        }

        _onWire.Enqueue(packet, (sent + delay, _order++));
    }
}
