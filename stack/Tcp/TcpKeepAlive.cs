// RFC 1122 4.2.3.6: keepalive. Off unless the application turns it on (SO_KEEPALIVE); after an
// idle time, probes at an interval, and the connection is dropped when enough go unanswered.
namespace TunStack.Tcp;

/// <summary>The keepalive of one connection: settings, the probes sent, and the probe timer.</summary>
internal sealed class TcpKeepAlive
{
    private readonly TcpConnection _c;
    private bool _enabled;
    private int _probesSent;

    public TcpKeepAlive(TcpConnection connection, TcpSettings settings)
    {
        _c = connection;
        Idle = settings.KeepAliveIdle;
        Interval = settings.KeepAliveInterval;
        Probes = settings.KeepAliveProbes;
    }

    /// <summary>SO_KEEPALIVE.</summary>
    public bool Enabled
    {
        get => _enabled;
        set
        {
            _enabled = value;
            if (value)
            {
                Arm();
            }
            else
            {
                _c.Timers.Cancel(TcpTimer.KeepAlive);
            }
        }
    }

    /// <summary>TCP_KEEPIDLE.</summary>
    public TimeSpan Idle { get; set; }

    /// <summary>TCP_KEEPINTVL.</summary>
    public TimeSpan Interval { get; set; }

    /// <summary>TCP_KEEPCNT.</summary>
    public int Probes { get; set; }

    /// <summary>Probes sent since the peer was last heard from.</summary>
    public int ProbesSent => _probesSent;

    /// <summary>An acceptable segment arrived: the peer is alive, the idle time starts again.</summary>
    public void OnSegmentAccepted()
    {
        _probesSent = 0;
        if (_enabled)
        {
            Arm();
        }
    }

    /// <summary>The connection entered ESTABLISHED.</summary>
    public void OnEstablished()
    {
        if (_enabled)
        {
            Arm();
        }
    }

    /// <summary>
    /// The timer fired: a probe is a segment with SEG.SEQ = SND.NXT-1 and no data, which the peer
    /// must acknowledge; unanswered probes end the connection with TimedOut.
    /// </summary>
    public void OnTimeout(Instant now)
    {
        if (!_enabled || !_c.State.AcceptsSends)
        {
            return;
        }

        if (_probesSent >= Probes)
        {
            _c.Layer.Counters.Increment(Counter.TcpKeepAliveTimeouts);
            _c.Fail(StackError.TimedOut);
            return;
        }

        _probesSent++;
        _c.Layer.Counters.Increment(Counter.TcpKeepAliveProbes);
        _c.Sender.SendProbe(_c.Sender.Una - 1);
        _c.Timers.Schedule(TcpTimer.KeepAlive, now + Interval);
    }

    private void Arm()
    {
        if (_c.State.AcceptsSends)
        {
            _c.Timers.Schedule(TcpTimer.KeepAlive, _c.Layer.Now + (_probesSent == 0 ? Idle : Interval));
        }
    }
}
