// Loss recovery behind one interface (as gVisor's lossRecovery): what both kinds share is here:
// fast recovery's entry and exit (RFC 5681 3.2, RFC 6582, RFC 6675 5), the window during it
// (RFC 6937 Proportional Rate Reduction), limited transmit (RFC 3042), and the undo of needless
// window reductions (RFC 3708 with RFC 2883 D-SACK, and RFC 3522 Eifel detection with timestamps).
// SackRecovery (RFC 6675 + RFC 8985 RACK-TLP) and NewRenoRecovery (RFC 6582) say how losses are
// found, what the pipe is, and which segment goes next.
using TunStack.Tcp.Congestion;
using TunStack.Wire;

namespace TunStack.Tcp.Recovery;

/// <summary>
/// One connection's loss recovery: told of every ACK and transmission by the sender, it decides
/// when fast recovery starts and ends and which lost segment is retransmitted next.
/// </summary>
internal abstract class LossRecovery
{
    /// <summary>RFC 5681 3.2 / RFC 6675 2: DupThresh.</summary>
    public const int DupThresh = 3;

    private bool _undoArmed;
    private int _undoCwnd, _undoSsthresh, _undoRetransmissions;
    private SeqNumber _undoMarker;

    // RFC 3522 3.2: the TSval of the episode's first retransmission; an ACK echoing an earlier one
    // acknowledges an original transmission.
    private uint _undoTsval;
    private bool _undoTsvalSet;

    // RFC 6937 3: prr_delivered, RecoverFS (the flight when recovery began), and BytesSent then
    // (prr_out is what was sent since); _deliveredSeen is what the receiver had by the previous ACK.
    private long _prrDelivered;
    private int _prrRecoverFs;
    private long _prrSentAtEntry;
    private long _deliveredSeen;

    protected LossRecovery(TcpConnection connection, int sendBufferCapacity)
    {
        Connection = connection;
        Log = new SentSegments(LogCapacityFor(sendBufferCapacity));
        DeliveredCallback = OnDelivered;
    }

    /// <summary>The segments in flight with their send times, marks and delivery-rate stamps.</summary>
    public SentSegments Log { get; }

    /// <summary>The delivery-rate estimator over <see cref="Log"/>.</summary>
    public DeliveryRateEstimator Rate { get; } = new();

    /// <summary><see cref="OnDelivered"/> as a delegate made once (the log calls it per delivered segment).</summary>
    protected Action<SentSegments.Entry> DeliveredCallback { get; }

    protected TcpConnection Connection { get; }

    protected TcpSender Sender => Connection.Sender;

    /// <summary>True during fast recovery.</summary>
    public bool InRecovery { get; private set; }

    /// <summary>RFC 6582 "recover" / RFC 6675 RecoveryPoint: SND.NXT when the loss was found (or at an RTO).</summary>
    public SeqNumber RecoveryPoint { get; set; }

    /// <summary>RFC 6675 HighRxt: the end of the highest retransmission in this recovery.</summary>
    protected SeqNumber HighRxt { get; private set; }

    /// <summary>Duplicate ACKs in a row.</summary>
    protected int DupAcks { get; private set; }

    /// <summary>RFC 3042: one new segment may go beyond cwnd for this duplicate ACK.</summary>
    public bool LimitedTransmit { get; set; }

    /// <summary>Fast recoveries entered (tcp_info).</summary>
    public long Recoveries { get; private set; }

    /// <summary>Segments deemed lost and retransmitted (tcpi_lost, cumulative).</summary>
    public long LostSegments { get; private set; }

    /// <summary>Window reductions undone.</summary>
    public long Undos { get; private set; }

    /// <summary>Bytes SACKed above SND.UNA now (0 without SACK).</summary>
    public virtual int SackedBytes => 0;

    /// <summary>
    /// Bytes above SND.UNA the receiver is known to hold: the SACKed ones, or without SACK one
    /// segment per duplicate ACK of the recovery (RFC 6937 3: DeliveredData).
    /// </summary>
    protected virtual int DeliveredAboveUna => SackedBytes;

