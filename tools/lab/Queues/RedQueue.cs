namespace TunStack.Lab;

/// <summary>
/// Random Early Detection (Floyd and Jacobson, 1993): an exponentially weighted average of the
/// queue length in packets, taken at each arrival; below the minimum threshold every packet joins,
/// from the maximum on every packet is dropped (or marked), and between them a packet is dropped
/// (or marked) with pa = pb / (1 - (count - 1) * pb), where pb = max_p * (avg - min) / (max - min)
/// and count is the packets since the last drop, this one included: the gap between two drops is
/// then uniform over 1 to 1 / pb packets rather than clustered, so that on average
/// 2 pb / (1 + pb) of the arrivals are dropped.
/// </summary>
internal sealed class RedQueue : QueueDiscipline
{
    private readonly int _limitPackets;
    private readonly double _min;
    private readonly double _max;
    private readonly double _maxP;
    private readonly double _weight;
    private readonly Random _random;
    private int _count;

    public RedQueue(int limitPackets, double minThreshold, double maxThreshold, double maxP, double weight, bool ecnMarking, Random random)
        : base(ecnMarking)
    {
        _limitPackets = limitPackets;
        _min = minThreshold;
        _max = maxThreshold;
        _maxP = maxP;
        _weight = weight;
        _random = random;
    }

    /// <summary>The average queue length (packets) after the last arrival.</summary>
    public double Average { get; private set; }

    /// <summary>Sets the average directly (tests that hold it still).</summary>
    public void SetAverage(double average) => Average = average;

    protected override bool Admit(LabPacket packet, long now)
    {
        Average = ((1 - _weight) * Average) + (_weight * Count);
        if (Count >= _limitPackets)
        {
            _count = 0;
            return false;
        }

        if (Average < _min)
        {
            _count = 0;
            return true;
        }

        if (Average >= _max)
        {
            _count = 0;
            return TryMark(packet);
        }

        _count++;
        double pb = _maxP * (Average - _min) / (_max - _min);
        double pa = (_count - 1) * pb >= 1 ? 1 : pb / (1 - ((_count - 1) * pb));
        if (_random.NextDouble() < pa)
        {
            _count = 0;
            return TryMark(packet);
        }

        return true;
    }
}
