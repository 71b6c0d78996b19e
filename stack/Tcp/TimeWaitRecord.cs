using TunStack.Wire;

namespace TunStack.Tcp;

/// <summary>
/// What TIME-WAIT needs of a connection the application has closed (Linux's tcp_timewait_sock):
/// the sequence numbers to acknowledge a retransmitted FIN, the window to judge a segment by, the
/// timestamps for PAWS and RFC 6191, and when the wait ends. About 100 bytes where the connection
/// is over 3 KiB; the connection object itself is free to be collected.
/// </summary>
internal sealed class TimeWaitRecord
{
    public required TcpTuple Tuple { get; init; }

    /// <summary>SND.NXT: our FIN's sequence number plus one.</summary>
    public required SeqNumber SendNext { get; init; }

    /// <summary>RCV.NXT: the peer's FIN's sequence number plus one.</summary>
    public required SeqNumber ReceiveNext { get; init; }

    /// <summary>RCV.WND in bytes, for the acceptability test.</summary>
    public required uint ReceiveWindow { get; init; }

    /// <summary>The window field our ACKs carry (RCV.WND scaled).</summary>
    public required ushort WindowField { get; init; }

    /// <summary>MAX.SND.WND, for RFC 5961 5.2's lower bound on acceptable ACKs.</summary>
    public required uint MaxSendWindow { get; init; }

    public required bool Timestamps { get; init; }

    /// <summary>Our TSval clock's offset (RFC 7323 5.4), so our ACKs continue the connection's clock.</summary>
    public required uint TimestampOffset { get; init; }

    /// <summary>TS.Recent: the peer's last timestamp value.</summary>
    public uint TimestampRecent { get; set; }

    /// <summary>When this record last sent a challenge ACK (RFC 5961 7 rate limit per 4-tuple); null: never.</summary>
    public Instant? LastChallengeAck;

    /// <summary>When the 2 MSL wait ends; a retransmitted FIN moves it.</summary>
    public Instant Expires { get; set; }

    /// <summary>The wait ended early (RST, a new incarnation) or ran out; the record is out of the table.</summary>
    public bool Ended { get; set; }
}
