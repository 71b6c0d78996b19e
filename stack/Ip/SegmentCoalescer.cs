// Software GRO for a receive batch (Linux net/ipv4/tcp_offload.c tcp_gro_receive, in spirit):
// consecutive in-order TCP segments of one flow are merged into one segment before IP and TCP see
// them, so that they are processed once and acknowledged once.
using System.Buffers.Binary;
using TunStack.Links;
using TunStack.Storage;
using TunStack.Wire;

namespace TunStack.Ip;

/// <summary>
/// Merges runs of segments in a receive batch that Linux's GRO would merge: the same flow (addresses,
/// ports, family), each starting where the one before ended, the same ACK number, window, header
/// length, TTL and TOS (so the ECN field too: a CE mark is never merged away), options alike except
/// timestamp values, flags no more than ACK, an ECE the same in all (RFC 3168's echo, as Linux) and a
/// PSH that ends the run (never CWR), every segment the size of the first but the last, and valid checksums. The merged
/// segment keeps the first segment's headers (its options, a PSH if any segment had one) and is
/// handed on with its checksum marked as verified. Anything else goes on as it came.
/// </summary>
internal sealed class SegmentCoalescer
{
    private const int MaxMerged = 65535;

    private readonly StackCounters _counters;
    private readonly byte[] _merged = new byte[PacketOffload.MaxSuperSegmentLength];

    public SegmentCoalescer(StackCounters counters) => _counters = counters;

    /// <summary>Hands every packet of <paramref name="batch"/> to <paramref name="ip"/>, runs of mergeable segments as one.</summary>
    public void Deliver(PacketBatch batch, IpLayer ip)
    {
        int i = 0;
        while (i < batch.Count)
        {
            if (!Head.TryRead(batch[i], batch.OffloadAt(i), out Head head, out bool checksumChecked))
            {
                // A checksum verified here (a segment that cannot start a run, such as a request
                // with PSH) is not verified again.
                ip.Input(batch[i], checksumChecked ? new PacketOffload { Checksum = PacketChecksum.Verified } : batch.OffloadAt(i));
                i++;
                continue;
            }

            int next = i + 1;
            int length = 0;
            while (!head.Ended && next < batch.Count)
            {
                Verdict verdict = head.Accepts(batch[i], batch[next], batch.OffloadAt(next), length == 0 ? batch[i].Length : length);
                if (verdict == Verdict.OtherFlow)
                {
                    break;
                }

                if (verdict == Verdict.Refused)
                {
                    _counters.Increment(Counter.TcpCoalesceRefused);
                    break;
                }

                if (length == 0)
                {
                    if (!head.HeaderChecksumValid(batch[i]))
                    {
                        break; // the first goes on alone, for IPv4 input to drop and count
                    }

                    batch[i].CopyTo(_merged);
                    length = batch[i].Length;
                }

                ReadOnlySpan<byte> payload = batch[next][head.HeadersLength..];
                payload.CopyTo(_merged.AsSpan(length));
                length += payload.Length;
                head.Take(payload.Length, batch[next][head.IpHeaderLength + 13]);
                _counters.Increment(Counter.TcpSegmentsCoalesced);
                next++;
            }

            if (length == 0)
            {
                // Alone, its checksum verified already (or vouched for): not verified again.
                ip.Input(batch[i], new PacketOffload { Checksum = PacketChecksum.Verified });
            }
            else
            {
                Span<byte> merged = _merged.AsSpan(0, length);
                head.Finish(merged);
                ip.Input(merged, new PacketOffload { Checksum = PacketChecksum.Verified });
            }

            i = next;
        }
    }

    private enum Verdict
    {
        Merge,
        OtherFlow,
        Refused,
    }

    // The first segment of a run and what a segment must match to join it.
    private struct Head
    {
        private bool _v6;
        private int _mss;
        private uint _nextSequence;
        private byte _flags;
        private byte _lastFlags;

        public int IpHeaderLength { get; private set; }

        public int HeadersLength { get; private set; }

        /// <summary>A PSH or a short segment ended the run.</summary>
        public bool Ended { get; private set; }

