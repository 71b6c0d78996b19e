using TunStack.Links;
using TunStack.Storage;

namespace TunStack.Tests.Links;

/// <summary>
/// A test's decorator of a link: everything goes to <see cref="Inner"/> unless the test's link
/// overrides it (most override <see cref="Transmit"/> to record, drop or answer packets).
/// </summary>
internal abstract class PassThroughLink(ILink inner) : ILink
{
    protected ILink Inner { get; } = inner;

    public virtual int Mtu => Inner.Mtu;

    public virtual int MaxPacketLength => Inner.MaxPacketLength;

    public virtual LinkOffloads Offloads => Inner.Offloads;

    public Action? ReceiveReady { get => Inner.ReceiveReady; set => Inner.ReceiveReady = value; }

    public virtual Instant NextDeadline => Inner.NextDeadline;

    public virtual int Receive(PacketBatch batch, Instant now) => Inner.Receive(batch, now);

    public virtual void Transmit(PacketBatch batch, Instant now) => Inner.Transmit(batch, now);

    public void Dispose() => Inner.Dispose();
}
