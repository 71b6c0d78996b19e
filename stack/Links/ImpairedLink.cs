using System.Globalization;
using TunStack.Storage;

namespace TunStack.Links;

/// <summary>
/// What an <see cref="ImpairedLink"/> does to one direction of traffic. Percentages are 0..100.
/// Text form (for the CLI): <c>loss=1%,delay=10ms,jitter=2ms,reorder=5%,dup=1%,corrupt=0.1%,rate=100mbit</c>.
/// </summary>
public sealed record Impairment
{
    /// <summary>Packets dropped, percent.</summary>
    public double LossPercent { get; init; }
    /// <summary>Packets sent twice, percent.</summary>
    public double DuplicatePercent { get; init; }
    /// <summary>Packets held back by <see cref="ReorderDelay"/> so that later ones overtake them, percent.</summary>
    public double ReorderPercent { get; init; }
    /// <summary>Packets with one random bit flipped, percent.</summary>
    public double CorruptPercent { get; init; }
    /// <summary>Fixed one-way delay.</summary>
    public TimeSpan Delay { get; init; }
    /// <summary>Uniform random variation of the delay, +/- this much (never below zero).</summary>
    public TimeSpan Jitter { get; init; }
    /// <summary>Extra hold for reordered packets (default 1 ms).</summary>
    public TimeSpan ReorderDelay { get; init; } = TimeSpan.FromMilliseconds(1);
    /// <summary>Serialization rate in bits per second; 0 = unlimited.</summary>
    public long RateBitsPerSecond { get; init; }
    /// <summary>Packets the delay line holds before dropping (a bounded queue, like a router buffer).</summary>
    public int QueueLimit { get; init; } = 4096;

    /// <summary>No impairment.</summary>
    public static Impairment None { get; } = new();

    /// <summary>True when nothing is impaired.</summary>
    public bool IsNone => LossPercent == 0 && DuplicatePercent == 0 && ReorderPercent == 0 && CorruptPercent == 0
        && Delay == TimeSpan.Zero && Jitter == TimeSpan.Zero && RateBitsPerSecond == 0;

    /// <summary>
    /// Parses the text form; <paramref name="seed"/> receives <c>seed=N</c> if present. On failure
    /// <paramref name="error"/> names the bad item.
    /// </summary>
    public static bool TryParse(string text, out Impairment impairment, out int? seed, out string? error)
    {
        impairment = new Impairment();
        seed = null;
        error = null;
        foreach (string raw in (text ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = raw.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                error = $"impairment item '{raw}' is not key=value";
                return false;
            }

            string key = raw[..eq].ToLowerInvariant();
            string value = raw[(eq + 1)..];
            bool ok = true;
            switch (key)
            {
                case "loss": ok = TryPercent(value, out double loss); impairment = impairment with { LossPercent = loss }; break;
                case "dup": ok = TryPercent(value, out double dup); impairment = impairment with { DuplicatePercent = dup }; break;
                case "reorder": ok = TryPercent(value, out double reorder); impairment = impairment with { ReorderPercent = reorder }; break;
                case "corrupt": ok = TryPercent(value, out double corrupt); impairment = impairment with { CorruptPercent = corrupt }; break;
                case "delay": ok = TryDuration(value, out TimeSpan delay); impairment = impairment with { Delay = delay }; break;
                case "jitter": ok = TryDuration(value, out TimeSpan jitter); impairment = impairment with { Jitter = jitter }; break;
                case "rate": ok = TryRate(value, out long rate); impairment = impairment with { RateBitsPerSecond = rate }; break;
                case "seed":
                    ok = int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int s);
                    seed = s;
                    break;
                default:
                    error = $"unknown impairment '{key}' (expected loss, delay, jitter, reorder, dup, corrupt, rate, seed)";
                    return false;
            }

            if (!ok)
            {
                error = $"impairment '{raw}' has a bad value";
                return false;
            }
        }

        return true;
    }

    private static bool TryPercent(string text, out double percent)
    {
        bool ok = double.TryParse(text.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out percent);
        return ok && percent is >= 0 and <= 100;
    }

    private static bool TryDuration(string text, out TimeSpan duration)
    {
        duration = default;
        (string number, double scale) = text.EndsWith("ms", StringComparison.OrdinalIgnoreCase) ? (text[..^2], 1.0)
            : text.EndsWith("us", StringComparison.OrdinalIgnoreCase) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1000.0) : (text, 1.0);
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || value < 0)
        {
            return false;
        }

        duration = TimeSpan.FromMilliseconds(value * scale);
        return true;
    }

    private static bool TryRate(string text, out long bitsPerSecond)
    {
        bitsPerSecond = 0;
        string t = text.ToLowerInvariant();
        (string number, long scale) = t.EndsWith("gbit", StringComparison.Ordinal) ? (t[..^4], 1_000_000_000L)
            : t.EndsWith("mbit", StringComparison.Ordinal) ? (t[..^4], 1_000_000L)
            : t.EndsWith("kbit", StringComparison.Ordinal) ? (t[..^4], 1_000L)
            : t.EndsWith("bit", StringComparison.Ordinal) ? (t[..^3], 1L) : (t, 1L);
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || value < 0)
        {
            return false;
        }

        bitsPerSecond = (long)(value * scale);
        return true;
    }
}

