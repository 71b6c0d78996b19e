using BenchmarkDotNet.Attributes;
using TunStack.Ip;
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
    private NetworkStack _a = null!;
    private NetworkStack _b = null!;
    private TcpConnection _client = null!;
    private TcpConnection _server = null!;
    private readonly byte[] _chunk = new byte[256 * 1024];
    private readonly byte[] _sink = new byte[256 * 1024];
    private long _tick;

    [GlobalSetup]
    public void Setup()
    {
        (MemoryLink la, MemoryLink lb) = MemoryLink.CreatePair(1500, 8192);
        _a = new NetworkStack(la, Options("10.0.0.1/24"), Instant.Zero);
        _b = new NetworkStack(lb, Options("10.0.0.2/24"), Instant.Zero);
        TcpAcceptor listener = _b.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 5001), 8, out _)!;
        _client = _a.ConnectTcp(new InternetEndpoint(InternetAddress.Parse("10.0.0.2"), 5001), out _)!;
        for (int i = 0; i < 10; i++)
        {
            Poll();
        }

        listener.TryAccept(out TcpConnection? server);
        _server = server!;
        _client.NoDelay = true;
    }

    private static StackOptions Options(string address)
    {
        var o = new StackOptions { RandomSeed = 1 };
        o.Addresses.Add(IpPrefix.Parse(address));
        return o;
    }

    private void Poll()
    {
        var now = new Instant(++_tick * 10);
        _a.Poll(now);
        _b.Poll(now);
    }

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
