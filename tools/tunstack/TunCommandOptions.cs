using System.CommandLine;

namespace TunStack.Cli;

/// <summary>The command-line options shared by the TUN-backed commands, bound to <see cref="TunSettings"/>.</summary>
public sealed class TunCommandOptions
{
    private readonly Option<string> _tun = new("--tun") { Description = "TUN device: created, or attached to if a persistent one of that name exists (default tunstack0)." };
    private readonly Option<string[]> _address = new("--address") { Description = "The stack's own address with its prefix length, repeatable (default 10.77.0.2/24 and fd77::2/64).", AllowMultipleArgumentsPerToken = false };
    private readonly Option<string[]> _peer = new("--peer") { Description = "The kernel's address on the TUN, one per family, inside the stack's prefix (default: the first host of the prefix)." };
    private readonly Option<string[]> _route = new("--route") { Description = "A route, 'CIDR' or 'CIDR via GATEWAY', repeatable (default: everything through the TUN)." };
    private readonly Option<int> _mtu = new Option<int>("--mtu") { Description = "MTU, 1280-65535 (default 1500)." }.Number();
    private readonly Option<string> _netns = new("--netns") { Description = "Network namespace to run in; created if missing. Without it the TUN goes into the current namespace (the host's)." };
    private readonly Option<string> _capture = new("--capture") { Description = "Write every packet on the TUN as pcapng." };
    private readonly Option<FileInfo> _config = new("--config") { Description = "JSON file with the same settings (command-line options win)." };
    private readonly Option<string> _logLevel = new("--log-level") { Description = "error, warn, info (default) or debug." };
    private readonly Option<bool> _disableIpv6 = new("--disable-kernel-ipv6") { Description = "Disable IPv6 on the kernel side of the TUN." };
    private readonly Option<int> _queues = new Option<int>("--queues") { Description = "TUN queues (IFF_MULTI_QUEUE when more than 1; default 1); up runs one stack loop per queue." }.Number();
    private readonly Option<bool> _vnetHdr = new("--vnet-hdr") { Description = "Open the TUN with a virtio-net header (IFF_VNET_HDR)." };
    private readonly Option<string> _offload = new("--offload") { Description = "Virtio-net offloads on the TUN (checksum, TSO4, TSO6: 64 KiB TCP super-segments each way): auto (default: on where the kernel accepts them), on, or off." };
    private readonly Option<string> _busyPoll = new("--busy-poll") { Description = "How long the TUN's reader polls for the next packet before it sleeps, at most: a duration up to 1ms such as 50us (default), or off. It adapts to the gaps between packets and stops polling when they are longer, so an idle daemon does not poll." };
    private readonly Option<string> _impair = new("--impair") { Description = "Impair both directions: loss=1%,delay=10ms,jitter=2ms,reorder=5%,dup=1%,corrupt=0.1%,rate=100mbit,seed=N (reproducible from the seed)." };
    private readonly Option<string> _impairIn = new("--impair-in") { Description = "Impair only what the stack receives (same syntax as --impair)." };
    private readonly Option<string> _impairOut = new("--impair-out") { Description = "Impair only what the stack sends (same syntax as --impair)." };
    private readonly Option<int> _maxConnections = new Option<int>("--max-connections") { Description = "TCP connections the stack holds at most (default: one per 8 KiB of the TCP memory budget, at least 65,536)." }.Number();
    private readonly Option<string> _tcpMemory = new("--tcp-memory") { Description = "The stack's TCP memory budget for queued data, such as 512MiB or 2GiB (default: 3/32 of the memory the runtime may use)." };
    private readonly Option<string> _congestion = new("--congestion") { Description = "TCP congestion control of the stack's connections: cubic (default), reno or bbr." };
    private readonly Option<int> _tcpEcn = new Option<int>("--tcp-ecn") { Description = "ECN for TCP, as Linux's net.ipv4.tcp_ecn: 0 off, 1 ask on outgoing connections and agree, 2 agree when asked (default 2)." }.Number();
    private readonly Option<string> _profile = new("--profile") { Description = "TCP wire choices: default (TunStack's: RFC 7661, HyStart++) or linux (Linux 6.x's where they differ: cwnd restart after idle, HyStart)." };
    private readonly Option<bool> _force = new("--force") { Description = "Without --netns: configure the current namespace even where the kernel-side addresses overlap addresses or routes it has." };

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { _tun, _address, _peer, _route, _mtu, _netns, _capture, _config, _logLevel, _disableIpv6, _queues, _vnetHdr, _offload, _busyPoll, _impair, _impairIn, _impairOut, _maxConnections, _tcpMemory, _congestion, _tcpEcn, _profile, _force })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>The config file given with --config, or null.</summary>
    public string? ConfigFile(ParseResult result) => result.GetValue(_config)?.FullName;

    /// <summary>
    /// Reads the settings: the config file first (read again on every call, so a reload sees its
    /// changes), then the options given on the command line; returns a one-line problem or null.
    /// </summary>
    public string? Bind(ParseResult result, out TunSettings settings)
    {
        ArgumentNullException.ThrowIfNull(result);
        settings = new TunSettings();
        if (ConfigFile(result) is { } file && TunConfigFile.Read(file, settings) is { } problem)
        {
            return problem;
        }

        TunSettings loaded = settings; // the lambdas cannot capture an out parameter
        Override(result, loaded, "tun", _tun, value => loaded.Tun = value);
        Override(result, loaded, "addresses", _address, value => loaded.Addresses = value.ToList());
        Override(result, loaded, "peers", _peer, value => loaded.Peers = value.ToList());
        Override(result, loaded, "routes", _route, value => loaded.Routes = value.ToList());
        Override(result, loaded, "mtu", _mtu, value => loaded.Mtu = value);
        Override(result, loaded, "netns", _netns, value => loaded.Netns = value);
        Override(result, loaded, "capture", _capture, value => loaded.Capture = value);
        Override(result, loaded, "logLevel", _logLevel, value => loaded.LogLevel = value);
        Override(result, loaded, "queues", _queues, value => loaded.Queues = value);
        Override(result, loaded, "impair", _impair, value => loaded.Impair = value);
        Override(result, loaded, "impairIn", _impairIn, value => loaded.ImpairIn = value);
        Override(result, loaded, "impairOut", _impairOut, value => loaded.ImpairOut = value);
        Override(result, loaded, "disableKernelIpv6", _disableIpv6, value => loaded.DisableKernelIpv6 |= value);
        Override(result, loaded, "vnetHdr", _vnetHdr, value => loaded.VnetHdr |= value);
        Override(result, loaded, "offload", _offload, value => loaded.Offload = value);
        Override(result, loaded, "busyPoll", _busyPoll, value => loaded.BusyPoll = value);
        Override(result, loaded, "maxConnections", _maxConnections, value => loaded.MaxConnections = value);
        Override(result, loaded, "tcpMemory", _tcpMemory, value => loaded.TcpMemory = value);
        Override(result, loaded, "congestion", _congestion, value => loaded.Congestion = value);
        Override(result, loaded, "tcpEcn", _tcpEcn, value => loaded.TcpEcn = value);
        Override(result, loaded, "profile", _profile, value => loaded.Profile = value);
        Override(result, loaded, "force", _force, value => loaded.Force |= value);
        return null;
    }

    // An option given on the command line wins over the config file's value.
    private static void Override<T>(ParseResult result, TunSettings settings, string key, Option<T> option, Action<T> set)
    {
        if (result.GetResult(option) is not null)
        {
            set(result.GetValue(option)!);
            settings.SetFromCommandLine(key);
        }
    }
}
