// RFC 9293 3.3.1 send sequence space and 3.8.6 (windows), with what decides when data goes:
// segmentation, Nagle (RFC 896 / RFC 1122 4.2.3.4), the peer's window, cwnd (RFC 5681) with
// limited transmit (RFC 3042) and RFC 7661 validation; the processing of ACKs for our data; the
// retransmission timer (RFC 6298), the persist timer, and RFC 8985's probe timeout.
using TunStack.Storage;
using TunStack.Tcp.Congestion;
using TunStack.Wire;

namespace TunStack.Tcp;

/// <summary>
/// The sending half of one connection: the send buffer, SND.UNA/SND.NXT/SND.WND, the FIN,
/// congestion control, and every segment the connection sends.
/// </summary>
internal sealed class TcpSender
{
    // Congestion window validation: cwnd grows only when the window was used (see WindowUsed);
    // an unused window ages out after RFC 7661's non-validated period.
    private static readonly TimeSpan NonValidatedPeriod = TimeSpan.FromMinutes(5);

    private readonly TcpConnection _c;
    private readonly TcpLayer _layer;
    private readonly TcpReceiver _receiver;
    private readonly TcpTimers _timers;
    private readonly RttEstimator _rtt;
    private readonly ChunkedBuffer _buffer;
    private bool _autoTune;
    private SeqNumber _finSeq;
    private bool _finEverSent;
    private bool _ptoArmed;         // the retransmission timer is set for a probe timeout, not an RTO
    private bool _probeSegment;     // Output sends one new segment whatever cwnd says (a loss probe)

    // Rounds (HyStart++ and RFC 7661): a round ends when the data outstanding at its start is acknowledged.
    private SeqNumber _roundEnd;

    // How the window was used (Linux tcp_cwnd_validate): the largest flight since SND.UNA passed
    // _windowUseEnd, and whether sending stopped at cwnd in that window.
    private int _maxFlight;
    private bool _cwndLimited, _cwndLimitedNow;
    private SeqNumber _windowUseEnd;
    private Instant _nonValidatedSince;
    private Instant _roundStartAt;
    private long _roundStartAcked;

    // Pacing (earliest departure time, as Linux's tcp_wstamp): the next segment leaves no earlier
    // than this; the Pace timer wakes the sender then. Up to one timer tick of lateness is made
    // up, so a timer wheel of millisecond ticks does not slow a paced flow.
    private static readonly TimeSpan PacingSlack = TimeSpan.FromMilliseconds(1);
    private Instant _nextDeparture;

    // Bytes the log had ever marked lost at the previous ACK (what one ACK found lost is the difference).
    private long _lostSeen;

    // When data last left (Linux's lsndtime): TcpSettings.RestartWindowAfterIdle measures idleness from it.
    private Instant _lastDataSentAt;

    public TcpSender(TcpConnection connection, int bufferSize, bool autoTune, CongestionControl congestion)
    {
        _c = connection;
        _layer = connection.Layer;
        _receiver = connection.Receiver;
        _timers = connection.Timers;
        _rtt = connection.Rtt;
        _buffer = new ChunkedBuffer(_layer.Memory, bufferSize, guaranteedChunks: 1); // tcp_wmem[0]: a send always makes progress
        _autoTune = autoTune;
        Congestion = congestion;
    }

    /// <summary>ISS.</summary>
    public SeqNumber Iss;

    /// <summary>SND.UNA: the oldest unacknowledged sequence number.</summary>
    public SeqNumber Una;

    /// <summary>SND.NXT: the next sequence number to send.</summary>
    public SeqNumber Nxt;

    /// <summary>The highest SND.NXT so far: after a go-back-N retransmission, ACKs up to here are valid (BSD's snd_max).</summary>
    public SeqNumber Max;

    /// <summary>SND.WL1 and SND.WL2: the segment that last updated the window.</summary>
    public SeqNumber Wl1, Wl2;

    /// <summary>SND.WND, scaled.</summary>
    public uint Wnd;

    /// <summary>MAX.SND.WND of RFC 5961 5.2: the largest window the peer has offered.</summary>
    public uint MaxWnd;

    /// <summary>The peer's window scale (RFC 7323 2.2: Snd.Wind.Shift).</summary>
    public int Shift;

    /// <summary>The application asked for a FIN after its data (shutdown or close).</summary>
    public bool FinQueued;

    /// <summary>Our FIN is in the sequence space sent (cleared when a go-back-N resends it).</summary>
    public bool FinSent;

    /// <summary>Our FIN has been acknowledged.</summary>
    public bool FinAcked;

    /// <summary>The urgent pointer (RFC 6093: the byte after the urgent data) and whether it is still to be acknowledged.</summary>
    public SeqNumber UrgentPointer;

    /// <summary>True while sent urgent data is unacknowledged: segments up to it carry URG.</summary>
    public bool Urgent;

    /// <summary>Retransmissions since the last new acknowledgment (backoff count).</summary>
    public int Retries;

    /// <summary>When the oldest unacknowledged data was sent or last acknowledged (RFC 5482 user timeout).</summary>
    public Instant OldestUnackedAt;

    /// <summary>The congestion controller (replaced when the algorithm is switched).</summary>
    public CongestionControl Congestion;

    /// <summary>tcp_info statistics.</summary>
    public long BytesSent, BytesRetransmitted, BytesAcked, RetransmitSegments, Timeouts;

    /// <summary>Bytes acknowledged over the last round trip, per second (tcpi_delivery_rate).</summary>
    public double DeliveryRate { get; private set; }

    /// <summary>Bytes in the send buffer: unacknowledged and unsent.</summary>
    public int Buffered => _buffer.Count;

    /// <summary>Bytes of pool chunks this send buffer holds.</summary>
    public int HeldBytes => _buffer.HeldBytes;

    public int Free => _buffer.Free;

    /// <summary>What <see cref="Queue"/> would take now (less than <see cref="Free"/> when the memory pool is at its limit).</summary>
    public int QueueableNow => _buffer.WritableNow;

    public int Capacity => _buffer.Capacity;

    /// <summary>Buffered bytes not yet sent (at SND.NXT and beyond).</summary>
    public int Unsent => _buffer.Count - (Nxt - Una - (FinSent ? 1 : 0));

    // The sequence number after the last buffered byte.
    private SeqNumber BufferEnd => Una + (Una == Iss ? 1 : 0) + _buffer.Count;

    // MSG_EOR (Linux's TCP_SKB_CB(skb)->eor, tcp_skb_can_collapse_to): where records end, oldest
    // first, from SND.UNA on. A segment, new or retransmitted, never crosses one; the array grows
    // only with the records outstanding, never per segment.
    private SeqNumber[] _recordEnds = new SeqNumber[4];
    private int _recordStart, _recordCount;

    private SeqNumber EndOfLastRecord => _recordCount > 0 ? _recordEnds[(_recordStart + _recordCount - 1) % _recordEnds.Length] : default;

    private void MarkRecordEnd(bool ended)
    {
        SeqNumber end = BufferEnd;
        if (!ended || (_recordCount > 0 && EndOfLastRecord == end))
        {
            return;
        }

        if (_recordCount == _recordEnds.Length)
        {
            var larger = new SeqNumber[_recordEnds.Length * 2];
            for (int i = 0; i < _recordCount; i++)
            {
                larger[i] = _recordEnds[(_recordStart + i) % _recordEnds.Length];
            }

            _recordEnds = larger;
            _recordStart = 0;
        }

        _recordEnds[(_recordStart + _recordCount) % _recordEnds.Length] = end;
        _recordCount++;
    }

