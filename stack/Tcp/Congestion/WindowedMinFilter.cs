namespace TunStack.Tcp.Congestion;

/// <summary>
/// The smallest sample seen within a time window (BBR's RTprop filter): a sample no larger than
/// the estimate replaces it, and so does any sample once the estimate is older than the window.
/// </summary>
internal sealed class WindowedMinFilter
{
    private readonly TimeSpan _window;

    public WindowedMinFilter(TimeSpan window) => _window = window;

    /// <summary>The estimate, or <see cref="TimeSpan.MaxValue"/> before the first sample.</summary>
    public TimeSpan Value { get; private set; } = TimeSpan.MaxValue;

    /// <summary>When the estimate was last set (or refreshed; the window starts at <see cref="Refresh"/> before the first sample).</summary>
    public Instant Stamp { get; private set; }

    /// <summary>True once the estimate is older than the window at <paramref name="now"/>.</summary>
    public bool IsExpired(Instant now) => now > Stamp + _window;

    /// <summary>Takes a sample; returns true when the window had expired before it.</summary>
    public bool Update(TimeSpan sample, Instant now)
    {
        bool expired = IsExpired(now);
        if (sample > TimeSpan.Zero && (sample <= Value || expired))
        {
            Value = sample;
            Stamp = now;
        }

        return expired;
    }

    /// <summary>Keeps the estimate but restarts its window (BBR after ProbeRTT).</summary>
    public void Refresh(Instant now) => Stamp = now;
}
