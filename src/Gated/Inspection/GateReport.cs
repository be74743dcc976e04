using System.Globalization;
using System.Text;
using Gated.Data;
using Gated.Kernels;
using Gated.Layers;
using Gated.Models;
using Gated.Plots;
using Gated.Training;

namespace Gated.Inspection;

/// <summary>
/// One named (T − 1) × H matrix of a layer's activations over a sequence: a gate, the candidate or
/// cell input, the cell or the state, step-major (<c>Values[t·H + unit]</c> is the value after the
/// layer read input step t).
/// </summary>
/// <param name="Name">The name, e.g. <c>"update gate z"</c>.</param>
/// <param name="Values">(Steps, Units), step-major.</param>
/// <param name="Steps">T − 1, the number of input steps read.</param>
/// <param name="Units">H, the layer's hidden size.</param>
/// <param name="IsGate">Whether this is a gate (r, z, i, f, o), whose values lie in [0, 1] for a sigmoid gate activation.</param>
/// <param name="UnitMeans">The mean over the steps of each unit, (Units).</param>
/// <param name="Minimum">The natural bottom of the value range (0 for a sigmoid, −1 for tanh), or null when it has none.</param>
/// <param name="Maximum">The natural top of the value range (1 for a sigmoid or tanh), or null when it has none.</param>
public sealed record GateMatrix(string Name, float[] Values, int Steps, int Units, bool IsGate, double[] UnitMeans, double? Minimum, double? Maximum)
{
    /// <summary>The value of a unit after input step <paramref name="step"/>.</summary>
    /// <param name="step">0..Steps−1.</param>
    /// <param name="unit">0..Units−1.</param>
    public float this[int step, int unit] => Values[step * Units + unit];
}

/// <summary>The activations of one layer of a recurrent stack over one sequence.</summary>
/// <param name="Layer">The 0-based layer index.</param>
/// <param name="Cell">The cell kind.</param>
/// <param name="Units">H, the hidden size.</param>
/// <param name="Gates">The named matrices, in the order of <see cref="GateInspector"/>'s documentation.</param>
/// <param name="SortKey">The name of the matrix whose unit means order the units (<c>"update gate z"</c>, <c>"forget gate f"</c> or <c>"state h"</c>).</param>
/// <param name="UnitOrder">The original unit indices sorted by decreasing mean of <paramref name="SortKey"/> (ties by index): row j of every heat map of the layer shows unit <c>UnitOrder[j]</c>.</param>
public sealed record LayerTrace(int Layer, CellKind Cell, int Units, IReadOnlyList<GateMatrix> Gates, string SortKey, int[] UnitOrder)
{
    /// <summary>The matrix with the given name.</summary>
    /// <exception cref="KeyNotFoundException">The layer has no such matrix.</exception>
    public GateMatrix this[string name] =>
        Gates.FirstOrDefault(g => g.Name == name) ?? throw new KeyNotFoundException($"Layer {Layer} ({Cell}) has no '{name}'; it has {string.Join(", ", Gates.Select(g => "'" + g.Name + "'"))}.");

    /// <summary>Whether the layer has a matrix with the given name.</summary>
    public bool Contains(string name) => Gates.Any(g => g.Name == name);
}

/// <summary>
/// What a <see cref="MusicModel"/> does on one sequence: the input, the predicted probabilities, the
/// NLL at each predicted step and every layer's gates and states. Made by <see cref="GateInspector.Trace"/>.
/// </summary>
/// <param name="Architecture">The model, as <see cref="MusicModel.ToString"/> writes it.</param>
/// <param name="Input">The whole sequence, T steps (the model reads steps 0..T−2 and predicts 1..T−1).</param>
/// <param name="Steps">T − 1, the number of predicted steps.</param>
/// <param name="Probabilities">(T − 1) × 88, step-major: <c>Probabilities[(t − 1)·88 + key]</c> is P(key sounds at step t).</param>
/// <param name="StepNll">The NLL in nats of each predicted step t = 1..T−1 (summed over the 88 keys), (T − 1).</param>
/// <param name="Layers">One trace per layer, bottom first.</param>
/// <param name="Cell">The cell kind.</param>
/// <param name="UpdateGate">The GRU's update-gate convention; null for the LSTM and RNN.</param>
/// <param name="Convention">How to read the gates, in one or two sentences (e.g. "KeepPrevious: z near 1 keeps the previous state …").</param>
public sealed record GateTrace(string Architecture, PianoRoll Input, int Steps, float[] Probabilities, double[] StepNll,
    IReadOnlyList<LayerTrace> Layers, CellKind Cell, UpdateGateConvention? UpdateGate, string Convention)
{
    /// <summary>The NLL of the whole sequence in nats: the sum of <see cref="StepNll"/>.</summary>
    public double TotalNll => StepNll.Sum();

    /// <summary>The mean NLL per predicted step in nats (the figure <see cref="MusicModel.Evaluate"/> reports for this one sequence).</summary>
    public double NllPerStep => TotalNll / Steps;
}

