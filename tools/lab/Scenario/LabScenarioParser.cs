using System.Globalization;
using System.Text.Json;
using TunStack.Ip;

namespace TunStack.Lab;

/// <summary>
/// Reads a scenario file (JSON) into a <see cref="LabScenario"/> and checks it whole: every field's
/// type and unit, unknown properties, names that must exist or be unique, a host on at most one
/// link. The first problem found is thrown as a <see cref="LabScenarioException"/>.
/// </summary>
internal static class LabScenarioParser
{
    public static LabScenario Parse(string json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            string where = e.LineNumber is { } line ? string.Create(CultureInfo.InvariantCulture, $" at line {line + 1}") : string.Empty;
            throw new LabScenarioException(string.Empty, $"not valid JSON{where}");
        }

        using (document)
        {
            var root = new LabJsonObject(document.RootElement, string.Empty);
            string name = root.Name("name");
            int seed = (int)(root.OptionalInteger("seed", 0, int.MaxValue) ?? 1);
            long duration = root.OptionalDuration("duration") ?? throw new LabScenarioException("duration", "is required");
            if (duration <= 0)
            {
                throw new LabScenarioException("duration", "must be above zero");
            }

            long sample = root.OptionalDuration("sample_interval") ?? 10_000;
            if (sample <= 0)
            {
                throw new LabScenarioException("sample_interval", "must be above zero");
            }

            bool traceEveryAck = root.OptionalBool("trace_every_ack") ?? false;
            var hosts = root.Objects("hosts").Select(ReadHost).ToList();
            var routers = root.Objects("routers").Select(ReadRouter).ToList();
            var links = root.Objects("links").Select(ReadLink).ToList();
            var flows = root.Objects("flows").Select((f, i) => ReadFlow(f, i)).ToList();
            root.Finish();
            var scenario = new LabScenario
            {
                Name = name, Seed = seed, DurationMicros = duration, SampleIntervalMicros = sample, TraceEveryAck = traceEveryAck,
                Hosts = hosts, Routers = routers, Links = links, Flows = flows,
            };
            Check(scenario);
            return scenario;
        }
    }

    private static LabHostSpec ReadHost(LabJsonObject o)
    {
        string name = o.Name("name");
        IpPrefix? v4 = ReadAddress(o, "ipv4", v6: false);
        IpPrefix? v6 = ReadAddress(o, "ipv6", v6: true);
        if (v4 is null && v6 is null)
        {
            throw new LabScenarioException(o.Path, "a host needs an \"ipv4\" or \"ipv6\" address");
        }

        LabJsonObject? tcp = o.OptionalObject("tcp");
        o.Finish();
        if (tcp is null)
        {
            return new LabHostSpec { Name = name, V4 = v4, V6 = v6 };
        }

        var host = new LabHostSpec
        {
            Name = name, V4 = v4, V6 = v6,
            Congestion = ReadCongestion(tcp) ?? LabCongestion.Default,
            SendBuffer = tcp.OptionalSize("send_buffer", 4096, 1L << 30),
            ReceiveBuffer = tcp.OptionalSize("receive_buffer", 4096, 1L << 30),
            SendBufferMax = tcp.OptionalSize("send_buffer_max", 4096, 1L << 30),
            ReceiveBufferMax = tcp.OptionalSize("receive_buffer_max", 4096, 1L << 30),
            AutoTuneBuffers = tcp.OptionalBool("auto_tune"),
            MinRtoMicros = tcp.OptionalDuration("min_rto"),
            DelayedAckMicros = tcp.OptionalDuration("delayed_ack"),
            Ecn = tcp.OptionalBool("ecn") ?? false,
        };
        tcp.Finish();
        return host;
    }

    private static IpPrefix? ReadAddress(LabJsonObject o, string field, bool v6)
    {
        string? text = o.OptionalString(field);
        if (text is null)
        {
            return null;
        }

        if (!IpPrefix.TryParse(text.Contains('/') ? text : $"{text}/{(v6 ? 64 : 24)}", out IpPrefix prefix) || prefix.Address.IsV6 != v6)
        {
            throw new LabScenarioException(o.Child(field), $"\"{text}\" is not an {(v6 ? "IPv6" : "IPv4")} address (with an optional /prefix length)");
        }

        return prefix;
    }

    private static string? ReadCongestion(LabJsonObject o)
    {
        string? name = o.OptionalString("congestion");
        return name is null || LabCongestion.IsKnown(name)
            ? name
            : throw new LabScenarioException(o.Child("congestion"), $"\"{name}\" is not a congestion control (known: {LabCongestion.Names})");
    }

    private static LabRouterSpec ReadRouter(LabJsonObject o)
    {
        string name = o.Name("name");
        var routes = new List<LabRouteSpec>();
        foreach (LabJsonObject route in o.Objects("routes"))
        {
            string to = route.RequiredString("to");
            if (!IpPrefix.TryParse(to, out IpPrefix prefix))
            {
                throw new LabScenarioException(route.Child("to"), $"\"{to}\" is not an address prefix (for example 10.0.2.0/24)");
            }

            routes.Add(new LabRouteSpec(prefix, route.Name("via")));
            route.Finish();
        }

        InternetAddress? v4 = ReadAddress(o, "ipv4", v6: false)?.Address;
        InternetAddress? v6 = ReadAddress(o, "ipv6", v6: true)?.Address;
        bool icmp = o.OptionalBool("icmp") ?? true;
        o.Finish();
        return new LabRouterSpec { Name = name, Routes = routes, V4 = v4, V6 = v6, Icmp = icmp };
    }

    private static LabLinkSpec ReadLink(LabJsonObject o)
    {
        string a = o.Name("a");
        string b = o.Name("b");
        string name = o.Has("name") ? o.Name("name") : $"{a}-{b}";
        int mtu = (int)(o.OptionalInteger("mtu", 1280, 65535) ?? 1500);
        bool capture = o.OptionalBool("capture") ?? true;
        LabChannelSpec both = ReadChannel(o, new LabChannelSpec());
        LabJsonObject? aToB = o.OptionalObject("a_to_b");
        LabJsonObject? bToA = o.OptionalObject("b_to_a");
        o.Finish();
        return new LabLinkSpec
        {
            Name = name, A = a, B = b, Mtu = mtu, Capture = capture,
            AToB = aToB is null ? both : ReadWhole(aToB, both),
            BToA = bToA is null ? both : ReadWhole(bToA, both),
        };

        static LabChannelSpec ReadWhole(LabJsonObject direction, LabChannelSpec defaults)
        {
            LabChannelSpec spec = ReadChannel(direction, defaults);
            direction.Finish();
            return spec;
        }
    }

    // The per-direction properties, on the link itself (both directions) or in a_to_b / b_to_a (overrides).
    private static LabChannelSpec ReadChannel(LabJsonObject o, LabChannelSpec defaults)
    {
        LabChannelSpec spec = defaults with
        {
            RateBitsPerSecond = o.OptionalRate("rate") ?? defaults.RateBitsPerSecond,
            DelayMicros = o.OptionalDuration("delay") ?? defaults.DelayMicros,
            JitterMicros = o.OptionalDuration("jitter") ?? defaults.JitterMicros,
            Duplicate = o.OptionalProbability("duplicate") ?? defaults.Duplicate,
            Reorder = o.OptionalProbability("reorder") ?? defaults.Reorder,
            ReorderDelayMicros = o.OptionalDuration("reorder_delay") ?? defaults.ReorderDelayMicros,
            EcnMarking = o.OptionalBool("ecn_marking") ?? defaults.EcnMarking,
        };
        if (o.Get("loss") is { } loss)
        {
            spec = spec with { Loss = ReadLoss(loss, o.Child("loss")) };
        }

        if (o.OptionalObject("queue") is { } queue)
        {
            spec = spec with { Queue = ReadQueue(queue) };
        }

        return spec;
    }

    private static LabLossSpec ReadLoss(JsonElement value, string path)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            return LabLossSpec.Bernoulli(LabJsonObject.ReadProbability(value, path));
        }

        var o = new LabJsonObject(value, path);
        double p = o.OptionalProbability("p") ?? throw new LabScenarioException(o.Child("p"), "is required (the chance per packet to go from the good to the bad state)");
        double r = o.OptionalProbability("r") ?? throw new LabScenarioException(o.Child("r"), "is required (the chance per packet to go from the bad to the good state)");
        double good = o.OptionalProbability("loss_good") ?? 0;
        double bad = o.OptionalProbability("loss_bad") ?? 1;
        o.Finish();
        return new LabLossSpec(true, p, r, good, bad);
    }

    private static LabQueueSpec ReadQueue(LabJsonObject o)
    {
        string discipline = o.OptionalString("discipline") ?? "droptail";
        var defaults = new LabQueueSpec();
        LabQueueSpec spec;
        switch (discipline)
        {
            case "droptail":
                long? bytes = o.OptionalSize("bytes", 1, 1L << 32);
                spec = new LabQueueSpec
                {
                    Kind = LabQueueKind.DropTail,
                    LimitBytes = bytes ?? 0,
                    LimitPackets = (int)(o.OptionalInteger("packets", 1, 10_000_000) ?? (bytes is null ? defaults.LimitPackets : int.MaxValue)),
                };
                break;
            case "red":
                spec = new LabQueueSpec
                {
                    Kind = LabQueueKind.Red,
                    LimitPackets = (int)(o.OptionalInteger("packets", 1, 10_000_000) ?? defaults.LimitPackets),
                    MinThreshold = o.OptionalNumber("min_threshold", 0, 10_000_000) ?? defaults.MinThreshold,
                    MaxThreshold = o.OptionalNumber("max_threshold", 0, 10_000_000) ?? defaults.MaxThreshold,
                    MaxP = o.OptionalProbability("max_p") ?? defaults.MaxP,
                    Weight = o.OptionalNumber("weight", double.Epsilon, 1) ?? defaults.Weight,
                };
                if (spec.MaxThreshold <= spec.MinThreshold)
                {
                    throw new LabScenarioException(o.Child("max_threshold"), "must be above min_threshold");
                }

                break;
            case "codel":
                spec = new LabQueueSpec
                {
                    Kind = LabQueueKind.CoDel,
                    LimitPackets = (int)(o.OptionalInteger("packets", 1, 10_000_000) ?? defaults.LimitPackets),
                    TargetMicros = o.OptionalDuration("target") ?? defaults.TargetMicros,
                    IntervalMicros = o.OptionalDuration("interval") ?? defaults.IntervalMicros,
                };
                if (spec.IntervalMicros <= 0)
                {
                    throw new LabScenarioException(o.Child("interval"), "must be above zero");
                }

                break;
            default:
                throw new LabScenarioException(o.Child("discipline"), $"\"{discipline}\" is not a queue discipline (droptail, red or codel)");
        }

        o.Finish();
        return spec;
    }

    private static LabFlowSpec ReadFlow(LabJsonObject o, int index)
    {
        string name = o.Name("name");
        string kindText = o.RequiredString("kind");
        (string Name, LabFlowKind Kind)? kind = LabFlowSpec.KindNames.Where(k => k.Name == kindText).Select(k => ((string, LabFlowKind)?)k).FirstOrDefault();
        if (kind is null)
        {
            throw new LabScenarioException(o.Child("kind"), $"\"{kindText}\" is not a flow kind (bulk, rr, onoff or udp_cbr)");
        }

        string family = o.OptionalString("family") ?? "ipv4";
        if (family is not ("ipv4" or "ipv6"))
        {
            throw new LabScenarioException(o.Child("family"), $"\"{family}\" is not ipv4 or ipv6");
        }

        bool tcp = kind.Value.Kind != LabFlowKind.UdpConstantBitRate;
        string? congestion = tcp ? ReadCongestion(o) : null;
        if (!tcp && o.Has("congestion"))
        {
            throw new LabScenarioException(o.Child("congestion"), "applies to TCP flows only");
        }

        long start = o.OptionalDuration("start") ?? 0;
        long? stop = o.OptionalDuration("stop");
        if (stop is { } s && s <= start)
        {
            throw new LabScenarioException(o.Child("stop"), "must be after start");
        }

        LabFlowSpec flow = kind.Value.Kind switch
        {
            LabFlowKind.Bulk => new LabFlowSpec
            {
                Name = name, Kind = LabFlowKind.Bulk, From = o.Name("from"), To = o.Name("to"), Port = 0,
                Bytes = o.OptionalSize("bytes", 1, 1L << 50),
            },
            LabFlowKind.RequestResponse => new LabFlowSpec
            {
                Name = name, Kind = LabFlowKind.RequestResponse, From = o.Name("from"), To = o.Name("to"), Port = 0,
                RequestBytes = o.OptionalSize("request", 1, 1L << 40) ?? throw new LabScenarioException(o.Child("request"), "is required (the request size)"),
                ResponseBytes = o.OptionalSize("response", 1, 1L << 40) ?? throw new LabScenarioException(o.Child("response"), "is required (the response size)"),
                Count = o.OptionalInteger("count", 1, long.MaxValue),
                IntervalMicros = o.OptionalDuration("interval") ?? 0,
            },
            LabFlowKind.OnOff => new LabFlowSpec
            {
                Name = name, Kind = LabFlowKind.OnOff, From = o.Name("from"), To = o.Name("to"), Port = 0,
                OnMicros = Positive(o, "on"),
                OffMicros = Positive(o, "off"),
            },
            _ => new LabFlowSpec
            {
                Name = name, Kind = LabFlowKind.UdpConstantBitRate, From = o.Name("from"), To = o.Name("to"), Port = 0,
                RateBitsPerSecond = o.OptionalRate("rate") ?? throw new LabScenarioException(o.Child("rate"), "is required"),
                PacketSize = (int)(o.OptionalSize("packet_size", 1, 65_000) ?? 1200),
            },
        };
        ushort port = (ushort)(o.OptionalInteger("port", 1, 65535) ?? 5001 + index);
        o.Finish();
        return new LabFlowSpec
        {
            Name = flow.Name, Kind = flow.Kind, From = flow.From, To = flow.To, Port = port, V6 = family == "ipv6",
            Congestion = congestion, StartMicros = start, StopMicros = stop,
            Bytes = flow.Bytes, RequestBytes = flow.RequestBytes, ResponseBytes = flow.ResponseBytes, Count = flow.Count,
            IntervalMicros = flow.IntervalMicros, OnMicros = flow.OnMicros, OffMicros = flow.OffMicros,
            RateBitsPerSecond = flow.RateBitsPerSecond, PacketSize = flow.PacketSize,
        };
    }

    private static long Positive(LabJsonObject o, string field)
    {
        long value = o.OptionalDuration(field) ?? throw new LabScenarioException(o.Child(field), "is required");
        return value > 0 ? value : throw new LabScenarioException(o.Child(field), "must be above zero");
    }

    // The checks across objects: names, endpoints, addresses.
    private static void Check(LabScenario s)
    {
        var nodes = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < s.Hosts.Count; i++)
        {
            if (!nodes.TryAdd(s.Hosts[i].Name, "host"))
            {
                throw new LabScenarioException($"hosts[{i}].name", $"\"{s.Hosts[i].Name}\" is used twice");
            }
        }

        for (int i = 0; i < s.Routers.Count; i++)
        {
            if (!nodes.TryAdd(s.Routers[i].Name, "router"))
            {
                throw new LabScenarioException($"routers[{i}].name", $"\"{s.Routers[i].Name}\" is already the name of a node");
            }
        }

        var addresses = new HashSet<InternetAddress>();
        for (int i = 0; i < s.Hosts.Count; i++)
        {
            foreach ((IpPrefix? prefix, string field) in new[] { (s.Hosts[i].V4, "ipv4"), (s.Hosts[i].V6, "ipv6") })
            {
                if (prefix is { } p && !addresses.Add(p.Address))
                {
                    throw new LabScenarioException($"hosts[{i}].{field}", $"{p.Address} belongs to another host already");
                }
            }
        }

        var linkNames = new HashSet<string>(StringComparer.Ordinal);
        var hostLinks = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < s.Links.Count; i++)
        {
            LabLinkSpec link = s.Links[i];
            if (!linkNames.Add(link.Name))
            {
                throw new LabScenarioException($"links[{i}].name", $"\"{link.Name}\" is used twice");
            }

            foreach ((string end, string field) in new[] { (link.A, "a"), (link.B, "b") })
            {
                if (!nodes.TryGetValue(end, out string? kind))
                {
                    throw new LabScenarioException($"links[{i}].{field}", $"\"{end}\" is not a host or router");
                }

                if (kind == "host" && !hostLinks.TryAdd(end, i))
                {
                    throw new LabScenarioException($"links[{i}].{field}", $"host \"{end}\" is on links[{hostLinks[end]}] already (a host has one link)");
                }
            }

            if (link.A == link.B)
            {
                throw new LabScenarioException($"links[{i}].b", "a link joins two different nodes");
            }
        }

        for (int r = 0; r < s.Routers.Count; r++)
        {
            foreach ((InternetAddress? address, string field) in new[] { (s.Routers[r].V4, "ipv4"), (s.Routers[r].V6, "ipv6") })
            {
                if (address is { } a && !addresses.Add(a))
                {
                    throw new LabScenarioException($"routers[{r}].{field}", $"{a} belongs to another node already");
                }
            }

            for (int i = 0; i < s.Routers[r].Routes.Count; i++)
            {
                string via = s.Routers[r].Routes[i].Via;
                string router = s.Routers[r].Name;
                if (!s.Links.Any(l => (l.A == router && l.B == via) || (l.B == router && l.A == via)))
                {
                    throw new LabScenarioException($"routers[{r}].routes[{i}].via", $"\"{via}\" is not a neighbour of {router} (no link joins them)");
                }
            }
        }

        var flowNames = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < s.Flows.Count; i++)
        {
            LabFlowSpec flow = s.Flows[i];
            if (!flowNames.Add(flow.Name))
            {
                throw new LabScenarioException($"flows[{i}].name", $"\"{flow.Name}\" is used twice");
            }

            foreach ((string end, string field) in new[] { (flow.From, "from"), (flow.To, "to") })
            {
                LabHostSpec? host = s.Hosts.FirstOrDefault(h => h.Name == end);
                if (host is null)
                {
                    throw new LabScenarioException($"flows[{i}].{field}", $"\"{end}\" is not a host");
                }

                if ((flow.V6 ? host.V6 : host.V4) is null)
                {
                    throw new LabScenarioException($"flows[{i}].{field}", $"host \"{end}\" has no {(flow.V6 ? "ipv6" : "ipv4")} address");
                }
            }

            if (flow.From == flow.To)
            {
                throw new LabScenarioException($"flows[{i}].to", "a flow joins two different hosts");
            }

            if (s.Flows.Take(i).Any(f => f.To == flow.To && f.Port == flow.Port && f.V6 == flow.V6))
            {
                throw new LabScenarioException($"flows[{i}].port", string.Create(CultureInfo.InvariantCulture, $"{flow.Port} on {flow.To} is another flow's already"));
            }
        }
    }
}
