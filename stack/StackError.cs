namespace TunStack;

/// <summary>
/// Errors the core reports to its callers, named for the POSIX errno they become in the sockets
/// facade (docs/sockets.md has the table errno -> SocketError -> when).
/// </summary>
public enum StackError
{
    /// <summary>Success.</summary>
    None,
    /// <summary>EAGAIN/EWOULDBLOCK: nothing to read, or no room to write, right now.</summary>
    WouldBlock,
    /// <summary>EADDRINUSE.</summary>
    AddressInUse,
    /// <summary>EADDRNOTAVAIL: not one of the stack's addresses, or no ephemeral port left.</summary>
    AddressNotAvailable,
    /// <summary>EAFNOSUPPORT: address of the wrong family.</summary>
    AddressFamilyNotSupported,
    /// <summary>ENETUNREACH: no route, or ICMP network unreachable.</summary>
    NetworkUnreachable,
    /// <summary>EHOSTUNREACH: ICMP host unreachable or time exceeded.</summary>
    HostUnreachable,
    /// <summary>ECONNREFUSED: ICMP port unreachable, or a RST answering a SYN.</summary>
    ConnectionRefused,
    /// <summary>ECONNRESET.</summary>
    ConnectionReset,
    /// <summary>ETIMEDOUT.</summary>
    TimedOut,
    /// <summary>EMSGSIZE: datagram too large, or ICMP fragmentation needed / packet too big.</summary>
    MessageTooLong,
    /// <summary>EINVAL.</summary>
    InvalidArgument,
    /// <summary>ENOTCONN.</summary>
    NotConnected,
    /// <summary>EISCONN.</summary>
    IsConnected,
    /// <summary>EDESTADDRREQ: send without a destination on an unconnected socket.</summary>
    DestinationAddressRequired,
    /// <summary>EACCES: ICMP administratively prohibited.</summary>
    AccessDenied,
    /// <summary>EPROTO: ICMP parameter problem.</summary>
    ProtocolError,
    /// <summary>ENOPROTOOPT: ICMP protocol unreachable.</summary>
    ProtocolUnreachable,
    /// <summary>ENOBUFS: a bounded queue is full.</summary>
    NoBufferSpace,
    /// <summary>EBADF: the endpoint is closed.</summary>
    Closed,
    /// <summary>
    /// EPIPE: the peer reset a connection after it had closed its own side (a RST in CLOSE-WAIT),
    /// which Linux's tcp_reset reports as EPIPE rather than ECONNRESET.
    /// </summary>
    BrokenPipe,
}
