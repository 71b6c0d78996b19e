// RFC 9293 3.3.1 receive sequence space and 3.10.7.4 (sixth and seventh checks): acceptability,
// urgent data, in-order and out-of-order text, the advertised window (RFC 1122 4.2.3.3 SWS
// avoidance), delayed ACKs (RFC 1122 4.2.3.2), and receive buffer auto-tuning.
using TunStack.Storage;
using TunStack.Wire;

namespace TunStack.Tcp;

/// <summary>
/// The receiving half of one connection: RCV.NXT, the receive buffer with out-of-order data held
/// past its end, the window it advertises, and when received data is acknowledged.
/// </summary>
internal sealed class TcpReceiver
{
    private const int MaxOutOfOrderRanges = 256; // separate holes tracked (room grows as they appear); beyond that segments are dropped

    private readonly TcpConnection _c;
    private readonly TcpLayer _layer;
    private readonly TcpTimers _timers;
    private readonly ChunkedBuffer _buffer;
    private readonly ChunkPool _pool;
    private readonly Assembler _outOfOrder = new(MaxOutOfOrderRanges);
    private readonly bool _autoTune;
    private SeqNumber? _outOfOrderFin;
    private SeqNumber _advertisedRight;
    private bool _advertised;

    // Urgent data (RFC 9293 3.8.5 with RFC 6093's pointer: the byte after the urgent data), as
    // Linux/BSD: one byte taken out of the stream, readable with MSG_OOB, the stream marked where it was.
    private SeqNumber _up;
    private bool _urgentPending;
    private int _oobByte = -1;
    private long _urgentMark = -1;

    // Buffer auto-tuning (Linux tcp_rcv_space_adjust).
    private Instant _spaceStart;
    private long _spaceRead;
    private TimeSpan _rtt;

    public TcpReceiver(TcpConnection connection, int bufferSize, bool autoTune, int shift)
    {
        _c = connection;
        _layer = connection.Layer;
        _timers = connection.Timers;
        _pool = _layer.Memory;
        _buffer = new ChunkedBuffer(_pool, bufferSize, guaranteedChunks: 1); // tcp_rmem[0]: no connection is starved by the others
        _autoTune = autoTune;
        Shift = shift;
    }

    /// <summary>IRS: the peer's initial sequence number.</summary>
    public SeqNumber Irs;

    /// <summary>RCV.NXT.</summary>
    public SeqNumber Nxt;

    /// <summary>Our window scale (RFC 7323 2.2: Rcv.Wind.Shift).</summary>
    public int Shift;

    /// <summary>Last.ACK.sent of RFC 7323 4.3: the RCV.NXT our latest segment acknowledged.</summary>
    public SeqNumber LastAckSent;

    private bool _windowUpdateOwed;

    /// <summary>True once the peer's FIN has been received.</summary>
    public bool FinReceived;

    /// <summary>Bytes received in order since the connection opened (the stream position written).</summary>
    public long StreamWritten { get; private set; }

    /// <summary>Bytes read by the application so far.</summary>
    public long StreamRead { get; private set; }

    // Bytes received since our last ACK (counted in bytes, so a GRO-coalesced segment counts for what it holds).
    private int _unackedBytes;

    // RFC 2883 4: the duplicate to report in the first SACK block of the next ACK (a D-SACK).
    private SackBlock _duplicate;
    private bool _duplicatePending;

    public int Available => _buffer.Count;

    public int Capacity => _buffer.Capacity;

    /// <summary>Out-of-order ranges held (for the SACK blocks of RFC 2018).</summary>
    public Assembler OutOfOrder => _outOfOrder;

    /// <summary>
    /// RCV.WND: the free buffer, at most what the scaled window field can say. Under memory
    /// pressure the window stops growing (Linux tcp_mem): beyond what it already offered (its right
    /// edge never recedes) it offers only what fits in the chunks the buffer holds, plus four
    /// segments while merely under pressure.
    /// </summary>
    public uint Window
    {
        get
        {
            uint window = (uint)Math.Min(_buffer.Free, 65535 << Shift);
            MemoryPressure pressure = _pool.Pressure;
            if (pressure != MemoryPressure.None)
            {
                int offered = _advertised ? Math.Max(0, _advertisedRight - Nxt) : 0;
                int room = pressure == MemoryPressure.Pressure ? Math.Max(_buffer.FreeWithoutPool, 4 * _c.Mss) : _buffer.FreeWithoutPool;
                window = (uint)Math.Min(window, Math.Max(offered, room));
            }

            return window;
        }
    }

