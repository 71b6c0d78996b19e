// RFC 791 3.2 / RFC 815 (IPv4) and RFC 8200 4.5 (IPv6) reassembly, with RFC 5722's rule that an
// overlapping fragment discards the whole datagram (applied to IPv4 as well).
using System.Buffers;

namespace TunStack.Ip;

/// <summary>
/// Reassembles fragmented datagrams of one IP family. Bounded in datagrams, fragments per
/// datagram and bytes across all datagrams; the oldest datagrams are evicted to admit new data.
/// A datagram discarded for overlap stays as a tombstone until its timeout so that its remaining
/// fragments are discarded too (RFC 5722 3).
/// </summary>
internal sealed class Reassembler
{
    private const int MaxHeaderLength = 1024;
    private const int MaxPayload = 65535;

    private readonly StackCounters _counters;
    private readonly TimerWheel _timers;
    private readonly TimeSpan _timeout;
    private readonly int _memoryLimit;
    private readonly int _maxDatagrams;
    private readonly int _maxFragments;
    private readonly ReassemblyTimeoutHandler? _onTimeout;
    private readonly Dictionary<FragmentKey, PartialDatagram> _datagrams = new();
    private readonly Stack<PartialDatagram> _free = new();
    private readonly byte[] _quote = new byte[MaxHeaderLength + 1280];
    private int _memoryUsed;

    public Reassembler(StackCounters counters, TimerWheel timers, TimeSpan timeout, int memoryLimit, int maxDatagrams, int maxFragments, ReassemblyTimeoutHandler? onTimeout)
    {
        _counters = counters;
        _timers = timers;
        _timeout = timeout;
        _memoryLimit = memoryLimit;
        _maxDatagrams = maxDatagrams;
        _maxFragments = maxFragments;
        _onTimeout = onTimeout;
    }

    /// <summary>Datagrams in progress (tombstones included).</summary>
    public int InProgress => _datagrams.Count;

    /// <summary>Bytes of buffer held for datagrams in progress.</summary>
    public int MemoryUsed => _memoryUsed;

