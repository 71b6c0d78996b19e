namespace TunStack.Sockets;

/// <summary>
/// The watchers of one socket (usually none, one blocked poll or one <see cref="PollSet"/>), kept
/// in a small array that grows and never shrinks, so that watching and unwatching allocate
/// nothing in the steady state. Read and changed only under the socket's gate.
/// </summary>
internal struct ReadinessWatcherList
{
    private ReadinessWatcher[]? _items;
    private int _count;

    /// <summary>How many watchers there are.</summary>
    public readonly int Count => _count;

    /// <summary>The watcher at <paramref name="index"/> (0 to <see cref="Count"/> - 1).</summary>
    public readonly ReadinessWatcher this[int index] => _items![index];

    public void Add(ReadinessWatcher watcher)
    {
        if (_items is null || _count == _items.Length)
        {
            Array.Resize(ref _items, Math.Max(2, _count * 2));
        }

        _items[_count++] = watcher;
    }

    /// <summary>Removes one occurrence of <paramref name="watcher"/>; false when it is not there.</summary>
    public bool Remove(ReadinessWatcher watcher)
    {
        for (int i = 0; i < _count; i++)
        {
            if (ReferenceEquals(_items![i], watcher))
            {
                _count--;
                _items[i] = _items[_count];
                _items[_count] = null!;
                return true;
            }
        }

        return false;
    }

    /// <summary>Tells every watcher that the conditions in <paramref name="hint"/> may have changed.</summary>
    public readonly void Notify(PollEvents hint)
    {
        for (int i = 0; i < _count; i++)
        {
            _items![i].OnReadinessEvent(hint);
        }
    }
}
