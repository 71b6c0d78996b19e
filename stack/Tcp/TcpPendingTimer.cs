namespace TunStack.Tcp;

/// <summary>
/// Which of a connection's timers <c>ss -o</c> shows (<see cref="TcpConnection.GetPendingTimer"/>),
/// picked as Linux picks it for inet_diag: the retransmission timer first, then the zero-window
/// probe, then keepalive, then the end of TIME-WAIT. The delayed ACK and pacing are never shown.
/// </summary>
public enum TcpPendingTimer
{
    /// <summary>None of the timers ss shows is running.</summary>
    None,

    /// <summary>The retransmission timeout, a tail loss probe or RACK's reordering timer (ss: <c>on</c>).</summary>
    Retransmit,

    /// <summary>The zero-window probe, while the peer's window is closed (ss: <c>persist</c>).</summary>
    Persist,

    /// <summary>Keepalive: the idle time, then the interval between probes (ss: <c>keepalive</c>).</summary>
    KeepAlive,

    /// <summary>The end of TIME-WAIT, or of an orphaned connection's wait in FIN-WAIT-2 (ss: <c>timewait</c>).</summary>
    TimeWait,
}
