using System.Globalization;
using System.Text;
using TunStack.Ip;
using TunStack.Lab;
using TunStack.Links;
using TunStack.Tcp;

namespace TunStack.Perf.Campaign;

/// <summary>
/// One seeded scenario of the simulation campaign: 2-8 stacks on a <see cref="MemorySwitch"/>, each
/// behind an <see cref="ImpairedLink"/> with its own random loss, delay, jitter, reordering,
/// overtaking, duplication, corruption and rate (clean for some), loss bursts that cut a stack
/// off for a while, path MTU changes answered with ICMP (<see cref="PathMtuLink"/>), and flows of
/// every <see cref="CampaignFlowKind"/> between random pairs. Run on
/// the virtual clock to the end, then checked: every stream byte-exact, no stall while the paths
/// deliver, every connection gone (CLOSED, TIME-WAIT over), every buffer chunk back in the pool,
/// memory within its limit. The same seed gives the same run.
/// </summary>
internal sealed class CampaignScenario
{
    /// <summary>
    /// No application progress for this long is a stall. Bursts end within 23 s of the start and
    /// the worst random path loses 3% each way, so an RTO backoff (200 ms doubling, capped at 120 s)
    /// that needs this long has lost six retransmissions of one segment in a row (about 1e-9).
    /// </summary>
    public static readonly TimeSpan StallBound = TimeSpan.FromSeconds(200);

    private static readonly TimeSpan RunLimit = TimeSpan.FromMinutes(30);
    private static readonly TimeSpan CleanupLimit = TimeSpan.FromMinutes(40);

    private readonly Simulation _sim = new();
    private readonly MemorySwitch _switch = new();
    private readonly List<NetworkStack> _stacks = new();
    private readonly List<ImpairedLink> _links = new();
    private readonly List<PathMtuLink> _paths = new();
    private readonly List<Impairment> _profiles = new();
    private readonly List<CampaignFlow> _flows = new();
    private readonly List<(Instant At, int Stack, Impairment Profile)> _events = new();
    private readonly List<(Instant At, int Stack, int PathMtu)> _mtuEvents = new();
    private readonly StringBuilder _description = new();
    private readonly List<PcapngWriter> _captures = new();

    /// <summary>
    /// Builds seed <paramref name="seed"/>'s scenario; with <paramref name="captureDirectory"/>, every
    /// stack's packets as the stack sent and received them (before its path's impairment on the way
    /// out, after it on the way in) go to seed-S-stack-I.pcapng there.
    /// </summary>
    public CampaignScenario(int seed, string? captureDirectory = null)
    {
        Seed = seed;
        var random = new Random(seed);
        int count = random.Next(2, 9);
        for (int i = 0; i < count; i++)
        {
            InternetAddress v4 = InternetAddress.Parse($"10.99.0.{i + 1}");
            InternetAddress v6 = InternetAddress.Parse($"fd99::{i + 1:x}");
            Impairment profile = RandomImpairment(random);
            var options = new StackOptions { RandomSeed = (seed * 16) + i };
            options.Addresses.Add(new IpPrefix(v4, 16));
            options.Addresses.Add(new IpPrefix(v6, 64));
            options.Tcp.CongestionControl = random.Next(3) == 0 ? CongestionAlgorithm.NewReno : CongestionAlgorithm.Cubic;
            var path = new PathMtuLink(_switch.AddPort(new[] { v4, v6 }), LabRouter.DefaultV4, LabRouter.DefaultV6(0));
            ImpairedLink link = PathLink(path, profile, (seed * 16) + i);
            _paths.Add(path);
            _links.Add(link);
            _profiles.Add(profile);
            ILink stackLink = link;
            if (captureDirectory is not null)
            {
                var capture = new PcapngWriter(File.Create(Path.Combine(captureDirectory, $"seed-{seed}-stack-{i}.pcapng")), interfaceName: $"stack{i}");
                _captures.Add(capture);
                stackLink = new CaptureLink(link, capture);
            }

            _stacks.Add(_sim.Add(new NetworkStack(stackLink, options, _sim.Clock.Now)));
            _description.Append(CultureInfo.InvariantCulture, $"  stack {i} {v4} {options.Tcp.CongestionControl}: {profile}\n");
        }

        // Loss bursts: a stack's path drops everything (or nearly) for up to 3 s, then recovers.
        int bursts = random.Next(0, 4);
        for (int b = 0; b < bursts; b++)
        {
            int stack = random.Next(count);
            Instant at = _sim.Clock.Now + TimeSpan.FromMilliseconds(random.Next(0, 20_000));
            Instant until = at + TimeSpan.FromMilliseconds(random.Next(50, 3000));
            Impairment burst = _profiles[stack] with { LossPercent = random.Next(30, 101) };
            _events.Add((at, stack, burst));
            _events.Add((until, stack, _profiles[stack]));
            _description.Append(CultureInfo.InvariantCulture, $"  burst on stack {stack}: {burst.LossPercent}% loss from {(at - _sim.Clock.Now).TotalMilliseconds} ms to {(until - _sim.Clock.Now).TotalMilliseconds} ms\n");
        }

        AddGilbertElliottLoss(seed, count);
        AddPathMtuChanges(seed, count);
        _events.Sort((x, y) => x.At.CompareTo(y.At));
        int flows = random.Next(1, (2 * count) + 1);
        CampaignFlowKind[] kinds = Enum.GetValues<CampaignFlowKind>();
        for (int f = 0; f < flows; f++)
        {
            int client = random.Next(count);
            int server = (client + random.Next(1, count)) % count;
            bool v6 = random.Next(3) == 0;
            InternetAddress address = _stacks[server].Addresses[v6 ? 1 : 0].Address;
            var flow = new CampaignFlow(f, kinds[random.Next(kinds.Length)], _stacks[client], _stacks[server], new InternetEndpoint(address, (ushort)(10_000 + f)), random);
            _flows.Add(flow);
            _description.Append(CultureInfo.InvariantCulture, $"  {flow.Describe()} from stack {client}\n");
        }
    }

