using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Udp;

namespace TunStack.Cli;

/// <summary>
/// <c>tunstack demo</c>: two stacks in one process joined by a MemoryLink with a simulated 5 ms
/// one-way delay, on a virtual clock. Needs no privileges. Pings each way (IPv4 and IPv6),
/// exchanges UDP datagrams (one fragmented), provokes a Port Unreachable, prints the counters.
/// </summary>
public static class DemoCommand
{
    private static readonly InternetAddress s_a4 = InternetAddress.Parse("10.99.0.1"), s_b4 = InternetAddress.Parse("10.99.0.2");
    private static readonly InternetAddress s_a6 = InternetAddress.Parse("fd99::1"), s_b6 = InternetAddress.Parse("fd99::2");

    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output)
    {
        var capture = new Option<FileInfo?>("--capture") { Description = "Write the conversation as pcapng (open with tshark -r FILE or Wireshark)." };
        var mtu = new Option<int>("--mtu") { Description = "MTU of the wire between the two stacks (1280-65535).", DefaultValueFactory = _ => 1500 }.Number(1280, 65535);
        var count = new Option<int>("--count", "-c") { Description = "Echo requests per address (1-100).", DefaultValueFactory = _ => 3 }.Number(1, 100);
        var command = new Command("demo", "Two stacks in one process over an in-memory wire: ping, UDP echo, counters. No privileges needed.") { capture, mtu, count };
        command.SetAction(result => Run(output, result.GetValue(capture), result.GetValue(mtu), result.GetValue(count)));
        return command;
    }

    /// <summary>Runs the demo; returns the exit code (0 when every exchange worked).</summary>
    public static int Run(TextWriter output, FileInfo? captureFile, int mtu, int count)
    {
        ArgumentNullException.ThrowIfNull(output);
        (MemoryLink wireA, MemoryLink wireB) = MemoryLink.CreatePair(mtu);
        var delay = new Impairment { Delay = TimeSpan.FromMilliseconds(5) };
        ILink linkA = new ImpairedLink(wireA, Impairment.None, delay, seed: 1);
        ILink linkB = new ImpairedLink(wireB, Impairment.None, delay, seed: 2);
        CaptureLink? capture = null;
        if (captureFile is not null)
        {
            try
            {
                capture = new CaptureLink(linkA, new PcapngWriter(captureFile.Create(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000, "demo-a"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"tunstack: cannot write capture {captureFile.FullName}: {e.Message}");
                return 1;
            }

            linkA = capture;
        }

        var sim = new Simulation();
        NetworkStack a = sim.Add(new NetworkStack(linkA, Options("10.99.0.1/24", "fd99::1/64", 1), sim.Clock.Now));
        NetworkStack b = sim.Add(new NetworkStack(linkB, Options("10.99.0.2/24", "fd99::2/64", 2), sim.Clock.Now));
        output.WriteLine($"stack A: {string.Join(", ", a.Addresses)}    stack B: {string.Join(", ", b.Addresses)}");
        output.WriteLine($"wire: MemoryLink, MTU {mtu}, 5 ms each way, virtual clock");

        bool ok = Ping(output, sim, a, "A", s_b4, count, 0x7001) & Ping(output, sim, a, "A", s_b6, count, 0x7002)
            & Ping(output, sim, b, "B", s_a4, count, 0x7003) & Ping(output, sim, b, "B", s_a6, count, 0x7004);
        ok &= UdpEcho(output, sim, a, b);

        capture?.Dispose();
        output.WriteLine();
        PrintCounters(output, "A", a);
        PrintCounters(output, "B", b);
        if (captureFile is not null)
        {
            output.WriteLine($"capture: {captureFile.FullName} ({capture!.Writer.PacketCount} packets; read it with: tshark -r {captureFile.FullName})");
        }

        output.WriteLine(ok ? "demo: every exchange worked" : "demo: some exchanges failed");
        return ok ? 0 : 1;
    }

    private static StackOptions Options(string v4, string v6, int seed)
    {
        var o = new StackOptions { RandomSeed = seed };
        o.Addresses.Add(IpPrefix.Parse(v4));
        o.Addresses.Add(IpPrefix.Parse(v6));
        return o;
    }

    private static bool Ping(TextWriter output, Simulation sim, NetworkStack from, string name, InternetAddress target, int count, ushort identifier)
    {
        IcmpEchoEndpoint echo = from.OpenEcho(identifier)!;
        var data = new byte[56];
        var reply = new byte[64];
        int received = 0;
        output.WriteLine($"{name}: PING {target} {data.Length} data bytes");
        for (ushort seq = 1; seq <= count; seq++)
        {
            Instant sent = sim.Clock.Now;
            echo.SendRequest(target, seq, data);
            if (sim.RunUntil(() => echo.PendingReplies > 0, TimeSpan.FromSeconds(1)) && echo.TryReceiveReply(reply, out InternetAddress who, out ushort got, out int length))
            {
                received++;
                double rtt = (sim.Clock.Now - sent).TotalMilliseconds;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: {length + 8} bytes from {who}: icmp_seq={got} time={rtt:F1} ms"));
            }
            else
            {
                output.WriteLine($"{name}: no reply for icmp_seq={seq}");
            }
        }

        echo.Close();
        output.WriteLine($"{name}: --- {target} ping statistics --- {count} transmitted, {received} received, {100 * (count - received) / count}% packet loss");
        return received == count;
    }

    private static bool UdpEcho(TextWriter output, Simulation sim, NetworkStack client, NetworkStack server)
    {
        UdpEndpoint echo = server.OpenUdp(AddressFamily.InterNetworkV6);
        echo.Bind(new InternetEndpoint(InternetAddress.AnyV6, 7));
        var buffer = new byte[65536];
        echo.Readable = () =>
        {
            while (echo.TryReceiveFrom(buffer, out int n, out _, out InternetEndpoint from))
            {
                echo.SendTo(buffer.AsSpan(0, n), from);
            }
        };
        output.WriteLine("B: UDP echo service (RFC 862) on port 7, IPv4 and IPv6");

        bool ok = true;
        UdpEndpoint socket = client.OpenUdp(AddressFamily.InterNetworkV6);
        foreach ((InternetAddress to, int size) in new[] { (s_b4, 32), (s_b6, 32), (s_b4, 8000), (s_b6, 8000) })
        {
            var payload = new byte[size];
            new Random(size).NextBytes(payload);
            socket.SendTo(payload, new InternetEndpoint(to, 7));
            var back = new byte[65536];
            bool got = sim.RunUntil(() => socket.QueuedDatagrams > 0, TimeSpan.FromSeconds(1));
            got &= socket.TryReceiveFrom(back, out int n, out _, out InternetEndpoint from);
            bool same = got && back.AsSpan(0, n).SequenceEqual(payload);
            ok &= same;
            output.WriteLine($"A: UDP {size} bytes to {new InternetEndpoint(to, 7)} -> {(same ? $"{n} bytes back from {from}, identical" : "no correct reply")}{(size > 1500 ? " (fragmented and reassembled)" : string.Empty)}");
        }

        UdpEndpoint probe = client.OpenUdp();
        probe.Connect(new InternetEndpoint(s_b4, 9999));
        probe.SendTo("anyone there?"u8);
        bool refused = sim.RunUntil(() => probe.HasPendingError, TimeSpan.FromSeconds(1)) && probe.TakePendingError() == StackError.ConnectionRefused;
        output.WriteLine($"A: UDP to {s_b4}:9999 (closed) -> {(refused ? "ICMP port unreachable: connection refused" : "no error reported")}");
        return ok && refused;
    }

    private static void PrintCounters(TextWriter output, string name, NetworkStack stack)
    {
        output.WriteLine($"{name} counters:");
        foreach ((string counter, long value) in stack.Counters.Snapshot())
        {
            output.WriteLine($"  {counter,-32} {value}");
        }
    }
}
