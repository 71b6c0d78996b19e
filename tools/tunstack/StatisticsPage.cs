namespace TunStack.Cli;

/// <summary>
/// What /api/stats returns, all from one <see cref="StatusSnapshot"/> read at <see cref="Taken"/>
/// (UTC): the addresses, the counters, the TCP connections by state, the TIME-WAIT records and one
/// page of the connections (<see cref="Page"/> of <see cref="Pages"/>, <see cref="PageSize"/> rows).
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
    DateTime Taken,
    IReadOnlyList<HttpService.ConnectionRow> Connections)
{
    /// <summary>The page <paramref name="rows"/> of <paramref name="snapshot"/>.</summary>
    public static StatisticsPage Of(StatusSnapshot snapshot, StatusRows rows)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(rows);
        return new StatisticsPage(snapshot.Addresses, snapshot.Counters, snapshot.ConnectionCount,
            snapshot.StateCounts, snapshot.TimeWait, rows.Page, rows.Pages, rows.PageSize, snapshot.Taken, rows.Rows);
    }
}
