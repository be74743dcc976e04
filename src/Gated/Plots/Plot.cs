using Gated.IO;

namespace Gated.Plots;

/// <summary>
/// The common surface of the plots: configure the properties, then <see cref="Render"/> an
/// <see cref="Svg"/>, take the document as a string with <see cref="ToSvg"/>, or write it to a stream
/// or (atomically) to a file.
/// </summary>
public abstract class Plot
{
    /// <summary>The title drawn above the plot and stored as the document title, or null.</summary>
    public string? Title { get; set; }

    /// <summary>The width of the whole figure in pixels (some plots grow it to fit a legend).</summary>
    public double Width { get; set; } = 760;

    /// <summary>The height of the whole figure in pixels.</summary>
    public double Height { get; set; } = 440;

    /// <summary>The font size of tick labels in pixels; titles are a little larger.</summary>
    public double FontSize { get; set; } = 12;

    /// <summary>Draws the plot.</summary>
    /// <returns>A new document.</returns>
    /// <exception cref="InvalidOperationException">The plot's settings are inconsistent (the message says which).</exception>
    public abstract Svg Render();

    /// <summary>The SVG document as a string.</summary>
    /// <returns>The document, starting with the XML declaration.</returns>
    public string ToSvg() => Render().ToString();

    /// <summary>Writes the SVG document to a stream as UTF-8.</summary>
    /// <param name="stream">A writable stream; left open.</param>
    public void Write(Stream stream) => Render().Write(stream);

    /// <summary>Writes the SVG document to a file atomically (see <see cref="AtomicFile.Write"/>).</summary>
    /// <param name="path">The destination, conventionally ending in <c>.svg</c>; its directory must exist.</param>
    public void WriteFile(string path)
    {
        Svg svg = Render();
        svg.WriteFile(path);
    }

    /// <summary>An estimate of the width of a text in pixels (0.6 em per character: generous for sans-serif fonts).</summary>
    internal static double TextWidth(string text, double size) => text.Length * size * 0.6;

    /// <summary>Checks the size settings.</summary>
    internal void CheckSize()
    {
        if (!double.IsFinite(Width) || Width < 100) throw new InvalidOperationException($"{nameof(Width)} must be at least 100 pixels, not {Width}.");
        if (!double.IsFinite(Height) || Height < 100) throw new InvalidOperationException($"{nameof(Height)} must be at least 100 pixels, not {Height}.");
        if (!double.IsFinite(FontSize) || FontSize is < 4 or > 72) throw new InvalidOperationException($"{nameof(FontSize)} must be 4..72 pixels, not {FontSize}.");
    }

    /// <summary>The horizontal space <see cref="DrawColorBar"/> takes, bar and labels, for a range and label.</summary>
    internal double ColorBarWidth(double min, double max, string? label)
    {
        double[] ticks = ColorBarTicks(min, max, out string[] labels);
        return 16 + 6 + (ticks.Length == 0 ? 0 : labels.Max(l => TextWidth(l, FontSize))) + (label is null ? 0 : FontSize * 1.2 + 10);
    }

    /// <summary>Draws a vertical colour bar (high values at the top) with nice ticks and an optional rotated label.</summary>
    internal void DrawColorBar(Svg svg, double x, double top, double height, ColorMap map, double min, double max, string? label)
    {
        svg.BeginGroup("color-bar", "shape-rendering=\"crispEdges\"");
        const int Slices = 64;
        for (int i = 0; i < Slices; i++)
        {
            double y = top + height - (i + 1) * height / Slices;
            svg.Rect(x, y, 16, height / Slices + 0.5, map.ColorAt((i + 0.5) / Slices));
        }
        svg.Rect(x, top, 16, height, "none", "#444444");
        double[] ticks = ColorBarTicks(min, max, out string[] labels);
        double widest = 0;
        for (int i = 0; i < ticks.Length; i++)
        {
            double y = top + height - (ticks[i] - min) / (max - min) * height;
            svg.Line(x + 16, y, x + 20, y, "#444444");
            svg.Text(x + 23, y + FontSize * 0.35, labels[i], FontSize);
            widest = Math.Max(widest, TextWidth(labels[i], FontSize));
        }
        if (label is not null) svg.Text(x + 26 + widest + FontSize, top + height / 2, label, FontSize * 1.1, TextAnchor.Middle, rotate: 90);
        svg.EndGroup();
    }

    private static double[] ColorBarTicks(double min, double max, out string[] labels)
    {
        double[] all = AxisTicks.Linear(min, max, 4);
        double step = all.Length > 1 ? all[1] - all[0] : 1;
        double eps = (max - min) * 1e-9;
        double[] ticks = all.Where(t => t >= min - eps && t <= max + eps).ToArray();
        labels = ticks.Select(t => AxisTicks.Format(t, step)).ToArray();
        return ticks;
    }

    /// <summary>The name of a MIDI pitch in scientific pitch notation for C's (MIDI 60 = C4), e.g. <c>"C2"</c>.</summary>
    internal static string OctaveName(int midiPitch) => "C" + (midiPitch / 12 - 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
