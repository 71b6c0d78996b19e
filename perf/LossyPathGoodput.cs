using System.Globalization;
using TunStack.Ip;
using TunStack.Lab.Plots;
using TunStack.Links;
using TunStack.Tcp;

namespace TunStack.Perf;

/// <summary>
/// Goodput of one bulk connection over a lossy path between two stacks (ImpairedLink, seeded,
/// virtual time), for NewReno and CUBIC, the sender's repair counters, and a trace of cwnd and RTT
/// over time drawn as SVG (by the lab's plots, <see cref="TimeSeriesFigure"/>).
/// Run with: dotnet run -c Release --project perf -- goodput [--path SPEC] [--seconds N] [--seeds A-B] [--counters] [svg-path]
/// </summary>
public static class LossyPathGoodput
{
    private const string DefaultPath = "loss=1%,delay=10ms"; // each direction: 20 ms RTT, ~1% loss each way

    public static void Run(string[] args)
    {
        string path = DefaultPath;
        int seconds = 60, firstSeed = 1, lastSeed = 5;
        bool counters = false;
        string? svgPath = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--path": path = args[++i]; break;
                case "--seconds": seconds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--counters": counters = true; break;
                case "--seeds":
                    string[] range = args[++i].Split('-');
                    firstSeed = int.Parse(range[0], CultureInfo.InvariantCulture);
                    lastSeed = int.Parse(range[^1], CultureInfo.InvariantCulture);
                    break;
                default: svgPath = args[i]; break;
            }
        }

        if (!Impairment.TryParse(path, out Impairment profile, out _, out string? error))
        {
            Console.Error.WriteLine($"goodput: --path: {error}");
            Environment.Exit(2);
        }

        Console.WriteLine($"path: {path} (each direction), {seconds} s of virtual time per run, seeds {firstSeed}-{lastSeed}");
        Console.WriteLine("algorithm  goodput Mbit/s per seed                      median");
        foreach (CongestionAlgorithm algorithm in new[] { CongestionAlgorithm.NewReno, CongestionAlgorithm.Cubic })
        {
            var results = new List<double>();
            var repairs = new List<string>();
            for (int seed = firstSeed; seed <= lastSeed; seed++)
            {
                (double goodput, string repair) = Measure(profile, algorithm, seed, TimeSpan.FromSeconds(seconds), trace: null);
                results.Add(goodput);
                repairs.Add($"  seed {seed}: {repair}");
            }

            double median = results.OrderBy(r => r).ElementAt(results.Count / 2);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{algorithm,-10} {string.Join(" ", results.Select(r => r.ToString("F2", CultureInfo.InvariantCulture).PadLeft(6)))}    {median:F2}"));
            if (counters)
            {
                repairs.ForEach(Console.WriteLine);
            }
        }

        if (svgPath is not null)
        {
            var trace = new List<(double T, double Cwnd, double Rtt, double Ssthresh)>();
            Measure(profile, CongestionAlgorithm.Cubic, firstSeed, TimeSpan.FromSeconds(Math.Min(30, seconds)), trace);
            File.WriteAllText(svgPath, Figure(trace, path, firstSeed).RenderSvg());
            Console.WriteLine($"trace of CUBIC, seed {firstSeed}, {Math.Min(30, seconds)} s: {svgPath}");
        }
    }

    private static (double Goodput, string Repairs) Measure(Impairment profile, CongestionAlgorithm algorithm, int seed, TimeSpan duration, List<(double T, double Cwnd, double Rtt, double Ssthresh)>? trace)
    {
        (MemoryLink a, MemoryLink b) = MemoryLink.CreatePair(1500, 8192);
        var sim = new Simulation();
        var link = new ImpairedLink(a, profile, profile, seed);
        NetworkStack sender = sim.Add(new NetworkStack(link, Options("10.0.0.1/24", algorithm), sim.Clock.Now));
        NetworkStack receiver = sim.Add(new NetworkStack(b, Options("10.0.0.2/24", algorithm), sim.Clock.Now));
        TcpAcceptor listener = receiver.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 5001), 8, out _)!;
        TcpConnection client = sender.ConnectTcp(new InternetEndpoint(InternetAddress.Parse("10.0.0.2"), 5001), out _)!;
        sim.RunUntil(() => listener.PendingCount > 0, TimeSpan.FromSeconds(10));
        listener.TryAccept(out TcpConnection? server);
        var chunk = new byte[256 * 1024];
        var sink = new byte[256 * 1024];
        long received = 0;
        Instant start = sim.Clock.Now;
        Instant end = start + duration;
        Instant nextSample = start;
        while (sim.Clock.Now < end)
        {
            while (client.Send(chunk, out _) > 0)
            {
            }

            int n;
            while ((n = server!.Receive(sink, out _)) > 0)
            {
                received += n;
            }

            if (trace is not null && sim.Clock.Now >= nextSample)
            {
                TcpConnectionInfo info = client.GetInfo();
                trace.Add(((sim.Clock.Now - start).TotalSeconds, (double)info.CongestionWindow / info.Mss, info.SmoothedRtt.TotalMilliseconds,
                    info.SlowStartThreshold >= int.MaxValue / 2 ? double.NaN : (double)info.SlowStartThreshold / info.Mss));
                nextSample = sim.Clock.Now + TimeSpan.FromMilliseconds(10);
            }

            Instant next = sim.Settle();
            if (next > sim.Clock.Now && server.Available == 0)
            {
                sim.AdvanceTo(Instant.Min(Instant.Min(next, end), trace is null ? end : nextSample));
            }
        }

        StackCounters c = sender.Counters;
        string repairs = string.Create(CultureInfo.InvariantCulture,
            $"lost on the path {link.EgressStatistics.Lost}, reordered {link.EgressStatistics.Reordered}; recoveries {c[Counter.TcpFastRecoveries]}, rack losses {c[Counter.TcpRackLosses]}, fast retransmits {c[Counter.TcpFastRetransmits]}, rto {c[Counter.TcpRetransmits]}, probes {c[Counter.TcpLossProbes]}, dsacks {c[Counter.TcpDsackReceived]}, undos {c[Counter.TcpSpuriousRetransmissionUndos]}; {client.GetInfo()}");
        return (received * 8 / duration.TotalSeconds / 1e6, repairs);
    }

    private static StackOptions Options(string address, CongestionAlgorithm algorithm)
    {
        var o = new StackOptions { RandomSeed = 1 };
        o.Addresses.Add(IpPrefix.Parse(address));
        o.Tcp.CongestionControl = algorithm;
        return o;
    }

    /// <summary>
    /// Two panels over time, drawn by the lab's plots (ScottPlot): cwnd and ssthresh in segments
    /// (ssthresh NaN, not drawn, while infinite), and the smoothed RTT in ms (not drawn before the
    /// first RTT sample).
    /// </summary>
    internal static TimeSeriesFigure Figure(IReadOnlyList<(double T, double Cwnd, double Rtt, double Ssthresh)> trace, string path, int seed)
    {
        double[] times = trace.Select(p => p.T).ToArray();
        var figure = new TimeSeriesFigure(width: 900, panelHeight: 330);
        TimeSeriesPanel window = figure.AddPanel($"TunStack CUBIC, {path} each way, seed {seed}: cwnd and ssthresh", "segments");
        window.AddLine("cwnd", times, trace.Select(p => p.Cwnd).ToArray(), colorIndex: 0);
        window.AddLine("ssthresh", times, trace.Select(p => p.Ssthresh).ToArray(), colorIndex: 3, dashed: true);
        TimeSeriesPanel rtt = figure.AddPanel("Smoothed RTT of the same connection", "ms");
        rtt.AddLine("smoothed RTT", times, trace.Select(p => p.Rtt > 0 ? p.Rtt : double.NaN).ToArray(), colorIndex: 2);
        return figure;
    }
}
