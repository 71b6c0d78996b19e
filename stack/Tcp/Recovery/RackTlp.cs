// RFC 8985 RACK-TLP: time-based loss detection from the most recently delivered segment's send
// time, with a reordering window and its timer, and the tail loss probe.
using TunStack.Wire;

namespace TunStack.Tcp.Recovery;

/// <summary>RACK and TLP of one SACK connection, over its <see cref="LossRecovery.Log"/>.</summary>
internal sealed class RackTlp
{
    private readonly SackRecovery _recovery;
    private readonly TcpConnection _c;

    // RACK.xmit_ts, the transmission order of that segment, RACK.rtt, RACK.fack, and whether
    // reordering has been seen (RFC 8985 6.1).
    private Instant _xmitTs;
    private long _order;
    private TimeSpan _rtt;
    private SeqNumber _fack;
    private bool _fackKnown; // _fack holds a delivered segment's end (before that it compares with nothing)
    private bool _reorderingSeen;

    // RFC 8985 6.2 step 4: the reordering window's multiplier of min_RTT / 4, grown by D-SACKs (at
    // most once per round trip: RACK.dsack_round) and reset after 16 recoveries without one.
    private const int ReorderingWindowPersistence = 16;
    private int _reoWndMult = 1;
    private int _reoWndPersist;
    private SeqNumber _dsackRound;
    private bool _dsackRoundOpen;

    // The tail loss probe (RFC 8985 7): the probe's end and whether it was a retransmission.
    private SeqNumber _tlpEndSeq;
    private bool _tlpWasRetransmission;

    public RackTlp(SackRecovery recovery, TcpConnection connection)
    {
        _recovery = recovery;
        _c = connection;
    }

    /// <summary>The multiplier of min_RTT / 4 in the reordering window (RFC 8985 6.2 step 4), for tests and tcp_info.</summary>
    public int ReorderingWindowMultiplier => _reoWndMult;

    // Linux's net.ipv4.tcp_max_reordering: the largest degree kept.
    private const int MaxReordering = 300;

    /// <summary>
    /// The largest reordering seen, in segments: how far below the highest delivered segment one
    /// arrived (tcpi_reordering; it starts at the duplicate-ACK threshold, 3, as Linux's tcp_reordering).
    /// </summary>
    public int Reordering { get; private set; } = LossRecovery.DupThresh;

    /// <summary>True once reordering has been seen on this connection (RFC 8985 6.2 step 3).</summary>
    public bool ReorderingSeen => _reorderingSeen;

    /// <summary>
    /// RFC 8985 6.2 step 4: a D-SACK arrived: the reordering window grows by min_RTT / 4, at most
    /// once per round trip.
    /// </summary>
    public void OnDuplicateReported()
    {
        TcpSender sender = _c.Sender;
        if (_dsackRoundOpen && sender.Una >= _dsackRound)
        {
            _dsackRoundOpen = false;
        }

        if (!_dsackRoundOpen)
        {
            _dsackRound = sender.Nxt;
            _dsackRoundOpen = true;
            _reoWndMult = Math.Min(_reoWndMult + 1, 255);
            _reoWndPersist = ReorderingWindowPersistence;
        }
    }

    /// <summary>RFC 8985 6.2 step 4: a recovery ended; after 16 without a D-SACK the window is back to min_RTT / 4.</summary>
    public void OnRecoveryLeft()
    {
        if (_reoWndPersist > 0 && --_reoWndPersist == 0)
        {
            _reoWndMult = 1;
        }
    }

    /// <summary>
    /// A recovery was shown to be spurious (its retransmissions were needless): the segments RACK
    /// marked lost were only late, which is reordering (Linux counts it the same way, tcp_check_sack_reordering).
    /// </summary>
    public void OnSpuriousRecovery() => _reorderingSeen = true;

    /// <summary>A probe was sent and not yet answered.</summary>
    public bool TlpInFlight { get; set; }

