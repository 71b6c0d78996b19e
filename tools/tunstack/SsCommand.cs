using System.CommandLine;

namespace TunStack.Cli;

/// <summary>
/// <c>tunstack ss [-t] [-u] [-l] [-a] [-n] [-i] [-m] [-o] [-p] [-e] [--name NAME] [FILTER]</c>: the stack's sockets in
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
        var timers = new Option<bool>("-o", "--options") { Description = "Timers: timer:(on|persist|keepalive|timewait,time left,count)." };
        var processes = new Option<bool>("-p", "--processes") { Description = "The process that owns the socket (the daemon)." };
        var extended = new Option<bool>("-e", "--extended") { Description = "Extended: uid, v6only, and which directions are shut down (<->)." };
        var filter = new Argument<string[]>("filter") { Description = "A filter as ss's: 'state established', 'exclude time-wait', 'dport = :80', 'sport >= :1024', 'dst 10.0.0.2', 'src 10.77.0.0/24', joined with and, or, not and parentheses.", Arity = ArgumentArity.ZeroOrMore };
        Option<string> name = ControlClient.CreateNameOption();
        var command = new Command("ss", "List the stack's sockets of a running daemon, as iproute2's ss lists the kernel's.");
        foreach (Option option in new Option[] { tcp, udp, listening, all, numeric, info, memory, timers, processes, extended, name })
        {
            command.Options.Add(option);
        }

        command.Arguments.Add(filter);
        command.SetAction(result =>
        {
            if (SsFilter.Parse(result.GetValue(filter) ?? [], out string? problem) is not { } parsed)
            {
                error.WriteLine($"tunstack: {problem}");
                return 2;
            }

            var options = new SsOptions(result.GetValue(tcp), result.GetValue(udp), result.GetValue(listening), result.GetValue(all), result.GetValue(numeric), result.GetValue(info), result.GetValue(memory),
                result.GetValue(timers), result.GetValue(processes), result.GetValue(extended)) { Filter = parsed };
            string request = string.Join(' ', options.ToWords().Prepend("ss"));
            return ControlClient.Run(result.GetValue(name), request, ControlPaths.SearchDirectories, output, error);
        });
        return command;
    }
}
