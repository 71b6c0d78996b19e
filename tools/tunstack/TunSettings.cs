using System.Globalization;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Tun;

namespace TunStack.Cli;

/// <summary>
/// The settings every TUN-backed command shares (up, ping, nc): from the command line, or a JSON
/// file given with --config whose keys are the option names in camelCase (tun, addresses, peers,
/// routes, mtu, netns, serve, capture, logLevel, disableKernelIpv6, queues, vnetHdr). Options on
/// the command line win over the file.
/// </summary>
public sealed class TunSettings
{
    /// <summary>Default stack addresses.</summary>
    public static readonly string[] DefaultAddresses = { "10.77.0.2/24", "fd77::2/64" };

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
    /// <summary>Network namespace, or null.</summary>
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
    /// <summary>Open the TUN with a virtio-net header.</summary>
    public bool VnetHdr { get; set; }
    /// <summary>Impairment of both directions, "loss=1%,delay=10ms,..." (ImpairedLink), or null.</summary>
    public string? Impair { get; set; }
    /// <summary>Impairment of what the stack receives (overrides <see cref="Impair"/> for that direction).</summary>
    public string? ImpairIn { get; set; }
    /// <summary>Impairment of what the stack sends (overrides <see cref="Impair"/> for that direction).</summary>
    public string? ImpairOut { get; set; }

    /// <summary>Parsed ingress impairment (after <see cref="Validate"/>); None when not impaired.</summary>
    public Impairment Ingress { get; private set; } = Impairment.None;
    /// <summary>Parsed egress impairment (after <see cref="Validate"/>).</summary>
    public Impairment Egress { get; private set; } = Impairment.None;
    /// <summary>Seed of the impairment (seed=N in the text; 1 when not given, so runs repeat).</summary>
    public int ImpairSeed { get; private set; } = 1;
    /// <summary>True when any direction is impaired.</summary>
    public bool Impaired => Impair is not null || ImpairIn is not null || ImpairOut is not null;

    /// <summary>Parsed stack addresses (after <see cref="Validate"/>).</summary>
    public List<IpPrefix> StackAddresses { get; } = new();
    /// <summary>Kernel addresses with prefix lengths (after <see cref="Validate"/>).</summary>
    public List<IpPrefix> KernelAddresses { get; } = new();
    /// <summary>Parsed routes (after <see cref="Validate"/>).</summary>
    public List<Route> StackRoutes { get; } = new();
    /// <summary>Parsed services (after <see cref="Validate"/>).</summary>
    public List<ServiceSpec> Services { get; } = new();
    /// <summary>Parsed log level (after <see cref="Validate"/>).</summary>
    public LogLevel Level { get; private set; } = Cli.LogLevel.Info;