    /// <summary>
    /// RFC 8985 6.2 steps 2-3: a newly delivered (cumulatively ACKed or SACKed) segment updates
    /// RACK.xmit_ts / end_seq / rtt, unless it was retransmitted and the ACK may be for the original.
    /// </summary>
    public void OnDelivered(SentSegments.Entry e)
    {
        TimeSpan rtt = _c.Layer.Now - e.SentAt;
        TimeSpan minRtt = _c.Rtt.Min;
        if (e.Is(SentSegments.Marks.Retransmitted) && rtt < (minRtt == TimeSpan.MaxValue ? TimeSpan.Zero : minRtt))
        {
            return; // RFC 8985 6.2 step 2: possibly an ACK of the original transmission
        }

        // "Sent after": a later time, or the same instant and later in transmission order (RFC 8985
        // breaks ties by end sequence; the order also handles a retransmission sent in the same tick).
        if (e.SentAt > _xmitTs || (e.SentAt == _xmitTs && e.Order > _order))
        {
            _xmitTs = e.SentAt;
            _order = e.Order;
            _rtt = rtt;
        }
        else if (_c.Layer.Settings.RackRttFromLastDelivered)
        {
            // Linux: tcp_rack_advance sets rack.rtt_us from every sample it keeps, in the order
            // segments are delivered (SACKed, then cumulatively acknowledged, each in sequence
            // order), whether or not that segment advances rack.mstamp.
            _rtt = rtt;
        }

        // Step 3: delivered below a segment already delivered later in sequence, never retransmitted: reordering.
        // (Before the first delivery there is no highest segment: a default _fack of 0 would make
        // half the sequence space look "below" it, and reordering appear from the ISN alone.)
        if (_fackKnown && e.End < _fack && !e.Is(SentSegments.Marks.Retransmitted))
        {
            _reorderingSeen = true;

            // Its degree in segments, as Linux keeps it (tcp_check_sack_reordering: the distance
            // from this segment to the highest delivered one, when larger than the degree so far).
            int mss = Math.Max(1, _c.Mss);
            long distance = _fack - e.Start;
            if (distance > (long)Reordering * mss)
            {
                Reordering = (int)Math.Min((distance + mss - 1) / mss, MaxReordering);
            }
        }
        else if (!_fackKnown || e.End > _fack)
        {
            _fackKnown = true;
            _fack = e.End;
        }

        if (TlpInFlight && e.End >= _tlpEndSeq)
        {
            OnTlpAnswered();
        }
    }

    /// <summary>
    /// RFC 8985 6.2 step 5: every segment sent before the most recently delivered one, and not
    /// delivered within RACK.rtt + reo_wnd of its sending, is lost; for the others a timer is set
    /// to look again when they would be. Entering recovery follows the first loss (RFC 8985 6.3).
    /// </summary>
    public void DetectLoss()
    {
        if (_order == 0)
        {
            return;
        }

        TimeSpan window = _rtt + ReorderingWindow();
        Instant now = _c.Layer.Now;
        TimeSpan wait = TimeSpan.Zero;
        bool anyLost = false;
        SentSegments log = _recovery.Log;
        UnsackedEntries candidates = _recovery.Unsacked();
        while (candidates.MoveNext())
        {
            int i = candidates.Current;
            ref SentSegments.Entry e = ref log[i];
            bool sentBefore = e.SentAt < _xmitTs || (e.SentAt == _xmitTs && e.Order < _order);
            if (!sentBefore)
            {
                if (!e.Is(SentSegments.Marks.Retransmitted))
                {
                    break; // later entries were sent later still
                }

                continue;
            }

            if (e.Is(SentSegments.Marks.Sacked | SentSegments.Marks.Lost))
            {
                continue;
            }

            TimeSpan remaining = e.SentAt + window - now;
            if (remaining <= TimeSpan.Zero)
            {
                if (log.MarkLost(i))
                {
                    anyLost = true;
                    _c.Layer.Counters.Increment(Counter.TcpRackLosses);
                }
            }
            else if (remaining > wait)
            {
                wait = remaining;
            }
        }

        if (wait > TimeSpan.Zero)
        {
            _c.Timers.Schedule(TcpTimer.RackReordering, now + wait);
        }

        if (anyLost && !_recovery.InRecovery && _c.Sender.Una >= _recovery.RecoveryPoint)
        {
            _recovery.EnterRecovery();
        }
    }

