namespace TunStack.Tun;

/// <summary>How to open a TUN device.</summary>
public sealed record TunOptions
{
    /// <summary>Interface name (1-15 characters); a device of that name is attached to if it exists.</summary>
    public string Name { get; init; } = "tunstack0";

    /// <summary>MTU the stack uses on this link (the kernel side is configured separately).</summary>
    public int Mtu { get; init; } = 1500;

    /// <summary>Queues (IFF_MULTI_QUEUE when more than one; one descriptor per queue).</summary>
    public int Queues { get; init; } = 1;

    /// <summary>Open with IFF_VNET_HDR and TUNSETVNETHDRSZ: every packet carries a virtio_net_hdr.</summary>
    public bool VnetHeader { get; init; }

    /// <summary>The clone device (tests point it elsewhere to simulate a missing driver).</summary>
    public string DevicePath { get; init; } = "/dev/net/tun";
}
