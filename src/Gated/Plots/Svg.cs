using System.Globalization;
using System.Text;
using Gated.IO;

namespace Gated.Plots;

/// <summary>How a text element is aligned to its anchor point.</summary>
public enum TextAnchor
{
    /// <summary>The text starts at the point.</summary>
    Start,

    /// <summary>The text is centred on the point.</summary>
    Middle,

    /// <summary>The text ends at the point.</summary>
    End,
}

/// <summary>
/// A small writer of self-contained SVG 1.1 documents: rectangles, lines, polylines, circles and
/// text in user units, with every number written in the invariant culture and every string
/// XML-escaped. The document references nothing outside itself (no fonts, images or style sheets).
/// </summary>
/// <remarks>
/// Elements are appended in drawing order (later elements paint over earlier ones). Colours are
/// SVG colour strings such as <c>"#1f77b4"</c> or <c>"none"</c>. <see cref="BeginGroup"/> and
/// <see cref="EndGroup"/> wrap elements in a <c>&lt;g&gt;</c> with a class name, which tests and
/// style sheets can select.
/// </remarks>
public sealed class Svg
{
    /// <summary>The SVG namespace, <c>http://www.w3.org/2000/svg</c>.</summary>
    public const string Namespace = "http://www.w3.org/2000/svg";

    /// <summary>The font family written on the root element.</summary>
    public const string FontFamily = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif";

    private readonly StringBuilder _body = new();
    private int _openGroups;
    private int _indent = 1;

    /// <summary>Creates an empty document.</summary>
    /// <param name="width">The width in pixels, positive and finite.</param>
    /// <param name="height">The height in pixels, positive and finite.</param>
    /// <param name="title">The document title (a <c>&lt;title&gt;</c> element), or null.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive and finite.</exception>
    public Svg(double width, double height, string? title = null)
    {
        if (!double.IsFinite(width) || width <= 0) throw new ArgumentOutOfRangeException(nameof(width), width, "The width must be positive and finite.");
        if (!double.IsFinite(height) || height <= 0) throw new ArgumentOutOfRangeException(nameof(height), height, "The height must be positive and finite.");
        Width = width;
        Height = height;
        Title = title;
    }

    /// <summary>The width in pixels.</summary>
    public double Width { get; }

    /// <summary>The height in pixels.</summary>
    public double Height { get; }

    /// <summary>The document title, or null.</summary>
    public string? Title { get; }

    /// <summary>Opens a group <c>&lt;g class="…"&gt;</c>; close it with <see cref="EndGroup"/>.</summary>
    /// <param name="cssClass">The class name, or null for none.</param>
    /// <param name="extraAttributes">Further attributes written verbatim (already escaped), e.g. <c>shape-rendering="crispEdges"</c>, or null.</param>
    public void BeginGroup(string? cssClass, string? extraAttributes = null)
    {
        Indent();
        _body.Append("<g");
        if (cssClass is not null) _body.Append(" class=\"").Append(Escape(cssClass)).Append('"');
        if (extraAttributes is not null) _body.Append(' ').Append(extraAttributes);
        _body.Append(">\n");
        _openGroups++;
        _indent++;
    }

    /// <summary>Closes the innermost group.</summary>
    /// <exception cref="InvalidOperationException">No group is open.</exception>
    public void EndGroup()
    {
        if (_openGroups == 0) throw new InvalidOperationException("No group is open.");
        _openGroups--;
        _indent--;
        Indent();
        _body.Append("</g>\n");
    }

    /// <summary>Draws a rectangle.</summary>
    /// <param name="x">The left edge.</param>
    /// <param name="y">The top edge.</param>
    /// <param name="width">The width (negative is drawn as 0).</param>
    /// <param name="height">The height (negative is drawn as 0).</param>
    /// <param name="fill">The fill colour, or <c>"none"</c>.</param>
    /// <param name="stroke">The outline colour, or null for none.</param>
    /// <param name="strokeWidth">The outline width.</param>
    /// <param name="opacity">The fill opacity, 0..1.</param>
    public void Rect(double x, double y, double width, double height, string fill, string? stroke = null, double strokeWidth = 1, double opacity = 1)
    {
        Indent();
        _body.Append("<rect x=\"").Append(Number(x)).Append("\" y=\"").Append(Number(y))
            .Append("\" width=\"").Append(Number(Math.Max(0, width))).Append("\" height=\"").Append(Number(Math.Max(0, height)))
            .Append("\" fill=\"").Append(Escape(fill)).Append('"');
        if (opacity < 1) _body.Append(" fill-opacity=\"").Append(Number(Math.Max(0, opacity), 3)).Append('"');
        AppendStroke(stroke, strokeWidth, null);
        _body.Append("/>\n");
    }

