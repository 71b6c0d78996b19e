namespace TunStack.Tun;

/// <summary>Whether a TUN device is opened with virtio-net offloads (checksum, TSO4, TSO6).</summary>
public enum TunOffload
{
    /// <summary>On when the kernel accepts them (TUNSETOFFLOAD); plain packets otherwise, with <see cref="TunDevice.OffloadFallback"/> saying why.</summary>
    Auto,

    /// <summary>On, or opening fails naming why.</summary>
    On,

    /// <summary>Plain packets (a virtio-net header only with <see cref="TunOptions.VnetHeader"/>).</summary>
    Off,
}
