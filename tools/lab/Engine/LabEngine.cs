using TunStack.Links;

namespace TunStack.Lab;

/// <summary>
/// Builds a scenario's hosts (TunStack stacks), routers and links, and runs them on one virtual
/// clock: at each instant it steps the flows' applications, polls the stacks, starts queued
/// packets onto the wires and delivers those whose time has come, until nothing moves; then it
/// jumps to the earliest of the stacks' deadlines, the links' next events, the applications'
/// wake-ups and the next sample. Nothing reads the wall clock and every random draw comes from a
/// generator seeded by the scenario's seed, so a run repeats byte for byte.
/// </summary>
internal sealed class LabEngine : IDisposable
{
    private const int RoundLimit = 1_000_000;

    private readonly LabScenario _scenario;
    private readonly string _directory;
    private readonly List<LabHost> _hosts = new();
    private readonly List<LabRouter> _routers = new();
    private readonly List<LabLink> _links = new();
    private readonly List<LabChannel> _channels = new();
    private readonly List<LabFlow> _flows = new();
    private readonly List<LabFlowTrace?> _traces = new();
    private readonly List<LabQueueTrace> _queueTraces = new();

    public LabEngine(LabScenario scenario, string outputDirectory)
    {
        _scenario = scenario;
        _directory = outputDirectory;
        var nodes = new Dictionary<string, ILabNode>(StringComparer.Ordinal);
        for (int i = 0; i < scenario.Hosts.Count; i++)
        {
            LabHostSpec spec = scenario.Hosts[i];
            int mtu = scenario.Links.FirstOrDefault(l => l.A == spec.Name || l.B == spec.Name)?.Mtu ?? 1500;
            var host = new LabHost(spec, mtu, unchecked((scenario.Seed * 7_919) + i));
            _hosts.Add(host);
            nodes.Add(spec.Name, host.Port);
        }

        for (int i = 0; i < scenario.Routers.Count; i++)
        {
            LabRouterSpec spec = scenario.Routers[i];
            var router = new LabRouter(spec, i);
            _routers.Add(router);
            nodes.Add(spec.Name, router);
        }

        for (int i = 0; i < scenario.Links.Count; i++)
        {
            LabLinkSpec spec = scenario.Links[i];
            PcapngWriter? capture = !spec.Capture ? null : new PcapngWriter(new BufferedStream(File.Create(Path.Combine(outputDirectory, $"{spec.Name}.pcapng")), 1 << 16), 0, spec.Name);
            var link = new LabLink(spec, i, scenario.Seed, capture);
            link.AToB.Destination = nodes[spec.B];
            link.BToA.Destination = nodes[spec.A];
            _links.Add(link);
            _channels.Add(link.AToB);
            _channels.Add(link.BToA);
            foreach ((string end, LabChannel outgoing) in new[] { (spec.A, link.AToB), (spec.B, link.BToA) })
            {
                if (nodes[end] is LabHostPort port)
                {
                    port.Outgoing = outgoing;
                }
            }

            _queueTraces.Add(new LabQueueTrace(Path.Combine(outputDirectory, $"queue-{spec.Name}.csv")));
        }

        Route();
        foreach (LabFlowSpec spec in scenario.Flows)
        {
            LabHost client = _hosts.First(h => h.Spec.Name == spec.From);
            LabHost server = _hosts.First(h => h.Spec.Name == spec.To);
            LabFlow flow = spec.Kind switch
            {
                LabFlowKind.RequestResponse => new LabRequestResponseFlow(spec, client, server, scenario.DurationMicros),
                LabFlowKind.UdpConstantBitRate => new LabUdpFlow(spec, client, server, scenario.DurationMicros),
                _ => new LabBulkFlow(spec, client, server, scenario.DurationMicros),
            };
            _flows.Add(flow);
            _traces.Add(spec.Kind == LabFlowKind.UdpConstantBitRate ? null : new LabFlowTrace(Path.Combine(outputDirectory, $"trace-{spec.Name}.csv"), scenario.TraceEveryAck));
        }
    }