    /// <summary>Bytes of pool chunks this receive buffer holds.</summary>
    public int HeldBytes => _buffer.HeldBytes;

    /// <summary>The window field of a SYN: never scaled (RFC 7323 2.2); remembers the right edge it offers.</summary>
    public ushort AdvertiseSyn()
    {
        var window = (ushort)Math.Min(_buffer.Free, 65535);
        _advertisedRight = Nxt + window;
        _advertised = true;
        return window;
    }

    public bool AtMark => _urgentMark >= 0 && StreamRead == _urgentMark;

    public bool HasUrgentData => _oobByte >= 0;

    /// <summary>The window field of an outgoing segment; remembers the right edge it offers.</summary>
    public ushort Advertise()
    {
        uint window = Window;
        _advertisedRight = Nxt + (int)(window >> Shift << Shift);
        _advertised = true;
        return (ushort)(window >> Shift);
    }

    /// <summary>An ACK is owed for in-order data and goes out when the receive batch is done, unless a segment sent before then carries it.</summary>
    public bool AckOwed { get; private set; }

    private void OweAck()
    {
        if (!AckOwed)
        {
            AckOwed = true;
            _layer.OweAck(_c);
        }
    }

    /// <summary>Sends the ACK owed since the batch began, if no segment has carried it yet.</summary>
    public void SendOwedAck()
    {
        if (AckOwed)
        {
            AckOwed = false;
            _c.Sender.SendAck();
        }
    }

    /// <summary>
    /// RFC 2883 4: the part of a received segment below RCV.NXT was a duplicate; the next ACK
    /// reports it as its first SACK block (a D-SACK). Only with SACK (RFC 2883 4: a receiver that
    /// did not agree to SACK sends none). A later duplicate replaces an unreported one.
    /// </summary>
    public void NoteDuplicate(SeqNumber seq, int length)
    {
        // Only bytes that did arrive can arrive twice: a segment that starts before the peer's
        // first byte (IRS + 1) is no duplicate but a forgery or a stray, and a D-SACK block for it
        // would hand the peer sequence numbers it never sent (a blind data flood with random
        // numbers drew one such block for every other segment).
        uint back = unchecked((uint)(Nxt - seq));
        uint received = unchecked((uint)(Nxt - (Irs + 1)));
        if (_c.SackEnabled && length > 0 && back > 0 && back <= received)
        {
            ReportDuplicate(seq, SeqNumber.Min(seq + length, Nxt));
        }
    }

    /// <summary>The D-SACK block owed (RFC 2883 4), taken by the ACK that carries it.</summary>
    public bool TakeDuplicateReport(out SackBlock block)
    {
        block = _duplicate;
        bool pending = _duplicatePending;
        _duplicatePending = false;
        return pending;
    }

    private void ReportDuplicate(SeqNumber left, SeqNumber right)
    {
        // Duplicates that touch the one not yet reported grow its block (as Linux tcp_dsack_extend).
        if (_duplicatePending && left <= _duplicate.Right && right >= _duplicate.Left)
        {
            _duplicate = new SackBlock(SeqNumber.Min(left, _duplicate.Left), SeqNumber.Max(right, _duplicate.Right));
            return;
        }

        _duplicate = new SackBlock(left, right);
        _duplicatePending = true;
        _layer.Counters.Increment(Counter.TcpDsackSent);
    }

    /// <summary>A segment acknowledging RCV.NXT went out: nothing is owed now.</summary>
    public void OnAckSent()
    {
        if (_quickAcks > 0)
        {
            _quickAcks--;
        }

        AckOwed = false;
        _duplicatePending = false; // RFC 2883 4: each duplicate is reported once, by the next ACK
        LastAckSent = Nxt;
        _unackedBytes = 0;
        _timers.Cancel(TcpTimer.DelayedAck);
    }

