using System.CommandLine;

namespace TunStack.Cli;

/// <summary>
/// <c>tunstack ss [-t] [-u] [-l] [-a] [-n] [-i] [-m] [--name NAME]</c>: the stack's sockets in
/// iproute2 ss's layout, asked of a running daemon over its control socket (<see cref="ControlClient"/>).
/// </summary>
public static class SsCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var tcp = new Option<bool>("-t", "--tcp") { Description = "TCP sockets (with -u: both; neither: both)." };
        var udp = new Option<bool>("-u", "--udp") { Description = "UDP sockets." };
        var listening = new Option<bool>("-l", "--listening") { Description = "Listening sockets only (and bound, unconnected UDP ones)." };
        var all = new Option<bool>("-a", "--all") { Description = "All sockets: listening, connected, SYN-RECV and TIME-WAIT." };
        var numeric = new Option<bool>("-n", "--numeric") { Description = "Port numbers rather than service names." };
        var info = new Option<bool>("-i", "--info") { Description = "TCP internals: rtt, cwnd, ssthresh, retransmissions, delivery rate, wscale, ts, sack, congestion control." };
        var memory = new Option<bool>("-m", "--memory") { Description = "Socket memory (skmem)." };
        Option<string> name = ControlClient.CreateNameOption();
        var command = new Command("ss", "List the stack's sockets of a running daemon, as iproute2's ss lists the kernel's.");
        foreach (Option option in new Option[] { tcp, udp, listening, all, numeric, info, memory, name })
        {
            command.Options.Add(option);
        }

        command.SetAction(result =>
        {
            var options = new SsOptions(result.GetValue(tcp), result.GetValue(udp), result.GetValue(listening), result.GetValue(all), result.GetValue(numeric), result.GetValue(info), result.GetValue(memory));
            string request = string.Join(' ', options.ToWords().Prepend("ss"));
            return ControlClient.Run(result.GetValue(name), request, ControlPaths.SearchDirectories, output, error);
        });
        return command;
    }
}
