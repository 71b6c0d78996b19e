using TunStack.Ip;
using TunStack.Links;
using TunStack.Tcp;

namespace TunStack.Perf;

/// <summary>
/// Memory per established TCP connection: 1,000 connection pairs between two stacks over a
/// MemoryLink, the managed heap measured before and after (GC.GetTotalMemory after a full
/// collection). Run with: dotnet run -c Release --project perf -- memory
/// </summary>
public static class ConnectionMemory
{
    public static void Run()
    {
        foreach ((string label, int buffer) in new[] { ("default buffers (256 KiB send + 256 KiB receive)", 256 * 1024), ("buffers excluded (1 byte each)", 1) })
        {
            double perConnection = Measure(buffer, 1000);
            Console.WriteLine($"{label}: {perConnection:F0} bytes per connection");
        }
    }

    private static double Measure(int bufferSize, int pairs)
    {
        (MemoryLink la, MemoryLink lb) = MemoryLink.CreatePair(1500, 65536);
        var sim = new Simulation();
        NetworkStack a = sim.Add(new NetworkStack(la, Options("10.0.0.1/16", bufferSize), sim.Clock.Now));
        NetworkStack b = sim.Add(new NetworkStack(lb, Options("10.0.0.2/16", bufferSize), sim.Clock.Now));
        TcpAcceptor listener = b.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 80), 4096, out _)!;
        var keep = new List<TcpConnection>();
        // Warm up one pair so that one-time costs are not counted.
        keep.Add(a.ConnectTcp(new InternetEndpoint(InternetAddress.Parse("10.0.0.2"), 80), out _)!);
        sim.RunFor(TimeSpan.FromSeconds(1));
        Drain(listener, keep);

        long before = GC.GetTotalMemory(forceFullCollection: true);
        for (int i = 0; i < pairs; i++)
        {
            keep.Add(a.ConnectTcp(new InternetEndpoint(InternetAddress.Parse("10.0.0.2"), 80), out _)!);
        }

        sim.RunFor(TimeSpan.FromSeconds(5));
        Drain(listener, keep);
        long after = GC.GetTotalMemory(forceFullCollection: true);
        if (keep.Count(c => c.State == TcpConnectionState.Established) != 2 * pairs + 2)
        {
            throw new InvalidOperationException("not every connection was established");
        }

        GC.KeepAlive(keep);
        return (after - before) / (2.0 * pairs);
    }

    private static void Drain(TcpAcceptor listener, List<TcpConnection> keep)
    {
        while (listener.TryAccept(out TcpConnection? c))
        {
            keep.Add(c!);
        }
    }

    private static StackOptions Options(string address, int buffer)
    {
        var o = new StackOptions { RandomSeed = 1 };
        o.Addresses.Add(IpPrefix.Parse(address));
        o.Tcp.SendBufferSize = buffer;
        o.Tcp.ReceiveBufferSize = buffer;
        return o;
    }
}
