using BenchmarkDotNet.Attributes;
using TunStack.Links;
using TunStack.Tcp;

namespace TunStack.Perf;

/// <summary>
/// The established fast path with TSO on the link (a MemoryLink with segmentation offloads, like
/// a veth pair): the sender hands the link super-segments of 45 MSS (65,160 bytes), the receiver
/// takes each whole, as from a TUN whose kernel side coalesced them.
/// </summary>
[MemoryDiagnoser]
public class TcpOffloadBenchmarks
{
    private const int SuperSegments = 16;
    private const int PiecesPerSuperSegment = 45;
    private ConnectedStacks _stacks = null!;
    private TcpConnection _client = null!;
    private TcpConnection _server = null!;
    private readonly byte[] _chunk = new byte[4 * 1024 * 1024];
    private readonly byte[] _sink = new byte[4 * 1024 * 1024];

    [GlobalSetup]
    public void Setup()
    {
        (MemoryLink la, MemoryLink lb) = MemoryLink.CreatePairWithOffloads(
            LinkOffloads.TransportChecksum | LinkOffloads.TcpSegmentationV4 | LinkOffloads.TcpSegmentationV6, 1500, 256);
        _stacks = new ConnectedStacks(la, lb, sendBufferSize: 4 * 1024 * 1024, receiveBufferSize: 4 * 1024 * 1024);
        _client = _stacks.Client;
        _server = _stacks.Server;

        // Open cwnd past 45 MSS per flight before measuring.
        for (int i = 0; i < 20; i++)
        {
            SuperSegmentsInOrder();
        }
    }

    private void Poll() => _stacks.Poll();

    /// <summary>16 super-segments of 45 MSS (65,160 B) from client to server, read by the application; time per super-segment.</summary>
    [Benchmark(OperationsPerInvoke = SuperSegments)]
    public int SuperSegmentsInOrder()
    {
        int total = 0;
        int sent = _client.Send(_chunk.AsSpan(0, SuperSegments * PiecesPerSuperSegment * _client.Mss), out _);
        while (total < sent)
        {
            Poll();
            total += _server.Receive(_sink, out _);
        }

        Poll();
        return total;
    }
}
