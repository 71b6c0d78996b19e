using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using TunStack.Links;
using TunStack.Sockets;

namespace TunStack.Cli;

/// <summary>
/// <c>tunstack up</c> while it runs: the session, the built-in services, and what each signal
/// does. SIGINT/SIGTERM stop it; SIGHUP reads the config file again and applies what can change
/// while running (services, log level, impairment), saying why anything else stays; SIGUSR1 writes
/// the service totals, the counters and the TCP connections to the log.
/// </summary>
public sealed class Daemon
{
    // Settings that take a restart, each with how its value is shown when a reload finds it changed.
    private static readonly (string Key, Func<TunSettings, string> Show)[] s_restartOnly =
    {
        ("tun", s => s.Tun),
        ("addresses", s => string.Join(' ', s.StackAddresses)),
        ("peers", s => string.Join(' ', s.KernelAddresses.Select(k => k.Address))),
        ("routes", s => s.StackRoutes.Count == 0 ? "(through the kernel side)" : string.Join(", ", s.StackRoutes)),
        ("mtu", s => s.Mtu.ToString(CultureInfo.InvariantCulture)),
        ("netns", s => s.Netns ?? "(none)"),
        ("capture", s => s.Capture ?? "(none)"),
        ("disableKernelIpv6", s => s.DisableKernelIpv6 ? "true" : "false"),
        ("queues", s => s.Queues.ToString(CultureInfo.InvariantCulture)),
        ("vnetHdr", s => s.VnetHdr ? "true" : "false"),
        ("offload", s => s.Offload),
        ("busyPoll", s => s.BusyPoll),
        ("control", s => s.Control ?? "(the default path)"),
        ("logFormat", s => s.LogFormat.ToString().ToLowerInvariant()),
        ("force", s => s.Force ? "true" : "false"),
    };

    private readonly TunSession _session;
    private readonly TunSettings _started;
    private readonly ConsoleLog _log;
    private readonly StackHost _host;
    private readonly UdpServices[] _udp;
    private readonly TcpServices[] _tcp;
    private HttpService? _http;
    private List<ServiceSpec> _services;
    private (Impairment Received, Impairment Sent, int Seed) _impairment;

    private Daemon(TunSession session, TunSettings settings, ConsoleLog log, StackHost host, UdpServices[] udp, TcpServices[] tcp, HttpService? http)
    {
        _session = session;
        _started = settings;
        _log = log;
        _host = host;
        _udp = udp;
        _tcp = tcp;
        _http = http;
        _services = settings.Services.ToList();
        _impairment = (settings.Ingress, settings.Egress, settings.ImpairSeed);
    }

    /// <summary>
    /// Runs the daemon until SIGINT/SIGTERM or <paramref name="stop"/>; <paramref name="reread"/>
    /// reads the settings again for SIGHUP (null when there is no config file). Returns the exit code.
    /// </summary>
    public static int Run(TunSettings settings, Func<(string? Problem, TunSettings Settings)>? reread, TextWriter output, TextWriter error, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(error);
        string? oneLoop = OneLoopReason(settings);
        int code = TunSession.StartDaemon(settings, output, error, out TunSession? session, out StackHost? attached, out ConsoleLog log, partitioned: oneLoop is null);
        if (code != 0)
        {
            return code;
        }

        if (settings.Queues > 1 && oneLoop is not null)
        {
            log.Info($"queues: {settings.Queues}, read by one stack loop: {oneLoop}");
        }

        using (session)
        {
            using StackHost host = attached!;
            if (!ControlServer.TryStartFor(settings, "up", session!.Partitions, log, error, out ControlServer? control))
            {
                return 1;
            }

            using ControlServer? controlled = control;
            Daemon daemon;
            try
            {
                // Every partition serves every service: a flow goes to whichever partition owns it.
                UdpServices[] udp = session!.Partitions.InvokeEachAsync(stack => UdpServices.Start(stack, settings.Services, log)).GetAwaiter().GetResult();
                TcpServices[] tcp = session.Partitions.InvokeEachAsync(stack => TcpServices.Start(stack, settings.Services, log)).GetAwaiter().GetResult();
                HttpService? http = settings.Services.FirstOrDefault(s => ServiceSpec.IsHttp(s.Name)) is { } web
                    ? HttpService.StartAsync(host, web.Port, log, session.Meter).GetAwaiter().GetResult()
                    : null;
                daemon = new Daemon(session, settings, log, host, udp, tcp, http);
            }
            catch (Exception e) when (e is InvalidOperationException or IOException)
            {
                error.WriteLine($"tunstack: {e.Message}");
                return 1;
            }

            if (!daemon.Serve(reread, stop))
            {
                return 1;
            }
        }

        log.Info("stopped");
        return 0;
    }

