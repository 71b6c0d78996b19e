using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace TunStack.Cli;

/// <summary>
/// The instruments of one <see cref="Meter"/> in the Prometheus text exposition format (version
/// 0.0.4), for <c>GET /metrics</c>: a counter <c>tunstack.tcp_active_opens</c> becomes
/// <c>tunstack_tcp_active_opens_total</c>, an up-down counter a gauge (with its unit:
/// <c>tunstack_tcp_memory_bytes</c>), a histogram in seconds <c>..._seconds_bucket</c>/<c>_sum</c>/<c>_count</c>;
/// tags become labels; each family has its HELP and TYPE lines. Observable instruments are read
/// when the text is made; histogram measurements are added to fixed buckets as they come.
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    /// <summary>The content type of the text.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    // Upper bounds of the histogram buckets, in the instrument's unit (seconds for round-trip times).
    private static readonly double[] s_bounds = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly MeterListener _listener = new();
    private readonly object _lock = new();
    private readonly List<Instrument> _instruments = new();
    private readonly Dictionary<Instrument, List<(string Labels, double Value)>> _observed = new();
    private readonly Dictionary<Instrument, Dictionary<string, HistogramState>> _histograms = new();

    /// <summary>Listens to every instrument of <paramref name="meter"/>, those made later too.</summary>
    public PrometheusExporter(Meter meter)
    {
        ArgumentNullException.ThrowIfNull(meter);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter == meter)
            {
                lock (_lock)
                {
                    _instruments.Add(instrument);
                }

                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    /// <summary>The current values as Prometheus text.</summary>
    public string Collect()
    {
        lock (_lock)
        {
            foreach (List<(string Labels, double Value)> values in _observed.Values)
            {
                values.Clear();
            }

            _listener.RecordObservableInstruments();
            var text = new StringBuilder();
            foreach (Instrument instrument in _instruments)
            {
                Write(text, instrument);
            }

            return text.ToString();
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _listener.Dispose();

    /// <summary>
    /// The Prometheus name of an instrument: dots and other characters Prometheus does not take
    /// become underscores, the unit is added (<c>_bytes</c>, <c>_seconds</c>), and a counter ends
    /// in <c>_total</c>.
    /// </summary>
    public static string Name(Instrument instrument)
    {
        ArgumentNullException.ThrowIfNull(instrument);
        var name = new StringBuilder(instrument.Name.Length + 8);
        foreach (char c in instrument.Name)
        {
            name.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or ':' ? c : '_');
        }

        string unit = instrument.Unit switch
        {
            "s" => "_seconds",
            "By" => "_bytes",
            _ => string.Empty,
        };
        if (unit.Length > 0 && !name.ToString().EndsWith(unit, StringComparison.Ordinal))
        {
            name.Append(unit);
        }

        return IsCounter(instrument) ? name.Append("_total").ToString() : name.ToString();
    }

    private static bool IsCounter(Instrument instrument)
        => instrument.GetType().IsGenericType && instrument.GetType().GetGenericTypeDefinition() is var kind
           && (kind == typeof(Counter<>) || kind == typeof(ObservableCounter<>));

    private static bool IsHistogram(Instrument instrument)
        => instrument.GetType().IsGenericType && instrument.GetType().GetGenericTypeDefinition() == typeof(Histogram<>);

    private void Write(StringBuilder text, Instrument instrument)
    {
        string name = Name(instrument);
        string help = (instrument.Description ?? instrument.Name).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
        string type = IsCounter(instrument) ? "counter" : IsHistogram(instrument) ? "histogram" : "gauge";
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n");
        if (IsHistogram(instrument))
        {
            if (_histograms.TryGetValue(instrument, out Dictionary<string, HistogramState>? series))
            {
                foreach ((string labels, HistogramState state) in series)
                {
                    state.Write(text, name, labels);
                }
            }
            else
            {
                new HistogramState().Write(text, name, string.Empty); // no samples yet: zero counts
            }

            return;
        }

        if (_observed.TryGetValue(instrument, out List<(string Labels, double Value)>? values))
        {
            foreach ((string labels, double value) in values)
            {
                text.Append(name).Append(labels.Length == 0 ? string.Empty : $"{{{labels}}}").Append(' ').Append(Number(value)).Append('\n');
            }
        }
    }

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
        {
            return string.Empty;
        }

        var labels = new StringBuilder();
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            string value = Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? string.Empty;
            value = value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
            labels.Append(labels.Length == 0 ? string.Empty : ",").Append(tag.Key.Replace('.', '_')).Append("=\"").Append(value).Append('"');
        }

        return labels.ToString();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        string labels = Labels(tags);
        lock (_lock)
        {
            if (IsHistogram(instrument))
            {
                if (!_histograms.TryGetValue(instrument, out Dictionary<string, HistogramState>? series))
                {
                    _histograms[instrument] = series = new Dictionary<string, HistogramState>();
                }

                if (!series.TryGetValue(labels, out HistogramState? state))
                {
                    series[labels] = state = new HistogramState();
                }

                state.Add(value);
                return;
            }

            if (!_observed.TryGetValue(instrument, out List<(string Labels, double Value)>? values))
            {
                _observed[instrument] = values = new List<(string Labels, double Value)>();
            }

            values.Add((labels, value));
        }
    }

    // One histogram series: counts per bucket (not cumulative until written), sum and count.
    private sealed class HistogramState
    {
        private readonly long[] _buckets = new long[s_bounds.Length];
        private long _count;
        private double _sum;

        public void Add(double value)
        {
            int bucket = Array.FindIndex(s_bounds, bound => value <= bound);
            if (bucket >= 0)
            {
                _buckets[bucket]++;
            }

            _count++;
            _sum += value;
        }

        public void Write(StringBuilder text, string name, string labels)
        {
            string prefix = labels.Length == 0 ? string.Empty : labels + ",";
            long cumulative = 0;
            for (int i = 0; i < s_bounds.Length; i++)
            {
                cumulative += _buckets[i];
                text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{{prefix}le=\"{Number(s_bounds[i])}\"}} {cumulative}\n");
            }

            string plain = labels.Length == 0 ? string.Empty : $"{{{labels}}}";
            text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{{prefix}le=\"+Inf\"}} {_count}\n")
                .Append(CultureInfo.InvariantCulture, $"{name}_sum{plain} {Number(_sum)}\n")
                .Append(CultureInfo.InvariantCulture, $"{name}_count{plain} {_count}\n");
        }
    }
}
