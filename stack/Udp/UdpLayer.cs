// Udp/ owns RFC 768 UDP: the endpoint table, demultiplexing, checksums and datagram queues.
using System.Net.Sockets;
using TunStack.Ip;
using TunStack.Ports;
using TunStack.Wire;

namespace TunStack.Udp;

/// <summary>UDP for one stack: endpoint table, input, output.</summary>
internal sealed class UdpLayer : ITransportHandler
{
    /// <summary>Largest UDP payload over IPv4: 65,535 - 20 - 8.</summary>
    public const int MaxPayloadV4 = 65507;

    /// <summary>Largest UDP payload over IPv6 without jumbograms: 65,535 - 8.</summary>
    public const int MaxPayloadV6 = 65527;

    private readonly IpLayer _ip;
    private readonly PortTable _ports;
    private readonly StackCounters _counters;
    private readonly StackOptions _options;
    private readonly Dictionary<ushort, List<UdpEndpoint>> _endpointsByPort = new();
    private readonly byte[] _scratch = new byte[UdpDatagram.HeaderLength + MaxPayloadV6];

    public UdpLayer(IpLayer ip, PortTable ports, StackCounters counters, StackOptions options)
    {
        _ip = ip;
        _ports = ports;
        _counters = counters;
        _options = options;
    }

    public List<UdpEndpoint> SnapshotEndpoints() => _endpointsByPort.Values.SelectMany(list => list).ToList();

    public UdpEndpoint Open(AddressFamily family) => new(this, family, _options.UdpReceiveQueueBytes);

    public void Receive(in IpDatagram datagram)
    {
        _counters.Increment(Counter.UdpReceived);
        if (!UdpDatagram.TryCreate(datagram.Payload, out UdpDatagram udp, out WireError error))
        {
            _counters.Increment(error == WireError.Truncated ? Counter.UdpTruncated : Counter.UdpBadLength);
            return;
        }

        if (datagram.ChecksumTrusted)
        {
            // The link vouched for it (a partial checksum may even read 0 here).
        }
        else if (udp.Checksum == 0)
        {
            // RFC 768: zero means "no checksum" over IPv4; RFC 8200 8.1: never allowed over IPv6.
            if (datagram.IsV6)
            {
                _counters.Increment(Counter.UdpZeroChecksumV6);
                return;
            }
        }
        else if (!udp.IsChecksumValid(PseudoHeader.Sum(datagram.Source, datagram.Destination, IpProtocol.Udp, udp.Length)))
        {
            _counters.Increment(Counter.UdpBadChecksum);
            return;
        }

        bool foreign = datagram.ToForeign;
        UdpEndpoint? endpoint = foreign ? null : Lookup(datagram.Destination, udp.DestinationPort, datagram.Source, udp.SourcePort);
        if (endpoint is null && Forwarder is not null && !datagram.ToBroadcastOrMulticast)
        {
            // Any-address termination: the forwarder owns every datagram to a foreign address, and
            // those to our own addresses that no endpoint takes (a forwarder's DNS address).
            _counters.Increment(Counter.UdpForwarded);
            Forwarder(new InternetEndpoint(datagram.Source, udp.SourcePort), new InternetEndpoint(datagram.Destination, udp.DestinationPort), udp.Payload);
            return;
        }

        if (endpoint is null)
        {
            _counters.Increment(Counter.UdpNoPort);
            // RFC 1122 4.1.3.1: Port Unreachable (suppressed for groups by the ICMP rules).
            if (datagram.IsV6)
            {
                _ip.Icmp.SendErrorFor(datagram, 0, Icmpv6Type.DestinationUnreachable, Icmpv6Type.CodePortUnreachable, 0);
            }
            else
            {
                _ip.Icmp.SendErrorFor(datagram, 0, Icmpv4Type.DestinationUnreachable, Icmpv4Type.CodePortUnreachable, 0);
            }

            return;
        }

        if (!endpoint.Enqueue(new InternetEndpoint(datagram.Source, udp.SourcePort), udp.Payload))
        {
            _counters.Increment(Counter.UdpReceiveQueueFull);
            return;
        }

        _counters.Increment(Counter.UdpDelivered);
    }