    /// <summary>
    /// Adds a fragment. <paramref name="header"/> is the unfragmentable part (IP header, and for IPv6
    /// the extension headers before the Fragment header); it is kept from the first fragment. On
    /// completion <paramref name="output"/> receives that header followed by the data, with
    /// <paramref name="patchOffset"/> (if not -1) set to <paramref name="patchValue"/>;
    /// <paramref name="headerLength"/> says where the data starts.
    /// </summary>
    public ReassemblyOutcome Add(in FragmentKey key, ReadOnlySpan<byte> header, int offset, bool more, ReadOnlySpan<byte> data,
        int patchOffset, byte patchValue, Instant now, Span<byte> output, out int outputLength, out int headerLength)
    {
        outputLength = 0;
        headerLength = 0;
        int end = offset + data.Length;

        if (!_datagrams.TryGetValue(key, out PartialDatagram? d))
        {
            if (_datagrams.Count >= _maxDatagrams && !EvictOldest(null))
            {
                _counters.Increment(Counter.ReassemblyMemoryEvicted);
                return ReassemblyOutcome.Dropped;
            }

            d = _free.Count > 0 ? _free.Pop() : new PartialDatagram(this);
            d.Start(key, now + _timeout);
            _datagrams.Add(key, d);
            _timers.Schedule(d.Timer, d.Deadline);
        }

        if (d.Discarded)
        {
            _counters.Increment(Counter.ReassemblyDiscardedDatagram);
            return ReassemblyOutcome.Dropped;
        }

        // RFC 791 / RFC 8200 4.5: every fragment but the last carries a multiple of 8 bytes.
        if ((more && data.Length % 8 != 0) || header.Length > MaxHeaderLength)
        {
            return Discard(d, Counter.ReassemblyBadFragment);
        }

        int unfragmentable = offset == 0 ? header.Length : d.HeaderLength;
        // Reassembled size over 65,535 bytes (IPv4 total length; IPv6 payload length) is dropped.
        int furthest = Math.Max(end, Math.Max(d.HighestEnd, d.TotalLength));
        if (furthest > MaxPayload || ((d.HasFirst || offset == 0) && unfragmentable + furthest - HeaderBase(header) > MaxPayload))
        {
            return Discard(d, Counter.ReassemblyOversize);
        }

        if (!more)
        {
            if ((d.TotalLength >= 0 && d.TotalLength != end) || d.HighestEnd > end)
            {
                return Discard(d, Counter.ReassemblyBadFragment);
            }

            d.TotalLength = end;
        }
        else if (d.TotalLength >= 0 && end > d.TotalLength)
        {
            return Discard(d, Counter.ReassemblyBadFragment);
        }

        // Overlap rules: a fragment inside data already held is a duplicate (ignored); any other
        // intersection is a partial overlap and discards the datagram (RFC 5722 3).
        for (int i = 0; i < d.RangeCount; i++)
        {
            (int s, int e) = d.Ranges[i];
            if (offset >= s && end <= e && data.Length > 0)
            {
                _counters.Increment(Counter.ReassemblyDuplicate);
                return ReassemblyOutcome.Incomplete;
            }

            if (offset < e && end > s)
            {
                return Discard(d, Counter.ReassemblyOverlap);
            }
        }

        if (data.Length > 0)
        {
            if (d.FragmentCount >= _maxFragments)
            {
                return Discard(d, Counter.ReassemblyTooManyFragments);
            }

            if (!EnsureCapacity(d, end))
            {
                return ReassemblyOutcome.Dropped;
            }

            data.CopyTo(d.Data.AsSpan(offset));
            d.InsertRange(offset, end);
            d.FragmentCount++;
            d.HighestEnd = Math.Max(d.HighestEnd, end);
        }

        if (offset == 0)
        {
            header.CopyTo(d.Header);
            d.HeaderLength = header.Length;
            d.HasFirst = true;
            d.PatchOffset = patchOffset;
            d.PatchValue = patchValue;
        }

        if (!d.HasFirst || d.TotalLength < 0 || !(d.TotalLength == 0 || (d.RangeCount == 1 && d.Ranges[0] == (0, d.TotalLength))))
        {
            return ReassemblyOutcome.Incomplete;
        }

        headerLength = d.HeaderLength;
        outputLength = d.HeaderLength + d.TotalLength;
        d.Header.AsSpan(0, d.HeaderLength).CopyTo(output);
        d.Data.AsSpan(0, d.TotalLength).CopyTo(output[d.HeaderLength..]);
        if (d.PatchOffset >= 0)
        {
            output[d.PatchOffset] = d.PatchValue;
        }

        Release(d);
        return ReassemblyOutcome.Complete;
    }

    // IPv4 counts the header in its 65,535-byte total; IPv6's limit is on the payload after the fixed header.
    private static int HeaderBase(ReadOnlySpan<byte> header) => header.Length > 0 && header[0] >> 4 == 6 ? 40 : 0;

    private ReassemblyOutcome Discard(PartialDatagram d, Counter reason)
    {
        _counters.Increment(reason);
        FreeMemory(d);
        d.Discarded = true;
        return ReassemblyOutcome.Dropped;
    }

    private bool EnsureCapacity(PartialDatagram d, int end)
    {
        if (d.Data.Length >= end)
        {
            return true;
        }

        int wanted = (int)Math.Min(MaxPayload + 1, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(end, 2048)));
        int extra = wanted - d.Data.Length;
        while (_memoryUsed + extra > _memoryLimit)
        {
            if (!EvictOldest(d))
            {
                Discard(d, Counter.ReassemblyMemoryEvicted);
                return false;
            }
        }

        byte[] grown = ArrayPool<byte>.Shared.Rent(wanted);
        if (d.Data.Length > 0)
        {
            d.Data.AsSpan(0, d.HighestEnd).CopyTo(grown);
            ArrayPool<byte>.Shared.Return(d.Data);
        }

