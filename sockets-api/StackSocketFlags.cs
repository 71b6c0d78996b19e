namespace TunStack.Sockets;

/// <summary>Flags of recv/send that <see cref="System.Net.Sockets.SocketFlags"/> has no member for.</summary>
public static class StackSocketFlags
{
    /// <summary>MSG_WAITALL: a blocking receive waits for the whole buffer (or EOF, an error, a signal of close).</summary>
    public const System.Net.Sockets.SocketFlags WaitAll = (System.Net.Sockets.SocketFlags)0x0100_0000;

    /// <summary>MSG_DONTWAIT: this one call does not block, whatever <see cref="StackSocket.Blocking"/> says.</summary>
    public const System.Net.Sockets.SocketFlags DontWait = (System.Net.Sockets.SocketFlags)0x0200_0000;

    /// <summary>
    /// MSG_EOR on a stream socket: the data sent ends a record, and the stack never puts bytes
    /// from both sides of that boundary in one segment, new or retransmitted (as Linux's
    /// tcp_skb_can_collapse_to). Marked only when the send takes all of the data.
    /// </summary>
    public const System.Net.Sockets.SocketFlags EndOfRecord = (System.Net.Sockets.SocketFlags)0x0400_0000;

    /// <summary>
    /// MSG_MORE on a stream socket: more data follows, so a partial segment at the end of this
    /// send waits (as under <see cref="StackSocket.Cork"/>, even with Nagle off) until a later send
    /// without it, an ACK, <see cref="StackSocket.NoDelay"/> being set, or the probe timer; it
    /// carries no PSH.
    /// </summary>
    public const System.Net.Sockets.SocketFlags More = (System.Net.Sockets.SocketFlags)0x0800_0000;
}