    public int Seed { get; }

    // Gilbert-Elliott loss, for a quarter of the scenarios: one stack's path is a two-state Markov
    // chain in time, its profile in the good state and 20-100% loss in the bad one, each stay drawn
    // from an exponential distribution (good: mean 0.5-5 s, bad: mean 10-300 ms), within the first
    // 20 s as the fixed bursts are. A random of its own, so that the rest of every seed's scenario
    // is what it was before these bursts existed.
    private void AddGilbertElliottLoss(int seed, int count)
    {
        var random = new Random(unchecked((seed * 7919) + 17));
        if (random.Next(4) != 0)
        {
            return;
        }

        int stack = random.Next(count);
        double goodMean = 500 + random.Next(4500), badMean = 10 + random.Next(290);
        Impairment bad = _profiles[stack] with { LossPercent = random.Next(20, 101) };
        double at = 0;
        int stays = 0;
        while (true)
        {
            at += -goodMean * Math.Log(1 - random.NextDouble());
            double stay = -badMean * Math.Log(1 - random.NextDouble());
            if (at + stay > 20_000)
            {
                break;
            }

            _events.Add((_sim.Clock.Now + TimeSpan.FromMilliseconds(at), stack, bad));
            _events.Add((_sim.Clock.Now + TimeSpan.FromMilliseconds(at + stay), stack, _profiles[stack]));
            at += stay;
            stays++;
        }

        _description.Append(CultureInfo.InvariantCulture, $"  Gilbert-Elliott loss on stack {stack}: good stays of {goodMean:F0} ms, bad stays of {badMean:F0} ms at {bad.LossPercent}% loss, {stays} bad stays in 20 s\n");
    }

    // Path MTU changes, for a third of the scenarios: one stack's path (two in a quarter of those)
    // narrows to 1280-1400 bytes, at the start or within the first 5 s, and may narrow again or
    // widen back to 1500 0.1-5 s later (up to three changes); too-big packets are answered with ICMP (PathMtuLink). A random of
    // its own, as the Gilbert-Elliott chain's, so that the rest of every scenario stays what it was.
    private void AddPathMtuChanges(int seed, int count)
    {
        var random = new Random(unchecked((seed * 104_729) + 71));
        if (random.Next(3) != 0)
        {
            return;
        }

        int paths = random.Next(4) == 0 ? 2 : 1;
        for (int p = 0; p < paths; p++)
        {
            int stack = random.Next(count);
            double at = random.Next(3) == 0 ? 0 : random.Next(5_000); // while most flows still run
            int changes = random.Next(1, 4);
            var steps = new StringBuilder();
            for (int c = 0; c < changes; c++)
            {
                int mtu = c > 0 && random.Next(2) == 0 ? 1500 : random.Next(1280, 1401);
                _mtuEvents.Add((_sim.Clock.Now + TimeSpan.FromMilliseconds(at), stack, mtu));
                steps.Append(CultureInfo.InvariantCulture, $"{(c > 0 ? ", " : string.Empty)}{mtu} at {at} ms");
                at += random.Next(100, 5_000);
            }

            _description.Append(CultureInfo.InvariantCulture, $"  path MTU of stack {stack}: {steps}\n");
        }

        _mtuEvents.Sort((x, y) => x.At != y.At ? x.At.CompareTo(y.At) : x.Stack.CompareTo(y.Stack));
    }

