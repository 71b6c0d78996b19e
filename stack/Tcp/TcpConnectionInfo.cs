namespace TunStack.Tcp;

/// <summary>
/// A snapshot of one connection's state and statistics, like Linux's <c>struct tcp_info</c>
/// (<c>ss -ti</c>). Byte counts are totals since the connection opened.
/// </summary>
/// <param name="State">RFC 9293 state.</param>
/// <param name="Algorithm">Congestion control in use.</param>
/// <param name="Mss">Send MSS (payload bytes per segment).</param>
/// <param name="SmoothedRtt">SRTT (RFC 6298); zero before the first sample.</param>
/// <param name="RttVariance">RTTVAR (RFC 6298).</param>
/// <param name="MinRtt">Lowest RTT sample seen.</param>
/// <param name="RetransmissionTimeout">Current RTO, backoff included.</param>
/// <param name="CongestionWindow">cwnd in bytes.</param>
/// <param name="SlowStartThreshold">ssthresh in bytes (int.MaxValue / 2 before the first loss).</param>
/// <param name="InRecovery">True during fast recovery.</param>
/// <param name="BytesInFlight">SND.NXT - SND.UNA.</param>
/// <param name="Pipe">RFC 6675 pipe: the bytes still in the network (in flight, less SACKed and deemed lost, retransmissions counted).</param>
/// <param name="BytesSent">Payload bytes sent, retransmissions included (tcpi_bytes_sent).</param>
/// <param name="BytesRetransmitted">Payload bytes retransmitted (tcpi_bytes_retrans).</param>
/// <param name="BytesAcked">Payload bytes acknowledged by the peer (tcpi_bytes_acked).</param>
/// <param name="BytesReceived">Payload bytes received in order (tcpi_bytes_received).</param>
/// <param name="Retransmits">Segments retransmitted (tcpi_total_retrans).</param>
/// <param name="Timeouts">Retransmission timeouts.</param>
/// <param name="FastRecoveries">Fast recoveries entered.</param>
/// <param name="Lost">Segments deemed lost and retransmitted by fast recovery or RACK (tcpi_lost, cumulative).</param>
/// <param name="SackedBytes">Bytes SACKed above SND.UNA now.</param>
/// <param name="SpuriousUndos">Window reductions undone because D-SACK showed the retransmissions were needless.</param>
/// <param name="DeliveryRateBytesPerSecond">Bytes acknowledged over the last round trip, per second (tcpi_delivery_rate).</param>
public readonly record struct TcpConnectionInfo(
    TcpConnectionState State,
    CongestionAlgorithm Algorithm,
    int Mss,
    TimeSpan SmoothedRtt,
    TimeSpan RttVariance,
    TimeSpan MinRtt,
    TimeSpan RetransmissionTimeout,
    int CongestionWindow,
    int SlowStartThreshold,
    bool InRecovery,
    int BytesInFlight,
    int Pipe,
    long BytesSent,
    long BytesRetransmitted,
    long BytesAcked,
    long BytesReceived,
    long Retransmits,
    long Timeouts,
    long FastRecoveries,
    long Lost,
    int SackedBytes,
    long SpuriousUndos,
    double DeliveryRateBytesPerSecond)
{
    /// <summary>Time since in-order data last arrived, or since the connection was established when none has (tcpi_last_data_recv).</summary>
    public TimeSpan SinceLastDataReceived { get; init; }

    /// <summary>The MSS this side advertised (tcpi_advmss): the path's, or TCP_MAXSEG's when smaller.</summary>
    public int AdvertisedMss { get; init; }

    /// <summary>The window the peer last advertised, scaled, in bytes (SND.WND; tcpi_snd_wnd).</summary>
    public long PeerWindow { get; init; }

    /// <summary>The congestion control's registered name, as TCP_CONGESTION and <c>ss -i</c> show it ("cubic", "reno", "bbr", or a registered one's).</summary>
    public string AlgorithmName { get; init; } = string.Empty;

    /// <summary>The pacing rate in bytes per second (tcpi_pacing_rate); 0 when not paced.</summary>
    public double PacingRateBytesPerSecond { get; init; }

    /// <summary>Explicit Congestion Notification (RFC 3168) was negotiated (tcpi_options TCPI_OPT_ECN; ss: ecn).</summary>
    public bool EcnNegotiated { get; init; }

    /// <summary>BBR's model of the path (TCP_CC_INFO) when the connection's congestion control is BBR; otherwise null.</summary>
    public BbrInfo? Bbr { get; init; }
    /// <summary>Where congestion control stands (tcpi_ca_state): open, disorder, CWR, recovery or loss.</summary>
    public TcpCongestionState CongestionState { get; init; }

    /// <summary>
    /// The largest reordering seen, in segments: how far below the highest delivered segment one
    /// arrived (tcpi_reordering; 3, the duplicate-ACK threshold, until more is seen; ss: reordering).
    /// </summary>
    public int Reordering { get; init; }

    /// <summary>
    /// Segments deemed lost now: neither SACKed nor acknowledged yet, retransmitted or not
    /// (tcpi_lost, Linux's lost_out; <see cref="Lost"/> counts every loss since the connection opened).
    /// </summary>
    public int LostSegmentsOutstanding { get; init; }

    /// <summary>Time the connection had data unacknowledged or unsent (tcpi_busy_time; ss: busy).</summary>
    public TimeSpan BusyTime { get; init; }

    /// <summary>Of <see cref="BusyTime"/>, the time the peer's window held data back (tcpi_rwnd_limited; ss: rwnd_limited).</summary>
    public TimeSpan ReceiveWindowLimitedTime { get; init; }

    /// <summary>Of <see cref="BusyTime"/>, the time the send buffer was full with more to send (tcpi_sndbuf_limited; ss: sndbuf_limited).</summary>
    public TimeSpan SendBufferLimitedTime { get; init; }

    /// <summary>One line in the manner of <c>ss -ti</c>.</summary>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{State} {(AlgorithmName.Length > 0 ? AlgorithmName : Algorithm.ToString().ToLowerInvariant())} mss:{Mss} rtt:{SmoothedRtt.TotalMilliseconds:0.###}/{RttVariance.TotalMilliseconds:0.###} minrtt:{(MinRtt == TimeSpan.MaxValue ? 0 : MinRtt.TotalMilliseconds):0.###} rto:{RetransmissionTimeout.TotalMilliseconds:0} cwnd:{CongestionWindow / Math.Max(1, Mss)} pipe:{Pipe} ssthresh:{(SlowStartThreshold >= int.MaxValue / 2 ? "inf" : (SlowStartThreshold / Math.Max(1, Mss)).ToString(System.Globalization.CultureInfo.InvariantCulture))} bytes_sent:{BytesSent} bytes_retrans:{BytesRetransmitted} bytes_acked:{BytesAcked} bytes_received:{BytesReceived} retrans:{Retransmits} timeouts:{Timeouts} recoveries:{FastRecoveries} lost:{Lost} sacked:{SackedBytes} undo:{SpuriousUndos} delivery_rate:{DeliveryRateBytesPerSecond * 8 / 1e6:0.##}Mbps{(PacingRateBytesPerSecond > 0 ? $" pacing_rate:{PacingRateBytesPerSecond * 8 / 1e6:0.##}Mbps" : string.Empty)}{(InRecovery ? " recovering" : string.Empty)}");
}
