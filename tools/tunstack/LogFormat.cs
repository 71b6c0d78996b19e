namespace TunStack.Cli;

/// <summary>How <see cref="ConsoleLog"/> writes a line (<c>--log-format</c>).</summary>
public enum LogFormat
{
    /// <summary>"2026-11-22T00:30:00.123Z info  message": for a terminal or a file.</summary>
    Text,
    /// <summary>One JSON object per line: time, level, message and the event's fields; for log shippers.</summary>
    Json,
    /// <summary>"&lt;6&gt;message": a syslog priority prefix and no time stamp, for systemd's journal (which stamps lines itself).</summary>
    Journal,
}
