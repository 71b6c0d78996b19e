namespace TunStack.Tun;

/// <summary>
/// The process lacks a privilege the operation needs: a capability (<see cref="Capability"/>,
/// CAP_NET_ADMIN for a TUN device and its addresses, CAP_SYS_ADMIN for a network namespace) or
/// access to the TUN clone device. The message names it and the fix docs/daemon.md recommends, so
/// an application can catch this type and show the message as it is.
/// </summary>
public sealed class TunPermissionException : TunException
{
    /// <summary>Creates an exception for a missing <paramref name="capability"/> (null when a file permission is missing).</summary>
    public TunPermissionException(string message, string? capability, int errno)
        : base(message, errno) => Capability = capability;

    /// <summary>Creates an exception.</summary>
    public TunPermissionException()
    {
    }

    /// <summary>Creates an exception.</summary>
    public TunPermissionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception.</summary>
    public TunPermissionException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>The missing capability ("CAP_NET_ADMIN" or "CAP_SYS_ADMIN"), or null when the process may not open a file it needs.</summary>
    public string? Capability { get; }
}
