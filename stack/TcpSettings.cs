namespace TunStack;

/// <summary>TCP configuration of one stack (defaults follow Linux where it has one).</summary>
public sealed class TcpSettings
{
    /// <summary>Congestion control of new connections (default CUBIC, as Linux); per connection see <see cref="TunStack.Tcp.TcpConnection.CongestionAlgorithm"/>.</summary>
    public TunStack.Tcp.CongestionAlgorithm CongestionControl { get; set; } = TunStack.Tcp.CongestionAlgorithm.Cubic;

    /// <summary>
    /// Grow a connection's buffers with its needs (receive: twice what the application reads per
    /// round trip, Linux's dynamic right-sizing; send: twice cwnd), from the sizes below up to
    /// <see cref="ReceiveBufferMax"/>/<see cref="SendBufferMax"/>. A size set on the socket turns it off for that buffer.
    /// </summary>
    public bool AutoTuneBuffers { get; set; } = true;

    /// <summary>Largest auto-tuned receive buffer (default 4 MiB); the window scale offered is sized for it.</summary>
    public int ReceiveBufferMax { get; set; } = 4 * 1024 * 1024;

    /// <summary>Largest auto-tuned send buffer (default 4 MiB).</summary>
    public int SendBufferMax { get; set; } = 4 * 1024 * 1024;

    /// <summary>Send buffer per connection (default 256 KiB).</summary>
    public int SendBufferSize { get; set; } = 256 * 1024;

    /// <summary>Receive buffer per connection (default 256 KiB); sets the window scale this stack offers.</summary>
    public int ReceiveBufferSize { get; set; } = 256 * 1024;

    /// <summary>Largest backlog a listener may ask for (default 4096, Linux SOMAXCONN).</summary>
    public int MaxBacklog { get; set; } = 4096;

    /// <summary>Connections per stack, TIME-WAIT included (default 65536).</summary>
    public int MaxConnections { get; set; } = 65536;

    /// <summary>TIME-WAIT duration, 2*MSL (default 60 s, as Linux).</summary>
    public TimeSpan TimeWaitDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Initial retransmission timeout (RFC 6298 2.1: 1 s).</summary>
    public TimeSpan InitialRto { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Minimum retransmission timeout (default 200 ms, as Linux).</summary>
    public TimeSpan MinRto { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Maximum retransmission timeout (default 120 s, as Linux).</summary>
    public TimeSpan MaxRto { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>Retransmissions of data before the connection is aborted with TimedOut (default 15, Linux tcp_retries2).</summary>
    public int MaxRetransmissions { get; set; } = 15;

    /// <summary>SYN retransmissions before connect fails with TimedOut (default 6, Linux tcp_syn_retries).</summary>
    public int MaxSynRetransmissions { get; set; } = 6;

    /// <summary>SYN-ACK retransmissions for a half-open connection (default 5, Linux tcp_synack_retries).</summary>
    public int MaxSynAckRetransmissions { get; set; } = 5;

    /// <summary>Delayed-ACK timer (default 40 ms, as Linux's minimum).</summary>
    public TimeSpan DelayedAck { get; set; } = TimeSpan.FromMilliseconds(40);

    /// <summary>Challenge ACKs per second per stack (RFC 5961 7; default 1000, Linux tcp_challenge_ack_limit).</summary>
    public int ChallengeAcksPerSecond { get; set; } = 1000;

    /// <summary>Keepalive: idle time before the first probe (default 2 h, Linux tcp_keepalive_time). Keepalive itself is off unless a connection turns it on.</summary>
    public TimeSpan KeepAliveIdle { get; set; } = TimeSpan.FromHours(2);

    /// <summary>Keepalive: time between probes (default 75 s, Linux tcp_keepalive_intvl).</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(75);

    /// <summary>Keepalive: unanswered probes before the connection is dropped (default 9, Linux tcp_keepalive_probes).</summary>
    public int KeepAliveProbes { get; set; } = 9;

    /// <summary>How long an orphaned connection (closed by the application) may wait in FIN-WAIT-2 (default 60 s, Linux tcp_fin_timeout).</summary>
    public TimeSpan FinWait2Timeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>TIME-WAIT entries per stack; past it a closing connection skips TIME-WAIT (default 65,536, like Linux tcp_max_tw_buckets).</summary>
    public int MaxTimeWait { get; set; } = 65536;

    /// <summary>Answer SYNs with SYN cookies (RFC 4987) when a listener's SYN queue is full (default on, as Linux tcp_syncookies=1).</summary>
    public bool SynCookies { get; set; } = true;

    /// <summary>Orphaned connections per stack; past it a close resets instead (default 65,536, like Linux tcp_max_orphans).</summary>
    public int MaxOrphans { get; set; } = 65536;
}