    /// <summary>
    /// Bytes the duplicate ACKs since the last new acknowledgment, outside recovery, said had
    /// left the network (0 with SACK, where the SACK blocks say which).
    /// </summary>
    public virtual int DuplicateAckedBytes => 0;

    /// <summary>The largest reordering seen, in segments (tcpi_reordering; the duplicate-ACK threshold until RACK sees more).</summary>
    public virtual int Reordering => DupThresh;

    /// <summary>
    /// Linux's TCP_CA_Disorder: outside recovery, SACKs or duplicate ACKs have told of data above
    /// SND.UNA, or segments are deemed lost, but no recovery has begun.
    /// </summary>
    public bool InDisorder => !InRecovery && (SackedBytes > 0 || DupAcks > 0 || Log.LostOutSegments > 0);

    /// <summary>RFC 6675 4 SetPipe: the bytes still in the network.</summary>
    public abstract int Pipe();

    /// <summary>The ACK's SACK blocks (RFC 2018); true when one told something new.</summary>
    public virtual bool OnSackBlocks(in TcpOptions received, SeqNumber ack) => false;

    /// <summary>The cumulative ACK reached <paramref name="ack"/> (SND.UNA has moved there).</summary>
    public virtual void OnCumulativeAck(SeqNumber ack) => Log.AckTo(ack, DeliveredCallback);

    /// <summary>
    /// An ACK that moved nothing, with data in flight, no data, SYN or FIN, and the window
    /// unchanged (RFC 5681 2 (a)-(e)): is it a duplicate ACK? <paramref name="sackNews"/> tells
    /// whether its SACK blocks said something new (RFC 6675 2).
    /// </summary>
    public abstract bool IsDuplicateAck(bool sackNews);

    /// <summary>Looks for losses after an ACK, with data in flight (RFC 8985 with SACK).</summary>
    public virtual void DetectLoss()
    {
    }

    /// <summary>
    /// A new or go-back-N segment [seq, seq + length) went out; <paramref name="sentBefore"/> when
    /// it had been sent before, <paramref name="pushed"/> when it carried PSH.
    /// </summary>
    public void OnDataSent(SeqNumber seq, int length, bool sentBefore, bool pushed = false)
    {
        Instant now = Connection.Layer.Now;
        bool flightEmpty = Pipe() == 0;
        int index;
        if (sentBefore && Log.Resent(seq, length, now, out index))
        {
            Rate.OnSent(ref Log[index], flightEmpty, now);
        }
        else if (Log.Append(seq, length, now))
        {
            index = Log.Count - 1;
            Rate.OnSent(ref Log[index], flightEmpty, now);
        }
        else
        {
            return;
        }

        if (pushed)
        {
            Log[index].Marks |= SentSegments.Marks.Pushed;
        }
    }

    /// <summary>[start, start + length) was retransmitted (a fast retransmission or a probe).</summary>
    public void OnResent(SeqNumber start, int length)
    {
        Instant now = Connection.Layer.Now;
        bool flightEmpty = Pipe() == 0;
        if (Log.Resent(start, length, now, out int index))
        {
            Rate.OnSent(ref Log[index], flightEmpty, now);
        }
    }

    /// <summary>
    /// The send time of the most recently sent segment the current ACK newly delivered that was
    /// sent once only (Linux's last_ackt, whose age is the ACK's RTT sample for congestion
    /// control), or default; the sender clears it before each ACK.
    /// </summary>
    public Instant NewestDeliveredSentAt { get; set; }

    /// <summary>A segment of the log was newly delivered (cumulatively acknowledged or SACKed).</summary>
    protected virtual void OnDelivered(SentSegments.Entry e)
    {
        if (!e.Is(SentSegments.Marks.Retransmitted) && e.SentAt > NewestDeliveredSentAt)
        {
            NewestDeliveredSentAt = e.SentAt;
        }

        Rate.OnDelivered(e, Connection.Layer.Now);
    }

    /// <summary>RFC 8985 7.2: may a tail loss probe be scheduled now?</summary>
    public virtual bool CanProbe() => false;

