// RFC 9293 3.10.7.4 (TIME-WAIT) for connections the application has closed, kept as compact
// records instead of whole connections, as Linux keeps tcp_timewait_sock: at 10,000 connections
// a second closed by this side, 60 s of TIME-WAIT is 600,000 entries.
using TunStack.Wire;

namespace TunStack.Tcp;

/// <summary>The stack's TIME-WAIT records: lookup by 4-tuple, and expiry in arrival order on one timer.</summary>
internal sealed class TimeWaitTable : ITimerTarget
{
    private readonly TcpLayer _layer;
    private readonly Dictionary<TcpTuple, TimeWaitRecord> _records = new();

    // Every wait is TimeWaitDuration long, so records expire in the order they were queued; one
    // whose wait was restarted is queued again when it reaches the head.
    private readonly Queue<TimeWaitRecord> _expiry = new();
    private readonly TimerEntry _timer;

    public TimeWaitTable(TcpLayer layer)
    {
        _layer = layer;
        _timer = new TimerEntry(this, 0);
    }

    public int Count => _records.Count;

    /// <summary>The 4-tuples waiting now, with when each wait ends.</summary>
    public List<(TcpTuple Tuple, Instant Expires)> Snapshot() => _records.Values.Select(r => (r.Tuple, r.Expires)).ToList();

    public bool Contains(in TcpTuple tuple) => _records.ContainsKey(tuple);

    public bool TryGet(in TcpTuple tuple, out TimeWaitRecord? record) => _records.TryGetValue(tuple, out record);

    /// <summary>A closed connection's TIME-WAIT continues as <paramref name="record"/>; it holds the local port until it ends.</summary>
    public void Add(TimeWaitRecord record)
    {
        record.Expires = _layer.Now + _layer.Settings.TimeWaitDuration;
        _records.Add(record.Tuple, record);
        _expiry.Enqueue(record);
        _layer.HoldPort(record.Tuple.Local);
        _layer.TimeWaitCount++;
        if (!_timer.IsScheduled)
        {
            _layer.Timers.Schedule(_timer, record.Expires);
        }
    }

    /// <summary>The record leaves the table (RST, a new incarnation, or the end of the wait).</summary>
    public void Remove(TimeWaitRecord record)
    {
        if (record.Ended)
        {
            return;
        }

        record.Ended = true;
        _records.Remove(record.Tuple);
        _layer.ReleasePort(record.Tuple.Local);
        _layer.TimeWaitCount--;
    }

    void ITimerTarget.OnTimer(int tag, Instant now)
    {
        while (_expiry.TryPeek(out TimeWaitRecord? head))
        {
            if (head.Ended)
            {
                _expiry.Dequeue();
                continue;
            }

            if (head.Expires > now)
            {
                _layer.Timers.Schedule(_timer, head.Expires);
                return;
            }

            _expiry.Dequeue();
            Remove(head);
        }
    }