    // Forgets the record ends SND.UNA has passed.
    private void DropAckedRecordEnds()
    {
        while (_recordCount > 0 && _recordEnds[_recordStart] <= Una)
        {
            _recordStart = (_recordStart + 1) % _recordEnds.Length;
            _recordCount--;
        }
    }

    /// <summary>The first record end after <paramref name="seq"/>, or null when no record boundary lies ahead.</summary>
    public SeqNumber? NextRecordEnd(SeqNumber seq)
    {
        for (int i = 0; i < _recordCount; i++)
        {
            SeqNumber end = _recordEnds[(_recordStart + i) % _recordEnds.Length];
            if (end > seq)
            {
                return end;
            }
        }

        return null;
    }

    // Linux tcp_xmit_size_goal: the bytes one skb of a write takes, the largest GSO packet
    // (64 KiB) bounded to half the peer's largest window (tcp_bound_to_half_wnd), in whole MSS.
    private int SizeGoal()
    {
        int mss = Math.Max(1, _c.Mss);
        long limit = Math.Min(64 * 1024, MaxWnd > 536 ? MaxWnd / 2 : Math.Max(MaxWnd, (uint)mss));
        return (int)Math.Max(1, limit / mss) * mss;
    }

    /// <summary>Sets the send buffer's size (SO_SNDBUF on a connection): smaller than what it holds, writes wait until ACKs drain it below.</summary>
    public void SetCapacity(int capacity)
    {
        int before = _buffer.Capacity;
        _buffer.SetCapacity(capacity);
        _autoTune = false; // Linux SOCK_SNDBUF_LOCK: a size the application set is not tuned
        if (capacity > before && _c.HasRecovery)
        {
            _c.Recovery.OnSendBufferGrown(capacity); // one made later sizes its log from the capacity then
        }
    }

    /// <summary>Starts the sequence space at <paramref name="iss"/>: our SYN is SND.UNA.</summary>
    public void Start(SeqNumber iss)
    {
        Iss = iss;
        Una = iss;
        Nxt = iss + 1;
        Max = Nxt;
    }

    /// <summary>Takes the send window from a segment (RFC 9293 3.10.7.4: SND.WND, SND.WL1, SND.WL2).</summary>
    public void SetWindow(uint window, SeqNumber wl1, SeqNumber wl2)
    {
        Wnd = window;
        Wl1 = wl1;
        Wl2 = wl2;
    }

    /// <summary>The connection entered ESTABLISHED.</summary>
    public void OnEstablished()
    {
        Congestion.SetMss(_c.Mss, beforeData: true); // RFC 6928: IW counted in the negotiated MSS
        _c.Recovery.RecoveryPoint = Nxt;
        _roundEnd = Nxt;
    }

    /// <summary>
    /// Appends application data and sends what the windows allow; returns the bytes taken. With
    /// <paramref name="endOfRecord"/> (MSG_EOR) and all of it taken, its last byte ends a record:
    /// no segment ever carries bytes from both sides of that boundary.
    /// </summary>
    public int Queue(ReadOnlySpan<byte> data, bool endOfRecord = false, bool more = false)
    {
        _holdPartialTail = more; // MSG_MORE: this write's own push leaves a partial tail segment waiting
        try
        {
            return QueueWithWatermark(data, endOfRecord, more);
        }
        finally
        {
            _holdPartialTail = false;
        }
    }

    private int QueueWithWatermark(ReadOnlySpan<byte> data, bool endOfRecord, bool more)
    {
        int lowWatermark = _c.EffectiveNotSentLowWatermark;
        if (lowWatermark <= 0)
        {
            int n = QueueUnit(data, more);
            MarkRecordEnd(endOfRecord && n == data.Length);
            return n;
        }

        // TCP_NOTSENT_LOWAT, as Linux's tcp_sendmsg: a write fills the unit being built (an skb
        // of tcp_xmit_size_goal bytes) and starts a new one only while fewer than the mark's
        // bytes wait unsent (tcp_stream_memory_free). Sending in between (tcp_push_one) leaves
        // part of a unit unsent, and the write goes on filling that part.
        int taken = 0;
        while (taken < data.Length)
        {
            int goal = SizeGoal();
            int filled = Unsent % goal;
            int room = filled > 0 ? goal - filled : Unsent < lowWatermark ? goal : 0;
            if (room == 0)
            {
                break;
            }

            int want = Math.Min(room, data.Length - taken);
            int n = QueueUnit(data.Slice(taken, want), more);
            taken += n;
            if (n < want)
            {
                break;
            }
        }

        MarkRecordEnd(endOfRecord && taken == data.Length);
        return taken;
    }

    private int QueueUnit(ReadOnlySpan<byte> data, bool more)
    {
        if (data.Length > 0 && (Unsent == 0 || EndOfLastRecord == BufferEnd))
        {
            // Nothing waits unsent, or what waits ends a record: the application's data from here
            // on is cut into new push units (Linux starts a new skb after an EOR one).
            _pushBase = BufferEnd;
            _pushUnit = PushUnit();
        }

        int room = Math.Min(data.Length, _buffer.Free);
        int n = _buffer.Write(data[..room]);
        if (n < room)
        {
            _layer.Counters.Increment(Counter.TcpSendMemoryLimited); // the pool is at its limit
        }

        if (n > 0)
        {
            StartLimit(SendLimit.Busy); // Linux tcp_add_write_queue_tail
            _tailWithoutPush = more;
        }

        if (n < data.Length)
        {
            StartLimit(SendLimit.SendBuffer); // the application has more than the buffer takes
        }

        _queueing = true;
        if (_layer.InReceiveBatch)
        {
            // Written from a callback while a receive batch is handled: what the application
            // writes there goes out together when the batch is done (TcpLayer.FinishReceiveBatch),
            // as whole super-segments where the link cuts them, not one small piece per write.
            OweOutput();
        }
        else
        {
            // With MSG_MORE, whole segments leave now and the partial tail waits (_holdPartialTail,
            // Linux's TCP_NAGLE_CORK for this push): Linux's sendmsg_msg_more script expects
            // exactly that of a 3100-byte write.
            Output();
        }

        _queueing = false;
        return n;
    }

    /// <summary>Output is owed: sent when the receive batch is done.</summary>
    public bool OutputOwed { get; private set; }

    private void OweOutput()
    {
        if (!OutputOwed)
        {
            OutputOwed = true;
            _layer.OweOutput(_c);
        }
    }

    /// <summary>Sends what was written during the receive batch.</summary>
    public void SendOwedOutput()
    {
        if (OutputOwed)
        {
            OutputOwed = false;
            Output();
        }
    }

    /// <summary>The connection closed: its send data is dropped and the chunks go back to the pool.</summary>
    public void ReleaseMemory() => _buffer.Clear();

    /// <summary>Sends what the window and Nagle allow, then a FIN when closing and everything is sent.</summary>
    public void Output()
    {
        _cwndLimitedNow = false;
        _receiveWindowLimitedNow = false;
        int unsentBefore = Unsent;
        SendSegments();
        NoteWindowUse();

        // Linux tcp_write_xmit: stopped by the peer's window, the receive-window-limited time runs.
        if (_receiveWindowLimitedNow)
        {
            StartLimit(SendLimit.ReceiveWindow);
        }
        else
        {
            StopLimit(SendLimit.ReceiveWindow);
        }

        // TCP_NOTSENT_LOWAT: the socket turns writable when what waits unsent falls below half
        // the mark (Linux tcp_stream_memory_free with wake = 1), which sending, not only an ACK, does.
        int lowWatermark = _c.EffectiveNotSentLowWatermark;
        if (lowWatermark > 0 && !_queueing && Unsent < unsentBefore && 2L * Unsent < lowWatermark)
        {
            _c.Writable?.Invoke();
        }
    }

