namespace TunStack.Cli;

/// <summary>
/// What /api/stats returns: the addresses, the counters (read as the request is answered), and
/// from a snapshot taken <see cref="SnapshotAgeSeconds"/> ago the TCP connections by state, the
/// TIME-WAIT records and one page of the connections (<see cref="Page"/> of <see cref="Pages"/>,
/// <see cref="PageSize"/> rows).
/// </summary>
public sealed record StatisticsPage(
    IReadOnlyList<string> Addresses,
    IReadOnlyDictionary<string, long> Counters,
    int ConnectionCount,
    IReadOnlyDictionary<string, int> States,
    int TimeWait,
    int Page,
    int Pages,
    int PageSize,
    double SnapshotAgeSeconds,
    IReadOnlyList<HttpService.ConnectionRow> Connections)
{
    /// <summary>Page <paramref name="page"/> of <paramref name="snapshot"/>, with <paramref name="counters"/> when given (else the snapshot's).</summary>
    public static StatisticsPage Of(StatusSnapshot snapshot, int page, int pageSize, IReadOnlyDictionary<string, long>? counters = null)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        IReadOnlyList<HttpService.ConnectionRow> rows = snapshot.Page(page, pageSize, out int shown);
        return new StatisticsPage(snapshot.Addresses, counters ?? snapshot.Counters, snapshot.Connections.Count,
            snapshot.StateCounts, snapshot.TimeWait, shown, snapshot.PageCount(pageSize), pageSize,
            Math.Max(0, (DateTime.UtcNow - snapshot.Taken).TotalSeconds), rows);
    }
}
