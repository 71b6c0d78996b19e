namespace TunStack.Cli;

/// <summary>Log levels, most severe first.</summary>
public enum LogLevel
{
    /// <summary>Failures.</summary>
    Error,
    /// <summary>Problems the daemon works around.</summary>
    Warn,
    /// <summary>Lifecycle events (the default).</summary>
    Info,
    /// <summary>Per-datagram detail.</summary>
    Debug,
}
