using System.Text.Json;

namespace TunStack.Cli;

/// <summary>
/// /api/stats as UTF-8 JSON (ASP.NET Core's web naming, camelCase): a <see cref="StatisticsPage"/>
/// serialized once per snapshot and page (<see cref="RenderedStatusPage"/>), as
/// <see cref="StatusPage"/> does for the HTML.
/// </summary>
public sealed class StatisticsJson
{
    private static readonly JsonSerializerOptions s_web = new(JsonSerializerDefaults.Web);
    private readonly RenderedStatusPage _rendered;

    /// <summary>JSON over the snapshots of <paramref name="snapshots"/>.</summary>
    public StatisticsJson(StatusSnapshotCache snapshots) =>
        _rendered = new RenderedStatusPage(snapshots, static (snapshot, rows) => JsonSerializer.SerializeToUtf8Bytes(StatisticsPage.Of(snapshot, rows), s_web));

    /// <summary>Page <paramref name="page"/> (1-based) with <paramref name="pageSize"/> connections.</summary>
    public Task<byte[]> RenderAsync(int page, int pageSize) => _rendered.GetAsync(page, pageSize);
}
