// RFC 4987 3.6: SYN cookies. A listener whose SYN queue is full answers a SYN without keeping
// state: the SYN-ACK's sequence number encodes what the connection needs, and the ACK that
// returns it (SEG.ACK - 1) re-creates the connection.
using TunStack.Wire;

namespace TunStack.Tcp;

/// <summary>
/// Makes and checks cookies: 8 bits of a 64-second counter, 3 bits of MSS index, and 21 bits of a
/// keyed hash of the 4-tuple, the counter, the client's ISN and the index, which must match
/// exactly (so a cookie off by a little never validates). Window scale, SACK-permitted and the ECN
/// agreement travel in the low bits of our TSval when the client sent timestamps, as Linux does.
/// </summary>
internal sealed class SynCookies
{
    private const int PeriodSeconds = 64;

    // Low 6 bits of our TSval in a cookie SYN-ACK: window scale + 1 (0 = none) in bits 0-3, SACK in
    // bit 4, ECN (RFC 3168, agreed in the SYN-ACK) in bit 5, so that they survive without state when
    // the client echoes TSval.
    private const uint OptionMask = 0x3F;
    private const uint SackBit = 0x10;
    private const uint EcnBit = 0x20;

    // MSS values a cookie can carry, by index (3 bits), as Linux's syncookies.
    private static readonly ushort[] s_mssV4 = { 536, 1200, 1300, 1400, 1440, 1452, 1460, 8960 };
    private static readonly ushort[] s_mssV6 = { 1220, 1280, 1300, 1400, 1420, 1432, 1440, 8940 };

    private readonly TupleHash _hash;

    public SynCookies(TupleHash hash) => _hash = hash;

    /// <summary>The cookie (our ISN) for a SYN from <paramref name="clientIsn"/> with an MSS of <paramref name="mss"/> (rounded down to the table).</summary>
    public SeqNumber Create(TcpTuple tuple, SeqNumber clientIsn, int mss, Instant now)
    {
        ushort[] table = tuple.Remote.Address.IsV6 ? s_mssV6 : s_mssV4;
        int index = 0;
        while (index + 1 < table.Length && table[index + 1] <= mss)
        {
            index++;
        }

        uint counter = Counter(now);
        uint hash = Hash(tuple, clientIsn, counter, (uint)index);
        return new SeqNumber(((counter & 0xFF) << 24) | ((uint)index << 21) | (hash & 0x1FFFFF));
    }

    /// <summary>Checks a cookie returned in SEG.ACK - 1 (current or previous period); gives the MSS it carries.</summary>
    public bool TryValidate(TcpTuple tuple, SeqNumber clientIsn, SeqNumber cookie, Instant now, out int mss)
    {
        ushort[] table = tuple.Remote.Address.IsV6 ? s_mssV6 : s_mssV4;
        uint current = Counter(now);
        for (uint counter = current; counter + 1 >= current && counter <= current; counter--)
        {
            uint index = (cookie.Value >> 21) & 0x7;
            if ((cookie.Value >> 24) == (counter & 0xFF) && (cookie.Value & 0x1FFFFF) == (Hash(tuple, clientIsn, counter, index) & 0x1FFFFF))
            {
                mss = table[index];
                return true;
            }

            if (counter == 0)
            {
                break;
            }
        }

        mss = 0;
        return false;
    }

    /// <summary>
    /// The options of a cookie SYN-ACK: our MSS, and when the client sent timestamps, timestamps
    /// whose TSval carries window scale (<paramref name="shift"/>, if the client offered scaling)
    /// and SACK-permitted, and <paramref name="ecn"/>, whether the SYN-ACK agrees to ECN. Without
    /// timestamps there is nowhere to keep them: all three are off (as Linux), so a cookie SYN-ACK
    /// agrees to ECN only when the client sent timestamps.
    /// </summary>
    public static TcpOptions SynAckOptions(in TcpOptions theirs, int ourMss, int shift, bool ecn, SeqNumber cookie, Instant now)
    {
        TcpOptions options = TcpOptions.None;
        options.Mss = (ushort)ourMss;
        if (theirs.HasTimestamps)
        {
            options.HasTimestamps = true;
            uint encoded = (uint)(theirs.WindowScale >= 0 ? (shift + 1) : 0) | (theirs.SackPermitted ? SackBit : 0) | (ecn ? EcnBit : 0);
            // The connection's TSval clock continues from now + cookie: the encoded TSval must not be
            // ahead of that clock, or our first data segments would carry a smaller TSval than the
            // SYN-ACK and the peer's PAWS (RFC 7323 5.3) would drop them. As Linux's
            // cookie_init_timestamp, step back one option period when putting the bits in moved it ahead.
            uint clock = (uint)(now.Microseconds / 1000) + cookie.Value;
            uint value = (clock & ~OptionMask) | encoded;
            if (unchecked((int)(value - clock)) > 0)
            {
                value -= OptionMask + 1;
            }

            options.TimestampValue = value;
            options.TimestampEcho = theirs.TimestampValue;
            options.SackPermitted = theirs.SackPermitted;
            if (theirs.WindowScale >= 0)
            {
                options.WindowScale = (sbyte)shift;
            }
        }

        return options;
    }

    /// <summary>Window scale (-1: none), SACK-permitted and the ECN agreement, from the TSecr of the ACK that returns a cookie.</summary>
    public static void DecodeOptions(in TcpOptions ackOptions, out int windowScale, out bool sack, out bool ecn)
    {
        windowScale = -1;
        sack = false;
        ecn = false;
        if (ackOptions.HasTimestamps)
        {
            uint encoded = ackOptions.TimestampEcho & OptionMask;
            windowScale = (int)(encoded & 0xF) - 1;
            sack = (encoded & SackBit) != 0;
            ecn = (encoded & EcnBit) != 0;
        }
    }

    private static uint Counter(Instant now) => (uint)(now.Microseconds / 1_000_000 / PeriodSeconds);

    private uint Hash(TcpTuple tuple, SeqNumber clientIsn, uint counter, uint index) => _hash.Compute(tuple, [clientIsn.Value, counter, index]);
}