    // Linux's chronographs (tcp_chrono_start / tcp_chrono_stop, tcpi_busy_time, tcpi_rwnd_limited,
    // tcpi_sndbuf_limited): the time the connection had data unacknowledged or unsent, and of it
    // the time the peer's window or a full send buffer held it back. One runs at a time; a
    // higher one (the send buffer over the window over busy) takes over from a lower one.
    private enum SendLimit : byte
    {
        None,
        Busy,
        ReceiveWindow,
        SendBuffer,
    }

    private SendLimit _limit;
    private Instant _limitSince;
    private TimeSpan _busyOnly, _receiveWindowLimited, _sendBufferLimited;
    private bool _receiveWindowLimitedNow; // SendSegments stopped at the peer's window
    private bool _swsOverride;             // the override timer: send what the small window takes

    // TCP_CA_Loss lasts from an RTO until what was outstanding then is acknowledged.
    private SeqNumber _lossStateEnd;
    private bool _inLossState;

    /// <summary>Linux's tcpi_ca_state for this connection now.</summary>
    public TcpCongestionState CongestionState
        => _inLossState && !_c.Recovery.InRecovery ? TcpCongestionState.Loss
            : _c.Recovery.InRecovery ? TcpCongestionState.Recovery
            : _c.Ecn.ReducedInWindow(Una) ? TcpCongestionState.Cwr
            : _c.Recovery.InDisorder ? TcpCongestionState.Disorder
            : TcpCongestionState.Open;

    /// <summary>Time with data unacknowledged or unsent (tcpi_busy_time), limited times included.</summary>
    public TimeSpan BusyTime => _busyOnly + _receiveWindowLimited + _sendBufferLimited + Running(SendLimit.None);

    /// <summary>Time the peer's window held data back (tcpi_rwnd_limited).</summary>
    public TimeSpan ReceiveWindowLimitedTime => _receiveWindowLimited + Running(SendLimit.ReceiveWindow);

    /// <summary>Time a full send buffer held the application back (tcpi_sndbuf_limited).</summary>
    public TimeSpan SendBufferLimitedTime => _sendBufferLimited + Running(SendLimit.SendBuffer);

    // The running chronograph's time so far when it is `limit` (or any, for None).
    private TimeSpan Running(SendLimit limit)
        => _limit != SendLimit.None && (limit == SendLimit.None || limit == _limit) ? _layer.Now - _limitSince : TimeSpan.Zero;

    private void StartLimit(SendLimit limit)
    {
        if (limit > _limit)
        {
            SwitchLimit(limit);
        }
    }

    private void StopLimit(SendLimit limit)
    {
        if (_buffer.Count == 0)
        {
            SwitchLimit(SendLimit.None); // nothing unacknowledged or unsent: not busy
        }
        else if (limit == _limit)
        {
            SwitchLimit(SendLimit.Busy);
        }
    }

    private void SwitchLimit(SendLimit limit)
    {
        if (limit == _limit)
        {
            return;
        }

        Instant now = _layer.Now;
        TimeSpan elapsed = now - _limitSince;
        switch (_limit)
        {
            case SendLimit.Busy: _busyOnly += elapsed; break;
            case SendLimit.ReceiveWindow: _receiveWindowLimited += elapsed; break;
            case SendLimit.SendBuffer: _sendBufferLimited += elapsed; break;
        }

        _limit = limit;
        _limitSince = now;
    }

    private bool _queueing; // inside Queue: the writer itself is sending, nobody to wake

    // TCP_CORK and MSG_MORE (Linux's TCP_NAGLE_CORK): a partial segment at the tail of what waits
    // is held, data in flight or not, until uncorked, filled to a full segment, pushed, or sent
    // by the probe timer (tcp_check_probe_timer). TCP_NAGLE_PUSH (setting TCP_NODELAY, uncorking
    // with it on) sends what waits once, whatever Nagle and the cork say.
    private bool _holdPartialTail;   // MSG_MORE, for the push of the write that carried it
    private bool _tailWithoutPush;   // the last write had MSG_MORE: tcp_push marked no PSH on its tail
    private bool _pushOnce;          // TCP_NAGLE_PUSH for one Output
    private bool _corkProbeArmed;    // the retransmission timer is set as the probe timer for held data
    private bool _probeWithPush;     // the probe timer's segment carries PSH (tcp_write_wakeup)

    /// <summary>TCP_CORK: partial segments at the tail wait (see <see cref="TcpConnection.Cork"/>).</summary>
    public bool Corked { get; set; }

    /// <summary>
    /// Linux's TCP_NAGLE_PUSH: sends what waits now, a partial segment included, whatever Nagle,
    /// TCP_CORK or MSG_MORE held (setsockopt TCP_NODELAY, or uncorking with TCP_NODELAY on).
    /// </summary>
    public void PushPending()
    {
        _pushOnce = true;
        try
        {
            Output();
        }
        finally
        {
            _pushOnce = false;
        }
    }

    // Linux tcp_check_probe_timer: with nothing in flight and data held, the probe timer fires after
    // tcp_probe0_base, the RTO as Linux computes it (__tcp_set_rto: SRTT plus the larger of 4 RTTVAR
    // and tcp_rto_min, 200 ms), and sends what waits (tcp_write_wakeup).
    private void ArmCorkProbe()
    {
        if (_timers.IsScheduled(TcpTimer.Retransmit))
        {
            return;
        }

        TimeSpan variance = 4 * _rtt.Variance;
        TimeSpan floor = _layer.Settings.MinRto;
        TimeSpan wait = _rtt.HasSample ? _rtt.Smoothed + (variance > floor ? variance : floor) : _rtt.Rto;
        _timers.Schedule(TcpTimer.Retransmit, _layer.Now + wait);
        _corkProbeArmed = true;
    }

    /// <summary>The retransmission timer fired as the probe timer of held data: sends it (with PSH) and returns true; otherwise false.</summary>
    public bool OnCorkProbeTimeout()
    {
        if (!_corkProbeArmed)
        {
            return false;
        }

        _corkProbeArmed = false;
        if (Nxt == Una && Unsent > 0)
        {
            _probeWithPush = true;
            try
            {
                PushPending();
            }
            finally
            {
                _probeWithPush = false;
            }
        }

        return true;
    }

    // Linux tcp_cwnd_validate, after each transmission: a new window of use starts once SND.UNA
    // passed the end of the last one, or when sending stopped at cwnd, or when the flight grew
    // while the window was not limited; it records the flight and whether cwnd limited it.
    private void NoteWindowUse()
    {
        int flight = Nxt - Una;
        _cwndLimitedNow |= _c.Recovery.Pipe() >= Congestion.Cwnd;
        if (Una >= _windowUseEnd || _cwndLimitedNow || (!_cwndLimited && flight > _maxFlight))
        {
            _cwndLimited = _cwndLimitedNow;
            _maxFlight = flight;
            _windowUseEnd = Nxt;
        }
    }

