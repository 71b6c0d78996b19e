using System.Net.Sockets;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Storage;
using TunStack.Tcp;
using TunStack.Udp;
using TunStack.Wire;

namespace TunStack.Lab.Replay;

/// <summary>One replay: the stack, its link, the flows and the counts.</summary>
internal sealed class ReplaySession : IDisposable
{
    private readonly List<CapturedPacket> _packets;
    private readonly List<InternetAddress> _addresses;
    private readonly CaptureReplayOptions _options;
    private readonly Dictionary<TcpTuple, ReplayedFlow> _flows = new();
    private readonly HashSet<InternetEndpoint> _listening = new();
    private readonly Dictionary<InternetEndpoint, UdpEndpoint> _udp = new();
    private readonly byte[] _discard = new byte[65536];
    private readonly Simulation _simulation = new();
    private readonly ReplayLink _link;
    private readonly NetworkStack _stack;
    private readonly PcapngWriter? _writer;
    private readonly CaptureReplayResult _result;

    public ReplaySession(List<CapturedPacket> packets, List<InternetAddress> addresses, CaptureReplayOptions options)
    {
        _packets = packets;
        _addresses = addresses;
        _options = options;
        int mtu = 1500;
        foreach (CapturedPacket packet in packets)
        {
            mtu = Math.Max(mtu, Math.Min(packet.Packet.Length, 65535));   // a host capture may hold GRO/TSO super-packets
        }

        _link = new ReplayLink(mtu) { Transmitted = NoteAnswer };
        ILink link = _link;
        if (options.OutputPath is { } output)
        {
            long zero = packets.Count > 0 ? packets[0].UnixMicroseconds : 0;
            _writer = new PcapngWriter(File.Create(output), zero, "replay");
            link = new CaptureLink(_link, _writer);
        }

        var stackOptions = new StackOptions { RandomSeed = options.Seed };
        foreach (InternetAddress address in addresses)
        {
            stackOptions.Addresses.Add(new IpPrefix(address, address.IsV6 ? 128 : 32));
        }

        stackOptions.Routes.Add(new Route(new IpPrefix(InternetAddress.AnyV4, 0)));
        stackOptions.Routes.Add(new Route(new IpPrefix(InternetAddress.AnyV6, 0)));
        _stack = _simulation.Add(new NetworkStack(link, stackOptions));
        _result = new CaptureReplayResult(addresses);
    }

    public CaptureReplayResult Execute()
    {
        if (_packets.Count == 0)
        {
            return Finish(TimeSpan.Zero);
        }

        long zero = _packets[0].UnixMicroseconds;
        foreach (CapturedPacket packet in _packets)
        {
            _result.PacketsRead++;
            TimeSpan at = TimeSpan.FromMicroseconds(Math.Max(0, packet.UnixMicroseconds - zero));
            TimeSpan now = _simulation.Clock.Now - Instant.Zero;
            if (at > now)
            {
                _simulation.RunFor(at - now);   // timers fire on the way; callbacks move the applications
            }

            if (!CapturedHeaders.TryRead(packet.Packet, out CapturedHeaders headers))
            {
                _result.PacketsSkipped++;
                continue;
            }

            if (_addresses.Contains(headers.Destination))
            {
                Feed(packet.Packet, headers);
            }
            else if (_addresses.Contains(headers.Source))
            {
                _result.PacketsFromHost++;
                ActForHost(packet.Packet, headers);
            }
            else
            {
                _result.PacketsSkipped++;
            }

            _simulation.Settle();
        }

        _simulation.RunFor(_options.After);
        return Finish(_simulation.Clock.Now - Instant.Zero);
    }

    private CaptureReplayResult Finish(TimeSpan duration)
    {
        _writer?.Flush();
        var counters = new List<KeyValuePair<Counter, long>>();
        foreach (Counter counter in Enum.GetValues<Counter>())
        {
            long value = _stack.Counters[counter];
            if (value != 0)
            {
                counters.Add(new KeyValuePair<Counter, long>(counter, value));
            }
        }

        _result.Counters = counters;
        _result.Duration = duration;
        foreach (ReplayedFlow flow in _flows.Values)
        {
            if (flow.Mapped)
            {
                _result.FlowsMapped++;
            }
            else
            {
                _result.FlowsUnmapped++;
            }

            _result.BytesReceived += flow.BytesReceived;
            _result.BytesSent += flow.BytesSent;
        }

        return _result;
    }

