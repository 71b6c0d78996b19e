// Tcp/ owns RFC 9293 TCP: the connection table, listeners, and the connection state machine.
namespace TunStack.Tcp;

/// <summary>The connection states of RFC 9293 3.3.2.</summary>
public enum TcpConnectionState
{
    /// <summary>No connection.</summary>
    Closed,
    /// <summary>Waiting for a connection request.</summary>
    Listen,
    /// <summary>SYN sent, waiting for a matching SYN.</summary>
    SynSent,
    /// <summary>SYN received and SYN sent, waiting for the acknowledgement of ours.</summary>
    SynReceived,
    /// <summary>Open: data flows both ways.</summary>
    Established,
    /// <summary>We closed; waiting for the ACK of our FIN or the peer's FIN.</summary>
    FinWait1,
    /// <summary>Our FIN is acknowledged; waiting for the peer's FIN.</summary>
    FinWait2,
    /// <summary>The peer closed; waiting for our application to close.</summary>
    CloseWait,
    /// <summary>Both closed at once; waiting for the ACK of our FIN.</summary>
    Closing,
    /// <summary>The peer closed first and we closed; waiting for the ACK of our FIN.</summary>
    LastAck,
    /// <summary>Waiting 2*MSL so that old duplicates die out.</summary>
    TimeWait,
}