    // RFC 7661 4.3 calls the window validated while the flight uses at least half of it. Linux
    // (tcp_is_cwnd_limited) is stricter, and the scripts its developers test with rely on it: in
    // slow start cwnd grows while it is less than twice the largest flight of the last window
    // (so an application that sends 5 segments keeps IW10), in congestion avoidance only when
    // sending stopped at cwnd in the last window.
    private bool WindowUsed()
        => _cwndLimited || (Congestion.InSlowStart && Congestion.Cwnd < 2L * _maxFlight);

    // PSH (RFC 9293 3.9.1: the sender's choice; RFC 1122 4.2.2.2: at least on the last segment of
    // what the application gave). As Linux, which the conformance scripts record: Linux cuts
    // written data into TSO packets of its pacing rate's millisecond (tcp_tso_autosize: at least
    // tcp_min_tso_segs, TcpSettings.MinSegmentsPerSuperSegment, at most 64 KiB or half the peer's largest window) and marks each PSH; a piece
    // sent alone (limited transmit, a cwnd cut) is not marked. So a segment carries PSH when it
    // empties the send buffer, or when it ends a whole push unit counted from where the data
    // began after the buffer last ran empty.
    private SeqNumber _pushBase;
    private int _pushUnit;

    private bool EndsPushUnit(SeqNumber start, int length)
    {
        int unit = _pushUnit;
        int end = (start + length) - _pushBase;
        return unit > 0 && length >= unit && end > 0 && end % unit == 0;
    }

    // Linux tcp_tso_autosize over tcp_update_pacing_rate: cwnd * MSS / SRTT, doubled in slow start
    // and 1.2 times in congestion avoidance (or the controller's pacing rate); a millisecond of
    // that, in whole segments.
    private int PushUnit()
    {
        int mss = Math.Max(1, _c.Mss);
        long limit = Math.Min(64 * 1024, Math.Max(MaxWnd / 2, (uint)mss));
        long bytes = limit;
        double rate = Congestion.PacingRate > 0 ? Congestion.PacingRate : LinuxPacingRate();
        if (rate > 0)
        {
            bytes = Math.Min(limit, (long)(rate / 1024)); // Linux's sk_pacing_shift 10: 1/1024 s
        }

        int segments = (int)Math.Max(_layer.Settings.MinSegmentsPerSuperSegment, bytes / mss);
        return segments * mss;
    }

    // Linux tcp_update_pacing_rate for a controller without a rate of its own: cwnd / SRTT, twice
    // that in slow start, 1.2 times in congestion avoidance; 0 before an RTT sample.
    private double LinuxPacingRate()
        => _rtt.HasSample && _rtt.Smoothed > TimeSpan.Zero
            ? (Congestion.InSlowStart ? 2.0 : 1.2) * Congestion.Cwnd / _rtt.Smoothed.TotalSeconds
            : 0;

    /// <summary>
    /// The rate the connection is paced at, in bytes per second: the controller's, or with
    /// <see cref="TcpSettings.Pacing"/> Linux's rate from cwnd and SRTT; 0 when not paced.
    /// </summary>
    public double PacingRate
        => Congestion.PacingRate > 0 ? Congestion.PacingRate
            : _layer.Settings.Pacing ? LinuxPacingRate()
            : 0;

    // Pacing: true (and the Pace timer set) while the next departure time is still to come.
    private bool HeldByPacing(Instant now)
    {
        if (_nextDeparture <= now)
        {
            return false;
        }

        _timers.Schedule(TcpTimer.Pace, _nextDeparture);
        return true;
    }

    // Pacing: bytes left now; the next departure is that many bytes' time at the rate later.
    private void OnDeparture(int bytes, Instant now)
    {
        double rate = PacingRate;
        if (rate <= 0)
        {
            return;
        }

        Instant from = _nextDeparture > now - PacingSlack ? _nextDeparture : now - PacingSlack;
        _nextDeparture = from + TimeSpan.FromTicks((long)(bytes / rate * TimeSpan.TicksPerSecond));
    }

    // TSO under pacing (Linux tcp_tso_autosize): a super-segment is about a millisecond of the
    // rate, at least two segments, so that each departure stays small and the spacing even.
    private long PacedSuperSegment(int mss)
    {
        double rate = PacingRate;
        return rate <= 0 ? long.MaxValue : Math.Max(2L * mss, (long)(rate / 1000));
    }

