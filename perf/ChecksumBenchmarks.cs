using BenchmarkDotNet.Attributes;
using TunStack.Wire;

namespace TunStack.Perf;

/// <summary>Internet checksum: the vectorized sum against the plain scalar loop, side by side.</summary>
[MemoryDiagnoser]
public class ChecksumBenchmarks
{
    private byte[] _data = Array.Empty<byte>();

    /// <summary>Buffer sizes: a small packet, an MTU-sized packet, a 64 KiB super-segment.</summary>
    [Params(64, 1500, 65536)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[Size];
        new Random(1).NextBytes(_data);
    }

    [Benchmark(Baseline = true)]
    public ushort Scalar() => InternetChecksum.ComputeScalar(_data);

    [Benchmark]
    public ushort Vectorized() => InternetChecksum.Compute(_data);
}