        // A plain in-order data segment that may start a run: IPv4 without options or fragments,
        // or IPv6 with TCP as the first next header; ACK with no other flag; data; a checksum the
        // link vouched for or that verifies (checksumChecked: it did, whatever the flags).
        // Super-segments from the link go on alone.
        public static bool TryRead(ReadOnlySpan<byte> packet, in PacketOffload offload, out Head head, out bool checksumChecked)
        {
            head = default;
            checksumChecked = false;
            if (offload.Segmentation != PacketSegmentation.None || !TryParse(packet, offload, out int ip, out int headers))
            {
                return false;
            }

            checksumChecked = true;

            byte flags = packet[ip + 13];
            if ((flags & ~(byte)(TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Ece)) != 0 || (flags & (byte)TcpFlags.Ack) == 0 || (flags & (byte)TcpFlags.Psh) != 0)
            {
                return false;
            }

            head = new Head
            {
                _v6 = ip == Ipv6Packet.HeaderLength,
                IpHeaderLength = ip,
                HeadersLength = headers,
                _mss = packet.Length - headers,
                _nextSequence = BinaryPrimitives.ReadUInt32BigEndian(packet[(ip + 4)..]) + (uint)(packet.Length - headers),
                _flags = flags,
                _lastFlags = flags,
            };
            return true;
        }

        // The IP and TCP header lengths of a segment this coalescer understands, with a valid (or vouched-for) checksum.
        private static bool TryParse(ReadOnlySpan<byte> packet, in PacketOffload offload, out int ip, out int headers)
        {
            ip = headers = 0;
            if (packet.Length < 40)
            {
                return false;
            }

            uint pseudo;
            if (packet[0] >> 4 == 4)
            {
                // IHL 5, no MF, no fragment offset, TCP, Total Length = the packet. The header checksum
                // is checked only for segments that are merged (HeaderChecksumValid): one that goes
                // on alone is checked by IPv4 input, once.
                if (packet[0] != 0x45 || (BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & 0x3FFF) != 0 || packet[9] != IpProtocol.Tcp
                    || BinaryPrimitives.ReadUInt16BigEndian(packet[2..]) != packet.Length)
                {
                    return false;
                }

                ip = 20;
                pseudo = offload.Checksum == PacketChecksum.Unverified ? InternetChecksum.PseudoHeaderV4(packet.Slice(12, 4), packet.Slice(16, 4), IpProtocol.Tcp, packet.Length - 20) : 0;
            }
            else if (packet[0] >> 4 == 6 && packet.Length >= 60)
            {
                if (packet[6] != IpProtocol.Tcp || BinaryPrimitives.ReadUInt16BigEndian(packet[4..]) != packet.Length - 40)
                {
                    return false;
                }

                ip = 40;
                pseudo = offload.Checksum == PacketChecksum.Unverified ? InternetChecksum.PseudoHeaderV6(packet.Slice(8, 16), packet.Slice(24, 16), IpProtocol.Tcp, packet.Length - 40) : 0;
            }
            else
            {
                return false;
            }

            headers = ip + ((packet[ip + 12] >> 4) * 4);
            if (headers < ip + TcpSegment.MinHeaderLength || headers >= packet.Length)
            {
                return false; // a bad header length, or no data
            }

            // A partial checksum that starts anywhere but the TCP header is for IP input to refuse.
            if (offload.Checksum == PacketChecksum.Partial && (offload.ChecksumStart != ip || offload.ChecksumOffset != 16))
            {
                return false;
            }

            return offload.Checksum != PacketChecksum.Unverified || InternetChecksum.IsValid(InternetChecksum.Add(pseudo, packet[ip..]));
        }

