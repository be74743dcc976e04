using System.Globalization;

namespace Gated.Plots;

/// <summary>
/// "Nice" axis tick values: multiples of 1, 2 or 5 times a power of ten on a linear axis, and powers
/// of ten (with 2 and 5 between them when the range is short) on a logarithmic axis.
/// </summary>
public static class AxisTicks
{
    /// <summary>
    /// Evenly spaced ticks with a step of 1, 2 or 5 × 10^k that cover a range: the first tick is at or
    /// below <paramref name="min"/> and the last at or above <paramref name="max"/>.
    /// </summary>
    /// <remarks>An empty range (<paramref name="min"/> = <paramref name="max"/>) is padded by 10 % of the value
    /// (or by 1 around 0) on each side first, so a constant series still gets an axis.</remarks>
    /// <param name="min">The smallest value to cover, finite.</param>
    /// <param name="max">The largest value to cover, finite and at least <paramref name="min"/>.</param>
    /// <param name="targetCount">About how many intervals to aim for, 1..100 (default 5).</param>
    /// <returns>Two or more ascending ticks.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A bound is not finite, <paramref name="max"/> &lt; <paramref name="min"/>,
    /// or <paramref name="targetCount"/> is out of range.</exception>
    public static double[] Linear(double min, double max, int targetCount = 5)
    {
        if (!double.IsFinite(min)) throw new ArgumentOutOfRangeException(nameof(min), min, "The minimum must be finite.");
        if (!double.IsFinite(max) || max < min) throw new ArgumentOutOfRangeException(nameof(max), max, "The maximum must be finite and at least the minimum.");
        ArgumentOutOfRangeException.ThrowIfLessThan(targetCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(targetCount, 100);
        (min, max) = Pad(min, max);
        double step = NiceStep((max - min) / targetCount);
        double first = Math.Floor(min / step + 1e-9), last = Math.Ceiling(max / step - 1e-9);
        var ticks = new double[(int)(last - first) + 1];
        for (int i = 0; i < ticks.Length; i++) ticks[i] = Clean((first + i) * step, step);
        return ticks;
    }

    /// <summary>
    /// Ticks for a logarithmic axis covering [<paramref name="min"/>, <paramref name="max"/>]: the powers of ten
    /// from the one at or below <paramref name="min"/> to the one at or above <paramref name="max"/>, with 2× and 5×
    /// multiples added when that gives fewer than four ticks, and thinned to every second or fifth decade when it
    /// gives more than twelve.
    /// </summary>
    /// <param name="min">The smallest value, positive and finite.</param>
    /// <param name="max">The largest value, finite and at least <paramref name="min"/>.</param>
    /// <returns>Two or more ascending ticks; the first and the last bound the axis.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A bound is not positive and finite, or <paramref name="max"/> &lt; <paramref name="min"/>.</exception>
    public static double[] Logarithmic(double min, double max)
    {
        if (!double.IsFinite(min) || min <= 0) throw new ArgumentOutOfRangeException(nameof(min), min, "The minimum must be positive and finite.");
        if (!double.IsFinite(max) || max < min) throw new ArgumentOutOfRangeException(nameof(max), max, "The maximum must be finite and at least the minimum.");
        int lo = (int)Math.Floor(Math.Log10(min) + 1e-9), hi = (int)Math.Ceiling(Math.Log10(max) - 1e-9);
        if (hi == lo) hi++;
        var ticks = new List<double>();
        if (hi - lo <= 2)
        {
            for (int e = lo; e <= hi; e++)
                foreach (double m in (ReadOnlySpan<double>)[1, 2, 5])
                {
                    double v = m * Math.Pow(10, e);
                    if (e == hi && m > 1) break;
                    ticks.Add(v);
                }
            // Drop multiples that lie outside the data beyond the nearest tick.
            while (ticks.Count > 2 && ticks[1] <= min * (1 + 1e-12)) ticks.RemoveAt(0);
            while (ticks.Count > 2 && ticks[^2] >= max * (1 - 1e-12)) ticks.RemoveAt(ticks.Count - 1);
        }
        else
        {
            int every = hi - lo > 24 ? 5 : hi - lo > 12 ? 2 : 1;
            lo = (int)Math.Floor((double)lo / every) * every;
            hi = (int)Math.Ceiling((double)hi / every) * every;
            for (int e = lo; e <= hi; e += every) ticks.Add(Math.Pow(10, e));
        }
        return ticks.ToArray();
    }

    /// <summary>
    /// A tick label with as many decimals as the tick spacing needs (invariant culture, '.' decimals); values of
    /// magnitude 10^7 and above, or nonzero values below 10^−4, use an exponent such as <c>1e-05</c>.
    /// </summary>
    /// <param name="value">The tick value.</param>
    /// <param name="step">The spacing of neighbouring ticks (for a logarithmic axis, pass the value itself).</param>
    /// <returns>The label.</returns>
    public static string Format(double value, double step)
    {
        if (!double.IsFinite(value)) return value.ToString(CultureInfo.InvariantCulture);
        if (value == 0) return "0";
        double magnitude = Math.Abs(value);
        if (magnitude >= 1e7 || magnitude < 1e-4) return value.ToString("0.##e+00", CultureInfo.InvariantCulture).Replace("e+", "e", StringComparison.Ordinal);
        step = Math.Abs(step);
        int decimals = step > 0 && double.IsFinite(step) ? Math.Clamp(-(int)Math.Floor(Math.Log10(step) + 1e-9), 0, 8) : 2;
        // A step of 2.5 × 10^k needs one decimal more; 1-2-5 steps never do, but arbitrary steps may.
        if (decimals < 8 && Math.Abs(Math.Round(step * Math.Pow(10, decimals)) - step * Math.Pow(10, decimals)) > 1e-6) decimals++;
        return value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    /// <summary>Widens an empty range: ±10 % of the value, or ±1 around 0.</summary>
    internal static (double Min, double Max) Pad(double min, double max)
    {
        if (max > min) return (min, max);
        double pad = min == 0 ? 1 : Math.Abs(min) * 0.1;
        return (min - pad, max + pad);
    }

    /// <summary>The 1-2-5 × 10^k value at or above a raw step.</summary>
    internal static double NiceStep(double raw)
    {
        if (!(raw > 0) || !double.IsFinite(raw)) return 1;
        double power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double fraction = raw / power;
        double nice = fraction <= 1 + 1e-9 ? 1 : fraction <= 2 + 1e-9 ? 2 : fraction <= 5 + 1e-9 ? 5 : 10;
        return nice * power;
    }

    /// <summary>Rounds away floating-point noise such as 0.30000000000000004 and −0.</summary>
    private static double Clean(double value, double step)
    {
        if (Math.Abs(value) < step * 1e-9) return 0;
        int decimals = Math.Clamp(-(int)Math.Floor(Math.Log10(step)) + 1, 0, 15);
        return Math.Round(value, decimals);
    }
}