/// <summary>
/// Looks inside a trained <see cref="MusicModel"/>: runs it on one sequence and records the gate
/// activations of every layer (<see cref="Trace"/>), and draws them as one self-contained HTML page
/// (<see cref="RenderHtml"/>).
/// </summary>
/// <remarks>
/// <para>The matrices of a layer, each (T − 1) × H, in this order:</para>
/// <list type="bullet">
/// <item>GRU: <c>"update gate z"</c>, <c>"reset gate r"</c>, <c>"candidate ĥ"</c>, <c>"state h"</c>.</item>
/// <item>LSTM: <c>"input gate i"</c>, <c>"forget gate f"</c>, <c>"cell input g"</c>, <c>"output gate o"</c>, <c>"cell c"</c>, <c>"state h"</c>.</item>
/// <item>RNN: <c>"state h"</c>.</item>
/// </list>
/// <para>The gates come from <see cref="RecurrentLayer{T}.GetGates"/>. The states are derived from them
/// with the cell's own equations from a zero initial state (the layer keeps only the last layer's output):
/// GRU h_t = z ⊙ h_{t−1} + (1 − z) ⊙ ĥ_t (or the other convention), LSTM c_t = f ⊙ c_{t−1} + i ⊙ g_t and
/// h_t = o ⊙ tanh(c_t) (the configured cell activation). For the RNN the single gate block is the state
/// itself. The tests check the derived last-layer h against the layer's output and the derived c_T
/// against the LSTM's final cell state.</para>
/// </remarks>
public static class GateInspector
{
    /// <summary>The name of the GRU's update gate matrix.</summary>
    public const string UpdateGate = "update gate z";
    /// <summary>The name of the GRU's reset gate matrix.</summary>
    public const string ResetGate = "reset gate r";
    /// <summary>The name of the GRU's candidate matrix.</summary>
    public const string Candidate = "candidate ĥ";
    /// <summary>The name of the LSTM's input gate matrix.</summary>
    public const string InputGate = "input gate i";
    /// <summary>The name of the LSTM's forget gate matrix.</summary>
    public const string ForgetGate = "forget gate f";
    /// <summary>The name of the LSTM's cell input matrix.</summary>
    public const string CellInput = "cell input g";
    /// <summary>The name of the LSTM's output gate matrix.</summary>
    public const string OutputGate = "output gate o";
    /// <summary>The name of the LSTM's cell state matrix (derived from the gates).</summary>
    public const string CellState = "cell c";
    /// <summary>The name of every layer's state matrix.</summary>
    public const string State = "state h";

    /// <summary>
    /// Runs <paramref name="model"/> on one sequence as it is trained and evaluated (input steps
    /// 0..T−2, teacher forcing, zero initial state, dropout off) and records the predictions, the NLL
    /// of each predicted step and every layer's gates and states.
    /// </summary>
    /// <param name="model">The model; its recurrent stack's last forward pass is replaced.</param>
    /// <param name="roll">The sequence, at least two steps.</param>
    /// <exception cref="ArgumentException">The sequence has fewer than two steps.</exception>
    public static GateTrace Trace(MusicModel model, PianoRoll roll)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(roll);
        if (roll.Length < 2) throw new ArgumentException($"The sequence has {roll.Length} step(s); the model needs at least two (it predicts steps 1..T−1).", nameof(roll));
        const int keys = MusicModel.Keys;
        int steps = roll.Length - 1;
        var layer = model.Recurrent;
        var o = layer.Options;

