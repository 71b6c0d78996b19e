// docs/examples/OffloadsOnAVirtualClock.cs: two stacks on an in-memory wire that offers the
// offloads a TUN with a virtio-net header does (partial checksums, TCP segmentation). A sends
// 4 MiB to B: A hands the wire 64 KiB super-segments, B takes each whole, and the counters say so.
//   dotnet run --project docs/examples -- offloads
using System;
using System.IO;
using TunStack;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Tcp;

namespace TunStack.Examples;

public static class OffloadsOnAVirtualClock
{
    public static void Run(TextWriter output)
    {
        const LinkOffloads offloads = LinkOffloads.TransportChecksum | LinkOffloads.TcpSegmentationV4 | LinkOffloads.TcpSegmentationV6;
        (MemoryLink wireA, MemoryLink wireB) = MemoryLink.CreatePairWithOffloads(offloads);
        var sim = new Simulation();
        var optionsA = new StackOptions();
        optionsA.Addresses.Add(IpPrefix.Parse("10.0.0.1/24"));
        var optionsB = new StackOptions();
        optionsB.Addresses.Add(IpPrefix.Parse("10.0.0.2/24"));
        NetworkStack a = sim.Add(new NetworkStack(wireA, optionsA));
        NetworkStack b = sim.Add(new NetworkStack(wireB, optionsB));

        TcpAcceptor listener = b.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 9), backlog: 4, out _)!;
        TcpConnection sender = a.ConnectTcp(new InternetEndpoint(InternetAddress.Parse("10.0.0.2"), 9), out _)!;
        sim.RunUntil(() => listener.PendingCount > 0, TimeSpan.FromSeconds(5));
        listener.TryAccept(out TcpConnection? receiver);

        var data = new byte[4 * 1024 * 1024];
        var sink = new byte[256 * 1024];
        int sent = 0, received = 0;
        while (received < data.Length)
        {
            sent += sender.Send(data.AsSpan(sent), out _);
            sim.Settle();
            received += receiver!.Receive(sink, out _);
            sim.AdvanceTo(sim.Clock.Now + TimeSpan.FromMilliseconds(1));
        }

        output.WriteLine($"{received} bytes from A to B; MSS {sender.Mss}");
        output.WriteLine($"A handed the wire {a.Counters[Counter.LinkSuperSegmentsSent]} super-segments in {a.Counters[Counter.LinkSent]} packets");
        output.WriteLine($"B took {b.Counters[Counter.LinkSuperSegmentsReceived]} super-segments whole, in {b.Counters[Counter.TcpReceived]} TCP segments, and answered with {b.Counters[Counter.TcpSent]}");
    }
}