    private void SendSegments()
    {
        if (!_c.State.Sends)
        {
            return;
        }

        Recovery.LossRecovery recovery = _c.Recovery;
        while (true)
        {
            // RFC 6675 5 step (C): in recovery, lost segments go first while cwnd - pipe allows.
            if (recovery.InRecovery && Congestion.Cwnd - recovery.Pipe() >= _c.Mss)
            {
                if (HeldByPacing(_layer.Now))
                {
                    return;
                }

                if (recovery.RetransmitNext())
                {
                    continue;
                }
            }

            int sent = Nxt - Una - (FinSent ? 1 : 0);
            int unsent = _buffer.Count - sent;
            long usable = (long)Wnd - (Nxt - Una);
            if (unsent > 0 && !FinSent)
            {
                int mss = _c.Mss;

                // MSG_EOR: this segment goes no further than the record it starts in (Linux never
                // collapses an skb marked EOR with the next, tcp_skb_can_collapse_to), and it is
                // not the tail of what waits, so Nagle does not hold it (tcp_write_xmit applies
                // tcp_nagle_test to the write queue's last skb only).
                int toSend = unsent;
                bool recordEnds = false;
                if (_recordCount > 0 && NextRecordEnd(Nxt) is { } recordEnd && recordEnd - Nxt <= unsent)
                {
                    toSend = recordEnd - Nxt;
                    recordEnds = true;
                }

                int length = (int)Math.Min(Math.Min(mss, toSend), Math.Max(0, usable));
                // Sender silly window syndrome avoidance (RFC 9293 3.8.6.2.1, RFC 1122 4.2.3.4): a
                // new segment cut short by the peer's window goes only when it is at least half the
                // largest window the peer has offered, or when the override (persist) timer fires;
                // Linux (tcp_snd_wnd_test, tcp_bound_to_half_wnd) holds it the same way. Data sent
                // before (going back after an RTO) goes in what the window takes, as Linux's
                // tcp_retransmit_skb sends it.
                if (length <= 0 || (length < Math.Min(mss, toSend) && length < MaxWnd / 2 && !_swsOverride && Nxt >= Max))
                {
                    _receiveWindowLimitedNow = true;
                    if (Nxt == Una)
                    {
                        ArmRetransmit(); // the persist timer: a zero-window probe, or the override, follows
                    }

                    return;
                }

                Instant now = _layer.Now;

                // RFC 5681 4.1 (Linux tcp_slow_start_after_idle, with TcpSettings.RestartWindowAfterIdle):
                // nothing outstanding and nothing sent for more than an RTO: the window restarts.
                // Idleness counts in RTOs of the estimate: zero-window probes back off their own
                // timer, not the RTO that Linux's tcp_cwnd_restart reads (icsk_rto; tcp_probe_timer
                // raises only icsk_backoff).
                if (Nxt == Una && _lastDataSentAt != default && now - _lastDataSentAt > _rtt.EstimatedRto && _layer.Settings.RestartWindowAfterIdle)
                {
                    Congestion.RestartWindowAfterIdle(now - _lastDataSentAt, _rtt.EstimatedRto);
                    _lastDataSentAt = now;
                }

                // RFC 7661 4.3-4.4 (which replaces RFC 5681 4.1's restart after idle): a window not
                // validated by use for the non-validated period (5 minutes) is halved, not below IW.
                if (_nonValidatedSince != default && now - _nonValidatedSince > NonValidatedPeriod)
                {
                    _layer.Counters.Increment(Counter.TcpCwndValidationHalvings);
                    Congestion.OnNonValidatedPeriodEnd();
                    _nonValidatedSince = now;
                }

                // Restart from idle: nothing in flight, and the application let the connection go
                // quiet; the controller hears it before this send is paced.
                if (Nxt == Una && recovery.Rate.AppLimited)
                {
                    Congestion.OnRestartFromIdle(now);
                }

                // RFC 5681 3.1: no more than cwnd in flight (the pipe, in recovery); RFC 3042 lets
                // the first two duplicate ACKs each send one new segment beyond it (up to cwnd + 2*SMSS).
                long cwndRoom = _probeSegment ? length
                    : recovery.LimitedTransmit ? (long)Congestion.Cwnd + (2L * mss) - (Nxt - Una)
                    : (long)Congestion.Cwnd - recovery.Pipe();
                if (cwndRoom < length)
                {
                    _cwndLimitedNow = true;
                    return; // window-limited: ACKs will open it
                }

                if (!_probeSegment && HeldByPacing(now))
                {
                    return; // the Pace timer sends it at its departure time
                }

                bool limitedTransmit = recovery.LimitedTransmit;
                if (limitedTransmit)
                {
                    recovery.LimitedTransmit = false;
                    _layer.Counters.Increment(Counter.TcpLimitedTransmits);
                }

                // TCP_CORK / MSG_MORE (Linux tcp_nagle_check with TCP_NAGLE_CORK): the tail's
                // partial segment waits even with nothing in flight; the probe timer sends it then.
                if (length < mss && length == unsent && (Corked || _holdPartialTail) && !_pushOnce && !FinQueued)
                {
                    if (Nxt == Una)
                    {
                        ArmCorkProbe();
                    }

                    recovery.Rate.OnSendingStopped(recovery.Pipe(), Congestion.Cwnd, recovery.Log.LostBytes);
                    return;
                }

                // RFC 1122 4.2.3.4 / RFC 896: with data in flight, hold a small segment unless NoDelay.
                // Not the tail the FIN follows: after close or shutdown nothing more will fill it
                // (Linux's tcp_nagle_test never holds the segment with the final FIN).
                if (length < mss && Nxt != Una && !_c.NoDelay && !_pushOnce && !FinQueued && !(length == toSend && toSend < unsent))
                {
                    recovery.Rate.OnSendingStopped(recovery.Pipe(), Congestion.Cwnd, recovery.Log.LostBytes);
                    return;
                }

                bool urgent = Urgent && UrgentPointer > Nxt;

                // RFC 3168 6.1.2: a CWR owed after a window reduction goes on one new segment sent
                // alone (a super-segment would need the link to keep CWR on its first piece only).
                bool newData = Nxt >= Max;
                bool cwrNow = newData && _c.Ecn.Negotiated && _c.Ecn.CwrPending;

                // TSO: where the link cuts super-segments, every full segment that the send
                // buffer, the peer's window and cwnd allow right now leaves as one packet, and
                // with NoDelay the short last piece too when everything unsent fits (Nagle would
                // hold it otherwise): a 5 KB response is one write, not a super-segment and a
                // tail. Each MSS piece is still accounted as its own segment (RACK's log, SACK,
                // retransmission at MSS granularity), as the peer will see them. Not for limited
                // transmit (one segment at a time, RFC 3042), a loss probe, or urgent data.
                int segmentSize = 0;
                bool fullSize = false;
                if (length == mss && _c.MaxSuperSegment > mss && !urgent && !_probeSegment && !limitedTransmit && !cwrNow)
                {
                    long room = Math.Min(Math.Min(toSend, usable), Math.Min(cwndRoom, Math.Min(_c.MaxSuperSegment, PacedSuperSegment(mss))));
                    if (_layer.Settings.SuperSegmentsSizedAsLinux)
                    {
                        // Linux tcp_write_xmit: a TSO packet takes at most tcp_tso_autosize's
                        // segments (the push unit) and tcp_cwnd_test's max(cwnd / 2, 1), so that at
                        // least two are in flight; a packet of that full size carries PSH, as Linux's.
                        long full = Math.Max(Congestion.Cwnd / mss / 2, 1) * mss;
                        if (_pushUnit >= mss)
                        {
                            full = Math.Min(full, _pushUnit / mss * mss);
                        }

                        if (full <= room)
                        {
                            room = full;
                            fullSize = true;
                        }
                    }

                    int pieces = (int)(room / mss);
                    if (recordEnds && room == toSend && toSend % mss != 0 && toSend < unsent)
                    {
                        // The whole rest of a record fits: its short last piece goes in the same
                        // TSO packet (Linux tcp_mss_split_point keeps the partial segment of an
                        // skb that is not the write queue's tail).
                        length = toSend;
                        segmentSize = mss;
                    }
                    else if (_c.NoDelay && !Corked && !_holdPartialTail && room == unsent && unsent > mss)
                    {
                        length = unsent;
                        segmentSize = mss;
                    }
                    else if (pieces > 1)
                    {
                        length = pieces * mss;
                        segmentSize = mss;
                    }
                }

                bool last = length == unsent;
                if (Nxt == Una)
                {
                    OldestUnackedAt = now;
                }

                ushort pointer = urgent ? (ushort)Math.Min(UrgentPointer - Nxt, 65535) : (ushort)0;
                // Linux tcp_push marks the tail skb of each sendmsg without MSG_MORE; tcp_write_wakeup
                // marks what the probe timer sends.
                // What Linux marks on the skb itself (the tail of a write, an EOR record's end, what
                // the probe timer sends) stays with the data and goes again on a retransmission; the
                // PSH of a whole TSO packet is the wire's only (Linux retransmits such data without it).
                bool pushKept = (last && !_tailWithoutPush) || (recordEnds && length == toSend) || _probeWithPush;
                bool push = pushKept || EndsPushUnit(Nxt, length) || (fullSize && segmentSize != 0);
                TcpFlags flags = TcpFlags.Ack | (push ? TcpFlags.Psh : 0) | (urgent ? TcpFlags.Urg : 0);
                EcnCodepoint ecn = _c.Ecn.DataCodepoint(newData, ref flags); // ECT(0) on new data only (RFC 3168 6.1.5)
                Transmit(Nxt, flags, sent, length, pointer, segmentSize, ecn);
                _rtt.StartTiming(Nxt, now);
                BytesSent += length;
                OnDeparture(length, now);
                for (int done = 0; done < length;)
                {
                    int piece = segmentSize == 0 ? length : Math.Min(segmentSize, length - done);
                    bool sentBefore = Nxt < Max;
                    recovery.OnDataSent(Nxt, piece, sentBefore, pushKept && done + piece == length); // PSH rides on the last piece
                    if (sentBefore)
                    {
                        BytesRetransmitted += piece; // going back over data sent before (after an RTO)
                        RetransmitSegments++;
                        recovery.CountRetransmission();
                    }

                    Nxt += piece;
                    done += piece;
                    if (Nxt > Max)
                    {
                        Max = Nxt;
                    }
                }

                // RFC 8985 7.2: new data restarts the probe timeout (for the flight as it is now);
                // an RTO, once running, is not restarted by sending (RFC 6298 5.1).
                bool canProbe = recovery.CanProbe();
                ArmRetransmit(restart: canProbe, canProbe);
                if (_probeSegment || limitedTransmit)
                {
                    // RFC 3042: one new segment for the duplicate ACK, not also what the SACK it
                    // carried took out of the pipe (Linux sends one, too).
                    return;
                }

                continue;
            }

            if (unsent == 0)
            {
                recovery.Rate.OnSendingStopped(recovery.Pipe(), Congestion.Cwnd, recovery.Log.LostBytes); // the application limits sending
            }

            if (FinQueued && !FinSent && unsent == 0)
            {
                if (Nxt == Una && !_finEverSent)
                {
                    OldestUnackedAt = _layer.Now; // the user timeout runs from a lone FIN's first sending, as from data's
                }

                _finSeq = Nxt;
                FinSent = true;
                _finEverSent = true;
                Transmit(Nxt, TcpFlags.Fin | TcpFlags.Ack, 0, 0, 0);
                Nxt += 1;
                if (Nxt > Max)
                {
                    Max = Nxt;
                }

                ArmRetransmit();
                _c.OnFinSent();
            }

            return;
        }
    }

