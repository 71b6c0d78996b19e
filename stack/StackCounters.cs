namespace TunStack;

/// <summary>
/// The stack's counters: one <see cref="long"/> per <see cref="Counter"/>. Incremented only by the
/// stack's owner thread; a snapshot read from another thread may be a moment stale.
/// </summary>
public sealed class StackCounters
{
    private static readonly string[] s_names = Enum.GetNames<Counter>();
    private readonly long[] _values = new long[s_names.Length];

    /// <summary>Adds one.</summary>
    public void Increment(Counter counter) => _values[(int)counter]++;

    /// <summary>Adds <paramref name="amount"/>.</summary>
    public void Add(Counter counter, long amount) => _values[(int)counter] += amount;

    /// <summary>The current value.</summary>
    public long this[Counter counter] => Volatile.Read(ref _values[(int)counter]);

    /// <summary>All counters by name, in declaration order (allocates; not for the hot path).</summary>
    public IReadOnlyDictionary<string, long> Snapshot(bool includeZero = false)
    {
        var result = new Dictionary<string, long>();
        for (int i = 0; i < _values.Length; i++)
        {
            long v = Volatile.Read(ref _values[i]);
            if (v != 0 || includeZero)
            {
                result[s_names[i]] = v;
            }
        }

        return result;
    }
}
