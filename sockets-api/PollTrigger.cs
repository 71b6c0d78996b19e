namespace TunStack.Sockets;

/// <summary>When a <see cref="PollSet"/> reports a registered socket: epoll's default, EPOLLET and EPOLLONESHOT.</summary>
[Flags]
public enum PollTrigger
{
    /// <summary>Level-triggered (epoll's default): every wait reports the socket while a registered condition holds.</summary>
    Level = 0,

    /// <summary>
    /// Edge-triggered (EPOLLET): a wait reports the socket once for the readiness events that came
    /// since its last report (data or a connection arrived, room to write opened, the state
    /// changed), not again while nothing new happens. Read (or write) until
    /// <see cref="System.Net.Sockets.SocketError.WouldBlock"/> before waiting again.
    /// </summary>
    Edge = 1,

    /// <summary>
    /// One-shot (EPOLLONESHOT): after one report the socket stays registered but is not reported
    /// again until <see cref="PollSet.Modify"/> re-arms it. Combines with <see cref="Edge"/>.
    /// </summary>
    OneShot = 2,
}
