using System.Text.Json;

namespace TunStack.Cli;

/// <summary>
/// /api/stats as UTF-8 JSON (ASP.NET Core's web naming, camelCase): a <see cref="StatisticsPage"/>
/// serialized once per snapshot and page, so that while a snapshot lasts a request for the same
/// page costs no serializing, as <see cref="StatusPage"/> does for the HTML.
/// </summary>
public sealed class StatisticsJson
{
    private static readonly JsonSerializerOptions s_web = new(JsonSerializerDefaults.Web);
    private readonly StatusSnapshotCache _snapshots;
    private readonly object _gate = new();
    private (StatusRows? Rows, byte[] Json) _last;

    /// <summary>JSON over the snapshots of <paramref name="snapshots"/>.</summary>
    public StatisticsJson(StatusSnapshotCache snapshots)
    {
        ArgumentNullException.ThrowIfNull(snapshots);
        _snapshots = snapshots;
    }

    /// <summary>Page <paramref name="page"/> (1-based) with <paramref name="pageSize"/> connections.</summary>
    public async Task<byte[]> RenderAsync(int page, int pageSize)
    {
        StatusSnapshot snapshot = await _snapshots.GetAsync().ConfigureAwait(false);
        StatusRows rows = await snapshot.PageAsync(page, pageSize).ConfigureAwait(false);
        lock (_gate)
        {
            // A snapshot's pages are its own objects, so the rows alone say which snapshot it was.
            if (ReferenceEquals(_last.Rows, rows))
            {
                return _last.Json;
            }
        }

        byte[] json = JsonSerializer.SerializeToUtf8Bytes(StatisticsPage.Of(snapshot, rows), s_web);
        lock (_gate)
        {
            _last = (rows, json);
        }

        return json;
    }
}