    /// <summary>Whether some stack's path MTU changes during the run.</summary>
    public bool ChangesPathMtu => _mtuEvents.Count > 0;

    /// <summary>Too-big packets the narrowed paths answered with ICMP (so far).</summary>
    public long TooBigAnswered => _paths.Sum(p => p.TooBigAnswered);

    /// <summary>Times a TCP connection of any stack lowered its MSS for a smaller path MTU (so far).</summary>
    public long PathMtuReductions => _stacks.Sum(s => s.Counters[Counter.TcpPathMtuReductions]);

    /// <summary>The stacks, paths, bursts and flows, one per line.</summary>
    public string Description => _description.ToString();

    /// <summary>Virtual time the run took.</summary>
    public TimeSpan Elapsed { get; private set; }

    /// <summary>Runs the scenario; null when every invariant held, else what broke.</summary>
    public string? Run()
    {
        try
        {
            return RunToTheEnd();
        }
        finally
        {
            foreach (PcapngWriter capture in _captures)
            {
                capture.Dispose(); // the packets up to the failure, written out
            }
        }
    }

    private string? RunToTheEnd()
    {
        Instant start = _sim.Clock.Now;
        Instant lastProgress = start;
        long progress = -1;
        int nextEvent = 0, nextMtuEvent = 0;
        while (true)
        {
            Instant next = _sim.Settle();
            Instant now = _sim.Clock.Now;
            long sentBefore = SegmentsSent();
            Instant wake = Instant.MaxValue;
            long total = 0;
            bool allDone = true;
            foreach (CampaignFlow flow in _flows)
            {
                wake = Instant.Min(wake, flow.Step(now));
                if (flow.Failure is not null)
                {
                    return flow.Failure;
                }

                total += flow.Progress;
                allDone &= flow.Done;
            }

            if (allDone)
            {
                break;
            }

            if (total != progress)
            {
                progress = total;
                lastProgress = now;
                continue; // the applications acted: let the stacks answer before time moves
            }

            // A call that moved no byte may still have queued a segment (a shutdown after no data
            // queues a lone FIN; a connect, its SYN) and armed a timer: the stacks send it now, not
            // at whatever deadline came before the call (with nothing else due, never: seed 183466).
            if (SegmentsSent() != sentBefore)
            {
                continue;
            }

            foreach (NetworkStack stack in _stacks)
            {
                next = Instant.Min(next, stack.NextDeadline); // a timer the applications' calls set
            }

            if (now - lastProgress > StallBound)
            {
                return $"stall: no application progress for {(now - lastProgress).TotalSeconds:F0} s at {(now - start).TotalSeconds:F1} s ({Unfinished()})";
            }

            if (now - start > RunLimit)
            {
                return $"not done after {RunLimit.TotalMinutes} min of virtual time ({Unfinished()})";
            }

            while (nextEvent < _events.Count && _events[nextEvent].At <= now)
            {
                (_, int stack, Impairment profile) = _events[nextEvent++];
                _links[stack].Change(profile, Egress(profile));
            }

            while (nextMtuEvent < _mtuEvents.Count && _mtuEvents[nextMtuEvent].At <= now)
            {
                (_, int stack, int mtu) = _mtuEvents[nextMtuEvent++];
                _paths[stack].PathMtu = mtu;
            }

            Instant to = Instant.Min(Instant.Min(next, wake), nextEvent < _events.Count ? _events[nextEvent].At : Instant.MaxValue);
            to = Instant.Min(to, nextMtuEvent < _mtuEvents.Count ? _mtuEvents[nextMtuEvent].At : Instant.MaxValue);
            if (to == Instant.MaxValue)
            {
                return $"deadlock: nothing left to happen ({Unfinished()})";
            }

            _sim.AdvanceTo(to > now ? to : now);
        }

        // Every flow is done: stop listening and let TIME-WAIT, orphans and retransmissions end.
        foreach (CampaignFlow flow in _flows)
        {
            flow.StopListening();
        }

        for (; nextEvent < _events.Count; nextEvent++)
        {
            (_, int stack, Impairment profile) = _events[nextEvent];
            _links[stack].Change(profile, Egress(profile));
        }

        for (; nextMtuEvent < _mtuEvents.Count; nextMtuEvent++)
        {
            (_, int stack, int mtu) = _mtuEvents[nextMtuEvent];
            _paths[stack].PathMtu = mtu;
        }

        _sim.RunUntil(() => _stacks.All(s => s.TcpConnections == (0, 0) && s.NextDeadline == Instant.MaxValue), CleanupLimit);
        Elapsed = _sim.Clock.Now - start;
        for (int i = 0; i < _stacks.Count; i++)
        {
            NetworkStack stack = _stacks[i];
            if (stack.TcpConnections != (0, 0))
            {
                IEnumerable<string> left = stack.ListTcpConnections().Select(c => c.ToString());
                return $"stack {i}: {stack.TcpConnections.Connections} connections and {stack.TcpConnections.TimeWait} TIME-WAIT records left {CleanupLimit.TotalMinutes} min after the last flow ended: {string.Join(", ", left)}";
            }

            TcpMemoryUse memory = stack.TcpMemory;
            if (memory.InUseBytes != 0)
            {
                return $"stack {i}: {memory.InUseBytes} bytes of TCP buffers still taken with no connection left";
            }

            // Every timer gone: nothing left for the stack to do, ever, and nothing held in its path.
            if (stack.NextDeadline != Instant.MaxValue)
            {
                return $"stack {i}: a timer is still set ({stack.NextDeadline}) with no connection left";
            }

            if (memory.PeakBytes > memory.LimitBytes)
            {
                return $"stack {i}: TCP memory peaked at {memory.PeakBytes} bytes, over its limit of {memory.LimitBytes}";
            }
        }

        // A corrupted bit may land in a destination address; without corruption every packet has an owner.
        if (_switch.Unroutable != 0 && _profiles.All(p => p.CorruptPercent == 0))
        {
            return $"{_switch.Unroutable} packets to an address no stack owns";
        }

        return null;
    }

