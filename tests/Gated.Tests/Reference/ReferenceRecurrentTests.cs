using System.Numerics;
using Gated.Kernels;
using Gated.Layers;
using Gated.Memory;

namespace Gated.Tests.Reference;

/// <summary>
/// <see cref="RecurrentLayer{T}.Forward"/> against <see cref="ReferenceRecurrent"/> over a grid of
/// cell configurations × stack structures, in float64 at 1e-12, plus float32 at ~1e-5.
/// </summary>
public sealed class ReferenceRecurrentTests
{
    private const int InputSize = 3, HiddenSize = 4;

    /// <summary>Cell configurations by name; KeepInit keeps the layer's own initialisation instead of random weights.</summary>
    private static readonly Dictionary<string, (RecurrentOptions Options, bool KeepInit)> Configs = BuildConfigs();

    /// <summary>Stack structures by name.</summary>
    private static readonly Dictionary<string, RecurrentTestData.Structure> Structures = new()
    {
        ["uni1"] = new(Layers: 1, Bidirectional: false, BatchFirst: false, Steps: 5, Batch: 3, Lengths: null, InitialState: false),
        ["bi3_varlen"] = new(Layers: 3, Bidirectional: true, BatchFirst: false, Steps: 6, Batch: 6, Lengths: [3, 6, 1, 4, 6, 3], InitialState: true),
        ["bf_bi2_varlen"] = new(Layers: 2, Bidirectional: true, BatchFirst: true, Steps: 5, Batch: 4, Lengths: [5, 2, 5, 1], InitialState: true),
        ["bf_uni1"] = new(Layers: 1, Bidirectional: false, BatchFirst: true, Steps: 4, Batch: 2, Lengths: null, InitialState: true),
    };