/// <summary>Counts of what an <see cref="ImpairedLink"/> did to one direction.</summary>
public sealed class ImpairmentStatistics
{
    /// <summary>Packets offered.</summary>
    public long Offered { get; internal set; }
    /// <summary>Packets dropped by the loss rule.</summary>
    public long Lost { get; internal set; }
    /// <summary>Extra copies sent.</summary>
    public long Duplicated { get; internal set; }
    /// <summary>Packets held back to be overtaken.</summary>
    public long Reordered { get; internal set; }
    /// <summary>Packets with a flipped bit.</summary>
    public long Corrupted { get; internal set; }
    /// <summary>Packets dropped because the delay line was full.</summary>
    public long QueueDropped { get; internal set; }
    /// <summary>Packets delivered.</summary>
    public long Delivered { get; internal set; }
}

/// <summary>
/// A decorator that impairs the traffic of an inner link in each direction: seeded loss,
/// duplication, reordering, delay with jitter, bit corruption and a rate limit. The same seed and
/// the same input give the same output, so impaired runs under a virtual clock are reproducible.
/// </summary>
public sealed class ImpairedLink : ILink
{
    private readonly ILink _inner;
    private readonly DelayLine _ingress;
    private readonly DelayLine _egress;
    private readonly PacketBatch _scratch;