    public LabRunResult Run()
    {
        long end = _scenario.DurationMicros;
        long now = 0;
        long nextSample = 0;
        while (true)
        {
            long wake = Settle(now);
            if (now >= nextSample)
            {
                Sample(now);
                nextSample += _scenario.SampleIntervalMicros;
            }

            if (now >= end)
            {
                break;
            }

            long next = Math.Min(Math.Min(wake, nextSample), end);
            foreach (LabHost host in _hosts)
            {
                next = Math.Min(next, host.Stack.NextDeadline.Microseconds);
            }

            foreach (LabChannel channel in _channels)
            {
                next = Math.Min(next, channel.NextEvent);
            }

            now = Math.Max(next, now + 1);
        }

        LabRunResult result = Summarize();
        LabSummaryWriter.Write(Path.Combine(_directory, "summary.json"), result);
        return result;
    }

    public void Dispose()
    {
        foreach (LabLink link in _links)
        {
            link.Dispose();
        }

        foreach (LabFlowTrace? trace in _traces)
        {
            trace?.Dispose();
        }

        foreach (LabQueueTrace trace in _queueTraces)
        {
            trace.Dispose();
        }
    }

    // Everything that can happen at this instant, until nothing moves; returns the applications' earliest wake-up.
    private long Settle(long now)
    {
        var instant = new Instant(now);
        foreach (LabHost host in _hosts)
        {
            host.Stack.SetTime(instant); // what applications start now is timed from now
        }

        for (int round = 0; round < RoundLimit; round++)
        {
            bool moved = false;
            long wake = long.MaxValue;
            for (int i = 0; i < _flows.Count; i++)
            {
                LabFlow flow = _flows[i];
                long before = flow.Progress;
                wake = Math.Min(wake, flow.Step(now));
                if (_traces[i] is { } trace && flow.TracedConnection is { } traced)
                {
                    trace.Attach(traced, flow.Client.Stack); // before its first ACK: the SYN-ACK
                }

                if (flow.Progress != before)
                {
                    moved = true;
                    flow.Client.PollDue = flow.Server.PollDue = true;
                }
            }

            // Only stacks with something to do: input, a timer due, an application that acted, or work left over.
            foreach (LabHost host in _hosts)
            {
                if (host.PollDue || host.Port.HasInput || host.Stack.NextDeadline <= instant)
                {
                    host.PollDue = host.Stack.Poll(instant) <= instant;
                    moved |= host.PollDue;
                }
            }

            foreach (LabChannel channel in _channels)
            {
                moved |= channel.Pump(now);
                moved |= channel.Deliver(now);
            }

            if (!moved)
            {
                return wake;
            }
        }

        throw new InvalidOperationException($"The lab did not settle at {LabFormat.Seconds(now)} s: something keeps happening at the same instant.");
    }

    private void Sample(long now)
    {
        for (int i = 0; i < _flows.Count; i++)
        {
            if (_traces[i] is { } trace && _flows[i].TracedConnection is { } connection)
            {
                trace.Sample(now, connection);
            }
        }

        for (int i = 0; i < _links.Count; i++)
        {
            _queueTraces[i].Sample(now, _links[i]);
        }
    }

