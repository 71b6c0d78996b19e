// RFC 6675 2/4: the sender's scoreboard of SACKed sequence ranges above SND.UNA, bounded so that
// no ACK costs more than O(MaxRanges) however the peer shapes its SACK blocks.
using TunStack.Wire;

namespace TunStack.Tcp.Recovery;

/// <summary>
/// Sorted, disjoint SACKed ranges [Left, Right) above the cumulative ACK. At most
/// <see cref="MaxRanges"/> ranges are kept; a block that would need more is dropped (and counted by
/// the caller), which only makes the sender more conservative: unsacked data is retransmitted.
/// </summary>
internal sealed class SackScoreboard
{
    public const int MaxRanges = 32;
    // Made at the first SACK block: most connections never see one.
    private SeqNumber[] _left = [];
    private SeqNumber[] _right = [];

    /// <summary>Number of ranges.</summary>
    public int Count { get; private set; }

    /// <summary>Bytes SACKed in total.</summary>
    public int SackedBytes { get; private set; }

    /// <summary>RFC 6675 HighSACK: the right edge of the highest range (valid when Count &gt; 0).</summary>
    public SeqNumber HighSack => _right[Count - 1];

    public SeqNumber Left(int i) => _left[i];

    public SeqNumber Right(int i) => _right[i];

    public void Clear()
    {
        Count = 0;
        SackedBytes = 0;
    }

    /// <summary>
    /// Records a SACK block; returns true if it covered something not SACKed before, false if it
    /// told nothing new (or could not be kept: the scoreboard is full).
    /// </summary>
    public bool Add(SeqNumber left, SeqNumber right)
    {
        if (right <= left)
        {
            return false;
        }

        if (_left.Length == 0)
        {
            _left = new SeqNumber[MaxRanges];
            _right = new SeqNumber[MaxRanges];
        }

        // Find the first range whose right edge reaches the new block.
        int i = 0;
        while (i < Count && _right[i] < left)
        {
            i++;
        }

        if (i < Count && _left[i] <= left && _right[i] >= right)
        {
            return false; // already covered
        }

        // Merge every range that overlaps or touches [left, right).
        int j = i;
        SeqNumber newLeft = left, newRight = right;
        int removedBytes = 0;
        while (j < Count && _left[j] <= right)
        {
            if (_left[j] < newLeft)
            {
                newLeft = _left[j];
            }

            if (_right[j] > newRight)
            {
                newRight = _right[j];
            }

            removedBytes += _right[j] - _left[j];
            j++;
        }

        int merged = j - i;
        if (merged == 0 && Count == MaxRanges)
        {
            return false;
        }

        // Replace ranges [i, j) by one.
        int shift = 1 - merged;
        if (shift != 0)
        {
            Array.Copy(_left, j, _left, j + shift, Count - j);
            Array.Copy(_right, j, _right, j + shift, Count - j);
        }

        _left[i] = newLeft;
        _right[i] = newRight;
        Count += shift;
        SackedBytes += (newRight - newLeft) - removedBytes;
        return true;
    }

    /// <summary>The cumulative ACK moved to <paramref name="una"/>: forget what lies below it.</summary>
    public void AdvanceTo(SeqNumber una)
    {
        int drop = 0;
        while (drop < Count && _right[drop] <= una)
        {
            SackedBytes -= _right[drop] - _left[drop];
            drop++;
        }

        if (drop > 0)
        {
            Array.Copy(_left, drop, _left, 0, Count - drop);
            Array.Copy(_right, drop, _right, 0, Count - drop);
            Count -= drop;
        }

        if (Count > 0 && _left[0] < una)
        {
            SackedBytes -= una - _left[0];
            _left[0] = una;
        }
    }

    /// <summary>True when every byte of [seq, seq + length) is SACKed.</summary>
    public bool IsSacked(SeqNumber seq, int length)
    {
        for (int i = 0; i < Count; i++)
        {
            if (_left[i] <= seq && _right[i] >= seq + length)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>SACKed bytes at or above <paramref name="seq"/>.</summary>
    public int SackedAbove(SeqNumber seq)
    {
        int total = 0;
        for (int i = Count - 1; i >= 0 && _right[i] > seq; i--)
        {
            total += _right[i] - (_left[i] > seq ? _left[i] : seq);
        }

        return total;
    }
}
