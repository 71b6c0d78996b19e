// Micro benchmarks of the hot paths (BenchmarkDotNet, MemoryDiagnoser on every class).
// Run:  dotnet run -c Release --project perf -- --filter '*'      (docs/perf.md has the results)
//       dotnet run -c Release --project perf -- memory           (memory per TCP connection)
using BenchmarkDotNet.Running;

if (args.Length > 0 && args[0] == "memory")
{
    TunStack.Perf.ConnectionMemory.Run();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(TunStack.Perf.ChecksumBenchmarks).Assembly).Run(args);
