using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace TunStack.Cli;

/// <summary>
/// One line per event on a writer, no colour, in the <see cref="Format"/> asked for: text
/// ("2026-11-22T00:30:00.123Z info  message"), JSON (one object per line with time, level,
/// message and the event's fields) or journal ("&lt;6&gt;message", the syslog priority that systemd's
/// journal reads, no time stamp).
/// </summary>
public sealed class ConsoleLog
{
    // Field values in JSON as web APIs write them: camelCase property names.
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);
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

    /// <summary>How lines are written (text unless asked otherwise).</summary>
    public LogFormat Format { get; init; }

    /// <summary>
    /// The <c>--log-format</c> option of the long-running commands: text (default), json or journal; any
    /// other value is refused with one line naming the option.
    /// </summary>
    public static Option<LogFormat> FormatOption()
    {
        var option = new Option<LogFormat>("--log-format") { Description = "text (default), json (one object per line) or journal (syslog priority prefixes, no time stamps; for systemd)." };
        option.CustomParser = result =>
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
            if (Enum.TryParse(text, ignoreCase: true, out LogFormat format) && !int.TryParse(text, out _))
            {
                return format;
            }

            result.AddError($"--log-format takes text, json or journal, not '{text}'");
            return default;
        };
        return option;
    }

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

    /// <summary>
    /// Writes <paramref name="message"/> with <paramref name="fields"/> if <paramref name="level"/> is
    /// enabled: the JSON format adds the fields to the line's object (a dictionary becomes an object);
    /// text and journal write the message alone, which says the same in words.
    /// </summary>
    public void Write(LogLevel level, string message, IEnumerable<KeyValuePair<string, object?>> fields)
    {
        if (level <= Level)
        {
            WriteLine(level, message, fields);
        }
    }

    /// <summary>Writes what the user asked for (a dump on SIGUSR1, say) as info, whatever the level.</summary>
    public void Report(string message) => WriteLine(LogLevel.Info, message);

    /// <summary>As <see cref="Report(string)"/>, with fields for the JSON format.</summary>
    public void Report(string message, IEnumerable<KeyValuePair<string, object?>> fields) => WriteLine(LogLevel.Info, message, fields);

    /// <summary>Error.</summary>
    public void Error(string message) => Write(LogLevel.Error, message);

    private void WriteLine(LogLevel level, string message, IEnumerable<KeyValuePair<string, object?>>? fields = null)
    {
        string line = Format switch
        {
            LogFormat.Json => Json(level, message, fields),
            LogFormat.Journal => string.Create(CultureInfo.InvariantCulture, $"<{Priority(level)}>{message.ReplaceLineEndings(" ")}"),
            _ => string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {level.ToString().ToLowerInvariant(),-5} {message}"),
        };
        lock (_lock)
        {
            _output.WriteLine(line);
            _output.Flush();
        }
    }

    // syslog(3) priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG.
    private static int Priority(LogLevel level) => level switch
    {
        LogLevel.Error => 3,
        LogLevel.Warn => 4,
        LogLevel.Info => 6,
        _ => 7,
    };

    private static string Json(LogLevel level, string message, IEnumerable<KeyValuePair<string, object?>>? fields)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("time", DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
            json.WriteString("level", level.ToString().ToLowerInvariant());
            json.WriteString("message", message);
            foreach ((string key, object? value) in fields ?? [])
            {
                if (key is not ("time" or "level" or "message"))
                {
                    json.WritePropertyName(key);
                    JsonSerializer.Serialize(json, value, value?.GetType() ?? typeof(object), s_json);
                }
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Info.</summary>
    public void Info(string message) => Write(LogLevel.Info, message);

    /// <summary>Debug.</summary>
    public void Debug(string message) => Write(LogLevel.Debug, message);

    /// <summary>Warn.</summary>
    public void Warn(string message) => Write(LogLevel.Warn, message);
}