    /// <summary>RFC 8985 7.3: the probe timeout fired; send a probe.</summary>
    public virtual void SendLossProbe()
    {
    }

    /// <summary>A retransmission timeout (not a probe timeout) fired.</summary>
    public virtual void OnRetransmitTimeout()
    {
    }

    /// <summary>The send buffer grew to <paramref name="capacity"/> bytes.</summary>
    public void OnSendBufferGrown(int capacity) => Log.MaxCapacity = LogCapacityFor(capacity);

    /// <summary>Go-back-N (after an RTO or a path MTU drop): recovery and everything known about the flight start over.</summary>
    public virtual void Reset()
    {
        LeaveRecovery();
        LimitedTransmit = false;
        Log.Clear();
    }

    /// <summary>A duplicate ACK arrived.</summary>
    public void OnDuplicateAck()
    {
        DupAcks++;
        if (InRecovery)
        {
            OnDuplicateAckInRecovery();
            return; // Output, after the ACK, sends what the pipe allows
        }

        if (!DuplicateAcksShowLoss)
        {
            // RFC 3042: on the first two duplicate ACKs, one new segment each if the windows allow.
            LimitedTransmit = true;
            return;
        }

        // RFC 6582 3.2 step 1 / 4.1: no new recovery for losses from before the last one (or an RTO).
        if (Sender.Una < RecoveryPoint)
        {
            return;
        }

        EnterRecovery();
    }

    /// <summary>
    /// New data acknowledged. In recovery: a full acknowledgment ends it, a partial one is handled
    /// (true: the ACK was recovery's, the window does not grow). Outside: false.
    /// </summary>
    /// <param name="ack">The new SND.UNA.</param>
    /// <param name="dataAcked">Data bytes it acknowledged.</param>
    /// <param name="echo">The ACK's TSecr (RFC 7323), or null without timestamps.</param>
    public bool OnNewAck(SeqNumber ack, int dataAcked, uint? echo)
    {
        LimitedTransmit = false;
        if (!InRecovery)
        {
            DupAcks = 0;
            return false;
        }

        if (ack >= RecoveryPoint)
        {
            // RFC 3522 3.2 (Linux tcp_try_undo_recovery): the ACK that ends recovery echoes a
            // timestamp from before the first retransmission: the originals arrived, only late;
            // the reduction is undone (RFC 4015 3.2 restores the window).
            if (EchoPredatesRetransmission(echo))
            {
                Undo();
                return true;
            }

            // RFC 6582 3.2 step 3 / RFC 6675 5: a full acknowledgment ends recovery.
            LeaveRecovery();
            Sender.Congestion.OnRecoveryEnd();
            return true;
        }

        // RFC 6582 3.2 step 5: a partial ACK. If it acknowledges an original transmission the
        // segment at SND.UNA was reordered, not lost (Linux tcp_try_undo_partial counts that as
        // reordering; the reduction stands while retransmissions are out).
        Connection.Layer.Counters.Increment(Counter.TcpPartialAcks);
        if (EchoPredatesRetransmission(echo))
        {
            OnSpuriousRecovery();
        }

        OnPartialAck(dataAcked);
        return true;
    }

    /// <summary>
    /// RFC 6937 3.1: after every ACK during recovery, Proportional Rate Reduction sets cwnd to
    /// pipe + sndcnt, so that the flight falls to ssthresh gradually, one part per delivered part,
    /// instead of stopping all transmission until pipe is below the halved window.
    /// <paramref name="sentForThisAck"/> is what the ACK's processing already sent (the fast
    /// retransmission that begins recovery): it is part of this ACK's sndcnt, as RFC 6937 counts
    /// it and Linux's tcp_cwnd_reduction does (it runs before tcp_xmit_retransmit_queue).
    /// <paramref name="safeAck"/>: the ACK advanced SND.UNA and marked nothing newly lost, the only
    /// ACK that PRR-SSRB may let send one segment beyond what was delivered (RFC 6937bis SafeACK;
    /// Linux's FLAG_SND_UNA_ADVANCED and !newly_lost).
    /// </summary>
    public void OnAckProcessed(long sentForThisAck = 0, bool safeAck = true)
    {
        long delivered = Sender.BytesAcked + DeliveredAboveUna;
        long newly = delivered - _deliveredSeen;
        _deliveredSeen = delivered;
        if (!InRecovery || newly <= 0 || !Sender.Congestion.UsesProportionalRateReduction)
        {
            return; // RFC 6937 3.1 runs on ACKs that deliver data (unless the controller sets the window itself)
        }

        ReduceWindow(newly, sentForThisAck, safeAck);
    }

