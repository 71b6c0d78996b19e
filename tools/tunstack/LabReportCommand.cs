using System.CommandLine;
using TunStack.Lab.Plots;

namespace TunStack.Cli;

/// <summary>
/// <c>tunstack lab report DIR</c>: draws the plots and report.html again from the files a lab run
/// wrote into DIR (see <see cref="LabReport"/>). A missing or malformed file is one line naming the
/// file and line, and exit code 2.
/// </summary>
public static class LabReportCommand
{
    /// <summary>Creates the command (a subcommand of <c>lab</c>).</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var directory = new Argument<string>("DIR") { Description = "The output directory of a lab run (summary.json, trace-*.csv, queue-*.csv)." };
        var command = new Command("report", "Draw the plots (cwnd, throughput, rtt, queue as PNG and SVG) and report.html from a lab run's output directory.");
        command.Arguments.Add(directory);
        command.SetAction(result =>
        {
            string dir = result.GetValue(directory)!;
            try
            {
                LabReport.Write(dir);
            }
            catch (LabReportInputException e)
            {
                error.WriteLine($"tunstack: {e.Message}");
                return 2;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"tunstack: lab report: cannot write into {dir}: {e.Message}");
                return 1;
            }

            output.WriteLine($"report: {Path.Combine(dir, "report.html")} (plots: {string.Join(", ", LabReport.OutputFiles.Where(f => f.EndsWith(".svg", StringComparison.Ordinal)))})");
            return 0;
        });
        return command;
    }
}