    private static Dictionary<string, (RecurrentOptions, bool)> BuildConfigs()
    {
        var c = new Dictionary<string, (RecurrentOptions, bool)>();
        static string U(UpdateGateConvention u) => u == UpdateGateConvention.KeepPrevious ? "keep" : "take";
        static string R(ResetGatePosition r) => r == ResetGatePosition.AfterProduct ? "after" : "before";
        static string B(BiasMode b) => b switch { BiasMode.InputAndHidden => "bias2", BiasMode.InputOnly => "bias1", _ => "bias0" };
        static string A(GruAblation a) => (a.HasFlag(GruAblation.NoResetGate) ? "noR" : "") + (a.HasFlag(GruAblation.NoUpdateGate) ? "noZ" : "");
        RecurrentOptions Make(CellKind cell) => new() { Cell = cell, InputSize = InputSize, HiddenSize = HiddenSize };

        foreach (var update in new[] { UpdateGateConvention.KeepPrevious, UpdateGateConvention.TakeCandidate })
            foreach (var reset in new[] { ResetGatePosition.AfterProduct, ResetGatePosition.BeforeProduct })
                foreach (var bias in new[] { BiasMode.InputAndHidden, BiasMode.InputOnly, BiasMode.None })
                    c[$"gru_{U(update)}_{R(reset)}_{B(bias)}"] = (Make(CellKind.Gru) with { Bias = bias, Gru = new GruOptions { UpdateGate = update, Reset = reset } }, false);

        var gates = new (string, Activation)[] { ("sigmoid", Activation.Sigmoid), ("hardsigmoid", Activation.HardSigmoid), ("tanh", Activation.Tanh), ("hardsigmoid6", Activation.HardSigmoidWith(1.0 / 6, 0.5)) };
        var candidates = new (string, Activation)[] { ("tanh", Activation.Tanh), ("relu", Activation.Relu), ("softsign", new Activation(ActivationKind.Softsign)) };
        foreach (var (gn, ga) in gates)
            foreach (var (cn, ca) in candidates)
                c[$"gru_act_{gn}_{cn}"] = (Make(CellKind.Gru) with { Gru = new GruOptions { GateActivation = ga, CandidateActivation = ca } }, false);
        c["gru_act_hardsigmoid6_relu_take_before"] = (Make(CellKind.Gru) with
        {
            Gru = new GruOptions { GateActivation = Activation.HardSigmoidWith(1.0 / 6, 0.5), CandidateActivation = Activation.Relu, Reset = ResetGatePosition.BeforeProduct, UpdateGate = UpdateGateConvention.TakeCandidate },
        }, false);

        foreach (var ablation in new[] { GruAblation.NoResetGate, GruAblation.NoUpdateGate, GruAblation.NoResetGate | GruAblation.NoUpdateGate })
            foreach (var update in new[] { UpdateGateConvention.KeepPrevious, UpdateGateConvention.TakeCandidate })
                foreach (var reset in new[] { ResetGatePosition.AfterProduct, ResetGatePosition.BeforeProduct })
                    c[$"gru_{A(ablation)}_{U(update)}_{R(reset)}"] =
                        (Make(CellKind.Gru) with { Gru = new GruOptions { Ablation = ablation, UpdateGate = update, Reset = reset } }, false);

        foreach (var bias in new[] { BiasMode.InputAndHidden, BiasMode.InputOnly, BiasMode.None })
            c[$"lstm_{B(bias)}"] = (Make(CellKind.Lstm) with { Bias = bias }, false);
        c["lstm_hardsigmoid_relu_softsign"] = (Make(CellKind.Lstm) with
        {
            Lstm = new LstmOptions { GateActivation = Activation.HardSigmoid, CellInputActivation = Activation.Relu, CellOutputActivation = new Activation(ActivationKind.Softsign) },
        }, false);
        c["lstm_sigmoid_scaledtanh_elu"] = (Make(CellKind.Lstm) with
        {
            Lstm = new LstmOptions { CellInputActivation = new Activation(ActivationKind.ScaledTanh, 1.7159, 2.0 / 3), CellOutputActivation = new Activation(ActivationKind.Elu, 1.0) },
        }, false);
        c["lstm_hardsigmoid6_leakyrelu_affine"] = (Make(CellKind.Lstm) with
        {
            Lstm = new LstmOptions { GateActivation = Activation.HardSigmoidWith(1.0 / 6, 0.5), CellInputActivation = new Activation(ActivationKind.LeakyRelu, 0.1), CellOutputActivation = new Activation(ActivationKind.Affine, 0.5, 0.25) },
        }, false);
        c["lstm_forget_bias_init_1"] = (Make(CellKind.Lstm) with { Lstm = new LstmOptions { ForgetGateBiasInit = 1.0 } }, true);
        c["lstm_forget_bias_init_1_bias1"] = (Make(CellKind.Lstm) with { Bias = BiasMode.InputOnly, Lstm = new LstmOptions { ForgetGateBiasInit = 1.0 } }, true);

        foreach (var bias in new[] { BiasMode.InputAndHidden, BiasMode.InputOnly, BiasMode.None })
        {
            c[$"rnn_tanh_{B(bias)}"] = (Make(CellKind.Rnn) with { Bias = bias }, false);
            c[$"rnn_relu_{B(bias)}"] = (Make(CellKind.Rnn) with { Bias = bias, RnnNonlinearity = Activation.Relu }, false);
        }
        c["gru_init_glorot"] = (Make(CellKind.Gru) with { Initialization = WeightInitialization.GlorotUniform }, true);
        c["lstm_init_orthogonal"] = (Make(CellKind.Lstm) with { Initialization = WeightInitialization.Orthogonal }, true);
        return c;
    }

    public static TheoryData<string, string> Grid()
    {
        var data = new TheoryData<string, string>();
        foreach (string config in Configs.Keys)
            foreach (string structure in Structures.Keys)
                data.Add(config, structure);
        return data;
    }

    [Fact]
    public void GridCoversEveryCell()
    {
        foreach (var cell in Enum.GetValues<CellKind>())
            Assert.Contains(Configs.Values, v => v.Options.Cell == cell);
        Assert.True(Grid().Count >= 150, $"grid has only {Grid().Count} cases");
    }

