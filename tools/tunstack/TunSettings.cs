using System.Globalization;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Tun;

namespace TunStack.Cli;

/// <summary>
/// The settings every TUN-backed command shares (up, ping, nc): from the command line, or a JSON
/// file given with --config whose keys are <see cref="Keys"/> (read by <see cref="TunConfigFile"/>).
/// Options on the command line win over the file. Every problem <see cref="Validate"/> finds is
/// phrased in the words of whatever set the value: the option ("--mtu ...") or the key and its file
/// ("'mtu' in /etc/tunstack.json ...").
/// </summary>
public sealed class TunSettings
{
    /// <summary>Default stack addresses.</summary>
    public static readonly string[] DefaultAddresses = { "10.77.0.2/24", "fd77::2/64" };

    /// <summary>The keys of a config file, each with the command-line option that sets the same thing.</summary>
    public static readonly IReadOnlyDictionary<string, string> Keys = new Dictionary<string, string>
    {
        ["tun"] = "--tun",
        ["addresses"] = "--address",
        ["peers"] = "--peer",
        ["routes"] = "--route",
        ["mtu"] = "--mtu",
        ["netns"] = "--netns",
        ["serve"] = "--serve",
        ["capture"] = "--capture",
        ["logLevel"] = "--log-level",
        ["disableKernelIpv6"] = "--disable-kernel-ipv6",
        ["queues"] = "--queues",
        ["vnetHdr"] = "--vnet-hdr",
        ["offload"] = "--offload",
        ["busyPoll"] = "--busy-poll",
        ["impair"] = "--impair",
        ["impairIn"] = "--impair-in",
        ["impairOut"] = "--impair-out",
        ["maxConnections"] = "--max-connections",
        ["tcpMemory"] = "--tcp-memory",
        ["congestion"] = "--congestion",
        ["tcpEcn"] = "--tcp-ecn",
        ["profile"] = "--profile",
        ["force"] = "--force",
        ["control"] = "--control",
        ["logFormat"] = "--log-format",
    };

    private const long MaxBusyPollMicroseconds = 1000;

    // Keys whose value came from a config file, with the file.
    private readonly Dictionary<string, string> _fromFile = new();

    /// <summary>TUN device name.</summary>
    public string Tun { get; set; } = "tunstack0";
    /// <summary>The stack's addresses (CIDR).</summary>
    public List<string> Addresses { get; set; } = new();
    /// <summary>The kernel's addresses on the TUN, one per family.</summary>
    public List<string> Peers { get; set; } = new();
    /// <summary>Routes: "CIDR" or "CIDR via GATEWAY".</summary>
    public List<string> Routes { get; set; } = new();
    /// <summary>Link MTU.</summary>
    public int Mtu { get; set; } = 1500;
    /// <summary>Network namespace, or null for the current one.</summary>
    public string? Netns { get; set; }
    /// <summary>Built-in services (up only).</summary>
    public string Serve { get; set; } = "echo,discard,daytime,chargen";
    /// <summary>pcapng capture file, or null.</summary>
    public string? Capture { get; set; }
    /// <summary>error, warn, info or debug.</summary>
    public string LogLevel { get; set; } = "info";
    /// <summary>Disable IPv6 on the kernel side of the TUN.</summary>
    public bool DisableKernelIpv6 { get; set; }
    /// <summary>TUN queues.</summary>
    public int Queues { get; set; } = 1;

    /// <summary>Virtio-net offloads on the TUN: auto, on or off.</summary>
    public string Offload { get; set; } = "auto";

    /// <summary>Parsed <see cref="Offload"/> (after <see cref="Validate"/>).</summary>
    public TunOffload OffloadMode { get; private set; } = TunOffload.Auto;

    /// <summary>The default <see cref="BusyPoll"/>: TunOptions.DefaultBusyPoll written as a duration ("50us").</summary>
    public static readonly string DefaultBusyPoll = string.Create(CultureInfo.InvariantCulture, $"{TunOptions.DefaultBusyPoll.TotalMicroseconds:0}us");

