namespace TunStack.Lab.Plots;

/// <summary>
/// The plots and the HTML report of a lab run, from the files the run wrote into its output
/// directory (summary.json, trace-FLOW.csv for each TCP flow, queue-LINK.csv for each link with
/// a queue). The same files give the same bytes.
/// </summary>
public static class LabReport
{
    /// <summary>The files <see cref="Write"/> creates in the output directory.</summary>
    public static IReadOnlyList<string> OutputFiles { get; } =
        [.. ReportPage.Plots.SelectMany(p => new[] { p.Name + ".png", p.Name + ".svg" }), "report.html"];

    /// <summary>
    /// Reads the run's files in <paramref name="outputDirectory"/> and writes cwnd, throughput,
    /// rtt and queue as .png and .svg, and report.html, beside them.
    /// </summary>
    /// <exception cref="LabReportInputException">A file is missing or not in the lab's format; the message names the file and line.</exception>
    public static void Write(string outputDirectory)
    {
        ArgumentNullException.ThrowIfNull(outputDirectory);
        if (!Directory.Exists(outputDirectory))
        {
            throw new LabReportInputException(outputDirectory, 0, "no such directory");
        }

        ReportSummary summary = ReportSummary.Read(Path.Combine(outputDirectory, "summary.json"));
        var traces = summary.Flows.Where(f => f.IsTcp).Select(f => FlowTrace.Read(outputDirectory, f.Name)).ToList();
        var queues = summary.Links
            .Where(l => File.Exists(Path.Combine(outputDirectory, $"queue-{l.Name}.csv")))
            .Select(l => QueueTrace.Read(outputDirectory, l.Name))
            .ToList();

        TimeSeriesFigure[] figures =
        [
            ReportFigures.Cwnd(summary, traces),
            ReportFigures.Throughput(summary, traces),
            ReportFigures.Rtt(summary, traces),
            ReportFigures.Queue(summary, queues),
        ];
        for (int i = 0; i < figures.Length; i++)
        {
            figures[i].Save(outputDirectory, ReportPage.Plots[i].Name);
        }

        string html = ReportPage.Build(summary, figures[0].Width, figures[0].Height);
        File.WriteAllText(Path.Combine(outputDirectory, "report.html"), html, new System.Text.UTF8Encoding(false));
    }
}