        public readonly Verdict Accepts(ReadOnlySpan<byte> first, ReadOnlySpan<byte> candidate, in PacketOffload offload, int mergedLength)
        {
            int ip = IpHeaderLength;
            if (candidate.Length < HeadersLength || candidate[0] >> 4 != first[0] >> 4)
            {
                return Verdict.OtherFlow;
            }

            // The same flow: addresses, protocol, ports.
            bool sameAddresses = _v6
                ? candidate[6] == IpProtocol.Tcp && candidate.Slice(8, 32).SequenceEqual(first.Slice(8, 32))
                : candidate[9] == IpProtocol.Tcp && candidate.Slice(12, 8).SequenceEqual(first.Slice(12, 8));
            if (!sameAddresses || !candidate.Slice(ip, 4).SequenceEqual(first.Slice(ip, 4)))
            {
                return Verdict.OtherFlow;
            }

            if (offload.Segmentation != PacketSegmentation.None || !TryParse(candidate, offload, out int candidateIp, out int candidateHeaders)
                || candidateIp != ip || candidateHeaders != HeadersLength)
            {
                return Verdict.Refused;
            }

            // IPv4 TOS and TTL, IPv6 traffic class, flow label and hop limit: as the first's.
            bool sameIp = _v6
                ? candidate[..4].SequenceEqual(first[..4]) && candidate[7] == first[7]
                : candidate[1] == first[1] && candidate[8] == first[8];
            int payload = candidate.Length - HeadersLength;
            byte flags = candidate[ip + 13];
            if (!sameIp
                || !HeaderChecksumValid(candidate)
                || BinaryPrimitives.ReadUInt32BigEndian(candidate[(ip + 4)..]) != _nextSequence
                || !candidate.Slice(ip + 8, 4).SequenceEqual(first.Slice(ip + 8, 4))      // ACK number
                || !candidate.Slice(ip + 14, 2).SequenceEqual(first.Slice(ip + 14, 2))    // window
                || (flags & ~(byte)(TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Ece)) != 0 || (flags & (byte)TcpFlags.Ack) == 0
                || (flags & (byte)TcpFlags.Ece) != (_flags & (byte)TcpFlags.Ece)
                || !OptionsAlike(first[(ip + TcpSegment.MinHeaderLength)..HeadersLength], candidate[(ip + TcpSegment.MinHeaderLength)..HeadersLength])
                || payload > _mss
                || mergedLength + payload - (_v6 ? Ipv6Packet.HeaderLength : 0) > MaxMerged)
            {
                return Verdict.Refused;
            }

            return Verdict.Merge;
        }

        // Options byte for byte, but for the values of a timestamp option in the usual place
        // (NOP, NOP, TS): those move from segment to segment, and the first segment's are kept.
        private static bool OptionsAlike(ReadOnlySpan<byte> first, ReadOnlySpan<byte> candidate)
        {
            if (first.Length >= 12 && first[0] == TcpOptions.KindNop && first[1] == TcpOptions.KindNop && first[2] == TcpOptions.KindTimestamps && first[3] == 10)
            {
                return candidate[..4].SequenceEqual(first[..4]) && candidate[12..].SequenceEqual(first[12..]);
            }

            return candidate.SequenceEqual(first);
        }

        /// <summary>IPv4: the header checksum holds (a merged segment gets a new one, so it is checked before merging).</summary>
        public readonly bool HeaderChecksumValid(ReadOnlySpan<byte> packet) => _v6 || InternetChecksum.Compute(packet[..Ipv4Packet.MinHeaderLength]) == 0;

        public void Take(int payload, byte flags)
        {
            _nextSequence += (uint)payload;
            _lastFlags = flags;
            if ((flags & (byte)TcpFlags.Psh) != 0 || payload < _mss)
            {
                Ended = true;
            }
        }

        // Lengths (and the IPv4 header checksum) for the merged segment; a PSH of the last is kept.
        public readonly void Finish(Span<byte> merged)
        {
            if (_v6)
            {
                BinaryPrimitives.WriteUInt16BigEndian(merged[4..], (ushort)(merged.Length - 40));
            }
            else
            {
                BinaryPrimitives.WriteUInt16BigEndian(merged[2..], (ushort)merged.Length);
                merged[10] = 0;
                merged[11] = 0;
                BinaryPrimitives.WriteUInt16BigEndian(merged[10..], InternetChecksum.Compute(merged[..20]));
            }

            merged[IpHeaderLength + 13] = (byte)(_flags | (_lastFlags & (byte)TcpFlags.Psh));
        }
    }
}
