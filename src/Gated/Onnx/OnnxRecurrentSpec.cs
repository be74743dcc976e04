using Gated.Layers;

namespace Gated.Onnx;

/// <summary>The direction attribute of an ONNX recurrent node.</summary>
internal enum OnnxDirection
{
    Forward,
    Reverse,
    Bidirectional,
}

/// <summary>
/// The attributes of one GRU, LSTM or RNN node, checked when the model is loaded: cell kind,
/// direction, layout, hidden size, clip, <c>linear_before_reset</c> (GRU), <c>input_forget</c> (LSTM),
/// and the activations of each direction with their α and β resolved.
/// </summary>
internal sealed class OnnxRecurrentSpec
{
    private OnnxRecurrentSpec(CellKind cell) => Cell = cell;

    public CellKind Cell { get; }

    /// <summary>G: 3 (GRU), 4 (LSTM), 1 (RNN).</summary>
    public int Gates => Cell switch { CellKind.Gru => 3, CellKind.Lstm => 4, _ => 1 };

    /// <summary>Activations per direction: f, g (GRU); f, g, h (LSTM); f (RNN).</summary>
    public int ActivationCount => Cell switch { CellKind.Gru => 2, CellKind.Lstm => 3, _ => 1 };

    public OnnxDirection Direction { get; private init; }

    /// <summary>D, the number of directions.</summary>
    public int Directions => Direction == OnnxDirection.Bidirectional ? 2 : 1;

    /// <summary>0: X is (T, B, I) and Y (T, D, B, H); 1: X is (B, T, I) and Y (B, T, D, H).</summary>
    public int Layout { get; private init; }

    /// <summary>The <c>hidden_size</c> attribute, or null when absent (then R's last dimension says).</summary>
    public int? HiddenSize { get; private init; }

    /// <summary>The clip threshold, or null for no clipping.</summary>
    public float? Clip { get; private init; }

    public bool LinearBeforeReset { get; private init; }

    public bool InputForget { get; private init; }

    /// <summary>[direction][k]: the activations of each direction, α and β resolved.</summary>
    public OnnxActivation[][] Activations { get; private init; } = [];

    /// <summary>Which engine ran the node last: "gated" (RecurrentLayer) or "reference" (<see cref="RecurrentEvaluator"/>); null before the first run.</summary>
    public string? LastEngine { get; set; }

    /// <summary>When false, the node always runs on the reference evaluator (for tests that compare the two).</summary>
    public bool AllowGatedEngine { get; set; } = true;

    /// <summary>The cached Gated layer and the weight arrays it was built from.</summary>
    public (object Layer, Array W, Array R, Array? B)? Cached { get; set; }

    public static OnnxRecurrentSpec Parse(OnnxNode node)
    {
        CellKind cell = node.OpType switch { "GRU" => CellKind.Gru, "LSTM" => CellKind.Lstm, _ => CellKind.Rnn };
        var common = new List<string> { "activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size", "layout" };
        if (cell == CellKind.Gru) common.Add("linear_before_reset");
        if (cell == CellKind.Lstm) common.Add("input_forget");
        node.AllowAttributes([.. common]);
        if (cell == CellKind.Lstm) node.CountInputsOutputs(3, 8, 0, 3);
        else node.CountInputsOutputs(3, 6, 0, 2);

        string direction = node.String("direction") ?? "forward";
        OnnxDirection dir = direction switch
        {
            "forward" => OnnxDirection.Forward,
            "reverse" => OnnxDirection.Reverse,
            "bidirectional" => OnnxDirection.Bidirectional,
            _ => throw node.Fail($"direction '{OnnxNode.Printable(direction)}' is not forward, reverse or bidirectional."),
        };
        long layout = node.Int("layout", 0);
        if (layout is not (0 or 1)) throw node.Fail($"layout must be 0 or 1, got {layout}.");
        long? hidden = node.Has("hidden_size") ? node.Int("hidden_size", 0) : null;
        if (hidden is <= 0 or > int.MaxValue) throw node.Fail($"hidden_size must be positive, got {hidden}.");
        float? clip = node.Has("clip") ? node.Float("clip", 0) : null;
        if (clip is float c && !(c > 0)) throw node.Fail($"clip must be a positive threshold, got {c}.");
        long lbr = node.Int("linear_before_reset", 0), inputForget = node.Int("input_forget", 0);
        if (lbr is not (0 or 1)) throw node.Fail($"linear_before_reset must be 0 or 1, got {lbr}.");
        if (inputForget is not (0 or 1)) throw node.Fail($"input_forget must be 0 or 1, got {inputForget}.");

        int d = dir == OnnxDirection.Bidirectional ? 2 : 1;
        int perDirection = cell switch { CellKind.Gru => 2, CellKind.Lstm => 3, _ => 1 };
        string[] defaults = cell switch { CellKind.Gru => ["Sigmoid", "Tanh"], CellKind.Lstm => ["Sigmoid", "Tanh", "Tanh"], _ => ["Tanh"] };
        string[] names = node.Strings("activations") ?? [.. Enumerable.Repeat(defaults, d).SelectMany(x => x)];
        // A bidirectional node given one direction's list uses it for both (as several exporters expect).
        if (names.Length == perDirection && d == 2) names = [.. names, .. names];
        if (names.Length != perDirection * d)
            throw node.Fail($"has {names.Length} activations; a {direction} {node.OpType} needs {perDirection * d} ({perDirection} per direction).");
        float[] alphas = node.Floats("activation_alpha") ?? [], betas = node.Floats("activation_beta") ?? [];
        int nextAlpha = 0, nextBeta = 0;
        var activations = new OnnxActivation[d][];
        for (int k = 0; k < d; k++)
        {
            activations[k] = new OnnxActivation[perDirection];
            for (int j = 0; j < perDirection; j++)
            {
                string raw = names[k * perDirection + j];
                string name = OnnxActivation.Canonical(raw) ?? throw node.Fail($"activation '{OnnxNode.Printable(raw)}' is not one of the ONNX recurrent activations.");
                // α and β are consumed in the order of the activations, by those that take them.
                double alpha = OnnxActivation.DefaultAlpha(name), beta = OnnxActivation.DefaultBeta(name);
                if (OnnxActivation.TakesAlpha(name) && nextAlpha < alphas.Length) alpha = OnnxActivation.FromFloat(alphas[nextAlpha++]);
                if (OnnxActivation.TakesBeta(name) && nextBeta < betas.Length) beta = OnnxActivation.FromFloat(betas[nextBeta++]);
                activations[k][j] = new OnnxActivation(name, alpha, beta);
            }
        }

        return new OnnxRecurrentSpec(cell)
        {
            Direction = dir,
            Layout = (int)layout,
            HiddenSize = (int?)hidden,
            Clip = clip,
            LinearBeforeReset = lbr == 1,
            InputForget = inputForget == 1,
            Activations = activations,
        };
    }
}
