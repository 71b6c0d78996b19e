namespace TunStack.Tcp.Congestion;

/// <summary>
/// What one acknowledgment told the congestion control (<see cref="CongestionControl.OnAck(in CongestionAck)"/>):
/// the bytes it delivered, its RTT sample, the lowest RTT seen, whether a round trip ended, the
/// delivery-rate sample, and the state of the flight.
/// </summary>
public readonly struct CongestionAck
{
    /// <summary>Bytes this ACK newly delivered: acknowledged cumulatively and not SACKed before, plus newly SACKed.</summary>
    public int AckedBytes { get; init; }

    /// <summary>The stack's clock when the ACK was processed.</summary>
    public Instant Now { get; init; }

    /// <summary>The RTT sample the ACK gave (timestamps or a timed segment), or zero when it gave none.</summary>
    public TimeSpan RttSample { get; init; }

    /// <summary>The lowest RTT sample seen on the connection, or <see cref="TimeSpan.MaxValue"/> before the first.</summary>
    public TimeSpan MinRtt { get; init; }

    /// <summary>True when the data outstanding at the start of the round trip has now all been acknowledged.</summary>
    public bool RoundEnd { get; init; }

    /// <summary>Bytes in flight (RFC 6675 pipe) after the ACK.</summary>
    public int BytesInFlight { get; init; }

    /// <summary>Bytes in flight (pipe) before the ACK.</summary>
    public int PriorBytesInFlight { get; init; }

    /// <summary>Bytes newly deemed lost since the previous ACK (found by SACK/RACK; zero without SACK).</summary>
    public int LostBytes { get; init; }

    /// <summary>True while the connection is in fast recovery.</summary>
    public bool InRecovery { get; init; }

    /// <summary>
    /// True when a window-based algorithm may grow cwnd on this ACK: it advanced SND.UNA outside
    /// recovery and the window was in use (RFC 7661; Linux's tcp_is_cwnd_limited). NewReno and
    /// CUBIC grow only then; a model-based algorithm (BBR) reads every ACK.
    /// </summary>
    public bool WindowMayGrow { get; init; }

    /// <summary>
    /// The age of the most recently sent segment this ACK newly delivered that was sent only once
    /// (Linux's ca_rtt_us, one per ACK whether or not timestamps are on), or zero.
    /// </summary>
    internal TimeSpan DeliveredRtt { get; init; }

    /// <summary>The delivery-rate sample of this ACK (draft-cheng-iccrg-delivery-rate-estimation).</summary>
    public DeliveryRateSample Rate { get; init; }
}
