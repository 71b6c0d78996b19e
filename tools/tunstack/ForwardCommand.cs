using System.CommandLine;
using System.Net;
using TunStack.Ip;

namespace TunStack.Cli;

/// <summary>
/// <c>tunstack forward --netns NAME</c>: gives a network namespace its network through the stack, as
/// slirp4netns does for rootless containers: the namespace gets a TUN with --address and a default
/// route via --gateway; every connection and datagram it sends is terminated by the stack and carried
/// on from this process's namespace (see <see cref="NamespaceForwarder"/>).
/// </summary>
public static class ForwardCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var netns = new Option<string>("--netns") { Description = "The namespace to give a network: created if missing (and then removed at exit), entered if it exists." };
        var address = new Option<string>("--address") { Description = "The namespace's address with prefix length (default 10.0.2.100/24)." };
        var gateway = new Option<string>("--gateway") { Description = "The gateway the namespace's default route points to, owned by the stack (default 10.0.2.2); the host's loopback with --allow-host-loopback." };
        var dns = new Option<string>("--dns") { Description = "The DNS address the stack answers for, forwarding port 53 to the host's resolver (default 10.0.2.3)." };
        var dnsUpstream = new Option<string>("--dns-upstream") { Description = "The resolver --dns forwards to (default: the first nameserver in /etc/resolv.conf)." };
        var allowLoopback = new Option<bool>("--allow-host-loopback") { Description = "Let the gateway address reach the host's loopback (off by default)." };
        var mtu = new Option<int>("--mtu") { Description = "MTU, 1280-65535 (default 1500)." }.Number();
        var tun = new Option<string>("--tun") { Description = "The TUN device's name in the namespace (default tunstack0)." };
        var offload = new Option<string>("--offload") { Description = "Virtio-net offloads on the TUN: auto (default), on, or off." };
        var busyPoll = new Option<string>("--busy-poll") { Description = "How long the TUN's reader polls for the next packet before it sleeps, at most: a duration up to 1ms such as 50us (default), or off." };
        var capture = new Option<string>("--capture") { Description = "Write every packet on the TUN as pcapng." };
        var logLevel = new Option<string>("--log-level") { Description = "error, warn, info (default) or debug." };
        Option<LogFormat> logFormat = ConsoleLog.FormatOption();
        var maxFlows = new Option<int>("--max-flows") { Description = "TCP connections and UDP flows relayed at once, each (default 4096)." }.Number(1, 1_000_000);
        var connectTimeout = new Option<int>("--connect-timeout") { Description = "Seconds to reach a TCP destination before answering host unreachable (default 20)." }.Number(1, 600);
        var udpTimeout = new Option<int>("--udp-timeout") { Description = "Seconds a UDP flow lives without traffic (default 60; DNS flows 10)." }.Number(1, 3600);
        var publish = new Option<string[]>("--publish") { Description = "HOSTPORT:PORT[/udp], repeatable: this process listens on HOSTPORT and connects each client to PORT at the namespace's address, keeping the client's address (loopback clients appear as the gateway)." };
        var tcpIdle = new Option<int>("--tcp-idle-timeout") { Description = "Seconds a relayed TCP connection may carry nothing either way before both ends are reset (default 0: never; keepalive still ends relays to vanished peers)." }.Number(0, 604800);
        var socks = new Option<string>("--upstream") { Description = "socks5://ADDRESS:PORT: send TCP (CONNECT) and UDP (UDP ASSOCIATE) through this SOCKS5 proxy instead of this process's own sockets." };
        var ipv6 = new Option<bool>("--ipv6") { Description = "IPv6 too: the namespace gets fd00::100/64 and a default route via fd00::2 (the gateway; DNS at fd00::3), as slirp4netns --enable-ipv6." };
        Option<string> control = ControlOption.Create();
        var command = new Command("forward", "Give a network namespace its network through the stack (user-space networking, as slirp4netns).");
        foreach (Option option in new Option[] { netns, address, gateway, dns, dnsUpstream, allowLoopback, publish, socks, ipv6, mtu, tun, offload, busyPoll, capture, logLevel, logFormat, maxFlows, connectTimeout, udpTimeout, tcpIdle, control })
        {
            command.Options.Add(option);
        }

        command.SetAction(result =>
        {
            string? name = result.GetValue(netns);
            if (name is null)
            {
                error.WriteLine("tunstack: --netns is required (the namespace to give a network)");
                return 2;
            }

            string addressText = result.GetValue(address) ?? "10.0.2.100/24";
            if (!IpPrefix.TryParse(addressText, out IpPrefix kernel) || kernel.Address.IsV6 || !addressText.Contains('/', StringComparison.Ordinal) || kernel.Length > 30)
            {
                error.WriteLine($"tunstack: --address: '{addressText}' is not an IPv4 address with a prefix length of at most 30 (for example 10.0.2.100/24)");
                return 2;
            }

            string? problem = ParseInPrefix("--gateway", result.GetValue(gateway) ?? "10.0.2.2", kernel, out InternetAddress gatewayAddress);
            InternetAddress dnsAddress = default;
            problem ??= ParseInPrefix("--dns", result.GetValue(dns) ?? "10.0.2.3", kernel, out dnsAddress);
            if (problem is not null)
            {
                error.WriteLine($"tunstack: {problem}");
                return 2;
            }

            if (gatewayAddress == dnsAddress || gatewayAddress == kernel.Address || dnsAddress == kernel.Address)
            {
                error.WriteLine("tunstack: --address, --gateway and --dns must be three different addresses");
                return 2;
            }

            IPAddress? resolver;
            if (result.GetValue(dnsUpstream) is { } upstream)
            {
                if (!IPAddress.TryParse(upstream, out resolver))
                {
                    error.WriteLine($"tunstack: --dns-upstream: '{upstream}' is not an IP address");
                    return 2;
                }
            }
            else
            {
                resolver = File.Exists("/etc/resolv.conf") ? DestinationMap.ResolverFrom(File.ReadAllText("/etc/resolv.conf")) : null;
            }

            var settings = new TunSettings
            {
                Tun = result.GetValue(tun) ?? "tunstack0",
                Netns = name,
                Mtu = result.GetResult(mtu) is null ? 1500 : result.GetValue(mtu),
                Offload = result.GetValue(offload) ?? "auto",
                BusyPoll = result.GetValue(busyPoll) ?? TunSettings.DefaultBusyPoll,
                Capture = result.GetValue(capture),
                LogLevel = result.GetValue(logLevel) ?? "info",
                LogFormat = result.GetValue(logFormat),
                Addresses = { $"{gatewayAddress}/{kernel.Length}", $"{dnsAddress}/{kernel.Length}" },
                Peers = { kernel.Address.ToString() },
                DisableKernelIpv6 = !result.GetValue(ipv6),
                Control = result.GetValue(control),
            };
            settings.KernelDefaultGateways.Add(gatewayAddress);
            if (result.GetValue(ipv6))
            {
                settings.Addresses.Add($"{Gateway6}/64");
                settings.Addresses.Add($"{Dns6}/64");
                settings.Peers.Add("fd00::100");
                settings.KernelDefaultGateways.Add(InternetAddress.Parse(Gateway6));
            }

            problem = settings.Validate(withServices: false) ?? ControlPaths.ForDaemon(settings.Control, settings, out _);
            if (problem is not null)
            {
                error.WriteLine($"tunstack: {problem.Replace("'addresses'", "--gateway/--dns", StringComparison.Ordinal).Replace("'peers'", "--address", StringComparison.Ordinal)}");
                return 2;
            }

            var published = new List<(int HostPort, int Port, bool Udp)>();
            foreach (string text in result.GetValue(publish) ?? Array.Empty<string>())
            {
                if (PortPublisher.Parse(text, out string? bad) is not { } spec)
                {
                    error.WriteLine($"tunstack: {bad}");
                    return 2;
                }

                published.Add(spec);
            }

            Socks5Upstream? proxy = null;
            if (result.GetValue(socks) is { } upstreamText && (proxy = Socks5Upstream.Parse(upstreamText, out string? badProxy)) is null)
            {
                error.WriteLine($"tunstack: {badProxy}");
                return 2;
            }

            var rules = new NamespaceForwarder.Rules(
                result.GetValue(ipv6) ? new[] { gatewayAddress.ToIPAddress(), IPAddress.Parse(Gateway6) } : new[] { gatewayAddress.ToIPAddress() },
                result.GetValue(ipv6) ? new[] { dnsAddress.ToIPAddress(), IPAddress.Parse(Dns6) } : new[] { dnsAddress.ToIPAddress() },
                resolver,
                result.GetValue(allowLoopback),
                result.GetResult(maxFlows) is null ? 4096 : result.GetValue(maxFlows),
                TimeSpan.FromSeconds(result.GetResult(connectTimeout) is null ? 20 : result.GetValue(connectTimeout)),
                TimeSpan.FromSeconds(result.GetResult(udpTimeout) is null ? 60 : result.GetValue(udpTimeout)),
                TimeSpan.FromSeconds(10),
                published,
                proxy,
                TimeSpan.FromSeconds(result.GetResult(tcpIdle) is null ? 0 : result.GetValue(tcpIdle)));
            return NamespaceForwarder.Run(settings, rules, output, error, CancellationToken.None);
        });
        return command;
    }

    // slirp4netns's IPv6 addresses: the gateway and DNS the stack owns (the namespace is fd00::100/64).
    private const string Gateway6 = "fd00::2";
    private const string Dns6 = "fd00::3";

    private static string? ParseInPrefix(string option, string text, IpPrefix prefix, out InternetAddress address)
    {
        if (!InternetAddress.TryParse(text, out address) || address.IsV6)
        {
            return $"{option}: '{text}' is not an IPv4 address";
        }

        return prefix.Contains(address) ? null : $"{option}: {address} is outside {TunSettings.Network(prefix)}, the namespace's prefix";
    }
}
