// RFC 8985 (RACK-TLP) keeps, for every segment in flight, when it was (last) sent and whether it
// is SACKed, deemed lost, or was retransmitted; RFC 6675's pipe follows from the same marks.
using TunStack.Wire;

namespace TunStack.Tcp.Recovery;

/// <summary>
/// The segments in flight, in sequence order, contiguous from SND.UNA to the highest sequence sent:
/// their send times and marks. Bounded by the send buffer (one entry per segment); when full,
/// new segments are not tracked and loss detection falls back on the RTO for them.
/// </summary>
internal sealed class SentSegments
{
    [Flags]
    public enum Marks : byte
    {
        None = 0,
        Sacked = 1,
        Lost = 2,           // deemed lost and not sent again since
        Retransmitted = 4,  // sent more than once
        AppLimited = 8,     // sent while the application limited sending (delivery rate estimation)
        LostOut = 16,       // deemed lost and neither SACKed nor acknowledged since, retransmitted or not (Linux TCPCB_LOST)
        Pushed = 32,        // went out with PSH that stays with the data (the end of a write or record); its retransmissions carry PSH too
    }

    public struct Entry
    {
        public SeqNumber Start;
        public SeqNumber End;
        public Instant SentAt;
        public long Order;   // transmission order: breaks ties between segments sent at the same instant
        public Marks Marks;

        // draft-cheng-iccrg-delivery-rate-estimation 3.2, as of this (last) transmission: the
        // connection's delivered count and its time, and the send time of the first segment of
        // the flight it went out in.
        public long Delivered;
        public Instant DeliveredAt;
        public Instant FirstSentAt;

        public readonly int Length => End - Start;

        public readonly bool Is(Marks m) => (Marks & m) != 0;
    }

    private Entry[] _ring;
    private int _head;
    private long _transmissions;

    /// <summary>Starts small (idle connections pay little) and doubles as segments go out, up to <see cref="MaxCapacity"/>.</summary>
    public SentSegments(int maxCapacity)
    {
        _ring = new Entry[4]; // a request/response connection seldom has more in flight
        MaxCapacity = Math.Max(16, maxCapacity);
    }

    /// <summary>The most entries the log may hold (one per segment the send buffer can have in flight).</summary>
    public int MaxCapacity { get; set; }

    public int Count { get; private set; }

    /// <summary>Room for <paramref name="capacity"/> entries (the send buffer grew); allocates, so seldom.</summary>
    public void Grow(int capacity)
    {
        if (capacity <= _ring.Length)
        {
            return;
        }

        var grown = new Entry[capacity];
        for (int i = 0; i < Count; i++)
        {
            grown[i] = this[i];
        }

        _ring = grown;
        _head = 0;
    }

    /// <summary>Bytes of entries SACKed (RFC 6675 / Linux sacked_out, in bytes).</summary>
    public int SackedBytes { get; private set; }

    /// <summary>Bytes of entries deemed lost and not yet sent again (Linux lost_out).</summary>
    public int LostBytes { get; private set; }

    /// <summary>Entries deemed lost and neither SACKed nor acknowledged yet, retransmitted or not (Linux lost_out, tcpi_lost).</summary>
    public int LostOutSegments { get; private set; }

    /// <summary>Bytes ever marked lost (cumulative; congestion control reads what one ACK added).</summary>
    public long TotalLostBytes { get; private set; }

    public ref Entry this[int i] => ref _ring[(_head + i) % _ring.Length];

    /// <summary>The end of the last entry (valid when Count &gt; 0).</summary>
    public SeqNumber End => this[Count - 1].End;

    public void Clear()
    {
        Count = 0;
        _head = 0;
        SackedBytes = 0;
        LostBytes = 0;
        LostOutSegments = 0;
    }

    /// <summary>Records new data [start, start + length) sent at <paramref name="now"/>; false when full or not contiguous.</summary>
    public bool Append(SeqNumber start, int length, Instant now)
    {
        if (Count > 0 && End != start)
        {
            return false;
        }

        if (Count == _ring.Length)
        {
            if (_ring.Length >= MaxCapacity)
            {
                return false;
            }

            Grow(Math.Min(MaxCapacity, _ring.Length * 2));
        }

        ref Entry e = ref _ring[(_head + Count) % _ring.Length];
        e = new Entry { Start = start, End = start + length, SentAt = now, Order = ++_transmissions, Marks = Marks.None };
        Count++;
        return true;
    }

    /// <summary>The index of the entry holding <paramref name="seq"/>, or -1 (binary search: entries are in order).</summary>
    public int Find(SeqNumber seq)
    {
        int lo = 0, hi = Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            ref Entry e = ref this[mid];
            if (seq < e.Start)
            {
                hi = mid - 1;
            }
            else if (seq >= e.End)
            {
                lo = mid + 1;
            }
            else
            {
                return mid;
            }
        }

