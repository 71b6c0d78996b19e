// docs/examples/TwoStacksOnAVirtualClock.cs: two stacks joined by an in-memory wire and driven on
// a virtual clock. A pings B, a UDP client on A sends a datagram to a server on B, and B's
// counters are printed. Nothing sleeps: a 30 s timeout would take microseconds.
//   dotnet run --project docs/examples -- two-stacks
using System;
using System.IO;
using System.Text;
using TunStack;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Udp;

namespace TunStack.Examples;

public static class TwoStacksOnAVirtualClock
{
    public static void Run(TextWriter output)
    {
        (MemoryLink wireA, MemoryLink wireB) = MemoryLink.CreatePair(mtu: 1500);
        var sim = new Simulation();
        var optionsA = new StackOptions();
        optionsA.Addresses.Add(IpPrefix.Parse("10.0.0.1/24"));
        var optionsB = new StackOptions();
        optionsB.Addresses.Add(IpPrefix.Parse("10.0.0.2/24"));
        NetworkStack a = sim.Add(new NetworkStack(wireA, optionsA));
        NetworkStack b = sim.Add(new NetworkStack(wireB, optionsB));

        // Ping B from A.
        IcmpEchoEndpoint ping = a.OpenEcho(identifier: 1)!;
        ping.SendRequest(InternetAddress.Parse("10.0.0.2"), sequence: 1, "hello"u8);
        sim.RunUntil(() => ping.PendingReplies > 0, TimeSpan.FromSeconds(1));
        ping.TryReceiveReply(new byte[64], out InternetAddress from, out ushort seq, out int length);
        output.WriteLine($"echo reply from {from}: sequence {seq}, {length} bytes");

        // A UDP server on B, a client on A.
        UdpEndpoint server = b.OpenUdp();
        server.Bind(new InternetEndpoint(InternetAddress.AnyV4, 5353));
        UdpEndpoint client = a.OpenUdp();
        client.SendTo("question"u8, new InternetEndpoint(InternetAddress.Parse("10.0.0.2"), 5353));
        sim.RunUntil(() => server.QueuedDatagrams > 0, TimeSpan.FromSeconds(1));
        var buffer = new byte[2048];
        server.TryReceiveFrom(buffer, out int copied, out int datagramLength, out InternetEndpoint sender);
        output.WriteLine($"B received \"{Encoding.ASCII.GetString(buffer, 0, copied)}\" ({datagramLength} bytes) from {sender}");

        // What B counted, by name.
        foreach ((string name, long value) in b.Counters.Snapshot())
        {
            output.WriteLine($"{name} {value}");
        }
    }
}
