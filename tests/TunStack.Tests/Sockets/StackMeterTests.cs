using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using TunStack.Cli;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Sockets.Hosting;
using TunStack.Tcp;

namespace TunStack.Tests.Sockets;

/// <summary>
/// The "TunStack" meter of a running stack, read with a MeterListener as dotnet-counters or
/// OpenTelemetry would, and written as Prometheus text by the daemon's exporter: two stacks on a
/// memory link, one TCP connection between them and one UDP datagram to a closed port.
/// </summary>
public class StackMeterTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(10);

    [Fact]
    public void ConnectionAndDatagramToClosedPort_MeterListener_CountersDropReasonGaugesAndRtt()
    {
        using var pair = new ConnectedPair();
        using var meter = new StackMeter(pair.Client, TimeSpan.FromMilliseconds(50));
        using var serverMeter = new StackMeter(pair.Server);
        var values = new Dictionary<(string Name, string? Reason), double>();
        var rtts = new List<double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == meter.Meter || instrument.Meter == serverMeter.Meter)
            {
                l.EnableMeasurementEvents(instrument, instrument.Meter == meter.Meter ? "client" : "server");
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, state) =>
        {
            lock (values)
            {
                values[($"{state}:{instrument.Name}", tags.Length == 0 ? null : (string?)tags[0].Value)] = value;
            }
        });
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            lock (rtts)
            {
                rtts.Add(value);
            }
        });
        listener.Start();
        pair.SendToClosedPort();

        double Read(string name, string? reason = null)
        {
            listener.RecordObservableInstruments();
            lock (values)
            {
                return values.GetValueOrDefault((name, reason));
            }
        }

        Assert.Equal(StackMeter.MeterName, meter.Meter.Name);
        WaitUntil(() => Read("server:tunstack.packets_dropped", nameof(Counter.UdpNoPort)) == 1, "the drop for reason UdpNoPort");
        Assert.Equal(0, Read("server:tunstack.packets_dropped", nameof(Counter.Ipv4BadChecksum)));
        Assert.Equal(1, Read("client:tunstack.tcp_active_opens"));
        Assert.Equal(1, Read("server:tunstack.tcp_passive_opens"));
        Assert.True(Read("client:tunstack.link_sent") >= 3);
        WaitUntil(() => Read("client:tunstack.tcp.connections") == 1 && Read("server:tunstack.tcp.connections") == 1, "one connection on each side");
        Assert.Equal(0, Read("client:tunstack.tcp.time_wait"));
        WaitUntil(() => { lock (rtts) { return rtts.Count >= 2; } }, "two round-trip samples");
        lock (rtts)
        {
            Assert.All(rtts, rtt => Assert.InRange(rtt, 0.0, 1.0)); // a memory link: under the 1 ms grain of TCP timestamps
        }
    }

    [Theory]
    [InlineData(4, new[] { 4, 4, 4 })]
    [InlineData(16, new[] { 10, 10 })]
    public void TenConnectionsAndASliceLimit_RttCollections_EachLooksAtOneSliceAndTheyRotateOverTheTable(int slice, int[] expected)
    {
        using var host = new SocketHost(StackClock.Virtual);
        for (int i = 0; i < 5; i++)
        {
            _ = host.Pair(7300 + i);
        }

        using var meter = new StackMeter(host.Host.Runner, TimeSpan.FromHours(1), slice);
        int samples = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == meter.Meter && instrument.Name == "tunstack.tcp.smoothed_rtt")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref samples));
        listener.Start();

        var seen = new List<int>();
        var looked = new List<int>();
        foreach (int _ in expected)
        {
            using StackCall call = host.Host.Runner.Enter(); // the loop's own beats wait meanwhile
            int before = Volatile.Read(ref samples);
            meter.SampleRoundTrips(call.Stack);
            seen.Add(Volatile.Read(ref samples) - before);
            looked.Add(meter.LastRttCollection);
        }

        Assert.Equal(expected, looked);
        Assert.Equal(expected, seen); // every connection is established: one sample each
    }

    [Fact]
    public void TableOfTenConnections_CopyInSlicesAfterOneCloses_EveryOtherConnectionOnceAndTheLastMovedIntoTheGap()
    {
        using var host = new SocketHost(StackClock.Virtual);
        var pairs = Enumerable.Range(0, 5).Select(i => host.Pair(7310 + i)).ToList();
        TcpConnection[] before;
        using (StackCall call = host.Host.Runner.Enter())
        {
            before = new TcpConnection[10];
            Assert.Equal(10, call.Stack.CopyTcpConnections(0, before));
            Assert.Equal(0, call.Stack.CopyTcpConnections(10, new TcpConnection[4]));
        }

        pairs[0].Client.LingerState = new System.Net.Sockets.LingerOption(true, 0);
        pairs[0].Client.Dispose(); // a reset: both sides leave the table at once
        WaitUntil(() => host.Host.Runner.InvokeAsync(stack => stack.TcpConnections.Connections).Result == 8, "the reset pair gone");

        using (StackCall call = host.Host.Runner.Enter())
        {
            var slices = new List<TcpConnection>();
            var slice = new TcpConnection[3];
            for (int start = 0; ; start += 3)
            {
                int n = call.Stack.CopyTcpConnections(start, slice);
                slices.AddRange(slice.Take(n));
                if (n < slice.Length)
                {
                    break;
                }
            }

            Assert.Equal(8, slices.Count);
            Assert.Equal(8, slices.Distinct().Count());
            Assert.All(slices, c => Assert.NotEqual(TcpConnectionState.Closed, c.State));
            Assert.Subset(before.ToHashSet(), slices.ToHashSet());
        }
    }

    [Fact]
    public void CounterEnum_DropsAsDocumented_EachDropIsAReasonAndEveryOtherCounterAnInstrument()
    {
        // The drop reasons are the counters whose documentation says "Dropped".
        XDocument docs = XDocument.Load(Path.Combine(AppContext.BaseDirectory, "TunStack.Core.xml"));
        var documentedDrops = docs.Descendants("member")
            .Where(m => ((string?)m.Attribute("name"))?.StartsWith("F:TunStack.Counter.", StringComparison.Ordinal) == true)
            .Where(m => m.Element("summary")!.Value.Trim().StartsWith("Dropped", StringComparison.Ordinal))
            .Select(m => Enum.Parse<Counter>(((string)m.Attribute("name")!)["F:TunStack.Counter.".Length..]))
            .ToHashSet();
        Assert.NotEmpty(documentedDrops);
        Assert.Equal(documentedDrops.Order(), Enum.GetValues<Counter>().Where(StackMeter.IsDrop).Order());

        Assert.Equal("tunstack.tcp_active_opens", StackMeter.InstrumentName(Counter.TcpActiveOpens));
        Assert.Equal("tunstack.icmpv6_mld_ignored", StackMeter.InstrumentName(Counter.Icmpv6MldIgnored));
        Assert.Equal("tunstack.packets_dropped", StackMeter.InstrumentName(Counter.Ipv4BadChecksum));
        using var pair = new ConnectedPair();
        using var meter = new StackMeter(pair.Client);
        var names = new HashSet<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Meter == meter.Meter)
            {
                names.Add(instrument.Name);
            }
        };
        listener.Start();
        Assert.Subset(names, Enum.GetValues<Counter>().Select(StackMeter.InstrumentName).ToHashSet());
        Assert.Subset(names, new HashSet<string> { "tunstack.tcp.connections", "tunstack.tcp.time_wait", "tunstack.tcp.memory", "tunstack.tcp.smoothed_rtt" });
    }

    [Fact]
    public void ConnectionAndDrop_PrometheusText_CountersGaugesHistogramWithHelpAndType()
    {
        using var pair = new ConnectedPair();
        using var meter = new StackMeter(pair.Server, TimeSpan.FromMilliseconds(50));
        using var exporter = new PrometheusExporter(meter.Meter);
        pair.SendToClosedPort();
        string text = string.Empty;
        WaitUntil(() => (text = exporter.Collect()).Contains("tunstack_packets_dropped_total{reason=\"UdpNoPort\"} 1\n", StringComparison.Ordinal)
            && text.Contains("\ntunstack_tcp_connections 1\n", StringComparison.Ordinal)
            && !text.Contains("tunstack_tcp_smoothed_rtt_seconds_count 0\n", StringComparison.Ordinal), "the drop, the connection and a round-trip sample");

        Assert.Contains("# HELP tunstack_packets_dropped_total Packets (and SYNs, and received TCP data) the stack dropped, by reason\n# TYPE tunstack_packets_dropped_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE tunstack_tcp_passive_opens_total counter\ntunstack_tcp_passive_opens_total 1\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE tunstack_tcp_connections gauge\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE tunstack_tcp_memory_bytes gauge\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE tunstack_tcp_smoothed_rtt_seconds histogram\n", text, StringComparison.Ordinal);
        Assert.Matches(new Regex("\ntunstack_tcp_smoothed_rtt_seconds_bucket\\{le=\"\\+Inf\"\\} [1-9][0-9]*\n"), text);

        // Every line is a comment or "name{labels} value", each family announced once before its samples.
        var sample = new Regex("^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"\\\\]*\"(,[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"\\\\]*\")*\\})? -?[0-9.eE+-]+$");
        var typed = new HashSet<string>();
        foreach (string line in text.TrimEnd('\n').Split('\n'))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                Assert.True(typed.Add(line.Split(' ')[2]), $"family typed twice: {line}");
                continue;
            }

            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                continue;
            }

            Match match = sample.Match(line);
            Assert.True(match.Success, $"not a Prometheus sample line: '{line}'");
            string family = Regex.Replace(match.Groups["name"].Value, "_(bucket|sum|count)$", string.Empty);
            Assert.True(typed.Contains(family) || typed.Contains(match.Groups["name"].Value), $"sample before its TYPE line: '{line}'");
        }
    }

    private static void WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + s_wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"no {what} in {s_wait.TotalSeconds} s");
            Thread.Sleep(20);
        }
    }

    // Two stacks on a memory link, real clock: the client (10.4.0.1) connected to the server's (10.4.0.2) port 80.
    private sealed class ConnectedPair : IDisposable
    {
        private static readonly InternetAddress s_server = InternetAddress.Parse("10.4.0.2");

        public ConnectedPair()
        {
            (MemoryLink a, MemoryLink b) = MemoryLink.CreatePair();
            Client = new StackRunner(a, Options("10.4.0.1/24"), "meter-client");
            Server = new StackRunner(b, Options("10.4.0.2/24"), "meter-server");
            Client.Start();
            Server.Start();
            TcpAcceptor listener = Server.InvokeAsync(stack => stack.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 80), 8, out _)!).Result;
            Client.InvokeAsync(stack => stack.ConnectTcp(new InternetEndpoint(s_server, 80), out _)!).Wait();
            WaitUntil(() => Server.InvokeAsync(_ => listener.TryAccept(out TcpConnection? accepted) && accepted is not null).Result, "the accepted connection");
        }

        public StackRunner Client { get; }

        public StackRunner Server { get; }

        public void SendToClosedPort()
            => Client.InvokeAsync(stack => stack.OpenUdp().SendTo("x"u8, new InternetEndpoint(s_server, 9))).Wait();

        public void Dispose()
        {
            Client.Dispose();
            Server.Dispose();
        }

        private static StackOptions Options(string address)
        {
            var options = new StackOptions();
            options.Addresses.Add(IpPrefix.Parse(address));
            return options;
        }
    }
}