    /// <summary>
    /// RFC 8985 7.2: a probe timeout is scheduled while nothing is being recovered, no probe is
    /// out, the RTO has not fired, and data is in flight on an open connection.
    /// </summary>
    public bool CanProbe()
    {
        TcpSender sender = _c.Sender;
        // After a close too (FIN-WAIT-1, CLOSING, LAST-ACK): Linux's tcp_schedule_loss_probe does
        // not look at the state, and a tail that ends in the FIN is probed like any other.
        return !_recovery.InRecovery && !TlpInFlight && sender.Retries == 0 && sender.Nxt != sender.Una && _c.State.Sends;
    }

    /// <summary>
    /// RFC 8985 7.3: the probe is one new segment if the receive window allows, else the last
    /// segment sent again; either way an ACK (with SACK) follows that lets RACK see a tail loss.
    /// </summary>
    public void SendLossProbe()
    {
        _c.Layer.Counters.Increment(Counter.TcpLossProbes);
        TlpInFlight = true;
        TcpSender sender = _c.Sender;
        int unsent = sender.Unsent;
        long room = (long)sender.Wnd - (sender.Nxt - sender.Una);
        if (unsent > 0 && !sender.FinSent && room >= Math.Min(_c.Mss, unsent))
        {
            _tlpWasRetransmission = false;
            sender.SendProbeSegment(); // one new segment, not held back by cwnd
        }
        else if (sender.FinSent && !sender.FinAcked && sender.Nxt - sender.Una == 1)
        {
            // Only the FIN is outstanding: it is the last segment sent, and goes again (Linux's
            // tcp_send_loss_probe retransmits the tail skb, a lone FIN's too).
            _tlpWasRetransmission = true;
            sender.ResendFin();
        }
        else if (_recovery.Log.Count > 0)
        {
            _tlpWasRetransmission = true;
            ref SentSegments.Entry last = ref _recovery.Log[_recovery.Log.Count - 1];
            int length = Math.Min(Math.Min(_c.Mss, last.Length), sender.Buffered - (last.Start - sender.Una));
            if (length > 0)
            {
                sender.Resend(last.End - length, length);
            }
        }

        _tlpEndSeq = sender.Nxt;
    }

    // RFC 8985 6.2 step 4: the reordering window.
    private TimeSpan ReorderingWindow()
    {
        if (!_reorderingSeen && (_recovery.InRecovery || _recovery.Log.SackedBytes >= LossRecovery.DupThresh * _c.Mss))
        {
            return TimeSpan.Zero;
        }

        // min(RACK.reo_wnd_mult * RACK.min_RTT / 4, SRTT).
        RttEstimator rtt = _c.Rtt;
        TimeSpan window = rtt.Min == TimeSpan.MaxValue ? TimeSpan.Zero : rtt.Min / 4 * _reoWndMult;
        return rtt.HasSample && window > rtt.Smoothed ? rtt.Smoothed : window;
    }

    // RFC 8985 7.4: the probe was answered. If it was a retransmission that repaired a loss (its
    // ACK is not a D-SACK), the loss still calls for the congestion response.
    private void OnTlpAnswered()
    {
        TlpInFlight = false;
        if (_tlpWasRetransmission)
        {
            _c.Layer.Counters.Increment(Counter.TcpLossProbeRecoveries);
            _recovery.ArmUndo();
            TcpSender sender = _c.Sender;
            sender.Congestion.OnLoss(sender.Nxt - sender.Una, _c.Layer.Now);
        }
    }
}