    /// <summary>
    /// RFC 9293 3.10.7.4 for a segment to a tuple in TIME-WAIT. Returns true when the segment asks
    /// for a new incarnation (RFC 6191) and the record has made way: the caller hands the SYN to a listener.
    /// </summary>
    public bool OnSegment(TimeWaitRecord r, TcpSegment seg)
    {
        TcpFlags flags = seg.Flags;
        TcpOptions received = r.Timestamps ? TcpOptions.Parse(seg.Options) : TcpOptions.None;

        // RFC 6191 2: a SYN may open a new incarnation when its timestamp (or, without timestamps,
        // its sequence number) is newer than anything of the old one; otherwise it is dropped silently.
        if ((flags & (TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Rst)) == TcpFlags.Syn)
        {
            bool newer = r.Timestamps && received.HasTimestamps
                ? unchecked((int)(received.TimestampValue - r.TimestampRecent)) > 0
                  || (received.TimestampValue == r.TimestampRecent && seg.SequenceNumber > r.ReceiveNext)
                : seg.SequenceNumber > r.ReceiveNext;
            if (newer)
            {
                _layer.Counters.Increment(Counter.TcpTimeWaitReopened);
                Remove(r);
                return true;
            }

            return false;
        }

        // RFC 7323 5.3 (PAWS): an older TSval is a stale duplicate: acknowledge and drop.
        if (r.Timestamps && received.HasTimestamps && (flags & TcpFlags.Rst) == 0 && unchecked((int)(received.TimestampValue - r.TimestampRecent)) < 0)
        {
            _layer.Counters.Increment(Counter.TcpPawsRejected);
            if (_layer.TryOutOfWindowAck(seg, ref r.LastChallengeAck))
            {
                SendAck(r);
            }

            return false;
        }

        // The acceptability test; an unacceptable FIN is a retransmission of the peer's FIN whose
        // ACK was lost: acknowledge it and restart the 2 MSL wait.
        if (!TcpReceiver.IsAcceptable(seg, r.ReceiveNext, r.ReceiveWindow))
        {
            _layer.Counters.Increment(Counter.TcpOutOfWindow);
            if ((flags & TcpFlags.Rst) == 0)
            {
                if ((flags & TcpFlags.Fin) != 0)
                {
                    r.Expires = _layer.Now + _layer.Settings.TimeWaitDuration;
                }

                // As an open connection's (Linux's TCPACKSkippedTimeWait): forged ACKs draw no ACK each.
                if (_layer.TryOutOfWindowAck(seg, ref r.LastChallengeAck))
                {
                    SendAck(r);
                }
            }

            return false;
        }

        // RFC 7323 4.3: TS.Recent follows acceptable segments at RCV.NXT (the last ACK sent).
        if (r.Timestamps && received.HasTimestamps && seg.SequenceNumber <= r.ReceiveNext)
        {
            r.TimestampRecent = received.TimestampValue;
        }

        // RFC 5961 3.2: a RST exactly at RCV.NXT ends the wait (as Linux with tcp_rfc1337 = 0);
        // elsewhere in the window it draws a challenge ACK.
        if ((flags & TcpFlags.Rst) != 0)
        {
            if (seg.SequenceNumber == r.ReceiveNext)
            {
                _layer.Counters.Increment(Counter.TcpResetsReceived);
                Remove(r);
            }
            else if (_layer.TryChallengeAck(ref r.LastChallengeAck))
            {
                SendAck(r);
            }

            return false;
        }

        // RFC 5961 4.2: a SYN with ACK in the window draws a challenge ACK.
        if ((flags & TcpFlags.Syn) != 0)
        {
            if (_layer.TryChallengeAck(ref r.LastChallengeAck))
            {
                SendAck(r);
            }

            return false;
        }

        if ((flags & TcpFlags.Ack) == 0)
        {
            return false;
        }

        // RFC 5961 5.2: an ACK of data never sent, or older than MAX.SND.WND, draws an ACK.
        SeqNumber ack = seg.AcknowledgmentNumber;
        if (ack > r.SendNext)
        {
            _layer.Counters.Increment(Counter.TcpAckOfUnsentData);
            SendAck(r);
            return false;
        }

        if (ack < r.SendNext - (int)Math.Min(r.MaxSendWindow, int.MaxValue))
        {
            _layer.Counters.Increment(Counter.TcpAckTooOld);
            SendAck(r);
            return false;
        }

        // "The only thing that can arrive in this state is a retransmission of the remote FIN.
        // Acknowledge it, and restart the 2 MSL timeout."
        if ((flags & TcpFlags.Fin) != 0)
        {
            r.Expires = _layer.Now + _layer.Settings.TimeWaitDuration;
            SendAck(r);
        }

        return false;
    }

    private void SendAck(TimeWaitRecord r)
    {
        TcpOptions options = TcpOptions.None;
        if (r.Timestamps)
        {
            options.HasTimestamps = true;
            options.TimestampValue = TcpConnection.TimestampClock(_layer.Now, r.TimestampOffset);
            options.TimestampEcho = r.TimestampRecent;
        }

        _layer.Send(new OutgoingSegment
        {
            Tuple = r.Tuple,
            Sequence = r.SendNext,
            Acknowledgment = r.ReceiveNext,
            Flags = TcpFlags.Ack,
            Window = r.WindowField,
            Options = options,
        });
    }
}