    /// <summary>RFC 8985 7.3: one new segment as a loss probe, whatever cwnd says.</summary>
    public void SendProbeSegment()
    {
        _probeSegment = true;
        Output();
        _probeSegment = false;
    }

    /// <summary>
    /// Sends [start, start + length) of the send buffer again (a fast retransmission or a loss
    /// probe): counted in tcp_info, and its new send time recorded for RACK.
    /// </summary>
    public void Resend(SeqNumber start, int length)
    {
        BytesSent += length;
        BytesRetransmitted += length;
        RetransmitSegments++;

        // A retransmission keeps the PSH its data first went out with (Linux resends the skb with
        // its flags, and merged ones with all of theirs, tcp_retrans_try_collapse); the skb that
        // ends a record (MSG_EOR) is the tail of its sendmsg, which tcp_push marked PSH.
        bool push = _c.Recovery.Log.AnyPushed(start, start + length) || (NextRecordEnd(start) is { } recordEnd && recordEnd == start + length);
        Transmit(start, TcpFlags.Ack | (push ? TcpFlags.Psh : 0), start - Una, length, 0);
        _c.Recovery.OnResent(start, length);
        OnDeparture(length, _layer.Now);
    }

    /// <summary>
    /// Sends the unacknowledged FIN again (a loss probe when the FIN is all that is outstanding):
    /// counted in tcp_info as a retransmission.
    /// </summary>
    public void ResendFin()
    {
        RetransmitSegments++;
        Transmit(_finSeq, TcpFlags.Fin | TcpFlags.Ack, 0, 0, 0);
    }

    /// <summary>Sends a pure ACK of RCV.NXT (with SACK blocks), once the connection is synchronized.</summary>
    public void SendAck()
    {
        if (_c.State is TcpConnectionState.Closed or TcpConnectionState.Listen or TcpConnectionState.SynSent)
        {
            return;
        }

        // RFC 9293 3.10.7.4: <SEQ=SND.NXT>, the RFC's next new sequence number, which is Max once a
        // go-back-N retransmission has rewound Nxt (Linux: tcp_acceptable_seq, at snd_nxt, which it
        // never rewinds, unless that is past the peer's window). At the rewound Nxt the ACK can
        // fall below the peer's RCV.NXT when the peer got data whose ACKs were lost: the peer drops
        // it as out of window without reading its acknowledgment, and when both sides had rewound,
        // neither ever advanced (campaign seed 1413).
        Emit(AcceptableSeq, TcpFlags.Ack, withSack: true, 0, 0, 0);
        _receiver.OnAckSent();
    }

    /// <summary>
    /// Sends an ACK at <paramref name="seq"/> that the peer must answer (a zero-window probe or a
    /// keepalive probe, SEG.SEQ = SND.UNA - 1).
    /// </summary>
    public void SendProbe(SeqNumber seq) => Emit(seq, TcpFlags.Ack, withSack: false, 0, 0, 0);

    /// <summary>Sends &lt;SEQ=<paramref name="seq"/>&gt;&lt;CTL=RST&gt;.</summary>
    public void SendReset(SeqNumber seq) => _layer.Send(OutgoingSegment.Control(_c.Tuple, seq, default, TcpFlags.Rst));

    // SND.NXT as the peer can take it (Linux tcp_acceptable_seq): the highest sequence number
    // sent (Max, which a go-back-N rewind of Nxt leaves alone), or the end of the peer's window
    // when that is short of it (a window that shrank or closed after the data left).
    private SeqNumber AcceptableSeq
    {
        get
        {
            SeqNumber windowEnd = Una + Wnd;
            return Max <= windowEnd ? Max : windowEnd;
        }
    }

    /// <summary>
    /// The RST of an ABORT (RFC 9293 3.10.5: &lt;SEQ=SND.NXT&gt;&lt;CTL=RST&gt;) of a synchronized
    /// connection, sent as Linux's tcp_send_active_reset sends it: at tcp_acceptable_seq (a peer
    /// whose window closed takes a reset only at exactly its RCV.NXT, RFC 5961 3.2, which SND.NXT
    /// past that window is not), with ACK of RCV.NXT and, once negotiated, the timestamps option
    /// (RFC 7323 3.2: TSopt SHOULD be sent in a RST), whose TSval is the clock now and whose TSecr
    /// is TS.Recent.
    /// </summary>
    public void SendActiveReset()
    {
        OutgoingSegment rst = OutgoingSegment.Control(_c.Tuple, AcceptableSeq, _receiver.Nxt, TcpFlags.Rst | TcpFlags.Ack);
        rst.Options = _c.SegmentOptions(withSack: false);
        _layer.Send(rst);
    }

    // A segment that carries data (or a FIN) and acknowledges RCV.NXT.
    private void Transmit(SeqNumber seq, TcpFlags flags, int offset, int length, ushort urgentPointer, int segmentSize = 0, EcnCodepoint ecn = EcnCodepoint.NotEct)
    {
        if (length > 0)
        {
            _lastDataSentAt = _layer.Now;
        }

        Emit(seq, flags, withSack: false, offset, length, urgentPointer, segmentSize, ecn);
        _receiver.OnAckSent();
    }

    // A segment with ACK of RCV.NXT, our window and options, and data from the buffer at offset;
    // ECE while a CE mark waits for the peer's CWR (RFC 3168 6.1.3).
    private void Emit(SeqNumber seq, TcpFlags flags, bool withSack, int offset, int length, ushort urgentPointer, int segmentSize = 0, EcnCodepoint ecn = EcnCodepoint.NotEct)
    {
        _layer.Send(new OutgoingSegment
        {
            Tuple = _c.Tuple,
            Sequence = seq,
            Acknowledgment = _receiver.Nxt,
            Flags = flags | _c.Ecn.EchoFlags,
            Window = _receiver.Advertise(),
            Options = _c.SegmentOptions(withSack),
            Data = _buffer,
            DataOffset = offset,
            DataLength = length,
            UrgentPointer = urgentPointer,
            ChecksumOffload = _c.ChecksumOffload,
            SegmentSize = segmentSize,
            Ecn = ecn,
            TypeOfService = _c.TypeOfService,
            AllowFragmentation = !_c.DontFragment,
        });
    }

