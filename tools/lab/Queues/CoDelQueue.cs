namespace TunStack.Lab;

/// <summary>
/// CoDel (RFC 8289): decides at departure, from each packet's sojourn time. Once the sojourn has
/// stayed at or above <c>target</c> for a whole <c>interval</c>, it drops (or marks) a packet and
/// enters the dropping state, where the next drop comes interval / sqrt(count) after the last, so
/// drops grow denser until the delay falls below target. Re-entering soon after leaving resumes
/// near the previous drop rate.
/// </summary>
internal sealed class CoDelQueue : QueueDiscipline
{
    private readonly int _limitPackets;
    private readonly long _target;
    private readonly long _interval;
    private readonly int _maxPacket;
    private long _firstAboveTime;
    private long _dropNext;
    private int _count;
    private int _lastCount;
    private bool _dropping;

    public CoDelQueue(int limitPackets, long targetMicros, long intervalMicros, int maxPacket, bool ecnMarking)
        : base(ecnMarking)
    {
        _limitPackets = limitPackets;
        _target = targetMicros;
        _interval = intervalMicros;
        _maxPacket = maxPacket;
    }

    /// <summary>Drops (or marks) since the dropping state was last entered.</summary>
    public int DropCount => _count;

    protected override bool Admit(LabPacket packet, long now) => Count < _limitPackets;

    public override LabPacket? Dequeue(long now)
    {
        (LabPacket? packet, bool okToDrop) = DoDequeue(now);
        if (packet is null)
        {
            _dropping = false;
            return null;
        }

        if (_dropping)
        {
            if (!okToDrop)
            {
                _dropping = false;
            }

            while (_dropping && now >= _dropNext)
            {
                _count++;
                if (TryMark(packet!))
                {
                    _dropNext = ControlLaw(_dropNext);
                    return packet;
                }

                Dropped++;
                (packet, okToDrop) = DoDequeue(now);
                if (packet is null || !okToDrop)
                {
                    _dropping = false;
                }
                else
                {
                    _dropNext = ControlLaw(_dropNext);
                }
            }
        }
        else if (okToDrop)
        {
            bool marked = TryMark(packet);
            if (!marked)
            {
                Dropped++;
                (packet, _) = DoDequeue(now);
            }

            _dropping = true;
            int delta = _count - _lastCount;
            _count = delta > 1 && now - _dropNext < 16 * _interval ? delta : 1;
            _dropNext = ControlLaw(now);
            _lastCount = _count;
        }

        return packet;
    }

    private long ControlLaw(long t) => t + (long)(_interval / Math.Sqrt(_count));

    private (LabPacket? Packet, bool OkToDrop) DoDequeue(long now)
    {
        LabPacket? packet = Take();
        if (packet is null)
        {
            _firstAboveTime = 0;
            return (null, false);
        }

        long sojourn = now - packet.EnqueuedAt;
        if (sojourn < _target || Bytes <= _maxPacket)
        {
            _firstAboveTime = 0;
            return (packet, false);
        }

        if (_firstAboveTime == 0)
        {
            _firstAboveTime = now + _interval;
            return (packet, false);
        }

        return (packet, now >= _firstAboveTime);
    }
}