    /// <summary>How long the TUN's reader polls before it blocks, at most: "off" or a duration such as "50us" (TunOptions.BusyPoll).</summary>
    public string BusyPoll { get; set; } = DefaultBusyPoll;

    /// <summary>Parsed <see cref="BusyPoll"/> (after <see cref="Validate"/>).</summary>
    public TimeSpan BusyPollLimit { get; private set; } = TunOptions.DefaultBusyPoll;
    /// <summary>Open the TUN with a virtio-net header.</summary>
    public bool VnetHdr { get; set; }
    /// <summary>Impairment of both directions, "loss=1%,delay=10ms,..." (ImpairedLink), or null.</summary>
    public string? Impair { get; set; }
    /// <summary>Impairment of what the stack receives (overrides <see cref="Impair"/> for that direction).</summary>
    public string? ImpairIn { get; set; }
    /// <summary>Impairment of what the stack sends (overrides <see cref="Impair"/> for that direction).</summary>
    public string? ImpairOut { get; set; }
    /// <summary>TCP connections the stack holds at most (TcpSettings.MaxConnections), or null for the default that follows the memory budget.</summary>
    public int? MaxConnections { get; set; }

    /// <summary>ECN for TCP as Linux's net.ipv4.tcp_ecn: 0 off, 1 ask and agree, 2 agree only (TcpSettings.Ecn), or null for the default (2).</summary>
    public int? TcpEcn { get; set; }
    /// <summary>The stack's TCP memory budget, "512MiB", "2GiB" or bytes (TcpSettings.MemoryLimit), or null for the default.</summary>
    public string? TcpMemory { get; set; }
    /// <summary>The TCP congestion control by name (TcpSettings.CongestionControlName: cubic, reno, bbr), or null for the default.</summary>
    public string? Congestion { get; set; }
    /// <summary>The TCP wire choices, "default" or "linux" (StackOptions.Apply with StackProfile), or null for the default.</summary>
    public string? Profile { get; set; }
    /// <summary>Parsed <see cref="Profile"/> (after <see cref="Validate"/>).</summary>
    public StackProfile ProfileChoice { get; private set; } = StackProfile.Default;
    /// <summary>Parsed <see cref="TcpMemory"/> in bytes (after <see cref="Validate"/>).</summary>
    public long? TcpMemoryBytes { get; private set; }
    /// <summary>The control socket's path, "none", or null for the default (see <see cref="ControlPaths"/>; up and forward).</summary>
    public string? Control { get; set; }
    /// <summary>Configure the current namespace even where the kernel-side addresses overlap ones it has.</summary>
    public bool Force { get; set; }

    /// <summary>How the log is written (--log-format; the long-running commands only).</summary>
    public LogFormat LogFormat { get; set; }

    /// <summary>Parsed ingress impairment (after <see cref="Validate"/>); None when not impaired.</summary>
    public Impairment Ingress { get; private set; } = Impairment.None;
    /// <summary>Parsed egress impairment (after <see cref="Validate"/>).</summary>
    public Impairment Egress { get; private set; } = Impairment.None;
    /// <summary>Seed of the impairment (seed=N in the text; 1 when not given, so runs repeat).</summary>
    public int ImpairSeed { get; private set; } = 1;

    /// <summary>Parsed stack addresses (after <see cref="Validate"/>).</summary>
    public List<IpPrefix> StackAddresses { get; } = new();
    /// <summary>Kernel addresses with prefix lengths (after <see cref="Validate"/>).</summary>
    public List<IpPrefix> KernelAddresses { get; } = new();
    /// <summary>Parsed routes (after <see cref="Validate"/>).</summary>
    public List<Route> StackRoutes { get; } = new();
    /// <summary>Default routes for the kernel side, via these stack addresses (tunstack forward: the gateway); empty for up.</summary>
    public List<InternetAddress> KernelDefaultGateways { get; } = new();

