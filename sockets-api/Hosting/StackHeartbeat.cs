namespace TunStack.Sockets.Hosting;

/// <summary>
/// One periodic callback of a <see cref="StackRunner"/>'s loop (<see cref="StackRunner.AddHeartbeat"/>):
/// when it is due, on the real clock, and what it runs. Disposing it takes it off the loop.
/// </summary>
internal sealed class StackHeartbeat : IDisposable
{
    private readonly StackRunner _runner;
    private readonly TimeSpan _interval;
    private readonly Action<NetworkStack> _beat;
    private Instant _due;

    public StackHeartbeat(StackRunner runner, TimeSpan interval, Action<NetworkStack> beat)
    {
        _runner = runner;
        _interval = interval;
        _beat = beat;
    }

    /// <summary>Runs the beat if it is due at <paramref name="now"/> (real clock); returns when the next one is.</summary>
    public Instant BeatIfDue(NetworkStack stack, Instant now)
    {
        if (now >= _due)
        {
            _beat(stack);
            _due = now + _interval;
        }

        return _due;
    }

    public void Dispose() => _runner.RemoveHeartbeat(this);
}
