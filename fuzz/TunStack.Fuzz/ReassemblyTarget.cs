// RFC 791 3.2 / RFC 815 (IPv4) and RFC 8200 4.5 (IPv6) reassembly, RFC 5722 overlaps.
using TunStack.Ip;
using TunStack.Links;

namespace TunStack.Fuzz;

/// <summary>
/// The reassembler, fed a sequence of fragments decoded from the input. The first byte picks the
/// family; then each fragment is five bytes: flags (bit 0 More Fragments, bits 1-2 which of four
/// datagrams, bits 4-7 a clock step before it), the offset in 8-byte units and the data length.
/// Each datagram's data is a pattern of its offset, so a completed datagram must read back as
/// the pattern from its first byte to its last, behind its first fragment's header, and every
/// byte of it must have been given since that datagram last completed. Bounds are small (three
/// datagrams, 128 KiB, 16 fragments) so that eviction is reached; after the last fragment the
/// clock runs past the timeout and nothing may be left held.
/// </summary>
internal static class ReassemblyTarget
{
    public const byte V6 = 1;
    public const byte More = 1;
    private const int Keys = 4, MemoryLimit = 128 * 1024, MaxDatagrams = 3, MaxFragments = 16, MaxFragmentsPerInput = 256;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static void Run(ReadOnlySpan<byte> input)
    {
        var reader = new FuzzInputReader(input);
        bool v6 = (reader.Byte() & V6) != 0;
        var counters = new StackCounters();
        Instant now = Instant.FromMilliseconds(1000);
        var timers = new TimerWheel(now);
        byte[][] headers = new byte[Keys][];
        for (int k = 0; k < Keys; k++)
        {
            headers[k] = Header(v6, k);
        }

        var reassembler = new Reassembler(counters, timers, Timeout, MemoryLimit, MaxDatagrams, MaxFragments, (quote, _) =>
        {
            // RFC 792 / RFC 8200 4.5: the Time Exceeded quote starts with the first fragment's header.
            InvariantViolationException.Check(quote.Length >= Ipv4QuoteMinimum(v6) && (quote[0] >> 4) == (v6 ? 6 : 4), $"a {quote.Length}-byte reassembly timeout quote");
        });
        var given = new List<(int Start, int End)>[Keys];
        for (int k = 0; k < Keys; k++)
        {
            given[k] = new();
        }

        byte[] output = new byte[PacketOffload.MaxSuperSegmentLength];
        for (int n = 0; n < MaxFragmentsPerInput && reader.Remaining > 0; n++)
        {
            byte flags = reader.Byte();
            int offset = (reader.UInt16() & 0x1FFF) * 8;
            int length = reader.UInt16() & 0x0FFF;
            int key = (flags >> 1) & 3;
            bool more = (flags & More) != 0;
            int step = flags >> 4;
            if (step != 0)
            {
                now += TimeSpan.FromSeconds(step * step);
                timers.Advance(now);
            }

            var data = new byte[length];
            Fill(data, key, offset);
            given[key].Add((offset, offset + length));
            byte[] header = offset == 0 ? headers[key] : Array.Empty<byte>();
            var fragmentKey = new FragmentKey(Address(v6, 1), Address(v6, 2), (uint)key, v6 ? (byte)0 : (byte)17);
            ReassemblyOutcome outcome = reassembler.Add(fragmentKey, header, offset, more, data, v6 ? 6 : -1, 17, now, output, out int outputLength, out int headerLength);
            if (outcome == ReassemblyOutcome.Complete)
            {
                CheckComplete(output.AsSpan(0, outputLength), headerLength, headers[key], v6, key, given[key]);
                given[key].Clear();
            }

            InvariantViolationException.Check(reassembler.InProgress <= MaxDatagrams, $"{reassembler.InProgress} datagrams in reassembly, bound {MaxDatagrams}");
            InvariantViolationException.Check(reassembler.MemoryUsed >= 0 && reassembler.MemoryUsed <= MemoryLimit, $"reassembly holds {reassembler.MemoryUsed} bytes, bound {MemoryLimit}");
        }

        now += Timeout + TimeSpan.FromSeconds(1);
        timers.Advance(now);
        InvariantViolationException.Check(reassembler.InProgress == 0 && reassembler.MemoryUsed == 0,
            $"after the timeout reassembly still holds {reassembler.InProgress} datagrams and {reassembler.MemoryUsed} bytes");
    }

