namespace TunStack.Tcp;

/// <summary>The timers of one connection (see <see cref="TcpTimers"/>).</summary>
internal enum TcpTimer
{
    /// <summary>RFC 6298 retransmission timeout; also the persist (zero-window probe) timer and RFC 8985's probe timeout.</summary>
    Retransmit,

    /// <summary>RFC 1122 4.2.3.2 / RFC 9293 3.8.6.3: the delayed ACK.</summary>
    DelayedAck,

    /// <summary>The end of TIME-WAIT (2*MSL), or of an orphan's wait in FIN-WAIT-2.</summary>
    StateEnd,

    /// <summary>RFC 1122 4.2.3.6 keepalive: idle time, then the interval between probes.</summary>
    KeepAlive,

    /// <summary>RFC 8985 6.2 step 5: look again for losses once the reordering window has passed.</summary>
    RackReordering,

    /// <summary>Pacing: the earliest departure time of the next segment.</summary>
    Pace,
}