    /// <summary>Parsed services (after <see cref="Validate"/>).</summary>
    public List<ServiceSpec> Services { get; } = new();
    /// <summary>Parsed log level (after <see cref="Validate"/>).</summary>
    public LogLevel Level { get; private set; } = Cli.LogLevel.Info;

    /// <summary>Records that <paramref name="key"/> was set by the config file <paramref name="file"/>.</summary>
    public void SetFromFile(string key, string file) => _fromFile[key] = file;

    /// <summary>Records that <paramref name="key"/> was set on the command line (which wins over the file).</summary>
    public void SetFromCommandLine(string key) => _fromFile.Remove(key);

    /// <summary>The words for whatever set <paramref name="key"/>: "--mtu", or "'mtu' in FILE".</summary>
    public string Label(string key) => _fromFile.TryGetValue(key, out string? file) ? $"'{key}' in {file}" : Keys[key];

    /// <summary>Checks and parses everything; returns a one-line problem, or null when all is well. Touches nothing outside the process but a probe of the capture file's directory.</summary>
    public string? Validate(bool withServices)
    {
        if (!TunDevice.IsValidName(Tun))
        {
            return $"{Label("tun")}: '{Tun}' is not a valid interface name (1-15 characters, no '/', ':' or spaces)";
        }

        if (Netns is not null && !NetworkNamespace.IsValidName(Netns))
        {
            return $"{Label("netns")}: '{Netns}' is not a valid namespace name (letters, digits, '-', '_', '.')";
        }

        if (Mtu is < 1280 or > 65535)
        {
            return $"{Label("mtu")} must be between 1280 and 65535, not {Mtu}";
        }

        if (MaxConnections is < 1)
        {
            return $"{Label("maxConnections")} must be at least 1, not {MaxConnections}";
        }

        if (TcpEcn is < 0 or > 2)
        {
            return $"{Label("tcpEcn")} must be 0 (off), 1 (ask and agree) or 2 (agree only), not {TcpEcn}";
        }

        if (TcpMemory is not null)
        {
            if (!TryParseSize(TcpMemory, out long bytes) || bytes < 1024 * 1024)
            {
                return $"{Label("tcpMemory")} must be a size of at least 1MiB, such as 512MiB or 2GiB, not '{TcpMemory}'";
            }

            TcpMemoryBytes = bytes;
        }

        var congestionControls = new TunStack.Tcp.Congestion.CongestionControlRegistry();
        if (Congestion is not null && !congestionControls.Contains(Congestion))
        {
            return $"{Label("congestion")} must be one of {string.Join(", ", congestionControls.Names.Order(StringComparer.Ordinal))}, not '{Congestion}'";
        }

        if (Profile is not null)
        {
            switch (Profile)
            {
                case "default": ProfileChoice = StackProfile.Default; break;
                case "linux": ProfileChoice = StackProfile.Linux; break;
                default: return $"{Label("profile")} must be default or linux, not '{Profile}'";
            }
        }

        if (Queues is < 1 or > 16)
        {
            return $"{Label("queues")} must be between 1 and 16, not {Queues}";
        }

        switch (Offload.ToLowerInvariant())
        {
            case "auto": OffloadMode = TunOffload.Auto; break;
            case "on": OffloadMode = TunOffload.On; break;
            case "off": OffloadMode = TunOffload.Off; break;
            default: return $"{Label("offload")} must be auto, on or off, not '{Offload}'";
        }

        if (string.Equals(BusyPoll, "off", StringComparison.OrdinalIgnoreCase))
        {
            BusyPollLimit = TimeSpan.Zero;
        }
        else if (TunStack.Lab.LabQuantity.TryParseDuration(BusyPoll, out long micros) && micros is >= 0 and <= MaxBusyPollMicroseconds)
        {
            BusyPollLimit = TimeSpan.FromMicroseconds(micros);
        }
        else
        {
            return $"{Label("busyPoll")} must be off or a duration of at most 1ms such as 50us, not '{BusyPoll}'";
        }

        if (!Enum.TryParse(LogLevel, ignoreCase: true, out LogLevel level) || !Enum.IsDefined(level) || int.TryParse(LogLevel, out _))
        {
            return $"{Label("logLevel")} must be error, warn, info or debug, not '{LogLevel}'";
        }

        Level = level;
        return ValidateAddresses() ?? ValidateImpairment() ?? ValidateCapture() ?? (withServices ? ValidateServices() : null);
    }