    /// <summary>A packet to the captured host: opens what it reaches, moves it into the stack's sequence space, and hands it to the stack.</summary>
    private void Feed(byte[] packet, CapturedHeaders headers)
    {
        _result.PacketsFed++;
        var local = headers.IsTcp || headers.IsUdp ? new InternetEndpoint(headers.Destination, headers.DestinationPort(packet)) : default;
        if (headers.IsTcp)
        {
            var remote = new InternetEndpoint(headers.Source, headers.SourcePort(packet));
            TcpFlags flags = headers.TcpFlags(packet);
            if ((flags & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Syn)
            {
                Listen(local);
            }

            ReplayedFlow flow = FlowFor(new TcpTuple(local, remote));
            Span<byte> segment = headers.Transport(packet);
            uint pseudo = PseudoHeader.Sum(headers.Source, headers.Destination, IpProtocol.Tcp, segment.Length);
            bool checksumValid = InternetChecksum.IsValid(InternetChecksum.Add(pseudo, segment));
            // A capture taken where the checksum was left to offload (loopback, or the sending
            // host) holds only the pseudo-header sum in the field, as Linux's CHECKSUM_PARTIAL does.
            bool offloaded = !checksumValid && ((segment[16] << 8) | segment[17]) == InternetChecksum.Fold(pseudo);
            if (offloaded)
            {
                _result.ChecksumsCompleted++;
            }

            if ((flow.RewritePeerSegment(segment) && checksumValid) || offloaded)
            {
                // A segment that arrived corrupt stays corrupt: the stack must drop it as the host did.
                segment[16] = 0;
                segment[17] = 0;
                ushort checksum = InternetChecksum.Finish(InternetChecksum.Add(pseudo, segment));
                segment[16] = (byte)(checksum >> 8);
                segment[17] = (byte)checksum;
            }
        }
        else if (headers.IsUdp)
        {
            UdpFor(local);
        }

        _link.Arrive(packet);
    }

    /// <summary>A packet the captured host sent: what its application did (connect, write, close), done on the stack now.</summary>
    private void ActForHost(byte[] packet, CapturedHeaders headers)
    {
        if (headers.IsTcp)
        {
            var local = new InternetEndpoint(headers.Source, headers.SourcePort(packet));
            var remote = new InternetEndpoint(headers.Destination, headers.DestinationPort(packet));
            ReplayedFlow flow = FlowFor(new TcpTuple(local, remote));
            TcpFlags flags = headers.TcpFlags(packet);
            flow.NoteCapturedSegment(headers.Transport(packet));
            if ((flags & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Syn && flow.Connection is null)
            {
                TcpConnection? connection = _stack.ConnectTcp(remote, out _, local.Address, local.Port);
                if (connection is not null)
                {
                    Attach(flow, connection);
                }
            }

            flow.PushApplicationData();
        }
        else if (headers.IsUdp)
        {
            var local = new InternetEndpoint(headers.Source, headers.SourcePort(packet));
            var remote = new InternetEndpoint(headers.Destination, headers.DestinationPort(packet));
            UdpFor(local).SendTo(headers.Transport(packet)[8..], remote);
        }
    }

    private ReplayedFlow FlowFor(TcpTuple tuple)
    {
        if (!_flows.TryGetValue(tuple, out ReplayedFlow? flow))
        {
            flow = new ReplayedFlow(tuple);
            _flows.Add(tuple, flow);
        }

        return flow;
    }

    private void Listen(InternetEndpoint local)
    {
        if (!_listening.Add(local))
        {
            return;
        }

        TcpAcceptor? listener = _stack.ListenTcp(local, backlog: 4096, out _);
        if (listener is null)
        {
            return;
        }

        listener.Readable = () =>
        {
            while (listener.TryAccept(out TcpConnection? accepted))
            {
                Attach(FlowFor(accepted!.Tuple), accepted);
            }
        };
    }

    private void Attach(ReplayedFlow flow, TcpConnection connection)
    {
        flow.Connection = connection;
        connection.Readable = () =>
        {
            int n;
            while ((n = connection.Receive(_discard, out _)) > 0)
            {
                flow.BytesReceived += n;
            }
        };
        connection.Writable = flow.PushApplicationData;
        flow.PushApplicationData();
    }

    private UdpEndpoint UdpFor(InternetEndpoint local)
    {
        if (_udp.TryGetValue(local, out UdpEndpoint? endpoint))
        {
            return endpoint;
        }

        endpoint = _stack.OpenUdp(local.Address.IsV6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
        endpoint.Bind(local);
        UdpEndpoint bound = endpoint;
        endpoint.Readable = () =>
        {
            while (bound.TryReceiveFrom(_discard, out _, out _, out _))
            {
            }
        };
        _udp.Add(local, endpoint);
        return endpoint;
    }

    /// <summary>A packet the stack sent: counted, and its SYNs teach the flows the stack's sequence numbers.</summary>
    private void NoteAnswer(Span<byte> packet)
    {
        _result.PacketsAnswered++;
        if (CapturedHeaders.TryRead(packet, out CapturedHeaders headers) && headers.IsTcp)
        {
            var local = new InternetEndpoint(headers.Source, headers.SourcePort(packet));
            var remote = new InternetEndpoint(headers.Destination, headers.DestinationPort(packet));
            if (_flows.TryGetValue(new TcpTuple(local, remote), out ReplayedFlow? flow))
            {
                flow.NoteStackSegment(headers.Transport(packet));
            }
        }
    }

    /// <summary>Closes the output capture.</summary>
    public void Dispose() => _writer?.Dispose();
}