    /// <summary>
    /// RFC 9293 3.10.7.4, fifth check, for an ACK within [SND.UNA - MAX.SND.WND, SND.MAX]: SACK
    /// information, newly acknowledged data (RTT, recovery, cwnd, timers), duplicate ACKs, RACK,
    /// and the send window update.
    /// </summary>
    public void OnAck(TcpSegment seg, in TcpOptions received)
    {
        SeqNumber ack = seg.AcknowledgmentNumber;
        Recovery.LossRecovery recovery = _c.Recovery;
        bool recoveringBefore = recovery.InRecovery;
        int sackedBefore = recovery.SackedBytes;
        long sentBefore = BytesSent;
        long lostBefore = recovery.Log.TotalLostBytes;
        recovery.NewestDeliveredSentAt = default;
        bool sackNews = received.SackCount > 0 && recovery.OnSackBlocks(received, ack);
        bool windowUnchanged = ((uint)seg.Window << Shift) == Wnd;
        int flightBefore = Nxt - Una;
        int pipeBefore = recovery.Pipe();
        bool advances = ack > Una;
        TimeSpan rttSample = TimeSpan.Zero;

        if (ack > Una)
        {
            int acked = ack - Una;
            int dataAcked = acked;
            if (Una == Iss)
            {
                dataAcked--; // our SYN
            }

            if (_finEverSent && ack == _finSeq + 1)
            {
                FinSent = true; // acknowledged before its retransmission went out
                FinAcked = true;
                dataAcked--;
            }

            _buffer.Skip(Math.Max(0, dataAcked));
            Una = ack;
            _inLossState &= Una < _lossStateEnd;
            DropAckedRecordEnds();
            if (Nxt < ack)
            {
                Nxt = ack; // data sent before a go-back-N retransmission was acknowledged after all
            }

            Instant now = _layer.Now;
            OldestUnackedAt = now;
            if (Urgent && Una >= UrgentPointer)
            {
                Urgent = false; // the urgent data is acknowledged
            }

            rttSample = _c.TimestampsEnabled && received.HasTimestamps && received.TimestampEcho != 0
                ? _rtt.SampleFromTimestamp(unchecked(_c.TimestampNow - received.TimestampEcho))
                : _rtt.SampleOnAck(ack, now);
            Retries = 0;
            recovery.OnCumulativeAck(ack);

            // Delivered by this ACK (Linux's acked_sacked): what it acknowledged that no SACK had
            // reported yet, plus what its SACK blocks newly reported above it.
            int delivered = Math.Max(0, Math.Max(0, dataAcked) + (recovery.SackedBytes - sackedBefore));
            int duplicateAcked = recovery.DuplicateAckedBytes;
            if (duplicateAcked > 0 && delivered > 0)
            {
                // Without SACK, the segments the duplicate ACKs stood for were delivered then, not
                // now: the ACK that covers them delivered the rest, at least one segment (Linux
                // tcp_remove_reno_sacks: max(acked - sacked_out, 1)). Slow start after limited
                // transmit then grows cwnd by what this ACK newly delivered (RFC 5681 3.1: cwnd +=
                // min(N, SMSS) here), not again by the segments the duplicate ACKs announced.
                delivered = Math.Max(delivered - duplicateAcked, Math.Min(delivered, _c.Mss));
            }

            OnNewAck(ack, Math.Max(0, dataAcked), delivered, rttSample, _c.TimestampsEnabled && received.HasTimestamps ? received.TimestampEcho : null, pipeBefore);
            if (Una == Nxt)
            {
                _timers.Cancel(TcpTimer.Retransmit);
            }
            else
            {
                ArmRetransmit(restart: true);
            }

            if (dataAcked > 0)
            {
                StopLimit(SendLimit.SendBuffer); // Linux tcp_new_space: room again
                StopLimit(SendLimit.Busy);       // and not busy at all once everything is acknowledged
                _c.Writable?.Invoke();
            }
        }
        else if (ack == Una && flightBefore > 0 && seg.Payload.Length == 0 && (seg.Flags & (TcpFlags.Syn | TcpFlags.Fin)) == 0
            && windowUnchanged && recovery.IsDuplicateAck(sackNews))
        {
            // RFC 5681 2 (a)-(e), and for a SACK sender new SACK information (RFC 6675 2).
            recovery.OnDuplicateAck();
        }

        if (!advances && recovery.SackedBytes > sackedBefore)
        {
            // Delivered by SACK alone: the controller hears of it (a window-based one does not grow).
            ReportAck(recovery.SackedBytes - sackedBefore, TimeSpan.Zero, roundEnd: false, windowMayGrow: false, pipeBefore);
        }

        if (Nxt != Una)
        {
            recovery.DetectLoss();
        }

        if (recovery.InRecovery && !recoveringBefore)
        {
            _c.Ecn.OnWindowReduced(Max); // RFC 3168 6.1.2: a fast retransmit's reduction is announced with CWR too
        }
        else if ((seg.Flags & TcpFlags.Ece) != 0)
        {
            _c.Ecn.OnEcnEcho(this, recovery.InRecovery); // RFC 3168 6.1.2: at most once per window, never on top of recovery
        }

        // RFC 6937: the window during recovery, from what this ACK allows (what it already sent,
        // the fast retransmission that began recovery, included).
        recovery.OnAckProcessed(BytesSent - sentBefore, safeAck: advances && recovery.Log.TotalLostBytes == lostBefore);

        // RFC 9293 3.10.7.4: update the send window from this segment if it is not older.
        if (Wl1 < seg.SequenceNumber || (Wl1 == seg.SequenceNumber && Wl2 <= ack))
        {
            SetWindow((uint)seg.Window << Shift, seg.SequenceNumber, ack);
        }

        MaxWnd = Math.Max(MaxWnd, Wnd);
        _c.AckProcessed?.Invoke(rttSample);
    }

    // New data acknowledged: rounds, recovery bookkeeping, or window growth outside recovery.
    private void OnNewAck(SeqNumber ack, int dataAcked, int delivered, TimeSpan rttSample, uint? echo, int pipeBefore)
    {
        Instant now = _layer.Now;
        BytesAcked += dataAcked;
        bool roundEnd = ack >= _roundEnd;
        if (roundEnd)
        {
            _roundEnd = Nxt;
            TimeSpan elapsed = now - _roundStartAt;
            if (elapsed > TimeSpan.Zero && _roundStartAt != default)
            {
                DeliveryRate = (BytesAcked - _roundStartAcked) / elapsed.TotalSeconds;
            }

            _roundStartAcked = BytesAcked;
            _roundStartAt = now;
        }

        // Recovery's ACKs, and application-limited ones (WindowUsed), do not grow the window.
        bool mayGrow = false;
        if (!_c.Recovery.OnNewAck(ack, dataAcked, echo))
        {
            if (WindowUsed())
            {
                _nonValidatedSince = default;
                mayGrow = true;
            }
            else if (_nonValidatedSince == default)
            {
                _nonValidatedSince = now;
            }
        }

        // Grown by what this ACK delivered: data SACKed by duplicate ACKs before it, which grew
        // nothing then, grows nothing now either (as Linux, tcp_may_raise_cwnd).
        ReportAck(delivered, rttSample, roundEnd, mayGrow, pipeBefore);
        if (mayGrow)
        {
            TuneBuffer();
        }
    }