    private string? ValidateAddresses()
    {
        foreach (string text in Addresses.Count > 0 ? Addresses : DefaultAddresses.ToList())
        {
            if (!IpPrefix.TryParse(text, out IpPrefix prefix) || prefix.Address.IsUnspecified || prefix.Address.IsMulticast)
            {
                return $"{Label("addresses")}: '{text}' is not an address with a prefix length (for example 10.77.0.2/24 or fd77::2/64)";
            }

            if (!text.Contains('/', StringComparison.Ordinal))
            {
                return $"{Label("addresses")}: '{text}' needs a prefix length, which says what else is on the TUN's link (for example {text}/{(prefix.Address.IsV6 ? 64 : 24)})";
            }

            StackAddresses.Add(prefix);
        }

        foreach (string text in Routes)
        {
            string[] parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length is not (1 or 3) || !IpPrefix.TryParse(parts[0], out IpPrefix destination)
                || (parts.Length == 3 && (parts[1] != "via" || !InternetAddress.TryParse(parts[2], out _))))
            {
                return $"{Label("routes")}: '{text}' is not 'CIDR' or 'CIDR via GATEWAY'";
            }

            StackRoutes.Add(new Route(destination, parts.Length == 3 ? InternetAddress.Parse(parts[2]) : null));
        }

        var peers = new List<InternetAddress>();
        foreach (string text in Peers)
        {
            if (!InternetAddress.TryParse(text, out InternetAddress peer))
            {
                return $"{Label("peers")}: '{text}' is not an IPv4 or IPv6 address";
            }

            if (peers.Any(p => p.IsV6 == peer.IsV6))
            {
                return $"{Label("peers")}: one kernel address per family ('{text}' is a second {(peer.IsV6 ? "IPv6" : "IPv4")} one)";
            }

            if (!StackAddresses.Any(a => a.Address.IsV6 == peer.IsV6))
            {
                return $"{Label("peers")}: {peer} is {(peer.IsV6 ? "IPv6" : "IPv4")} but the stack has no {(peer.IsV6 ? "IPv6" : "IPv4")} address";
            }

            peers.Add(peer);
        }

        foreach (IGrouping<bool, IpPrefix> family in StackAddresses.GroupBy(a => a.Address.IsV6))
        {
            IpPrefix first = family.First();
            bool given = peers.Any(p => p.IsV6 == family.Key);
            InternetAddress kernel = given ? peers.First(p => p.IsV6 == family.Key) : DerivePeer(first);
            if (StackAddresses.Any(a => a.Address == kernel))
            {
                return $"{Label("peers")}: {kernel} is one of the stack's own addresses; the kernel side needs a different one";
            }

            // The kernel side gets the prefix length of the stack's address: outside that prefix it
            // would have no route to the stack, and the stack none to it.
            if (!first.Contains(kernel))
            {
                return given
                    ? $"{Label("peers")}: {kernel} is outside {Network(first)}, the prefix of the stack's address {first}; the kernel side's address must be inside it"
                    : $"{Label("addresses")}: {first} leaves no other address in its prefix for the kernel side; use a shorter prefix (such as /{(first.Address.IsV6 ? 64 : 24)}) or give {Label("peers")}";
            }

            KernelAddresses.Add(new IpPrefix(kernel, first.Length));
        }

