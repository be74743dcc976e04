using System.Globalization;
using Gated.IO;
using Gated.Kernels;

namespace Gated.Layers;

/// <summary>
/// Writes <see cref="RecurrentOptions"/> as flat string pairs (for a safetensors <c>__metadata__</c>)
/// and reads them back, so a saved model says exactly which cell and conventions it uses.
/// </summary>
public static class RecurrentOptionsMetadata
{
    /// <summary>The pairs describing <paramref name="options"/>, keys prefixed with <paramref name="prefix"/>.</summary>
    public static IEnumerable<KeyValuePair<string, string>> ToMetadata(RecurrentOptions options, string prefix = "rnn.")
    {
        ArgumentNullException.ThrowIfNull(options);
        string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        yield return new(prefix + "cell", options.Cell.ToString().ToLowerInvariant());
        yield return new(prefix + "input_size", I(options.InputSize));
        yield return new(prefix + "hidden_size", I(options.HiddenSize));
        yield return new(prefix + "num_layers", I(options.NumLayers));
        yield return new(prefix + "bidirectional", options.Bidirectional ? "true" : "false");
        yield return new(prefix + "batch_first", options.BatchFirst ? "true" : "false");
        yield return new(prefix + "bias", options.Bias switch { BiasMode.InputAndHidden => "two", BiasMode.InputOnly => "one", _ => "none" });
        yield return new(prefix + "dropout", options.Dropout.ToString("R", CultureInfo.InvariantCulture));
        switch (options.Cell)
        {
            case CellKind.Gru:
                yield return new(prefix + "update_gate", options.Gru.UpdateGate == UpdateGateConvention.KeepPrevious ? "keep_previous" : "take_candidate");
                yield return new(prefix + "reset", options.Gru.Reset == ResetGatePosition.AfterProduct ? "after_product" : "before_product");
                yield return new(prefix + "gate_activation", Format(options.Gru.GateActivation));
                yield return new(prefix + "candidate_activation", Format(options.Gru.CandidateActivation));
                yield return new(prefix + "ablation", options.Gru.Ablation switch
                {
                    GruAblation.None => "none",
                    GruAblation.NoResetGate => "no_reset_gate",
                    GruAblation.NoUpdateGate => "no_update_gate",
                    _ => "no_reset_gate,no_update_gate",
                });
                break;
            case CellKind.Lstm:
                yield return new(prefix + "gate_activation", Format(options.Lstm.GateActivation));
                yield return new(prefix + "cell_input_activation", Format(options.Lstm.CellInputActivation));
                yield return new(prefix + "cell_output_activation", Format(options.Lstm.CellOutputActivation));
                break;
            default:
                yield return new(prefix + "nonlinearity", Format(options.RnnNonlinearity));
                break;
        }
    }

