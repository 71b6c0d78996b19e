using TunStack.Wire;

namespace TunStack.Storage;

/// <summary>
/// The sequence ranges of out-of-order data held beyond the next expected byte, kept sorted and
/// merged, bounded in number of ranges. The most recently changed range is remembered first, for
/// the SACK blocks of RFC 2018 4 ("the first block reports the most recently received segment").
/// Room for ranges grows as holes appear (an idle connection holds room for four).
/// </summary>
internal sealed class Assembler
{
    private const int InitialRanges = 4;
    private readonly int _maxRanges;
    private (SeqNumber Left, SeqNumber Right)[] _ranges;
    private int[] _recency;
    private int _stamp;

    /// <summary>Creates an assembler holding at most <paramref name="maxRanges"/> separate ranges.</summary>
    public Assembler(int maxRanges)
    {
        _maxRanges = maxRanges;
        _ranges = new (SeqNumber, SeqNumber)[Math.Min(InitialRanges, maxRanges)];
        _recency = new int[_ranges.Length];
    }

    /// <summary>Separate ranges held.</summary>
    public int Count { get; private set; }

    /// <summary>Range <paramref name="index"/> in sequence order.</summary>
    public (SeqNumber Left, SeqNumber Right) this[int index] => _ranges[index];

    /// <summary>True when [left, right) lies wholly within one range held.</summary>
    public bool Holds(SeqNumber left, SeqNumber right)
    {
        for (int i = 0; i < Count; i++)
        {
            if (_ranges[i].Left <= left && right <= _ranges[i].Right)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Adds [left, right); merges with overlapping or adjacent ranges. False when a new range would exceed the bound.</summary>
    public bool TryAdd(SeqNumber left, SeqNumber right)
    {
        if (right <= left)
        {
            return true;
        }

        int stamp = ++_stamp;
        int i = 0;
        while (i < Count && _ranges[i].Right < left)
        {
            i++;
        }

        if (i == Count || _ranges[i].Left > right)
        {
            if (Count == _ranges.Length)
            {
                if (Count == _maxRanges)
                {
                    return false;
                }

                Array.Resize(ref _ranges, Math.Min(_maxRanges, 2 * Count));
                Array.Resize(ref _recency, _ranges.Length);
            }

            Array.Copy(_ranges, i, _ranges, i + 1, Count - i);
            Array.Copy(_recency, i, _recency, i + 1, Count - i);
            _ranges[i] = (left, right);
            _recency[i] = stamp;
            Count++;
            return true;
        }

        // Overlaps or touches range i: widen it, then swallow the ranges it now reaches.
        _ranges[i] = (SeqNumber.Min(_ranges[i].Left, left), SeqNumber.Max(_ranges[i].Right, right));
        _recency[i] = stamp;
        int j = i + 1;
        while (j < Count && _ranges[j].Left <= _ranges[i].Right)
        {
            _ranges[i].Right = SeqNumber.Max(_ranges[i].Right, _ranges[j].Right);
            j++;
        }

        int removed = j - i - 1;
        if (removed > 0)
        {
            Array.Copy(_ranges, j, _ranges, i + 1, Count - j);
            Array.Copy(_recency, j, _recency, i + 1, Count - j);
            Count -= removed;
        }

        return true;
    }

    /// <summary>
    /// Once the next expected byte is <paramref name="next"/>: removes ranges now behind it and
    /// returns how many bytes past <paramref name="next"/> became contiguous (0 when a gap remains).
    /// </summary>
    public int TakeContiguous(SeqNumber next)
    {
        int gained = 0;
        while (Count > 0 && _ranges[0].Left <= next)
        {
            if (_ranges[0].Right > next)
            {
                gained += _ranges[0].Right - next;
                next = _ranges[0].Right;
            }

            Array.Copy(_ranges, 1, _ranges, 0, Count - 1);
            Array.Copy(_recency, 1, _recency, 0, Count - 1);
            Count--;
        }

        return gained;
    }

    /// <summary>Fills <paramref name="options"/> with up to <paramref name="max"/> SACK blocks, most recently changed first.</summary>
    public void WriteSackBlocks(ref TcpOptions options, int max)
    {
        Span<bool> used = stackalloc bool[Count];
        for (int b = 0; b < Math.Min(max, Count); b++)
        {
            int best = -1;
            for (int i = 0; i < Count; i++)
            {
                if (!used[i] && (best < 0 || _recency[i] > _recency[best]))
                {
                    best = i;
                }
            }

            used[best] = true;
            options.AddSack(new SackBlock(_ranges[best].Left, _ranges[best].Right));
        }
    }

    /// <summary>Forgets everything.</summary>
    public void Clear() => Count = 0;
}