    // Each router reaches each host address the shortest way (fewest links; the file's order breaks ties),
    // after its explicit routes.
    private void Route()
    {
        foreach ((LabRouterSpec spec, LabRouter router) in _scenario.Routers.Zip(_routers))
        {
            foreach (LabRouteSpec route in spec.Routes)
            {
                router.AddRoute(route.Destination, Neighbours(spec.Name).First(n => n.Node == route.Via).Out);
            }

            // Breadth-first from the router; remember the first channel of each path.
            var first = new Dictionary<string, LabChannel>(StringComparer.Ordinal) { [spec.Name] = null! };
            var frontier = new Queue<string>();
            frontier.Enqueue(spec.Name);
            while (frontier.TryDequeue(out string? node))
            {
                foreach ((string next, LabChannel output) in Neighbours(node))
                {
                    if (first.ContainsKey(next))
                    {
                        continue;
                    }

                    first[next] = node == spec.Name ? output : first[node];
                    if (_scenario.Routers.Any(r => r.Name == next))
                    {
                        frontier.Enqueue(next); // hosts do not forward
                    }
                }
            }

            foreach (LabHost host in _hosts)
            {
                if (first.TryGetValue(host.Spec.Name, out LabChannel? output))
                {
                    foreach (Ip.IpPrefix? prefix in new[] { host.Spec.V4, host.Spec.V6 })
                    {
                        if (prefix is { } p)
                        {
                            router.AddHost(p.Address, output);
                        }
                    }
                }
            }
        }
    }

    private IEnumerable<(string Node, LabChannel Out)> Neighbours(string node)
    {
        foreach (LabLink link in _links)
        {
            if (link.Spec.A == node)
            {
                yield return (link.Spec.B, link.AToB);
            }
            else if (link.Spec.B == node)
            {
                yield return (link.Spec.A, link.BToA);
            }
        }
    }

    private LabRunResult Summarize()
    {
        var flows = new List<LabFlowResult>();
        for (int i = 0; i < _flows.Count; i++)
        {
            LabFlow flow = _flows[i];
            LabFlowSpec spec = flow.Spec;
            long activeEnd = flow.CompletedAt ?? flow.StopAt;
            double seconds = (activeEnd - spec.StartMicros) / 1e6;
            List<double> rtts = _traces[i]?.RttSamples.Order().ToList() ?? new List<double>();
            flows.Add(new LabFlowResult
            {
                Name = spec.Name,
                Kind = spec.KindName,
                From = spec.From,
                To = spec.To,
                Congestion = spec.Kind == LabFlowKind.UdpConstantBitRate ? null : spec.Congestion ?? flow.Client.Spec.Congestion,
                Bytes = flow.Bytes,
                GoodputBitsPerSecond = seconds > 0 ? flow.Bytes * 8 / seconds : 0,
                Retransmits = flow.TracedConnection?.GetInfo().Retransmits ?? 0,
                RttP50Milliseconds = LabPercentile.Of(rtts, 50),
                RttP99Milliseconds = LabPercentile.Of(rtts, 99),
                CompletionSeconds = flow.CompletedAt is { } done ? (done - spec.StartMicros) / 1e6 : null,
                Failure = flow.Failure,
            });
        }

        var links = new List<LabLinkResult>();
        foreach (LabLink link in _links)
        {
            List<double> delays = link.Sojourns.Select(us => us / 1000.0).Order().ToList();
            links.Add(new LabLinkResult
            {
                Name = link.Name,
                Delivered = link.Delivered,
                Dropped = link.Dropped,
                Marked = link.Marked,
                QueueDelayP50Milliseconds = LabPercentile.Of(delays, 50) ?? 0,
                QueueDelayP99Milliseconds = LabPercentile.Of(delays, 99) ?? 0,
            });
        }

        return new LabRunResult
        {
            Scenario = _scenario.Name,
            Seed = _scenario.Seed,
            Duration = TimeSpan.FromMicroseconds(_scenario.DurationMicros),
            Flows = flows,
            Links = links,
            Routers = _routers.Select(r => new LabRouterResult
            {
                Name = r.Name,
                Forwarded = r.Forwarded,
                Unroutable = r.Unroutable,
                Expired = r.Expired,
                TooBig = r.TooBig,
                Fragmented = r.Fragmented,
                IcmpSent = r.IcmpSent,
                IcmpRateLimited = r.IcmpRateLimited,
            }).ToList(),
        };
    }
}
