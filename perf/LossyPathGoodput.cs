using System.Globalization;
using System.Text;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Tcp;

namespace TunStack.Perf;

/// <summary>
/// Goodput of one bulk connection over a lossy path between two stacks (ImpairedLink, seeded,
/// virtual time), for NewReno and CUBIC, and a trace of cwnd and RTT over time drawn as SVG.
/// Run with: dotnet run -c Release --project perf -- goodput [svg-path]
/// </summary>
public static class LossyPathGoodput
{
    private const string Path = "loss=1%,delay=10ms"; // each direction: 20 ms RTT, ~1% loss each way

    public static void Run(string? svgPath)
    {
        Console.WriteLine($"path: {Path} (each direction), 60 s of virtual time per run, 5 seeds");
        Console.WriteLine("algorithm  goodput Mbit/s per seed                      median");
        foreach (CongestionAlgorithm algorithm in new[] { CongestionAlgorithm.NewReno, CongestionAlgorithm.Cubic })
        {
            var results = new List<double>();
            for (int seed = 1; seed <= 5; seed++)
            {
                results.Add(Measure(algorithm, seed, TimeSpan.FromSeconds(60), trace: null));
            }

            double median = results.OrderBy(r => r).ElementAt(results.Count / 2);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{algorithm,-10} {string.Join(" ", results.Select(r => r.ToString("F2", CultureInfo.InvariantCulture).PadLeft(6)))}    {median:F2}"));
        }

        if (svgPath is not null)
        {
            var trace = new List<(double T, double Cwnd, double Rtt, double Ssthresh)>();
            Measure(CongestionAlgorithm.Cubic, 1, TimeSpan.FromSeconds(30), trace);
            File.WriteAllText(svgPath, Svg(trace));
            Console.WriteLine($"trace of CUBIC, seed 1, 30 s: {svgPath}");
        }
    }

    private static double Measure(CongestionAlgorithm algorithm, int seed, TimeSpan duration, List<(double T, double Cwnd, double Rtt, double Ssthresh)>? trace)
    {
        if (!Impairment.TryParse(Path, out Impairment profile, out _, out string? error))
        {
            throw new InvalidOperationException(error);
        }

        (MemoryLink a, MemoryLink b) = MemoryLink.CreatePair(1500, 8192);
        var sim = new Simulation();
        NetworkStack sender = sim.Add(new NetworkStack(new ImpairedLink(a, profile, profile, seed), Options("10.0.0.1/24", algorithm), sim.Clock.Now));
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

        return received * 8 / duration.TotalSeconds / 1e6;
    }

    private static StackOptions Options(string address, CongestionAlgorithm algorithm)
    {
        var o = new StackOptions { RandomSeed = 1 };
        o.Addresses.Add(IpPrefix.Parse(address));
        o.Tcp.CongestionControl = algorithm;
        return o;
    }

    // Two panels over time: cwnd (and ssthresh) in segments, and the smoothed RTT in ms.
    private static string Svg(List<(double T, double Cwnd, double Rtt, double Ssthresh)> trace)
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
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left}\" y=\"20\" font-size=\"14\">TunStack CUBIC over an ImpairedLink ({Path} each way, seed 1): cwnd and SRTT over time</text>\n");
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