    [Theory]
    [MemberData(nameof(Grid))]
    public void ForwardMatchesReference(string config, string structure)
    {
        var (baseOptions, keepInit) = Configs[config];
        var s = Structures[structure];
        var options = s.Apply(baseOptions);
        var layer = new RecurrentLayer<double>(options, seed: 7) { Training = false };
        var rng = new Random(RecurrentTestData.StableSeed(config + "/" + structure));
        if (!keepInit) RecurrentTestData.Randomize(layer.Parameters, rng, 1.0);

        var (input, h0, c0) = s.Inputs<double>(options, rng, padding: 3.0);
        var expected = ReferenceRecurrent.Forward(options, layer.Parameters, input, h0, c0, s.Lengths);
        var actual = layer.Forward(input, h0, c0, s.Lengths);

        Assert.Equal(options.BatchFirst ? new[] { s.Batch, s.Steps, options.OutputSize } : new[] { s.Steps, s.Batch, options.OutputSize }, actual.Output.Shape.ToArray());
        Assert.Equal(new[] { options.NumLayers * options.Directions, s.Batch, HiddenSize }, actual.HiddenState.Shape.ToArray());
        TensorAssert.Close("output", expected.Output, actual.Output.Span, 1e-12, 1e-12);
        TensorAssert.Close("h_n", expected.HiddenState, actual.HiddenState.Span, 1e-12, 1e-12);
        if (options.Cell == CellKind.Lstm)
        {
            Assert.NotNull(actual.CellState);
            TensorAssert.Close("c_n", expected.CellState!, actual.CellState!.Span, 1e-12, 1e-12);
        }
        else Assert.Null(actual.CellState);
    }

    [Theory]
    [InlineData("gru_keep_after_bias2")]
    [InlineData("gru_take_before_bias1")]
    [InlineData("gru_act_hardsigmoid_relu")]
    [InlineData("lstm_bias2")]
    [InlineData("lstm_hardsigmoid_relu_softsign")]
    [InlineData("rnn_tanh_bias2")]
    [InlineData("rnn_relu_bias0")]
    public void FloatForwardMatchesReference(string config)
    {
        var (baseOptions, _) = Configs[config];
        var s = Structures["bi3_varlen"];
        var options = s.Apply(baseOptions);
        var layer = new RecurrentLayer<float>(options, seed: 3) { Training = false };
        var rng = new Random(99);
        // Draw float-representable weights and inputs so the reference sees exactly what the float layer sees.
        var reference = new ParameterBlock<double>(RecurrentLayer<double>.ParameterLayout(options));
        for (int i = 0; i < reference.Count; i++)
        {
            float v = (float)(rng.NextDouble() * 2 - 1);
            layer.Parameters.Values[i] = v;
            reference.Values[i] = v;
        }
        var (input, h0, c0) = s.Inputs<float>(options, rng, padding: 3.0);
        var expected = ReferenceRecurrent.Forward(options, reference, RecurrentTestData.ToDouble(input), RecurrentTestData.ToDoubleOrNull(h0), RecurrentTestData.ToDoubleOrNull(c0), s.Lengths);
        var actual = layer.Forward(input, h0, c0, s.Lengths);

        var output = actual.Output.Data.Select(v => (double)v).ToArray();
        TensorAssert.Close("output", expected.Output, output, 1e-5, 1e-6);
        TensorAssert.Close("h_n", expected.HiddenState, actual.HiddenState.Data.Select(v => (double)v).ToArray(), 1e-5, 1e-6);
        if (options.Cell == CellKind.Lstm)
            TensorAssert.Close("c_n", expected.CellState!, actual.CellState!.Data.Select(v => (double)v).ToArray(), 1e-5, 1e-6);
    }

