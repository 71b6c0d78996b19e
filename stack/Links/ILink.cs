// Links/ owns the boundary between the stack and a wire: the ILink contract, an in-process wire
// (MemoryLink), decorators that impair (ImpairedLink) or record (CaptureLink) traffic.
using TunStack.Storage;

namespace TunStack.Links;

/// <summary>
/// A point-to-point link that carries raw IPv4/IPv6 packets (no link-layer header), like a TUN
/// device. Calls come only from the stack's owner thread; implementations never block.
/// </summary>
public interface ILink : IDisposable
{
    /// <summary>Largest IP packet the link carries.</summary>
    int Mtu { get; }

    /// <summary>
    /// Moves waiting packets into <paramref name="batch"/> until it is full or none are left;
    /// returns how many were added. Never blocks.
    /// </summary>
    int Receive(PacketBatch batch, Instant now);

    /// <summary>Sends every packet in <paramref name="batch"/>; the link copies whatever it keeps.</summary>
    void Transmit(PacketBatch batch, Instant now);

    /// <summary>When the link next needs <see cref="Receive"/> called even without new input (delayed packets), or <see cref="Instant.MaxValue"/>.</summary>
    Instant NextDeadline => Instant.MaxValue;

    /// <summary>
    /// Set by a host runner: called, possibly from another thread, when packets become available
    /// to <see cref="Receive"/>. Must be cheap and must not call back into the link.
    /// </summary>
    Action? ReceiveReady { get; set; }
}
