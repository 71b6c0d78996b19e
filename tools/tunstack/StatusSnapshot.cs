using System.Collections.Concurrent;

namespace TunStack.Cli;

/// <summary>
/// The stack as the status page and /api/stats show it, read at <see cref="Taken"/>: addresses,
/// counters, how many TCP connections there are in each state (kept by the stack as states change,
/// so reading them costs nothing per connection) and the TIME-WAIT records. Pages of connection
/// rows are read from the stack's connection table when first asked for within the snapshot's
/// life and kept with it, so a page costs the rows it shows, not the table: 25 rows of 100,000
/// connections cost 25.
/// </summary>
public sealed class StatusSnapshot
{
    // Pages kept per snapshot, at most: every page of a small table, or the few a busy page asks for.
    private const int KeptPages = 64;
    private readonly Func<int, int, Task<IReadOnlyList<HttpService.ConnectionRow>>> _readRows;
    private readonly ConcurrentDictionary<(int Page, int Size), Task<StatusRows>> _pages = new();

    /// <summary>
    /// A snapshot; <paramref name="readRows"/> reads up to COUNT rows from position START of the
    /// connection table (the arguments in that order).
    /// </summary>
    public StatusSnapshot(DateTime taken, IReadOnlyList<string> addresses, IReadOnlyDictionary<string, long> counters,
        IReadOnlyList<KeyValuePair<string, int>> states, int timeWait, Func<int, int, Task<IReadOnlyList<HttpService.ConnectionRow>>> readRows)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        ArgumentNullException.ThrowIfNull(counters);
        ArgumentNullException.ThrowIfNull(states);
        ArgumentNullException.ThrowIfNull(readRows);
        Taken = taken;
        Addresses = addresses;
        Counters = counters;
        States = states;
        TimeWait = timeWait;
        _readRows = readRows;
        ConnectionCount = states.Sum(s => s.Value);
        StateCounts = states.ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal);
    }

    /// <summary>When it was read (UTC).</summary>
    public DateTime Taken { get; }

    /// <summary>The stack's addresses with their prefixes.</summary>
    public IReadOnlyList<string> Addresses { get; }

    /// <summary>Every counter, by name, at <see cref="Taken"/>.</summary>
    public IReadOnlyDictionary<string, long> Counters { get; }

    /// <summary>TCP connections by state, most first (closed ones not counted).</summary>
    public IReadOnlyList<KeyValuePair<string, int>> States { get; }

    /// <summary>
    /// <see cref="States"/> as a dictionary, in the same order (most connections first): what
    /// /api/stats returns, built once with the snapshot rather than per request.
    /// </summary>
    public IReadOnlyDictionary<string, int> StateCounts { get; }

    /// <summary>TCP connections, the sum of <see cref="States"/>.</summary>
    public int ConnectionCount { get; }

    /// <summary>Connections and records in TIME-WAIT.</summary>
    public int TimeWait { get; }

    /// <summary>Rows on a page when a request does not say.</summary>
    public const int DefaultPageSize = 100;

    /// <summary>The most rows a request may take at once.</summary>
    public const int MaxPageSize = 1000;

    /// <summary>Pages of <paramref name="pageSize"/> rows (at least one, empty when there are no connections).</summary>
    public int PageCount(int pageSize) => Math.Max(1, (ConnectionCount + pageSize - 1) / pageSize);

    /// <summary>
    /// Page <paramref name="page"/> (1-based, clamped to the pages there are) of <paramref name="pageSize"/>
    /// rows, in the order of the stack's connection table (unsorted, as ss lists sockets); read
    /// from the stack the first time it is asked for in this snapshot, the same rows after that.
    /// </summary>
    public Task<StatusRows> PageAsync(int page, int pageSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        int shown = Math.Clamp(page, 1, PageCount(pageSize));
        if (_pages.TryGetValue((shown, pageSize), out Task<StatusRows>? kept))
        {
            return kept;
        }

        Task<StatusRows> read = ReadAsync(shown, pageSize);
        return _pages.Count < KeptPages ? _pages.GetOrAdd((shown, pageSize), read) : read;
    }

    private async Task<StatusRows> ReadAsync(int page, int pageSize)
    {
        IReadOnlyList<HttpService.ConnectionRow> rows = await _readRows((page - 1) * pageSize, pageSize).ConfigureAwait(false);
        return new StatusRows(page, PageCount(pageSize), pageSize, rows);
    }
}
