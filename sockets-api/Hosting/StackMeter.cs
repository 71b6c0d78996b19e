using System.Diagnostics.Metrics;
using System.Text;
using TunStack.Tcp;

namespace TunStack.Sockets.Hosting;

/// <summary>
/// The stack's numbers as a <see cref="System.Diagnostics.Metrics.Meter"/> named "TunStack", for
/// <c>dotnet-counters</c>, OpenTelemetry or any <see cref="MeterListener"/>:
/// <list type="bullet">
/// <item><c>tunstack.packets_dropped</c>, an observable counter with a <c>reason</c> tag naming the
/// <see cref="Counter"/> that counted the drop (<c>Ipv4BadChecksum</c>, <c>TcpMemoryDrops</c>, ...);</item>
/// <item>one observable counter per other <see cref="Counter"/>, named after it in snake case
/// (<c>tunstack.tcp_active_opens</c>, <c>tunstack.link_received</c>, ...);</item>
/// <item>gauges (observable up-down counters) <c>tunstack.tcp.connections</c>,
/// <c>tunstack.tcp.time_wait</c> and <c>tunstack.tcp.memory</c> (bytes of queued TCP data);</item>
/// <item><c>tunstack.tcp.smoothed_rtt</c>, a histogram in seconds of the established connections'
/// smoothed round-trip times, sampled periodically while someone listens to it: each collection
/// looks at the next slice of at most <see cref="DefaultRttSamplesPerCollection"/> connections of
/// the table, rotating through it, so its cost is bounded however many connections there are.</item>
/// </list>
/// The counters are read as <see cref="StackRunner.Counters"/> allows from any thread; the gauges
/// and the round-trip samples are taken by a heartbeat of the runner's own loop
/// (<see cref="StackRunner.AddHeartbeat"/>), so they never race the stack and a collection never
/// waits for it. Nothing is recorded per packet. A stack split into partitions, each on a runner of
/// its own, is one meter over all of them: counters and gauges are the partitions' sums.
/// </summary>
public sealed class StackMeter : IDisposable
{
    /// <summary>The meter's name, "TunStack" (<c>dotnet-counters monitor --counters TunStack</c>).</summary>
    public const string MeterName = "TunStack";

    // The counters whose documentation starts "Dropped": each is a reason a packet was dropped.
    private static readonly Counter[] s_drops =
    [
        Counter.LinkUnknownVersion, Counter.Ipv4Truncated, Counter.Ipv4BadHeaderLength, Counter.Ipv4BadLength, Counter.Ipv4BadChecksum,
        Counter.Ipv4BadOptions, Counter.Ipv4BadSource, Counter.Ipv4NotForUs, Counter.Ipv4UnknownProtocol, Counter.Ipv4OutputTooBigDontFragment,
        Counter.Ipv6Truncated, Counter.Ipv6BadLength, Counter.Ipv6BadSource, Counter.Ipv6NotForUs, Counter.Ipv6BadExtensionHeader,
        Counter.Ipv6TooManyExtensionHeaders, Counter.Ipv6OptionDiscarded, Counter.Ipv6ParameterProblem, Counter.Ipv6NoNextHeader,
        Counter.Ipv6IncompleteHeaderChain, Counter.ReassemblyOverlap, Counter.ReassemblyDiscardedDatagram, Counter.ReassemblyOversize,
        Counter.ReassemblyBadFragment, Counter.ReassemblyTooManyFragments, Counter.IcmpTruncated, Counter.IcmpBadChecksum, Counter.IcmpEchoNoEndpoint,
        Counter.UdpTruncated, Counter.UdpBadLength, Counter.UdpBadChecksum, Counter.UdpZeroChecksumV6, Counter.UdpNoPort, Counter.UdpReceiveQueueFull,
        Counter.TcpTruncated, Counter.TcpBadHeaderLength, Counter.TcpBadChecksum, Counter.TcpToGroup, Counter.TcpOutOfWindow,
        Counter.TcpAckOfUnsentData, Counter.TcpAckTooOld, Counter.TcpOutOfOrderDropped, Counter.TcpPawsRejected, Counter.TcpListenOverflow,
        Counter.TcpSynQueueOverflow, Counter.TcpConnectionLimit, Counter.OutputNoRoute, Counter.OutputNoSource, Counter.OutputLoopbackQueueFull,
        Counter.TcpMemoryDrops, Counter.LinkBadOffload, Counter.LinkUnsupportedSegmentation, Counter.TcpForwardPendingOverflow,
        Counter.TcpSynFinDropped, Counter.PartitionHandOffDropped,
    ];