        _memoryUsed += grown.Length - d.Data.Length;
        d.Data = grown;
        return true;
    }

    private bool EvictOldest(PartialDatagram? keep)
    {
        PartialDatagram? oldest = null;
        foreach (PartialDatagram candidate in _datagrams.Values)
        {
            if (candidate != keep && (candidate.Data.Length > 0 || keep is null) && (oldest is null || candidate.Deadline < oldest.Deadline))
            {
                oldest = candidate;
            }
        }

        if (oldest is null)
        {
            return false;
        }

        _counters.Increment(Counter.ReassemblyMemoryEvicted);
        Release(oldest);
        return true;
    }

    private void FreeMemory(PartialDatagram d)
    {
        if (d.Data.Length > 0)
        {
            _memoryUsed -= d.Data.Length;
            ArrayPool<byte>.Shared.Return(d.Data);
            d.Data = Array.Empty<byte>();
        }
    }

    private void Release(PartialDatagram d)
    {
        FreeMemory(d);
        _timers.Cancel(d.Timer);
        _datagrams.Remove(d.Key);
        _free.Push(d);
    }

    private void OnTimeout(PartialDatagram d, Instant now)
    {
        if (!d.Discarded)
        {
            _counters.Increment(Counter.ReassemblyTimeout);
            // RFC 792 / RFC 8200 4.5: Time Exceeded only when the first fragment arrived; quote it.
            if (d.HasFirst && _onTimeout is not null)
            {
                int dataBytes = Math.Min(d.RangeCount > 0 && d.Ranges[0].Start == 0 ? d.Ranges[0].End : 0, _quote.Length - d.HeaderLength);
                d.Header.AsSpan(0, d.HeaderLength).CopyTo(_quote);
                d.Data.AsSpan(0, dataBytes).CopyTo(_quote.AsSpan(d.HeaderLength));
                if (d.PatchOffset >= 0)
                {
                    // Quote the first fragment as received: its own Next Header names the Fragment header.
                    _quote[d.PatchOffset] = 44;
                }

                _onTimeout(_quote.AsSpan(0, d.HeaderLength + dataBytes), now);
            }
        }

        _datagrams.Remove(d.Key);
        FreeMemory(d);
        _free.Push(d);
    }

    private sealed class PartialDatagram
    {
        public PartialDatagram(Reassembler owner)
        {
            Timer = new TimerEntry(now => owner.OnTimeout(this, now));
        }

        public TimerEntry Timer { get; }
        public FragmentKey Key;
        public Instant Deadline;
        public byte[] Data = Array.Empty<byte>();
        public readonly byte[] Header = new byte[MaxHeaderLength];
        public int HeaderLength;
        public bool HasFirst;
        public bool Discarded;
        public int TotalLength;
        public int HighestEnd;
        public int FragmentCount;
        public int PatchOffset;
        public byte PatchValue;
        public (int Start, int End)[] Ranges = new (int, int)[8];
        public int RangeCount;

        public void Start(FragmentKey key, Instant deadline)
        {
            Key = key;
            Deadline = deadline;
            HeaderLength = 0;
            HasFirst = false;
            Discarded = false;
            TotalLength = -1;
            HighestEnd = 0;
            FragmentCount = 0;
            PatchOffset = -1;
            RangeCount = 0;
        }

        // Keeps Ranges sorted and merged; the caller has ruled out overlaps.
        public void InsertRange(int start, int end)
        {
            int i = 0;
            while (i < RangeCount && Ranges[i].Start < start)
            {
                i++;
            }

            bool joinsPrevious = i > 0 && Ranges[i - 1].End == start;
            bool joinsNext = i < RangeCount && Ranges[i].Start == end;
            if (joinsPrevious && joinsNext)
            {
                Ranges[i - 1].End = Ranges[i].End;
                Array.Copy(Ranges, i + 1, Ranges, i, RangeCount - i - 1);
                RangeCount--;
            }
            else if (joinsPrevious)
            {
                Ranges[i - 1].End = end;
            }
            else if (joinsNext)
            {
                Ranges[i].Start = start;
            }
            else
            {
                if (RangeCount == Ranges.Length)
                {
                    Array.Resize(ref Ranges, Ranges.Length * 2);
                }

                Array.Copy(Ranges, i, Ranges, i + 1, RangeCount - i);
                Ranges[i] = (start, end);
                RangeCount++;
            }
        }
    }
}
