using System.Globalization;
using System.Text.Json;

namespace TunStack.Lab;

/// <summary>
/// One JSON object of a scenario file being read: each getter names the field it reads, turns a
/// wrong value into a <see cref="LabScenarioException"/> with the field's path, and
/// <see cref="Finish"/> refuses any property nobody asked for.
/// </summary>
internal sealed class LabJsonObject
{
    private readonly JsonElement _element;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public LabJsonObject(JsonElement element, string path)
    {
        Path = path;
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new LabScenarioException(path, $"expected an object, not {Describe(element)}");
        }

        _element = element;
    }

    public string Path { get; }

    public string Child(string name) => Path.Length == 0 ? name : $"{Path}.{name}";

    public bool Has(string name) => _element.TryGetProperty(name, out _);

    public JsonElement? Get(string name)
    {
        _read.Add(name);
        return _element.TryGetProperty(name, out JsonElement value) && value.ValueKind != JsonValueKind.Null ? value : null;
    }

    public string? OptionalString(string name)
    {
        if (Get(name) is not { } value)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new LabScenarioException(Child(name), $"expected a string, not {Describe(value)}");
    }

    public string RequiredString(string name) => OptionalString(name) ?? throw new LabScenarioException(Child(name), "is required");

    /// <summary>A name made of letters, digits, '_' and '-' (it becomes part of file names).</summary>
    public string Name(string name)
    {
        string text = RequiredString(name);
        if (text.Length == 0 || text.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '-')))
        {
            throw new LabScenarioException(Child(name), $"\"{text}\" is not a name (letters, digits, '_' and '-' only)");
        }

        return text;
    }

    public long? OptionalInteger(string name, long min, long max)
    {
        if (Get(name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long number))
        {
            throw new LabScenarioException(Child(name), $"expected a whole number, not {Describe(value)}");
        }

        return number < min || number > max
            ? throw new LabScenarioException(Child(name), string.Create(CultureInfo.InvariantCulture, $"{number} is out of range ({min} to {max})"))
            : number;
    }

    public double? OptionalNumber(string name, double min, double max)
    {
        if (Get(name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number)
        {
            throw new LabScenarioException(Child(name), $"expected a number, not {Describe(value)}");
        }

        double number = value.GetDouble();
        return number < min || number > max
            ? throw new LabScenarioException(Child(name), string.Create(CultureInfo.InvariantCulture, $"{number} is out of range ({min} to {max})"))
            : number;
    }

    public bool? OptionalBool(string name)
    {
        if (Get(name) is not { } value)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new LabScenarioException(Child(name), $"expected true or false, not {Describe(value)}"),
        };
    }

    /// <summary>A duration ("20ms", "1.5s") in microseconds.</summary>
    public long? OptionalDuration(string name)
    {
        string? text = OptionalString(name);
        if (text is null)
        {
            return null;
        }

        return LabQuantity.TryParseDuration(text, out long micros)
            ? micros
            : throw new LabScenarioException(Child(name), $"\"{text}\" is not a duration (a number with us, ms, s or min)");
    }

    /// <summary>A rate ("100mbit") in bits per second.</summary>
    public long? OptionalRate(string name)
    {
        string? text = OptionalString(name);
        if (text is null)
        {
            return null;
        }

        return LabQuantity.TryParseRate(text, out long bits)
            ? bits
            : throw new LabScenarioException(Child(name), $"\"{text}\" is not a rate (a number above zero with bit, kbit, mbit or gbit)");
    }

    /// <summary>A size in bytes: a whole number, or text with B, KB, MB, GB, KiB, MiB or GiB.</summary>
    public long? OptionalSize(string name, long min, long max)
    {
        if (Get(name) is not { } value)
        {
            return null;
        }

        long bytes;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long number))
        {
            bytes = number;
        }
        else if (value.ValueKind == JsonValueKind.String && LabQuantity.TryParseSize(value.GetString()!, out long parsed))
        {
            bytes = parsed;
        }
        else
        {
            throw new LabScenarioException(Child(name), $"{Describe(value)} is not a size (bytes, or a number with B, KB, MB, GB, KiB, MiB or GiB)");
        }

        return bytes < min || bytes > max
            ? throw new LabScenarioException(Child(name), string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes is out of range ({min} to {max})"))
            : bytes;
    }

    /// <summary>A probability: "1%" or a fraction from 0 to 1.</summary>
    public double? OptionalProbability(string name)
    {
        if (Get(name) is not { } value)
        {
            return null;
        }

        return ReadProbability(value, Child(name));
    }

    public static double ReadProbability(JsonElement value, string path)
    {
        if (value.ValueKind == JsonValueKind.Number && value.GetDouble() is >= 0 and <= 1)
        {
            return value.GetDouble();
        }

        if (value.ValueKind == JsonValueKind.String && LabQuantity.TryParsePercent(value.GetString()!, out double fraction))
        {
            return fraction;
        }

        throw new LabScenarioException(path, $"{Describe(value)} is not a probability (a percentage such as \"1%\" or a fraction from 0 to 1)");
    }

    public LabJsonObject? OptionalObject(string name) => Get(name) is { } value ? new LabJsonObject(value, Child(name)) : null;

    /// <summary>The objects of an array property (empty when absent).</summary>
    public IReadOnlyList<LabJsonObject> Objects(string name)
    {
        if (Get(name) is not { } value)
        {
            return Array.Empty<LabJsonObject>();
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw new LabScenarioException(Child(name), $"expected an array, not {Describe(value)}");
        }

        var list = new List<LabJsonObject>();
        int i = 0;
        foreach (JsonElement item in value.EnumerateArray())
        {
            list.Add(new LabJsonObject(item, $"{Child(name)}[{i++}]"));
        }

        return list;
    }

    /// <summary>Refuses properties that no getter read: a misspelt field is an error, not a silent default.</summary>
    public void Finish()
    {
        foreach (JsonProperty property in _element.EnumerateObject())
        {
            if (!_read.Contains(property.Name))
            {
                throw new LabScenarioException(Child(property.Name), "unknown property");
            }
        }
    }

    public static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"\"{value.GetString()}\"",
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "an array",
        _ => "an object",
    };
}
