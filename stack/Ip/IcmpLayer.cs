// RFC 792 and RFC 1122 3.2.2 (ICMP), RFC 4443 (ICMPv6): echo, error generation under the rules
// that forbid errors about errors, groups and later fragments, rate limiting, and decoding of
// received errors for the transports (RFC 5927 checks are the transports' part).
using System.Buffers.Binary;
using TunStack.Wire;

namespace TunStack.Ip;

/// <summary>ICMP and ICMPv6 for one stack.</summary>
internal sealed class IcmpLayer
{
    internal const int QuoteLimitV4 = 576;   // RFC 1812 4.3.2.3: the error datagram stays within 576 bytes
    internal const int QuoteLimitV6 = 1280;  // RFC 4443 2.4(c): within the minimum IPv6 MTU

    private readonly IpLayer _ip;
    private readonly StackCounters _counters;
    private readonly TokenBucket _rateLimiter;
    private readonly byte[] _message = new byte[65535];
    private readonly Dictionary<ushort, IcmpEchoEndpoint> _echoEndpoints = new();

    public IcmpLayer(IpLayer ip, StackCounters counters, StackOptions options)
    {
        _ip = ip;
        _counters = counters;
        _rateLimiter = new TokenBucket(options.IcmpErrorsPerSecond, options.IcmpErrorBurst);
    }

    public void Receive(in IpDatagram datagram)
    {
        _counters.Increment(Counter.IcmpReceived);
        if (!IcmpMessage.TryCreate(datagram.Payload, out IcmpMessage message))
        {
            _counters.Increment(Counter.IcmpTruncated);
            return;
        }

        Span<byte> src = stackalloc byte[16];
        Span<byte> dst = stackalloc byte[16];
        bool valid = datagram.IsV6
            ? message.IsChecksumValidV6(src[..datagram.Source.WriteTo(src)], dst[..datagram.Destination.WriteTo(dst)])
            : message.IsChecksumValidV4;
        if (!valid)
        {
            _counters.Increment(Counter.IcmpBadChecksum);
            return;
        }

        if (datagram.ToForeign)
        {
            // Any-address termination takes echo requests only; other ICMP to a foreign address is not ours.
            if (EchoForwarder is not null && message.Type == (datagram.IsV6 ? Icmpv6Type.EchoRequest : Icmpv4Type.EchoRequest))
            {
                _counters.Increment(Counter.IcmpEchoForwarded);
                EchoForwarder(datagram.Source, datagram.Destination, message.Identifier, message.SequenceNumber, message.Body);
            }
            else
            {
                _counters.Increment(datagram.IsV6 ? Counter.Ipv6NotForUs : Counter.Ipv4NotForUs);
            }

            return;
        }

        if (datagram.IsV6)
        {
            ReceiveV6(datagram, message);
        }
        else
        {
            ReceiveV4(datagram, message);
        }
    }

    /// <summary>Receives echo requests to addresses the stack does not own; null: none are taken.</summary>
    public IcmpEchoForwardHandler? EchoForwarder { get; set; }

    /// <summary>Sends an echo reply from any source (a forwarder's answer from the original destination).</summary>
    public StackError SendEchoReplyFrom(InternetAddress source, InternetAddress destination, ushort identifier, ushort sequence, ReadOnlySpan<byte> data)
        => SendEcho(source, destination, destination.IsV6 ? Icmpv6Type.EchoReply : Icmpv4Type.EchoReply, identifier, sequence, data, Counter.IcmpEchoRepliesSent);

    private void ReceiveV4(in IpDatagram datagram, IcmpMessage message)
    {
        switch (message.Type)
        {
            case Icmpv4Type.EchoRequest:
                _counters.Increment(Counter.IcmpEchoRequests);
                // Like Linux's default icmp_echo_ignore_broadcasts=1 (RFC 1122 3.2.2.6 permits it).
                if (datagram.ToBroadcastOrMulticast)
                {
                    _counters.Increment(Counter.IcmpBroadcastEchoIgnored);
                    return;
                }

                SendEchoReply(datagram, message, Icmpv4Type.EchoReply);
                break;
            case Icmpv4Type.EchoReply:
                DeliverEchoReply(datagram, message);
                break;
            case Icmpv4Type.DestinationUnreachable:
            case Icmpv4Type.TimeExceeded:
            case Icmpv4Type.ParameterProblem:
                _counters.Increment(Counter.IcmpErrorsReceived);
                DecodeErrorV4(datagram, message);
                break;
            default:
                // Source Quench (RFC 6633), Redirect (a host on one point-to-point link), timestamps, ...
                _counters.Increment(Counter.IcmpIgnored);
                break;
        }
    }

