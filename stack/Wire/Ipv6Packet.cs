// RFC 8200: Internet Protocol, Version 6.
using System.Buffers.Binary;

namespace TunStack.Wire;

/// <summary>
/// A read-only view of an IPv6 packet: the 40-byte fixed header and what Payload Length covers.
/// Jumbograms (Payload Length 0, RFC 2675) are refused.
/// </summary>
public readonly ref struct Ipv6Packet
{
    /// <summary>Length of the fixed header.</summary>
    public const int HeaderLength = 40;

    private readonly ReadOnlySpan<byte> _bytes;

    private Ipv6Packet(ReadOnlySpan<byte> bytes) => _bytes = bytes;

    /// <summary>Validates lengths and creates the view.</summary>
    public static bool TryCreate(ReadOnlySpan<byte> buffer, out Ipv6Packet packet, out WireError error)
    {
        packet = default;
        if (buffer.Length < HeaderLength)
        {
            error = WireError.Truncated;
            return false;
        }

        if (buffer[0] >> 4 != 6)
        {
            error = WireError.BadVersion;
            return false;
        }

        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(buffer[4..]);
        // RFC 8200 3: Payload Length counts everything after the fixed header. Zero with a
        // Hop-by-Hop header would be a jumbogram, which this stack does not support.
        if (HeaderLength + payloadLength > buffer.Length || (payloadLength == 0 && buffer[6] == IpProtocol.HopByHop))
        {
            error = WireError.BadLength;
            return false;
        }

        packet = new Ipv6Packet(buffer[..(HeaderLength + payloadLength)]);
        error = WireError.None;
        return true;
    }

    /// <summary>Creates the view, discarding the reason for a refusal.</summary>
    public static bool TryCreate(ReadOnlySpan<byte> buffer, out Ipv6Packet packet) => TryCreate(buffer, out packet, out _);

    /// <summary>The whole packet through the end of Payload Length.</summary>
    public ReadOnlySpan<byte> Datagram => _bytes;

    /// <summary>Traffic class.</summary>
    public byte TrafficClass => (byte)((BinaryPrimitives.ReadUInt16BigEndian(_bytes) >> 4) & 0xFF);

    /// <summary>Flow label (20 bits).</summary>
    public int FlowLabel => (int)(BinaryPrimitives.ReadUInt32BigEndian(_bytes) & 0xFFFFF);

    /// <summary>Payload Length.</summary>
    public int PayloadLength => _bytes.Length - HeaderLength;

    /// <summary>Next Header of the fixed header.</summary>
    public byte NextHeader => _bytes[6];

    /// <summary>Hop limit.</summary>
    public byte HopLimit => _bytes[7];

    /// <summary>Source address (16 bytes).</summary>
    public ReadOnlySpan<byte> Source => _bytes.Slice(8, 16);

    /// <summary>Destination address (16 bytes).</summary>
    public ReadOnlySpan<byte> Destination => _bytes.Slice(24, 16);

    /// <summary>Everything after the fixed header.</summary>
    public ReadOnlySpan<byte> Payload => _bytes[HeaderLength..];
}

/// <summary>An IPv6 fixed header as the stack writes it.</summary>
public record struct Ipv6Header
{
    /// <summary>Traffic class.</summary>
    public byte TrafficClass;
    /// <summary>Flow label (20 bits).</summary>
    public int FlowLabel;
    /// <summary>Payload Length.</summary>
    public ushort PayloadLength;
    /// <summary>Next Header.</summary>
    public byte NextHeader;
    /// <summary>Hop limit.</summary>
    public byte HopLimit;

    /// <summary>Parses the fixed header of a validated packet.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out Ipv6Header header)
    {
        header = default;
        if (!Ipv6Packet.TryCreate(buffer, out Ipv6Packet p))
        {
            return false;
        }

        header = new Ipv6Header
        {
            TrafficClass = p.TrafficClass,
            FlowLabel = p.FlowLabel,
            PayloadLength = (ushort)p.PayloadLength,
            NextHeader = p.NextHeader,
            HopLimit = p.HopLimit,
        };
        return true;
    }

