using System.CommandLine;
using System.Globalization;
using TunStack.Lab;

namespace TunStack.Cli;

/// <summary>
/// <c>tunstack lab run SCENARIO.json [--out DIR] [--seed N] [--duration D]</c>: runs a lab scenario
/// (hosts, routers, links, flows) in virtual time, writes its summary, traces, queue statistics and
/// captures into DIR, and prints a line per flow. A bad scenario file or argument: one line, exit 2.
/// </summary>
public static class LabRunCommand
{
    /// <summary>Creates the <c>run</c> command (a subcommand of <c>lab</c>).</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var scenario = new Argument<FileInfo>("SCENARIO") { Description = "The scenario file (JSON; see docs/lab.md)." };
        var outDir = new Option<DirectoryInfo?>("--out", "-o") { Description = "Directory for the output files (default: lab-NAME beside the current directory's files, NAME the scenario's name)." };
        var seed = new Option<int?>("--seed") { Description = "Seed for every random choice, instead of the file's." };
        var duration = new Option<string?>("--duration") { Description = "Virtual time to run (for example 5s), instead of the file's." };
        var noReport = new Option<bool>("--no-report") { Description = "Write the data files only, without the plots and report.html (tunstack lab report DIR makes them later)." };
        var run = new Command("run", "Run a scenario in virtual time and write summary.json, traces, queue statistics, captures, plots and report.html.") { scenario, outDir, seed, duration, noReport };
        run.SetAction(result => Run(output, error, result.GetValue(scenario)!, result.GetValue(outDir), result.GetValue(seed), result.GetValue(duration), !result.GetValue(noReport)));
        return run;
    }

    /// <summary>Runs the scenario; returns the exit code (0 done, 1 a flow failed, 2 a bad file or argument).</summary>
    public static int Run(TextWriter output, TextWriter error, FileInfo scenarioFile, DirectoryInfo? outDir, int? seed, string? duration, bool report = true)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(scenarioFile);
        long? durationMicros = null;
        if (duration is not null)
        {
            if (!LabQuantity.TryParseDuration(duration, out long micros) || micros <= 0)
            {
                error.WriteLine($"tunstack: --duration: \"{duration}\" is not a duration above zero (a number with us, ms, s or min)");
                return 2;
            }

            durationMicros = micros;
        }

        if (seed is < 0)
        {
            error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tunstack: --seed must be 0 or more, not {seed}"));
            return 2;
        }

        LabScenario loaded;
        try
        {
            loaded = LabRunner.Load(scenarioFile.FullName).With(seed, durationMicros);
        }
        catch (LabScenarioException e)
        {
            error.WriteLine($"tunstack: {scenarioFile.Name}: {e.Message}");
            return 2;
        }

        string directory = outDir?.FullName ?? Path.GetFullPath($"lab-{loaded.Name}");
        LabRunResult result;
        try
        {
            result = LabRunner.Run(loaded, directory, report);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"tunstack: cannot write to {directory}: {e.Message}");
            return 1;
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{result.Scenario}: {result.Duration.TotalSeconds:0.###} s of virtual time, seed {result.Seed}, output in {directory}"));
        foreach (LabFlowResult flow in result.Flows)
        {
            output.WriteLine(Describe(flow));
        }

        // Routers only when they dropped something: what the flows' numbers alone would not explain.
        foreach (LabRouterResult router in result.Routers.Where(r => r.Unroutable + r.Expired + r.TooBig + r.Fragmented > 0))
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  router {router.Name}: {router.Forwarded} forwarded, {router.Unroutable} without a route, {router.Expired} TTL expired, {router.TooBig} too big, {router.Fragmented} fragmented, {router.IcmpSent} ICMP errors sent"));
        }

        return result.Flows.Any(f => f.Failure is not null) ? 1 : 0;
    }

    private static string Describe(LabFlowResult flow)
    {
        var line = new System.Text.StringBuilder();
        line.Append(CultureInfo.InvariantCulture, $"  {flow.Name} {flow.Kind} {flow.From}->{flow.To}");
        if (flow.Congestion is not null)
        {
            line.Append(CultureInfo.InvariantCulture, $" {flow.Congestion}");
        }

        line.Append(CultureInfo.InvariantCulture, $": {flow.GoodputBitsPerSecond / 1e6:0.00} Mbit/s, {flow.Bytes} bytes");
        if (flow.Congestion is not null)
        {
            line.Append(CultureInfo.InvariantCulture, $", {flow.Retransmits} retransmits");
        }

        if (flow.RttP50Milliseconds is { } p50 && flow.RttP99Milliseconds is { } p99)
        {
            line.Append(CultureInfo.InvariantCulture, $", rtt p50 {p50:0.0} ms p99 {p99:0.0} ms");
        }

        if (flow.CompletionSeconds is { } done)
        {
            line.Append(CultureInfo.InvariantCulture, $", done in {done:0.000} s");
        }

        if (flow.Failure is not null)
        {
            line.Append(CultureInfo.InvariantCulture, $", FAILED: {flow.Failure}");
        }

        return line.ToString();
    }
}
