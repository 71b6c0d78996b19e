using System.Globalization;
using System.Text.Json;

namespace TunStack.Cli;

/// <summary>
/// Reads a --config file into <see cref="TunSettings"/>: one JSON object whose keys are
/// <see cref="TunSettings.Keys"/> (any case; comments and trailing commas allowed). An unknown
/// key (with the closest known one suggested), a value of the wrong kind, broken JSON (with its
/// line and column, counted from 1) or an unreadable file is one line naming the file and the key.
/// </summary>
public static class TunConfigFile
{
    private static readonly JsonDocumentOptions s_options = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>Reads <paramref name="path"/> into <paramref name="settings"/>; returns the problem, or null.</summary>
    public static string? Read(string path, TunSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return $"--config {path}: no such file";
        }
        catch (UnauthorizedAccessException)
        {
            return Directory.Exists(path) ? $"--config {path}: is a directory, not a file" : $"--config {path}: this user may not read it";
        }
        catch (IOException e)
        {
            return $"--config {path}: cannot read it: {e.Message}";
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text, s_options);
        }
        catch (JsonException e)
        {
            return string.Create(CultureInfo.InvariantCulture, $"--config {path}: line {e.LineNumber + 1}, column {e.BytePositionInLine + 1}: not valid JSON ({Plain(e.Message)})");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return $"--config {path}: expected one JSON object, such as {{ \"tun\": \"tun0\", \"addresses\": [\"10.77.0.2/24\"] }}";
            }

            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                string? key = TunSettings.Keys.Keys.FirstOrDefault(k => string.Equals(k, property.Name, StringComparison.OrdinalIgnoreCase));
                if (key is null)
                {
                    string? close = Closest(property.Name);
                    return close is null
                        ? $"--config {path}: unknown key '{property.Name}' (the keys are {string.Join(", ", TunSettings.Keys.Keys)})"
                        : $"--config {path}: unknown key '{property.Name}' (did you mean '{close}'?)";
                }

                string? problem = Apply(key, property.Value, settings);
                if (problem is not null)
                {
                    return $"'{key}' in {path} {problem}";
                }

                settings.SetFromFile(key, path);
            }
        }

        return null;
    }

    private static string? Apply(string key, JsonElement value, TunSettings settings)
    {
        switch (key)
        {
            case "addresses":
            case "peers":
            case "routes":
                if (!TryStrings(value, out List<string> list))
                {
                    return $"must be a list of strings, such as [\"{(key == "routes" ? "10.0.0.0/8 via 10.77.0.1" : key == "peers" ? "10.77.0.1" : "10.77.0.2/24")}\"], not {Shown(value)}";
                }

                if (key == "addresses")
                {
                    settings.Addresses = list;
                }
                else if (key == "peers")
                {
                    settings.Peers = list;
                }
                else
                {
                    settings.Routes = list;
                }

                return null;
            case "mtu":
            case "queues":
            case "maxConnections":
            case "tcpEcn":
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int number))
                {
                    return $"must be a whole number, not {Shown(value)}";
                }

                if (key == "mtu")
                {
                    settings.Mtu = number;
                }
                else if (key == "queues")
                {
                    settings.Queues = number;
                }
                else if (key == "tcpEcn")
                {
                    settings.TcpEcn = number;
                }
                else
                {
                    settings.MaxConnections = number;
                }

                return null;
            case "disableKernelIpv6":
            case "vnetHdr":
            case "force":
                if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                {
                    return $"must be true or false, not {Shown(value)}";
                }

                if (key == "vnetHdr")
                {
                    settings.VnetHdr = value.GetBoolean();
                }
                else if (key == "force")
                {
                    settings.Force = value.GetBoolean();
                }
                else
                {
                    settings.DisableKernelIpv6 = value.GetBoolean();
                }

                return null;
            case "logFormat":
                if (value.ValueKind != JsonValueKind.String || !Enum.TryParse(value.GetString(), ignoreCase: true, out LogFormat format)
                    || !Enum.IsDefined(format) || int.TryParse(value.GetString(), out _))
                {
                    return $"must be \"text\", \"json\" or \"journal\", not {Shown(value)}";
                }

                settings.LogFormat = format;
                return null;
            default:
                bool optional = key is "netns" or "capture" or "impair" or "impairIn" or "impairOut" or "tcpMemory" or "congestion" or "profile" or "control";
                if (value.ValueKind != JsonValueKind.String && !(optional && value.ValueKind == JsonValueKind.Null))
                {
                    return $"must be a string{(optional ? " (or null)" : string.Empty)}, not {Shown(value)}";
                }

                SetText(key, value.GetString(), settings);
                return null;
        }
    }

    private static void SetText(string key, string? text, TunSettings settings)
    {
        switch (key)
        {
            case "tun": settings.Tun = text!; break;
            case "netns": settings.Netns = text; break;
            case "serve": settings.Serve = text!; break;
            case "capture": settings.Capture = text; break;
            case "logLevel": settings.LogLevel = text!; break;
            case "impair": settings.Impair = text; break;
            case "tcpMemory": settings.TcpMemory = text; break;
            case "congestion": settings.Congestion = text; break;
            case "profile": settings.Profile = text; break;
            case "offload": settings.Offload = text!; break;
            case "busyPoll": settings.BusyPoll = text!; break;
            case "impairIn": settings.ImpairIn = text; break;
            case "control": settings.Control = text; break;
            default: settings.ImpairOut = text; break;
        }
    }

    // A list of strings, or one string for a list of one.
    private static bool TryStrings(JsonElement value, out List<string> list)
    {
        list = new List<string>();
        if (value.ValueKind == JsonValueKind.String)
        {
            list.Add(value.GetString()!);
            return true;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        foreach (JsonElement item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                return false;
            }

            list.Add(item.GetString()!);
        }

        return true;
    }

    private static string Shown(JsonElement value)
    {
        string raw = value.GetRawText();
        return raw.Length > 40 ? raw[..37] + "..." : raw;
    }

    // The parser's sentence without its position and advice about reader options.
    private static string Plain(string message)
    {
        foreach (string tail in new[] { " LineNumber:", " Path:", " Change the reader options" })
        {
            int at = message.IndexOf(tail, StringComparison.Ordinal);
            if (at >= 0)
            {
                message = message[..at];
            }
        }

        return message.Trim().TrimEnd('.');
    }

    // The known key nearest to a misspelt one (at most a third of its letters different).
    private static string? Closest(string name)
    {
        (string Key, int Distance) best = TunSettings.Keys.Keys
            .Select(k => (k, Distance(k.ToLowerInvariant(), name.ToLowerInvariant())))
            .MinBy(p => p.Item2);
        return best.Distance <= Math.Max(2, name.Length / 3) ? best.Key : null;
    }

    // Levenshtein distance.
    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