    /// <summary>Connections looked at per round-trip collection unless the constructor says otherwise.</summary>
    public const int DefaultRttSamplesPerCollection = 1024;

    private readonly List<IDisposable> _heartbeats = [];
    private readonly Histogram<double> _rtt;
    private readonly TcpConnection[][] _slices;
    private readonly int[] _rttCursors;
    private readonly long[] _connections;
    private readonly long[] _timeWait;
    private readonly long[] _tcpMemory;

    /// <summary>
    /// Creates the meter for <paramref name="runner"/>'s stack. The gauges are refreshed every
    /// second; the round-trip times are sampled every <paramref name="rttSampleInterval"/> (10
    /// seconds if null), one sample per established connection of the next
    /// <paramref name="rttSamplesPerCollection"/> in the table (from where the last collection
    /// stopped, starting over at the end): with fewer connections than that, every one each time.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rttSamplesPerCollection"/> is not positive.</exception>
    public StackMeter(StackRunner runner, TimeSpan? rttSampleInterval = null, int rttSamplesPerCollection = DefaultRttSamplesPerCollection)
        : this([runner ?? throw new ArgumentNullException(nameof(runner))], rttSampleInterval, rttSamplesPerCollection)
    {
    }

    /// <summary>
    /// Creates one meter for a stack split into partitions, one runner each (see
    /// <see cref="StackMeter(StackRunner, TimeSpan?, int)"/>): its counters and gauges are the sums
    /// over <paramref name="partitions"/>, and each partition's round-trip times are sampled on its own loop.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="partitions"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rttSamplesPerCollection"/> is not positive.</exception>
    public static StackMeter ForPartitions(IReadOnlyList<StackRunner> partitions, TimeSpan? rttSampleInterval = null, int rttSamplesPerCollection = DefaultRttSamplesPerCollection)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        if (partitions.Count == 0)
        {
            throw new ArgumentException("A meter needs at least one runner.", nameof(partitions));
        }