    // Why the stack runs on one loop whatever --queues says, or null when it may be partitioned:
    // Kestrel (the http service) and a capture file are each one thing fed by one loop.
    private static string? OneLoopReason(TunSettings settings)
        => settings.Services.Any(s => ServiceSpec.IsHttp(s.Name)) ? "the http service runs Kestrel over StackHost, which drives one loop"
            : settings.Capture is not null ? "--capture writes one file from one loop"
            : null;

    // Serves until a stop signal or the caller's token (true), or until the stack's loop dies (false).
    private bool Serve(Func<(string? Problem, TunSettings Settings)>? reread, CancellationToken stop)
    {
        string reach = _started.StackAddresses.First().Address.ToString();
        string prefix = _started.Netns is null ? string.Empty : $"ip netns exec {_started.Netns} ";
        _log.Info($"ready: {_started.Describe(_session.Interface, _session.Runner.HasReaderThread)}; {DescribeServices()}; try: {prefix}ping {reach}");

        using SystemdNotifier? systemd = SystemdNotifier.Start(_session.Partitions, _log);

        // For the test of the crash path (TUNSTACK_FAULT=crash): an exception nobody catches, on a
        // thread of its own, as a bug would throw it; the session's crash handler must clean up.
        if (Environment.GetEnvironmentVariable("TUNSTACK_FAULT") == "crash")
        {
            new Thread(() => throw new InvalidOperationException("fault injected by TUNSTACK_FAULT=crash")).Start();
        }
        using var requests = new BlockingCollection<PosixSignal>();
        _session.Signals.Requested = signal =>
        {
            try
            {
                requests.Add(signal);
            }
            catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
            {
                // Arrived while stopping: nothing left to do it for.
            }
        };
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stop, _session.Stopping);
        try
        {
            // Wakes twice a second to see that the stack still runs.
            while (!_session.Partitions.Completion.IsCompleted)
            {
                if (!requests.TryTake(out PosixSignal signal, 500, stopping.Token))
                {
                    continue;
                }

                if (signal == PosixSignal.SIGHUP)
                {
                    Reload(reread);
                }
                else
                {
                    Dump("SIGUSR1");
                }
            }
        }
        catch (OperationCanceledException)
        {
            // SIGINT, SIGTERM or the caller's token: stop.
        }

        _session.Signals.Requested = null;
        if (_session.Partitions.Completion.Exception is { } died)
        {
            // Nothing can be asked of a stack whose loop has ended: say why, and let the session go.
            _log.Error($"the stack stopped: {died.InnerException?.Message ?? died.Message}; stopping");
            return false;
        }

        _http?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        foreach ((string message, KeyValuePair<string, object?>[] fields) in Summary())
        {
            _log.Write(LogLevel.Info, message, fields);
        }

        if (_started.Capture is not null)
        {
            _log.Info($"capture: {_started.Capture} ({_session.CapturedPackets} packets)");
        }

