using TunStack.Ip;

namespace TunStack.Tun;

/// <summary>
/// A TUN device with its kernel side configured, in a network namespace: opens or creates the
/// namespace, creates the device or attaches to a persistent one, and for a device it created
/// sets MTU, addresses and link up through rtnetlink. Dispose undoes exactly what it did: a device
/// it attached to keeps its configuration, and the namespace is left through
/// <see cref="NetworkNamespace.Leave"/> (removed only when a TunStack process made it and no other
/// one still uses it). Every step, both ways, is a line for the log.
/// </summary>
public sealed class TunInterface : IDisposable
{
    private readonly Action<string>? _log;
    private int _disposed;

    private TunInterface(TunDevice device, NetworkNamespace? ns, int index, Action<string>? log)
    {
        Device = device;
        Namespace = ns;
        Index = index;
        _log = log;
    }

    /// <summary>The device (the stack's link).</summary>
    public TunDevice Device { get; }

    /// <summary>The namespace, or null for the current one.</summary>
    public NetworkNamespace? Namespace { get; }

    /// <summary>Interface index on the kernel side.</summary>
    public int Index { get; }

    /// <summary>True when an existing persistent device was attached to (its configuration was left alone).</summary>
    public bool Attached => !Device.CreatedByUs;

    /// <summary>Sets everything up; on failure undoes what was done and throws <see cref="TunException"/> (<see cref="TunPermissionException"/> for a missing privilege).</summary>
    public static TunInterface Open(TunInterfaceOptions options, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        NetworkNamespace? ns = null;
        if (options.Namespace is { } name)
        {
            ns = NetworkNamespace.OpenOrCreate(name);
            log?.Invoke(ns.Opened);
        }

        try
        {
            (TunDevice device, int index) = ns is null ? Setup(options, log) : ns.Run(() => Setup(options, log));
            return new TunInterface(device, ns, index, log);
        }
        catch
        {
            if (ns is not null)
            {
                string left = ns.Leave();
                log?.Invoke(left);
            }

            throw;
        }
    }

    /// <summary>
    /// What the kernel-side addresses of <paramref name="options"/> would overlap in the namespace
    /// they would go into (the current one, or an existing named one; a namespace still to be
    /// created has nothing): addresses of other interfaces and routes of the main table whose
    /// prefixes overlap, default routes aside. Empty when the device exists already (it is
    /// attached to and its configuration left alone). Changes nothing. Each entry is one phrase,
    /// such as "10.77.0.1/24 overlaps 10.77.0.9/16 on eth0".
    /// </summary>
    public static IReadOnlyList<string> FindConflicts(TunInterfaceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Namespace is { } name)
        {
            return NetworkNamespace.Exists(name) ? NetworkNamespace.Existing(name).Run(() => FindConflictsHere(options)) : Array.Empty<string>();
        }

        return FindConflictsHere(options);
    }

    private static List<string> FindConflictsHere(TunInterfaceOptions options)
    {
        var conflicts = new List<string>();
        using RtNetlink netlink = RtNetlink.Open();
        if (netlink.GetLinkIndex(options.Device.Name) != 0)
        {
            return conflicts;
        }

        Dictionary<int, string> links = netlink.ListLinks();
        List<(int Index, IpPrefix Address)> addresses = netlink.ListAddresses();
        List<(IpPrefix Destination, int Index, InternetAddress? Gateway)> routes = netlink.ListRoutes();
        string Link(int index) => links.TryGetValue(index, out string? n) ? n : $"interface {index}";
        foreach (IpPrefix kernel in options.KernelAddresses.Where(k => !(k.Address.IsV6 && options.DisableKernelIpv6)))
        {
            var reported = new HashSet<int>();
            foreach ((int index, IpPrefix address) in addresses.Where(a => Overlap(kernel, a.Address)))
            {
                conflicts.Add($"{kernel} overlaps {address} on {Link(index)}");
                reported.Add(index);
            }

            foreach ((IpPrefix destination, int index, InternetAddress? gateway) in routes.Where(r => r.Destination.Length > 0 && Overlap(kernel, r.Destination) && !reported.Contains(r.Index)))
            {
                conflicts.Add($"{kernel} overlaps the route to {destination}{(gateway is { } g ? $" via {g}" : string.Empty)}{(index != 0 ? $" on {Link(index)}" : string.Empty)}");
            }
        }

        return conflicts;
    }

    // Two prefixes overlap when the shorter one contains the other's address.
    private static bool Overlap(IpPrefix a, IpPrefix b)
        => a.Address.IsV6 == b.Address.IsV6 && (a.Length <= b.Length ? a.Contains(b.Address) : b.Contains(a.Address));

    // Runs inside the namespace: descriptors opened here stay bound to it.
    private static (TunDevice Device, int Index) Setup(TunInterfaceOptions options, Action<string>? log)
    {
        TunDevice device = TunDevice.Open(options.Device);
        if (device.OffloadFallback is { } why)
        {
            log?.Invoke($"offloads off on {device.Name}: {why}; packets go one by one with their checksums");
        }

        try
        {
            using RtNetlink netlink = RtNetlink.Open();
            int index = netlink.GetLinkIndex(device.Name);
            if (!device.CreatedByUs)
            {
                log?.Invoke($"attached to existing TUN device {device.Name}; its kernel-side configuration is left as it is");
                return (device, index);
            }

            log?.Invoke($"created TUN device {device.Name} (index {index})");
            netlink.SetMtu(index, options.Device.Mtu);
            if (options.DisableKernelIpv6)
            {
                File.WriteAllText($"/proc/sys/net/ipv6/conf/{device.Name}/disable_ipv6", "1");
            }

            foreach (IpPrefix address in options.KernelAddresses)
            {
                if (address.Address.IsV6 && options.DisableKernelIpv6)
                {
                    continue;
                }

                netlink.AddAddress(index, address);
                log?.Invoke($"kernel side of {device.Name}: {address}");
            }

            netlink.SetLinkUp(index, true);
            foreach (InternetAddress gateway in options.DefaultGateways)
            {
                if (gateway.IsV6 && options.DisableKernelIpv6)
                {
                    continue;
                }

                netlink.AddRoute(new IpPrefix(gateway.IsV6 ? InternetAddress.AnyV6 : InternetAddress.AnyV4, 0), index, gateway);
                log?.Invoke($"kernel side of {device.Name}: default route via {gateway}");
            }

            return (device, index);
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Closes the device (a device this process created disappears with its addresses and routes;
    /// one it attached to stays as it was) and leaves the namespace (see
    /// <see cref="NetworkNamespace.Leave"/>), logging what it did.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Device.Dispose();
        _log?.Invoke(Device.CreatedByUs
            ? $"removed TUN device {Device.Name} with its kernel-side addresses"
            : $"detached from TUN device {Device.Name}; it stays as it was");
        if (Namespace is not null)
        {
            try
            {
                string left = Namespace.Leave();
                _log?.Invoke(left);
            }
            catch (Exception e) when (e is TunException or IOException or UnauthorizedAccessException)
            {
                _log?.Invoke($"could not leave network namespace {Namespace.Name} cleanly: {e.Message}");
            }
        }
    }
}
