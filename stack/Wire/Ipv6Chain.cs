// RFC 8200 4: the IPv6 extension-header chain.

namespace TunStack.Wire;

/// <summary>
/// The result of walking an IPv6 extension-header chain. The walk stops at the Fragment header
/// when one is present: the rest belongs to the reassembled packet.
/// </summary>
internal record struct Ipv6Chain
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
