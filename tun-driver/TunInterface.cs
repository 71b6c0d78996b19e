using TunStack.Ip;

namespace TunStack.Tun;

/// <summary>
/// A TUN device with its kernel side configured, in a network namespace: opens or creates the
/// namespace, creates the device or attaches to a persistent one, and for a device it created
/// sets MTU, addresses and link up through rtnetlink. Dispose undoes exactly what it did: a device
/// it attached to keeps its configuration, a namespace it did not create stays.
/// </summary>
public sealed class TunInterface : IDisposable
{
    private TunInterface(TunDevice device, NetworkNamespace? ns, int index)
    {
        Device = device;
        Namespace = ns;
        Index = index;
    }

    /// <summary>The device (the stack's link).</summary>
    public TunDevice Device { get; }

    /// <summary>The namespace, or null for the current one.</summary>
    public NetworkNamespace? Namespace { get; }

    /// <summary>Interface index on the kernel side.</summary>
    public int Index { get; }

    /// <summary>True when an existing persistent device was attached to (its configuration was left alone).</summary>
    public bool Attached => !Device.CreatedByUs;

    /// <summary>Sets everything up; on failure undoes what was done and throws <see cref="TunException"/>.</summary>
    public static TunInterface Open(TunInterfaceOptions options, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        NetworkNamespace? ns = null;
        if (options.Namespace is { } name)
        {
            ns = NetworkNamespace.OpenOrCreate(name);
            log?.Invoke(ns.CreatedByUs ? $"created network namespace {name}" : $"using existing network namespace {name}");
        }

        try
        {
            (TunDevice device, int index) = ns is null ? Setup(options, log) : ns.Run(() => Setup(options, log));
            return new TunInterface(device, ns, index);
        }
        catch
        {
            if (ns?.CreatedByUs == true)
            {
                ns.Delete();
            }

            throw;
        }
    }

    // Runs inside the namespace: descriptors opened here stay bound to it.
    private static (TunDevice Device, int Index) Setup(TunInterfaceOptions options, Action<string>? log)
    {
        TunDevice device = TunDevice.Open(options.Device);
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
            return (device, index);
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    /// <summary>Closes the device (a device this process created disappears with its configuration) and removes a namespace it created.</summary>
    public void Dispose()
    {
        Device.Dispose();
        if (Namespace?.CreatedByUs == true)
        {
            Namespace.Delete();
        }
    }
}
