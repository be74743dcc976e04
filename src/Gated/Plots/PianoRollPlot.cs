using Gated.Data;

namespace Gated.Plots;

/// <summary>
/// A piano roll: time steps along x, pitch up the y axis (high notes at the top), a filled cell for
/// each sounding note, optionally over a heat map of predicted note probabilities.
/// </summary>
/// <remarks>
/// <para>
/// Held notes are drawn as one bar per run of steps. The y axis is labelled at every C (C1 … C8, with
/// MIDI 60 = C4) and a line marks each octave; rows of black keys are shaded when there is no
/// probability layer. The pitch range is cropped to whole octaves around the notes and the
/// probabilities of at least 0.1 unless <see cref="LowestPitch"/> and <see cref="HighestPitch"/> are set.
/// </para>
/// <para>
/// The probability layer is a T × 88 array (step-major: <c>p[t·88 + key]</c>, key = pitch − 21), drawn in
/// <see cref="ProbabilityColors"/> from 0 to 1 with a colour bar; the notes are then drawn on top as outlined,
/// lightly filled bars in <see cref="NoteOverlayColor"/>, so a model's predictions and the true notes can be compared. NaN probabilities are not drawn.
/// </para>
/// </remarks>
public sealed class PianoRollPlot : Plot
{
    /// <summary>Creates a plot of a piano roll, a probability map, or both.</summary>
    /// <param name="roll">The notes, or null for probabilities only.</param>
    /// <param name="probabilities">T × 88 probabilities, step-major, or null; with a roll, T is its length.</param>
    /// <exception cref="ArgumentException">Both are null, or the probabilities are not T × 88.</exception>
    public PianoRollPlot(PianoRoll? roll, float[]? probabilities = null)
    {
        if (roll is null && probabilities is null) throw new ArgumentException("Give a piano roll, probabilities, or both.", nameof(roll));
        if (probabilities is not null)
        {
            if (probabilities.Length % PianoRoll.Keys != 0)
                throw new ArgumentException($"The probabilities must be T × {PianoRoll.Keys}; {probabilities.Length} values is not a whole number of steps.", nameof(probabilities));
            if (roll is not null && probabilities.Length != roll.Length * PianoRoll.Keys)
                throw new ArgumentException($"The probabilities hold {probabilities.Length / PianoRoll.Keys} steps; the roll has {roll.Length}.", nameof(probabilities));
        }
        Roll = roll;
        Probabilities = probabilities;
        Length = roll?.Length ?? probabilities!.Length / PianoRoll.Keys;
        Width = 960;
        Height = 480;
    }

    /// <summary>The notes, or null.</summary>
    public PianoRoll? Roll { get; }

    /// <summary>The probabilities (T × 88, step-major), or null.</summary>
    public float[]? Probabilities { get; }

    /// <summary>The number of time steps, T.</summary>
    public int Length { get; }

    /// <summary>The x axis title, e.g. <c>"time step (eighth notes)"</c>.</summary>
    public string XLabel { get; set; } = "time step";

    /// <summary>The y axis title.</summary>
    public string YLabel { get; set; } = "pitch";

    /// <summary>The lowest MIDI pitch shown (21..108), or null to fit the data.</summary>
    public int? LowestPitch { get; set; }

    /// <summary>The highest MIDI pitch shown (21..108), or null to fit the data.</summary>
    public int? HighestPitch { get; set; }

    /// <summary>The colour of the notes.</summary>
    public string NoteColor { get; set; } = "#1f4e9c";

    /// <summary>The colour of the note outlines over a probability layer.</summary>
    public string NoteOverlayColor { get; set; } = "#e6194b";

    /// <summary>The colour scale of the probability layer, 0 to 1.</summary>
    public ColorMap ProbabilityColors { get; set; } = ColorMap.Greys;

    /// <summary>The label of the probability colour bar.</summary>
    public string ProbabilityLabel { get; set; } = "P(note on)";

