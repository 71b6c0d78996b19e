using ScottPlot;

namespace TunStack.Lab.Plots;

/// <summary>
/// One chart of a <see cref="TimeSeriesFigure"/>: lines of values over time (seconds) with a
/// title, a value axis label and a legend. A NaN value is a gap in its line. Series longer than
/// 4,000 samples are decimated for drawing (each of 2,000 buckets keeps its lowest and highest
/// value), so a million-sample trace draws quickly and keeps its peaks.
/// </summary>
public sealed class TimeSeriesPanel
{
    private readonly List<(string Legend, double[] Times, double[] Values, int ColorIndex, bool Dashed)> _lines = [];

    internal TimeSeriesPanel(string title, string valueLabel)
    {
        Title = title;
        ValueLabel = valueLabel;
    }

    /// <summary>The title above the chart.</summary>
    public string Title { get; }

    /// <summary>The value axis label, with the unit: "Mbit/s", "srtt (ms)".</summary>
    public string ValueLabel { get; }

    /// <summary>Text drawn in an empty chart (one without lines) to say why it is empty.</summary>
    public string? EmptyText { get; set; }

    /// <summary>Whether the value axis starts at zero (true, for quantities that cannot be negative) or fits the data.</summary>
    public bool FromZero { get; set; } = true;

    /// <summary>How many lines the chart has.</summary>
    public int LineCount => _lines.Count;

    /// <summary>
    /// Adds a line: <paramref name="values"/> at <paramref name="times"/> (seconds; the shorter of
    /// the two decides the length). Lines with the same <paramref name="colorIndex"/> share a colour
    /// (one per flow or link, across panels and figures); <paramref name="dashed"/> tells apart two
    /// quantities of one flow. A line without a point to draw (none, or all NaN: a ssthresh that
    /// stayed infinite) is left out of the chart and its legend.
    /// </summary>
    public void AddLine(string legend, ReadOnlySpan<double> times, ReadOnlySpan<double> values, int colorIndex, bool dashed = false)
    {
        ArgumentNullException.ThrowIfNull(legend);
        ArgumentOutOfRangeException.ThrowIfNegative(colorIndex);
        (double[] t, double[] v) = SeriesDecimation.Reduce(times, values);
        if (v.Any(double.IsFinite))
        {
            _lines.Add((legend, t, v, colorIndex, dashed));
        }
    }

    internal Plot CreatePlot(string font)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        double top = 0;
        foreach ((string legend, double[] times, double[] values, int colorIndex, bool dashed) in _lines)
        {
            ScottPlot.Plottables.Scatter line = plot.Add.ScatterLine(times, values, palette.GetColor(colorIndex));
            line.LegendText = legend;
            line.LineWidth = 1.5f;
            line.LinePattern = dashed ? LinePattern.Dashed : LinePattern.Solid;
            foreach (double v in values)
            {
                top = double.IsNaN(v) ? top : Math.Max(top, v);
            }
        }

        plot.Title(Title);
        plot.XLabel("time (s)");
        plot.YLabel(ValueLabel);
        if (_lines.Count == 0)
        {
            plot.Add.Annotation(EmptyText ?? "no data", Alignment.MiddleCenter);
            plot.Axes.SetLimits(0, 1, 0, 1);
        }
        else
        {
            plot.ShowLegend(Edge.Right);
            plot.Axes.AutoScale();
            if (FromZero)
            {
                plot.Axes.SetLimitsY(0, top > 0 ? top * 1.08 : 1);
            }
        }

        // The same margins in every panel, whatever the legend's width: the time axes of panels and
        // figures line up, and the legend has the right margin to itself.
        plot.Layout.Fixed(new PixelPadding(80, 190, 55, 40));
        plot.Font.Set(font);
        return plot;
    }
}
