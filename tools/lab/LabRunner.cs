namespace TunStack.Lab;

/// <summary>
/// Runs a lab scenario file in virtual time and writes its output files (summary.json, a trace
/// per TCP flow, a queue trace and a capture per link) into a directory. The same file and seed
/// give byte-identical files.
/// </summary>
public static class LabRunner
{
    /// <summary>
    /// The congestion controls a scenario may name in <c>tcp.congestion</c> and a flow's
    /// <c>congestion</c>: the stack's built-ins, and any a program registers here by name (as on a
    /// stack's <see cref="TcpSettings.CongestionControls"/>) before it runs a scenario. Every host's
    /// stack gets them.
    /// </summary>
    public static Tcp.Congestion.CongestionControlRegistry CongestionControls { get; } = new();

    /// <summary>
    /// Reads and checks the scenario at <paramref name="scenarioPath"/> without running it.
    /// Throws <see cref="LabScenarioException"/> (one line naming the field) for a bad file.
    /// </summary>
    public static void Check(string scenarioPath) => Load(scenarioPath);

    /// <summary>
    /// Runs the scenario at <paramref name="scenarioPath"/> and writes its outputs into
    /// <paramref name="outputDirectory"/> (created if missing), then, with <paramref name="report"/>,
    /// the plots and report.html (<see cref="Plots.LabReport"/>). <paramref name="seed"/> and
    /// <paramref name="duration"/>, when given, replace the file's. Throws
    /// <see cref="LabScenarioException"/> for a bad file.
    /// </summary>
    public static LabRunResult Run(string scenarioPath, string outputDirectory, int? seed = null, TimeSpan? duration = null, bool report = true)
    {
        ArgumentNullException.ThrowIfNull(outputDirectory);
        if (duration is { } d && d <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(duration), "The duration must be above zero.");
        }

        LabScenario scenario = Load(scenarioPath).With(seed, duration is { } span ? (long)span.TotalMicroseconds : null);
        return Run(scenario, outputDirectory, report);
    }

    internal static LabRunResult Run(LabScenario scenario, string outputDirectory, bool report = false)
    {
        Directory.CreateDirectory(outputDirectory);
        LabRunResult result;
        using (var engine = new LabEngine(scenario, outputDirectory))
        {
            result = engine.Run();
        }

        if (report)
        {
            Plots.LabReport.Write(outputDirectory);
        }

        return result;
    }

    internal static LabScenario Load(string scenarioPath)
    {
        ArgumentNullException.ThrowIfNull(scenarioPath);
        string json;
        try
        {
            json = File.ReadAllText(scenarioPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LabScenarioException(string.Empty, $"cannot read {scenarioPath}: {e.Message}");
        }

        return LabScenarioParser.Parse(json);
    }
}
