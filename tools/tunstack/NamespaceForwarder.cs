using System.Globalization;
using System.Net;
using System.Net.Sockets;
using TunStack.Sockets;

namespace TunStack.Cli;

/// <summary>
/// <c>tunstack forward</c> while it runs: a TUN whose kernel side is the namespace's only network
/// (its address and a default route via the gateway), the stack terminating every TCP connection
/// and UDP flow the namespace starts, whatever the destination, and <see cref="TcpRelay"/> and
/// <see cref="UdpRelay"/> carrying them on through this process's own sockets, in the namespace it
/// was started in. SIGUSR1 logs what is being relayed, the stack's counters and connections. Stops
/// on SIGINT/SIGTERM, removing the TUN (and the namespace if it made it).
/// </summary>
public sealed class NamespaceForwarder
{
    /// <summary>The forwarding settings beyond the TUN's.</summary>
    public sealed record Rules(IReadOnlyList<IPAddress> Gateways, IReadOnlyList<IPAddress> DnsAddresses, IPAddress? Resolver, bool AllowHostLoopback, int MaxFlows, TimeSpan ConnectTimeout, TimeSpan UdpTimeout, TimeSpan DnsTimeout, IReadOnlyList<(int HostPort, int Port, bool Udp)> Published, Socks5Upstream? Upstream, TimeSpan TcpIdleTimeout);

    private static async Task RelayAsync(ForwardedConnectionRequest request, IPEndPoint target, Rules rules, ForwardStatistics statistics, ConsoleLog log)
    {
        try
        {
            await TcpRelay.RunAsync(request, target, rules.ConnectTimeout, statistics, log, rules.Upstream, rules.TcpIdleTimeout).ConfigureAwait(false);
        }
        finally
        {
            statistics.ReturnTcpSlot();
        }
    }

    /// <summary>Runs until a stop signal or <paramref name="stop"/>; returns the exit code.</summary>
    public static int Run(TunSettings settings, Rules rules, TextWriter output, TextWriter error, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(rules);
        int code = TunSession.StartDaemon(settings, output, error, out TunSession? session, out StackHost? attached, out ConsoleLog log);
        if (code != 0)
        {
            return code;
        }

        using (session)
        {
            using StackHost host = attached!;
            if (!ControlServer.TryStartFor(settings, "forward", session!.Partitions, log, error, out ControlServer? control))
            {
                return 1;
            }

            using ControlServer? controlled = control;
            var statistics = new ForwardStatistics();
            var map = new DestinationMap(rules.Gateways, rules.DnsAddresses, rules.Resolver, rules.AllowHostLoopback);
            using var udp = new UdpRelay(host, map, statistics, log, rules.MaxFlows, rules.UdpTimeout, rules.DnsTimeout, rules.Upstream);
            host.ForwardTcp(request =>
            {
                IPEndPoint? target = map.Map(request.Destination, out string? refusal);
                if (target is null)
                {
                    statistics.TcpDenied();
                    log.Debug($"tcp {request.Source} -> {request.Destination}: {refusal}");
                    request.Reject();
                    return;
                }

                if (!statistics.TryTakeTcpSlot(rules.MaxFlows))
                {
                    request.Drop(); // the client retries its SYN, as with a full accept queue
                    return;
                }

                // Started here, on the stack's thread: the dial is a non-blocking connect, and when it
                // completes at once (loopback, a local refusal) the SYN-ACK or reset goes out in this
                // same batch, with no hop through the thread pool and back.
                _ = RelayAsync(request, target, rules, statistics, log);
            });
            using var publisher = new PortPublisher(host, settings.KernelAddresses[0].Address.ToIPAddress(), rules.Gateways[0], statistics, log, rules.TcpIdleTimeout);
            foreach ((int hostPort, int port, bool isUdp) in rules.Published)
            {
                try
                {
                    publisher.Publish(hostPort, port, isUdp);
                }
                catch (SocketException e)
                {
                    error.WriteLine($"tunstack: --publish {hostPort}:{port}{(isUdp ? "/udp" : string.Empty)}: cannot listen on port {hostPort} ({e.SocketErrorCode})");
                    return 1;
                }
            }

            // A datagram from the namespace answers a published flow, or starts (or continues) an outgoing one.
            host.ForwardUdp((from, to, payload) =>
            {
                if (!publisher.TryAnswer(from, to, payload))
                {
                    udp.OnDatagram(from, to, payload);
                }
            });
            using IcmpRelay? icmp = IcmpRelay.TryOpen(host, map, out string? noPing);
            if (icmp is not null)
            {
                host.ForwardIcmpEcho(icmp.OnEchoRequest);
                log.Debug($"ping to addresses outside goes through {icmp.Kind}");
            }
            else
            {
                log.Warn($"ping to addresses outside is not forwarded: {noPing}; the stack's own addresses still answer");
            }

            ForwarderWarmUp.Run(log);

            string where = $"ip netns exec {settings.Netns}";
            string published = rules.Published.Count == 0 ? string.Empty
                : "; published " + string.Join(' ', rules.Published.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.HostPort}->{p.Port}{(p.Udp ? "/udp" : string.Empty)}")));
            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"ready: forwarding {settings.Netns} (tun {settings.Tun}, mtu {settings.Mtu}, {string.Join(' ', settings.KernelAddresses)} via gateway {string.Join(' ', rules.Gateways)}, dns {string.Join(' ', rules.DnsAddresses)} -> {rules.Resolver?.ToString() ?? "none"}); host loopback {(rules.AllowHostLoopback ? "reachable at the gateway" : "unreachable")}{published}{(rules.Upstream is null ? string.Empty : $"; through socks5 {rules.Upstream.Proxy}")}; try: {where} curl http://example.com/"));
            using SystemdNotifier? systemd = SystemdNotifier.Start(session!.Partitions, log);
            string Relayed() => $"{statistics.Describe()}; icmp echo {icmp?.Relayed ?? 0} requests relayed, {icmp?.Answered ?? 0} answered";

            // SIGUSR1: what is being relayed now, the stack's counters and its connections; SIGHUP: the same
            // (forward has no config file to read again).
            session!.Signals.Requested = _ =>
            {
                log.Report($"forwarding: {Relayed()}");
                foreach ((string message, KeyValuePair<string, object?>[] fields) in StackDump.Entries(session.Partitions))
                {
                    log.Report(message, fields);
                }
            };
            using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stop, session.Stopping);
            try
            {
                while (!session.Runner.Completion.IsCompleted)
                {
                    stopping.Token.WaitHandle.WaitOne(500);
                    stopping.Token.ThrowIfCancellationRequested();
                }
            }
            catch (OperationCanceledException)
            {
                // A stop signal: the normal way out.
            }

            host.ForwardTcp(null);
            host.ForwardUdp(null);
            host.ForwardIcmpEcho(null);
            log.Info($"forwarded: {Relayed()}");
            if (session.Runner.Completion.IsFaulted)
            {
                log.Error($"the stack's loop failed: {session.Runner.Completion.Exception?.InnerException?.Message}");
                return 1;
            }
        }

        log.Info("stopped");
        return 0;
    }
}
