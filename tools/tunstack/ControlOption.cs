using System.CommandLine;

namespace TunStack.Cli;

/// <summary>The <c>--control</c> option of the long-running commands (up, forward): where the control socket goes.</summary>
public static class ControlOption
{
    /// <summary>Creates the option.</summary>
    public static Option<string> Create() => new("--control")
    {
        Description = "The control socket for 'tunstack ss', 'stats' and 'status': a path, or none (default /run/tunstack/NAME.sock for root, "
            + "$XDG_RUNTIME_DIR/tunstack/NAME.sock for other users; NAME is the --netns name, else the TUN's).",
    };
}
