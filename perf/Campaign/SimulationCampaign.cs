using System.Diagnostics;
using System.Globalization;

namespace TunStack.Perf.Campaign;

/// <summary>
/// Runs <see cref="CampaignScenario"/>s for a range of seeds and prints the failing ones.
/// Run with: dotnet run -c Release --project perf -- simulate --seeds 1-1000 [--parallel N] [--verbose] [--capture DIR]
/// (exit code 1 when a seed fails; --seeds N replays one seed and prints its scenario; a line of
/// progress every 1,000 scenarios; --capture writes every stack's packets of every seed as pcapng).
/// </summary>
internal static class SimulationCampaign
{
    public static int Run(string[] args)
    {
        int first = 1, last = 100, parallel = 1;
        bool verbose = false;
        string? captureDirectory = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--seeds" when i + 1 < args.Length && TryRange(args[i + 1], out first, out last):
                    i++;
                    break;
                case "--parallel" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out parallel) && parallel > 0:
                    i++;
                    break;
                case "--verbose":
                    verbose = true;
                    break;
                case "--capture" when i + 1 < args.Length:
                    captureDirectory = Directory.CreateDirectory(args[++i]).FullName;
                    break;
                default:
                    Console.Error.WriteLine($"simulate: unknown or bad argument '{args[i]}' (expected --seeds A-B, --parallel N, --verbose, --capture DIR)");
                    return 2;
            }
        }

        verbose |= first == last;
        var clock = Stopwatch.StartNew();
        var failures = new List<int>();
        long simulatedTicks = 0, done = 0;
        var gate = new object();
        Parallel.For(first, last + 1, new ParallelOptions { MaxDegreeOfParallelism = parallel }, seed =>
        {
            var scenario = new CampaignScenario(seed, captureDirectory);
            string? failure = scenario.Run();
            lock (gate)
            {
                simulatedTicks += scenario.Elapsed.Ticks;
                if (failure is not null)
                {
                    failures.Add(seed);
                    Console.WriteLine($"seed {seed}: FAILED: {failure}");
                    Console.Write(scenario.Description);
                }
                else if (verbose)
                {
                    string pathMtu = scenario.ChangesPathMtu ? $", {scenario.TooBigAnswered} too-big packets answered, {scenario.PathMtuReductions} MSS reductions" : string.Empty;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seed {seed}: ok, {scenario.Elapsed.TotalSeconds:F1} s of virtual time{pathMtu}"));
                    Console.Write(scenario.Description);
                }

                if (++done % 1000 == 0)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"simulate: {done} scenarios done, {failures.Count} failed, {clock.Elapsed.TotalSeconds:F0} s"));
                }
            }
        });

        failures.Sort();
        TimeSpan simulated = TimeSpan.FromTicks(simulatedTicks);
        int count = last - first + 1;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"simulate: {count} scenarios (seeds {first}-{last}), {failures.Count} failed{(failures.Count > 0 ? ": " + string.Join(' ', failures) : string.Empty)}; {simulated.TotalHours:F1} h of virtual time in {clock.Elapsed.TotalSeconds:F0} s"));
        return failures.Count == 0 ? 0 : 1;
    }

    private static bool TryRange(string text, out int first, out int last)
    {
        string[] parts = text.Split('-');
        last = 0;
        return int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out first)
            && int.TryParse(parts[^1], NumberStyles.Integer, CultureInfo.InvariantCulture, out last)
            && parts.Length <= 2 && first <= last;
    }
}
