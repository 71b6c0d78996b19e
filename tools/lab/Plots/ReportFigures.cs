using System.Globalization;

namespace TunStack.Lab.Plots;

/// <summary>
/// The report's four figures from the lab's files. Each flow or link keeps one colour across
/// figures (its place in summary.json).
/// </summary>
internal static class ReportFigures
{
    /// <summary>Throughput points per flow at most; beyond that, each point spans several sample intervals.</summary>
    public const int ThroughputPoints = 2000;

    private const string NoTcpFlow = "no TCP flow in this run";

    public static TimeSeriesFigure Cwnd(ReportSummary summary, IReadOnlyList<FlowTrace> traces)
        => Figure(summary, "congestion window (solid) and slow-start threshold (dashed) per flow", "kB (1 kB = 1000 bytes)", NoTcpFlow, panel =>
        {
            foreach (FlowTrace trace in traces)
            {
                int color = ColorOf(summary, trace.Flow);
                panel.AddLine($"{trace.Flow} cwnd", trace.Time, trace.Cwnd.Select(v => v * 1e-3).ToArray(), color);

                // ssthresh is -1 while infinite: not drawn (a gap) until the first loss sets it.
                panel.AddLine($"{trace.Flow} ssthresh", trace.Time, trace.Ssthresh.Select(v => v < 0 ? double.NaN : v * 1e-3).ToArray(), color, dashed: true);
            }
        });

    public static TimeSeriesFigure Throughput(ReportSummary summary, IReadOnlyList<FlowTrace> traces)
        => Figure(summary, "throughput per flow (bytes delivered per sample interval)", "Mbit/s", NoTcpFlow, panel =>
        {
            foreach (FlowTrace trace in traces)
            {
                (double[] times, double[] rates) = RatesMbps(trace.Time, trace.Delivered, ThroughputPoints);
                panel.AddLine(trace.Flow, times, rates, ColorOf(summary, trace.Flow));
            }
        });

    public static TimeSeriesFigure Rtt(ReportSummary summary, IReadOnlyList<FlowTrace> traces)
        => Figure(summary, "smoothed RTT per flow", "srtt (ms)", NoTcpFlow, panel =>
        {
            // srtt is 0 until the first RTT sample: not drawn.
            foreach (FlowTrace trace in traces)
            {
                panel.AddLine(trace.Flow, trace.Time, trace.SrttMs.Select(v => v > 0 ? v : double.NaN).ToArray(), ColorOf(summary, trace.Flow));
            }
        });

    public static TimeSeriesFigure Queue(ReportSummary summary, IReadOnlyList<QueueTrace> queues)
        => Figure(summary, "queue occupancy per link", "packets queued", "no link in this run has a queue file", panel =>
        {
            foreach (QueueTrace queue in queues)
            {
                panel.AddLine(queue.Link, queue.Time, queue.Packets, summary.Flows.Count + IndexOf(summary.Links.Select(l => l.Name), queue.Link));
            }
        });

    /// <summary>
    /// Mbit/s from cumulative delivered bytes: the difference over each sample interval, or over
    /// every k-th sample when there are more than <paramref name="points"/> intervals, placed at
    /// the interval's end. Intervals of zero length are skipped.
    /// </summary>
    public static (double[] Times, double[] Rates) RatesMbps(ReadOnlySpan<double> time, ReadOnlySpan<double> delivered, int points)
    {
        int n = Math.Min(time.Length, delivered.Length);
        if (n < 2)
        {
            return ([], []);
        }

        int stride = Math.Max(1, (n - 1 + points - 1) / points);
        var times = new List<double>(Math.Min(n, points + 1));
        var rates = new List<double>(times.Capacity);
        for (int i = stride; i < n; i += stride)
        {
            double seconds = time[i] - time[i - stride];
            if (seconds > 0)
            {
                times.Add(time[i]);
                rates.Add((delivered[i] - delivered[i - stride]) * 8 / seconds / 1e6);
            }
        }

        return (times.ToArray(), rates.ToArray());
    }

    /// <summary>A one-panel figure titled with the scenario, the seed and <paramref name="what"/>.</summary>
    private static TimeSeriesFigure Figure(ReportSummary summary, string what, string unit, string emptyText, Action<TimeSeriesPanel> draw)
    {
        var figure = new TimeSeriesFigure();
        TimeSeriesPanel panel = figure.AddPanel(string.Create(CultureInfo.InvariantCulture, $"{summary.Scenario}, seed {summary.Seed}: {what}"), unit);
        panel.EmptyText = emptyText;
        draw(panel);
        return figure;
    }

    private static int ColorOf(ReportSummary summary, string flow) => IndexOf(summary.Flows.Select(f => f.Name), flow);

    private static int IndexOf(IEnumerable<string> names, string name) => Math.Max(0, names.ToList().IndexOf(name));
}
