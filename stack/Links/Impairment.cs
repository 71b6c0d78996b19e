using System.Globalization;

namespace TunStack.Links;

/// <summary>
/// What an <see cref="ImpairedLink"/> does to one direction of traffic. Percentages are 0..100.
/// Text form (for the CLI): <c>loss=1%,delay=10ms,jitter=2ms,reorder=5%,overtake=2%,dup=1%,corrupt=0.1%,rate=100mbit</c>.
/// </summary>
public sealed record Impairment
{
    /// <summary>Packets dropped, percent.</summary>
    public double LossPercent { get; init; }
    /// <summary>Packets sent twice, percent.</summary>
    public double DuplicatePercent { get; init; }
    /// <summary>Packets held back by <see cref="ReorderDelay"/> so that later ones overtake them, percent.</summary>
    public double ReorderPercent { get; init; }
    /// <summary>
    /// Packets that skip <see cref="Delay"/> and <see cref="Jitter"/> and so overtake the packets
    /// still held by the delay, percent (netem's <c>reorder</c> with gap 1).
    /// </summary>
    public double OvertakePercent { get; init; }
    /// <summary>Packets with one random bit flipped, percent.</summary>
    public double CorruptPercent { get; init; }
    /// <summary>Fixed one-way delay.</summary>
    public TimeSpan Delay { get; init; }
    /// <summary>Uniform random variation of the delay, +/- this much (never below zero).</summary>
    public TimeSpan Jitter { get; init; }
    /// <summary>Extra hold for reordered packets (default 1 ms).</summary>
    public TimeSpan ReorderDelay { get; init; } = TimeSpan.FromMilliseconds(1);
    /// <summary>Serialization rate in bits per second; 0 = unlimited.</summary>
    public long RateBitsPerSecond { get; init; }
    /// <summary>Packets the delay line holds before dropping (a bounded queue, like a router buffer).</summary>
    public int QueueLimit { get; init; } = 4096;

    /// <summary>No impairment.</summary>
    public static Impairment None { get; } = new();

    /// <summary>True when nothing is impaired.</summary>
    public bool IsNone => LossPercent == 0 && DuplicatePercent == 0 && ReorderPercent == 0 && OvertakePercent == 0 && CorruptPercent == 0
        && Delay == TimeSpan.Zero && Jitter == TimeSpan.Zero && RateBitsPerSecond == 0;

    /// <summary>
    /// Parses the text form; <paramref name="seed"/> receives <c>seed=N</c> if present. On failure
    /// <paramref name="error"/> names the bad item.
    /// </summary>
    public static bool TryParse(string text, out Impairment impairment, out int? seed, out string? error)
    {
        impairment = new Impairment();
        seed = null;
        error = null;
        foreach (string raw in (text ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = raw.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                error = $"impairment item '{raw}' is not key=value";
                return false;
            }

            string key = raw[..eq].ToLowerInvariant();
            string value = raw[(eq + 1)..];
            bool ok = true;
            switch (key)
            {
                case "loss": ok = TryPercent(value, out double loss); impairment = impairment with { LossPercent = loss }; break;
                case "dup": ok = TryPercent(value, out double dup); impairment = impairment with { DuplicatePercent = dup }; break;
                case "reorder": ok = TryPercent(value, out double reorder); impairment = impairment with { ReorderPercent = reorder }; break;
                case "overtake": ok = TryPercent(value, out double overtake); impairment = impairment with { OvertakePercent = overtake }; break;
                case "corrupt": ok = TryPercent(value, out double corrupt); impairment = impairment with { CorruptPercent = corrupt }; break;
                case "delay": ok = TryDuration(value, out TimeSpan delay); impairment = impairment with { Delay = delay }; break;
                case "jitter": ok = TryDuration(value, out TimeSpan jitter); impairment = impairment with { Jitter = jitter }; break;
                case "rate": ok = TryRate(value, out long rate); impairment = impairment with { RateBitsPerSecond = rate }; break;
                case "seed":
                    ok = int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int s);
                    seed = s;
                    break;
                default:
                    error = $"unknown impairment '{key}' (expected loss, delay, jitter, reorder, overtake, dup, corrupt, rate, seed)";
                    return false;
            }

            if (!ok)
            {
                error = $"impairment '{raw}' has a bad value";
                return false;
            }
        }

        return true;
    }

    /// <summary>The text form <see cref="TryParse"/> reads, listing only what is impaired ("loss=1%,delay=10ms"), or "none".</summary>
    public override string ToString()
    {
        var items = new List<string>();
        void Add(string key, double value, string unit)
        {
            if (value > 0)
            {
                items.Add(string.Create(CultureInfo.InvariantCulture, $"{key}={value:0.######}{unit}"));
            }
        }

        Add("loss", LossPercent, "%");
        Add("delay", Delay.TotalMilliseconds, "ms");
        Add("jitter", Jitter.TotalMilliseconds, "ms");
        Add("reorder", ReorderPercent, "%");
        Add("overtake", OvertakePercent, "%");
        Add("dup", DuplicatePercent, "%");
        Add("corrupt", CorruptPercent, "%");
        (long scale, string unit) = RateBitsPerSecond % 1_000_000_000 == 0 ? (1_000_000_000L, "gbit")
            : RateBitsPerSecond % 1_000_000 == 0 ? (1_000_000L, "mbit")
            : RateBitsPerSecond % 1_000 == 0 ? (1_000L, "kbit") : (1L, "bit");
        Add("rate", RateBitsPerSecond / scale, unit);
        return items.Count == 0 ? "none" : string.Join(',', items);
    }

    private static bool TryPercent(string text, out double percent)
    {
        bool ok = double.TryParse(text.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out percent);
        return ok && percent is >= 0 and <= 100;
    }

    private static bool TryDuration(string text, out TimeSpan duration)
    {
        duration = default;
        (string number, double scale) = text.EndsWith("ms", StringComparison.OrdinalIgnoreCase) ? (text[..^2], 1.0)
            : text.EndsWith("us", StringComparison.OrdinalIgnoreCase) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1000.0) : (text, 1.0);
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || value < 0)
        {
            return false;
        }

        duration = TimeSpan.FromMilliseconds(value * scale);
        return true;
    }

    private static bool TryRate(string text, out long bitsPerSecond)
    {
        bitsPerSecond = 0;
        string t = text.ToLowerInvariant();
        (string number, long scale) = t.EndsWith("gbit", StringComparison.Ordinal) ? (t[..^4], 1_000_000_000L)
            : t.EndsWith("mbit", StringComparison.Ordinal) ? (t[..^4], 1_000_000L)
            : t.EndsWith("kbit", StringComparison.Ordinal) ? (t[..^4], 1_000L)
            : t.EndsWith("bit", StringComparison.Ordinal) ? (t[..^3], 1L) : (t, 1L);
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || value < 0)
        {
            return false;
        }

        bitsPerSecond = (long)(value * scale);
        return true;
    }
}
