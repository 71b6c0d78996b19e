// tun-driver/ owns the Linux side: the TUN device as an ILink, rtnetlink configuration, and
// network namespaces. Errors carry a message a user can act on.
namespace TunStack.Tun;

/// <summary>A TUN, netlink or namespace operation failed; <see cref="Exception.Message"/> says what to do about it.</summary>
public class TunException : Exception
{
    /// <summary>Creates an exception with the errno that caused it (0 when none).</summary>
    public TunException(string message, int errno = 0)
        : base(message) => Errno = errno;

    /// <summary>Creates an exception.</summary>
    public TunException()
    {
    }

    /// <summary>Creates an exception.</summary>
    public TunException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>The errno behind the failure, or 0.</summary>
    public int Errno { get; }

    /// <summary>
    /// The advice for EPERM: which capability <paramref name="what"/> needs and how to get it, as
    /// docs/daemon.md describes (root; systemd's AmbientCapabilities= for CAP_NET_ADMIN; for a
    /// namespace, NetworkNamespacePath= so that the process starts inside it).
    /// </summary>
    public static string CapabilityAdvice(string what, string capability = "CAP_NET_ADMIN")
        => capability == "CAP_SYS_ADMIN"
            ? $"{what} needs CAP_SYS_ADMIN: run as root (sudo), or start the process inside the namespace "
              + "(systemd: NetworkNamespacePath=/run/netns/NAME; or ip netns exec NAME) and name no namespace; see docs/daemon.md"
            : $"{what} needs {capability}: run as root (sudo), or grant the capability to the service "
              + $"(systemd: AmbientCapabilities={capability}); see docs/daemon.md";
}
