using System.CommandLine;

namespace TunStack.Cli;

/// <summary>
/// <c>tunstack up</c>: the daemon. Owns a TUN interface (in a namespace if asked), runs the stack
/// on it with the built-in services, logs one line per event, answers SIGHUP (reload) and SIGUSR1
/// (state to the log), and on SIGINT/SIGTERM stops cleanly, flushes the capture and removes what
/// it set up (see <see cref="Daemon"/>).
/// </summary>
public static class UpCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var tunOptions = new TunCommandOptions();
        var serve = new Option<string>("--serve") { Description = "Built-in services, each with an optional port: echo,discard,daytime,chargen (default these four; e.g. echo=7007,discard) and http (port 80: an ASP.NET Core status page and /api/stats over the stack)." };
        Option<string> control = ControlOption.Create();
        Option<LogFormat> logFormat = ConsoleLog.FormatOption();
        var command = new Command("up", "Run the stack on a TUN device as a daemon, serving echo/discard/daytime/chargen over TCP and UDP.");
        tunOptions.AddTo(command);
        command.Options.Add(serve);
        command.Options.Add(control);
        command.Options.Add(logFormat);
        command.SetAction(result =>
        {
            // Read with every SIGHUP too: the file again, then the command line over it.
            (string? Problem, TunSettings Settings) Read()
            {
                string? problem = tunOptions.Bind(result, out TunSettings settings);
                if (result.GetResult(serve) is not null)
                {
                    settings.Serve = result.GetValue(serve)!;
                    settings.SetFromCommandLine("serve");
                }

                if (result.GetResult(control) is not null)
                {
                    settings.Control = result.GetValue(control);
                    settings.SetFromCommandLine("control");
                }

                if (result.GetResult(logFormat) is not null)
                {
                    settings.LogFormat = result.GetValue(logFormat);
                    settings.SetFromCommandLine("logFormat");
                }

                return (problem, settings);
            }

            (string? problem, TunSettings settings) = Read();
            problem ??= settings.Validate(withServices: true) ?? ControlPaths.ForDaemon(settings.Control, settings, out _);
            if (problem is not null)
            {
                error.WriteLine($"tunstack: {problem}");
                return 2;
            }

            return Daemon.Run(settings, tunOptions.ConfigFile(result) is null ? null : Read, output, error, CancellationToken.None);
        });
        return command;
    }
}