    private void ReceiveV6(in IpDatagram datagram, IcmpMessage message)
    {
        switch (message.Type)
        {
            case Icmpv6Type.EchoRequest:
                _counters.Increment(Counter.IcmpEchoRequests);
                // RFC 4443 4.2: a reply is sent to unicast and multicast requests alike.
                SendEchoReply(datagram, message, Icmpv6Type.EchoReply);
                break;
            case Icmpv6Type.EchoReply:
                DeliverEchoReply(datagram, message);
                break;
            case Icmpv6Type.DestinationUnreachable:
            case Icmpv6Type.PacketTooBig:
            case Icmpv6Type.TimeExceeded:
            case Icmpv6Type.ParameterProblem:
                _counters.Increment(Counter.IcmpErrorsReceived);
                DecodeErrorV6(datagram, message);
                break;
            case Icmpv6Type.RouterSolicitation:
            case Icmpv6Type.RouterAdvertisement:
            case Icmpv6Type.Redirect:
                _counters.Increment(Counter.Icmpv6RouterDiscoveryIgnored);
                break;
            case Icmpv6Type.NeighborSolicitation:
            case Icmpv6Type.NeighborAdvertisement:
                _counters.Increment(Counter.Icmpv6NeighborDiscoveryIgnored);
                break;
            case Icmpv6Type.MldQuery:
            case Icmpv6Type.MldReport:
            case Icmpv6Type.MldDone:
            case Icmpv6Type.Mldv2Report:
                _counters.Increment(Counter.Icmpv6MldIgnored);
                break;
            default:
                // RFC 4443 2.4(b): unknown informational messages are silently discarded;
                // unknown error types carry nothing a transport here can act on.
                _counters.Increment(Counter.IcmpIgnored);
                break;
        }
    }

    private void SendEchoReply(in IpDatagram request, IcmpMessage message, byte replyType)
    {
        // The reply goes from the address the request was sent to, or for a group request from
        // the address the route to the requester selects (RFC 4443 4.2).
        InternetAddress source = request.Destination;
        if (request.ToBroadcastOrMulticast && _ip.Addresses.SelectSource(request.Source, out source) != StackError.None)
        {
            return;
        }

        Span<byte> reply = _message.AsSpan(0, message.Message.Length);
        message.Message.CopyTo(reply);
        new IcmpHeader(replyType, 0, message.RestOfHeader).WriteTo(reply, PseudoHeaderFor(source, request.Source, reply.Length));
        if (_ip.Output(source, request.Source, request.IsV6 ? IpProtocol.IcmpV6 : IpProtocol.Icmp, reply) == StackError.None)
        {
            _counters.Increment(Counter.IcmpEchoRepliesSent);
        }
    }

    private void DeliverEchoReply(in IpDatagram datagram, IcmpMessage message)
    {
        _counters.Increment(Counter.IcmpEchoRepliesReceived);
        if (!_echoEndpoints.TryGetValue(message.Identifier, out IcmpEchoEndpoint? endpoint))
        {
            _counters.Increment(Counter.IcmpEchoNoEndpoint);
            return;
        }

        endpoint.Deliver(new InternetEndpoint(datagram.Source, message.SequenceNumber), message.Body);
    }

    // RFC 792: no pseudo-header for ICMPv4; RFC 4443 2.3: ICMPv6 includes one.
    private static uint PseudoHeaderFor(InternetAddress source, InternetAddress destination, int length)
        => source.IsV6 ? PseudoHeader.Sum(source, destination, IpProtocol.IcmpV6, length) : 0;

    /// <summary>Sends an ICMP error about a datagram whose header (and data) <paramref name="quote"/> holds.</summary>
    public void SendError(ReadOnlySpan<byte> quote, bool isV6, byte type, byte code, uint rest)
    {
        if (isV6 ? quote.Length < Ipv6Packet.HeaderLength : quote.Length < Ipv4Packet.MinHeaderLength)
        {
            return;
        }

        InternetAddress source = isV6 ? InternetAddress.FromV6(quote.Slice(8, 16)) : InternetAddress.FromV4(quote.Slice(12, 4));
        InternetAddress destination = isV6 ? InternetAddress.FromV6(quote.Slice(24, 16)) : InternetAddress.FromV4(quote.Slice(16, 4));
        byte protocol = isV6 ? quote[6] : quote[9];
        int headerLength = isV6 ? Ipv6Packet.HeaderLength : (quote[0] & 0xF) * 4;
        var original = new IpDatagram(quote, quote[Math.Min(headerLength, quote.Length)..], source, destination, protocol, destination.IsMulticast || (!isV6 && _ip.Addresses.IsBroadcastV4(destination)));
        SendErrorFor(original, 0, type, code, rest);
    }

