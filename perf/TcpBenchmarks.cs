using BenchmarkDotNet.Attributes;
using TunStack.Links;
using TunStack.Tcp;

namespace TunStack.Perf;

/// <summary>
/// The established fast path: in-order data segments into a connection (with the ACKs it sends)
/// and bulk transfer between two stacks over a MemoryLink on one thread.
/// </summary>
[MemoryDiagnoser]
public class TcpBenchmarks
{
    private const int Segments = 64;
    private ConnectedStacks _stacks = null!;
    private TcpConnection _client = null!;
    private TcpConnection _server = null!;
    private readonly byte[] _chunk = new byte[256 * 1024];
    private readonly byte[] _sink = new byte[256 * 1024];

    [GlobalSetup]
    public void Setup()
    {
        (MemoryLink la, MemoryLink lb) = MemoryLink.CreatePair(1500, 8192);
        _stacks = new ConnectedStacks(la, lb);
        _client = _stacks.Client;
        _server = _stacks.Server;
    }

    private void Poll() => _stacks.Poll();

    /// <summary>64 full segments (1448 B) from client to server, read by the application; ns per segment.</summary>
    [Benchmark(OperationsPerInvoke = Segments)]
    public int SegmentsInOrder()
    {
        int total = 0;
        int sent = _client.Send(_chunk.AsSpan(0, Segments * _client.Mss), out _);
        while (total < sent)
        {
            Poll();
            total += _server.Receive(_sink, out _);
        }

        Poll();
        return total;
    }

    /// <summary>256 KiB through send buffer, segments, link, receive buffer and back out to the application (one thread, both stacks).</summary>
    [Benchmark]
    public int Bulk256KiB()
    {
        int total = 0;
        int offset = 0;
        while (total < _chunk.Length)
        {
            if (offset < _chunk.Length)
            {
                offset += _client.Send(_chunk.AsSpan(offset), out _);
            }

            Poll();
            total += _server.Receive(_sink, out _);
        }

        return total;
    }
}
