using System.Globalization;

namespace TunStack.Cli;

/// <summary>One line per event on a writer, no colour: "2026-11-22T00:30:00.123Z info  message".</summary>
public sealed class ConsoleLog
{
    private readonly TextWriter _output;
    private readonly object _lock = new();

    /// <summary>Creates a log at <paramref name="level"/>.</summary>
    public ConsoleLog(TextWriter output, LogLevel level)
    {
        _output = output;
        Level = level;
    }

    /// <summary>The most detailed level written (a reload may change it).</summary>
    public LogLevel Level { get; set; }

    /// <summary>True when debug lines are written: check it before building an expensive message.</summary>
    public bool IsDebug => Level >= LogLevel.Debug;

    /// <summary>Writes <paramref name="message"/> if <paramref name="level"/> is enabled.</summary>
    public void Write(LogLevel level, string message)
    {
        if (level <= Level)
        {
            WriteLine(level, message);
        }
    }

    /// <summary>Writes what the user asked for (a dump on SIGUSR1, say) as info, whatever the level.</summary>
    public void Report(string message) => WriteLine(LogLevel.Info, message);

    /// <summary>Error.</summary>
    public void Error(string message) => Write(LogLevel.Error, message);

    private void WriteLine(LogLevel level, string message)
    {
        string line = string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {level.ToString().ToLowerInvariant(),-5} {message}");
        lock (_lock)
        {
            _output.WriteLine(line);
            _output.Flush();
        }
    }

    /// <summary>Info.</summary>
    public void Info(string message) => Write(LogLevel.Info, message);

    /// <summary>Debug.</summary>
    public void Debug(string message) => Write(LogLevel.Debug, message);

    /// <summary>Warn.</summary>
    public void Warn(string message) => Write(LogLevel.Warn, message);
}
