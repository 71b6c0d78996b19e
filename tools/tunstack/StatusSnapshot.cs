namespace TunStack.Cli;

/// <summary>
/// The stack as the status page and /api/stats show it, copied at <see cref="Taken"/>: addresses,
/// counters, the TCP connections sorted by local then remote endpoint, how many are in each
/// state, and the TIME-WAIT records. Requests page through it; none walks the stack.
/// </summary>
public sealed record StatusSnapshot(
    DateTime Taken,
    IReadOnlyList<string> Addresses,
    IReadOnlyDictionary<string, long> Counters,
    IReadOnlyList<HttpService.ConnectionRow> Connections,
    IReadOnlyList<KeyValuePair<string, int>> States,
    int TimeWait)
{
    /// <summary>
    /// <see cref="States"/> as a dictionary, in the same order (most connections first): what
    /// /api/stats returns, built once with the snapshot rather than per request.
    /// </summary>
    public IReadOnlyDictionary<string, int> StateCounts { get; } = States.ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal);

    /// <summary>Rows on a page when a request does not say.</summary>
    public const int DefaultPageSize = 100;

    /// <summary>The most rows a request may take at once.</summary>
    public const int MaxPageSize = 1000;

    /// <summary>Pages of <paramref name="pageSize"/> rows (at least one, empty when there are no connections).</summary>
    public int PageCount(int pageSize) => Math.Max(1, (Connections.Count + pageSize - 1) / pageSize);

    /// <summary>The rows of page <paramref name="page"/> (1-based; clamped to the pages there are).</summary>
    public IReadOnlyList<HttpService.ConnectionRow> Page(int page, int pageSize, out int shownPage)
    {
        shownPage = Math.Clamp(page, 1, PageCount(pageSize));
        int first = (shownPage - 1) * pageSize;
        int count = Math.Max(0, Math.Min(pageSize, Connections.Count - first));
        var rows = new HttpService.ConnectionRow[count];
        for (int i = 0; i < count; i++)
        {
            rows[i] = Connections[first + i];
        }

        return rows;
    }
}
