using System.Globalization;
using System.Net;
using System.Text;

namespace TunStack.Lab.Plots;

/// <summary>
/// report.html: the scenario and seed, the flows and links tables of summary.json, and the plots
/// as img tags of the SVG files beside it (each linking its PNG). One file with its CSS inline,
/// no script and no address outside the directory, so it opens from disk, offline.
/// </summary>
internal static class ReportPage
{
    private const string Style = """
        body { font-family: "DejaVu Sans", Verdana, sans-serif; margin: 2em; color: #222; max-width: 1100px; }
        h1 { font-size: 1.5em; margin-bottom: 0.2em; }
        h2 { font-size: 1.2em; margin-top: 1.6em; }
        table { border-collapse: collapse; font-size: 0.9em; }
        th, td { border: 1px solid #bbb; padding: 0.3em 0.6em; }
        th { background: #eee; text-align: left; }
        td.number { text-align: right; font-variant-numeric: tabular-nums; }
        figure { margin: 1.5em 0; }
        figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
        figcaption { font-size: 0.9em; color: #555; }
        """;

    /// <summary>The plots in the page's order: file name (without extension) and caption.</summary>
    public static readonly IReadOnlyList<(string Name, string Caption)> Plots =
    [
        ("cwnd", "Congestion window (solid) and slow-start threshold (dashed) of each TCP flow's sender, kB; ssthresh appears at the first loss."),
        ("throughput", "Throughput of each TCP flow: bytes delivered (acknowledged) per sample interval, Mbit/s."),
        ("rtt", "Smoothed RTT of each TCP flow's sender, ms."),
        ("queue", "Packets in each link's queue, sampled at the trace interval."),
    ];

    public static string Build(ReportSummary summary, int width, int height)
    {
        var html = new StringBuilder();
        string title = Encode($"TunStack lab: {summary.Scenario}, seed {Number(summary.Seed, "0.##########")}");
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<title>").Append(title).Append("</title>\n<style>\n").Append(Style).Append("\n</style>\n</head>\n<body>\n")
            .Append("<h1>").Append(title).Append("</h1>\n")
            .Append("<p>Scenario <b>").Append(Encode(summary.Scenario)).Append("</b>, seed ").Append(Number(summary.Seed, "0.##########"))
            .Append(", ").Append(Number(summary.DurationSeconds, "0.###")).Append(" s of virtual time.</p>\n");

        html.Append("<h2>Flows</h2>\n<table class=\"flows\">\n<tr><th>flow</th><th>kind</th><th>from</th><th>to</th><th>congestion</th>")
            .Append("<th>bytes</th><th>goodput (Mbit/s)</th><th>retransmits</th><th>RTT p50 (ms)</th><th>RTT p99 (ms)</th><th>completion (s)</th></tr>\n");
        foreach (ReportFlow f in summary.Flows)
        {
            html.Append("<tr>");
            Cells(html, f.Name, f.Kind, f.From, f.To, f.Congestion);
            Numbers(html, Number(f.Bytes, "#,0"), Number(f.GoodputBps / 1e6, "0.00"), Number(f.Retransmits, "#,0"), Number(f.RttP50Ms, "0.00"), Number(f.RttP99Ms, "0.00"), Number(f.CompletionSeconds, "0.000"));
            html.Append("</tr>\n");
        }

        html.Append("</table>\n");
        html.Append("<h2>Links</h2>\n<table class=\"links\">\n<tr><th>link</th><th>delivered (packets)</th><th>dropped</th><th>marked (CE)</th>")
            .Append("<th>queue delay p50 (ms)</th><th>queue delay p99 (ms)</th></tr>\n");
        foreach (ReportLink l in summary.Links)
        {
            html.Append("<tr>");
            Cells(html, l.Name);
            Numbers(html, Number(l.Delivered, "#,0"), Number(l.Dropped, "#,0"), Number(l.Marked, "#,0"), Number(l.QueueDelayP50Ms, "0.00"), Number(l.QueueDelayP99Ms, "0.00"));
            html.Append("</tr>\n");
        }

        html.Append("</table>\n");
        if (summary.Routers.Count > 0)
        {
            html.Append("<h2>Routers</h2>\n<table class=\"routers\">\n<tr><th>router</th><th>forwarded (packets)</th><th>no route</th><th>TTL expired</th>")
                .Append("<th>too big</th><th>fragmented</th><th>ICMP errors sent</th></tr>\n");
            foreach (ReportRouter r in summary.Routers)
            {
                html.Append("<tr>");
                Cells(html, r.Name);
                Numbers(html, Number(r.Forwarded, "#,0"), Number(r.Unroutable, "#,0"), Number(r.Expired, "#,0"), Number(r.TooBig, "#,0"), Number(r.Fragmented, "#,0"), Number(r.IcmpSent, "#,0"));
                html.Append("</tr>\n");
            }

            html.Append("</table>\n");
        }

        html.Append("<h2>Plots</h2>\n");
        foreach ((string name, string caption) in Plots)
        {
            html.Append(CultureInfo.InvariantCulture, $"<figure id=\"{name}\">\n<img src=\"{name}.svg\" width=\"{width}\" height=\"{height}\" alt=\"{Encode(caption)}\">\n")
                .Append(CultureInfo.InvariantCulture, $"<figcaption>{Encode(caption)} <a href=\"{name}.png\">PNG</a></figcaption>\n</figure>\n");
        }

        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    private static void Cells(StringBuilder html, params string?[] texts)
    {
        foreach (string? text in texts)
        {
            html.Append("<td>").Append(Encode(text ?? "\u2013")).Append("</td>");
        }
    }

    private static void Numbers(StringBuilder html, params string[] numbers)
    {
        foreach (string number in numbers)
        {
            html.Append("<td class=\"number\">").Append(number).Append("</td>");
        }
    }

    private static string Number(double? value, string format) => value?.ToString(format, CultureInfo.InvariantCulture) ?? "\u2013";

    private static string Encode(string text) => WebUtility.HtmlEncode(text);
}
