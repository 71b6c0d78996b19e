using System.Text;
using System.Text.RegularExpressions;
using ScottPlot;
using SkiaSharp;

namespace TunStack.Lab.Plots;

/// <summary>
/// Charts of values over time, stacked one above the other in one image, drawn with ScottPlot
/// headless as PNG or SVG. The same panels give the same bytes: the SVG's clip-path ids, which
/// the drawing library numbers per process, are renumbered in order of appearance.
/// </summary>
public sealed partial class TimeSeriesFigure
{
    private static readonly string s_font = SKFontManager.Default.FontFamilies.Contains("DejaVu Sans") ? "DejaVu Sans" : Fonts.Sans;
    private readonly List<TimeSeriesPanel> _panels = [];

    /// <summary>Creates an empty figure <paramref name="width"/> pixels wide, each panel <paramref name="panelHeight"/> pixels high.</summary>
    public TimeSeriesFigure(int width = 1000, int panelHeight = 450)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 200);
        ArgumentOutOfRangeException.ThrowIfLessThan(panelHeight, 150);
        Width = width;
        PanelHeight = panelHeight;
    }

    /// <summary>The image width in pixels.</summary>
    public int Width { get; }

    /// <summary>The height of each panel in pixels.</summary>
    public int PanelHeight { get; }

    /// <summary>The image height in pixels: one <see cref="PanelHeight"/> per panel.</summary>
    public int Height => PanelHeight * Math.Max(1, _panels.Count);

    /// <summary>The panels, top to bottom.</summary>
    public IReadOnlyList<TimeSeriesPanel> Panels => _panels;

    /// <summary>Adds a panel below the others and returns it.</summary>
    public TimeSeriesPanel AddPanel(string title, string valueLabel)
    {
        ArgumentNullException.ThrowIfNull(title);
        ArgumentNullException.ThrowIfNull(valueLabel);
        var panel = new TimeSeriesPanel(title, valueLabel);
        _panels.Add(panel);
        return panel;
    }

    /// <summary>The figure as an SVG document (UTF-8 text).</summary>
    public string RenderSvg()
    {
        using var stream = new MemoryStream();
        using (SKCanvas canvas = SKSvgCanvas.Create(new SKRect(0, 0, Width, Height), stream))
        {
            Draw(canvas);
        }

        string svg = Encoding.UTF8.GetString(stream.ToArray());
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        return ClipId().Replace(svg, match =>
        {
            string id = match.Groups["id"].Value;
            if (!ids.TryGetValue(id, out string? renumbered))
            {
                renumbered = $"clip{ids.Count + 1}";
                ids.Add(id, renumbered);
            }

            return match.Groups["before"].Value + renumbered + match.Groups["after"].Value;
        });
    }

    /// <summary>The figure as a PNG image.</summary>
    public byte[] RenderPng()
    {
        using SKSurface surface = SKSurface.Create(new SKImageInfo(Width, Height));
        Draw(surface.Canvas);
        using SKImage image = surface.Snapshot();
        using SKData data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>Writes NAME.png and NAME.svg into <paramref name="directory"/>.</summary>
    public void Save(string directory, string name)
    {
        File.WriteAllBytes(Path.Combine(directory, name + ".png"), RenderPng());
        File.WriteAllText(Path.Combine(directory, name + ".svg"), RenderSvg(), new UTF8Encoding(false));
    }

    private void Draw(SKCanvas canvas)
    {
        canvas.Clear(SKColors.White);
        for (int i = 0; i < _panels.Count; i++)
        {
            // Each panel draws into its own band; the clip keeps its background off the others.
            int top = i * PanelHeight;
            canvas.Save();
            canvas.ClipRect(new SKRect(0, top, Width, top + PanelHeight));
            _panels[i].CreatePlot(s_font).Render(canvas, new PixelRect(0, Width, top + PanelHeight, top));
            canvas.Restore();
        }
    }

    [GeneratedRegex("(?<before>id=\"|url\\(#)cl_(?<id>[0-9a-fA-F]+)(?<after>[\")])")]
    private static partial Regex ClipId();
}