    public void ReceiveIcmpError(in IcmpError error, ReadOnlySpan<byte> quotedTransport)
    {
        // The quote is a datagram we sent: its source is our endpoint, its destination the peer.
        ushort localPort = (ushort)((quotedTransport[0] << 8) | quotedTransport[1]);
        ushort remotePort = (ushort)((quotedTransport[2] << 8) | quotedTransport[3]);
        UdpEndpoint? endpoint = Lookup(error.QuotedSource, localPort, error.QuotedDestination, remotePort);
        // Like Linux without IP_RECVERR: only a connected endpoint learns of the error.
        if (endpoint?.RemoteEndpoint is { } remote && remote.Address == error.QuotedDestination && remote.Port == remotePort)
        {
            _counters.Increment(Counter.UdpIcmpErrors);
            endpoint.SetPendingError(error.Error);
        }
    }

    /// <summary>
    /// Demultiplexing: the endpoint connected to exactly this 4-tuple, else one bound to the
    /// destination address, else a wildcard-bound one (best match wins; ties go to the first bound).
    /// </summary>
    private UdpEndpoint? Lookup(InternetAddress localAddress, ushort localPort, InternetAddress remoteAddress, ushort remotePort)
    {
        if (!_endpointsByPort.TryGetValue(localPort, out List<UdpEndpoint>? candidates))
        {
            return null;
        }

        UdpEndpoint? best = null;
        int bestScore = -1;
        foreach (UdpEndpoint e in candidates)
        {
            if (!e.AcceptsFamily(localAddress))
            {
                continue;
            }

            InternetAddress bound = e.LocalEndpoint!.Value.Address;
            bool specific = !bound.IsUnspecified;
            if (specific && bound != localAddress)
            {
                continue;
            }

            bool connected = e.RemoteEndpoint is not null;
            if (connected && (e.RemoteEndpoint!.Value.Address != remoteAddress || e.RemoteEndpoint.Value.Port != remotePort))
            {
                continue;
            }

            int score = (connected ? 2 : 0) + (specific ? 1 : 0);
            if (score > bestScore)
            {
                best = e;
                bestScore = score;
            }
        }

        return best;
    }

    /// <summary>Binds <paramref name="endpoint"/>; the port table decides conflicts and ephemeral ports.</summary>
    public StackError Bind(UdpEndpoint endpoint, InternetEndpoint local)
    {
        StackError error = _ports.BindUdp(local, endpoint.Families, out InternetEndpoint bound);
        if (error != StackError.None)
        {
            return error;
        }

        if (!_endpointsByPort.TryGetValue(bound.Port, out List<UdpEndpoint>? list))
        {
            list = new List<UdpEndpoint>(1);
            _endpointsByPort.Add(bound.Port, list);
        }

        list.Add(endpoint);
        endpoint.LocalEndpoint = bound;
        return StackError.None;
    }

    public void Unbind(UdpEndpoint endpoint)
    {
        if (endpoint.LocalEndpoint is { } local && _endpointsByPort.TryGetValue(local.Port, out List<UdpEndpoint>? list) && list.Remove(endpoint))
        {
            if (list.Count == 0)
            {
                _endpointsByPort.Remove(local.Port);
            }

            _ports.UnbindUdp(local, endpoint.Families);
        }
    }

    /// <summary>A bound endpoint's families changed from <paramref name="before"/>: its port claim follows.</summary>
    public void FamiliesChanged(UdpEndpoint endpoint, IpFamilies before)
    {
        if (endpoint.LocalEndpoint is { } local && _endpointsByPort.TryGetValue(local.Port, out List<UdpEndpoint>? list) && list.Contains(endpoint))
        {
            _ports.ChangeUdpFamilies(local, before, endpoint.Families);
        }
    }

