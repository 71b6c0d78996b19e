namespace TunStack.Sockets;

/// <summary>Flags of recv/send that <see cref="System.Net.Sockets.SocketFlags"/> has no member for.</summary>
public static class StackSocketFlags
{
    /// <summary>MSG_WAITALL: a blocking receive waits for the whole buffer (or EOF, an error, a signal of close).</summary>
    public const System.Net.Sockets.SocketFlags WaitAll = (System.Net.Sockets.SocketFlags)0x0100_0000;

    /// <summary>MSG_DONTWAIT: this one call does not block, whatever <see cref="StackSocket.Blocking"/> says.</summary>
    public const System.Net.Sockets.SocketFlags DontWait = (System.Net.Sockets.SocketFlags)0x0200_0000;
}