    /// <summary>
    /// Sends an ICMP error about <paramref name="original"/> unless a rule forbids it: never about an
    /// ICMP error, a datagram to a broadcast or multicast address, a fragment other than the first,
    /// or one whose source is not a unique host (RFC 1122 3.2.2, RFC 4443 2.4(e)); and only while
    /// the token bucket has a token (RFC 4443 2.4(f)).
    /// </summary>
    public void SendErrorFor(in IpDatagram original, int fragmentOffset, byte type, byte code, uint rest)
    {
        bool v6 = original.IsV6;
        InternetAddress to = original.Source;
        if (IsAboutIcmpError(original) || original.ToBroadcastOrMulticast || fragmentOffset != 0
            || to.IsUnspecified || to.IsMulticast || to.IsLoopback || (!v6 && _ip.Addresses.IsBroadcastV4(to)))
        {
            _counters.Increment(Counter.IcmpErrorsSuppressed);
            return;
        }

        if (!_rateLimiter.TryTake(_ip.Now))
        {
            _counters.Increment(Counter.IcmpErrorsRateLimited);
            return;
        }

        InternetAddress from = original.Destination;
        if (!_ip.Addresses.IsLocal(from) && _ip.Addresses.SelectSource(to, out from) != StackError.None)
        {
            return;
        }

        int limit = (v6 ? QuoteLimitV6 - Ipv6Packet.HeaderLength : QuoteLimitV4 - Ipv4Packet.MinHeaderLength) - IcmpMessage.HeaderLength;
        int quoted = Math.Min(original.Datagram.Length, limit);
        Span<byte> message = _message.AsSpan(0, IcmpMessage.HeaderLength + quoted);
        original.Datagram[..quoted].CopyTo(message[IcmpMessage.HeaderLength..]);
        new IcmpHeader(type, code, rest).WriteTo(message, PseudoHeaderFor(from, to, message.Length));
        if (_ip.Output(from, to, v6 ? IpProtocol.IcmpV6 : IpProtocol.Icmp, message) == StackError.None)
        {
            _counters.Increment(Counter.IcmpErrorsSent);
        }
    }

    private static bool IsAboutIcmpError(in IpDatagram original) => IsAboutIcmpError(original.IsV6, original.Protocol, original.Payload);

    /// <summary>
    /// RFC 1122 3.2.2 / RFC 4443 2.4(e): whether a datagram carrying <paramref name="protocol"/>
    /// and <paramref name="payload"/> is itself an ICMP error (or a redirect, or too short to tell),
    /// which no ICMP error may answer. Shared with the lab's routers.
    /// </summary>
    internal static bool IsAboutIcmpError(bool v6, byte protocol, ReadOnlySpan<byte> payload)
    {
        if (protocol == (v6 ? IpProtocol.IcmpV6 : IpProtocol.Icmp))
        {
            // A truncated ICMP header is treated as an error message: never answer it.
            if (payload.Length < 1)
            {
                return true;
            }

            byte type = payload[0];
            return v6 ? Icmpv6Type.IsError(type) || type == Icmpv6Type.Redirect : Icmpv4Type.IsError(type);
        }

        return false;
    }

    private void DecodeErrorV4(in IpDatagram datagram, IcmpMessage message)
    {
        ReadOnlySpan<byte> quote = message.Body;
        if (quote.Length < Ipv4Packet.MinHeaderLength || quote[0] >> 4 != 4)
        {
            return;
        }

        int headerLength = (quote[0] & 0xF) * 4;
        // Only a first fragment (offset 0) quotes the transport header with its ports.
        if (headerLength < Ipv4Packet.MinHeaderLength || quote.Length < headerLength + 8 || (BinaryPrimitives.ReadUInt16BigEndian(quote[6..]) & 0x1FFF) != 0)
        {
            return;
        }

        StackError error = message.Type switch
        {
            Icmpv4Type.TimeExceeded => StackError.HostUnreachable,
            Icmpv4Type.ParameterProblem => StackError.ProtocolError,
            _ => message.Code switch
            {
                // RFC 1122 3.2.2.1 codes, mapped as Linux's icmp_err_convert does.
                0 or 6 or 9 or 11 => StackError.NetworkUnreachable,
                2 => StackError.ProtocolUnreachable,
                3 => StackError.ConnectionRefused,
                4 => StackError.MessageTooLong,
                _ => StackError.HostUnreachable,
            },
        };

        int mtu = message.Type == Icmpv4Type.DestinationUnreachable && message.Code == Icmpv4Type.CodeFragmentationNeeded ? message.SequenceNumber : 0;
        var decoded = new IcmpError(error, datagram.Source, InternetAddress.FromV4(quote[12..]), InternetAddress.FromV4(quote[16..]), quote[9], mtu);
        Dispatch(decoded, quote[headerLength..]);
    }

