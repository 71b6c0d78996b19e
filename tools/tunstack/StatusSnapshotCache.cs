using TunStack.Sockets.Hosting;
using TunStack.Tcp;

namespace TunStack.Cli;

/// <summary>
/// Hands out a <see cref="StatusSnapshot"/> no older than <see cref="MaxAge"/>: the first request
/// after it has aged takes a new one, and requests that come meanwhile wait for that same copy (one
/// copy at a time, however many clients ask). The copy is made on the stack's thread
/// <see cref="SocketTable.SliceSize"/> connections at a time, with the loop running between the
/// turns, as <c>tunstack ss</c> does, so 100,000 connections never hold the loop up for long.
/// </summary>
public sealed class StatusSnapshotCache
{
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

    /// <summary>Snapshots taken so far (each one a walk of the stack).</summary>
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
        (List<string> addresses, IReadOnlyList<TcpConnection> connections, int timeWait) = await _runner.InvokeAsync(stack =>
            (stack.Addresses.Select(a => a.ToString()).ToList(), (IReadOnlyList<TcpConnection>)stack.ListTcpConnections(), stack.TcpConnections.TimeWait)).ConfigureAwait(false);
        List<HttpService.ConnectionRow> rows = await SocketTable.CopyInSlicesAsync(_runner, connections, static _ => true, HttpService.ConnectionRow.Of).ConfigureAwait(false);
        rows.Sort(static (a, b) => string.CompareOrdinal(a.Local, b.Local) is var byLocal and not 0 ? byLocal : string.CompareOrdinal(a.Remote, b.Remote));
        List<KeyValuePair<string, int>> states = rows.GroupBy(r => r.State).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new KeyValuePair<string, int>(g.Key, g.Count())).ToList();
        return new StatusSnapshot(now, addresses, _runner.Counters.Snapshot(), rows, states, timeWait);
    }
}
