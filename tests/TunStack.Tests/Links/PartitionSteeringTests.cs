using System.Security.Cryptography;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Tcp;
using TunStack.Udp;

namespace TunStack.Tests.Links;

/// <summary>
/// One stack split into partitions (one per TUN queue): which partition owns a packet, and the
/// hand-off of a packet that arrived on another partition's queue, over an in-memory multi-queue wire.
/// </summary>
public class PartitionSteeringTests
{
    private static readonly InternetAddress Peer = PartitionedStacks.Peer, Ours = PartitionedStacks.Ours;

    // Runs the application's work (which may queue packets) between settles, in steps of at most
    // 10 ms of virtual time, until it says it is done or the timeout passes.
    private static bool Step(Simulation simulation, Func<bool> work, TimeSpan timeout)
    {
        Instant end = simulation.Clock.Now + timeout;
        while (simulation.Clock.Now < end)
        {
            bool done = work();
            Instant next = simulation.Settle();
            if (done)
            {
                return true;
            }

            simulation.AdvanceTo(Instant.Min(Instant.Min(next, simulation.Clock.Now + TimeSpan.FromMilliseconds(10)), end));
        }

        return work();
    }

    [Fact]
    public void EphemeralRange_FourPartitions_ConsecutiveSlicesCoverTheRangeAndOwnTheirPorts()
    {
        var steering = new PartitionSteering(4, 32768, 60999, 1500);
        int next = 32768;
        for (int p = 0; p < 4; p++)
        {
            (ushort first, ushort last) = steering.EphemeralRange(p);
            Assert.Equal(next, first);
            next = last + 1;
            foreach (ushort port in new[] { first, last })
            {
                byte[] reply = Packets.Ipv4(Peer, Ours, 17, Packets.Udp(Peer, Ours, 53, port, [1]));
                Assert.Equal(p, steering.OwnerOf(reply, arrivedOn: (p + 1) % 4));
            }
        }

        Assert.Equal(61000, next);
    }

    [Fact]
    public void OwnerOf_FragmentsOfOneDatagramOnAnyQueue_AllOwnedByOnePartition()
    {
        var steering = new PartitionSteering(4, 32768, 60999, 1500);
        byte[] udp = Packets.Udp(Peer, Ours, 5000, 7, new byte[3000]);
        int[] v4 = Packets.FragmentV4(Peer, Ours, 17, udp, 1200, id: 77).Select(f => steering.OwnerOf(f, 0)).ToArray();
        int[] v6 = Packets.FragmentV6(InternetAddress.Parse("fd60::1"), InternetAddress.Parse("fd60::2"), 17, udp, 1200, id: 77).Select(f => steering.OwnerOf(f, 0)).ToArray();
        Assert.Equal(3, v4.Length);
        Assert.Single(v4.Distinct());
        Assert.Single(v6.Distinct());
    }

    [Fact]
    public void OwnerOf_IcmpErrorQuotingOurSegment_OwnedByThePartitionThatSentIt()
    {
        var steering = new PartitionSteering(4, 32768, 60999, 1500);
        (ushort first, _) = steering.EphemeralRange(2);
        byte[] ours = Packets.Ipv4(Ours, Peer, 17, Packets.Udp(Ours, Peer, first, 9, [1, 2, 3]));
        byte[] unreachable = Packets.Ipv4(Peer, Ours, 1, Packets.Icmp(Peer, Ours, 3, 3, 0, ours));
        Assert.Equal(2, steering.OwnerOf(unreachable, arrivedOn: 0));
        Assert.Equal(1, steering.OwnerOf([0x45, 0], arrivedOn: 1)); // unreadable: stays where it arrived
    }

