using System.Globalization;

namespace TunStack.Lab;

/// <summary>
/// Reads the quantities of a scenario file written as text with a unit: durations ("20ms"),
/// rates ("100mbit"), sizes ("64KiB") and probabilities ("1%" or a fraction such as 0.01).
/// </summary>
internal static class LabQuantity
{
    private static readonly (string Suffix, long Micros)[] DurationUnits = { ("us", 1), ("ms", 1000), ("min", 60_000_000), ("s", 1_000_000) };
    private static readonly (string Suffix, long Bits)[] RateUnits = { ("gbit", 1_000_000_000), ("mbit", 1_000_000), ("kbit", 1000), ("bit", 1) };
    private static readonly (string Suffix, long Bytes)[] SizeUnits =
    {
        ("KiB", 1024), ("MiB", 1024 * 1024), ("GiB", 1024L * 1024 * 1024), ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("B", 1),
    };

    /// <summary>"1.5s", "20ms", "100us", "2min" as microseconds.</summary>
    public static bool TryParseDuration(string text, out long micros)
    {
        micros = 0;
        foreach ((string suffix, long unit) in DurationUnits)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal) && TryNumber(text[..^suffix.Length], out double value))
            {
                double total = value * unit;
                if (total > long.MaxValue / 4)
                {
                    return false;
                }

                micros = (long)Math.Round(total);
                return true;
            }
        }

        return false;
    }

    /// <summary>"100mbit", "1.5gbit", "64kbit", "9600bit" as bits per second.</summary>
    public static bool TryParseRate(string text, out long bitsPerSecond)
    {
        bitsPerSecond = 0;
        foreach ((string suffix, long unit) in RateUnits)
        {
            if (text.EndsWith(suffix, StringComparison.OrdinalIgnoreCase) && TryNumber(text[..^suffix.Length], out double value) && value * unit < 1e15)
            {
                bitsPerSecond = (long)Math.Round(value * unit);
                return bitsPerSecond > 0;
            }
        }

        return false;
    }

    /// <summary>"1500B", "64KiB", "10MB" (decimal) or "4MiB" (binary) as bytes.</summary>
    public static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        foreach ((string suffix, long unit) in SizeUnits)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal) && TryNumber(text[..^suffix.Length], out double value) && value * unit < 1e15)
            {
                bytes = (long)Math.Round(value * unit);
                return true;
            }
        }

        return false;
    }

    /// <summary>"1%" (a percentage) as a fraction in [0, 1].</summary>
    public static bool TryParsePercent(string text, out double fraction)
    {
        fraction = 0;
        if (text.EndsWith('%') && TryNumber(text[..^1], out double value) && value <= 100)
        {
            fraction = value / 100;
            return true;
        }

        return false;
    }

    private static bool TryNumber(string text, out double value) =>
        double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value) && value >= 0 && double.IsFinite(value) && text.Length > 0;
}
