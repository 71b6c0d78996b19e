using System.Globalization;
using System.Text;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Tcp;

namespace TunStack.Perf;

/// <summary>
/// Goodput of one bulk connection over a lossy path between two stacks (ImpairedLink, seeded,
/// virtual time), for NewReno and CUBIC, the sender's repair counters, and a trace of cwnd and RTT
/// over time drawn as SVG.
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
            File.WriteAllText(svgPath, Svg(trace, path, firstSeed));
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

    // Two panels over time: cwnd (and ssthresh) in segments, and the smoothed RTT in ms.
    private static string Svg(List<(double T, double Cwnd, double Rtt, double Ssthresh)> trace, string path, int seed)
    {
        const int width = 900, panel = 220, left = 60, top = 40, gap = 60;
        double tMax = trace.Max(p => p.T);
        double cMax = Math.Max(10, trace.Max(p => Math.Max(p.Cwnd, double.IsNaN(p.Ssthresh) ? 0 : p.Ssthresh)) * 1.1);
        double rMax = Math.Max(1, trace.Max(p => p.Rtt) * 1.2);
        double X(double t) => left + ((width - left - 20) * t / tMax);
        double Y(double v, double max, int panelTop) => panelTop + panel - (panel * v / max);
        string Points(Func<(double T, double Cwnd, double Rtt, double Ssthresh), double> value, double max, int panelTop)
            => string.Join(' ', trace.Where(p => !double.IsNaN(value(p))).Select(p => string.Create(CultureInfo.InvariantCulture, $"{X(p.T):F1},{Y(value(p), max, panelTop):F1}")));

        var svg = new StringBuilder();
        int height = top + (2 * panel) + gap + 50;
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left}\" y=\"20\" font-size=\"14\">TunStack CUBIC over an ImpairedLink ({path} each way, seed {seed}): cwnd and SRTT over time</text>\n");
        foreach ((int panelTop, double max, string label) in new[] { (top, cMax, "segments"), (top + panel + gap, rMax, "ms") })
        {
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{left}\" y=\"{panelTop}\" width=\"{width - left - 20}\" height=\"{panel}\" fill=\"none\" stroke=\"#999\"/>\n");
            for (int i = 0; i <= 4; i++)
            {
                double v = max * i / 4;
                svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left - 6}\" y=\"{Y(v, max, panelTop) + 4:F1}\" text-anchor=\"end\">{v:0.#}</text>\n");
            }

            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"12\" y=\"{panelTop + (panel / 2)}\" transform=\"rotate(-90 12 {panelTop + (panel / 2)})\" text-anchor=\"middle\">{label}</text>\n");
        }

        for (int i = 0; i <= 6; i++)
        {
            double t = tMax * i / 6;
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{X(t):F1}\" y=\"{top + (2 * panel) + gap + 18}\" text-anchor=\"middle\">{t:0.#} s</text>\n");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"#c33\" stroke-width=\"1\" points=\"{Points(p => p.Ssthresh, cMax, top)}\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"1.2\" points=\"{Points(p => p.Cwnd, cMax, top)}\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"#2a8a2a\" stroke-width=\"1.2\" points=\"{Points(p => p.Rtt, rMax, top + panel + gap)}\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left + 10}\" y=\"{top + 16}\" fill=\"#1f5fbf\">cwnd</text><text x=\"{left + 60}\" y=\"{top + 16}\" fill=\"#c33\">ssthresh</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left + 10}\" y=\"{top + panel + gap + 16}\" fill=\"#2a8a2a\">smoothed RTT</text>\n");
        svg.Append("</svg>\n");
        return svg.ToString();
    }
}