    /// <inheritdoc/>
    public override Svg Render()
    {
        CheckSize();
        (int low, int high) = PitchRange();
        int rows = high - low + 1;
        int length = Math.Max(Length, 1);
        double fs = FontSize;
        bool heat = Probabilities is not null;

        double top = Title is null ? 14 : 14 + fs * 1.5 + 12;
        double left = 10 + fs * 1.2 + 10 + TextWidth("C8", fs) + 10;
        double bottom = 8 + fs + 8 + fs * 1.2 + 10 + 6;
        double legendWidth = heat ? Math.Max(ColorBarWidth(0, 1, ProbabilityLabel), TextWidth("notes", fs) + 26) : 0;
        double right = heat ? legendWidth + 28 : 20;
        double width = Math.Max(Width, left + 200 + right);
        double height = Math.Max(Height, top + bottom + 120);
        double pw = width - left - right, ph = height - top - bottom;
        double cw = pw / length, ch = ph / rows;
        double RowY(int pitch) => top + (high - pitch) * ch;

        var svg = new Svg(width, height, Title);
        if (Title is not null) svg.Text(left + pw / 2, 14 + fs * 1.3, Title, fs * 1.3, TextAnchor.Middle, bold: true);

        // Background: black-key rows shaded (only without a heat map, which has its own shading).
        svg.BeginGroup("keys", "shape-rendering=\"crispEdges\"");
        svg.Rect(left, top, pw, ph, "#ffffff");
        if (!heat)
            for (int p = low; p <= high; p++)
                if (IsBlackKey(p)) svg.Rect(left, RowY(p), pw, ch, "#f0f0f0");
        svg.EndGroup();

        if (heat)
        {
            float[] probs = Probabilities!;
            svg.BeginGroup("probabilities", "shape-rendering=\"crispEdges\"");
            const int Levels = 100;
            for (int p = low; p <= high; p++)
            {
                int key = p - PianoRoll.LowestPitch;
                int t = 0;
                while (t < Length)
                {
                    int level = Level(probs[t * PianoRoll.Keys + key], Levels);
                    int end = t + 1;
                    while (end < Length && Level(probs[end * PianoRoll.Keys + key], Levels) == level) end++;
                    if (level > 0) svg.Rect(left + t * cw, RowY(p), (end - t) * cw, ch, ProbabilityColors.ColorAt((double)level / Levels));
                    t = end;
                }
            }
            svg.EndGroup();
        }

        // Octave lines under each C row.
        svg.BeginGroup("octaves");
        for (int p = low; p <= high; p++)
            if (p % 12 == 0) svg.Line(left, RowY(p) + ch, left + pw, RowY(p) + ch, heat ? "#9ecae1" : "#c8c8c8", 0.8);
        svg.EndGroup();

        if (Roll is not null)
        {
            svg.BeginGroup("notes");
            for (int p = low; p <= high; p++)
            {
                int key = p - PianoRoll.LowestPitch;
                int t = 0;
                while (t < Length)
                {
                    if (!Roll[t, key]) { t++; continue; }
                    int end = t + 1;
                    while (end < Length && Roll[end, key]) end++;
                    double inset = Math.Min(0.5, ch * 0.1);
                    if (heat)
                    {
                        double stroke = Math.Clamp(ch * 0.15, 0.5, 1.5);
                        svg.Rect(left + t * cw + stroke / 2, RowY(p) + stroke / 2, (end - t) * cw - stroke, ch - stroke, NoteOverlayColor, NoteOverlayColor, stroke, 0.25);
                    }
                    else
                    {
                        svg.Rect(left + t * cw, RowY(p) + inset, (end - t) * cw, ch - 2 * inset, NoteColor);
                    }
                    t = end;
                }
            }
            svg.EndGroup();
        }

        svg.Rect(left, top, pw, ph, "none", "#444444");

        // Pitch axis: a label at every C.
        svg.BeginGroup("y-axis");
        for (int p = low; p <= high; p++)
        {
            if (p % 12 != 0) continue;
            double y = RowY(p) + ch / 2;
            svg.Line(left - 4, y, left, y, "#444444");
            svg.Text(left - 7, y + fs * 0.35, OctaveName(p), fs, TextAnchor.End);
        }
        svg.Text(10 + fs * 1.1, top + ph / 2, YLabel, fs * 1.1, TextAnchor.Middle, rotate: -90);
        svg.EndGroup();

        // Time axis: ticks at step boundaries.
        svg.BeginGroup("x-axis");
        double[] ticks;
        int target = Math.Max(1, (int)(pw / 70));
        while (true)
        {
            ticks = AxisTicks.Linear(0, length, target).Where(v => v <= length && v == Math.Floor(v)).ToArray();
            double widest = TextWidth(length.ToString(System.Globalization.CultureInfo.InvariantCulture), fs);
            if (target == 1 || ticks.Length < 2 || (ticks[1] - ticks[0]) * cw >= widest + 16) break;
            target--;
        }
        foreach (double v in ticks)
        {
            double x = left + v * cw;
            svg.Line(x, top + ph, x, top + ph + 5, "#444444");
            svg.Text(x, top + ph + 8 + fs, AxisTicks.Format(v, 1), fs, TextAnchor.Middle);
        }
        svg.Text(left + pw / 2, height - 10, XLabel, fs * 1.1, TextAnchor.Middle);
        svg.EndGroup();

        if (heat)
        {
            double lx = left + pw + 20;
            svg.BeginGroup("legend");
            if (Roll is not null)
            {
                svg.Rect(lx + 0.75, top + 0.75, 14.5, fs - 1.5, NoteOverlayColor, NoteOverlayColor, 1.5, 0.25);
                svg.Text(lx + 22, top + fs * 0.85, "notes", fs);
            }
            double barTop = top + (Roll is null ? 0 : fs * 2 + 6);
            svg.EndGroup();
            DrawColorBar(svg, lx, barTop, Math.Max(40, Math.Min(ph - (barTop - top), 240)), ProbabilityColors, 0, 1, ProbabilityLabel);
        }
        return svg;
    }

