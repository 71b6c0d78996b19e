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

    /// <summary>
    /// Open with IFF_VNET_HDR and TUNSETVNETHDRSZ even without offloads: every packet carries a
    /// virtio_net_hdr. Offloads (<see cref="Offload"/>) imply it.
    /// </summary>
    public bool VnetHeader { get; init; }

    /// <summary>
    /// Checksum and TCP segmentation offloads through the virtio-net header (TUNSETOFFLOAD with
    /// TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6): the kernel hands over and takes 64 KiB TCP
    /// super-segments and leaves checksums it vouches for unverified. Default: <see cref="TunOffload.Auto"/>.
    /// </summary>
    public TunOffload Offload { get; init; } = TunOffload.Auto;

    /// <summary>
    /// The TUN_F_* flags asked of TUNSETOFFLOAD (checksum, TSO4, TSO6). Tests ask for an unknown
    /// bit, which the kernel refuses, to see the refusal handled.
    /// </summary>
    internal uint OffloadFlags { get; init; } = 0x01 | 0x02 | 0x04;

    /// <summary>
    /// How long, at most, the thread that reads a single-queue TUN in blocking reads
    /// (<see cref="TunDevice.ReadBlocking"/>) polls the queue with reads that do not wait before
    /// it blocks. The poll adapts between zero and this limit to the gaps between packets (it
    /// opens while packets come within the limit of each other, and closes when they stop), so an
    /// idle device costs nothing; a request/response exchange is answered without the sleep and
    /// wake-up of a blocked thread, at the price of a busy CPU while it lasts. Zero turns polling
    /// off. Default: <see cref="DefaultBusyPoll"/>.
    /// </summary>
    public TimeSpan BusyPoll { get; init; } = DefaultBusyPoll;

    /// <summary>The default <see cref="BusyPoll"/> limit, 50 µs.</summary>
    public static readonly TimeSpan DefaultBusyPoll = TimeSpan.FromMicroseconds(50);

    /// <summary>The clone device (tests point it elsewhere to simulate a missing driver).</summary>
    public string DevicePath { get; init; } = "/dev/net/tun";
}
