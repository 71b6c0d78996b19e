using System.Globalization;
using TunStack.Tcp;

namespace TunStack.Lab;

/// <summary>
/// One line of a connection trace as CSV: the lab's trace-FLOW.csv files and the daemon's live
/// traces (<c>tunstack trace</c>) use the same columns, so the same tools read both.
/// </summary>
public static class ConnectionTraceFormat
{
    /// <summary>
    /// The header line. Time in seconds; cwnd, ssthresh (-1 while it is still "infinite"),
    /// inflight (RFC 6675 pipe: sent, less SACKed and lost, retransmissions counted) and rwnd (the peer's window) in bytes; delivered (bytes acknowledged), lost and
    /// retransmitted (segments) counted since the connection opened; pacing rate in bits per second (0 when not pacing).
    /// </summary>
    public const string Header = "time_s,state,cwnd,ssthresh,srtt_ms,rttvar_ms,inflight,delivered,lost,retransmitted,pacing_rate_bps,rwnd";

    /// <summary>The line for <paramref name="info"/> sampled at <paramref name="time"/>.</summary>
    public static string Format(TimeSpan time, in TcpConnectionInfo info)
    {
        long pacingRateBitsPerSecond = (long)(info.PacingRateBytesPerSecond * 8);
        long ssthresh = info.SlowStartThreshold >= int.MaxValue / 2 ? -1 : info.SlowStartThreshold;
        return string.Create(CultureInfo.InvariantCulture,
            $"{time.TotalSeconds:0.000000},{info.State},{info.CongestionWindow},{ssthresh},{info.SmoothedRtt.TotalMilliseconds:0.###},{info.RttVariance.TotalMilliseconds:0.###},{info.Pipe},{info.BytesAcked},{info.Lost},{info.Retransmits},{pacingRateBitsPerSecond},{info.PeerWindow}");
    }
}
