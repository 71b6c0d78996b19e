// One descriptor handed to packetdrill: a real descriptor number standing for a StackSocket.
using TunStack.Sockets;

namespace TunStack.PacketdrillShim;

/// <summary>
/// A socket as packetdrill sees it: the number of a placeholder descriptor on /dev/null (so that
/// packetdrill's own close() of it is harmless), the <see cref="StackSocket"/> it stands for, and
/// the per-descriptor state that the shim keeps rather than the socket: O_NONBLOCK and the
/// SO_RCVTIMEO/SO_SNDTIMEO timeouts, which run on the virtual clock, and whether recvmsg reports
/// TCP_INQ's hint.
/// </summary>
internal sealed class SocketDescriptor
{
    public SocketDescriptor(int number, StackSocket socket, bool nonBlocking)
    {
        Number = number;
        Socket = socket;
        NonBlocking = nonBlocking;
    }

    /// <summary>The descriptor number packetdrill uses.</summary>
    public int Number { get; }

    /// <summary>The socket; always nonblocking underneath: the shim waits on the virtual clock itself.</summary>
    public StackSocket Socket { get; }

    /// <summary>O_NONBLOCK (SOCK_NONBLOCK, fcntl F_SETFL, FIONBIO).</summary>
    public bool NonBlocking { get; set; }

    /// <summary>SO_RCVTIMEO; zero waits for ever.</summary>
    public TimeSpan ReceiveTimeout { get; set; }

    /// <summary>SO_SNDTIMEO; zero waits for ever.</summary>
    public TimeSpan SendTimeout { get; set; }

    /// <summary>SO_ZEROCOPY, as set and read back; MSG_ZEROCOPY copies all the same.</summary>
    public bool ZeroCopy { get; set; }

    /// <summary>TCP_INQ: recvmsg adds a TCP_CM_INQ control message with <see cref="StackSocket.ReceiveQueueHint"/>.</summary>
    public bool ReceiveQueueHint { get; set; }
}
