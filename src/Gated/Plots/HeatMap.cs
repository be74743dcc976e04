using System.Globalization;

namespace Gated.Plots;

/// <summary>
/// A matrix of values as coloured cells with a colour bar, row and column labels and axis titles; for
/// example the gate activations of a recurrent layer (time steps × units).
/// </summary>
/// <remarks>
/// <para>
/// By default row <c>i</c> is drawn as the <c>i</c>-th row from the top and column <c>j</c> as the
/// <c>j</c>-th column from the left, like a printed matrix. With <see cref="RowsAlongX"/> the rows run
/// left to right instead, which puts the time steps of a T × N gate matrix along the x axis.
/// </para>
/// <para>
/// Values map linearly from <see cref="Minimum"/> (default: the smallest finite value) to
/// <see cref="Maximum"/> (default: the largest) onto <see cref="ColorMap"/>; values outside are clamped
/// and NaN cells are drawn neutral grey. Labels are thinned so they do not overlap; without labels the
/// axes show 0-based indices at nice steps.
/// </para>
/// </remarks>
public sealed class HeatMap : Plot
{
    private readonly float[] _values;

    /// <summary>Creates a heat map of a row-major matrix.</summary>
    /// <param name="values">The values, <c>values[row · columns + column]</c>; not copied.</param>
    /// <param name="rows">The number of rows, at least 1.</param>
    /// <param name="columns">The number of columns, at least 1.</param>
    /// <exception cref="ArgumentNullException"><paramref name="values"/> is null.</exception>
    /// <exception cref="ArgumentException">The sizes are not positive or do not match the length of <paramref name="values"/>.</exception>
    public HeatMap(float[] values, int rows, int columns)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        if ((long)rows * columns != values.Length)
            throw new ArgumentException($"A {rows} × {columns} matrix needs {(long)rows * columns} values, not {values.Length}.", nameof(values));
        _values = values;
        Rows = rows;
        Columns = columns;
        Width = 760;
        Height = 520;
    }

    /// <summary>The number of rows.</summary>
    public int Rows { get; }

    /// <summary>The number of columns.</summary>
    public int Columns { get; }

    /// <summary>One label per row, or null for index ticks.</summary>
    public IReadOnlyList<string>? RowLabels { get; set; }

    /// <summary>One label per column, or null for index ticks.</summary>
    public IReadOnlyList<string>? ColumnLabels { get; set; }

    /// <summary>The title of the axis the rows run along, e.g. <c>"time step"</c>, or null.</summary>
    public string? RowTitle { get; set; }

    /// <summary>The title of the axis the columns run along, e.g. <c>"unit"</c>, or null.</summary>
    public string? ColumnTitle { get; set; }

    /// <summary>Whether rows run along the x axis (left to right) and columns down the y axis (top to bottom).</summary>
    public bool RowsAlongX { get; set; }

    /// <summary>The colour scale; <see cref="ColorMap.BlueWhiteRed"/> suits signed values with a symmetric range.</summary>
    public ColorMap ColorMap { get; set; } = ColorMap.Viridis;

    /// <summary>The value at the bottom of the colour scale, or null for the smallest finite value.</summary>
    public double? Minimum { get; set; }

    /// <summary>The value at the top of the colour scale, or null for the largest finite value.</summary>
    public double? Maximum { get; set; }

    /// <summary>The label of the colour bar, e.g. <c>"update gate z"</c>, or null.</summary>
    public string? ColorBarLabel { get; set; }

    /// <inheritdoc/>
    public override Svg Render()
    {
        CheckSize();
        if (RowLabels is not null && RowLabels.Count != Rows) throw new InvalidOperationException($"There are {RowLabels.Count} row labels for {Rows} rows.");
        if (ColumnLabels is not null && ColumnLabels.Count != Columns) throw new InvalidOperationException($"There are {ColumnLabels.Count} column labels for {Columns} columns.");
        (double min, double max) = Range();
        double fs = FontSize;

        int nx = RowsAlongX ? Rows : Columns, ny = RowsAlongX ? Columns : Rows;
        IReadOnlyList<string>? xNames = RowsAlongX ? RowLabels : ColumnLabels, yNames = RowsAlongX ? ColumnLabels : RowLabels;
        string? xTitle = RowsAlongX ? RowTitle : ColumnTitle, yTitle = RowsAlongX ? ColumnTitle : RowTitle;
        string[] xLabels = Labels(xNames, nx), yLabels = Labels(yNames, ny);

        double top = Title is null ? 14 : 14 + fs * 1.5 + 12;
        double yLabelWidth = yLabels.Length == 0 ? 0 : yLabels.Max(l => TextWidth(l, fs));
        double left = 10 + (yTitle is null ? 0 : fs * 1.2 + 10) + Math.Min(yLabelWidth, 200) + 10;
        double bottom = 8 + fs + 8 + (xTitle is null ? 0 : fs * 1.2 + 10) + 6;
        double right = 20 + ColorBarWidth(min, max, ColorBarLabel) + 16;
        double width = Math.Max(Width, left + 120 + right);
        double height = Math.Max(Height, top + bottom + 120);
        double pw = width - left - right, ph = height - top - bottom;
        double cw = pw / nx, ch = ph / ny;

        var svg = new Svg(width, height, Title);
        if (Title is not null) svg.Text(left + pw / 2, 14 + fs * 1.3, Title, fs * 1.3, TextAnchor.Middle, bold: true);

        svg.BeginGroup("cells", "shape-rendering=\"crispEdges\"");
        const int Levels = 256;
        for (int iy = 0; iy < ny; iy++)
        {
            int ix = 0;
            while (ix < nx)
            {
                int level = Level(Value(ix, iy), min, max, Levels);
                int end = ix + 1;
                while (end < nx && Level(Value(end, iy), min, max, Levels) == level) end++;
                string color = level < 0 ? ColorMap.ColorAt(double.NaN) : ColorMap.ColorAt((double)level / (Levels - 1));
                svg.Rect(left + ix * cw, top + iy * ch, (end - ix) * cw, ch, color);
                ix = end;
            }
        }
        svg.EndGroup();
        svg.Rect(left, top, pw, ph, "none", "#444444");

        // Labels, thinned to every k-th so that they do not overlap.
        svg.BeginGroup("x-axis");
        int xEvery = Every(xLabels, cw, fs, horizontal: true, xNames is null);
        for (int i = 0; i < nx; i += xEvery)
        {
            double x = left + (i + 0.5) * cw;
            svg.Line(x, top + ph, x, top + ph + 4, "#444444");
            svg.Text(x, top + ph + 7 + fs, xLabels[i], fs, TextAnchor.Middle);
        }
        if (xTitle is not null) svg.Text(left + pw / 2, height - 10, xTitle, fs * 1.1, TextAnchor.Middle);
        svg.EndGroup();

        svg.BeginGroup("y-axis");
        int yEvery = Every(yLabels, ch, fs, horizontal: false, yNames is null);
        for (int i = 0; i < ny; i += yEvery)
        {
            double y = top + (i + 0.5) * ch;
            svg.Line(left - 4, y, left, y, "#444444");
            string label = yLabels[i].Length > 33 ? yLabels[i][..32] + "…" : yLabels[i];
            svg.Text(left - 7, y + fs * 0.35, label, fs, TextAnchor.End);
        }
        if (yTitle is not null) svg.Text(10 + fs * 1.1, top + ph / 2, yTitle, fs * 1.1, TextAnchor.Middle, rotate: -90);
        svg.EndGroup();

        DrawColorBar(svg, left + pw + 20, top, ph, ColorMap, min, max, ColorBarLabel);
        return svg;
    }

    private float Value(int ix, int iy) => RowsAlongX ? _values[ix * Columns + iy] : _values[iy * Columns + ix];

    private static int Level(float v, double min, double max, int levels) =>
        float.IsNaN(v) ? -1 : (int)Math.Round(Math.Clamp((v - min) / (max - min), 0, 1) * (levels - 1));

    private (double Min, double Max) Range()
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (float v in _values)
            if (float.IsFinite(v)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        if (lo > hi) (lo, hi) = (0, 1);
        double min = Minimum ?? lo, max = Maximum ?? hi;
        if (!double.IsFinite(min) || !double.IsFinite(max) || max < min)
            throw new InvalidOperationException($"The colour range {min}..{max} is not a finite, ascending range.");
        return AxisTicks.Pad(min, max);
    }

    /// <summary>The given labels, or 0-based indices.</summary>
    private static string[] Labels(IReadOnlyList<string>? names, int count)
    {
        var labels = new string[count];
        for (int i = 0; i < count; i++) labels[i] = names?[i] ?? (names is null ? i.ToString(CultureInfo.InvariantCulture) : "");
        return labels;
    }

    /// <summary>Label every k-th cell so labels keep apart; for index labels, k is a 1-2-5 number.</summary>
    private static int Every(string[] labels, double cell, double fs, bool horizontal, bool indices)
    {
        double need = horizontal ? labels.Max(l => TextWidth(l, fs)) + 10 : fs * 1.3;
        int k = Math.Max(1, (int)Math.Ceiling(need / cell));
        if (indices && k > 1) k = (int)AxisTicks.NiceStep(k);
        return k;
    }
}