    /// <summary>Wraps <paramref name="inner"/>; <paramref name="ingress"/> applies to received packets, <paramref name="egress"/> to transmitted ones.</summary>
    public ImpairedLink(ILink inner, Impairment ingress, Impairment egress, int seed)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(ingress);
        ArgumentNullException.ThrowIfNull(egress);
        _inner = inner;
        _ingress = new DelayLine(ingress, inner.Mtu, seed);
        _egress = new DelayLine(egress, inner.Mtu, unchecked(seed * 31 + 7));
        _scratch = new PacketBatch(64, inner.Mtu);
    }

    /// <inheritdoc/>
    public int Mtu => _inner.Mtu;

    /// <inheritdoc/>
    public Action? ReceiveReady
    {
        get => _inner.ReceiveReady;
        set => _inner.ReceiveReady = value;
    }

    /// <summary>What happened to received packets.</summary>
    public ImpairmentStatistics IngressStatistics => _ingress.Statistics;

    /// <summary>What happened to transmitted packets.</summary>
    public ImpairmentStatistics EgressStatistics => _egress.Statistics;

    /// <inheritdoc/>
    public Instant NextDeadline => Instant.Min(Instant.Min(_ingress.NextRelease, _egress.NextRelease), _inner.NextDeadline);

    /// <inheritdoc/>
    public int Receive(PacketBatch batch, Instant now)
    {
        ReleaseEgress(now);
        while (true)
        {
            _scratch.Clear();
            int n = _inner.Receive(_scratch, now);
            for (int i = 0; i < n; i++)
            {
                _ingress.Offer(_scratch[i], now);
            }

            if (n < _scratch.Capacity)
            {
                break;
            }
        }

        return _ingress.ReleaseInto(batch, now);
    }

    /// <inheritdoc/>
    public void Transmit(PacketBatch batch, Instant now)
    {
        for (int i = 0; i < batch.Count; i++)
        {
            _egress.Offer(batch[i], now);
        }

        ReleaseEgress(now);
    }

    private void ReleaseEgress(Instant now)
    {
        while (true)
        {
            _scratch.Clear();
            int n = _egress.ReleaseInto(_scratch, now);
            if (n == 0)
            {
                break;
            }

            _inner.Transmit(_scratch, now);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _inner.Dispose();

    // Packets waiting for their release time, in a binary heap ordered by (release, arrival).
    private sealed class DelayLine
    {
        private readonly Impairment _profile;
        private readonly Random _random;
        private readonly byte[][] _slots;
        private readonly int[] _lengths;
        private readonly long[] _release;
        private readonly long[] _order;
        private readonly int[] _heap;
        private readonly Stack<int> _free;
        private int _heapCount;
        private long _arrivals;
        private long _busyUntil;

        public DelayLine(Impairment profile, int mtu, int seed)
        {
            _profile = profile;
            _random = new Random(seed);
            int capacity = Math.Max(16, profile.QueueLimit);
            _slots = new byte[capacity][];
            _lengths = new int[capacity];
            _release = new long[capacity];
            _order = new long[capacity];
            _heap = new int[capacity];
            _free = new Stack<int>(capacity);
            for (int i = capacity - 1; i >= 0; i--)
            {
                _free.Push(i);
            }

            _mtu = mtu;
        }

        private readonly int _mtu;

        public ImpairmentStatistics Statistics { get; } = new();

        public Instant NextRelease => _heapCount == 0 ? Instant.MaxValue : new Instant(_release[_heap[0]]);

        public void Offer(ReadOnlySpan<byte> packet, Instant now)
        {
            Statistics.Offered++;
            if (Chance(_profile.LossPercent))
            {
                Statistics.Lost++;
                return;
            }

            int copies = Chance(_profile.DuplicatePercent) ? 2 : 1;
            Statistics.Duplicated += copies - 1;
            for (int c = 0; c < copies; c++)
            {
                long at = now.Microseconds;
                if (_profile.RateBitsPerSecond > 0)
                {
                    // Serialization: one packet at a time at the configured rate.
                    long txMicros = packet.Length * 8L * 1_000_000 / _profile.RateBitsPerSecond;
                    _busyUntil = Math.Max(_busyUntil, at) + txMicros;
                    at = _busyUntil;
                }

                long delay = _profile.Delay.Ticks / TimeSpan.TicksPerMicrosecond;
                if (_profile.Jitter > TimeSpan.Zero)
                {
                    long jitter = _profile.Jitter.Ticks / TimeSpan.TicksPerMicrosecond;
                    delay = Math.Max(0, delay + (long)((_random.NextDouble() * 2 - 1) * jitter));
                }

                if (Chance(_profile.ReorderPercent))
                {
                    Statistics.Reordered++;
                    delay += _profile.ReorderDelay.Ticks / TimeSpan.TicksPerMicrosecond;
                }

                Enqueue(packet, at + delay);
            }
        }

        public int ReleaseInto(PacketBatch batch, Instant now)
        {
            int moved = 0;
            while (_heapCount > 0 && _release[_heap[0]] <= now.Microseconds && !batch.IsFull)
            {
                int slot = PopMin();
                batch.TryAdd(_slots[slot].AsSpan(0, _lengths[slot]));
                _free.Push(slot);
                Statistics.Delivered++;
                moved++;
            }

            return moved;
        }

        private void Enqueue(ReadOnlySpan<byte> packet, long release)
        {
            if (_free.Count == 0 || packet.Length > _mtu)
            {
                Statistics.QueueDropped++;
                return;
            }

            int slot = _free.Pop();
            _slots[slot] ??= new byte[_mtu];
            packet.CopyTo(_slots[slot]);
            _lengths[slot] = packet.Length;
            if (packet.Length > 0 && Chance(_profile.CorruptPercent))
            {
                Statistics.Corrupted++;
                int bit = _random.Next(packet.Length * 8);
                _slots[slot][bit / 8] ^= (byte)(1 << (bit % 8));
            }

            _release[slot] = release;
            _order[slot] = _arrivals++;
            int i = _heapCount++;
            _heap[i] = slot;
            SiftUp(i);
        }

        private bool Chance(double percent) => percent > 0 && _random.NextDouble() * 100 < percent;

        private bool Less(int a, int b) => _release[a] < _release[b] || (_release[a] == _release[b] && _order[a] < _order[b]);

        private void SiftUp(int i)
        {
            while (i > 0)
            {
                int parent = (i - 1) / 2;
                if (!Less(_heap[i], _heap[parent]))
                {
                    break;
                }

                (_heap[i], _heap[parent]) = (_heap[parent], _heap[i]);
                i = parent;
            }
        }

        private int PopMin()
        {
            int top = _heap[0];
            _heap[0] = _heap[--_heapCount];
            int i = 0;
            while (true)
            {
                int l = 2 * i + 1;
                int r = l + 1;
                int m = i;
                if (l < _heapCount && Less(_heap[l], _heap[m]))
                {
                    m = l;
                }

                if (r < _heapCount && Less(_heap[r], _heap[m]))
                {
                    m = r;
                }

                if (m == i)
                {
                    break;
                }

                (_heap[i], _heap[m]) = (_heap[m], _heap[i]);
                i = m;
            }

            return top;
        }
    }
}
