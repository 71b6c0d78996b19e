using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Storage;
using TunStack.Udp;

namespace TunStack.Perf;

/// <summary>
/// A UDP datagram from the link to its endpoint's queue and out again: MemoryLink queue, IPv4
/// validation, UDP checksum and demux, queue write, then the application's read. 64 per operation.
/// </summary>
[MemoryDiagnoser]
public class IngressBenchmarks
{
    private const int Batch = 64;
    private NetworkStack _stack = null!;
    private MemoryLink _far = null!;
    private UdpEndpoint _endpoint = null!;
    private PacketBatch _input = null!;
    private readonly byte[] _buffer = new byte[2048];
    private long _tick;

    /// <summary>UDP payload bytes.</summary>
    [Params(64, 1400)]
    public int Payload { get; set; }

    /// <summary>IPv4 or IPv6.</summary>
    [Params(false, true)]
    public bool V6 { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        (MemoryLink near, MemoryLink far) = MemoryLink.CreatePair(1500, 4096);
        _far = far;
        var options = new StackOptions { RandomSeed = 1, UdpReceiveQueueBytes = 1 << 20 };
        options.Addresses.Add(IpPrefix.Parse("10.0.0.2/24"));
        options.Addresses.Add(IpPrefix.Parse("fd00::2/64"));
        _stack = new NetworkStack(near, options, Instant.Zero);
        _endpoint = _stack.OpenUdp(AddressFamily.InterNetworkV6);
        _endpoint.Bind(new InternetEndpoint(InternetAddress.AnyV6, 9));
        byte[] packet = V6 ? PerfPackets.Ipv6Udp(Payload) : PerfPackets.Ipv4Udp(Payload);
        _input = new PacketBatch(Batch, 1500);
        for (int i = 0; i < Batch; i++)
        {
            _input.TryAdd(packet);
        }
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int DatagramToEndpointQueueAndRead()
    {
        _far.Transmit(_input, Instant.Zero);
        _stack.Poll(new Instant(++_tick));
        int total = 0;
        while (_endpoint.TryReceiveFrom(_buffer, out int n, out _, out _))
        {
            total += n;
        }

        return total;
    }
}
