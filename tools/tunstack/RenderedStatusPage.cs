namespace TunStack.Cli;

/// <summary>
/// One page of the current <see cref="StatusSnapshot"/>, rendered to bytes by a given rendering
/// (the HTML status page, the /api/stats JSON), with the last rendering kept: while a snapshot
/// lasts, a request for the same page costs no rendering.
/// </summary>
public sealed class RenderedStatusPage
{
    private readonly StatusSnapshotCache _snapshots;
    private readonly Func<StatusSnapshot, StatusRows, byte[]> _render;
    private readonly object _gate = new();
    private (StatusRows? Rows, byte[] Bytes) _last;

    /// <summary>Pages of the snapshots of <paramref name="snapshots"/>, rendered by <paramref name="render"/>.</summary>
    public RenderedStatusPage(StatusSnapshotCache snapshots, Func<StatusSnapshot, StatusRows, byte[]> render)
    {
        ArgumentNullException.ThrowIfNull(snapshots);
        ArgumentNullException.ThrowIfNull(render);
        _snapshots = snapshots;
        _render = render;
    }

    /// <summary>Page <paramref name="page"/> (1-based) with <paramref name="pageSize"/> connections, rendered.</summary>
    public async Task<byte[]> GetAsync(int page, int pageSize)
    {
        StatusSnapshot snapshot = await _snapshots.GetAsync().ConfigureAwait(false);
        StatusRows rows = await snapshot.PageAsync(page, pageSize).ConfigureAwait(false);
        lock (_gate)
        {
            // A snapshot's pages are its own objects, so the rows alone say which snapshot it was.
            if (ReferenceEquals(_last.Rows, rows))
            {
                return _last.Bytes;
            }
        }

        byte[] bytes = _render(snapshot, rows);
        lock (_gate)
        {
            _last = (rows, bytes);
        }

        return bytes;
    }
}
