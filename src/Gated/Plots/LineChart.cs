namespace Gated.Plots;

/// <summary>
/// A line chart of named series, with axis titles, nice 1-2-5 ticks, a light grid, a legend to the
/// right of the plot area, an optional logarithmic x axis and optional dashed horizontal reference
/// lines (such as a paper's reported numbers).
/// </summary>
/// <remarks>
/// The axes cover every finite point and every reference line, extended to the nearest ticks. Points
/// with a NaN or infinite coordinate (or x ≤ 0 on a logarithmic axis) are skipped and break their line;
/// a point that has no neighbour on its line is drawn as a dot, and every point gets a dot when a series
/// has at most 40. An empty chart still draws its axes (0..1); a constant series gets a padded range.
/// </remarks>
public sealed class LineChart : Plot
{
    private static readonly string[] Palette =
        ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#b8a800"];

    /// <summary>The x axis title with its unit, e.g. <c>"epoch"</c>, or null.</summary>
    public string? XLabel { get; set; }

    /// <summary>The y axis title with its unit, e.g. <c>"NLL per time step (nats)"</c>, or null.</summary>
    public string? YLabel { get; set; }

    /// <summary>Whether the x axis is logarithmic (base 10).</summary>
    public bool LogX { get; set; }

    /// <summary>The series, drawn in order (later over earlier).</summary>
    public List<LineSeries> Series { get; } = [];

    /// <summary>The horizontal reference lines, drawn under the series.</summary>
    public List<ReferenceLine> ReferenceLines { get; } = [];

    /// <summary>Adds a series of (x, y) points.</summary>
    /// <param name="name">The legend entry; an empty name gives none (e.g. for further runs drawn in the colour of a named one).</param>
    /// <param name="points">The points.</param>
    /// <param name="color">The colour, or null for the next palette colour.</param>
    /// <param name="dash">An SVG dash pattern, or null for a solid line.</param>
    /// <returns>This chart.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> or <paramref name="points"/> is null.</exception>
    public LineChart AddSeries(string name, IEnumerable<(double X, double Y)> points, string? color = null, string? dash = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(points);
        Series.Add(new LineSeries(name, points.ToArray(), color, dash));
        return this;
    }

    /// <summary>Adds a series of y values at x = <paramref name="firstX"/>, <paramref name="firstX"/> + 1, … (e.g. one per epoch).</summary>
    /// <param name="name">The legend entry.</param>
    /// <param name="values">The y values.</param>
    /// <param name="firstX">The x of the first value (default 1).</param>
    /// <param name="color">The colour, or null for the next palette colour.</param>
    /// <param name="dash">An SVG dash pattern, or null for a solid line.</param>
    /// <returns>This chart.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> or <paramref name="values"/> is null.</exception>
    public LineChart AddSeries(string name, IEnumerable<double> values, double firstX = 1, string? color = null, string? dash = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        return AddSeries(name, values.Select((y, i) => (firstX + i, y)), color, dash);
    }

    /// <summary>Adds a dashed horizontal reference line.</summary>
    /// <param name="y">The y value.</param>
    /// <param name="label">The legend entry, e.g. <c>"GRU, Chung et al. 2014: 8.54"</c>.</param>
    /// <param name="color">The colour, or null for dark grey.</param>
    /// <returns>This chart.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="label"/> is null.</exception>
    public LineChart AddReferenceLine(double y, string label, string? color = null)
    {
        ArgumentNullException.ThrowIfNull(label);
        ReferenceLines.Add(new ReferenceLine(y, label, color));
        return this;
    }

