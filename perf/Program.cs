// Micro benchmarks of the hot paths (BenchmarkDotNet, MemoryDiagnoser on every class).
// Run:  dotnet run -c Release --project perf -- --filter '*'      (docs/perf.md has the results)
using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(TunStack.Perf.ChecksumBenchmarks).Assembly).Run(args);