    /// <summary>Draws a straight line.</summary>
    /// <param name="x1">The start x.</param>
    /// <param name="y1">The start y.</param>
    /// <param name="x2">The end x.</param>
    /// <param name="y2">The end y.</param>
    /// <param name="stroke">The colour.</param>
    /// <param name="strokeWidth">The width.</param>
    /// <param name="dash">An SVG dash pattern such as <c>"6 4"</c>, or null for a solid line.</param>
    public void Line(double x1, double y1, double x2, double y2, string stroke, double strokeWidth = 1, string? dash = null)
    {
        Indent();
        _body.Append("<line x1=\"").Append(Number(x1)).Append("\" y1=\"").Append(Number(y1))
            .Append("\" x2=\"").Append(Number(x2)).Append("\" y2=\"").Append(Number(y2)).Append('"');
        AppendStroke(stroke, strokeWidth, dash);
        _body.Append("/>\n");
    }

    /// <summary>Draws connected line segments through points (nothing for fewer than two).</summary>
    /// <param name="points">The points in pixels.</param>
    /// <param name="stroke">The colour.</param>
    /// <param name="strokeWidth">The width.</param>
    /// <param name="dash">An SVG dash pattern, or null for a solid line.</param>
    /// <exception cref="ArgumentNullException"><paramref name="points"/> is null.</exception>
    public void Polyline(IReadOnlyList<(double X, double Y)> points, string stroke, double strokeWidth = 1, string? dash = null)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (points.Count < 2) return;
        Indent();
        _body.Append("<polyline fill=\"none\" points=\"");
        for (int i = 0; i < points.Count; i++)
        {
            if (i > 0) _body.Append(' ');
            _body.Append(Number(points[i].X)).Append(',').Append(Number(points[i].Y));
        }
        _body.Append('"');
        AppendStroke(stroke, strokeWidth, dash);
        _body.Append(" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>\n");
    }

    /// <summary>Draws a filled circle.</summary>
    /// <param name="cx">The centre x.</param>
    /// <param name="cy">The centre y.</param>
    /// <param name="r">The radius.</param>
    /// <param name="fill">The fill colour.</param>
    /// <param name="stroke">The outline colour, or null for none.</param>
    public void Circle(double cx, double cy, double r, string fill, string? stroke = null)
    {
        Indent();
        _body.Append("<circle cx=\"").Append(Number(cx)).Append("\" cy=\"").Append(Number(cy))
            .Append("\" r=\"").Append(Number(Math.Max(0, r))).Append("\" fill=\"").Append(Escape(fill)).Append('"');
        AppendStroke(stroke, 1, null);
        _body.Append("/>\n");
    }

    /// <summary>Writes a line of text; <paramref name="y"/> is the baseline.</summary>
    /// <param name="x">The anchor x.</param>
    /// <param name="y">The baseline y.</param>
    /// <param name="text">The text (escaped here; characters XML forbids are dropped).</param>
    /// <param name="size">The font size in pixels.</param>
    /// <param name="anchor">How the text aligns to <paramref name="x"/>.</param>
    /// <param name="rotate">A rotation in degrees about the anchor point (−90 for a vertical axis title).</param>
    /// <param name="fill">The colour.</param>
    /// <param name="bold">Whether the text is bold.</param>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public void Text(double x, double y, string text, double size = 12, TextAnchor anchor = TextAnchor.Start, double rotate = 0, string fill = "#222222", bool bold = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        Indent();
        _body.Append("<text x=\"").Append(Number(x)).Append("\" y=\"").Append(Number(y))
            .Append("\" font-size=\"").Append(Number(size)).Append('"');
        if (anchor != TextAnchor.Start) _body.Append(" text-anchor=\"").Append(anchor == TextAnchor.Middle ? "middle" : "end").Append('"');
        if (rotate != 0) _body.Append(" transform=\"rotate(").Append(Number(rotate)).Append(' ').Append(Number(x)).Append(' ').Append(Number(y)).Append(")\"");
        if (fill != "#222222") _body.Append(" fill=\"").Append(Escape(fill)).Append('"');
        if (bold) _body.Append(" font-weight=\"bold\"");
        _body.Append('>').Append(Escape(text)).Append("</text>\n");
    }

    /// <summary>The complete document, closing any group left open.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder(_body.Length + 512);
        sb.Append("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n");
        sb.Append("<svg xmlns=\"").Append(Namespace).Append("\" version=\"1.1\" width=\"").Append(Number(Width))
            .Append("\" height=\"").Append(Number(Height)).Append("\" viewBox=\"0 0 ").Append(Number(Width)).Append(' ').Append(Number(Height))
            .Append("\" font-family=\"").Append(FontFamily).Append("\">\n");
        if (Title is not null) sb.Append("  <title>").Append(Escape(Title)).Append("</title>\n");
        sb.Append("  <rect x=\"0\" y=\"0\" width=\"").Append(Number(Width)).Append("\" height=\"").Append(Number(Height)).Append("\" fill=\"#ffffff\"/>\n");
        sb.Append(_body);
        for (int i = 0; i < _openGroups; i++) sb.Append("</g>\n");
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    /// <summary>Writes the document to a stream as UTF-8 without a byte-order mark.</summary>
    /// <param name="stream">A writable stream; left open.</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    public void Write(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        stream.Write(new UTF8Encoding(false).GetBytes(ToString()));
    }

    /// <summary>Writes the document to a file atomically (see <see cref="AtomicFile.Write"/>).</summary>
    /// <param name="path">The destination, conventionally ending in <c>.svg</c>; its directory must exist.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public void WriteFile(string path) => AtomicFile.Write(path, Write);

    /// <summary>
    /// Escapes text for XML character data and attribute values: <c>&amp;</c>, <c>&lt;</c>, <c>&gt;</c>,
    /// <c>"</c> and <c>'</c> become entities, and characters XML 1.0 forbids (control characters other
    /// than tab, line feed and carriage return, lone surrogates, U+FFFE and U+FFFF) are dropped.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <returns>The escaped text.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        StringBuilder? sb = null;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            string? replacement = c switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&apos;",
                _ => null,
            };
            bool keep = replacement is null;
            if (keep)
            {
                if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    sb?.Append(c).Append(text[i + 1]);
                    i++;
                    continue;
                }
                bool allowed = c is '\t' or '\n' or '\r' || (c >= ' ' && c < '\uFFFE' && !char.IsSurrogate(c));
                if (!allowed) replacement = "";
            }
            if (replacement is not null)
            {
                sb ??= new StringBuilder(text, 0, i, text.Length + 16);
                sb.Append(replacement);
            }
            else
            {
                sb?.Append(c);
            }
        }
        return sb?.ToString() ?? text;
    }

    /// <summary>Formats a number for SVG: invariant culture, '.' as the decimal separator, at most
    /// <paramref name="decimals"/> decimals, no exponent, no negative zero.</summary>
    /// <param name="value">A finite number (non-finite values are written as 0).</param>
    /// <param name="decimals">The most decimals to keep, 0..6.</param>
    /// <returns>The formatted number.</returns>
    public static string Number(double value, int decimals = 2)
    {
        if (!double.IsFinite(value)) return "0";
        double rounded = Math.Round(value, Math.Clamp(decimals, 0, 6), MidpointRounding.AwayFromZero);
        if (rounded == 0) return "0";
        return rounded.ToString(decimals switch { <= 0 => "0", 1 => "0.#", 2 => "0.##", 3 => "0.###", _ => "0.######" }, CultureInfo.InvariantCulture);
    }

    private void AppendStroke(string? stroke, double strokeWidth, string? dash)
    {
        if (stroke is null) return;
        _body.Append(" stroke=\"").Append(Escape(stroke)).Append("\" stroke-width=\"").Append(Number(strokeWidth)).Append('"');
        if (dash is not null) _body.Append(" stroke-dasharray=\"").Append(Escape(dash)).Append('"');
    }

    private void Indent() => _body.Append(' ', 2 * _indent);
}