    private static int Level(float p, int levels) => float.IsNaN(p) ? 0 : (int)Math.Round(Math.Clamp(p, 0f, 1f) * levels);

    private static bool IsBlackKey(int pitch) => (pitch % 12) is 1 or 3 or 6 or 8 or 10;

    /// <summary>The pitches to show: the settings, or whole octaves (C to B) around the data, within 21..108.</summary>
    private (int Low, int High) PitchRange()
    {
        int low = int.MaxValue, high = int.MinValue;
        for (int t = 0; t < Length; t++)
            for (int key = 0; key < PianoRoll.Keys; key++)
            {
                bool used = (Roll is not null && Roll[t, key]) || (Probabilities is not null && Probabilities[t * PianoRoll.Keys + key] >= 0.1f);
                if (!used) continue;
                low = Math.Min(low, key + PianoRoll.LowestPitch);
                high = Math.Max(high, key + PianoRoll.LowestPitch);
            }
        if (low > high) (low, high) = (PianoRoll.LowestPitch, PianoRoll.HighestPitch);
        else
        {
            low = Math.Max(PianoRoll.LowestPitch, low - low % 12);
            high = Math.Min(PianoRoll.HighestPitch, high + 11 - high % 12);
        }
        if (LowestPitch is int l) low = l;
        if (HighestPitch is int h) high = h;
        if (low < PianoRoll.LowestPitch || high > PianoRoll.HighestPitch || low > high)
            throw new InvalidOperationException($"The pitch range {low}..{high} is not within {PianoRoll.LowestPitch}..{PianoRoll.HighestPitch}.");
        return (low, high);
    }
}
