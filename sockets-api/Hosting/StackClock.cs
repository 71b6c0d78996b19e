
namespace TunStack.Sockets.Hosting;

/// <summary>How a <see cref="StackRunner"/> tells time.</summary>
public enum StackClock
{
    /// <summary>The monotonic real clock (<see cref="StackRunner.Now"/>).</summary>
    Real,

    /// <summary>
    /// A virtual clock that starts at zero and, whenever the stack has been idle for a moment of
    /// real time (no packet, no application call, nothing due), jumps straight to the stack's next
    /// deadline. Retransmission backoff, TIME-WAIT and keepalive run in milliseconds: for tests and
    /// for the protocol lab, never for a stack that talks to a real peer.
    /// </summary>
    Virtual,

    /// <summary>
    /// A virtual clock that starts at zero and moves only when the runner's owner calls
    /// <see cref="StackRunner.AdvanceTo"/>. The runner's loop is not started: the owner polls the
    /// stack itself through <see cref="StackRunner.Enter"/>, so that the whole conversation runs on
    /// the owner's schedule (the packetdrill shim drives a stack this way: the script's clock is
    /// the stack's).
    /// </summary>
    Manual,
}