    /// <summary>Checks and parses everything; returns a one-line problem, or null when all is well.</summary>
    public string? Validate(bool withServices)
    {
        if (!TunDevice.IsValidName(Tun))
        {
            return $"--tun: '{Tun}' is not a valid interface name (1-15 characters, no '/', ':' or spaces)";
        }

        if (Netns is not null && !NetworkNamespace.IsValidName(Netns))
        {
            return $"--netns: '{Netns}' is not a valid namespace name (letters, digits, '-', '_', '.')";
        }

        if (Mtu is < 1280 or > 65535)
        {
            return $"--mtu must be between 1280 and 65535, not {Mtu}";
        }

        if (Queues is < 1 or > 16)
        {
            return $"--queues must be between 1 and 16, not {Queues}";
        }

        if (!Enum.TryParse(LogLevel, ignoreCase: true, out LogLevel level) || !Enum.IsDefined(level) || int.TryParse(LogLevel, out _))
        {
            return $"--log-level must be error, warn, info or debug, not '{LogLevel}'";
        }

        Level = level;
        foreach (string text in Addresses.Count > 0 ? Addresses : DefaultAddresses.ToList())
        {
            if (!IpPrefix.TryParse(text, out IpPrefix prefix) || prefix.Address.IsUnspecified || prefix.Address.IsMulticast)
            {
                return $"--address: '{text}' is not an address with a prefix length (for example 10.77.0.2/24 or fd77::2/64)";
            }

            StackAddresses.Add(prefix);
        }

        var peers = new List<InternetAddress>();
        foreach (string text in Peers)
        {
            if (!InternetAddress.TryParse(text, out InternetAddress peer))
            {
                return $"--peer: '{text}' is not an IPv4 or IPv6 address";
            }

            if (peers.Any(p => p.IsV6 == peer.IsV6))
            {
                return $"--peer: one kernel address per family ('{text}' is a second {(peer.IsV6 ? "IPv6" : "IPv4")} one)";
            }

            peers.Add(peer);
        }

        foreach (IGrouping<bool, IpPrefix> family in StackAddresses.GroupBy(a => a.Address.IsV6))
        {
            IpPrefix first = family.First();
            InternetAddress kernel = peers.FirstOrDefault(p => p.IsV6 == family.Key, default);
            if (!peers.Any(p => p.IsV6 == family.Key))
            {
                kernel = DerivePeer(first);
            }

            if (StackAddresses.Any(a => a.Address == kernel))
            {
                return $"--peer: {kernel} is one of the stack's own addresses; the kernel side needs a different one";
            }

            KernelAddresses.Add(new IpPrefix(kernel, first.Length));
        }

        foreach (string text in Routes)
        {
            string[] parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length is not (1 or 3) || !IpPrefix.TryParse(parts[0], out IpPrefix destination)
                || (parts.Length == 3 && (parts[1] != "via" || !InternetAddress.TryParse(parts[2], out _))))
            {
                return $"--route: '{text}' is not 'CIDR' or 'CIDR via GATEWAY'";
            }

            StackRoutes.Add(new Route(destination, parts.Length == 3 ? InternetAddress.Parse(parts[2]) : null));
        }

        foreach ((string option, string? text, bool ingress, bool egress) in new[] { ("--impair", Impair, true, true), ("--impair-in", ImpairIn, true, false), ("--impair-out", ImpairOut, false, true) })
        {
            if (text is null)
            {
                continue;
            }

            if (!Impairment.TryParse(text, out Impairment parsed, out int? seed, out string? error))
            {
                return $"{option}: {error}";
            }

            ImpairSeed = seed ?? ImpairSeed;
            Ingress = ingress ? parsed : Ingress;
            Egress = egress ? parsed : Egress;
        }

        if (withServices)
        {
            string? problem = ServiceSpec.TryParseList(Serve, Services);
            if (problem is not null)
            {
                return $"--serve: {problem}";
            }
        }

        return null;
    }

    // The kernel side of a /24 at .2 is .1: the first host of the prefix, or the second if that is ours.
    private static InternetAddress DerivePeer(IpPrefix stack)
    {
        Span<byte> bytes = stackalloc byte[16];
        int n = stack.Address.WriteTo(bytes);
        Span<byte> network = bytes[..n];
        for (int bit = stack.Length; bit < n * 8; bit++)
        {
            network[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        network[n - 1] |= 1;
        InternetAddress first = n == 4 ? InternetAddress.FromV4(network) : InternetAddress.FromV6(network);
        if (first != stack.Address)
        {
            return first;
        }

        network[n - 1] = (byte)((network[n - 1] & ~3) | 2);
        return n == 4 ? InternetAddress.FromV4(network) : InternetAddress.FromV6(network);
    }

    /// <summary>Builds the stack's options: addresses, on-link routes, and default (or given) routes through the TUN.</summary>
    public StackOptions ToStackOptions()
    {
        var options = new StackOptions();
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
            DevicePath = Environment.GetEnvironmentVariable("TUNSTACK_TUN_DEVICE") ?? "/dev/net/tun",
        },
        KernelAddresses = KernelAddresses,
        Namespace = Netns,
        DisableKernelIpv6 = DisableKernelIpv6 || !StackAddresses.Any(a => a.Address.IsV6),
    };

    /// <summary>A one-line summary for the ready line.</summary>
    public string Describe(TunInterface tun) => string.Create(CultureInfo.InvariantCulture,
        $"tun {Tun}{(Netns is null ? string.Empty : $" in netns {Netns}")}{(tun.Attached ? " (attached)" : string.Empty)}, mtu {Mtu}; "
        + $"stack {string.Join(' ', StackAddresses)}; kernel side {(tun.Attached ? "(as configured)" : string.Join(' ', KernelAddresses.Select(k => k.Address)))}");
}