    // Quick-ACK mode (Linux tcp_event_data_recv, tcp_incr_quickack): the first data of a connection,
    // and data after the receive side was idle for longer than an RTO, are acknowledged at once
    // for as many segments as half the window holds (at least 2, at most 16), so that a sender in
    // slow start is not held up by the delayed-ACK timer (RFC 1122 4.2.3.2 allows an ACK sooner;
    // RFC 5681 4.2 lets a receiver skip the delay in slow start).
    private const int MaxQuickAcks = 16;
    private int _quickAcks;
    private bool _dataSeen;
    private Instant _lastDataAt;

    /// <summary>The next data segment is acknowledged when the receive batch is done, not delayed (a CE mark, RFC 3168 6.1.3, or a CWR).</summary>
    public void AckSoon() => _quickAcks = Math.Max(_quickAcks, 1);

    private void NoteDataArrival()
    {
        Instant now = _layer.Now;
        if (!_dataSeen || now - _lastDataAt > _c.RetransmissionTimeout)
        {
            int quickAcks = (int)Math.Min(Window / (uint)(2 * Math.Max(1, _c.Mss)), MaxQuickAcks);
            _quickAcks = Math.Min(_quickAcks + Math.Max(quickAcks, 2), MaxQuickAcks);
        }

        _dataSeen = true;
        _lastDataAt = now;
    }

    /// <summary>When in-order data last arrived, or the connection was established before any (Linux's lrcvtime, tcpi_last_data_recv).</summary>
    public Instant LastDataAt => _lastDataAt;

    /// <summary>The connection is established: the time since data last arrived counts from now.</summary>
    public void OnEstablished()
    {
        if (!_dataSeen)
        {
            _lastDataAt = _layer.Now;
        }
    }

    /// <summary>RFC 9293 3.10.7.4, first check: the sequence number acceptability test (four cases).</summary>
    public bool IsAcceptable(TcpSegment seg) => IsAcceptable(seg, Nxt, Window);

    /// <summary>The acceptability test against <paramref name="rcvNxt"/> and <paramref name="rcvWnd"/> (also for TIME-WAIT records).</summary>
    public static bool IsAcceptable(TcpSegment seg, SeqNumber rcvNxt, uint rcvWnd)
    {
        int length = seg.SegmentLength;
        return length == 0
            ? rcvWnd == 0 ? seg.SequenceNumber == rcvNxt : seg.SequenceNumber.IsInWindow(rcvNxt, rcvWnd)
            : rcvWnd != 0 && (seg.SequenceNumber.IsInWindow(rcvNxt, rcvWnd) || (seg.SequenceNumber + (length - 1)).IsInWindow(rcvNxt, rcvWnd));
    }

    /// <summary>The receiver's RTT for auto-tuning (Linux tcp_rcv_rtt_measure_ts): data echoing our timestamp, <paramref name="elapsedMs"/> ago.</summary>
    public void MeasureRtt(uint elapsedMs)
    {
        if (elapsedMs is > 0 and < int.MaxValue)
        {
            TimeSpan sample = TimeSpan.FromMilliseconds(elapsedMs);
            _rtt = _rtt == TimeSpan.Zero ? sample : ((_rtt * 7) + sample) / 8;
        }
    }

    /// <summary>RFC 9293 3.10.7.4, sixth check: the urgent pointer (RFC 6093: the byte after the urgent data).</summary>
    public void OnUrgentPointer(TcpSegment seg)
    {
        SeqNumber up = seg.SequenceNumber + seg.UrgentPointer;
        if (!_urgentPending || up > _up)
        {
            _up = up;
            _urgentPending = up > Nxt;
        }
    }

