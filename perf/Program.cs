// Micro benchmarks of the hot paths (BenchmarkDotNet, MemoryDiagnoser on every class).
// Run:  dotnet run -c Release --project perf -- --filter '*'      (docs/perf.md has the results)
//       dotnet run -c Release --project perf -- memory [PAIRS...]  (memory per idle TCP connection at 1,000 and 100,000 pairs)
using BenchmarkDotNet.Running;

//       dotnet run -c Release --project perf -- goodput [--path SPEC] [--seconds N] [--seeds A-B] [--counters] [docs/cwnd-rtt.svg]   (NewReno and CUBIC over a lossy path; cwnd/RTT plot)
//       dotnet run -c Release --project perf -- simulate --seeds 1-1000   (the simulation campaign: seeded multi-stack scenarios, invariants checked)
//       dotnet run -c Release --project perf -- facade           (sockets facade: RTT percentiles, connection rate)
//       dotnet run -c Release --project perf -- kestrel-kernel ADDRESS PORT   (the /hello app on Kestrel's own sockets, for wrk)
//       dotnet run -c Release --project perf -- churn [CYCLES]       (bytes allocated per connect/request/response/close cycle, client and server side)
//       dotnet run -c Release --project perf -- tcp-workload BULK SEGMENTS    (TcpBenchmarks' operations BULK and SEGMENTS times, for callgrind)
if (args.Length > 0 && args[0] == "memory")
{
    TunStack.Perf.ConnectionMemory.Run(args.Length > 1 ? args[1..].Select(a => int.Parse(a, System.Globalization.CultureInfo.InvariantCulture)).ToList() : [1_000, 100_000]);
    return;
}

if (args.Length > 0 && args[0] == "simulate")
{
    Environment.ExitCode = TunStack.Perf.Campaign.SimulationCampaign.Run(args[1..]);
    return;
}

if (args.Length > 0 && args[0] == "goodput")
{
    TunStack.Perf.LossyPathGoodput.Run(args[1..]);
    return;
}

if (args.Length > 0 && args[0] == "facade")
{
    await TunStack.Perf.FacadeMeasurements.Run();
    return;
}

if (args.Length == 3 && args[0] == "kestrel-kernel")
{
    await TunStack.Perf.KernelKestrel.Run(System.Net.IPAddress.Parse(args[1]), int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture));
    return;
}

if (args.Length > 0 && args[0] == "churn")
{
    TunStack.Perf.ConnectionChurn.Run(warmup: 2_000, cycles: args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20_000);
    return;
}

if (args.Length == 3 && args[0] == "tcp-workload")
{
    // A fixed amount of TcpBenchmarks' work in one process, so that `valgrind --tool=callgrind`
    // counts instructions (repeatable, unlike time on this shared machine). The difference
    // between two counts (say 600 and 300 operations) is the steady state, start-up and JIT excluded.
    var tcp = new TunStack.Perf.TcpBenchmarks();
    tcp.Setup();
    int bulk = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
    int segments = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
    long bytes = 0;
    for (int i = 0; i < bulk; i++)
    {
        bytes += tcp.Bulk256KiB();
    }

    for (int i = 0; i < segments; i++)
    {
        bytes += tcp.SegmentsInOrder();
    }

    Console.WriteLine($"{bytes} bytes");
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(TunStack.Perf.ChecksumBenchmarks).Assembly).Run(args);
