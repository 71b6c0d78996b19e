using TunStack.Sockets.Hosting;

namespace TunStack.Cli;

/// <summary>
/// Publishes a <see cref="DaemonSummary"/> once a second: a timer asks each partition's thread for
/// a short read of its table sizes (<see cref="StackPartitions.InvokeEachAsync{T}(Func{NetworkStack, T})"/>),
/// sums them and swaps the new summary in atomically; readers (<see cref="Current"/>) take the last
/// one from any thread without touching the stack.
/// </summary>
public sealed class SummaryPublisher : IDisposable
{
    private static readonly TimeSpan s_interval = TimeSpan.FromSeconds(1);
    private readonly StackPartitions _stack;
    private readonly object _gate = new();
    private readonly string _name;
    private readonly string _role;
    private readonly DateTime _started;
    private readonly Timer _timer;
    private DaemonSummary _current;
    private (long Received, long Sent, DateTime At) _previous;

    /// <summary>Starts publishing for <paramref name="stack"/> (all its partitions); the first summary is taken at once.</summary>
    public SummaryPublisher(StackPartitions stack, string name, string role)
    {
        ArgumentNullException.ThrowIfNull(stack);
        _stack = stack;
        _name = name;
        _role = role;
        _started = DateTime.UtcNow;
        StackCounters counters = stack.Counters;
        _previous = (counters[Counter.LinkReceived], counters[Counter.LinkSent], _started);
        _current = new DaemonSummary(name, role, Environment.ProcessId, _started, [], 0, 0, 0, 0, 0, 0, _started);
        try
        {
            TakeAsync().Wait(TimeSpan.FromSeconds(5));
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
            _ = TakeAsync();
        }
        catch (ObjectDisposedException)
        {
            // Stopping: the last summary stays.
        }
    }

    // The table sizes from each partition's thread, summed (listeners and UDP sockets, which every
    // partition opens for each service, from partition 0), and the packet rates since the last summary.
    private async Task TakeAsync()
    {
        (int Open, int TimeWait, int Listeners, int Udp, List<string> Addresses)[] parts;
        try
        {
            parts = await _stack.InvokeEachAsync(Sizes).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
        {
            return; // stopping: the last summary stays
        }

        DateTime now = DateTime.UtcNow;
        StackCounters counters = _stack.Counters;
        (long received, long sent) = (counters[Counter.LinkReceived], counters[Counter.LinkSent]);
        lock (_gate)
        {
            double seconds = Math.Max(0.001, (now - _previous.At).TotalSeconds);
            var summary = new DaemonSummary(_name, _role, Environment.ProcessId, _started, parts[0].Addresses,
                parts.Sum(p => p.Open), parts.Sum(p => p.TimeWait), parts[0].Listeners, parts[0].Udp,
                (received - _previous.Received) / seconds, (sent - _previous.Sent) / seconds, now);
            _previous = (received, sent, now);
            Volatile.Write(ref _current, summary);
        }
    }

    // On a partition's thread. The table holds the connections (some in TIME-WAIT still held by
    // their application); the rest of TIME-WAIT is compact records outside it.
    private static (int Open, int TimeWait, int Listeners, int Udp, List<string> Addresses) Sizes(NetworkStack stack)
    {
        (int table, int timeWait) = stack.TcpConnections;
        return (table - (timeWait - stack.TcpTimeWaitRecords), timeWait, stack.ListTcpListeners().Count, stack.ListUdpEndpoints().Count, stack.Addresses.Select(a => a.ToString()).ToList());
    }
}
