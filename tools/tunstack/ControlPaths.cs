namespace TunStack.Cli;

/// <summary>
/// Where a daemon's control socket lives and what it is called. A daemon (up, forward) listens on
/// DIRECTORY/NAME.sock: DIRECTORY is /run/tunstack for root, and $XDG_RUNTIME_DIR/tunstack for
/// any other user who has one (a daemon running with capabilities rather than as root); NAME is
/// the network namespace's name with --netns (namespace names are unique on the machine, TUN
/// names only within their namespace), else the TUN device's. <c>--control PATH</c> picks
/// another path, <c>--control none</c> none. The clients (ss, stats, status) look in both
/// directories.
/// </summary>
public static class ControlPaths
{
    /// <summary>The directory of root's daemons.</summary>
    public const string SystemDirectory = "/run/tunstack";

    /// <summary>The value of --control that turns the socket off.</summary>
    public const string None = "none";

    /// <summary>The socket files' suffix.</summary>
    public const string Suffix = ".sock";

    /// <summary>The effective user id of this process.</summary>
    public static uint UserId { get; } = GetEffectiveUserId();

    /// <summary>The directory this process's daemons put their sockets in.</summary>
    public static string DefaultDirectory => UserId != 0 && UserRuntimeDirectory is { } own ? own : SystemDirectory;

    /// <summary>The directories a client looks in: root's, then this user's own runtime directory (when not root).</summary>
    public static IReadOnlyList<string> SearchDirectories
        => UserId != 0 && UserRuntimeDirectory is { } own ? [SystemDirectory, own] : [SystemDirectory];

    // $XDG_RUNTIME_DIR/tunstack, or null when the variable is unset or not absolute.
    private static string? UserRuntimeDirectory
        => Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } runtime && Path.IsPathRooted(runtime) ? Path.Combine(runtime, "tunstack") : null;

    /// <summary>The name a daemon with <paramref name="settings"/> answers to: its namespace's, else its TUN's.</summary>
    public static string DefaultName(TunSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.Netns ?? settings.Tun;
    }

    /// <summary>
    /// The socket path for a daemon: <paramref name="option"/> (the value of --control) when given,
    /// null for "none", else DIRECTORY/NAME.sock. Returns a one-line problem for a value that cannot be a path.
    /// </summary>
    public static string? ForDaemon(string? option, TunSettings settings, out string? path)
    {
        ArgumentNullException.ThrowIfNull(settings);
        path = null;
        if (option is null)
        {
            path = Path.Combine(DefaultDirectory, DefaultName(settings) + Suffix);
            return null;
        }

        if (option == None)
        {
            return null;
        }

        if (option.Length == 0 || option.EndsWith('/') || option.Contains('\0', StringComparison.Ordinal))
        {
            return $"{settings.Label("control")}: '{option}' is not a socket path (give a file path such as /run/tunstack/NAME.sock, or none)";
        }

        // sun_path holds 107 bytes and a terminating zero.
        string full = Path.GetFullPath(option);
        if (System.Text.Encoding.UTF8.GetByteCount(full) > 107)
        {
            return $"{settings.Label("control")}: '{option}' is longer than a Unix socket path may be (107 bytes)";
        }

        path = full;
        return null;
    }

    // The effective uid: the second number of /proc/self/status's "Uid:" line (real, effective, saved, filesystem).
    private static uint GetEffectiveUserId()
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal));
        return uint.Parse(line.Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[2], System.Globalization.CultureInfo.InvariantCulture);
    }
}
