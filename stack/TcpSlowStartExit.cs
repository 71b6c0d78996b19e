namespace TunStack;

/// <summary>How CUBIC decides to leave slow start before a loss (<see cref="TcpSettings.SlowStartExit"/>).</summary>
public enum TcpSlowStartExit
{
    /// <summary>
    /// HyStart++ (RFC 9406, the default): a rise of the round's least RTT by an eighth moves the
    /// connection into conservative slow start (a quarter of the growth) for five rounds, and back
    /// to slow start if the rise proves spurious; only then congestion avoidance.
    /// </summary>
    HyStartPlusPlus,

    /// <summary>
    /// Linux's HyStart delay detection (tcp_cubic.c): from 16 segments of cwnd, a rise of the least
    /// of a round's first 8 RTT samples by an eighth of the least RTT ever seen (4 to 16 ms) ends
    /// slow start at once, with ssthresh = cwnd.
    /// </summary>
    HyStart,
}
