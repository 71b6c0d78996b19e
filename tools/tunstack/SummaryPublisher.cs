using TunStack.Sockets.Hosting;

namespace TunStack.Cli;

/// <summary>
/// Publishes a <see cref="DaemonSummary"/> once a second: a timer posts a short read of the table
/// sizes to the stack's thread (<see cref="StackRunner.Post"/>), which swaps the new summary in
/// atomically; readers (<see cref="Current"/>) take the last one from any thread without touching the stack.
/// </summary>
public sealed class SummaryPublisher : IDisposable
{
    private static readonly TimeSpan s_interval = TimeSpan.FromSeconds(1);
    private readonly StackRunner _runner;
    private readonly string _name;
    private readonly string _role;
    private readonly DateTime _started;
    private readonly Timer _timer;
    private DaemonSummary _current;
    private (long Received, long Sent, DateTime At) _previous;

    /// <summary>Starts publishing for the stack of <paramref name="runner"/>; the first summary is taken at once.</summary>
    public SummaryPublisher(StackRunner runner, string name, string role)
    {
        ArgumentNullException.ThrowIfNull(runner);
        _runner = runner;
        _name = name;
        _role = role;
        _started = DateTime.UtcNow;
        _previous = (runner.Counters[Counter.LinkReceived], runner.Counters[Counter.LinkSent], _started);
        _current = new DaemonSummary(name, role, Environment.ProcessId, _started, [], 0, 0, 0, 0, 0, 0, _started);
        try
        {
            runner.InvokeAsync(Take).Wait(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is AggregateException or ObjectDisposedException)
        {
            // The stack has stopped: the summary stays empty, and the daemon is stopping anyway.
        }

        _timer = new Timer(_ => Publish(), null, s_interval, s_interval);
    }

    /// <summary>The last summary published (any thread).</summary>
    public DaemonSummary Current => Volatile.Read(ref _current);

    /// <inheritdoc/>
    public void Dispose() => _timer.Dispose();

    private void Publish()
    {
        try
        {
            _runner.Post(stack => Take(stack));
        }
        catch (ObjectDisposedException)
        {
            // Stopping: the last summary stays.
        }
    }

    // On the stack's thread: the table sizes and the packet rates since the last summary.
    private DaemonSummary Take(NetworkStack stack)
    {
        DateTime now = DateTime.UtcNow;
        (long received, long sent) = (stack.Counters[Counter.LinkReceived], stack.Counters[Counter.LinkSent]);
        double seconds = Math.Max(0.001, (now - _previous.At).TotalSeconds);
        // The table holds the connections (some in TIME-WAIT still held by their application); the
        // rest of TIME-WAIT is compact records outside it.
        (int table, int timeWait) = stack.TcpConnections;
        int open = table - (timeWait - stack.TcpTimeWaitRecords);
        var summary = new DaemonSummary(_name, _role, Environment.ProcessId, _started, stack.Addresses.Select(a => a.ToString()).ToList(),
            open, timeWait, stack.ListTcpListeners().Count, stack.ListUdpEndpoints().Count,
            (received - _previous.Received) / seconds, (sent - _previous.Sent) / seconds, now);
        _previous = (received, sent, now);
        Volatile.Write(ref _current, summary);
        return summary;
    }
}
