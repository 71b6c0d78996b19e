namespace TunStack.Sockets;

/// <summary>Readiness conditions of poll(2), with Linux's bit values.</summary>
[Flags]
public enum PollEvents : short
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>POLLIN: data (or end of file) to read, or a connection to accept.</summary>
    Readable = 0x001,

    /// <summary>POLLPRI: out-of-band data waits.</summary>
    Priority = 0x002,

    /// <summary>POLLOUT: a write would not block.</summary>
    Writable = 0x004,

    /// <summary>POLLERR: an error is pending (read it with SO_ERROR); always reported.</summary>
    Error = 0x008,

    /// <summary>POLLHUP: both directions are shut (or the socket was never connected); always reported.</summary>
    HangUp = 0x010,

    /// <summary>POLLNVAL: the socket is closed; always reported.</summary>
    Invalid = 0x020,

    /// <summary>POLLRDHUP: the peer shut its sending side (FIN received).</summary>
    ReadHangUp = 0x2000,
}
