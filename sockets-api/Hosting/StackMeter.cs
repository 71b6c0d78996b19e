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
/// waits for it. Nothing is recorded per packet.
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
        Counter.TcpSynFinDropped,
    ];

    /// <summary>Connections looked at per round-trip collection unless the constructor says otherwise.</summary>
    public const int DefaultRttSamplesPerCollection = 1024;

    private readonly IDisposable _snapshots;
    private readonly IDisposable _rttSamples;
    private readonly Histogram<double> _rtt;
    private readonly TcpConnection[] _slice;
    private int _rttCursor;
    private long _connections;
    private long _timeWait;
    private long _tcpMemory;

    /// <summary>
    /// Creates the meter for <paramref name="runner"/>'s stack. The gauges are refreshed every
    /// second; the round-trip times are sampled every <paramref name="rttSampleInterval"/> (10
    /// seconds if null), one sample per established connection of the next
    /// <paramref name="rttSamplesPerCollection"/> in the table (from where the last collection
    /// stopped, starting over at the end): with fewer connections than that, every one each time.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rttSamplesPerCollection"/> is not positive.</exception>
    public StackMeter(StackRunner runner, TimeSpan? rttSampleInterval = null, int rttSamplesPerCollection = DefaultRttSamplesPerCollection)
    {
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(rttSamplesPerCollection, 0);
        _slice = new TcpConnection[rttSamplesPerCollection];
        StackCounters counters = runner.Counters;
        Meter = new Meter(MeterName);
        var dropTags = s_drops.Select(c => new KeyValuePair<string, object?>("reason", c.ToString())).ToArray();
        Meter.CreateObservableCounter("tunstack.packets_dropped", () => Drops(counters, dropTags), "{packet}", "Packets (and SYNs, and received TCP data) the stack dropped, by reason");
        foreach (Counter counter in Enum.GetValues<Counter>().Except(s_drops))
        {
            Meter.CreateObservableCounter(InstrumentName(counter), () => counters[counter], null, $"The stack's counter {counter}");
        }

        Meter.CreateObservableUpDownCounter("tunstack.tcp.connections", () => Volatile.Read(ref _connections), "{connection}", "TCP connections held (TIME-WAIT records not counted)");
        Meter.CreateObservableUpDownCounter("tunstack.tcp.time_wait", () => Volatile.Read(ref _timeWait), "{connection}", "TCP 4-tuples in TIME-WAIT");
        Meter.CreateObservableUpDownCounter("tunstack.tcp.memory", () => Volatile.Read(ref _tcpMemory), "By", "Bytes of queued TCP data (send and receive buffers, out-of-order data)");
        _rtt = Meter.CreateHistogram<double>("tunstack.tcp.smoothed_rtt", "s", "Smoothed round-trip time of each TCP connection, sampled periodically");
        _snapshots = runner.AddHeartbeat(TimeSpan.FromSeconds(1), TakeSnapshot);
        _rttSamples = runner.AddHeartbeat(rttSampleInterval ?? TimeSpan.FromSeconds(10), SampleRoundTrips);
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
        _snapshots.Dispose();
        _rttSamples.Dispose();
        Meter.Dispose();
    }

    private static Measurement<long>[] Drops(StackCounters counters, KeyValuePair<string, object?>[] tags)
    {
        var measurements = new Measurement<long>[s_drops.Length];
        for (int i = 0; i < s_drops.Length; i++)
        {
            measurements[i] = new Measurement<long>(counters[s_drops[i]], tags[i]);
        }

        return measurements;
    }

    // On the loop's thread, holding the stack.
    private void TakeSnapshot(NetworkStack stack)
    {
        (int connections, int timeWait) = stack.TcpConnections;
        Volatile.Write(ref _connections, connections);
        Volatile.Write(ref _timeWait, timeWait);
        Volatile.Write(ref _tcpMemory, stack.TcpMemory.InUseBytes);
    }

    // On the loop's thread, holding the stack; only while the histogram has a listener.
    internal void SampleRoundTrips(NetworkStack stack)
    {
        if (!_rtt.Enabled)
        {
            return;
        }

        // The next slice of the table; at its end, the rest of the slice from its start (so that a
        // table smaller than a slice is sampled whole every time).
        int count = stack.CopyTcpConnections(_rttCursor, _slice);
        if (count < _slice.Length)
        {
            int wrapped = stack.CopyTcpConnections(0, _slice.AsSpan(count, Math.Min(_slice.Length - count, _rttCursor)));
            count += wrapped;
            _rttCursor = wrapped;
        }
        else
        {
            _rttCursor += count;
        }

        for (int i = 0; i < count; i++)
        {
            // Established: its handshake gave a sample (0 when under the timestamp clock's 1 ms grain).
            if (_slice[i].State == TcpConnectionState.Established)
            {
                _rtt.Record(_slice[i].SmoothedRtt.TotalSeconds);
            }
        }

        Array.Clear(_slice, 0, count); // hold no connection between collections
        LastRttCollection = count;
    }

    /// <summary>Connections the last round-trip collection looked at (at most the slice size).</summary>
    public int LastRttCollection { get; private set; }
}