    private static int Ipv4QuoteMinimum(bool v6) => v6 ? 40 : 20;

    private static void CheckComplete(ReadOnlySpan<byte> whole, int headerLength, byte[] header, bool v6, int key, List<(int Start, int End)> given)
    {
        InvariantViolationException.Check(headerLength == header.Length, $"reassembled header of {headerLength} bytes, the first fragment had {header.Length}");
        ReadOnlySpan<byte> expectedHeader = header;
        for (int i = 0; i < headerLength; i++)
        {
            // IPv6: the Next Header that named the Fragment header now names what followed it.
            byte expected = v6 && i == 6 ? (byte)17 : expectedHeader[i];
            InvariantViolationException.Check(whole[i] == expected, $"reassembled header byte {i} is {whole[i]}, the first fragment's is {expected}");
        }

        ReadOnlySpan<byte> data = whole[headerLength..];
        for (int i = 0; i < data.Length; i++)
        {
            InvariantViolationException.Check(data[i] == PatternAt(key, i), $"reassembled byte {i} of datagram {key} is not the byte sent there");
        }

        // Every byte of the datagram was given by some fragment since it last completed.
        given.Sort();
        int covered = 0;
        foreach ((int start, int end) in given)
        {
            if (start > covered)
            {
                break;
            }

            covered = Math.Max(covered, end);
        }

        InvariantViolationException.Check(covered >= data.Length, $"datagram {key} completed with {data.Length} bytes, but fragments covered only the first {covered}");
    }

    private static void Fill(Span<byte> data, int key, int offset)
    {
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = PatternAt(key, offset + i);
        }
    }

    private static byte PatternAt(int key, int offset) => StreamPattern.At(((long)key << 20) + offset);

    // The unfragmentable part each datagram's first fragment carries: an IPv4 header with
    // 4 * key bytes of options, or the IPv6 fixed header and 8 * key bytes of extension headers.
    private static byte[] Header(bool v6, int key)
    {
        var header = new byte[v6 ? 40 + (8 * key) : 20 + (4 * key)];
        for (int i = 0; i < header.Length; i++)
        {
            header[i] = (byte)(i * 31 + key);
        }

        header[0] = v6 ? (byte)0x60 : (byte)(0x40 | (header.Length / 4));
        if (v6)
        {
            header[6] = 44; // as received: the fixed header names the Fragment header
        }

        return header;
    }

    private static InternetAddress Address(bool v6, byte last)
        => v6 ? InternetAddress.Parse($"fd00::{last}") : InternetAddress.FromV4(0x0A000000u | last);

    public static IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        // Two fragments of datagram 0 in order, then out of order; an overlap; one past 65,535 bytes; a timeout.
        yield return ("v4-two-in-order", [0, .. Fragment(More, 0, 0, 16), .. Fragment(0, 0, 2, 5)]);
        yield return ("v4-two-reversed", [0, .. Fragment(0, 0, 2, 5), .. Fragment(More, 0, 0, 16)]);
        yield return ("v6-three-datagrams-interleaved", [V6, .. Fragment(More, 0, 0, 8), .. Fragment(More | 2, 0, 0, 8), .. Fragment(0, 0, 1, 3), .. Fragment(4, 0, 1, 1), .. Fragment(More | 4, 0, 0, 8)]);
        yield return ("v4-partial-overlap", [0, .. Fragment(More, 0, 0, 16), .. Fragment(More, 0, 1, 16), .. Fragment(0, 0, 4, 1)]);
        yield return ("v4-duplicate", [0, .. Fragment(More, 0, 0, 16), .. Fragment(More, 0, 0, 8), .. Fragment(0, 0, 2, 1)]);
        yield return ("v6-oversize", [V6, .. Fragment(More, 0, 0, 8), .. Fragment(0, 0x1F, 0xFF, 0x80)]);
        yield return ("v4-timeout-after-first", [0, .. Fragment(More, 0, 0, 16), .. Fragment(0xF0, 0, 2, 1)]);
        yield return ("v4-evict-for-count", [0, .. Fragment(More, 0, 0, 8), .. Fragment(More | 2, 0, 0, 8), .. Fragment(More | 4, 0, 0, 8), .. Fragment(More | 6, 0, 0, 8)]);
    }

    private static byte[] Fragment(int flags, byte offsetHigh, byte offsetLow, byte length) => [(byte)flags, offsetHigh, offsetLow, 0, length];
}
