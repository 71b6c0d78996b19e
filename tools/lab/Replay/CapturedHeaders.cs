using System.Buffers.Binary;
using TunStack.Ip;
using TunStack.Wire;

namespace TunStack.Lab.Replay;

/// <summary>
/// The addresses and transport header of one captured IP packet, read in place: enough to tell
/// which host sent it, which flow it belongs to, and where its TCP fields sit for rewriting.
/// Only a transport header right after the IP header is read (IPv6 extension headers and
/// fragments are replayed unchanged).
/// </summary>
internal readonly struct CapturedHeaders
{
    private CapturedHeaders(InternetAddress source, InternetAddress destination, byte protocol, int transportOffset, int transportLength)
    {
        Source = source;
        Destination = destination;
        Protocol = protocol;
        TransportOffset = transportOffset;
        TransportLength = transportLength;
    }

    public InternetAddress Source { get; }

    public InternetAddress Destination { get; }

    public byte Protocol { get; }

    /// <summary>Where the transport header starts; -1 when it could not be read (a fragment, an extension header, a short packet).</summary>
    public int TransportOffset { get; }

    public int TransportLength { get; }

    public bool IsTcp => Protocol == IpProtocol.Tcp && TransportOffset >= 0 && TransportLength >= TcpSegment.MinHeaderLength;

    public bool IsUdp => Protocol == IpProtocol.Udp && TransportOffset >= 0 && TransportLength >= 8;

    /// <summary>Reads <paramref name="packet"/>; false when it is not a well-formed IPv4 or IPv6 packet.</summary>
    public static bool TryRead(ReadOnlySpan<byte> packet, out CapturedHeaders headers)
    {
        headers = default;
        if (Ipv4Packet.TryCreate(packet, out Ipv4Packet v4, out _))
        {
            int offset = v4.HeaderLength;
            bool whole = !v4.MoreFragments && v4.FragmentOffset == 0;
            headers = new CapturedHeaders(InternetAddress.FromV4(v4.Source), InternetAddress.FromV4(v4.Destination), v4.Protocol, whole ? offset : -1, v4.TotalLength - offset);
            return true;
        }

        if (Ipv6Packet.TryCreate(packet, out Ipv6Packet v6, out _))
        {
            byte protocol = v6.NextHeader;
            bool direct = protocol is IpProtocol.Tcp or IpProtocol.Udp;
            headers = new CapturedHeaders(InternetAddress.FromV6(v6.Source), InternetAddress.FromV6(v6.Destination), protocol, direct ? Ipv6Packet.HeaderLength : -1, v6.PayloadLength);
            return true;
        }

        return false;
    }

    public ushort SourcePort(ReadOnlySpan<byte> packet) => BinaryPrimitives.ReadUInt16BigEndian(packet[TransportOffset..]);

    public ushort DestinationPort(ReadOnlySpan<byte> packet) => BinaryPrimitives.ReadUInt16BigEndian(packet[(TransportOffset + 2)..]);

    public TcpFlags TcpFlags(ReadOnlySpan<byte> packet) => (TcpFlags)packet[TransportOffset + 13];

    public uint TcpSequence(ReadOnlySpan<byte> packet) => BinaryPrimitives.ReadUInt32BigEndian(packet[(TransportOffset + 4)..]);

    /// <summary>The TCP segment (header and payload) as the transport length bounds it.</summary>
    public Span<byte> Transport(Span<byte> packet) => packet.Slice(TransportOffset, TransportLength);
}