    /// <summary>Reads what <see cref="ToMetadata"/> wrote.</summary>
    /// <exception cref="GatedFormatException">A key is missing or a value is not understood; the message names it.</exception>
    public static RecurrentOptions FromMetadata(IReadOnlyDictionary<string, string> metadata, string prefix = "rnn.", string? source = null)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        string Get(string key) => metadata.TryGetValue(prefix + key, out var v) ? v : throw new GatedFormatException(source, $"metadata key '{prefix + key}' is missing.");
        int Int(string key) => int.TryParse(Get(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0
            ? v : throw new GatedFormatException(source, $"metadata '{prefix + key}' = '{Get(key)}' is not a positive integer.");
        bool Bool(string key) => Get(key) switch { "true" => true, "false" => false, var v => throw new GatedFormatException(source, $"metadata '{prefix + key}' = '{v}' is not true or false.") };
        T Pick<T>(string key, params (string Name, T Value)[] choices)
        {
            string v = Get(key);
            foreach (var c in choices) if (c.Name == v) return c.Value;
            throw new GatedFormatException(source, $"metadata '{prefix + key}' = '{v}' is not one of {string.Join(", ", choices.Select(c => c.Name))}.");
        }
        Activation Act(string key) => TryParse(Get(key), out var a) ? a : throw new GatedFormatException(source, $"metadata '{prefix + key}' = '{Get(key)}' is not an activation.");

        var cell = Pick("cell", ("gru", CellKind.Gru), ("lstm", CellKind.Lstm), ("rnn", CellKind.Rnn));
        double dropout = metadata.TryGetValue(prefix + "dropout", out var d) && double.TryParse(d, NumberStyles.Float, CultureInfo.InvariantCulture, out var p) ? p : 0;
        var options = new RecurrentOptions
        {
            Cell = cell,
            InputSize = Int("input_size"),
            HiddenSize = Int("hidden_size"),
            NumLayers = Int("num_layers"),
            Bidirectional = Bool("bidirectional"),
            BatchFirst = Bool("batch_first"),
            Bias = Pick("bias", ("two", BiasMode.InputAndHidden), ("one", BiasMode.InputOnly), ("none", BiasMode.None)),
            Dropout = dropout,
        };
        options = cell switch
        {
            CellKind.Gru => options with
            {
                Gru = new GruOptions
                {
                    UpdateGate = Pick("update_gate", ("keep_previous", UpdateGateConvention.KeepPrevious), ("take_candidate", UpdateGateConvention.TakeCandidate)),
                    Reset = Pick("reset", ("after_product", ResetGatePosition.AfterProduct), ("before_product", ResetGatePosition.BeforeProduct)),
                    GateActivation = Act("gate_activation"),
                    CandidateActivation = Act("candidate_activation"),
                    Ablation = Pick("ablation", ("none", GruAblation.None), ("no_reset_gate", GruAblation.NoResetGate), ("no_update_gate", GruAblation.NoUpdateGate),
                        ("no_reset_gate,no_update_gate", GruAblation.NoResetGate | GruAblation.NoUpdateGate)),
                },
            },
            CellKind.Lstm => options with
            {
                Lstm = new LstmOptions { GateActivation = Act("gate_activation"), CellInputActivation = Act("cell_input_activation"), CellOutputActivation = Act("cell_output_activation") },
            },
            _ => options with { RnnNonlinearity = Act("nonlinearity") },
        };
        try { options.Validate(); }
        catch (ArgumentException e) { throw new GatedFormatException(source, $"metadata describes an invalid layer: {e.Message}"); }
        return options;
    }

    /// <summary>An activation as text: <c>sigmoid</c>, <c>tanh</c>, <c>relu</c>, <c>hard_sigmoid(0.2,0.5)</c>, …</summary>
    public static string Format(Activation activation)
    {
        string name = activation.Kind switch
        {
            ActivationKind.HardSigmoid => "hard_sigmoid",
            ActivationKind.LeakyRelu => "leaky_relu",
            ActivationKind.ScaledTanh => "scaled_tanh",
            _ => activation.Kind.ToString().ToLowerInvariant(),
        };
        return activation.Kind switch
        {
            ActivationKind.HardSigmoid or ActivationKind.ScaledTanh or ActivationKind.Affine =>
                $"{name}({activation.Alpha.ToString("R", CultureInfo.InvariantCulture)},{activation.Beta.ToString("R", CultureInfo.InvariantCulture)})",
            ActivationKind.LeakyRelu or ActivationKind.Elu => $"{name}({activation.Alpha.ToString("R", CultureInfo.InvariantCulture)})",
            _ => name,
        };
    }

    /// <summary>Parses what <see cref="Format"/> writes; a bare <c>hard_sigmoid</c> is ONNX's (0.2, 0.5).</summary>
    public static bool TryParse(string text, out Activation activation)
    {
        activation = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        string name = text.Trim();
        double[] args = [];
        int open = name.IndexOf('(');
        if (open >= 0)
        {
            if (!name.EndsWith(')')) return false;
            var parts = name[(open + 1)..^1].Split(',');
            args = new double[parts.Length];
            for (int i = 0; i < parts.Length; i++)
                if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out args[i]) || !double.IsFinite(args[i])) return false;
            name = name[..open];
        }
        double A(int i, double fallback) => i < args.Length ? args[i] : fallback;
        ActivationKind? kind = name.ToLowerInvariant() switch
        {
            "sigmoid" => ActivationKind.Sigmoid,
            "tanh" => ActivationKind.Tanh,
            "relu" => ActivationKind.Relu,
            "hard_sigmoid" or "hardsigmoid" => ActivationKind.HardSigmoid,
            "leaky_relu" or "leakyrelu" => ActivationKind.LeakyRelu,
            "softsign" => ActivationKind.Softsign,
            "scaled_tanh" or "scaledtanh" => ActivationKind.ScaledTanh,
            "affine" => ActivationKind.Affine,
            "elu" => ActivationKind.Elu,
            _ => null,
        };
        if (kind is null) return false;
        activation = kind switch
        {
            ActivationKind.HardSigmoid => new Activation(ActivationKind.HardSigmoid, A(0, 0.2), A(1, 0.5)),
            ActivationKind.LeakyRelu => new Activation(ActivationKind.LeakyRelu, A(0, 0.01)),
            ActivationKind.Elu => new Activation(ActivationKind.Elu, A(0, 1.0)),
            ActivationKind.ScaledTanh => new Activation(ActivationKind.ScaledTanh, A(0, 1.0), A(1, 1.0)),
            ActivationKind.Affine => new Activation(ActivationKind.Affine, A(0, 1.0), A(1, 0.0)),
            ActivationKind k => new Activation(k),
        };
        return true;
    }
}
