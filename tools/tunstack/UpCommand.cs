using System.CommandLine;
using System.Runtime.InteropServices;
using TunStack.Sockets;

namespace TunStack.Cli;

/// <summary>
/// <c>tunstack up</c>: the daemon. Owns a TUN interface (in a namespace if asked), runs the stack
/// on it with the built-in services, logs one line per event, and on SIGINT/SIGTERM stops cleanly,
/// flushes the capture and removes what it set up.
/// </summary>
public static class UpCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var tunOptions = new TunCommandOptions();
        var serve = new Option<string>("--serve") { Description = "Built-in services, each with an optional port: echo,discard,daytime,chargen (default these four; e.g. echo=7007,discard) and http (port 80: an ASP.NET Core status page and /api/stats over the stack)." };
        var command = new Command("up", "Run the stack on a TUN device as a daemon, serving echo/discard/daytime/chargen over TCP and UDP.");
        tunOptions.AddTo(command);
        command.Options.Add(serve);
        command.SetAction(result =>
        {
            string? problem = tunOptions.Bind(result, out TunSettings settings);
            if (result.GetResult(serve) is not null)
            {
                settings.Serve = result.GetValue(serve)!;
            }

            problem ??= settings.Validate(withServices: true);
            if (problem is not null)
            {
                error.WriteLine($"tunstack: {problem}");
                return 2;
            }

            return Run(settings, output, error, CancellationToken.None);
        });
        return command;
    }

    /// <summary>Runs the daemon until SIGINT/SIGTERM or <paramref name="stop"/>; returns the exit code.</summary>
    public static int Run(TunSettings settings, TextWriter output, TextWriter error, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var log = new ConsoleLog(output, settings.Level);
        if (!TunSession.TryStart(settings, log, error, out TunSession? session, PosixSignal.SIGINT, PosixSignal.SIGTERM))
        {
            return 1;
        }

        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stop, session!.Stopping);
        using (session)
        {
            UdpServices services;
            TcpServices tcpServices;
            HttpService? http = null;
            using var host = StackHost.Attach(session.Runner, settings.ToStackOptions());
            try
            {
                services = session.Runner.InvokeAsync(stack => UdpServices.Start(stack, settings.Services, log)).GetAwaiter().GetResult();
                tcpServices = session.Runner.InvokeAsync(stack => TcpServices.Start(stack, settings.Services, log)).GetAwaiter().GetResult();
                if (settings.Services.FirstOrDefault(s => ServiceSpec.IsHttp(s.Name)) is { } webSpec)
                {
                    http = HttpService.StartAsync(host, webSpec.Port, log).GetAwaiter().GetResult();
                }
            }
            catch (Exception e) when (e is InvalidOperationException or IOException)
            {
                error.WriteLine($"tunstack: {e.Message}");
                return 1;
            }

            string reach = settings.StackAddresses.First().Address.ToString();
            string prefix = settings.Netns is null ? string.Empty : $"ip netns exec {settings.Netns} ";
            string web = http is null ? string.Empty : $"; http:{http.Port} (HTTP/1.1 and h2c)";
            log.Info($"ready: {settings.Describe(session.Interface)}; tcp {tcpServices.Describe()}{web}; udp {services.Describe()}; try: {prefix}ping {reach}");
            stopping.Token.WaitHandle.WaitOne();

            if (http is not null)
            {
                http.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }

            string statistics = session.Runner.InvokeAsync(_ => tcpServices.Statistics() + "; " + services.Statistics()).GetAwaiter().GetResult();
            log.Info(statistics);
            log.Info($"counters: {string.Join(' ', session.Runner.Counters.Snapshot().Select(kv => $"{kv.Key}={kv.Value}"))}");
            if (settings.Capture is not null)
            {
                log.Info($"capture: {settings.Capture} ({session.CapturedPackets} packets)");
            }
        }

        log.Info(settings.Netns is not null ? $"stopped; removed what was set up in netns {settings.Netns}" : "stopped; removed what was set up");
        return 0;
    }
}