    /// <inheritdoc/>
    public override Svg Render()
    {
        CheckSize();
        double fs = FontSize;

        // Data ranges over usable points.
        double xMin = double.PositiveInfinity, xMax = double.NegativeInfinity, yMin = double.PositiveInfinity, yMax = double.NegativeInfinity;
        foreach (LineSeries s in Series)
        {
            if (s is null || s.Points is null) throw new InvalidOperationException("A series or its point list is null.");
            foreach ((double x, double y) in s.Points)
            {
                if (!Usable(x, y)) continue;
                xMin = Math.Min(xMin, x); xMax = Math.Max(xMax, x);
                yMin = Math.Min(yMin, y); yMax = Math.Max(yMax, y);
            }
        }
        foreach (ReferenceLine r in ReferenceLines)
        {
            if (r is null) throw new InvalidOperationException("A reference line is null.");
            if (!double.IsFinite(r.Y)) continue;
            yMin = Math.Min(yMin, r.Y); yMax = Math.Max(yMax, r.Y);
        }
        if (xMin > xMax) (xMin, xMax) = LogX ? (1, 10) : (0, 1);
        if (yMin > yMax) (yMin, yMax) = (0, 1);
        if (LogX && xMin == xMax) (xMin, xMax) = (xMin / 2, xMax * 2);

        double[] yTicks = AxisTicks.Linear(yMin, yMax, Math.Max(2, (int)((Height - 120) / 50)));
        double yStep = yTicks.Length > 1 ? yTicks[1] - yTicks[0] : 1;
        string[] yLabels = yTicks.Select(v => AxisTicks.Format(v, yStep)).ToArray();

        // Legend entries: series, then reference lines.
        var legend = new List<(string Text, string Color, string? Dash, bool Reference)>();
        for (int i = 0; i < Series.Count; i++)
            if (!string.IsNullOrEmpty(Series[i].Name)) legend.Add((Series[i].Name, SeriesColor(i), Series[i].Dash, false));
        foreach (ReferenceLine r in ReferenceLines)
            legend.Add((r.Label ?? "", r.Color ?? "#555555", "6 4", true));
        double legendRow = fs * 1.6;
        double legendWidth = legend.Count == 0 ? 0 : 36 + legend.Max(e => TextWidth(e.Text, fs)) + 12;

        // Margins.
        double top = Title is null ? 16 : 16 + fs * 1.5 + 12;
        double left = 10 + (YLabel is null ? 0 : fs * 1.2 + 10) + yLabels.Max(l => TextWidth(l, fs)) + 8;
        double bottom = 8 + fs + 8 + (XLabel is null ? 0 : fs * 1.2 + 10) + 6;
        // The last x label is centred on the right edge of the plot: keep room for its half.
        double xLabelHalf = TextWidth(AxisTicks.Format(LogX ? xMax * 10 : xMax * 1.5, LogX ? xMax : (xMax - xMin) / 10), fs) / 2;
        double right = legend.Count == 0 ? Math.Max(24, xLabelHalf + 8) : legendWidth + 28;
        double width = Math.Max(Width, left + 240 + right);
        double height = Math.Max(Height, top + bottom + Math.Max(160, legend.Count * legendRow + 16));
        double pw = width - left - right, ph = height - top - bottom;

        // X ticks: as many as fit without their labels touching.
        double[] xTicks;
        string[] xLabels;
        int target = Math.Max(1, (int)(pw / 70));
        while (true)
        {
            xTicks = LogX ? AxisTicks.Logarithmic(xMin, xMax) : AxisTicks.Linear(xMin, xMax, target);
            double xStep = xTicks.Length > 1 ? xTicks[1] - xTicks[0] : 1;
            xLabels = LogX ? xTicks.Select(v => AxisTicks.Format(v, v)).ToArray() : xTicks.Select(v => AxisTicks.Format(v, xStep)).ToArray();
            double widest = xLabels.Max(l => TextWidth(l, fs));
            if (LogX || target == 1 || (xTicks.Length - 1) * (widest + 16) <= pw * 1.0001) break;
            target--;
        }
        if (LogX && xTicks.Length > 2)
        {
            // Thin crowded logarithmic labels (1-2-5 within few decades).
            double widest = xLabels.Max(l => TextWidth(l, fs));
            if (widest + 12 > pw / (xTicks.Length - 1) * 0.8)
                for (int i = 0; i < xLabels.Length; i++)
                    if (Math.Abs(Math.Log10(xTicks[i]) - Math.Round(Math.Log10(xTicks[i]))) > 1e-9) xLabels[i] = "";
        }

        double x0 = Transform(xTicks[0]), x1 = Transform(xTicks[^1]), y0 = yTicks[0], y1 = yTicks[^1];
        double MapX(double x) => left + (Transform(x) - x0) / (x1 - x0) * pw;
        double MapY(double y) => top + ph - (y - y0) / (y1 - y0) * ph;

        var svg = new Svg(width, height, Title);
        if (Title is not null) svg.Text(left + pw / 2, 16 + fs * 1.3, Title, fs * 1.3, TextAnchor.Middle, bold: true);

        // Grid and frame.
        svg.BeginGroup("grid");
        for (int i = 0; i < yTicks.Length; i++) svg.Line(left, MapY(yTicks[i]), left + pw, MapY(yTicks[i]), "#e3e3e3");
        for (int i = 0; i < xTicks.Length; i++) svg.Line(MapX(xTicks[i]), top, MapX(xTicks[i]), top + ph, "#e3e3e3");
        svg.EndGroup();

        svg.BeginGroup("x-axis");
        svg.Line(left, top + ph, left + pw, top + ph, "#444444");
        for (int i = 0; i < xTicks.Length; i++)
        {
            double x = MapX(xTicks[i]);
            svg.Line(x, top + ph, x, top + ph + 5, "#444444");
            if (xLabels[i].Length > 0) svg.Text(x, top + ph + 8 + fs, xLabels[i], fs, TextAnchor.Middle);
        }
        if (XLabel is not null) svg.Text(left + pw / 2, height - 10, XLabel, fs * 1.1, TextAnchor.Middle);
        svg.EndGroup();

        svg.BeginGroup("y-axis");
        svg.Line(left, top, left, top + ph, "#444444");
        for (int i = 0; i < yTicks.Length; i++)
        {
            double y = MapY(yTicks[i]);
            svg.Line(left - 5, y, left, y, "#444444");
            svg.Text(left - 8, y + fs * 0.35, yLabels[i], fs, TextAnchor.End);
        }
        if (YLabel is not null) svg.Text(10 + fs * 1.1, top + ph / 2, YLabel, fs * 1.1, TextAnchor.Middle, rotate: -90);
        svg.EndGroup();

        if (!Series.Any(s => s.Points.Any(p => Usable(p.X, p.Y))) && !ReferenceLines.Any(r => double.IsFinite(r.Y)))
            svg.Text(left + pw / 2, top + ph / 2, "no data", fs * 1.2, TextAnchor.Middle, fill: "#888888");

        svg.BeginGroup("reference-lines");
        foreach (ReferenceLine r in ReferenceLines)
            if (double.IsFinite(r.Y)) svg.Line(left, MapY(r.Y), left + pw, MapY(r.Y), r.Color ?? "#555555", 1.5, "6 4");
        svg.EndGroup();

        for (int i = 0; i < Series.Count; i++)
        {
            LineSeries s = Series[i];
            string color = SeriesColor(i);
            svg.BeginGroup("series");
            var run = new List<(double X, double Y)>();
            var isolated = new List<(double X, double Y)>();
            int usable = s.Points.Count(p => Usable(p.X, p.Y));
            bool dots = usable <= 40;
            void Flush()
            {
                if (run.Count == 1) isolated.Add(run[0]);
                svg.Polyline(run, color, 2, s.Dash);
                run.Clear();
            }
            foreach ((double x, double y) in s.Points)
            {
                if (!Usable(x, y)) { Flush(); continue; }
                run.Add((MapX(x), MapY(y)));
                if (dots) isolated.Add(run[^1]);
            }
            Flush();
            foreach ((double x, double y) in isolated.Distinct()) svg.Circle(x, y, dots ? 2.5 : 3, color);
            svg.EndGroup();
        }

        if (legend.Count > 0)
        {
            double lx = left + pw + 16, ly = top;
            svg.BeginGroup("legend");
            svg.Rect(lx, ly, legendWidth, legend.Count * legendRow + 10, "#ffffff", "#bbbbbb");
            for (int i = 0; i < legend.Count; i++)
            {
                double cy = ly + 5 + legendRow * (i + 0.5);
                svg.Line(lx + 8, cy, lx + 30, cy, legend[i].Color, legend[i].Reference ? 1.5 : 2, legend[i].Dash);
                svg.Text(lx + 36, cy + fs * 0.35, legend[i].Text, fs);
            }
            svg.EndGroup();
        }
        return svg;
    }

    private string SeriesColor(int index) => Series[index].Color ?? Palette[index % Palette.Length];

    private bool Usable(double x, double y) => double.IsFinite(x) && double.IsFinite(y) && (!LogX || x > 0);

    private double Transform(double x) => LogX ? Math.Log10(x) : x;
}