    /// <summary>
    /// RACK's reordering timer found losses and began recovery, with no ACK to deliver anything:
    /// the window is reduced as for an ACK that delivered one segment, not a SafeACK, as Linux's
    /// tcp_rack_reo_timeout calls tcp_cwnd_reduction(sk, 1, 0, 0), so that one retransmission
    /// goes now and PRR paces the rest. <paramref name="sentForThisTimer"/> is what entering
    /// recovery already sent.
    /// </summary>
    public void OnRecoveryEnteredByTimer(long sentForThisTimer)
    {
        if (InRecovery && Sender.Congestion.UsesProportionalRateReduction)
        {
            ReduceWindow(Connection.Mss, sentForThisTimer, safeAck: false);
        }
    }

    // RFC 6937 3.1 for `newly` bytes delivered (see OnAckProcessed).
    private void ReduceWindow(long newly, long sentForThisAck, bool safeAck)
    {
        _prrDelivered += newly;
        long pipe = Pipe() - sentForThisAck; // as it was when the ACK arrived
        int ssthresh = Sender.Congestion.Ssthresh;
        long prrOut = Sender.BytesSent - _prrSentAtEntry - sentForThisAck;
        long sndcnt = pipe > ssthresh
            ? ((_prrDelivered * ssthresh) + _prrRecoverFs - 1) / _prrRecoverFs - prrOut // proportional rate reduction
            : Math.Min(ssthresh - pipe, Math.Max(_prrDelivered - prrOut, newly) + (safeAck ? Connection.Mss : 0)); // PRR-SSRB
        if (prrOut == 0)
        {
            sndcnt = Math.Max(sndcnt, Connection.Mss); // the fast retransmission always goes (Linux: "force a fast retransmit")
        }

        Sender.Congestion.SetRecoveryWindow((int)Math.Max(0, pipe + Math.Max(0, sndcnt)));
    }

    /// <summary>RFC 6675 5 steps 4.1-4.3 (RFC 5681 3.2 steps 2-3 without SACK).</summary>
    public void EnterRecovery()
    {
        TcpSender sender = Sender;
        Connection.Layer.Counters.Increment(Counter.TcpFastRecoveries);
        Recoveries++;
        ArmUndo();
        InRecovery = true;

        // RFC 3042 is for the first two duplicate ACKs only: an allowance they left unused (nothing
        // new to send then) must not hold recovery's new data to cwnd + 2 SMSS - FlightSize.
        LimitedTransmit = false;
        RecoveryPoint = sender.Nxt;
        HighRxt = sender.Una;
        _prrDelivered = 0; // RFC 6937 3: at the start of recovery
        _prrRecoverFs = Math.Max(sender.Nxt - sender.Una, Connection.Mss);
        _prrSentAtEntry = sender.BytesSent;
        OnRecoveryEntered();
        if (!Connection.Ecn.ReducedInWindow(sender.Una))
        {
            // RFC 3168 6.1.2: a window already reduced for an ECN-Echo is not reduced again for a loss in it.
            sender.Congestion.OnLoss(sender.Nxt - sender.Una, Connection.Layer.Now);
        }

        Connection.Rtt.StopTiming(); // Karn: the timed segment may be the lost one
        RetransmitNext(force: true);
        sender.ArmRetransmit(restart: true); // an RTO now, not a probe timeout
    }

