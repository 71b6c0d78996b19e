// RFC 8985 RACK-TLP: time-based loss detection from the most recently delivered segment's send
// time, with a reordering window and its timer, and the tail loss probe.
using TunStack.Wire;

namespace TunStack.Tcp.Recovery;

/// <summary>RACK and TLP of one SACK connection, over its <see cref="SackRecovery.Log"/>.</summary>
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
    private bool _reorderingSeen;

    // The tail loss probe (RFC 8985 7): the probe's end and whether it was a retransmission.
    private SeqNumber _tlpEndSeq;
    private bool _tlpWasRetransmission;

    public RackTlp(SackRecovery recovery, TcpConnection connection)
    {
        _recovery = recovery;
        _c = connection;
    }

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

        // Step 3: delivered below a segment already delivered later in sequence, never retransmitted: reordering.
        if (e.End < _fack && !e.Is(SentSegments.Marks.Retransmitted))
        {
            _reorderingSeen = true;
        }
        else if (e.End > _fack)
        {
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
        return !_recovery.InRecovery && !TlpInFlight && sender.Retries == 0 && sender.Nxt != sender.Una && _c.State.AcceptsSends;
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

        RttEstimator rtt = _c.Rtt;
        TimeSpan quarter = rtt.Min == TimeSpan.MaxValue ? TimeSpan.Zero : rtt.Min / 4;
        return rtt.HasSample && quarter > rtt.Smoothed ? rtt.Smoothed : quarter;
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
