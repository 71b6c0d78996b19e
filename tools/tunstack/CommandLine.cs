using System.CommandLine;

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
        root.Subcommands.Add(PingCommand.Create(output, error));
        root.Subcommands.Add(NcCommand.Create(output, error));
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

    /// <summary>Adds a validator that rejects values outside [min, max] with a message naming the option.</summary>
    internal static Option<int> Ranged(this Option<int> option, int min, int max)
    {
        option.Validators.Add(result =>
        {
            // A value that is not a number already carries the parser's own error.
            if (result.Tokens.Count > 0 && !int.TryParse(result.Tokens[^1].Value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out _))
            {
                return;
            }

            int value = result.GetValueOrDefault<int>();
            if (value < min || value > max)
            {
                result.AddError($"{option.Name} must be between {min} and {max}, not {value}");
            }
        });
        return option;
    }
}