    /// <summary>
    /// RFC 9293 3.10.7.4, seventh check: segment text at <paramref name="seq"/>. In-order data is
    /// written to the buffer, out-of-order data is held past its end, and an ACK is sent or
    /// delayed. Returns false when the segment ends here (held out of order, or not all of it
    /// fitted); otherwise <paramref name="seq"/>, <paramref name="payload"/> and
    /// <paramref name="flags"/> say what is left for the FIN check (a held FIN now in order included).
    /// </summary>
    public bool ReceiveText(ref SeqNumber seq, ref ReadOnlySpan<byte> payload, ref TcpFlags flags)
    {
        if (seq != Nxt)
        {
            int already = Nxt - seq;
            if (already < 0)
            {
                QueueOutOfOrder(seq, payload, (flags & TcpFlags.Fin) != 0);
                return false;
            }

            // Starts before RCV.NXT: trim the part already received (and report it, RFC 2883 4.1.1).
            NoteDuplicate(seq, Math.Min(already, payload.Length));
            payload = already < payload.Length ? payload[already..] : ReadOnlySpan<byte>.Empty;
            seq = Nxt;
        }

        int taken = Math.Min(payload.Length, _buffer.Free);
        if (taken > 0)
        {
            int written = WriteInOrder(payload[..taken]);
            if (written < taken && _outOfOrder.Count > 0)
            {
                // At the memory limit: out-of-order data goes first, so that in-order data can be
                // taken (Linux tcp_prune_ofo_queue; RFC 2018 8 lets a receiver discard SACKed data).
                PruneOutOfOrder();
                written += WriteInOrder(payload[written..taken]);
            }

            if (written < taken)
            {
                _layer.Counters.Increment(Counter.TcpMemoryDrops); // the peer sends the rest again
                taken = written;
            }
        }

        if (taken > 0)
        {
            NoteDataArrival();

            // Data held out of order may now follow on without a gap.
            int joined = _outOfOrder.Count > 0 ? _outOfOrder.TakeContiguous(Nxt) : 0;
            if (joined > 0)
            {
                _buffer.Commit(joined);
                StreamWritten += joined;
                Nxt += joined;
                _unackedBytes = int.MaxValue / 2; // a filled hole is acknowledged at once (RFC 5681 4.2)
            }

            _c.Readable?.Invoke();
        }

        // RFC 9293 3.8.6.3 / RFC 1122 4.2.3.2: ACK at least every second full-sized segment's
        // worth of data (counted in bytes, so a GRO-coalesced segment counts for what it holds),
        // else within the delayed-ACK time.
        // When the application answered from its Readable callback and that segment acknowledged
        // everything, nothing is owed (no second, duplicate ACK).
        int mss = _c.Mss;
        bool answered = LastAckSent == Nxt && taken == payload.Length;
        if (!answered)
        {
            _unackedBytes += taken;
            if (_quickAcks > 0 || _unackedBytes >= 2 * mss || taken < payload.Length)
            {
                // Owed, and sent when the receive batch is done (TcpLayer.FinishReceiveBatch): one ACK
                // then answers all of this connection's in-order segments in the batch, as Linux
                // answers one GRO-merged segment, and whatever the application sends meanwhile carries it.
                OweAck();
            }
            else if (!_timers.IsScheduled(TcpTimer.DelayedAck))
            {
                // The delay runs from the first segment left unacknowledged, not the last (RFC 1122
                // 4.2.3.2: less than 0.5 s; Linux's tcp_send_delayed_ack keeps the earlier deadline).
                _timers.Schedule(TcpTimer.DelayedAck, _layer.Now + _layer.Settings.DelayedAck);
            }
        }

        if (taken < payload.Length)
        {
            return false; // the rest did not fit; the FIN (if any) waits too
        }

        if (_outOfOrderFin is { } pendingFin && pendingFin == Nxt)
        {
            flags |= TcpFlags.Fin;
            seq = Nxt;
            payload = ReadOnlySpan<byte>.Empty;
        }

        return true;
    }

