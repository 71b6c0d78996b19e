namespace TunStack.Tcp;

/// <summary>
/// BBR's model of the path, as Linux reports it in TCP_CC_INFO (struct tcp_bbr_info) and
/// <c>ss -i</c> shows it (<c>bbr:(bw:...,mrtt:...,pacing_gain:...,cwnd_gain:...)</c>).
/// </summary>
/// <param name="BottleneckBandwidthBytesPerSecond">BtlBw, the windowed maximum of the delivery rate (bbr_bw_lo/hi).</param>
/// <param name="MinRtt">RTprop, the windowed minimum RTT (bbr_min_rtt); <see cref="TimeSpan.Zero"/> before a sample.</param>
/// <param name="PacingGain">The pacing gain of the current state or ProbeBW phase (bbr_pacing_gain / 256).</param>
/// <param name="CwndGain">The cwnd gain (bbr_cwnd_gain / 256).</param>
public readonly record struct BbrInfo(double BottleneckBandwidthBytesPerSecond, TimeSpan MinRtt, double PacingGain, double CwndGain);