    /// <summary>Receives datagrams to addresses the stack does not own; null: none are taken.</summary>
    public UdpForwardHandler? Forwarder { get; set; }

    public StackError Send(UdpEndpoint endpoint, InternetEndpoint remote, ReadOnlySpan<byte> payload)
    {
        InternetAddress source = endpoint.LocalEndpoint!.Value.Address;
        if (source.IsUnspecified)
        {
            StackError error = _ip.Addresses.SelectSource(remote.Address, out source);
            if (error != StackError.None)
            {
                return error;
            }
        }

        return Send(new InternetEndpoint(source, endpoint.LocalEndpoint.Value.Port), remote, payload);
    }

    /// <summary>
    /// A forwarder's "port unreachable" for a flow it carried: ICMP (ICMPv6) destination unreachable, port,
    /// to <paramref name="client"/>, quoting the IP and UDP headers of a datagram from the client to
    /// <paramref name="destination"/> (RFC 1122 4.1.3.1 / RFC 4443 3.1), so the client's socket for that
    /// flow reports ECONNREFUSED. Rate-limited as every ICMP error.
    /// </summary>
    public void SendPortUnreachable(InternetEndpoint client, InternetEndpoint destination)
    {
        bool v6 = client.Address.IsV6;
        Span<byte> quote = stackalloc byte[Ipv6Packet.HeaderLength + UdpDatagram.HeaderLength];
        int header;
        if (v6)
        {
            Span<byte> from = stackalloc byte[16];
            Span<byte> to = stackalloc byte[16];
            client.Address.WriteTo(from);
            destination.Address.WriteTo(to);
            header = new Ipv6Header { PayloadLength = UdpDatagram.HeaderLength, NextHeader = IpProtocol.Udp, HopLimit = 64 }.WriteTo(quote, from, to);
        }
        else
        {
            header = new Ipv4Header
            {
                TotalLength = Ipv4Packet.MinHeaderLength + UdpDatagram.HeaderLength,
                TimeToLive = 64,
                Protocol = IpProtocol.Udp,
                Source = client.Address.V4,
                Destination = destination.Address.V4,
            }.WriteTo(quote);
        }

        Span<byte> udp = quote.Slice(header, UdpDatagram.HeaderLength);
        new UdpHeader(client.Port, destination.Port, UdpDatagram.HeaderLength).WriteTo(udp, PseudoHeader.Sum(client.Address, destination.Address, IpProtocol.Udp, UdpDatagram.HeaderLength));
        var original = new IpDatagram(quote[..(header + UdpDatagram.HeaderLength)], udp, client.Address, destination.Address, IpProtocol.Udp, toGroup: false);
        if (v6)
        {
            _ip.Icmp.SendErrorFor(original, 0, Icmpv6Type.DestinationUnreachable, Icmpv6Type.CodePortUnreachable, 0);
        }
        else
        {
            _ip.Icmp.SendErrorFor(original, 0, Icmpv4Type.DestinationUnreachable, Icmpv4Type.CodePortUnreachable, 0);
        }
    }

    /// <summary>Sends a datagram from any source (a forwarder's answer from the original destination).</summary>
    public StackError Send(InternetEndpoint source, InternetEndpoint remote, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > (remote.Address.IsV6 ? MaxPayloadV6 : MaxPayloadV4))
        {
            return StackError.MessageTooLong;
        }

        int length = UdpDatagram.HeaderLength + payload.Length;
        Span<byte> datagram = _scratch.AsSpan(0, length);
        payload.CopyTo(datagram[UdpDatagram.HeaderLength..]);
        new UdpHeader(source.Port, remote.Port, (ushort)length).WriteTo(datagram, PseudoHeader.Sum(source.Address, remote.Address, IpProtocol.Udp, length));
        StackError sent = _ip.Output(source.Address, remote.Address, IpProtocol.Udp, datagram);
        if (sent == StackError.None)
        {
            _counters.Increment(Counter.UdpSent);
        }

        return sent;
    }
}