    private void DecodeErrorV6(in IpDatagram datagram, IcmpMessage message)
    {
        ReadOnlySpan<byte> quote = message.Body;
        if (quote.Length < Ipv6Packet.HeaderLength || quote[0] >> 4 != 6)
        {
            return;
        }

        Ipv6Chain chain = Ipv6Chain.Walk(quote, Ipv6Packet.HeaderLength, quote[6], 6);
        if (chain.Verdict != Ipv6ChainVerdict.Ok || quote.Length < chain.UpperOffset + 8)
        {
            return;
        }

        StackError error = message.Type switch
        {
            Icmpv6Type.PacketTooBig => StackError.MessageTooLong,
            Icmpv6Type.TimeExceeded => StackError.HostUnreachable,
            Icmpv6Type.ParameterProblem => StackError.ProtocolError,
            _ => message.Code switch
            {
                // RFC 4443 3.1 codes, mapped as Linux's icmpv6_err_convert does.
                0 => StackError.NetworkUnreachable,
                1 or 5 or 6 => StackError.AccessDenied,
                Icmpv6Type.CodePortUnreachable => StackError.ConnectionRefused,
                _ => StackError.HostUnreachable,
            },
        };

        int mtu = message.Type == Icmpv6Type.PacketTooBig ? (int)Math.Min(message.RestOfHeader, 65535) : 0;
        var decoded = new IcmpError(error, datagram.Source, InternetAddress.FromV6(quote[8..]), InternetAddress.FromV6(quote[24..]), chain.UpperProtocol, mtu);
        Dispatch(decoded, quote[chain.UpperOffset..]);
    }

    private void Dispatch(in IcmpError error, ReadOnlySpan<byte> quotedTransport)
    {
        _ip.TransportFor(error.QuotedProtocol)?.ReceiveIcmpError(error, quotedTransport);
    }

    public StackError OpenEcho(IcmpEchoEndpoint endpoint)
    {
        if (!_echoEndpoints.TryAdd(endpoint.Identifier, endpoint))
        {
            return StackError.AddressInUse;
        }

        return StackError.None;
    }

    public void CloseEcho(IcmpEchoEndpoint endpoint)
    {
        if (_echoEndpoints.TryGetValue(endpoint.Identifier, out IcmpEchoEndpoint? current) && current == endpoint)
        {
            _echoEndpoints.Remove(endpoint.Identifier);
        }
    }

    public StackError SendEchoRequest(InternetAddress destination, ushort identifier, ushort sequence, ReadOnlySpan<byte> data)
    {
        StackError error = _ip.Addresses.SelectSource(destination, out InternetAddress source);
        return error != StackError.None
            ? error
            : SendEcho(source, destination, destination.IsV6 ? Icmpv6Type.EchoRequest : Icmpv4Type.EchoRequest, identifier, sequence, data, Counter.IcmpEchoRequestsSent);
    }

    // An echo request or reply with the given header fields and data, counted once it is queued.
    private StackError SendEcho(InternetAddress source, InternetAddress destination, byte type, ushort identifier, ushort sequence, ReadOnlySpan<byte> data, Counter sent)
    {
        if (data.Length > _message.Length - IcmpMessage.HeaderLength - (destination.IsV6 ? 0 : Ipv4Packet.MinHeaderLength))
        {
            return StackError.MessageTooLong;
        }

        Span<byte> message = _message.AsSpan(0, IcmpMessage.HeaderLength + data.Length);
        data.CopyTo(message[IcmpMessage.HeaderLength..]);
        IcmpHeader.Echo(type, identifier, sequence).WriteTo(message, PseudoHeaderFor(source, destination, message.Length));
        StackError error = _ip.Output(source, destination, destination.IsV6 ? IpProtocol.IcmpV6 : IpProtocol.Icmp, message);
        if (error == StackError.None)
        {
            _counters.Increment(sent);
        }

        return error;
    }
}
