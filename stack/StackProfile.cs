namespace TunStack;

/// <summary>
/// A set of choices for <see cref="StackOptions.Apply(StackProfile)"/>: TunStack's own, or those
/// of Linux where TunStack's differ (docs/conformance.md lists each difference and why).
/// </summary>
public enum StackProfile
{
    /// <summary>TunStack's defaults: RFC 7661 window validation (no restart after idle), HyStart++ (RFC 9406).</summary>
    Default,

    /// <summary>
    /// Linux 6.x's wire choices where TunStack's default differs: cwnd restarts after an idle
    /// period (RFC 5681 4.1, tcp_slow_start_after_idle=1), and CUBIC leaves slow start by
    /// Linux's HyStart delay detection rather than continuing in HyStart++'s conservative slow start,
    /// a TSO packet carries at most a millisecond at the pacing rate and half of cwnd (tcp_tso_autosize, tcp_cwnd_test), the RTO is SRTT plus at
    /// least the minimum RTO (tcp_rtt_estimator), RACK.rtt comes from the last segment an ACK delivers (tcp_rack_advance),
    /// ssthresh after a loss from cwnd (tcp_reno_ssthresh, bictcp_recalc_ssthresh), and CUBIC grows in
    /// congestion avoidance as tcp_cubic's bictcp_update.
    /// </summary>
    Linux,
}
