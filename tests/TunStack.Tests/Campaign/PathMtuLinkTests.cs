// The campaign's narrowed path (perf/Campaign/PathMtuLink): too-big packets answered as a router
// answers them, and TCP's path MTU discovery adapting to it.
using TunStack.Ip;
using TunStack.Lab;
using TunStack.Links;
using TunStack.Perf.Campaign;
using TunStack.Storage;
using TunStack.Tcp;
using TunStack.Wire;

namespace TunStack.Tests.Campaign;

public class PathMtuLinkTests
{
    // Stack A (1) and stack B (2), each with an IPv4 and an IPv6 address on the switch.
    private static readonly InternetAddress A4 = Address(1, v6: false), A6 = Address(1, v6: true);
    private static readonly InternetAddress B4 = Address(2, v6: false), B6 = Address(2, v6: true);

    [Theory]
    [InlineData(false, true, 1300)]
    [InlineData(false, false, 1400)]
    [InlineData(true, true, 1280)]
    [InlineData(true, false, 1350)]
    public void NarrowPath_BulkTransfer_TooBigAnsweredMssLoweredOnceStreamExact(bool v6, bool narrowAtSender, int pathMtu)
    {
        var sim = new Simulation();
        var network = new MemorySwitch();
        var pathA = new PathMtuLink(network.AddPort(new[] { A4, A6 }), LabRouter.DefaultV4, LabRouter.DefaultV6(0));
        var pathB = new PathMtuLink(network.AddPort(new[] { B4, B6 }), LabRouter.DefaultV4, LabRouter.DefaultV6(0));
        NetworkStack a = sim.Add(new NetworkStack(pathA, Options(A4, A6, 1), sim.Clock.Now));
        NetworkStack b = sim.Add(new NetworkStack(pathB, Options(B4, B6, 2), sim.Clock.Now));
        PathMtuLink narrow = narrowAtSender ? pathA : pathB;
        narrow.PathMtu = pathMtu; // from the start: the handshake's MSS (1460 or 1440) does not fit

        var server = new InternetEndpoint(v6 ? B6 : B4, 80);
        TcpAcceptor acceptor = b.ListenTcp(server, 4, out _)!;
        TcpConnection client = a.ConnectTcp(server, out _)!;
        TcpConnection? accepted = null;
        Assert.True(sim.RunUntil(() => acceptor.TryAccept(out accepted), TimeSpan.FromSeconds(5)));

        const int Size = 300_000;
        var sent = new byte[Size];
        StreamPattern.Fill(sent, stream: 7, offset: 0);
        var received = new List<byte>();
        var buffer = new byte[16 * 1024];
        int offered = 0;
        Instant end = sim.Clock.Now + TimeSpan.FromSeconds(60);
        while (received.Count < Size && sim.Clock.Now < end)
        {
            // The applications act whenever the stacks are idle; time moves only when they did nothing.
            Instant next = sim.Settle();
            int before = offered + received.Count;
            offered += Math.Max(0, client.Send(sent.AsSpan(offered), out _));
            int n;
            while ((n = accepted!.Receive(buffer, out _)) > 0)
            {
                received.AddRange(buffer.AsSpan(0, n).ToArray());
            }

            if (offered + received.Count == before)
            {
                sim.AdvanceTo(Instant.Min(next, end));
            }
        }

        Assert.Equal(sent, received.ToArray());
        int headers = (v6 ? 40 : 20) + 20 + (client.TimestampsEnabled ? 12 : 0);
        Assert.Equal(pathMtu - headers, client.Mss);                  // RFC 1191 / RFC 8201: the MSS fits the path
        Assert.Equal(1, a.Counters[Counter.TcpPathMtuReductions]);  // once: nothing too big after it
        Assert.InRange(narrow.TooBigAnswered, 1, 10);               // the initial window's full segments at most
        Assert.Equal(0, (narrowAtSender ? pathB : pathA).TooBigAnswered);
        Assert.Equal(0, network.Unroutable);
    }

    [Fact]
    public void WidePath_AnyPacket_PassedThroughUntouched()
    {
        var network = new MemorySwitch();
        var pathA = new PathMtuLink(network.AddPort(new[] { A4 }), LabRouter.DefaultV4, LabRouter.DefaultV6(0));
        MemorySwitchPort portB = network.AddPort(new[] { B4 });
        var batch = new PacketBatch(2, 1500);
        batch.TryAdd(Packets.Ipv4(A4, B4, IpProtocol.Udp, new byte[1480]));
        pathA.Transmit(batch, Instant.Zero);
        var arrived = new PacketBatch(2, 1500);
        Assert.Equal(1, portB.Receive(arrived, Instant.Zero));
        Assert.Equal(1500, arrived[0].Length);
        Assert.Equal(0, pathA.TooBigAnswered);
    }

    [Fact]
    public void NarrowPath_Ipv4WithAndWithoutDf_FragmentationNeededBackOrFragmentsOnward()
    {
        var network = new MemorySwitch();
        var pathA = new PathMtuLink(network.AddPort(new[] { A4 }), LabRouter.DefaultV4, LabRouter.DefaultV6(0)) { PathMtu = 1300 };
        MemorySwitchPort portB = network.AddPort(new[] { B4 });
        var batch = new PacketBatch(2, 1500);
        batch.TryAdd(Packets.Ipv4(A4, B4, IpProtocol.Udp, new byte[1472], df: true));
        batch.TryAdd(Packets.Ipv4(A4, B4, IpProtocol.Udp, new byte[1472], id: 2));
        pathA.Transmit(batch, Instant.Zero);

        // RFC 791: the packet without DF goes on in two fragments that fit.
        var arrived = new PacketBatch(4, 1500);
        Assert.Equal(2, portB.Receive(arrived, Instant.Zero));
        Assert.True(arrived[0].Length <= 1300 && arrived[1].Length <= 1300);
        Assert.Equal(1, pathA.Fragmented);

        // RFC 1191 4: the one with DF comes back as Fragmentation Needed with the next-hop MTU.
        Assert.Equal(Instant.Zero, pathA.NextDeadline);
        var answers = new PacketBatch(4, 1500);
        Assert.Equal(1, pathA.Receive(answers, Instant.Zero));
        ReadOnlySpan<byte> icmp = answers[0][20..];
        Assert.Equal(Icmpv4Type.DestinationUnreachable, icmp[0]);
        Assert.Equal(Icmpv4Type.CodeFragmentationNeeded, icmp[1]);
        Assert.Equal(1300, (icmp[6] << 8) | icmp[7]);
        Assert.Equal(1, pathA.TooBigAnswered);
    }

    private static InternetAddress Address(int stack, bool v6) => InternetAddress.Parse(v6 ? $"fd98::{stack}" : $"10.98.0.{stack}");

    private static StackOptions Options(InternetAddress v4, InternetAddress v6, int seed)
    {
        var options = new StackOptions { RandomSeed = seed };
        options.Addresses.Add(new IpPrefix(v4, 16));
        options.Addresses.Add(new IpPrefix(v6, 64));
        return options;
    }
}
