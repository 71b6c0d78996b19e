using System.CommandLine;
using System.Globalization;

namespace TunStack.Cli;

/// <summary>
/// <c>tunstack trace CONN [--interval MS] [--count N] [--out FILE] [--name NAME]</c>: a running
/// daemon's connection traced live, as CSV lines with the lab's trace columns (see
/// <see cref="ConnectionTraceStream"/>), until the connection ends, COUNT lines, or Ctrl-C.
/// </summary>
public static class TraceCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var connection = new Argument<string>("connection") { Description = "The TCP connection: its local or its peer's endpoint as tunstack ss -t shows it (10.77.0.2:80, [fd00::2]:80), or both as LOCAL-PEER." };
        var interval = new Option<int>("--interval", "-i") { Description = "Milliseconds between samples (of the stack's clock).", DefaultValueFactory = _ => 100 }.Number(ConnectionTraceStream.MinIntervalMilliseconds, 3_600_000);
        var count = new Option<int>("--count", "-c") { Description = "Lines to take, then stop (0: until the connection ends or Ctrl-C).", DefaultValueFactory = _ => 0 }.Number(0, int.MaxValue);
        var outPath = new Option<string?>("--out", "-o") { Description = "Write the CSV to this file instead of standard output." };
        Option<string> name = ControlClient.CreateNameOption();
        var command = new Command("trace", "Trace a running daemon's TCP connection live: cwnd, ssthresh, RTT, bytes in flight, delivered, lost and retransmitted, as CSV (the lab's trace columns).");
        command.Arguments.Add(connection);
        command.Options.Add(interval);
        command.Options.Add(count);
        command.Options.Add(outPath);
        command.Options.Add(name);
        command.SetAction(result =>
        {
            string selector = result.GetValue(connection)!;
            if (selector.Any(char.IsWhiteSpace))
            {
                error.WriteLine($"tunstack: trace: '{selector}' is not an endpoint (no spaces: ADDRESS:PORT or LOCAL-PEER)");
                return 2;
            }

            string request = string.Create(CultureInfo.InvariantCulture, $"trace {selector} {result.GetValue(interval)} {result.GetValue(count)}");
            using var cancel = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                e.Cancel = true;
                cancel.Cancel();
            };
            Console.CancelKeyPress += onCancel;
            try
            {
                string? file = result.GetValue(outPath);
                if (file is null)
                {
                    return ControlClient.Follow(result.GetValue(name), request, ControlPaths.SearchDirectories, output, error, cancel.Token);
                }

                using var writer = new StreamWriter(file);
                return ControlClient.Follow(result.GetValue(name), request, ControlPaths.SearchDirectories, writer, error, cancel.Token);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"tunstack: --out: {e.Message}");
                return 2;
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        });
        return command;
    }
}
