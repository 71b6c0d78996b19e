using System.CommandLine;

namespace TunStack.Cli;

/// <summary>
/// <c>tunstack stats [-z] [--name NAME]</c>: the stack's counters as nstat shows the kernel's, each
/// with its value and its change since this user's last call (the daemon keeps that history per uid; see <see cref="CounterHistory"/>).
/// </summary>
public static class StatsCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var zeros = new Option<bool>("-z", "--zeros") { Description = "Show counters that are zero too." };
        Option<string> name = ControlClient.CreateNameOption();
        var command = new Command("stats", "Print a running daemon's counters with their change since your last call, as nstat.");
        command.Options.Add(zeros);
        command.Options.Add(name);
        command.SetAction(result => ControlClient.Run(result.GetValue(name), result.GetValue(zeros) ? "stats -z" : "stats", ControlPaths.SearchDirectories, output, error));
        return command;
    }
}
