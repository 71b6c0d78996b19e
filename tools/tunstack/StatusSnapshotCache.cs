using TunStack.Sockets.Hosting;
using TunStack.Tcp;

namespace TunStack.Cli;

/// <summary>
/// Hands out a <see cref="StatusSnapshot"/> no older than <see cref="MaxAge"/>: the first request
/// after it has aged takes a new one, and requests that come meanwhile wait for that same one (one
/// read at a time, however many clients ask). Taking one is a single short turn on the stack's
/// thread that costs the same with ten connections or 100,000: the addresses, the counters, the
/// stack's own counts by state. The rows of a page are read when a request first asks for that
/// page (<see cref="StatusSnapshot.PageAsync"/>), that page's connections only.
/// </summary>
public sealed class StatusSnapshotCache
{
    private static readonly TcpConnectionState[] s_states = Enum.GetValues<TcpConnectionState>();
    private readonly StackRunner _runner;
    private readonly object _gate = new();
    private Task<StatusSnapshot>? _current;
    private DateTime _currentTaken = DateTime.MinValue;

    /// <summary>A cache for the stack of <paramref name="runner"/>.</summary>
    public StatusSnapshotCache(StackRunner runner)
    {
        ArgumentNullException.ThrowIfNull(runner);
        _runner = runner;
    }

    /// <summary>How old a snapshot may be before a request takes a new one (one second).</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Snapshots taken so far.</summary>
    public int Taken { get; private set; }

    /// <summary>A snapshot at most <see cref="MaxAge"/> old, or the one being taken now.</summary>
    public Task<StatusSnapshot> GetAsync()
    {
        lock (_gate)
        {
            DateTime now = DateTime.UtcNow;
            if (_current is { } current && (!current.IsCompleted || (current.IsCompletedSuccessfully && now - _currentTaken < MaxAge)))
            {
                return current;
            }

            _currentTaken = now;
            Taken++;
            _current = TakeAsync(now);
            return _current;
        }
    }

    private async Task<StatusSnapshot> TakeAsync(DateTime now)
    {
        (List<string> addresses, List<KeyValuePair<string, int>> states, int timeWait) = await _runner.InvokeAsync(stack =>
        {
            var byState = new List<KeyValuePair<string, int>>();
            foreach (TcpConnectionState state in s_states)
            {
                if (state != TcpConnectionState.Closed && stack.CountTcpConnections(state) is var count and > 0)
                {
                    byState.Add(new(state.ToString(), count));
                }
            }

            return (stack.Addresses.Select(a => a.ToString()).ToList(), byState, stack.TcpConnections.TimeWait);
        }).ConfigureAwait(false);
        states.Sort(static (a, b) => b.Value.CompareTo(a.Value) is var byCount and not 0 ? byCount : string.CompareOrdinal(a.Key, b.Key));
        return new StatusSnapshot(now, addresses, _runner.Counters.Snapshot(), states, timeWait, ReadRowsAsync);
    }

    // COUNT connections from position START of the stack's table, as rows, in one turn on its thread.
    private Task<IReadOnlyList<HttpService.ConnectionRow>> ReadRowsAsync(int start, int count) => _runner.InvokeAsync(stack =>
    {
        var connections = new TcpConnection[count];
        int copied = stack.CopyTcpConnections(start, connections);
        var rows = new List<HttpService.ConnectionRow>(copied);
        for (int i = 0; i < copied; i++)
        {
            if (connections[i].State != TcpConnectionState.Closed)
            {
                rows.Add(HttpService.ConnectionRow.Of(connections[i]));
            }
        }

        return (IReadOnlyList<HttpService.ConnectionRow>)rows;
    });
}
