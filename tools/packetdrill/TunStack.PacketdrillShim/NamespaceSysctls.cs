// The kernel TCP settings of the network namespace packetdrill runs in that have a TunStack
// counterpart. A script configures Linux with sysctls (common/defaults.sh, set_sysctls.py), which
// land in that namespace's kernel; the shim reads them there and gives them to the stack, so the
// script configures the stack under test as it would configure Linux.
namespace TunStack.PacketdrillShim;

/// <summary>Reads <c>/proc/sys/net/ipv4</c> of the shim's namespace.</summary>
internal static class NamespaceSysctls
{
    private const string Directory = "/proc/sys/net/ipv4/";

    /// <summary>
    /// net.ipv4.tcp_slow_start_after_idle (defaults.sh sets 0, the slow_start scripts 1); null when
    /// it cannot be read, so that the profile's value stays.
    /// </summary>
    public static bool? SlowStartAfterIdle()
        => ReadInteger("tcp_slow_start_after_idle") is int value ? value != 0 : null;

    /// <summary>net.ipv4.tcp_ecn (0, 1 or 2, the numbers of <see cref="TcpEcnMode"/>); null when unreadable or another value.</summary>
    public static TcpEcnMode? Ecn()
        => ReadInteger("tcp_ecn") is int value && value is >= 0 and <= 2 ? (TcpEcnMode)value : null;

    /// <summary>
    /// net.ipv4.tcp_notsent_lowat in bytes, 0 for none (Linux's default, UINT_MAX, is none); null when
    /// it cannot be read.
    /// </summary>
    public static int? NotSentLowWatermark()
        => ReadNumber("tcp_notsent_lowat") is long value && value >= 0 ? (value > int.MaxValue ? 0 : (int)value) : null;

    /// <summary>net.ipv4.tcp_min_tso_segs (Linux's default 2; the slow_start scripts set 10); null when unreadable or below 1.</summary>
    public static int? MinTsoSegments()
        => ReadInteger("tcp_min_tso_segs") is int value && value >= 1 ? value : null;

    private static int? ReadInteger(string name)
        => ReadNumber(name) is long value && value is >= int.MinValue and <= int.MaxValue ? (int)value : null;

    private static long? ReadNumber(string name)
    {
        try
        {
            return long.TryParse(File.ReadAllText(Directory + name).Trim(), out long value) ? value : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
