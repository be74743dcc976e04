namespace Gated.Plots;

/// <summary>A named series of (x, y) points for a <see cref="LineChart"/>, drawn as a line in point order.</summary>
/// <param name="Name">The legend entry; empty for none.</param>
/// <param name="Points">The points; a point with a non-finite coordinate (or x ≤ 0 on a logarithmic x axis) is
/// skipped and breaks the line.</param>
/// <param name="Color">The colour as an SVG colour string, or null for the next colour of the palette.</param>
/// <param name="Dash">An SVG dash pattern such as <c>"6 3"</c>, or null for a solid line.</param>
public sealed record LineSeries(string Name, IReadOnlyList<(double X, double Y)> Points, string? Color = null, string? Dash = null);

/// <summary>A horizontal reference line across a <see cref="LineChart"/>, dashed, listed in the legend; for
/// example a published result to compare a training curve with.</summary>
/// <param name="Y">The y value; a non-finite value is skipped.</param>
/// <param name="Label">The legend entry.</param>
/// <param name="Color">The colour, or null for dark grey.</param>
public sealed record ReferenceLine(double Y, string Label, string? Color = null);
