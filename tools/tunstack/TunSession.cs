using System.Net.NetworkInformation;
using System.Runtime.InteropServices;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Sockets;
using TunStack.Sockets.Hosting;
using TunStack.Tun;

namespace TunStack.Cli;

/// <summary>
/// A TUN interface with a stack running on it: the interface (namespace, device, kernel side),
/// an <see cref="ImpairedLink"/> whose impairment can change while it runs (it passes packets
/// straight through while there is none), an optional capture, and the real-clock runner; or,
/// partitioned (<c>--queues N</c> for the daemon), one partition of the stack per TUN queue, each
/// with its own impaired link and runner (<see cref="Partitions"/>).
/// <see cref="Start"/> checks what it can before it changes anything; Dispose (also run by the
/// crash handler) stops the stack, flushes the capture and removes what was set up.
/// </summary>
public sealed class TunSession : IDisposable
{
    private readonly CaptureLink? _capture;
    private readonly SessionSignals _signals;
    private readonly ConsoleLog _log;
    private readonly UnhandledExceptionEventHandler _crashHandler;
    private int _disposed;

    private TunSession(TunInterface tun, IReadOnlyList<ImpairedLink> impaired, CaptureLink? capture, StackPartitions partitions, SessionSignals signals, ConsoleLog log)
    {
        Interface = tun;
        Impaired = impaired;
        _capture = capture;
        Partitions = partitions;
        _signals = signals;
        _log = log;
        _crashHandler = (_, e) =>
        {
            // The process is going down: leave nothing behind, and say why.
            _log.Error($"crashed: {e.ExceptionObject}");
            Dispose();
        };
        AppDomain.CurrentDomain.UnhandledException += _crashHandler;
    }

    /// <summary>The TUN interface.</summary>
    public TunInterface Interface { get; }

    /// <summary>The links between the TUN and the stack that impair it, one per partition (change each on its partition's thread).</summary>
    public IReadOnlyList<ImpairedLink> Impaired { get; }

    /// <summary>The running stack: partition 0's runner, the only one unless partitioned.</summary>
    public StackRunner Runner => Partitions.First;

    /// <summary>The stack's loops: one, or one per TUN queue when partitioned.</summary>
    public StackPartitions Partitions { get; }

    /// <summary>The stack's "TunStack" meter, published for dotnet-counters and /metrics (null for a one-job command).</summary>
    public StackMeter? Meter { get; private init; }

    /// <summary>The signals the session answers.</summary>
    public SessionSignals Signals => _signals;

    /// <summary>Cancelled when a stop signal arrives.</summary>
    public CancellationToken Stopping => _signals.Stopping;

    /// <summary>Packets captured so far (0 without a capture).</summary>
    public long CapturedPackets => _capture?.Writer.PacketCount ?? 0;

    /// <summary>
    /// Sets up and starts, in an order that changes nothing until everything that can be checked
    /// has been: overlaps with the target namespace's addresses and routes (refused unless
    /// --force), the capture file (opened first), then the announcement of what will be done to
    /// the current namespace when there is no --netns, and only then the namespace, device and
    /// addresses. Returns 0 with a session; otherwise prints "tunstack: reason" to
    /// <paramref name="error"/> and returns 2 (the settings conflict with the system) or 1 (setup failed).
    /// <paramref name="partitioned"/>: one partition of the stack per TUN queue (needs more than
    /// one queue and no capture); otherwise one loop reads every queue.
    /// </summary>
    public static int Start(TunSettings settings, ConsoleLog log, TextWriter error, bool daemon, out TunSession? session, bool partitioned = false)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(error);
        session = null;
        TunInterfaceOptions options = settings.ToInterfaceOptions();
        string where = settings.Netns is null ? "the current network namespace" : $"network namespace {settings.Netns}";
        try
        {
            IReadOnlyList<string> conflicts = TunInterface.FindConflicts(options);
            if (conflicts.Count > 0 && !settings.Force)
            {
                error.WriteLine($"tunstack: the kernel side's address {conflicts[0]} in {where}{(conflicts.Count > 1 ? $" (and {conflicts.Count - 1} more)" : string.Empty)}; "
                    + $"choose another prefix ({settings.Label("addresses")}), give the TUN a namespace of its own (--netns NAME), or configure it all the same (--force)");
                return 2;
            }

            if (conflicts.Count > 0)
            {
                log.Warn($"--force: configuring {where} although {string.Join("; ", conflicts)}");
            }
        }
        catch (TunException e)
        {
            error.WriteLine($"tunstack: {Explain(e)}");
            return 1;
        }