    /// <summary>Writes the 40-byte header; the caller supplies the addresses (16 bytes each).</summary>
    public readonly int WriteTo(Span<byte> destination, ReadOnlySpan<byte> source, ReadOnlySpan<byte> target)
    {
        Span<byte> h = destination[..Ipv6Packet.HeaderLength];
        BinaryPrimitives.WriteUInt32BigEndian(h, (6u << 28) | ((uint)TrafficClass << 20) | ((uint)FlowLabel & 0xFFFFF));
        BinaryPrimitives.WriteUInt16BigEndian(h[4..], PayloadLength);
        h[6] = NextHeader;
        h[7] = HopLimit;
        source[..16].CopyTo(h[8..]);
        target[..16].CopyTo(h[24..]);
        return Ipv6Packet.HeaderLength;
    }
}

/// <summary>An IPv6 Fragment header (RFC 8200 4.5), 8 bytes.</summary>
public record struct Ipv6FragmentHeader
{
    /// <summary>Length of the header.</summary>
    public const int Length = 8;
    /// <summary>Next Header of the fragmented part.</summary>
    public byte NextHeader;
    /// <summary>Offset in bytes (a multiple of 8).</summary>
    public int FragmentOffset;
    /// <summary>M flag.</summary>
    public bool MoreFragments;
    /// <summary>Identification.</summary>
    public uint Identification;

    /// <summary>Parses 8 bytes.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out Ipv6FragmentHeader header)
    {
        header = default;
        if (buffer.Length < Length)
        {
            return false;
        }

        ushort offsetFlags = BinaryPrimitives.ReadUInt16BigEndian(buffer[2..]);
        header = new Ipv6FragmentHeader
        {
            NextHeader = buffer[0],
            FragmentOffset = offsetFlags & 0xFFF8,
            MoreFragments = (offsetFlags & 1) != 0,
            Identification = BinaryPrimitives.ReadUInt32BigEndian(buffer[4..]),
        };
        return true;
    }

    /// <summary>Writes 8 bytes.</summary>
    public readonly int WriteTo(Span<byte> destination)
    {
        destination[0] = NextHeader;
        destination[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)((FragmentOffset & 0xFFF8) | (MoreFragments ? 1 : 0)));
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], Identification);
        return Length;
    }
}

/// <summary>What the extension-header walk concluded (RFC 8200 4.1 processing order).</summary>
public enum Ipv6ChainVerdict
{
    /// <summary>Reached an upper-layer header (or No Next Header).</summary>
    Ok,
    /// <summary>Malformed or truncated extension header: drop silently and count.</summary>
    Malformed,
    /// <summary>Drop silently because an option said so (action 01, RFC 8200 4.2).</summary>
    DiscardSilently,
    /// <summary>Drop and send ICMPv6 Parameter Problem with <see cref="Ipv6Chain.ProblemCode"/> and <see cref="Ipv6Chain.ProblemPointer"/>.</summary>
    ParameterProblem,
    /// <summary>More extension headers than the walk allows.</summary>
    TooManyHeaders,
}

/// <summary>
/// The result of walking an IPv6 extension-header chain. The walk stops at the Fragment header
/// when one is present: the rest belongs to the reassembled packet.
/// </summary>
public record struct Ipv6Chain
{
    /// <summary>The outcome.</summary>
    public Ipv6ChainVerdict Verdict;
    /// <summary>Upper-layer protocol (or 44 when stopped at a Fragment header).</summary>
    public byte UpperProtocol;
    /// <summary>Offset of the upper-layer header (or of the Fragment header) from the start of the packet.</summary>
    public int UpperOffset;
    /// <summary>Offset of the Next Header byte that named <see cref="UpperProtocol"/>.</summary>
    public int NextHeaderFieldOffset;
    /// <summary>ICMPv6 Parameter Problem code (RFC 4443 3.4).</summary>
    public byte ProblemCode;
    /// <summary>ICMPv6 Parameter Problem pointer.</summary>
    public int ProblemPointer;
    /// <summary>True when an option with action 11 caused the problem: no ICMP if the destination was multicast.</summary>
    public bool ProblemOnlyIfUnicast;
    /// <summary>Extension headers walked.</summary>
    public int HeaderCount;

    /// <summary>Bound on the number of extension headers walked.</summary>
    public const int MaxHeaders = 8;