    // Writes in-order data at RCV.NXT; the urgent byte (at RCV.UP - 1) is taken out of the stream
    // into the out-of-band slot and the stream is marked there. Returns the bytes taken (fewer than
    // given when the memory limit is reached).
    private int WriteInOrder(ReadOnlySpan<byte> data)
    {
        int urgentAt = _urgentPending ? (_up - 1) - Nxt : -1;
        if (urgentAt >= 0 && urgentAt < data.Length && _outOfOrder.Count == 0)
        {
            int before = _buffer.WriteAt(0, data[..urgentAt]);
            _buffer.Commit(before);
            StreamWritten += before;
            if (before < urgentAt)
            {
                Nxt += before;
                return before;
            }

            _oobByte = data[urgentAt];
            _urgentMark = StreamWritten;
            _urgentPending = false;
            int after = _buffer.WriteAt(0, data[(urgentAt + 1)..]);
            _buffer.Commit(after);
            StreamWritten += after;
            Nxt += urgentAt + 1 + after;
            _layer.Counters.Increment(Counter.TcpUrgentReceived);
            return urgentAt + 1 + after;
        }

        int n = _buffer.WriteAt(0, data);
        _buffer.Commit(n);
        StreamWritten += n;
        Nxt += n;
        return n;
    }

    private void PruneOutOfOrder()
    {
        _buffer.DiscardUnreadable();
        _outOfOrder.Clear();
        _outOfOrderFin = null;
        _layer.Counters.Increment(Counter.TcpOutOfOrderPruned);
    }

    // Out-of-order data is written into the receive ring past its end and remembered by range;
    // RFC 5681 4.2 / RFC 9293 3.10.7.4: an out-of-order segment is acknowledged at once.
    private void QueueOutOfOrder(SeqNumber seq, ReadOnlySpan<byte> payload, bool fin)
    {
        int offset = seq - Nxt;
        int room = _buffer.Free - offset;
        int n = Math.Min(payload.Length, room);
        if (n > 0 && _pool.Pressure == MemoryPressure.Exhausted)
        {
            _layer.Counters.Increment(Counter.TcpMemoryDrops);
            n = 0; // at the memory limit nothing is held out of order
        }

        // RFC 2883 4.1.2: data already held out of order is a duplicate; the D-SACK reports it and,
        // as TryAdd marks the holding range the most recently changed, the next block is that range.
        if (_c.SackEnabled && payload.Length > 0 && _outOfOrder.Holds(seq, seq + payload.Length))
        {
            ReportDuplicate(seq, seq + payload.Length);
        }

        n = n > 0 ? _buffer.WriteAt(offset, payload[..n]) : 0;
        if (n > 0 && _outOfOrder.TryAdd(seq, seq + n))
        {
            _layer.Counters.Increment(Counter.TcpOutOfOrderQueued);
            if (fin && n == payload.Length)
            {
                _outOfOrderFin = seq + n;
            }
        }
        else
        {
            _layer.Counters.Increment(Counter.TcpOutOfOrderDropped);
        }

        _c.Sender.SendAck();
    }

    /// <summary>
    /// The application reads (or peeks at) received data. A read stops at the urgent mark, as on
    /// Linux. Returns the bytes read.
    /// </summary>
    public int Read(Span<byte> buffer, bool peek)
    {
        if (_urgentMark > StreamRead && _urgentMark - StreamRead < buffer.Length)
        {
            buffer = buffer[..(int)(_urgentMark - StreamRead)]; // a read stops at the mark, as on Linux
        }

        int n = peek ? _buffer.Peek(buffer) : _buffer.Read(buffer);
        if (!peek)
        {
            StreamRead += n;
            TuneBuffer();
            if (n > 0)
            {
                MaybeSendWindowUpdate();
            }
        }

        return n;
    }

    /// <summary>
    /// The connection closed: data written ahead goes back to the pool at once; readable data too
    /// when the application has closed, else it stays until read (the buffer lets its chunks go
    /// as it empties).
    /// </summary>
    public void ReleaseMemory(bool applicationClosed)
    {
        if (applicationClosed)
        {
            _buffer.Clear();
        }
        else
        {
            _buffer.DiscardUnreadable();
        }
    }

    /// <summary>Takes the out-of-band byte (recv with MSG_OOB); false when none is waiting.</summary>
    public bool TryTakeUrgent(out byte value, bool peek)
    {
        value = _oobByte < 0 ? (byte)0 : (byte)_oobByte;
        if (_oobByte < 0)
        {
            return false;
        }

        if (!peek)
        {
            _oobByte = -1;
        }

        return true;
    }