    [Fact]
    public void TwoPartitions_KernelWritesEverythingOnQueue0_EachConnectionLivesOnOnePartitionAndEchoesExactly()
    {
        var net = new PartitionedStacks(2);
        TcpAcceptor[] listeners = net.Partitions.Select(p => p.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 7), 64, out _)!).ToArray();
        var clients = new TcpConnection[32];
        for (int i = 0; i < clients.Length; i++)
        {
            clients[i] = net.PeerStack.ConnectTcp(new InternetEndpoint(Ours, 7), out StackError error)!;
            Assert.Equal(StackError.None, error);
        }

        var served = new List<TcpConnection>();
        var data = RandomNumberGenerator.GetBytes(20_000);
        var received = clients.ToDictionary(c => c, _ => new MemoryStream());
        var buffer = new byte[65536];
        bool sent = false;
        Assert.True(Step(net.Simulation, () =>
        {
            foreach (TcpAcceptor listener in listeners)
            {
                while (listener.TryAccept(out TcpConnection? accepted))
                {
                    served.Add(accepted!);
                }
            }

            if (!sent && clients.All(c => c.State == TcpConnectionState.Established))
            {
                sent = true;
                Assert.All(clients, c => Assert.Equal(data.Length, c.Send(data, out _)));
            }

            foreach (TcpConnection server in served)
            {
                int n;
                while ((n = server.Receive(buffer, out _)) > 0)
                {
                    Assert.Equal(n, server.Send(buffer.AsSpan(0, n), out _));
                }
            }

            foreach (TcpConnection client in clients)
            {
                int n;
                while ((n = client.Receive(buffer, out _)) > 0)
                {
                    received[client].Write(buffer, 0, n);
                }
            }

            return received.Values.All(r => r.Length == data.Length);
        }, TimeSpan.FromSeconds(30)));

        Assert.All(received.Values, r => Assert.Equal(data, r.ToArray()));
        Assert.Equal(clients.Length, served.Count);
        Assert.Equal(clients.Length, net.Total(Counter.TcpPassiveOpens));
        Assert.All(net.Partitions, p => Assert.True(p.Counters[Counter.TcpPassiveOpens] > 0, "each partition owns some of the 32 connections"));

        // Everything arrived on queue 0: what partition 1 received, partition 0 handed over, once each.
        Assert.Equal(net.Partitions[0].Counters[Counter.PartitionHandedOff], net.Partitions[1].Counters[Counter.LinkReceived]);
        Assert.Equal(net.PeerStack.Counters[Counter.LinkSent], net.Total(Counter.LinkReceived));
        Assert.Equal(0, net.Partitions[1].Counters[Counter.PartitionHandedOff]);
        Assert.Equal(0, net.Total(Counter.PartitionHandOffDropped));
        Assert.Equal(0, net.Total(Counter.TcpResetsSent));
    }

    [Fact]
    public void ConnectionOpenedByPartition1_RepliesArriveOnQueue0_HandedToPartition1AndEstablished()
    {
        var net = new PartitionedStacks(2);
        TcpAcceptor listener = net.PeerStack.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 9000), 4, out _)!;
        TcpConnection opened = net.Partitions[1].ConnectTcp(new InternetEndpoint(Peer, 9000), out StackError error)!;
        Assert.Equal(StackError.None, error);
        Assert.True(Step(net.Simulation, () => opened.State == TcpConnectionState.Established, TimeSpan.FromSeconds(5)));
        (ushort first, ushort last) = net.Steering.EphemeralRange(1);
        Assert.InRange(opened.Tuple.Local.Port, first, last);
        Assert.True(listener.TryAccept(out TcpConnection? peer));
        Assert.Equal(5, peer!.Send("hello"u8, out _));
        var buffer = new byte[16];
        Assert.True(Step(net.Simulation, () => opened.Available == 5, TimeSpan.FromSeconds(5)));
        Assert.Equal(5, opened.Receive(buffer, out _));
        Assert.True(net.Partitions[0].Counters[Counter.PartitionHandedOff] >= 2); // the SYN-ACK and the data
        Assert.Equal(0, net.Partitions[0].Counters[Counter.TcpResetsSent]);
    }

    [Fact]
    public void FragmentsOfOneDatagramOnDifferentQueues_GatheredByOnePartition_ReassembledAndAnsweredOnce()
    {
        var net = new PartitionedStacks(2);
        net.Kernel.Spread = true;
        int answered = 0;
        StartUdpEcho(net, clients: 1, size: 4000, onAnswer: n =>
        {
            Assert.Equal(4000, n);
            answered++;
        });
        Assert.True(Step(net.Simulation, () => answered == 1, TimeSpan.FromSeconds(5)));
        Assert.Equal(1, net.Total(Counter.UdpReceived));
        Assert.True(net.Total(Counter.PartitionHandedOff) > 0, "three fragments over two queues: some arrived away from their owner");
        Assert.Equal(0, net.Total(Counter.ReassemblyDiscardedDatagram));
    }

    [Fact]
    public void UdpServiceOnEveryPartition_DatagramsOnQueue0_EachAnsweredOnce()
    {
        var net = new PartitionedStacks(2);
        int answered = 0;
        UdpEndpoint[] clients = StartUdpEcho(net, clients: 16, size: 3, onAnswer: n =>
        {
            Assert.Equal(3, n);
            answered++;
        });
        Assert.True(Step(net.Simulation, () => answered == clients.Length, TimeSpan.FromSeconds(5)));
        Assert.Equal(clients.Length, net.Total(Counter.UdpReceived));
    }

    // A UDP echo service on every partition, and CLIENTS sockets on the peer that each send one
    // datagram of SIZE bytes to it; every answer's length goes to onAnswer as the simulation runs.
    private static UdpEndpoint[] StartUdpEcho(PartitionedStacks net, int clients, int size, Action<int> onAnswer)
    {
        var buffer = new byte[65536];
        foreach (NetworkStack partition in net.Partitions)
        {
            UdpEndpoint echo = partition.OpenUdp();
            Assert.Equal(StackError.None, echo.Bind(new InternetEndpoint(InternetAddress.AnyV4, 7)));
            echo.Readable = () =>
            {
                while (echo.TryReceiveFrom(buffer, out int n, out _, out InternetEndpoint from))
                {
                    echo.SendTo(buffer.AsSpan(0, n), from);
                }
            };
        }

        var sockets = Enumerable.Range(0, clients).Select(_ => net.PeerStack.OpenUdp()).ToArray();
        var answers = new byte[65536];
        foreach (UdpEndpoint client in sockets)
        {
            Assert.Equal(StackError.None, client.SendTo(new byte[size], new InternetEndpoint(Ours, 7)));
            client.Readable = () =>
            {
                while (client.TryReceiveFrom(answers, out int n, out _, out _))
                {
                    onAnswer(n);
                }
            };
        }

        return sockets;
    }
}
