using TunStack.Storage;

namespace TunStack.Links;

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
    private PacketBatch? _segmented;           // one offloaded packet (either way) as the wire packets it stands for; made at the first one

    /// <summary>Wraps <paramref name="inner"/>; <paramref name="ingress"/> applies to received packets, <paramref name="egress"/> to transmitted ones.</summary>
    public ImpairedLink(ILink inner, Impairment ingress, Impairment egress, int seed)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(ingress);
        ArgumentNullException.ThrowIfNull(egress);
        _inner = inner;
        _ingress = new DelayLine(ingress, inner.Mtu, seed);
        _egress = new DelayLine(egress, inner.Mtu, unchecked(seed * 31 + 7));
        _scratch = new PacketBatch(64, inner.MaxPacketLength);
    }

    /// <inheritdoc/>
    public int Mtu => _inner.Mtu;

    /// <inheritdoc/>
    public int MaxPacketLength => _inner.MaxPacketLength;

    /// <summary>
    /// The inner link's offloads. While a direction is impaired, its offloaded packets (super-segments,
    /// partial checksums) are first made into the plain wire packets they stand for, in software,
    /// so that loss, reordering and duplication act on each wire packet as they would on a wire.
    /// </summary>
    public LinkOffloads Offloads => _inner.Offloads;

    /// <inheritdoc/>
    public bool CanWaitForPackets => _inner.CanWaitForPackets;

    /// <inheritdoc/>
    public void WaitForPackets(TimeSpan timeout) => _inner.WaitForPackets(timeout);

    /// <inheritdoc/>
    public void InterruptWait() => _inner.InterruptWait();

    /// <inheritdoc/>
    public bool CanReadBlocking => _inner.CanReadBlocking;

    /// <inheritdoc/>
    public void BeginBlockingReads() => _inner.BeginBlockingReads();

    /// <inheritdoc/>
    public int ReadBlocking(PacketBatch batch) => _inner.ReadBlocking(batch);

    /// <inheritdoc/>
    public void InterruptRead() => _inner.InterruptRead();

    /// <summary>
    /// Impairs what a blocking reader read as <see cref="Receive"/> impairs what it reads: with
    /// the received direction idle, the packets go straight through; otherwise each is offered to
    /// the received direction's line (lost, duplicated, held back), and the batch is left with
    /// what is due now. The rest <see cref="Receive"/> gives when its time comes.
    /// </summary>
    public int Admit(PacketBatch batch, Instant now)
    {
        ArgumentNullException.ThrowIfNull(batch);
        int n = _inner.Admit(batch, now);
        if (_ingress.IsIdle)
        {
            return n;
        }

        OfferEach(_ingress, batch, n, now);
        batch.Clear();
        return _ingress.ReleaseInto(batch, now);
    }

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

    /// <summary>
    /// Changes what is done to each direction from now on (call on the stack's thread); packets
    /// already held keep the fate they were given. The queue keeps the size it was made with.
    /// </summary>
    public void Change(Impairment ingress, Impairment egress)
    {
        ArgumentNullException.ThrowIfNull(ingress);
        ArgumentNullException.ThrowIfNull(egress);
        _ingress.Profile = ingress;
        _egress.Profile = egress;
    }

    /// <summary>Offloaded packets (either way) dropped because their headers disagreed with their offload metadata.</summary>
    public long SegmentationFailures { get; private set; }

    /// <inheritdoc/>
    public Instant NextDeadline => Instant.Min(Instant.Min(_ingress.NextRelease, _egress.NextRelease), _inner.NextDeadline);

    /// <inheritdoc/>
    public int Receive(PacketBatch batch, Instant now)
    {
        ReleaseEgress(now);
        if (_ingress.IsIdle)
        {
            // Nothing to do to received packets and none held: straight through, no copy.
            return _inner.Receive(batch, now);
        }

        while (true)
        {
            _scratch.Clear();
            int n = _inner.Receive(_scratch, now);
            OfferEach(_ingress, _scratch, n, now);

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
        if (_egress.IsIdle)
        {
            _inner.Transmit(batch, now);
            return;
        }

        OfferEach(_egress, batch, batch.Count, now);
        ReleaseEgress(now);
    }

    // The first count packets of batch, each offered to line as the wire packets it stands for.
    private void OfferEach(DelayLine line, PacketBatch batch, int count, Instant now)
    {
        for (int i = 0; i < count; i++)
        {
            OfferAsWirePackets(line, batch, i, now);
        }
    }

    // An offloaded packet is impaired as the wire packets it stands for.
    private void OfferAsWirePackets(DelayLine line, PacketBatch batch, int index, Instant now)
    {
        ref readonly PacketOffload offload = ref batch.OffloadAt(index);
        if (!offload.IsSet)
        {
            line.Offer(batch[index], now);
            return;
        }

        _segmented ??= SoftwareSegmentation.WireBatch(_inner.Mtu); // 257 wire packets: only for a link that offloads
        _segmented.Clear();
        if (SoftwareSegmentation.Segment(batch[index], offload, _segmented) < 0)
        {
            SegmentationFailures++;
            return;
        }

        for (int j = 0; j < _segmented.Count; j++)
        {
            line.Offer(_segmented[j], now);
        }
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
            Profile = profile;
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

        public Impairment Profile { get; set; }

        // No impairment and nothing held: packets can pass without entering the line.
        public bool IsIdle => _heapCount == 0 && Profile.IsNone;

        public Instant NextRelease => _heapCount == 0 ? Instant.MaxValue : new Instant(_release[_heap[0]]);

        public void Offer(ReadOnlySpan<byte> packet, Instant now)
        {
            Statistics.Offered++;
            if (Chance(Profile.LossPercent))
            {
                Statistics.Lost++;
                return;
            }

            int copies = Chance(Profile.DuplicatePercent) ? 2 : 1;
            Statistics.Duplicated += copies - 1;
            for (int c = 0; c < copies; c++)
            {
                long at = now.Microseconds;
                if (Profile.RateBitsPerSecond > 0)
                {
                    // Serialization: one packet at a time at the configured rate.
                    long txMicros = packet.Length * 8L * 1_000_000 / Profile.RateBitsPerSecond;
                    _busyUntil = Math.Max(_busyUntil, at) + txMicros;
                    at = _busyUntil;
                }

                long delay = Profile.Delay.Ticks / TimeSpan.TicksPerMicrosecond;
                if (Profile.Jitter > TimeSpan.Zero)
                {
                    long jitter = Profile.Jitter.Ticks / TimeSpan.TicksPerMicrosecond;
                    delay = Math.Max(0, delay + (long)((_random.NextDouble() * 2 - 1) * jitter));
                }

                if (Chance(Profile.ReorderPercent))
                {
                    Statistics.Reordered++;
                    delay += Profile.ReorderDelay.Ticks / TimeSpan.TicksPerMicrosecond;
                }
                else if (Profile.OvertakePercent > 0 && Chance(Profile.OvertakePercent))
                {
                    Statistics.Reordered++;
                    delay = 0; // ahead of everything the delay still holds
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
            if (packet.Length > 0 && Chance(Profile.CorruptPercent))
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
