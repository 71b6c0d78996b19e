namespace TunStack.Sockets;

/// <summary>Flags of recv/send that <see cref="System.Net.Sockets.SocketFlags"/> has no member for.</summary>
public static class StackSocketFlags
{
    /// <summary>MSG_WAITALL: a blocking receive waits for the whole buffer (or EOF, an error, a signal of close).</summary>
    public const System.Net.Sockets.SocketFlags WaitAll = (System.Net.Sockets.SocketFlags)0x0100_0000;

    /// <summary>MSG_DONTWAIT: this one call does not block, whatever <see cref="StackSocket.Blocking"/> says.</summary>
    public const System.Net.Sockets.SocketFlags DontWait = (System.Net.Sockets.SocketFlags)0x0200_0000;

    /// <summary>
    /// MSG_MORE on a stream socket: more data follows at once, so what this call queues is not sent
    /// on its own; it leaves with the next send without the flag (or when a whole super-segment is
    /// waiting, or when an ACK or a timer makes the connection send). A writer that has a response
    /// in several buffers sends all but the last with it, and the response leaves as one packet.
    /// Ignored on a datagram socket (each datagram is sent as it is given).
    /// </summary>
    public const System.Net.Sockets.SocketFlags More = (System.Net.Sockets.SocketFlags)0x0400_0000;
}