    // Tells the controller what an ACK delivered, with its delivery-rate sample (allocation-free: a struct).
    private void ReportAck(int delivered, TimeSpan rttSample, bool roundEnd, bool windowMayGrow, int pipeBefore)
    {
        Recovery.LossRecovery recovery = _c.Recovery;
        long lost = recovery.Log.TotalLostBytes;
        int newlyLost = (int)Math.Clamp(lost - _lostSeen, 0, int.MaxValue);
        _lostSeen = lost;
        Congestion.OnAck(new CongestionAck
        {
            AckedBytes = delivered,
            Now = _layer.Now,
            RttSample = rttSample,
            MinRtt = _rtt.Min,
            RoundEnd = roundEnd,
            BytesInFlight = recovery.Pipe(),
            PriorBytesInFlight = pipeBefore,
            LostBytes = newlyLost,
            InRecovery = recovery.InRecovery,
            WindowMayGrow = windowMayGrow,
            DeliveredRtt = recovery.NewestDeliveredSentAt == default ? TimeSpan.Zero : _layer.Now - recovery.NewestDeliveredSentAt,
            Rate = recovery.Rate.TakeSample(_rtt.Min),
        });
        if (Congestion.SamplesAreAppLimited)
        {
            recovery.Rate.MarkAppLimited(recovery.Pipe());
        }
    }

    // Linux tcp_sndbuf_expand: a send buffer of at least twice cwnd, so the window is never
    // limited by the buffer while the application keeps it full.
    private void TuneBuffer()
    {
        int max = _layer.Settings.SendBufferMax;
        // Linux tcp_should_expand_sndbuf: not under memory pressure.
        if (_autoTune && _buffer.Capacity < max && 2L * Congestion.Cwnd > _buffer.Capacity && _layer.Memory.Pressure == MemoryPressure.None)
        {
            _buffer.Grow((int)Math.Min(max, Math.Max(2L * Congestion.Cwnd, 2L * _buffer.Capacity)));
            _c.Recovery.OnSendBufferGrown(_buffer.Capacity);
            _layer.Counters.Increment(Counter.TcpSendBufferGrowths);
        }
    }

    /// <summary>
    /// Sets the retransmission timer (unless running and not <paramref name="restart"/>). RFC 8985
    /// 7.2: while nothing is being recovered, a probe timeout (2 SRTT, plus the worst-case delayed
    /// ACK when one segment is out) comes before the RTO.
    /// </summary>
    public void ArmRetransmit(bool restart = false)
    {
        if (restart || !_timers.IsScheduled(TcpTimer.Retransmit))
        {
            ArmRetransmit(restart: true, _c.HasRecovery && _c.Recovery.CanProbe());
        }
    }

    // canProbe: what Recovery.CanProbe() says now.
    private void ArmRetransmit(bool restart, bool canProbe)
    {
        if (restart || !_timers.IsScheduled(TcpTimer.Retransmit))
        {
            _corkProbeArmed = false;
            _ptoArmed = canProbe;
            RttEstimator rtt = _rtt;
            TimeSpan wait = rtt.Rto;
            if (_ptoArmed)
            {
                TimeSpan pto = rtt.HasSample ? Longer(2 * rtt.Smoothed, TimeSpan.FromMilliseconds(10)) : TimeSpan.FromSeconds(1); // 10 ms floor as Linux
                if (Nxt - Una <= _c.Mss)
                {
                    pto += TimeSpan.FromMilliseconds(200); // WCDelAckT
                }

                wait = pto < rtt.Rto ? pto : rtt.Rto;
            }

            _timers.Schedule(TcpTimer.Retransmit, _layer.Now + wait);
        }
    }

    /// <summary>
    /// The retransmission timer fired: if it was set as a probe timeout (RFC 8985 7.3), the probe
    /// goes (if still allowed) and the RTO proper is set; returns true. Otherwise false: an RTO.
    /// </summary>
    public bool OnProbeTimeout()
    {
        if (!_ptoArmed)
        {
            return false;
        }

        _ptoArmed = false;
        if (_c.Recovery.CanProbe())
        {
            _c.Recovery.SendLossProbe();
        }

        // Either way the RTO proper follows (recovery may have begun since the probe was set).
        ArmRetransmit(restart: true);
        return true;
    }

    /// <summary>RFC 6298 5.4-5.6 for a synchronized connection: a zero-window probe, or go back and resend.</summary>
    public void OnRetransmitTimeout(Instant now)
    {
        if (Nxt == Una && Wnd > 0 && !FinSent && Unsent > 0 && Wnd < Math.Min(_c.Mss, Unsent))
        {
            // RFC 1122 4.2.3.4 (4), the override timeout: a window too small for a segment (held
            // by SWS avoidance) takes what fits now, as Linux's probe timer does (tcp_write_wakeup).
            _swsOverride = true;
            Output();
            _swsOverride = false;
            Retries = 0; // not a retransmission: the window was small, not the peer silent
            return;
        }

        if (Wnd == 0 && Nxt == Una && _buffer.Count > 0 && !FinSent)
        {
            // Zero-window probe (RFC 9293 3.8.6.1 / RFC 1122 4.2.2.17) in Linux's form: no
            // data, SEG.SEQ = SND.UNA - 1, which the peer must answer with an ACK carrying its
            // current window. (RFC 9293 suggests one new octet; a byte taken while the
            // window reopens was then acknowledged beyond SND.NXT and the ACK, window and
            // all, was dropped: a stall. This form has no byte in doubt.)
            _layer.Counters.Increment(Counter.TcpWindowProbes);
            SendProbe(Una - 1);
            Retries = 0; // a probed zero window is not a dead peer
            return;
        }

        // RFC 5681 3.1 (4)-(5): the first timeout of an episode sets ssthresh from the flight;
        // every timeout sets cwnd to one segment. Recovery and the scoreboard are abandoned
        // (RFC 6675 5.1; RFC 2018 lets the receiver renege), and RFC 6582 4.1: losses below
        // the old SND.NXT will not start a fast recovery.
        Recovery.LossRecovery recovery = _c.Recovery;
        if (Retries == 1)
        {
            recovery.ArmUndo();
        }

        Congestion.OnRetransmitTimeout(Nxt - Una, now, firstInEpisode: Retries == 1);
        _c.Ecn.OnWindowReduced(Max); // RFC 3168 6.1.2: CWR on the first new data after the timeout
        recovery.RecoveryPoint = Nxt;
        _lossStateEnd = Max;
        _inLossState = true;
        _layer.Counters.Increment(Counter.TcpRetransmits);
        GoBackToUnacknowledged(); // RFC 8985 6.3: after an RTO everything outstanding is sent again

        // The retransmission stays inside SND.UNA + SND.WND, however small the window (a receiver
        // that drops rather than trims what lies beyond would never take it). Only a window that
        // shrank to zero under data in flight lets one segment go from SND.UNA as a probe, as
        // Linux's tcp_retransmit_skb does.
        uint savedWindow = Wnd;
        if (Wnd == 0)
        {
            Wnd = (uint)_c.Mss;
        }

        Output();
        Wnd = savedWindow;
    }

    /// <summary>
    /// Go-back-N (after an RTO or a path MTU drop): everything from SND.UNA is sent again, the FIN
    /// too if it was not acknowledged; recovery, the SACK scoreboard and the segment log start
    /// over. ACKs up to the highest sequence sent stay acceptable (<see cref="Max"/>).
    /// </summary>
    public void GoBackToUnacknowledged()
    {
        Nxt = Una;
        if (FinSent && !FinAcked)
        {
            FinSent = false;
        }

        _c.Recovery.Reset();
    }

    private static TimeSpan Longer(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
