using TunStack.Ip;
using TunStack.Links;
using TunStack.Storage;
using TunStack.Udp;

namespace TunStack.Tests;

/// <summary>ARCHITECTURE rule 3: the steady-state packet path allocates nothing (measured, not timed).</summary>
public class AllocationTests
{
    [Fact]
    public void UdpIngressAndEchoEgress_SteadyState_ZeroBytesAllocated() => DatagramAndPingEchoedAllocateNothing(throughReader: false);

    // What a runner's reader thread does with each packet (NetworkStack.Deliver), through an
    // ImpairedLink with nothing to do, as the daemon wraps its TUN.
    [Fact]
    public void ReaderThreadPath_DatagramAndPingDelivered_SteadyState_ZeroBytesAllocated() => DatagramAndPingEchoedAllocateNothing(throughReader: true);

    // Every round a datagram to the echo endpoint and a ping come in (read by the stack's poll, or
    // handed to Deliver as a reader thread hands them), the datagram is echoed, both answers leave.
    private static void DatagramAndPingEchoedAllocateNothing(bool throughReader)
    {
        byte[] datagram = Packets.UdpPacket(Probe.PeerV4, Probe.StackV4, 1, 7, new byte[512]);
        byte[] ping = Packets.EchoRequest(Probe.PeerV4, Probe.StackV4, 1, 1, new byte[56]);
        (MemoryLink near, MemoryLink far) = MemoryLink.CreatePair();
        ILink link = throughReader ? new ImpairedLink(near, Impairment.None, Impairment.None, seed: 1) : near;
        var stack = new NetworkStack(link, Options(), Instant.Zero);
        UdpEndpoint endpoint = stack.OpenUdp();
        endpoint.Bind(new InternetEndpoint(InternetAddress.AnyV4, 7));
        var input = new PacketBatch(2, 1500);
        var output = new PacketBatch(64, 1500);
        var buffer = new byte[2048];

        void Round(int i)
        {
            input.Clear();
            input.TryAdd(datagram);
            input.TryAdd(ping);
            if (throughReader)
            {
                stack.Deliver(input, Instant.FromMilliseconds(i));
            }
            else
            {
                far.Transmit(input, Instant.Zero);
                stack.Poll(Instant.FromMilliseconds(i));
            }

            endpoint.TryReceiveFrom(buffer, out int n, out _, out InternetEndpoint from);
            endpoint.SendTo(buffer.AsSpan(0, n), from);
            stack.Poll(Instant.FromMilliseconds(i));
            output.Clear();
            far.Receive(output, Instant.Zero);
        }

        (List<long> windows, int next) = AllocatedPerWindow(Round);

        Assert.True(windows[^1] == 0, $"bytes allocated per window of 10,000 rounds: {string.Join(", ", windows)}");
        Assert.Equal(next, stack.Counters[Counter.UdpDelivered]);
        Assert.Equal(next, stack.Counters[Counter.IcmpEchoRepliesSent]);
    }

