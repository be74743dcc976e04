using System.Globalization;

namespace Gated.Plots;

/// <summary>
/// A continuous colour scale from 0 to 1, interpolated linearly in sRGB between evenly spaced anchor
/// colours.
/// </summary>
public sealed class ColorMap
{
    private readonly (double R, double G, double B)[] _anchors;

    /// <summary>Creates a colour map from evenly spaced anchors, the first at 0 and the last at 1.</summary>
    /// <param name="name">A name for the map.</param>
    /// <param name="anchors">Two or more colours as <c>#rrggbb</c>.</param>
    /// <exception cref="ArgumentException">Fewer than two anchors, or one is not <c>#rrggbb</c>.</exception>
    public ColorMap(string name, params string[] anchors)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(anchors);
        if (anchors.Length < 2) throw new ArgumentException("A colour map needs at least two anchors.", nameof(anchors));
        _anchors = new (double, double, double)[anchors.Length];
        for (int i = 0; i < anchors.Length; i++)
        {
            string a = anchors[i] ?? throw new ArgumentException("An anchor is null.", nameof(anchors));
            if (a.Length != 7 || a[0] != '#' || !int.TryParse(a.AsSpan(1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int rgb))
                throw new ArgumentException($"Anchor '{a}' is not a #rrggbb colour.", nameof(anchors));
            _anchors[i] = ((rgb >> 16) & 0xFF, (rgb >> 8) & 0xFF, rgb & 0xFF);
        }
        Name = name;
    }

    /// <summary>The name of the map.</summary>
    public string Name { get; }

    /// <summary>A perceptually uniform dark-blue → green → yellow scale like matplotlib's viridis (nine anchors).</summary>
    public static ColorMap Viridis { get; } = new("viridis",
        "#440154", "#472c7a", "#3b518b", "#2c718e", "#21908d", "#27ad81", "#5cc863", "#aadc32", "#fde725");

    /// <summary>A diverging blue → white → red scale, white at 0.5; for signed values on a symmetric range.</summary>
    public static ColorMap BlueWhiteRed { get; } = new("blue-white-red",
        "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7", "#fddbc7", "#f4a582", "#d6604d", "#b2182b");

    /// <summary>A white → black scale, for probabilities under a piano roll.</summary>
    public static ColorMap Greys { get; } = new("greys", "#ffffff", "#bdbdbd", "#737373", "#252525", "#000000");

    /// <summary>A white → dark blue scale.</summary>
    public static ColorMap Blues { get; } = new("blues", "#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b");

    /// <summary>The colour at a position as <c>#rrggbb</c>; positions outside 0..1 are clamped, NaN gives a neutral grey.</summary>
    /// <param name="t">The position, 0..1.</param>
    /// <returns>The colour.</returns>
    public string ColorAt(double t)
    {
        if (double.IsNaN(t)) return "#cccccc";
        t = Math.Clamp(t, 0, 1) * (_anchors.Length - 1);
        int i = Math.Min((int)t, _anchors.Length - 2);
        double f = t - i;
        var (r0, g0, b0) = _anchors[i];
        var (r1, g1, b1) = _anchors[i + 1];
        int r = (int)Math.Round(r0 + (r1 - r0) * f), g = (int)Math.Round(g0 + (g1 - g0) * f), b = (int)Math.Round(b0 + (b1 - b0) * f);
        return "#" + r.ToString("x2", CultureInfo.InvariantCulture) + g.ToString("x2", CultureInfo.InvariantCulture) + b.ToString("x2", CultureInfo.InvariantCulture);
    }

    /// <inheritdoc/>
    public override string ToString() => $"ColorMap({Name})";
}