        FileStream? captureFile = null;
        if (settings.Capture is { } path)
        {
            try
            {
                captureFile = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"tunstack: {settings.Label("capture")}: cannot write {path}: {e.Message}");
                return 1;
            }
        }

        if (settings.Netns is null)
        {
            log.Warn(DescribeCurrentNamespaceChange(settings, options));
        }

        var signals = new SessionSignals(log, daemon);
        TunInterface tun;
        try
        {
            tun = TunInterface.Open(options, log.Info);
        }
        catch (Exception e) when (e is TunException or IOException or UnauthorizedAccessException)
        {
            signals.Dispose();
            if (captureFile is not null)
            {
                captureFile.Dispose();
                File.Delete(captureFile.Name);
            }

            error.WriteLine($"tunstack: {(e is TunException t ? Explain(t) : e.Message)}");
            return 1;
        }

        try
        {
            if (partitioned && settings.Queues > 1 && captureFile is null)
            {
                session = StartPartitions(tun, settings, signals, log, daemon);
                return 0;
            }

            // Between the TUN and the capture: the capture shows what the stack really got and sent.
            var impaired = new ImpairedLink(tun.Device, settings.Ingress, settings.Egress, settings.ImpairSeed);
            if (!settings.Ingress.IsNone || !settings.Egress.IsNone)
            {
                log.Info(DescribeImpairment(settings.Ingress, settings.Egress, settings.ImpairSeed));
            }

            ILink link = impaired;
            CaptureLink? capture = null;
            if (captureFile is not null)
            {
                capture = new CaptureLink(link, new PcapngWriter(captureFile, StackRunner.UnixMicrosecondsAtZero, settings.Tun));
                link = capture;
            }

            // The daemon owns its process: after a peak of connections it gives the memory back.
            var runner = new StackRunner(link, settings.ToStackOptions(), "tunstack-stack") { ReturnMemoryAfterPeaks = true };
            runner.Start();
            session = new TunSession(tun, [impaired], capture, new StackPartitions([runner]), signals, log) { Meter = daemon ? new StackMeter(runner) : null };
            return 0;
        }
        catch
        {
            // Whatever failed after the device was made, the device and namespace go with it.
            tun.Dispose();
            signals.Dispose();
            captureFile?.Dispose();
            throw;
        }
    }

    // One partition per TUN queue: each queue a link of its own, impaired on its own (seeds
    // seed, seed + 1, ...), each partition's ephemeral ports a slice of the range, one runner each.
    private static TunSession StartPartitions(TunInterface tun, TunSettings settings, SessionSignals signals, ConsoleLog log, bool daemon)
    {
        IReadOnlyList<TunQueue> queues = tun.Device.SplitQueues();
        StackOptions shared = settings.ToStackOptions();
        var steering = new PartitionSteering(queues.Count, shared.EphemeralPortFirst, shared.EphemeralPortLast, tun.Device.MaxPacketLength);
        var impaired = new ImpairedLink[queues.Count];
        var runners = new StackRunner[queues.Count];
        try
        {
            for (int p = 0; p < queues.Count; p++)
            {
                impaired[p] = new ImpairedLink(queues[p], settings.Ingress, settings.Egress, settings.ImpairSeed + p);
                PartitionLink link = steering.CreateLink(p, impaired[p]);
                StackOptions options = settings.ToStackOptions();
                (options.EphemeralPortFirst, options.EphemeralPortLast) = steering.EphemeralRange(p);
                runners[p] = new StackRunner(link, options, $"tunstack-stack-{p}") { ReturnMemoryAfterPeaks = true };
                link.Counters = runners[p].Counters;
            }

            foreach (StackRunner runner in runners)
            {
                runner.Start();
            }
        }
        catch
        {
            foreach (StackRunner? runner in runners)
            {
                runner?.Dispose();
            }

            throw;
        }

        if (!settings.Ingress.IsNone || !settings.Egress.IsNone)
        {
            log.Info(DescribeImpairment(settings.Ingress, settings.Egress, settings.ImpairSeed) + $" (on each of {queues.Count} queues, seeds {settings.ImpairSeed} to {settings.ImpairSeed + queues.Count - 1})");
        }

        log.Info($"partitions: {queues.Count}, one stack loop per TUN queue (threads tunstack-stack-0 to -{queues.Count - 1}); "
            + $"ephemeral ports {string.Join(", ", Enumerable.Range(0, queues.Count).Select(p => $"{steering.EphemeralRange(p).First}-{steering.EphemeralRange(p).Last}"))}");
        return new TunSession(tun, impaired, null, new StackPartitions(runners), signals, log) { Meter = daemon ? StackMeter.ForPartitions(runners) : null };
    }

    /// <summary>
    /// <see cref="Start"/> for a long-running command (up, forward): its log on <paramref name="output"/> at
    /// the settings' level, and a <see cref="StackHost"/> on the session's runner for sockets on the stack
    /// (dispose it before the session). Returns what <see cref="Start"/> returns; the outs are set on 0.
    /// </summary>
    public static int StartDaemon(TunSettings settings, TextWriter output, TextWriter error, out TunSession? session, out StackHost? host, out ConsoleLog log, bool partitioned = false)
    {
        ArgumentNullException.ThrowIfNull(settings);
        log = new ConsoleLog(output, settings.Level) { Format = settings.LogFormat };
        int code = Start(settings, log, error, daemon: true, out session, partitioned);
        host = session is null ? null : StackHost.Attach(session.Runner, settings.ToStackOptions());
        return code;
    }

    /// <summary>
    /// <see cref="Start"/> for a one-job command (ping, nc): SIGINT, SIGTERM and SIGHUP stop it,
    /// SIGUSR1 writes the stack's counters and connections, and its log (on standard error) shows
    /// warnings and errors only, unless a level is asked for.
    /// </summary>
    public static int StartCommand(TunSettings settings, TextWriter error, out TunSession? session)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var log = new ConsoleLog(error, settings.Level == LogLevel.Info ? LogLevel.Warn : settings.Level);
        int code = Start(settings, log, error, daemon: false, out session);
        if (session is { } started)
        {
            started.Signals.Requested = _ =>
            {
                foreach (string line in StackDump.Lines(started.Partitions))
                {
                    log.Report(line);
                }
            };
        }

        return code;
    }

    /// <summary>"impairing: received loss=1%; sent none; seed 1".</summary>
    public static string DescribeImpairment(Impairment received, Impairment sent, int seed)
    {
        ArgumentNullException.ThrowIfNull(received);
        ArgumentNullException.ThrowIfNull(sent);
        return $"impairing: received {received}; sent {sent}; seed {seed}";
    }

    // A missing privilege also says that the demo needs none.
    private static string Explain(TunException e) => e is TunPermissionException ? $"{e.Message}; 'tunstack demo' needs no privileges" : e.Message;

    private static string DescribeCurrentNamespaceChange(TunSettings settings, TunInterfaceOptions options)
    {
        if (NetworkInterface.GetAllNetworkInterfaces().Any(n => n.Name == settings.Tun))
        {
            return $"no --netns: attaching to TUN device {settings.Tun} in the current network namespace; its configuration stays as it is";
        }

        IpPrefix[] kernel = options.KernelAddresses.Where(k => !(k.Address.IsV6 && options.DisableKernelIpv6)).ToArray();
        return $"no --netns: configuring the current network namespace (the host's, unless this runs inside another): "
            + $"new TUN device {settings.Tun}, mtu {settings.Mtu}, kernel-side addresses {string.Join(", ", kernel)} "
            + $"with routes to {string.Join(", ", kernel.Select(TunSettings.Network))} on {settings.Tun}"
            + (options.DisableKernelIpv6 ? $", IPv6 off on {settings.Tun}" : string.Empty)
            + "; all removed on exit; --netns NAME leaves this namespace alone";
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        AppDomain.CurrentDomain.UnhandledException -= _crashHandler;
        _signals.Dispose();
        Meter?.Dispose();
        foreach (StackRunner runner in Partitions.Runners)
        {
            runner.Dispose();
        }

        try
        {
            _capture?.Writer.Dispose();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A full disk must not keep the device and namespace in place: say so and go on.
            _log.Error($"capture: could not write the rest of it: {e.Message}");
        }
        finally
        {
            Interface.Dispose();
        }
    }
}
