// docs/examples/CustomCongestionControl.cs: registers DelayAimdCongestionControl on a stack by
// name, makes it that stack's default, and sends 2 MiB through a 10 Mbit/s bottleneck with a
// 200-packet buffer and 20 ms of round trip, on a virtual clock; then prints what the connection
// reports (ss -i's fields).
//   dotnet run --project docs/examples -- custom-congestion
using System;
using System.IO;
using TunStack;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Tcp;

namespace TunStack.Examples;

public static class CustomCongestionControl
{
    public static void Run(TextWriter output)
    {
        var sim = new Simulation();
        (MemoryLink wireA, MemoryLink wireB) = MemoryLink.CreatePair();
        var bottleneck = new Impairment { RateBitsPerSecond = 10_000_000, Delay = TimeSpan.FromMilliseconds(10), QueueLimit = 200 };
        var back = new Impairment { Delay = TimeSpan.FromMilliseconds(10) };
        var optionsA = new StackOptions();
        optionsA.Addresses.Add(IpPrefix.Parse("10.0.0.1/24"));

        // Registered by name on this stack, and its default; a connection can also choose it
        // (TcpConnection.CongestionControlName, or TCP_CONGESTION on a StackSocket).
        optionsA.Tcp.CongestionControls.Register(DelayAimdCongestionControl.RegisteredName, mss => new DelayAimdCongestionControl(mss));
        optionsA.Tcp.CongestionControlName = DelayAimdCongestionControl.RegisteredName;

        var optionsB = new StackOptions();
        optionsB.Addresses.Add(IpPrefix.Parse("10.0.0.2/24"));
        NetworkStack a = sim.Add(new NetworkStack(new ImpairedLink(wireA, back, bottleneck, seed: 1), optionsA));
        NetworkStack b = sim.Add(new NetworkStack(wireB, optionsB));

        TcpAcceptor listener = b.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 9), backlog: 4, out _)!;
        TcpConnection sender = a.ConnectTcp(new InternetEndpoint(InternetAddress.Parse("10.0.0.2"), 9), out _)!;
        sim.RunUntil(() => listener.PendingCount > 0, TimeSpan.FromSeconds(5));
        listener.TryAccept(out TcpConnection? receiver);

        var data = new byte[2 * 1024 * 1024];
        var buffer = new byte[65536];
        int sent = 0, received = 0;
        Instant start = sim.Clock.Now;
        while (received < data.Length && sim.Clock.Now - start < TimeSpan.FromMinutes(1))
        {
            sent += sender.Send(data.AsSpan(sent), out _);
            int n;
            while ((n = receiver!.Receive(buffer, out _)) > 0)
            {
                received += n;
            }

            Instant next = sim.Settle();
            if (next > sim.Clock.Now && receiver.Available == 0)
            {
                sim.AdvanceTo(next);
            }
        }

        TcpConnectionInfo info = sender.GetInfo();
        output.WriteLine($"moved {received} bytes with {info.AlgorithmName} in {(sim.Clock.Now - start).TotalSeconds:0.00} s");
        output.WriteLine(info);
    }
}