        return null;
    }

    private string? ValidateImpairment()
    {
        foreach ((string key, string? text, bool ingress, bool egress) in new[] { ("impair", Impair, true, true), ("impairIn", ImpairIn, true, false), ("impairOut", ImpairOut, false, true) })
        {
            if (text is null)
            {
                continue;
            }

            if (!Impairment.TryParse(text, out Impairment parsed, out int? seed, out string? error))
            {
                return $"{Label(key)}: {error}";
            }

            ImpairSeed = seed ?? ImpairSeed;
            Ingress = ingress ? parsed : Ingress;
            Egress = egress ? parsed : Egress;
        }

        return null;
    }

    // The capture file is opened before anything else is set up; a path that cannot be written is
    // a problem with the option, found here.
    private string? ValidateCapture()
    {
        if (Capture is not { } capture)
        {
            return null;
        }

        string path = Path.GetFullPath(capture);
        if (Directory.Exists(path))
        {
            return $"{Label("capture")}: {capture} is a directory; give a file name, such as {Path.Combine(capture, "tunstack.pcapng")}";
        }

        string? directory = Path.GetDirectoryName(path);
        if (directory is not null && !Directory.Exists(directory))
        {
            return $"{Label("capture")}: {capture} is in a directory that does not exist ({directory})";
        }

        bool existed = File.Exists(path);
        try
        {
            using var probe = new FileStream(path, existed ? FileMode.Open : FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (UnauthorizedAccessException)
        {
            return $"{Label("capture")}: this user may not write {path}";
        }
        catch (IOException e)
        {
            return $"{Label("capture")}: cannot write {path}: {e.Message}";
        }
        finally
        {
            if (!existed)
            {
                File.Delete(path);
            }
        }

        return null;
    }

    private string? ValidateServices()
    {
        string? problem = ServiceSpec.TryParseList(Serve, Services);
        return problem is null ? null : $"{Label("serve")}: {problem}";
    }

    /// <summary>The prefix with its host bits cleared: 10.77.0.0/24 for 10.77.0.2/24.</summary>
    public static IpPrefix Network(IpPrefix prefix)
    {
        Span<byte> bytes = stackalloc byte[16];
        int n = prefix.Address.WriteTo(bytes);
        Span<byte> network = bytes[..n];
        for (int bit = prefix.Length; bit < n * 8; bit++)
        {
            network[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return new IpPrefix(n == 4 ? InternetAddress.FromV4(network) : InternetAddress.FromV6(network), prefix.Length);
    }

    // The kernel side of a /24 at .2 is .1: the first host of the prefix, or the second if that is ours.
    private static InternetAddress DerivePeer(IpPrefix stack)
    {
        Span<byte> network = stackalloc byte[16];
        int n = Network(stack).Address.WriteTo(network);
        network[n - 1] |= 1;
        InternetAddress first = n == 4 ? InternetAddress.FromV4(network[..n]) : InternetAddress.FromV6(network[..n]);
        if (first != stack.Address)
        {
            return first;
        }

        network[n - 1] = (byte)((network[n - 1] & ~3) | 2);
        return n == 4 ? InternetAddress.FromV4(network[..n]) : InternetAddress.FromV6(network[..n]);
    }

    /// <summary>Builds the stack's options: addresses, on-link routes, and default (or given) routes through the TUN.</summary>
    // "512MiB", "2GiB", "64KiB" or a number of bytes.
    private static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        string t = text.Trim();
        long unit = 1;
        foreach ((string suffix, long size) in new[] { ("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30) })
        {
            if (t.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                unit = size;
                t = t[..^suffix.Length];
                break;
            }
        }

        if (!long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out long count) || count > long.MaxValue / unit)
        {
            return false;
        }

        bytes = count * unit;
        return true;
    }

    public StackOptions ToStackOptions()
    {
        var options = new StackOptions().Apply(ProfileChoice);
        if (TcpMemoryBytes is long memory)
        {
            options.Tcp.MemoryLimit = memory;
        }

        if (MaxConnections is int connections)
        {
            options.Tcp.MaxConnections = connections;
        }

        if (Congestion is not null)
        {
            options.Tcp.CongestionControlName = Congestion;
        }

        if (TcpEcn is int ecn)
        {
            options.Tcp.Ecn = (TcpEcnMode)ecn;
        }

        foreach (IpPrefix a in StackAddresses)
        {
            options.Addresses.Add(a);
        }

        if (StackRoutes.Count > 0)
        {
            foreach (IpPrefix a in StackAddresses)
            {
                options.Routes.Add(new Route(a));
            }

            foreach (Route r in StackRoutes)
            {
                options.Routes.Add(r);
            }
        }
        else
        {
            // Everything not on-link goes to the kernel side of the TUN.
            foreach (IpPrefix kernel in KernelAddresses)
            {
                options.Routes.Add(new Route(new IpPrefix(kernel.Address, kernel.Length)));
                options.Routes.Add(new Route(new IpPrefix(kernel.Address.IsV6 ? InternetAddress.AnyV6 : InternetAddress.AnyV4, 0), kernel.Address));
            }
        }

        return options;
    }

    /// <summary>What the TUN interface should be.</summary>
    public TunInterfaceOptions ToInterfaceOptions() => new()
    {
        Device = new TunOptions
        {
            Name = Tun,
            Mtu = Mtu,
            Queues = Queues,
            VnetHeader = VnetHdr,
            Offload = OffloadMode,
            BusyPoll = BusyPollLimit,
            DevicePath = Environment.GetEnvironmentVariable("TUNSTACK_TUN_DEVICE") ?? "/dev/net/tun",
        },
        KernelAddresses = KernelAddresses,
        Namespace = Netns,
        DefaultGateways = KernelDefaultGateways,
        DisableKernelIpv6 = DisableKernelIpv6 || !StackAddresses.Any(a => a.Address.IsV6),
    };

    /// <summary>A one-line summary for the ready line; <paramref name="readerThread"/> when a thread of its own reads the TUN (StackRunner.HasReaderThread).</summary>
    public string Describe(TunInterface tun, bool readerThread)
    {
        TcpSettings tcp = ToStackOptions().Tcp; // the TCP bounds the stack takes, given or defaulted
        return string.Create(CultureInfo.InvariantCulture,
            $"tun {Tun}{(Netns is null ? string.Empty : $" in netns {Netns}")}{(tun.Attached ? " (attached)" : string.Empty)}, mtu {Mtu}; "
            + $"stack {string.Join(' ', StackAddresses)}; kernel side {(tun.Attached ? "(as configured)" : string.Join(' ', KernelAddresses.Select(k => k.Address)))}; "
            + $"{DescribeOffloads(tun.Device)}; {DescribeBusyPoll(tun.Device, readerThread)}; TCP memory {tcp.MemoryLimit >> 20} MiB, at most {tcp.MaxConnections} connections");
    }

    // Whether the TUN's reader polls before it blocks, for the ready line: only a single-queue TUN
    // read by a thread of its own does (StackRunner.HasReaderThread); loops that wait in poll() do not.
    private static string DescribeBusyPoll(TunDevice device, bool readerThread) => device.BusyPollLimit == TimeSpan.Zero
        ? "busy poll off"
        : !readerThread ? "busy poll off (no reader thread: the loop waits in poll())" : string.Create(CultureInfo.InvariantCulture, $"busy poll up to {device.BusyPollLimit.TotalMicroseconds:0}us");

    // Which offloads the TUN runs with, for the ready line.
    private static string DescribeOffloads(TunDevice device) => device.Offloads == LinkOffloads.None
        ? device.OffloadFallback is null ? "offloads off" : "offloads off (kernel refused them)"
        : "offloads " + string.Join(", ", new[]
            {
                (device.Offloads & LinkOffloads.TransportChecksum) != 0 ? "checksum" : null,
                (device.Offloads & LinkOffloads.TcpSegmentationV4) != 0 ? "TSO4" : null,
                (device.Offloads & LinkOffloads.TcpSegmentationV6) != 0 ? "TSO6" : null,
            }.Where(n => n is not null));
}