        return new StackMeter(partitions, rttSampleInterval, rttSamplesPerCollection);
    }

    private StackMeter(IReadOnlyList<StackRunner> partitions, TimeSpan? rttSampleInterval, int rttSamplesPerCollection)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(rttSamplesPerCollection, 0);

        int count = partitions.Count;
        _slices = Enumerable.Range(0, count).Select(_ => new TcpConnection[rttSamplesPerCollection]).ToArray();
        (_rttCursors, _connections, _timeWait, _tcpMemory) = (new int[count], new long[count], new long[count], new long[count]);
        StackCounters[] counters = partitions.Select(p => p.Counters).ToArray();
        Meter = new Meter(MeterName);
        var dropTags = s_drops.Select(c => new KeyValuePair<string, object?>("reason", c.ToString())).ToArray();
        Meter.CreateObservableCounter("tunstack.packets_dropped", () => Drops(counters, dropTags), "{packet}", "Packets (and SYNs, and received TCP data) the stack dropped, by reason");
        foreach (Counter counter in Enum.GetValues<Counter>().Except(s_drops))
        {
            Meter.CreateObservableCounter(InstrumentName(counter), () => Sum(counters, counter), null, $"The stack's counter {counter}");
        }

        Meter.CreateObservableUpDownCounter("tunstack.tcp.connections", () => Sum(_connections), "{connection}", "TCP connections held (TIME-WAIT records not counted)");
        Meter.CreateObservableUpDownCounter("tunstack.tcp.time_wait", () => Sum(_timeWait), "{connection}", "TCP 4-tuples in TIME-WAIT");
        Meter.CreateObservableUpDownCounter("tunstack.tcp.memory", () => Sum(_tcpMemory), "By", "Bytes of queued TCP data (send and receive buffers, out-of-order data)");
        _rtt = Meter.CreateHistogram<double>("tunstack.tcp.smoothed_rtt", "s", "Smoothed round-trip time of each TCP connection, sampled periodically");
        for (int p = 0; p < count; p++)
        {
            int partition = p;
            _heartbeats.Add(partitions[p].AddHeartbeat(TimeSpan.FromSeconds(1), stack => TakeSnapshot(partition, stack)));
            _heartbeats.Add(partitions[p].AddHeartbeat(rttSampleInterval ?? TimeSpan.FromSeconds(10), stack => SampleRoundTrips(partition, stack)));
        }
    }

    /// <summary>The meter ("TunStack").</summary>
    public Meter Meter { get; }

    /// <summary>
    /// The name of the instrument that reports <paramref name="counter"/>:
    /// <c>tunstack.packets_dropped</c> for a drop, otherwise <c>tunstack.</c> and the counter's name
    /// in snake case (<c>TcpActiveOpens</c> is <c>tunstack.tcp_active_opens</c>).
    /// </summary>
    public static string InstrumentName(Counter counter)
    {
        if (IsDrop(counter))
        {
            return "tunstack.packets_dropped";
        }

        string name = counter.ToString();
        var snake = new StringBuilder("tunstack.", name.Length + 16);
        for (int i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]))
            {
                snake.Append('_');
            }

            snake.Append(char.ToLowerInvariant(name[i]));
        }

        return snake.ToString();
    }

    /// <summary>True when <paramref name="counter"/> counts dropped packets (reported as a <c>reason</c> of <c>tunstack.packets_dropped</c>).</summary>
    public static bool IsDrop(Counter counter) => Array.IndexOf(s_drops, counter) >= 0;

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (IDisposable heartbeat in _heartbeats)
        {
            heartbeat.Dispose();
        }

        Meter.Dispose();
    }

    private static Measurement<long>[] Drops(StackCounters[] counters, KeyValuePair<string, object?>[] tags)
    {
        var measurements = new Measurement<long>[s_drops.Length];
        for (int i = 0; i < s_drops.Length; i++)
        {
            measurements[i] = new Measurement<long>(Sum(counters, s_drops[i]), tags[i]);
        }

        return measurements;
    }

    private static long Sum(StackCounters[] counters, Counter counter)
    {
        long sum = 0;
        foreach (StackCounters partition in counters)
        {
            sum += partition[counter];
        }

        return sum;
    }

    private static long Sum(long[] gauges)
    {
        long sum = 0;
        for (int i = 0; i < gauges.Length; i++)
        {
            sum += Volatile.Read(ref gauges[i]);
        }

        return sum;
    }

    // On a partition's loop thread, holding its stack.
    private void TakeSnapshot(int partition, NetworkStack stack)
    {
        (int connections, int timeWait) = stack.TcpConnections;
        Volatile.Write(ref _connections[partition], connections);
        Volatile.Write(ref _timeWait[partition], timeWait);
        Volatile.Write(ref _tcpMemory[partition], stack.TcpMemory.InUseBytes);
    }

    // On the (first) loop's thread, holding the stack; only while the histogram has a listener.
    internal void SampleRoundTrips(NetworkStack stack) => SampleRoundTrips(0, stack);

    // On a partition's loop thread, holding its stack; only while the histogram has a listener.
    private void SampleRoundTrips(int partition, NetworkStack stack)
    {
        if (!_rtt.Enabled)
        {
            return;
        }

        TcpConnection[] slice = _slices[partition];
        ref int cursor = ref _rttCursors[partition];

        // The next slice of the table; at its end, the rest of the slice from its start (so that a
        // table smaller than a slice is sampled whole every time).
        int count = stack.CopyTcpConnections(cursor, slice);
        if (count < slice.Length)
        {
            int wrapped = stack.CopyTcpConnections(0, slice.AsSpan(count, Math.Min(slice.Length - count, cursor)));
            count += wrapped;
            cursor = wrapped;
        }
        else
        {
            cursor += count;
        }

        for (int i = 0; i < count; i++)
        {
            // Established: its handshake gave a sample (0 when under the timestamp clock's 1 ms grain).
            if (slice[i].State == TcpConnectionState.Established)
            {
                _rtt.Record(slice[i].SmoothedRtt.TotalSeconds);
            }
        }

        Array.Clear(slice, 0, count); // hold no connection between collections
        LastRttCollection = count;
    }

    /// <summary>Connections the last round-trip collection looked at (at most the slice size).</summary>
    public int LastRttCollection { get; private set; }
}