    [Fact]
    public void PartitionedStack_DatagramHandedToTheOtherPartitionEveryRound_ZeroBytesAllocated()
    {
        // Both datagrams arrive on queue 0; the one to partition 1's port is handed over each round.
        (MemoryLink near0, MemoryLink far0) = MemoryLink.CreatePair();
        (MemoryLink near1, MemoryLink far1) = MemoryLink.CreatePair();
        var steering = new PartitionSteering(2, 32768, 60999, near0.MaxPacketLength);
        var stacks = new NetworkStack[2];
        var endpoints = new UdpEndpoint[2];
        var datagrams = new byte[2][];
        for (int p = 0; p < 2; p++)
        {
            StackOptions options = Options();
            (options.EphemeralPortFirst, options.EphemeralPortLast) = steering.EphemeralRange(p);
            PartitionLink link = steering.CreateLink(p, p == 0 ? near0 : near1);
            stacks[p] = new NetworkStack(link, options, Instant.Zero);
            link.Counters = stacks[p].Counters;
            endpoints[p] = stacks[p].OpenUdp();
            Assert.Equal(StackError.None, endpoints[p].Bind(new InternetEndpoint(InternetAddress.AnyV4, options.EphemeralPortFirst)));
            datagrams[p] = Packets.UdpPacket(Probe.PeerV4, Probe.StackV4, 5000, options.EphemeralPortFirst, new byte[512]);
        }

        var input = new PacketBatch(2, 1500);
        var output = new PacketBatch(64, 1500);
        var buffer = new byte[2048];

        void Round(int i)
        {
            input.Clear();
            input.TryAdd(datagrams[0]);
            input.TryAdd(datagrams[1]);
            far0.Transmit(input, Instant.Zero);
            for (int p = 0; p < 2; p++)
            {
                stacks[p].Poll(Instant.FromMilliseconds(i));
            }

            for (int p = 0; p < 2; p++)
            {
                while (endpoints[p].TryReceiveFrom(buffer, out int n, out _, out InternetEndpoint from))
                {
                    endpoints[p].SendTo(buffer.AsSpan(0, n), from);
                }

                stacks[p].Poll(Instant.FromMilliseconds(i));
            }

            output.Clear();
            far0.Receive(output, Instant.Zero);
            output.Clear();
            far1.Receive(output, Instant.Zero);
        }

        (List<long> windows, int next) = AllocatedPerWindow(Round);

        Assert.True(windows[^1] == 0, $"bytes allocated per window of 10,000 rounds: {string.Join(", ", windows)}");
        Assert.Equal(next, stacks[0].Counters[Counter.PartitionHandedOff]);
        Assert.Equal(next, stacks[1].Counters[Counter.UdpDelivered]);
        Assert.Equal(next, stacks[0].Counters[Counter.UdpDelivered]);
    }

    private static StackOptions Options()
    {
        var o = new StackOptions { RandomSeed = 1 };
        o.Addresses.Add(IpPrefix.Parse("10.0.0.2/24"));
        return o;
    }

    [Fact]
    public void ConnectionCycle_ConnectRequestResponseClose_EachSideAllocatesOnlyItsConnection()
    {
        // The crr cycle (connect, one byte each way, close) between two stacks on the virtual
        // clock. What a side allocates per cycle is its connection's objects (sender, receiver,
        // loss recovery, congestion control, timers: about 2.5 KB) and nothing per packet: a
        // cycle moves about ten packets, so an allocation per packet, or a part made twice (as
        // the NewReno recovery with its segment log was, before SACK replaced it), breaks the budget.
        const int Cycles = 5_000;
        const int BudgetPerCycle = 3_000;
        var cycle = new TunStack.Perf.ConnectionChurn.Cycle();
        cycle.Run(2_000);

        (long client, long server) = cycle.Run(Cycles);

        Assert.True(server / Cycles <= BudgetPerCycle, $"server side: {server / Cycles} bytes per cycle");
        Assert.True(client / Cycles <= BudgetPerCycle, $"client side: {client / Cycles} bytes per cycle");
    }

    // Warms ROUND up for 100 rounds, then runs it in windows of 10,000 and returns the bytes each
    // window allocated on this thread, and the rounds run in all. The runtime may allocate once on
    // this thread while the loop runs (a tier-1 method being installed, a type first touched by the
    // optimized code); a per-packet allocation would show in every window, so the windows stop at
    // the first that is zero, after three at most.
    private static (List<long> Windows, int Rounds) AllocatedPerWindow(Action<int> round)
    {
        for (int i = 0; i < 100; i++)
        {
            round(i);
        }

        var windows = new List<long>();
        int next = 100;
        for (int w = 0; w < 3 && (windows.Count == 0 || windows[^1] != 0); w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = next; i < next + 10_000; i++)
            {
                round(i);
            }

            next += 10_000;
            windows.Add(GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return (windows, next);
    }
}
