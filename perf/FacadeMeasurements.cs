using System.Net;
using System.Net.Sockets;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Sockets;

namespace TunStack.Perf;

/// <summary>
/// Latency distribution and connection rate through the facade, measured one operation at a
/// time (BenchmarkDotNet reports means; these need every sample). Run with:
/// dotnet run -c Release --project perf -- facade
/// </summary>
public static class FacadeMeasurements
{
    public static readonly IPAddress Address = IPAddress.Parse("10.0.0.1");

    public static StackHost StartHost()
    {
        var options = new StackOptions { RandomSeed = 1 };
        options.Addresses.Add(IpPrefix.Parse("10.0.0.1/24"));
        (MemoryLink link, _) = MemoryLink.CreatePair(1500, 8192);
        return StackHost.Start(link, options, name: "perf-facade");
    }

    public static Task Echo(StackSocket server) => Task.Run(async () =>
    {
        var buffer = new byte[4096];
        int n;
        while ((n = await server.ReceiveAsync(buffer)) > 0)
        {
            await server.SendAsync(buffer.AsMemory(0, n));
        }
    });

    public static async Task Run()
    {
        using StackHost host = StartHost();
        using StackSocket listener = host.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(Address, 7));
        listener.Listen(4096);
        var at = new IPEndPoint(Address, 7);

        using StackSocket client = host.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(at);
        using StackSocket server = await listener.AcceptAsync();
        client.NoDelay = true;
        server.NoDelay = true;
        Task echo = Echo(server);

        var ping = new byte[64];
        var pong = new byte[64];
        const int warmup = 20_000, samples = 200_000;
        long[] ticks = new long[samples];
        for (int i = 0; i < warmup; i++)
        {
            await client.SendAsync(ping);
            await client.ReceiveAsync(pong, StackSocketFlags.WaitAll);
        }

        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < samples; i++)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            await client.SendAsync(ping);
            await client.ReceiveAsync(pong, StackSocketFlags.WaitAll);
            ticks[i] = System.Diagnostics.Stopwatch.GetTimestamp() - start;
        }

        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        Array.Sort(ticks);
        double Us(long t) => t * 1_000_000.0 / System.Diagnostics.Stopwatch.Frequency;
        Console.WriteLine($"async echo round trip, 64 B, {samples:N0} samples: p50 {Us(ticks[samples / 2]):F1} µs, p99 {Us(ticks[samples * 99 / 100]):F1} µs, p99.9 {Us(ticks[samples * 999 / 1000]):F1} µs; allocated {allocated / (double)samples:F2} B per round trip (all threads)");

        // Connection rate: ConnectAsync + AcceptAsync + close (client RST), for 3 s.
        for (int i = 0; i < 2000; i++)
        {
            await OneConnection(host, listener, at);
        }

        allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        int connections = 0;
        while (watch.Elapsed < TimeSpan.FromSeconds(3))
        {
            await OneConnection(host, listener, at);
            connections++;
        }

        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        Console.WriteLine($"ConnectAsync + AcceptAsync + close: {connections / watch.Elapsed.TotalSeconds:F0} connections/s ({connections:N0} in {watch.Elapsed.TotalSeconds:F1} s); allocated {allocated / (double)connections:F0} B per connection (sockets, connection objects and their buffers)");
        client.Shutdown(SocketShutdown.Send);
        await echo;
    }

    private static async Task OneConnection(StackHost host, StackSocket listener, IPEndPoint at)
    {
        using StackSocket c = host.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        ValueTask<StackSocket> accepting = listener.AcceptAsync();
        await c.ConnectAsync(at);
        using StackSocket a = await accepting;
        c.LingerState = new LingerOption(true, 0);
    }
}