        return true;
    }

    private string DescribeServices()
    {
        string web = _http is null ? string.Empty : $"; http:{_http.Port} (HTTP/1.1 and h2c)";
        return $"tcp {_tcp[0].Describe()}{web}; udp {_udp[0].Describe()}";
    }

    // What the services did, the counters and the connections, each with its fields for a structured log.
    private List<(string Message, KeyValuePair<string, object?>[] Fields)> Summary()
    {
        var counts = _session.Partitions.InvokeEachAsync((p, _) => (Tcp: _tcp[p].Totals(), Udp: _udp[p].Totals())).GetAwaiter().GetResult();
        List<string> totals = TcpServices.Statistics(counts.Select(c => c.Tcp)).Concat(UdpServices.Statistics(counts.Select(c => c.Udp))).ToList();
        var lines = new List<(string, KeyValuePair<string, object?>[])> { (totals.Count == 0 ? "services: none ran" : string.Join("; ", totals), []) };
        lines.AddRange(StackDump.Entries(_session.Partitions));
        return lines;
    }

    private void Dump(string why)
    {
        _log.Report($"{why}: the state of the stack follows");
        foreach ((string message, KeyValuePair<string, object?>[] fields) in Summary())
        {
            _log.Report(message, fields);
        }
    }

    private void Reload(Func<(string? Problem, TunSettings Settings)>? reread)
    {
        if (reread is null)
        {
            _log.Info("SIGHUP: there is no --config file to read again; nothing changed");
            return;
        }

        (string? problem, TunSettings fresh) = reread();
        problem ??= fresh.Validate(withServices: true);
        if (problem is not null)
        {
            _log.Warn($"SIGHUP: {problem}; the running settings stay");
            return;
        }

        foreach ((string key, Func<TunSettings, string> show) in s_restartOnly)
        {
            string before = show(_started), after = show(fresh);
            if (before != after)
            {
                _log.Warn($"SIGHUP: {fresh.Label(key)} is now {after}, which takes a restart; {before} stays");
            }
        }

        bool changed = false;
        if (fresh.Level != _log.Level)
        {
            _log.Warn($"SIGHUP: log level {_log.Level.ToString().ToLowerInvariant()} -> {fresh.Level.ToString().ToLowerInvariant()}");
            _log.Level = fresh.Level;
            changed = true;
        }

        if ((fresh.Ingress, fresh.Egress, fresh.ImpairSeed) != _impairment)
        {
            if (fresh.ImpairSeed != _impairment.Seed)
            {
                _log.Warn($"SIGHUP: seed {fresh.ImpairSeed} takes a restart; the running impairment keeps drawing from seed {_impairment.Seed}");
            }

            _session.Partitions.InvokeEachAsync((p, _) =>
            {
                _session.Impaired[p].Change(fresh.Ingress, fresh.Egress);
                return 0;
            }).GetAwaiter().GetResult();
            _impairment = (fresh.Ingress, fresh.Egress, _impairment.Seed);
            _log.Info($"SIGHUP: {TunSession.DescribeImpairment(fresh.Ingress, fresh.Egress, _impairment.Seed)}");
            changed = true;
        }

        if (!fresh.Services.SequenceEqual(_services))
        {
            changed |= ApplyServices(fresh.Services);
        }

        _log.Info(changed ? $"SIGHUP: reloaded; {DescribeServices()}" : "SIGHUP: read the config file again; nothing that can change while running has changed");
    }

    private bool ApplyServices(List<ServiceSpec> services)
    {
        try
        {
            ServiceSpec? web = services.FirstOrDefault(s => ServiceSpec.IsHttp(s.Name));
            if (web is not null && _session.Partitions.Count > 1)
            {
                // Kestrel runs on one loop: a partitioned stack cannot take it without a restart.
                _log.Warn($"SIGHUP: the http service runs on one stack loop, and this one runs {_session.Partitions.Count} partitions (--queues); it takes a restart, the rest reloads");
                services = services.Where(s => !ServiceSpec.IsHttp(s.Name)).ToList();
                web = null;
            }

            _session.Partitions.InvokeEachAsync((p, stack) =>
            {
                _udp[p].Apply(stack, services);
                _tcp[p].Apply(stack, services);
                return 0;
            }).GetAwaiter().GetResult();
            if (_http is not null && web?.Port != _http.Port)
            {
                _http.DisposeAsync().AsTask().GetAwaiter().GetResult();
                _http = null;
            }

            if (web is not null && _http is null)
            {
                _http = HttpService.StartAsync(_host, web.Port, _log, _session.Meter).GetAwaiter().GetResult();
            }

            _services = services;
            return true;
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            _log.Warn($"SIGHUP: {e.Message}; the services that could not start stay off");
            return false;
        }
    }
}