        var input = new Tensor<float>(steps, 1, keys);
        for (int t = 0; t < steps; t++) roll.CopyStepTo(t, input.Data.AsSpan(t * keys, keys));

        bool wasTraining = layer.Training;
        layer.Training = false;
        RecurrentResult<float> result;
        Tensor<float>[] gates = new Tensor<float>[o.NumLayers];
        try
        {
            result = layer.Forward(input);
            for (int k = 0; k < o.NumLayers; k++) gates[k] = layer.GetGates(k, 0);
        }
        finally
        {
            layer.Training = wasTraining;
        }

        // Predictions and the NLL of each predicted step.
        var frames = new float[steps * keys];
        for (int t = 0; t < steps; t++) roll.CopyStepTo(t + 1, frames.AsSpan(t * keys, keys));
        var stepNll = new double[steps];
        var probabilities = new float[steps * keys];
        model.PredictRows(new Tensor<float>((float[])result.Output.Data.Clone(), steps, o.OutputSize), frames, probabilities, stepNll);

        var layers = new LayerTrace[o.NumLayers];
        for (int k = 0; k < o.NumLayers; k++) layers[k] = LayerOf(k, gates[k].Data, steps, o);
        return new GateTrace(model.ToString(), roll, steps, probabilities, stepNll, layers, o.Cell,
            o.Cell == CellKind.Gru ? o.Gru.UpdateGate : null, ConventionText(o));
    }

    /// <summary>How to read the gates of a stack with these options, in one or two sentences.</summary>
    /// <param name="options">The recurrent stack's options.</param>
    public static string ConventionText(RecurrentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        switch (options.Cell)
        {
            case CellKind.Gru:
                string text = options.Gru.UpdateGate == UpdateGateConvention.KeepPrevious
                    ? "KeepPrevious: h_t = z ⊙ h_{t−1} + (1 − z) ⊙ ĥ_t, so z near 1 keeps the previous state and z near 0 replaces it with the candidate ĥ_t (Cho et al. 2014, PyTorch)."
                    : "TakeCandidate: h_t = (1 − z) ⊙ h_{t−1} + z ⊙ ĥ_t, so z near 1 replaces the state with the candidate ĥ_t and z near 0 keeps the previous state (Chung et al. 2014).";
                if ((options.Gru.Ablation & GruAblation.NoUpdateGate) != 0) text += " This model has no update gate (ablated): z is pinned so that h_t = ĥ_t.";
                if ((options.Gru.Ablation & GruAblation.NoResetGate) != 0) text += " This model has no reset gate (ablated): r ≡ 1.";
                return text;
            case CellKind.Lstm:
                return "LSTM: c_t = f ⊙ c_{t−1} + i ⊙ g_t and h_t = o ⊙ tanh(c_t), so f near 1 keeps the previous cell, i near 1 writes the cell input g_t into it, and o near 1 exposes the cell in the state. The LSTM has no update gate z; f plays its role of keeping the past.";
            default:
                return $"RNN: h_t = {options.RnnNonlinearity.ToString().ToLowerInvariant()}(W_ih x_t + b_ih + W_hh h_{{t−1}} + b_hh). A plain RNN has no gates: its state is recomputed at every step, so only the state h is shown.";
        }
    }

    private static LayerTrace LayerOf(int k, float[] g, int steps, RecurrentOptions o)
    {
        int h = o.HiddenSize, width = o.GateCount * h;
        float[] Block(int block)
        {
            var m = new float[steps * h];
            for (int t = 0; t < steps; t++) g.AsSpan(t * width + block * h, h).CopyTo(m.AsSpan(t * h, h));
            return m;
        }
        var list = new List<GateMatrix>();
        string sortKey;
        switch (o.Cell)
        {
            case CellKind.Gru:
            {
                float[] r = Block(0), z = Block(1), candidate = Block(2);
                var state = new float[steps * h];
                bool keep = o.Gru.UpdateGate == UpdateGateConvention.KeepPrevious;
                var previous = new float[h];
                for (int t = 0; t < steps; t++)
                {
                    Span<float> next = state.AsSpan(t * h, h);
                    for (int j = 0; j < h; j++)
                    {
                        float zj = z[t * h + j], nj = candidate[t * h + j];
                        next[j] = keep ? zj * previous[j] + (1f - zj) * nj : (1f - zj) * previous[j] + zj * nj;
                    }
                    next.CopyTo(previous);
                }
                var (gLo, gHi) = RangeOf(o.Gru.GateActivation);
                var (cLo, cHi) = RangeOf(o.Gru.CandidateActivation);
                list.Add(Matrix(UpdateGate, z, steps, h, true, gLo, gHi));
                list.Add(Matrix(ResetGate, r, steps, h, true, gLo, gHi));
                list.Add(Matrix(Candidate, candidate, steps, h, false, cLo, cHi));
                list.Add(Matrix(State, state, steps, h, false, Hull(cLo, 0), Hull(cHi, 0, max: true)));
                sortKey = UpdateGate;
                break;
            }
            case CellKind.Lstm:
            {
                float[] i = Block(0), f = Block(1), cellInput = Block(2), output = Block(3);
                var cell = new float[steps * h];
                var state = new float[steps * h];
                var previous = new float[h];
                for (int t = 0; t < steps; t++)
                {
                    Span<float> c = cell.AsSpan(t * h, h);
                    for (int j = 0; j < h; j++) c[j] = f[t * h + j] * previous[j] + i[t * h + j] * cellInput[t * h + j];
                    c.CopyTo(previous);
                    Span<float> hs = state.AsSpan(t * h, h);
                    c.CopyTo(hs);
                    o.Lstm.CellOutputActivation.Apply(hs);
                    for (int j = 0; j < h; j++) hs[j] = output[t * h + j] * hs[j];
                }
                var (gLo, gHi) = RangeOf(o.Lstm.GateActivation);
                var (inLo, inHi) = RangeOf(o.Lstm.CellInputActivation);
                var (outLo, outHi) = RangeOf(o.Lstm.CellOutputActivation);
                list.Add(Matrix(InputGate, i, steps, h, true, gLo, gHi));
                list.Add(Matrix(ForgetGate, f, steps, h, true, gLo, gHi));
                list.Add(Matrix(CellInput, cellInput, steps, h, false, inLo, inHi));
                list.Add(Matrix(OutputGate, output, steps, h, true, gLo, gHi));
                list.Add(Matrix(CellState, cell, steps, h, false, null, null));
                list.Add(Matrix(State, state, steps, h, false, Hull(outLo, 0), Hull(outHi, 0, max: true)));
                sortKey = ForgetGate;
                break;
            }
            default:
            {
                var (lo, hi) = RangeOf(o.RnnNonlinearity);
                list.Add(Matrix(State, Block(0), steps, h, false, lo, hi));
                sortKey = State;
                break;
            }
        }
        double[] means = list.First(m => m.Name == sortKey).UnitMeans;
        int[] order = [.. Enumerable.Range(0, h).OrderByDescending(u => means[u]).ThenBy(u => u)];
        return new LayerTrace(k, o.Cell, h, list, sortKey, order);
    }

    private static GateMatrix Matrix(string name, float[] values, int steps, int units, bool isGate, double? min, double? max)
    {
        var means = new double[units];
        for (int t = 0; t < steps; t++)
            for (int j = 0; j < units; j++) means[j] += values[t * units + j];
        for (int j = 0; j < units; j++) means[j] /= steps;
        return new GateMatrix(name, values, steps, units, isGate, means, min, max);
    }

    /// <summary>The range of an activation's output, where it is bounded on both sides.</summary>
    private static (double? Min, double? Max) RangeOf(Activation a) => a.Kind switch
    {
        ActivationKind.Sigmoid or ActivationKind.HardSigmoid => (0, 1),
        ActivationKind.Tanh or ActivationKind.Softsign => (-1, 1),
        ActivationKind.ScaledTanh => (-Math.Abs(a.Alpha), Math.Abs(a.Alpha)),
        _ => (null, null),
    };

    private static double? Hull(double? bound, double also, bool max = false) =>
        bound is double b ? (max ? Math.Max(b, also) : Math.Min(b, also)) : null;

    // ------------------------------------------------------------------ HTML

    /// <summary>
    /// One self-contained HTML page (inline SVG and CSS; no script, no external resource) showing the
    /// input piano roll under the predicted probabilities, the NLL at each step, and one heat map per
    /// matrix of every layer, time along x and units down y, the units of a layer sorted by decreasing
    /// mean update gate z (GRU), forget gate f (LSTM) or state h (RNN) and labelled with their original
    /// indices; with the model's gate convention, a table of unit means and a guide to reading the page.
    /// </summary>
    /// <param name="trace">What <see cref="Trace"/> recorded.</param>
    /// <param name="title">The page title (escaped here).</param>
    /// <returns>The page, UTF-8 text.</returns>
    public static string RenderHtml(GateTrace trace, string title)
    {
        ArgumentNullException.ThrowIfNull(trace);
        ArgumentNullException.ThrowIfNull(title);
        var inv = CultureInfo.InvariantCulture;
        string E(string s) => Svg.Escape(s);
        string F(double v, int d) => double.IsFinite(v) ? v.ToString("F" + d.ToString(inv), inv) : "n/a";
        var html = new StringBuilder(1 << 20);
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        html.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        html.Append("<title>").Append(E(title)).Append("</title>\n");
        html.Append("<style>\n").Append(Css).Append("</style>\n</head>\n<body>\n");
        html.Append("<h1>").Append(E(title)).Append("</h1>\n");

        int notes = trace.Input.NoteCount;
        html.Append("<p class=\"meta\">Model: <code>").Append(E(trace.Architecture)).Append("</code>. Sequence: ")
            .Append(trace.Input.Length.ToString(inv)).Append(" steps, ").Append(notes.ToString(inv)).Append(" notes; the model reads steps 0..")
            .Append((trace.Steps - 1).ToString(inv)).Append(" and predicts steps 1..").Append(trace.Steps.ToString(inv)).Append(".</p>\n");
        html.Append("<p class=\"nll\"><strong>NLL of this sequence: ").Append(F(trace.NllPerStep, 3))
            .Append(" nats per predicted step</strong> (total ").Append(F(trace.TotalNll, 1)).Append(" nats over ")
            .Append(trace.Steps.ToString(inv)).Append(" predicted steps; each step's NLL is summed over the 88 keys, which the model predicts as independent Bernoulli variables).</p>\n");

        // Legend: the convention.
        html.Append("<section class=\"legend\">\n<h2>Gate convention of this model</h2>\n<p>").Append(E(trace.Convention)).Append("</p>\n<p>");
        html.Append(E(trace.Cell switch
        {
            CellKind.Gru when trace.UpdateGate == UpdateGateConvention.KeepPrevious =>
                "How to read z: in the update-gate heat maps (viridis colours, 0 = dark purple, 1 = yellow), a yellow cell is a unit that keeps its previous value at that step, a dark cell is a unit that takes the new candidate ĥ_t. A row that stays yellow for many steps is a slow unit that carries information far; a row that stays dark is a fast unit that follows the current input.",
            CellKind.Gru =>
                "How to read z: in the update-gate heat maps (viridis colours, 0 = dark purple, 1 = yellow), a yellow cell is a unit that takes the new candidate ĥ_t at that step, a dark cell is a unit that keeps its previous value. A row that stays dark for many steps is a slow unit that carries information far; a row that stays yellow is a fast unit that follows the current input.",
            CellKind.Lstm =>
                "How to read f: in the forget-gate heat maps (viridis colours, 0 = dark purple, 1 = yellow), a yellow cell is a unit that keeps its cell value at that step, a dark cell is a unit that erases it. A row that stays yellow for many steps is a slow unit that carries information far.",
            _ => "There is no gate to read: the heat maps show the state itself, red for positive and blue for negative values.",
        }));
        html.Append("</p>\n</section>\n");

        // How to read the page.
        string key = trace.Cell switch { CellKind.Gru => "update gate z", CellKind.Lstm => "forget gate f", _ => "state h" };
        html.Append("<section class=\"howto\">\n<h2>How to read this page</h2>\n<ul>\n");
        html.Append("<li>The first figure is the input: each true note is an outlined red bar; the grey shading under it is the probability the model gave that key, predicted from the steps before (step 0 has no prediction). Dark shading under a bar is a note the model expected; dark shading with no bar is a note it expected that did not come.</li>\n");
        html.Append("<li>The second figure is the NLL of each predicted step: peaks are the steps the model found surprising.</li>\n");
        html.Append("<li>Each heat map below shows one gate or state of one layer: time steps run left to right (column t is the value after the layer read input step t, which predicts step t + 1), units run top to bottom.</li>\n");
        html.Append("<li>Column 0 is the first step, read from a zero state; it often looks unlike the rest.</li>\n");
        html.Append("<li>Within a layer the units are sorted by their mean ").Append(E(key))
            .Append(" over the sequence, highest at the top, and every heat map of the layer uses that same order; the y labels are the units' original indices.</li>\n");
        html.Append("<li>Gates (sigmoid) run from 0 (dark purple) to 1 (yellow). Candidates, cell inputs and states run from −1 (blue) through 0 (white) to +1 (red)");
        if (trace.Cell == CellKind.Lstm) html.Append("; the cell c is not bounded and uses a symmetric blue–red scale of its own");
        html.Append(".</li>\n");
        html.Append("<li>The table of each layer gives, for every matrix, the smallest, median and largest of the per-unit means over time, and the fraction of all values near the ends (below 0.1 or above 0.9 for gates).</li>\n");
        html.Append("</ul>\n</section>\n");

        // Input and predictions.
        html.Append("<section class=\"input\">\n<h2>Input and predictions</h2>\n");
        var padded = new float[trace.Input.Length * MusicModel.Keys];
        Array.Fill(padded, float.NaN, 0, MusicModel.Keys);
        trace.Probabilities.CopyTo(padded, MusicModel.Keys);
        var roll = new PianoRollPlot(trace.Input, padded)
        {
            Title = "Input piano roll (outlined notes) over the predicted P(note on)",
            Width = 1100,
            Height = 440,
            XLabel = "time step",
        };
        AppendFigure(html, roll.Render(), "The true notes of the sequence (outlined) over the model's predicted probability of each key at each step.");
        var nllChart = new LineChart
        {
            Title = "NLL of each predicted step",
            Width = 1100,
            Height = 260,
            XLabel = "predicted step t",
            YLabel = "NLL (nats)",
        };
        nllChart.AddSeries("NLL at step t", trace.StepNll, firstX: 1);
        nllChart.AddReferenceLine(trace.NllPerStep, "mean " + F(trace.NllPerStep, 3));
        AppendFigure(html, nllChart.Render(), "The NLL of each predicted step; the dashed line is the mean.");
        html.Append("</section>\n");

        foreach (var layer in trace.Layers)
        {
            html.Append("<section class=\"layer\">\n<h2>Layer ").Append(layer.Layer.ToString(inv)).Append(" (")
                .Append(layer.Cell.ToString().ToUpperInvariant()).Append(", ").Append(layer.Units.ToString(inv)).Append(" units)</h2>\n");
            html.Append("<p>Units sorted by decreasing mean ").Append(E(layer.SortKey)).Append(": from unit ")
                .Append(layer.UnitOrder[0].ToString(inv)).Append(" (mean ").Append(F(layer[layer.SortKey].UnitMeans[layer.UnitOrder[0]], 3))
                .Append(") at the top to unit ").Append(layer.UnitOrder[^1].ToString(inv)).Append(" (mean ")
                .Append(F(layer[layer.SortKey].UnitMeans[layer.UnitOrder[^1]], 3)).Append(") at the bottom.</p>\n");
            AppendConstantUnits(html, layer);
            AppendSummaryTable(html, layer, F);

            var gateNames = layer.Gates.Where(g => g.IsGate).ToArray();
            if (gateNames.Length > 0)
            {
                var means = new LineChart
                {
                    Title = $"Layer {layer.Layer.ToString(inv)}: gates averaged over the units",
                    Width = 1100,
                    Height = 260,
                    XLabel = "input step t",
                    YLabel = "mean over units",
                };
                foreach (var g in gateNames)
                {
                    var perStep = new double[g.Steps];
                    for (int t = 0; t < g.Steps; t++)
                    {
                        double s = 0;
                        for (int j = 0; j < g.Units; j++) s += g[t, j];
                        perStep[t] = s / g.Units;
                    }
                    means.AddSeries(g.Name, perStep, firstX: 0);
                }
                AppendFigure(html, means.Render(), "Each gate averaged over all units of the layer, at each step: a dip or a peak shared by many units.");
            }

            foreach (var g in layer.Gates) AppendFigure(html, HeatMapOf(layer, g).Render(), Caption(layer, g));
            html.Append("</section>\n");
        }
        html.Append("<footer>Made by Gated's GateInspector. Everything on this page is computed from one forward pass of the model on this sequence.</footer>\n");
        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    /// <summary>The heat map of one matrix: time along x, the layer's units in <see cref="LayerTrace.UnitOrder"/> down y.</summary>
    internal static HeatMap HeatMapOf(LayerTrace layer, GateMatrix g)
    {
        int h = g.Units, steps = g.Steps;
        var values = new float[steps * h];
        for (int t = 0; t < steps; t++)
            for (int j = 0; j < h; j++) values[t * h + j] = g.Values[t * h + layer.UnitOrder[j]];
        const double RowPixels = 13, Margins = 104;
        var map = new HeatMap(values, steps, h)
        {
            RowsAlongX = true,
            Title = $"Layer {layer.Layer.ToString(CultureInfo.InvariantCulture)}: {g.Name}",
            RowTitle = "input step t",
            ColumnTitle = $"unit (by mean {ShortName(layer.SortKey)})",
            ColumnLabels = [.. layer.UnitOrder.Select(u => u.ToString(CultureInfo.InvariantCulture))],
            ColorBarLabel = g.Name,
            FontSize = 10,
            Width = 1100,
            Height = Margins + Math.Clamp(h * RowPixels, 110, 640),
        };
        if (g.IsGate)
        {
            map.ColorMap = ColorMap.Viridis;
            map.Minimum = g.Minimum ?? 0;
            map.Maximum = g.Maximum ?? 1;
        }
        else
        {
            map.ColorMap = ColorMap.BlueWhiteRed;
            double limit;
            if (g.Minimum is double lo && g.Maximum is double hi && lo < 0 && hi > 0) limit = Math.Max(-lo, hi);
            else
            {
                limit = 0;
                foreach (float v in g.Values) if (float.IsFinite(v)) limit = Math.Max(limit, Math.Abs(v));
                if (limit == 0) limit = 1;
            }
            map.Minimum = -limit;
            map.Maximum = limit;
        }
        return map;
    }

    private static string ShortName(string name) => name[(name.LastIndexOf(' ') + 1)..];

    private static string Caption(LayerTrace layer, GateMatrix g)
    {
        string what = g.Name switch
        {
            UpdateGate => "How much of the previous state each unit keeps (or replaces; see the convention above) at each step.",
            ResetGate => "How much of the previous state each unit's candidate sees: near 0 the candidate ignores the past.",
            Candidate => "The new value each unit would take if the update gate let it through.",
            InputGate => "How much of the cell input g each unit writes into its cell.",
            ForgetGate => "How much of the previous cell each unit keeps.",
            CellInput => "The value each unit would write into its cell.",
            OutputGate => "How much of the cell each unit shows in its state h.",
            CellState => "The cell memory, derived from the gates as c_t = f ⊙ c_{t−1} + i ⊙ g_t.",
            _ => "The state h_t that the next layer or the output layer reads.",
        };
        return $"Layer {layer.Layer.ToString(CultureInfo.InvariantCulture)}, {g.Name}. {what}";
    }

    /// <summary>Says how many units of the layer hold a (nearly) constant state after the first step, and which ones vary.</summary>
    private static void AppendConstantUnits(StringBuilder html, LayerTrace layer)
    {
        var state = layer[State];
        if (state.Steps < 3) return;
        const double Tolerance = 0.01;
        var varying = new List<int>();
        foreach (int u in layer.UnitOrder)
        {
            double mean = 0, square = 0;
            int n = state.Steps - 1;
            for (int t = 1; t < state.Steps; t++) mean += state[t, u];
            mean /= n;
            for (int t = 1; t < state.Steps; t++) square += (state[t, u] - mean) * (state[t, u] - mean);
            if (Math.Sqrt(square / n) >= Tolerance) varying.Add(u);
        }
        var inv = CultureInfo.InvariantCulture;
        int constant = layer.Units - varying.Count;
        html.Append("<p>On this sequence ").Append(constant.ToString(inv)).Append(" of ").Append(layer.Units.ToString(inv))
            .Append(" units hold a state that varies by less than 0.01 (standard deviation over steps 1..").Append((state.Steps - 1).ToString(inv))
            .Append(", after the first step from the zero state): they act as constants here.");
        if (varying.Count > 0 && varying.Count <= 24)
            html.Append(" The units whose state varies, in the order of the heat maps: ").Append(string.Join(", ", varying.Select(u => u.ToString(inv)))).Append('.');
        html.Append("</p>\n");
    }

    private static void AppendSummaryTable(StringBuilder html, LayerTrace layer, Func<double, int, string> f)
    {
        html.Append("<table>\n<thead><tr><th>matrix</th><th>lowest unit mean</th><th>median unit mean</th><th>highest unit mean</th><th>mean</th><th>values near the ends</th></tr></thead>\n<tbody>\n");
        foreach (var g in layer.Gates)
        {
            double[] sorted = [.. g.UnitMeans.Order()];
            double median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
            int lowUnit = Array.IndexOf(g.UnitMeans, sorted[0]), highUnit = Array.IndexOf(g.UnitMeans, sorted[^1]);
            string ends;
            if (g.IsGate)
            {
                int low = 0, high = 0;
                foreach (float v in g.Values) { if (v < 0.1f) low++; else if (v > 0.9f) high++; }
                ends = $"{f(100.0 * low / g.Values.Length, 1)}% &lt; 0.1, {f(100.0 * high / g.Values.Length, 1)}% &gt; 0.9";
            }
            else
            {
                int saturated = 0;
                foreach (float v in g.Values) if (Math.Abs(v) > 0.9f) saturated++;
                ends = $"{f(100.0 * saturated / g.Values.Length, 1)}% with |value| &gt; 0.9";
            }
            html.Append("<tr><td>").Append(Svg.Escape(g.Name)).Append("</td><td>").Append(f(sorted[0], 3)).Append(" (unit ").Append(lowUnit.ToString(CultureInfo.InvariantCulture))
                .Append(")</td><td>").Append(f(median, 3)).Append("</td><td>").Append(f(sorted[^1], 3)).Append(" (unit ").Append(highUnit.ToString(CultureInfo.InvariantCulture))
                .Append(")</td><td>").Append(f(g.UnitMeans.Average(), 3)).Append("</td><td>").Append(ends).Append("</td></tr>\n");
        }
        html.Append("</tbody>\n</table>\n");
    }

    /// <summary>Appends an SVG document (without its XML declaration) in a figure with a caption.</summary>
    private static void AppendFigure(StringBuilder html, Svg svg, string caption)
    {
        string text = svg.ToString();
        if (text.StartsWith("<?xml", StringComparison.Ordinal)) text = text[(text.IndexOf('\n') + 1)..];
        html.Append("<figure>\n").Append(text).Append("<figcaption>").Append(Svg.Escape(caption)).Append("</figcaption>\n</figure>\n");
    }

    private const string Css = """
        body { font-family: "DejaVu Sans", Verdana, Arial, Helvetica, sans-serif; color: #222; background: #fff; margin: 24px auto; max-width: 1120px; padding: 0 12px; line-height: 1.45; }
        h1 { font-size: 1.6em; margin-bottom: 0.3em; }
        h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
        code { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 0.9em; background: #f4f4f4; padding: 0 3px; }
        .legend { background: #f6f8fb; border: 1px solid #d7dee8; border-radius: 4px; padding: 0 14px 4px; }
        .legend h2 { border: none; margin-top: 0.6em; }
        .nll { font-size: 1.05em; }
        figure { margin: 16px 0; }
        figure svg { display: block; max-width: 100%; height: auto; }
        figcaption { font-size: 0.9em; color: #555; margin-top: 4px; }
        table { border-collapse: collapse; font-size: 0.9em; margin: 8px 0 12px; }
        th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
        th:first-child, td:first-child { text-align: left; }
        thead th { background: #f0f0f0; }
        footer { margin-top: 2em; font-size: 0.85em; color: #777; }

        """;
}