    // RFC 1122 4.2.3.3 (receiver SWS avoidance): announce a larger window only once it has grown
    // by at least min(MSS, half the buffer). And, as Linux's tcp_cleanup_rbuf, only when the
    // window the peer still has is at most half the buffer and the new one is at least twice
    // it: a read that frees a little of a window still wide open sends no extra ACK (the next
    // ACK carries the new window anyway). A read that frees a quarter of the buffer is announced
    // at once all the same: on a long path with a growing buffer, waiting for the window to
    // halve cost a quarter of the throughput (WindowAndBufferTuningTests' long fat path).
    private void MaybeSendWindowUpdate()
    {
        if (!_c.State.ReceivesText)
        {
            return;
        }

        if (_c.InSegment)
        {
            _windowUpdateOwed = true; // sent, if still needed, when the segment is done
            return;
        }

        int growth = (Nxt + (int)Window) - _advertisedRight;
        long left = Math.Max(0, _advertisedRight - Nxt);
        if (growth >= Math.Min(_c.Mss, _buffer.Capacity / 2)
            && ((2 * left <= _buffer.Capacity && Window >= 2 * left) || growth >= _buffer.Capacity / 4))
        {
            _c.Sender.SendAck();
        }
    }

    /// <summary>A window update earned by reads during a segment's processing, unless a segment sent since carried it.</summary>
    public void SendOwedWindowUpdate()
    {
        if (_windowUpdateOwed)
        {
            _windowUpdateOwed = false;
            MaybeSendWindowUpdate();
        }
    }

    // Linux's dynamic right-sizing (tcp_rcv_space_adjust): once per receiver RTT, if the
    // application read more than half the buffer in that time, the buffer (and so the window)
    // grows to twice that plus 16 segments, up to ReceiveBufferMax.
    private void TuneBuffer()
    {
        if (!_autoTune)
        {
            return;
        }

        Instant now = _layer.Now;
        RttEstimator rtt = _c.Rtt;
        TimeSpan interval = _rtt > TimeSpan.Zero ? _rtt : rtt.HasSample && rtt.Smoothed > TimeSpan.Zero ? rtt.Smoothed : TimeSpan.FromMilliseconds(100);
        if (_spaceStart == default)
        {
            _spaceStart = now;
            _spaceRead = StreamRead;
            return;
        }

        if (now - _spaceStart < interval)
        {
            return;
        }

        long copied = StreamRead - _spaceRead;
        _spaceStart = now;
        _spaceRead = StreamRead;
        int max = _layer.Settings.ReceiveBufferMax;
        long want = Math.Min(max, (2 * copied) + (16L * _c.Mss));
        if (want > _buffer.Capacity && _pool.Pressure == MemoryPressure.None) // Linux: no growth under tcp_mem pressure
        {
            _buffer.Grow((int)Math.Min(max, Math.Max(want, 2L * _buffer.Capacity)));
            _layer.Counters.Increment(Counter.TcpReceiveBufferGrowths);
        }
    }

    /// <summary>
    /// The window scale offered for a receive buffer of <paramref name="requested"/> bytes (0: the
    /// default, auto-tuned up to <see cref="TcpSettings.ReceiveBufferMax"/>, so scaled for that).
    /// </summary>
    public static int ShiftFor(TcpSettings settings, int requested)
        => ShiftForBuffer(requested > 0 ? requested : settings.AutoTuneBuffers ? Math.Max(settings.ReceiveBufferSize, settings.ReceiveBufferMax) : settings.ReceiveBufferSize);

    /// <summary>The window scale that lets a window of <paramref name="bufferSize"/> bytes be advertised (RFC 7323 2.3, at most 14).</summary>
    private static int ShiftForBuffer(int bufferSize)
    {
        int shift = 0;
        while ((bufferSize >> shift) > 65535 && shift < TcpOptions.MaxWindowScale)
        {
            shift++;
        }

        return shift;
    }
}
