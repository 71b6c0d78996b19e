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
    /// Largest packet <see cref="Receive"/> may deliver and <see cref="Transmit"/> accepts: the MTU,
    /// or up to 65,575 bytes when the link takes or gives TCP super-segments. Default: <see cref="Mtu"/>.
    /// </summary>
    int MaxPacketLength => Mtu;

    /// <summary>
    /// The offloads in force: what the stack may leave to the link on transmit (partial checksums,
    /// super-segments), and what received packets may carry in <see cref="PacketBatch.OffloadAt"/>.
    /// Default: none.
    /// </summary>
    LinkOffloads Offloads => LinkOffloads.None;

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

    /// <summary>
    /// True when the loop that drives the stack may block in <see cref="WaitForPackets"/> itself
    /// (one thread, woken by the kernel), instead of sleeping until another thread signals
    /// <see cref="ReceiveReady"/>. Default: false.
    /// </summary>
    bool CanWaitForPackets => false;

    /// <summary>
    /// Blocks until packets may be waiting to be received, <see cref="InterruptWait"/> is called,
    /// or <paramref name="timeout"/> passes (only when <see cref="CanWaitForPackets"/>). From the
    /// first call on, the link no longer signals <see cref="ReceiveReady"/>.
    /// </summary>
    void WaitForPackets(TimeSpan timeout) => throw new NotSupportedException("This link cannot be waited on; use ReceiveReady.");

    /// <summary>Ends a <see cref="WaitForPackets"/> early, or the next one if none is under way (any thread).</summary>
    void InterruptWait()
    {
    }

    /// <summary>
    /// True when a thread of the host may block in <see cref="ReadBlocking"/>, taking each packet
    /// as it arrives with one system call, and hand what it read to the stack
    /// (<see cref="NetworkStack.Deliver"/>). Default: false.
    /// </summary>
    bool CanReadBlocking => false;

    /// <summary>
    /// From now on packets are read by <see cref="ReadBlocking"/> only, and <see cref="Receive"/>
    /// returns only what the link itself holds back (delayed packets). Call with the stack held.
    /// </summary>
    void BeginBlockingReads() => throw new NotSupportedException("This link cannot be read by a blocking reader.");

    /// <summary>
    /// Blocks until at least one packet has arrived and moves it, and any queued behind it, into
    /// <paramref name="batch"/>; returns how many, or 0 when <see cref="InterruptRead"/> ended the
    /// wait. One reader thread only, never holding the stack: the packets go to the stack through
    /// <see cref="NetworkStack.Deliver"/>, which passes them through <see cref="Admit"/>.
    /// </summary>
    int ReadBlocking(PacketBatch batch) => throw new NotSupportedException("This link cannot be read by a blocking reader.");

    /// <summary>Ends a <see cref="ReadBlocking"/> under way with 0, or the next one if none is (any thread).</summary>
    void InterruptRead()
    {
    }

    /// <summary>
    /// Takes the packets <see cref="ReadBlocking"/> read, on the stack's thread, as
    /// <see cref="Receive"/> would have given them: a decorator does to them what it does to
    /// received packets (impairs, records), leaving in <paramref name="batch"/> those the stack
    /// gets now. Returns how many that is. Default: all of them, untouched.
    /// </summary>
    int Admit(PacketBatch batch, Instant now) => batch.Count;
}