        return -1;
    }

    /// <summary>
    /// Records that [start, start + length) was sent again at <paramref name="now"/>: the entry
    /// starting there (split first if the retransmission is shorter, after an MSS drop) loses its
    /// Lost mark and gains Retransmitted; its index is <paramref name="index"/>. False when no
    /// entry starts at <paramref name="start"/>.
    /// </summary>
    public bool Resent(SeqNumber start, int length, Instant now, out int index)
    {
        int i = Find(start);
        index = i;
        if (i < 0 || this[i].Start != start)
        {
            return false;
        }

        if (this[i].Length > length && !Split(i, start + length))
        {
            return false;
        }

        ref Entry e = ref this[i];
        if (e.Is(Marks.Lost))
        {
            LostBytes -= e.Length;
        }

        e.Marks = (e.Marks & ~Marks.Lost) | Marks.Retransmitted;
        e.SentAt = now;
        e.Order = ++_transmissions;
        return true;
    }

    /// <summary>True when an entry inside [start, end) first went out with PSH.</summary>
    public bool AnyPushed(SeqNumber start, SeqNumber end)
    {
        int i = Find(start);
        if (i < 0)
        {
            return false;
        }

        for (; i < Count && this[i].Start < end; i++)
        {
            if (this[i].Is(Marks.Pushed))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Marks entry <paramref name="i"/> lost (RACK); false if it already was, or is SACKed.</summary>
    public bool MarkLost(int i)
    {
        ref Entry e = ref this[i];
        if (e.Is(Marks.Lost | Marks.Sacked))
        {
            return false;
        }

        if (!e.Is(Marks.LostOut))
        {
            LostOutSegments++;
        }

        e.Marks |= Marks.Lost | Marks.LostOut;
        LostBytes += e.Length;
        TotalLostBytes += e.Length;
        return true;
    }

    /// <summary>
    /// Marks the entries inside [left, right) SACKed and calls <paramref name="delivered"/> for
    /// each newly SACKed one (RACK's "newly delivered").
    /// </summary>
    public void MarkSacked(SeqNumber left, SeqNumber right, Action<Entry>? delivered)
    {
        int i = Find(left);
        if (i < 0)
        {
            return;
        }

        if (this[i].Start < left)
        {
            i++; // a block that starts inside an entry: that entry is not wholly SACKed
        }

        for (; i < Count && this[i].End <= right; i++)
        {
            ref Entry e = ref this[i];
            if (e.Is(Marks.Sacked))
            {
                continue;
            }

            if (e.Is(Marks.Lost))
            {
                LostBytes -= e.Length;
            }

            if (e.Is(Marks.LostOut))
            {
                LostOutSegments--;
            }

            e.Marks = (e.Marks & ~(Marks.Lost | Marks.LostOut)) | Marks.Sacked;
            SackedBytes += e.Length;
            delivered?.Invoke(e);
        }
    }

    /// <summary>
    /// The cumulative ACK reached <paramref name="ack"/>: removes the entries below it, calling
    /// <paramref name="delivered"/> for each one not SACKed before (newly delivered).
    /// </summary>
    public void AckTo(SeqNumber ack, Action<Entry>? delivered)
    {
        while (Count > 0 && _ring[_head].End <= ack)
        {
            Entry e = _ring[_head];
            if (e.Is(Marks.LostOut))
            {
                LostOutSegments--;
            }

            if (e.Is(Marks.Sacked))
            {
                SackedBytes -= e.Length;
            }
            else
            {
                if (e.Is(Marks.Lost))
                {
                    LostBytes -= e.Length;
                }

                delivered?.Invoke(e);
            }

            _head = (_head + 1) % _ring.Length;
            Count--;
        }

        if (Count > 0 && _ring[_head].Start < ack)
        {
            // Part of a segment acknowledged (the peer's choice, or an MSS drop): trim it.
            ref Entry e = ref _ring[_head];
            int trimmed = ack - e.Start;
            if (e.Is(Marks.Sacked))
            {
                SackedBytes -= trimmed;
            }

            if (e.Is(Marks.Lost))
            {
                LostBytes -= trimmed;
            }

            e.Start = ack;
        }
    }

    // Splits entry i at seq into two (an O(n) shift; only after the MSS shrinks).
    private bool Split(int i, SeqNumber seq)
    {
        if (Count == _ring.Length)
        {
            if (_ring.Length >= MaxCapacity)
            {
                return false;
            }

            Grow(Math.Min(MaxCapacity, _ring.Length * 2));
        }

        for (int j = Count; j > i + 1; j--)
        {
            this[j] = this[j - 1];
        }

        Count++;
        ref Entry first = ref this[i];
        ref Entry second = ref this[i + 1];
        second = first;
        second.Start = seq;
        first.End = seq;
        if (first.Is(Marks.LostOut))
        {
            LostOutSegments++; // both halves are lost
        }
        return true;
    }
}