    [Fact]
    public void ReferenceActivationsMatchTheirDefinitionsAtKnownPoints()
    {
        Assert.Equal(0.5, ReferenceRecurrent.Apply(Activation.Sigmoid, 0), 15);
        Assert.Equal(0.7, ReferenceRecurrent.Apply(Activation.HardSigmoid, 1), 15);
        Assert.Equal(1.0, ReferenceRecurrent.Apply(Activation.HardSigmoid, 10), 15);
        Assert.Equal(0.0, ReferenceRecurrent.Apply(Activation.HardSigmoidWith(1.0 / 6, 0.5), -3), 15);
        Assert.Equal(-0.5, ReferenceRecurrent.Apply(new Activation(ActivationKind.Softsign), -1), 15);
        Assert.Equal(0.0, ReferenceRecurrent.Apply(Activation.Relu, -2), 15);
        // And they agree with the library's own Activation.Apply.
        var rng = new Random(1);
        foreach (var a in new[] { Activation.Sigmoid, Activation.Tanh, Activation.Relu, Activation.HardSigmoid, new Activation(ActivationKind.LeakyRelu, 0.1), new Activation(ActivationKind.Softsign), new Activation(ActivationKind.ScaledTanh, 1.7, 0.6), new Activation(ActivationKind.Affine, 0.5, 0.2), new Activation(ActivationKind.Elu, 1.2) })
        {
            for (int k = 0; k < 20; k++)
            {
                double x = rng.NextDouble() * 8 - 4;
                Span<double> v = [x];
                a.Apply(v);
                Assert.Equal(ReferenceRecurrent.Apply(a, x), v[0], 14);
            }
        }
    }
}

/// <summary>Random tensors, parameter copies and stack structures shared by the reference and equivalence tests.</summary>
internal static class RecurrentTestData
{
    /// <summary>A stack structure and the shape of its data.</summary>
    internal sealed record Structure(int Layers, bool Bidirectional, bool BatchFirst, int Steps, int Batch, int[]? Lengths, bool InitialState)
    {
        public RecurrentOptions Apply(RecurrentOptions o) => o with { NumLayers = Layers, Bidirectional = Bidirectional, BatchFirst = BatchFirst };

        /// <summary>Random input (padded steps filled with ±<paramref name="padding"/>-scale noise, or NaN) and, when InitialState, random h0 / c0.</summary>
        public (Tensor<T> Input, Tensor<T>? H0, Tensor<T>? C0) Inputs<T>(RecurrentOptions o, Random rng, double padding) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var input = BatchFirst ? RandomTensor<T>(rng, 1.5, Batch, Steps, o.InputSize) : RandomTensor<T>(rng, 1.5, Steps, Batch, o.InputSize);
            FillPadding(input, Lengths, BatchFirst, T.CreateChecked(padding));
            int states = o.NumLayers * o.Directions;
            var h0 = InitialState ? RandomTensor<T>(rng, 0.8, states, Batch, o.HiddenSize) : null;
            var c0 = InitialState && o.Cell == CellKind.Lstm ? RandomTensor<T>(rng, 0.8, states, Batch, o.HiddenSize) : null;
            return (input, h0, c0);
        }
    }

    public static Tensor<T> RandomTensor<T>(Random rng, double scale, params int[] shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var t = new Tensor<T>(shape);
        for (int i = 0; i < t.Length; i++) t.Data[i] = T.CreateChecked((rng.NextDouble() * 2 - 1) * scale);
        return t;
    }

    public static void Randomize<T>(ParameterBlock<T> p, Random rng, double scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < p.Count; i++) p.Values[i] = T.CreateChecked((rng.NextDouble() * 2 - 1) * scale);
    }

    /// <summary>Sets every element at a padded step (t ≥ len) of a (T, B, n) or (B, T, n) tensor to <paramref name="value"/>.</summary>
    public static void FillPadding<T>(Tensor<T> tensor, IReadOnlyList<int>? lengths, bool batchFirst, T value) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (lengths is null) return;
        int steps = batchFirst ? tensor.Dim(1) : tensor.Dim(0), batch = batchFirst ? tensor.Dim(0) : tensor.Dim(1), n = tensor.Dim(2);
        for (int b = 0; b < batch; b++)
            for (int t = lengths[b]; t < steps; t++)
                tensor.Data.AsSpan((batchFirst ? b * steps + t : t * batch + b) * n, n).Fill(value);
    }

    public static Tensor<double> ToDouble(Tensor<float> t) => new(t.Data.Select(v => (double)v).ToArray(), t.Shape.ToArray());

    public static Tensor<double>? ToDoubleOrNull(Tensor<float>? t) => t is null ? null : ToDouble(t);

    /// <summary>A seed that depends on the text only (string.GetHashCode is randomised per process).</summary>
    public static int StableSeed(string text)
    {
        int seed = 17;
        foreach (char ch in text) seed = unchecked(seed * 31 + ch);
        return seed;
    }
}
