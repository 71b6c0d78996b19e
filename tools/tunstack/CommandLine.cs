using System.CommandLine;
using System.Globalization;
using System.Numerics;

namespace TunStack.Cli;

/// <summary>Builds the tunstack command tree.</summary>
public static class CommandLine
{
    /// <summary>The root command; <paramref name="output"/> and <paramref name="error"/> receive what commands print.</summary>
    public static RootCommand Build(TextWriter output, TextWriter error)
    {
        var root = new RootCommand("TunStack: a user-space TCP/UDP/IP stack over a Linux TUN device.");
        root.Subcommands.Add(DemoCommand.Create(output));
        root.Subcommands.Add(UpCommand.Create(output, error));
        root.Subcommands.Add(ForwardCommand.Create(output, error));
        root.Subcommands.Add(PingCommand.Create(output, error));
        root.Subcommands.Add(NcCommand.Create(output, error));
        root.Subcommands.Add(SsCommand.Create(output, error));
        root.Subcommands.Add(StatsCommand.Create(output, error));
        root.Subcommands.Add(StatusCommand.Create(output, error));
        root.Subcommands.Add(ReplayCommand.Create(output, error));
        root.Subcommands.Add(TraceCommand.Create(output, error));
        var lab = new Command("lab", "The protocol lab: scenarios in virtual time, their traces, plots and report.");
        lab.Subcommands.Add(LabRunCommand.Create(output, error));
        lab.Subcommands.Add(LabReportCommand.Create(output, error));
        root.Subcommands.Add(lab);
        return root;
    }

    /// <summary>
    /// Parses and runs a command line. A bad argument prints one line naming the problem to
    /// <paramref name="error"/> and returns 2.
    /// </summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(error);
        ParseResult parsed = Build(output, error).Parse(args);
        if (parsed.Errors.Count > 0)
        {
            error.WriteLine($"tunstack: {parsed.Errors[0].Message}");
            return 2;
        }

        return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error });
    }

    /// <summary>
    /// Reads the option's value as a number in the option's own words: "--mtu takes a whole
    /// number, not 'abc'" rather than the parser's type name; with <paramref name="min"/> and
    /// <paramref name="max"/>, also "--count must be between 1 and 1000000, not 0".
    /// </summary>
    internal static Option<T> Number<T>(this Option<T> option, T? min = null, T? max = null)
        where T : struct, INumber<T>
    {
        bool whole = typeof(T) == typeof(int);
        option.CustomParser = result =>
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
            if (!T.TryParse(text, whole ? NumberStyles.Integer : NumberStyles.Float, CultureInfo.InvariantCulture, out T value))
            {
                result.AddError($"{option.Name} takes {(whole ? "a whole number" : "a number")}, not '{text}'");
                return default;
            }

            if ((min is { } low && value < low) || (max is { } high && value > high))
            {
                result.AddError(string.Create(CultureInfo.InvariantCulture, $"{option.Name} must be between {min} and {max}, not {text}"));
            }

            return value;
        };
        return option;
    }
}
