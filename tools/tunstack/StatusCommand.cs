using System.CommandLine;

namespace TunStack.Cli;

/// <summary><c>tunstack status [--name NAME]</c>: a running daemon's one-line summary (see <see cref="DaemonSummary"/>).</summary>
public static class StatusCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        Option<string> name = ControlClient.CreateNameOption();
        var command = new Command("status", "Print a running daemon's one-line summary: uptime, addresses, connections, packet rates.");
        command.Options.Add(name);
        command.SetAction(result => ControlClient.Run(result.GetValue(name), "status", ControlPaths.SearchDirectories, output, error));
        return command;
    }
}
