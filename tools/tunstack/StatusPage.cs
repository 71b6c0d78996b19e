using System.Globalization;
using System.Net;
using System.Text;

namespace TunStack.Cli;

/// <summary>
/// The daemon's HTML status page ("/" with <c>--serve http</c>): a summary of the stack (addresses,
/// connections by state, TIME-WAIT, the main counters) and one page of its TCP connections with
/// links to the others, from a <see cref="StatusSnapshot"/>. The page last rendered is kept with
/// its snapshot, so while the snapshot lasts a request for the same page costs no rendering; and
/// neither the snapshot nor a page reads more than the connections it shows, so with 100,000
/// connections the page is as cheap as with ten.
/// </summary>
public sealed class StatusPage
{
    private readonly RenderedStatusPage _rendered;

    /// <summary>A page over the snapshots of <paramref name="snapshots"/>.</summary>
    public StatusPage(StatusSnapshotCache snapshots) =>
        _rendered = new RenderedStatusPage(snapshots, static (snapshot, rows) => Encoding.UTF8.GetBytes(Render(snapshot, rows, DateTime.UtcNow)));

    /// <summary>Connections on a page of the HTML status page when a request does not say: few, so that the page stays a few kilobytes.</summary>
    public const int DefaultPageSize = 25;

    /// <summary>Page <paramref name="page"/> (1-based) with <paramref name="pageSize"/> connections, as UTF-8.</summary>
    public Task<byte[]> RenderAsync(int page, int pageSize) => _rendered.GetAsync(page, pageSize);

    /// <summary>The counters the page shows; the rest are in /api/stats, /metrics and tunstack stats.</summary>
    public static IReadOnlyList<string> SummaryCounters { get; } =
    [
        nameof(Counter.LinkReceived), nameof(Counter.LinkSent), nameof(Counter.TcpActiveOpens), nameof(Counter.TcpPassiveOpens),
        nameof(Counter.TcpEstablished), nameof(Counter.TcpResetsSent), nameof(Counter.TcpResetsReceived), nameof(Counter.TcpRetransmits),
        nameof(Counter.TcpTimeouts), nameof(Counter.UdpReceived), nameof(Counter.UdpSent),
    ];

    /// <summary>The HTML of <paramref name="snapshot"/> with its page <paramref name="page"/>, as seen at <paramref name="now"/>.</summary>
    public static string Render(StatusSnapshot snapshot, StatusRows page, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(page);
        CultureInfo c = CultureInfo.InvariantCulture;
        (int shown, int pages, int pageSize) = (page.Page, page.Pages, page.PageSize);
        var html = new StringBuilder(16 * 1024);
        html.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>TunStack</title><link rel=\"icon\" href=\"data:,\">")
            .Append("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}td.n{text-align:right}nav a{margin-right:1em}</style></head><body>")
            .Append("<h1>TunStack</h1><p>Served by ASP.NET Core through the TunStack user-space TCP/IP stack.</p>")
            .Append(c, $"<p>Addresses: {WebUtility.HtmlEncode(string.Join(", ", snapshot.Addresses))}. TCP connections: {snapshot.ConnectionCount} ({snapshot.TimeWait} in TIME-WAIT). Snapshot taken {Math.Max(0, (now - snapshot.Taken).TotalSeconds):0.0} s ago.</p>");
        html.Append("<h2>Connections by state</h2><table><tr><th>state</th><th>connections</th></tr>");
        foreach (KeyValuePair<string, int> state in snapshot.States)
        {
            html.Append(c, $"<tr><td>{state.Key}</td><td class=\"n\">{state.Value}</td></tr>");
        }

        html.Append(c, $"<tr><td>TIME-WAIT records</td><td class=\"n\">{snapshot.TimeWait}</td></tr></table>");
        html.Append(c, $"<h2 id=\"connections\">Connections, page {shown} of {pages}</h2>");
        Navigation(html, shown, pages, pageSize);
        html.Append("<table><tr><th>local</th><th>remote</th><th>state</th><th>unread</th><th>srtt ms</th><th>cwnd</th></tr>");
        foreach (HttpService.ConnectionRow row in page.Rows)
        {
            html.Append(c, $"<tr><td>{row.Local}</td><td>{row.Remote}</td><td>{row.State}</td><td class=\"n\">{row.Unread}</td><td class=\"n\">{row.SrttMs:0.###}</td><td class=\"n\">{row.Cwnd}</td></tr>");
        }

        html.Append("</table>");
        Navigation(html, shown, pages, pageSize);
        html.Append("<h2>Counters</h2><table>");
        foreach (string name in SummaryCounters)
        {
            if (snapshot.Counters.TryGetValue(name, out long value))
            {
                html.Append(c, $"<tr><td>{name}</td><td class=\"n\">{value}</td></tr>");
            }
        }

        return html.Append("</table><p>Every counter: <a href=\"/api/stats\">/api/stats</a> (JSON, with the connections: <code>?page=N&amp;size=K</code>), <a href=\"/metrics\">/metrics</a> (Prometheus), <code>tunstack stats</code>.</p></body></html>").ToString();
    }

    private static void Navigation(StringBuilder html, int page, int pages, int pageSize)
    {
        if (pages == 1)
        {
            return;
        }

        string size = pageSize == DefaultPageSize ? string.Empty : string.Create(CultureInfo.InvariantCulture, $"&amp;size={pageSize}");
        html.Append("<nav>");
        Link(html, "first", 1, page > 1, size);
        Link(html, "previous", page - 1, page > 1, size);
        Link(html, "next", page + 1, page < pages, size);
        Link(html, "last", pages, page < pages, size);
        html.Append("</nav>");
    }

    private static void Link(StringBuilder html, string label, int page, bool enabled, string size)
    {
        if (enabled)
        {
            html.Append(CultureInfo.InvariantCulture, $"<a href=\"/?page={page}{size}#connections\">{label}</a>");
        }
        else
        {
            html.Append(CultureInfo.InvariantCulture, $"<span>{label}</span> ");
        }
    }
}
