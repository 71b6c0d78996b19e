using System.Diagnostics;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Tcp;

namespace TunStack.Perf;

/// <summary>
/// Memory per established, idle TCP connection at 1,000 and 100,000 connection pairs between two
/// stacks over a MemoryLink: the managed heap (GC.GetTotalMemory after a full collection) and the
/// process's resident set, before, with every connection up, after a sample of them echoed, and
/// after all closed. Run with: dotnet run -c Release --project perf -- memory [PAIRS...]
/// </summary>
public static class ConnectionMemory
{
    // Server ports the client spreads over: the ephemeral range only has to make each 4-tuple unique.
    private const int ServerPorts = 8;

    public static void Run(IReadOnlyList<int> pairCounts)
    {
        foreach (int pairs in pairCounts)
        {
            Measure(pairs);
        }
    }

    private static void Measure(int pairs)
    {
        (MemoryLink la, MemoryLink lb) = MemoryLink.CreatePair(1500, 65536);
        var sim = new Simulation();
        NetworkStack a = sim.Add(new NetworkStack(la, ConnectedStacks.Options("10.0.0.1/16"), sim.Clock.Now));
        NetworkStack b = sim.Add(new NetworkStack(lb, ConnectedStacks.Options("10.0.0.2/16"), sim.Clock.Now));
        var listeners = new List<TcpAcceptor>();
        for (int p = 0; p < ServerPorts; p++)
        {
            listeners.Add(b.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, (ushort)(8000 + p)), 65535, out _)!);
        }

        var clients = new List<TcpConnection>(pairs + 1);
        var servers = new List<TcpConnection>(pairs + 1);

        // Warm up one pair so that one-time costs are not counted.
        Open(sim, a, listeners, clients, servers, 1);
        Echo(sim, clients[0], servers[0]);
        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        long rssBefore = ResidentBytes();

        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var watch = Stopwatch.StartNew();
        Open(sim, a, listeners, clients, servers, pairs);
        watch.Stop();
        long allocatedPerPair = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / pairs;
        long heapUp = GC.GetTotalMemory(forceFullCollection: true);
        long rssUp = ResidentBytes();
        int established = clients.Count(c => c.State == TcpConnectionState.Established) + servers.Count(c => c.State == TcpConnectionState.Established);
        if (established != 2 * (pairs + 1))
        {
            throw new InvalidOperationException($"{established} of {2 * (pairs + 1)} connections established");
        }

        // A sample still echoes: one in a hundred pairs, byte-exact.
        for (int i = 1; i <= pairs; i += 100)
        {
            Echo(sim, clients[i], servers[i]);
        }

        long heapAfterEcho = GC.GetTotalMemory(forceFullCollection: true);
        foreach (TcpConnection c in clients)
        {
            c.Close();
        }

        sim.RunFor(TimeSpan.FromSeconds(2));
        foreach (TcpConnection s in servers)
        {
            s.Close();
        }

        sim.RunFor(TimeSpan.FromSeconds(2));
        int open = a.TcpConnections.Connections + b.TcpConnections.Connections;
        (int _, int timeWait) = a.TcpConnections;
        clients.Clear();
        servers.Clear();
        long heapClosed = GC.GetTotalMemory(forceFullCollection: true);
        long rssClosed = ResidentBytes();

        // What an idle process can give back: a compacting collection that decommits free regions.
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        long rssReturned = ResidentBytes();
        double perConnection = (heapUp - heapBefore) / (2.0 * pairs);
        Console.WriteLine($"{pairs:N0} pairs ({2 * pairs:N0} connections) opened in {watch.Elapsed.TotalSeconds:F1} s, {allocatedPerPair:N0} bytes allocated per pair (both ends, table growth included):");
        Console.WriteLine($"  managed heap {heapBefore / 1048576.0:F1} -> {heapUp / 1048576.0:F1} MiB: {perConnection:F0} bytes per idle connection; after a 1% sample echoed {heapAfterEcho / 1048576.0:F1} MiB");
        Console.WriteLine($"  resident set {rssBefore / 1048576.0:F0} -> {rssUp / 1048576.0:F0} MiB: {(rssUp - rssBefore) / (2.0 * pairs):F0} bytes per connection");
        Console.WriteLine($"  all closed: {open:N0} left in the tables ({timeWait:N0} of the client's in TIME-WAIT); managed heap {heapClosed / 1048576.0:F1} MiB, resident set {rssClosed / 1048576.0:F0} MiB, {rssReturned / 1048576.0:F0} MiB after an aggressive collection");
        Console.WriteLine($"  TCP data memory in use at the end: {a.TcpMemory.InUseBytes + b.TcpMemory.InUseBytes} bytes");
        GC.KeepAlive(listeners);
    }

    private static void Open(Simulation sim, NetworkStack a, List<TcpAcceptor> listeners, List<TcpConnection> clients, List<TcpConnection> servers, int count)
    {
        // In batches, so that no queue of the link overflows.
        for (int done = 0; done < count;)
        {
            int batch = Math.Min(5_000, count - done);
            for (int i = 0; i < batch; i++)
            {
                int port = 8000 + ((clients.Count + i) % ServerPorts);
                clients.Add(a.ConnectTcp(new InternetEndpoint(InternetAddress.Parse("10.0.0.2"), (ushort)port), out _)
                    ?? throw new InvalidOperationException($"connect {clients.Count + i} refused"));
            }

            done += batch;
            sim.RunFor(TimeSpan.FromMilliseconds(50));
            foreach (TcpAcceptor listener in listeners)
            {
                while (listener.TryAccept(out TcpConnection? c))
                {
                    servers.Add(c!);
                }
            }
        }

        // Accepted connections come per listener; pair them with their clients by endpoint.
        var byTuple = servers.ToDictionary(s => (s.Tuple.Remote, s.Tuple.Local.Port));
        servers.Clear();
        servers.AddRange(clients.Select(c => byTuple[(c.Tuple.Local, c.Tuple.Remote.Port)]));
    }

    private static void Echo(Simulation sim, TcpConnection client, TcpConnection server)
    {
        byte[] data = "ping through an idle connection"u8.ToArray();
        var buffer = new byte[64];
        client.Send(data, out _);
        sim.RunFor(TimeSpan.FromMilliseconds(10));
        int n = server.Receive(buffer, out _);
        server.Send(buffer.AsSpan(0, n), out _);
        sim.RunFor(TimeSpan.FromMilliseconds(10));
        n = client.Receive(buffer, out _);
        if (!buffer.AsSpan(0, n).SequenceEqual(data))
        {
            throw new InvalidOperationException("echo through an idle connection differs");
        }
    }

    private static long ResidentBytes()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }
}