    /// <summary>
    /// Walks Hop-by-Hop, Routing, Destination Options up to an upper-layer header, a Fragment header
    /// or No Next Header. <paramref name="start"/> and <paramref name="nextHeader"/> let a walk resume
    /// after reassembly. The walk is bounded by <see cref="MaxHeaders"/> and by the buffer.
    /// </summary>
    public static Ipv6Chain Walk(ReadOnlySpan<byte> packet, int start, byte nextHeader, int nextHeaderFieldOffset)
    {
        Ipv6Chain chain = default;
        int offset = start;
        int fieldOffset = nextHeaderFieldOffset;
        while (true)
        {
            switch (nextHeader)
            {
                case IpProtocol.HopByHop:
                    // RFC 8200 4.1: Hop-by-Hop only immediately after the IPv6 header.
                    if (offset != Ipv6Packet.HeaderLength)
                    {
                        return Problem(ref chain, 1, fieldOffset, onlyIfUnicast: false);
                    }

                    goto case IpProtocol.DestinationOptions;
                case IpProtocol.DestinationOptions:
                case IpProtocol.Routing:
                {
                    if (++chain.HeaderCount > MaxHeaders)
                    {
                        chain.Verdict = Ipv6ChainVerdict.TooManyHeaders;
                        return chain;
                    }

                    if (offset + 2 > packet.Length)
                    {
                        chain.Verdict = Ipv6ChainVerdict.Malformed;
                        return chain;
                    }

                    int length = (packet[offset + 1] + 1) * 8;
                    if (offset + length > packet.Length)
                    {
                        chain.Verdict = Ipv6ChainVerdict.Malformed;
                        return chain;
                    }

                    if (nextHeader == IpProtocol.Routing)
                    {
                        // RFC 8200 4.4: Segments Left 0 is ignored; otherwise this host would have to
                        // forward, which it never does: every routing type is "unrecognized" here
                        // (type 0 is deprecated by RFC 5095 anyway).
                        if (packet[offset + 3] != 0)
                        {
                            return Problem(ref chain, 0, offset + 2, onlyIfUnicast: false);
                        }
                    }
                    else
                    {
                        Ipv6ChainVerdict options = WalkOptions(packet.Slice(offset, length), offset, ref chain);
                        if (options != Ipv6ChainVerdict.Ok)
                        {
                            chain.Verdict = options;
                            return chain;
                        }
                    }

                    fieldOffset = offset;
                    nextHeader = packet[offset];
                    offset += length;
                    break;
                }

                default:
                    // Upper layer, Fragment (44) or No Next Header (59): the caller decides.
                    chain.Verdict = Ipv6ChainVerdict.Ok;
                    chain.UpperProtocol = nextHeader;
                    chain.UpperOffset = offset;
                    chain.NextHeaderFieldOffset = fieldOffset;
                    return chain;
            }
        }
    }

    private static Ipv6Chain Problem(ref Ipv6Chain chain, byte code, int pointer, bool onlyIfUnicast)
    {
        chain.Verdict = Ipv6ChainVerdict.ParameterProblem;
        chain.ProblemCode = code;
        chain.ProblemPointer = pointer;
        chain.ProblemOnlyIfUnicast = onlyIfUnicast;
        return chain;
    }

    // RFC 8200 4.2: TLV options; the two high bits of an unrecognized type say what to do.
    private static Ipv6ChainVerdict WalkOptions(ReadOnlySpan<byte> header, int headerOffset, ref Ipv6Chain chain)
    {
        int i = 2;
        while (i < header.Length)
        {
            byte type = header[i];
            if (type == 0)
            {
                i++; // Pad1
                continue;
            }

            if (i + 1 >= header.Length)
            {
                return Ipv6ChainVerdict.Malformed;
            }

            int length = header[i + 1] + 2;
            if (i + length > header.Length)
            {
                return Ipv6ChainVerdict.Malformed;
            }

            // PadN (1) and Router Alert (5, RFC 2711, carried by MLD) are understood.
            if (type != 1 && type != 5)
            {
                switch (type >> 6)
                {
                    case 0:
                        break;
                    case 1:
                        return Ipv6ChainVerdict.DiscardSilently;
                    case 2:
                        Problem(ref chain, 2, headerOffset + i, onlyIfUnicast: false);
                        return Ipv6ChainVerdict.ParameterProblem;
                    default:
                        Problem(ref chain, 2, headerOffset + i, onlyIfUnicast: true);
                        return Ipv6ChainVerdict.ParameterProblem;
                }
            }

            i += length;
        }

        return Ipv6ChainVerdict.Ok;
    }
}
