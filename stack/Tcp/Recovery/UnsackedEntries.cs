using TunStack.Wire;

namespace TunStack.Tcp.Recovery;

/// <summary>
/// The segment log's entries in the holes between SACKed ranges, in sequence order. The
/// scoreboard has at most 32 ranges, so a walk costs O(32 log n) plus the entries it visits,
/// which are never the SACKed ones: no ACK pays for a long run of SACKed segments.
/// </summary>
internal struct UnsackedEntries
{
    private readonly SentSegments _log;
    private readonly SackScoreboard _board;
    private readonly SeqNumber _una;
    private readonly SeqNumber _max;
    private int _hole;
    private int _index;
    private SeqNumber _holeEnd;

    /// <summary>A walk over the holes between SND.UNA (<paramref name="una"/>) and the highest sequence sent (<paramref name="max"/>).</summary>
    public UnsackedEntries(SentSegments log, SackScoreboard board, SeqNumber una, SeqNumber max)
    {
        _log = log;
        _board = board;
        _una = una;
        _max = max;
        _hole = -1;
        _index = -1;
        Current = -1;
    }

    /// <summary>The index in the log of the current entry.</summary>
    public int Current { get; private set; }

    public bool MoveNext()
    {
        while (true)
        {
            if (_index >= 0 && ++_index < _log.Count && _log[_index].Start < _holeEnd)
            {
                Current = _index;
                return true;
            }

            if (++_hole > _board.Count)
            {
                return false;
            }

            SeqNumber start = _hole == 0 ? _una : _board.Right(_hole - 1);
            _holeEnd = _hole < _board.Count ? _board.Left(_hole) : _max;
            _index = _holeEnd > start ? _log.Find(start) : -1;
            if (_index >= 0)
            {
                Current = _index;
                return true;
            }
        }
    }
}