    /// <summary>A stack's impaired path: <paramref name="profile"/> on the way in, <see cref="Egress"/> of it on the way out.</summary>
    internal static ImpairedLink PathLink(ILink path, Impairment profile, int seed) => new(path, profile, Egress(profile), seed);

    /// <summary>
    /// What a stack's path does to the packets it sends: its profile without corruption. A packet
    /// crosses two impaired links, its sender's way out and its receiver's way in; corrupted on
    /// both, the two flipped bits cancel in the TCP checksum's one's complement sum (RFC 9293 3.1,
    /// RFC 1071) when they are the same bit of two 16-bit words, one set and one cleared, and the
    /// segment arrives wrong with a good checksum, which no stack can tell (seed 172759: bit 6 of
    /// two odd bytes of one segment). One bit flipped, on the way in only, is always caught.
    /// </summary>
    internal static Impairment Egress(Impairment profile) => profile with { CorruptPercent = 0 };

    // TCP segments the stacks have queued so far, whether a poll or an application call queued them.
    private long SegmentsSent() => _stacks.Sum(s => s.Counters[Counter.TcpSent]);

    private string Unfinished() => string.Join("; ", _flows.Where(f => !f.Done).Select(f => f.Describe()));

    private static Impairment RandomImpairment(Random random)
    {
        if (random.Next(4) == 0)
        {
            return Impairment.None;
        }

        TimeSpan delay = TimeSpan.FromMilliseconds(random.Next(0, 31));
        return new Impairment
        {
            LossPercent = Percent(random, 3),
            Delay = delay,
            Jitter = delay > TimeSpan.Zero && random.Next(3) == 0 ? TimeSpan.FromMilliseconds(random.Next(0, 6)) : TimeSpan.Zero,
            ReorderPercent = Percent(random, 3),
            OvertakePercent = delay > TimeSpan.Zero ? Percent(random, 3) : 0,
            DuplicatePercent = Percent(random, 1),
            CorruptPercent = Percent(random, 0.3),
            RateBitsPerSecond = random.Next(3) == 0 ? random.Next(2, 201) * 1_000_000L : 0,
            QueueLimit = random.Next(50, 1001),
        };
    }

    // Half the time none; otherwise uniform in [0, max).
    private static double Percent(Random random, double max) => random.Next(2) == 0 ? 0 : Math.Round(random.NextDouble() * max, 2);
}
