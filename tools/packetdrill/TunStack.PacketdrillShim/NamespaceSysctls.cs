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

    private static int? ReadInteger(string name)
    {
        try
        {
            return int.TryParse(File.ReadAllText(Directory + name).Trim(), out int value) ? value : null;
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
