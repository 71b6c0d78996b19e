namespace TunStack.Sockets.Hosting;

/// <summary>
/// When a runner gives memory back to the operating system: the garbage collector keeps the
/// regions a peak of connections used, so after most of them have closed (at most half of a peak
/// of at least <see cref="MinimumPeak"/> connections remain) one compacting, decommitting
/// collection returns them (a 100,000-pair peak: RSS 850 -> 302 MiB, docs/perf.md). Checked once a
/// second; once per peak.
/// </summary>
internal sealed class MemoryReturnPolicy
{
    /// <summary>Peaks smaller than this are not worth a full compacting collection.</summary>
    public const int MinimumPeak = 1_000;

    private static readonly TimeSpan s_interval = TimeSpan.FromSeconds(1);
    private int _peak;
    private Instant _nextCheck;

    /// <summary>Records <paramref name="connections"/> at <paramref name="now"/>; true when a collection should return memory now.</summary>
    public bool Observe(int connections, Instant now)
    {
        if (now < _nextCheck)
        {
            return false;
        }

        _nextCheck = now + s_interval;
        _peak = Math.Max(_peak, connections);
        if (_peak >= MinimumPeak && connections <= _peak / 2)
        {
            _peak = connections;
            return true;
        }

        return false;
    }
}
