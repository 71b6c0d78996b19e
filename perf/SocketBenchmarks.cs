using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using TunStack.Sockets;

namespace TunStack.Perf;

/// <summary>
/// The sockets facade on one StackHost over a MemoryLink (the sockets talk through the stack's
/// own address, so every byte crosses the whole stack twice): a 64-byte async echo round trip
/// (SendAsync + ReceiveAsync against an echo loop on another thread) and a connection
/// (ConnectAsync + AcceptAsync + close with RST, so that ports are not held in TIME-WAIT).
/// </summary>
[MemoryDiagnoser]
public class SocketBenchmarks
{
    private StackHost _host = null!;
    private StackSocket _listener = null!;
    private StackSocket _client = null!;
    private StackSocket _server = null!;
    private Task _echo = null!;
    private readonly byte[] _ping = new byte[64];
    private readonly byte[] _pong = new byte[64];
    private IPEndPoint _connectTo = null!;

    [GlobalSetup]
    public void Setup()
    {
        _host = FacadeMeasurements.StartHost();
        _listener = _host.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(FacadeMeasurements.Address, 7));
        _listener.Listen(4096);
        _connectTo = new IPEndPoint(FacadeMeasurements.Address, 7);
        _client = _host.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _client.Connect(_connectTo);
        _server = _listener.Accept();
        _client.NoDelay = true;
        _server.NoDelay = true;
        _echo = FacadeMeasurements.Echo(_server);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        _echo.Wait(TimeSpan.FromSeconds(10));
        _server.Dispose();
        _listener.Dispose();
        _host.Dispose();
    }

    /// <summary>
    /// 64-byte round trips through the facade and the stack, both ways; reported per round trip
    /// (64 per invocation, so the harness's own Task is spread thin).
    /// </summary>
    [Benchmark(OperationsPerInvoke = RoundTrips)]
    public async Task<int> AsyncEchoRoundTrip64()
    {
        int total = 0;
        for (int i = 0; i < RoundTrips; i++)
        {
            await _client.SendAsync(_ping);
            total += await _client.ReceiveAsync(_pong, StackSocketFlags.WaitAll);
        }

        return total;
    }

    private const int RoundTrips = 64;

    /// <summary>ConnectAsync + AcceptAsync, then both closed (the client with RST).</summary>
    [Benchmark]
    public async Task ConnectAccept()
    {
        using StackSocket client = _host.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        ValueTask<StackSocket> accepting = _listener.AcceptAsync();
        await client.ConnectAsync(_connectTo);
        using StackSocket accepted = await accepting;
        client.LingerState = new LingerOption(true, 0);
    }
}