    /// <summary>
    /// RFC 6675 4 NextSeg rule 1: retransmits the lowest segment deemed lost. With
    /// <paramref name="force"/> (entering recovery, a NewReno partial ACK) it goes whatever the pipe says.
    /// </summary>
    public bool RetransmitNext(bool force = false)
    {
        if (!TryNextLost(force, out SeqNumber start, out int length))
        {
            return false;
        }

        TcpSender sender = Sender;
        length = Math.Min(length, sender.Buffered - (start - sender.Una));
        if (length <= 0)
        {
            return false; // only the FIN is outstanding there: the RTO resends it
        }

        Connection.Layer.Counters.Increment(Counter.TcpFastRetransmits);
        LostSegments++;
        CountRetransmission();
        sender.Resend(start, length);
        if (start + length > HighRxt)
        {
            HighRxt = start + length;
        }

        sender.ArmRetransmit();
        return true;
    }

    /// <summary>
    /// RFC 3708 2: the window is about to be reduced for a loss; remember it, so that the
    /// reduction can be undone if D-SACKs show that every retransmission of this episode was needless.
    /// </summary>
    public void ArmUndo()
    {
        _undoArmed = true;
        _undoCwnd = Sender.Congestion.Cwnd;
        _undoSsthresh = Sender.Congestion.Ssthresh;
        _undoRetransmissions = 0;
        _undoMarker = Sender.Una;
        _undoTsvalSet = false;
    }

    /// <summary>A retransmission of the current episode went out (RFC 3708 counts them; RFC 3522 keeps the first one's TSval).</summary>
    public void CountRetransmission()
    {
        if (_undoArmed)
        {
            if (_undoRetransmissions++ == 0 && Connection.TimestampsEnabled)
            {
                _undoTsval = Connection.TimestampNow;
                _undoTsvalSet = true;
            }
        }
    }

    /// <summary>The lowest segment to retransmit, or false when none is due.</summary>
    protected abstract bool TryNextLost(bool force, out SeqNumber start, out int length);

    /// <summary>True when the duplicate ACKs so far alone show a loss (RFC 5681 3.2's third).</summary>
    protected abstract bool DuplicateAcksShowLoss { get; }

    protected virtual void OnDuplicateAckInRecovery()
    {
    }

    protected virtual void OnRecoveryEntered()
    {
    }

    protected virtual void OnPartialAck(int dataAcked)
    {
    }

    /// <summary>Recovery ended (full ACK, undo, or go-back-N).</summary>
    protected virtual void OnRecoveryLeft()
    {
    }

    /// <summary>A retransmission was shown needless: what was deemed lost was late.</summary>
    protected virtual void OnSpuriousRecovery()
    {
    }

    /// <summary>
    /// RFC 2883 4.2 / RFC 3708 3.2: a D-SACK for data of the current episode means one of its
    /// retransmissions was needless; when that has been shown for all of them, undo the reduction.
    /// </summary>
    protected void OnDuplicateReported(SackBlock block)
    {
        if (!_undoArmed || block.Left < _undoMarker || block.Right > Sender.Max)
        {
            return;
        }

        if (--_undoRetransmissions > 0)
        {
            return;
        }

        Undo();
    }

    // RFC 3522 3.2: an ACK echoing a TSval older than the episode's first retransmission.
    private bool EchoPredatesRetransmission(uint? echo)
        => _undoArmed && _undoTsvalSet && echo is uint e && e != 0 && unchecked((int)(e - _undoTsval)) < 0;

    // RFC 3708 3.2 / RFC 4015 3.2: the reduction was needless; cwnd and ssthresh come back.
    private void Undo()
    {
        _undoArmed = false;
        Undos++;
        Connection.Layer.Counters.Increment(Counter.TcpSpuriousRetransmissionUndos);
        Sender.Congestion.Undo(_undoCwnd, _undoSsthresh);
        OnSpuriousRecovery();
        LeaveRecovery();
    }

    private void LeaveRecovery()
    {
        InRecovery = false;
        DupAcks = 0;
        OnRecoveryLeft();
    }

    // One entry per segment the send buffer can have in flight.
    private static int LogCapacityFor(int sendBufferCapacity) => (sendBufferCapacity / 512) + 64;
}
