using TunStack.Ip;
using TunStack.Storage;

namespace TunStack.Links;

/// <summary>One stack's link to a <see cref="MemorySwitch"/>: what it transmits goes to the switch; it receives what is addressed to it.</summary>
internal sealed class MemorySwitchPort : ILink
{
    private readonly MemorySwitch _switch;
    private readonly InternetAddress[] _addresses;
    private readonly PacketQueue _inbound;

    internal MemorySwitchPort(MemorySwitch owner, IEnumerable<InternetAddress> addresses, int mtu, int queueCapacity)
    {
        _switch = owner;
        _addresses = addresses.ToArray();
        Mtu = mtu;
        _inbound = new PacketQueue(queueCapacity, mtu, allocateUpFront: false); // a simulation's many ports are rarely deep
    }

    /// <inheritdoc/>
    public int Mtu { get; }

    /// <inheritdoc/>
    public Action? ReceiveReady { get; set; }

    /// <inheritdoc/>
    public Instant NextDeadline => _inbound.HasPackets ? Instant.Zero : Instant.MaxValue;

    /// <inheritdoc/>
    public int Receive(PacketBatch batch, Instant now) => _inbound.DequeueInto(batch);

    /// <inheritdoc/>
    public void Transmit(PacketBatch batch, Instant now)
    {
        for (int i = 0; i < batch.Count; i++)
        {
            _switch.Forward(batch[i]);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
    }

    internal bool Owns(InternetAddress address) => Array.IndexOf(_addresses, address) >= 0;

    internal bool Deliver(ReadOnlySpan<byte> packet)
    {
        if (!_inbound.TryEnqueue(packet))
        {
            return false;
        }

        ReceiveReady?.Invoke();
        return true;
    }
}
