using TunStack.Ip;
using TunStack.Links;

namespace TunStack.Tests.Links;

/// <summary>
/// A stack split into partitions over an in-memory multi-queue wire, and a peer stack on the
/// kernel's side of it, on one virtual clock: each partition has its own queue and the same addresses.
/// </summary>
internal sealed class PartitionedStacks
{
    public static readonly InternetAddress Peer = InternetAddress.Parse("192.168.60.1");
    public static readonly InternetAddress Ours = InternetAddress.Parse("192.168.60.2");

    public PartitionedStacks(int partitions)
    {
        Simulation = new Simulation();
        Kernel = new KernelSideLink(partitions, out MemoryLink[] queues);
        PeerStack = Simulation.Add(new NetworkStack(Kernel, Options("192.168.60.1/24", 32768, 60999, 1), Simulation.Clock.Now));
        Steering = new PartitionSteering(partitions, 32768, 60999, queues[0].MaxPacketLength);
        Links = new PartitionLink[partitions];
        Partitions = new NetworkStack[partitions];
        for (int p = 0; p < partitions; p++)
        {
            (ushort first, ushort last) = Steering.EphemeralRange(p);
            Links[p] = Steering.CreateLink(p, queues[p]);
            Partitions[p] = Simulation.Add(new NetworkStack(Links[p], Options("192.168.60.2/24", first, last, 10 + p), Simulation.Clock.Now));
            Links[p].Counters = Partitions[p].Counters;
        }
    }

    public Simulation Simulation { get; }

    public KernelSideLink Kernel { get; }

    public NetworkStack PeerStack { get; }

    public PartitionSteering Steering { get; }

    public PartitionLink[] Links { get; }

    public NetworkStack[] Partitions { get; }

    /// <summary>The sum of a counter over the partitions.</summary>
    public long Total(Counter counter) => Partitions.Sum(p => p.Counters[counter]);

    private static StackOptions Options(string address, ushort first, ushort last, int seed)
    {
        var options = new StackOptions { RandomSeed = seed, EphemeralPortFirst = first, EphemeralPortLast = last };
        options.Addresses.Add(IpPrefix.Parse(address));
        return options;
    }
}
