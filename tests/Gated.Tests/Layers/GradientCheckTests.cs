using Gated.Kernels;
using Gated.Layers;

namespace Gated.Tests.Layers;

/// <summary>
/// Finite-difference gradient checks in float64: for every cell and every GRU convention × reset
/// position × bias mode, on stacked, bidirectional, variable-length batches, the analytic gradient of
/// L = Σ output ⊙ W_o + Σ h_n ⊙ W_h (+ Σ c_n ⊙ W_c) with respect to every parameter, every input value
/// and every initial state agrees with a fourth-order central difference (ε = 1e-5)
/// to a relative error below 1e-6.
/// </summary>
public sealed class GradientCheckTests
{
    private const double Epsilon = 1e-5;
    private const double Tolerance = 1e-6;

    public enum Shape { OneLayer, StackedBidirectionalVariableLengths, BatchFirstBidirectional }

    public static TheoryData<UpdateGateConvention, ResetGatePosition, BiasMode, Shape> GruConventions()
    {
        var data = new TheoryData<UpdateGateConvention, ResetGatePosition, BiasMode, Shape>();
        foreach (var update in Enum.GetValues<UpdateGateConvention>())
            foreach (var reset in Enum.GetValues<ResetGatePosition>())
                foreach (var bias in Enum.GetValues<BiasMode>())
                    foreach (var shape in Enum.GetValues<Shape>())
                        data.Add(update, reset, bias, shape);
        return data;
    }

    [Theory]
    [MemberData(nameof(GruConventions))]
    public void Gru(UpdateGateConvention update, ResetGatePosition reset, BiasMode bias, Shape shape) =>
        Check(Options(CellKind.Gru, bias, shape) with { Gru = new GruOptions { UpdateGate = update, Reset = reset } }, shape);

    [Theory]
    [InlineData(GruAblation.NoResetGate, ResetGatePosition.AfterProduct)]
    [InlineData(GruAblation.NoResetGate, ResetGatePosition.BeforeProduct)]
    [InlineData(GruAblation.NoUpdateGate, ResetGatePosition.AfterProduct)]
    [InlineData(GruAblation.NoUpdateGate | GruAblation.NoResetGate, ResetGatePosition.BeforeProduct)]
    public void GruAblations(GruAblation ablation, ResetGatePosition reset)
    {
        foreach (var update in Enum.GetValues<UpdateGateConvention>())
            Check(Options(CellKind.Gru, BiasMode.InputAndHidden, Shape.StackedBidirectionalVariableLengths)
                with { Gru = new GruOptions { Ablation = ablation, Reset = reset, UpdateGate = update } }, Shape.StackedBidirectionalVariableLengths);
    }

    public static TheoryData<string, string> GruActivations() => new()
    {
        { "HardSigmoid", "Tanh" }, { "Sigmoid", "Relu" }, { "Tanh", "Softsign" }, { "HardSigmoidKeras3", "Tanh" },
    };

    [Theory]
    [MemberData(nameof(GruActivations))]
    public void GruWithOtherActivations(string gate, string candidate)
    {
        foreach (var reset in Enum.GetValues<ResetGatePosition>())
            Check(Options(CellKind.Gru, BiasMode.InputAndHidden, Shape.StackedBidirectionalVariableLengths)
                with { Gru = new GruOptions { GateActivation = Named(gate), CandidateActivation = Named(candidate), Reset = reset } },
                Shape.StackedBidirectionalVariableLengths);
    }

    [Theory]
    [InlineData(BiasMode.InputAndHidden, Shape.OneLayer)]
    [InlineData(BiasMode.InputAndHidden, Shape.StackedBidirectionalVariableLengths)]
    [InlineData(BiasMode.InputOnly, Shape.StackedBidirectionalVariableLengths)]
    [InlineData(BiasMode.None, Shape.BatchFirstBidirectional)]
    public void Lstm(BiasMode bias, Shape shape) => Check(Options(CellKind.Lstm, bias, shape), shape);

    [Fact]
    public void LstmWithOtherActivations() =>
        Check(Options(CellKind.Lstm, BiasMode.InputAndHidden, Shape.StackedBidirectionalVariableLengths) with
        {
            Lstm = new LstmOptions { GateActivation = Activation.HardSigmoid, CellInputActivation = Named("Softsign"), CellOutputActivation = Named("Softsign") },
        }, Shape.StackedBidirectionalVariableLengths);

    [Theory]
    [InlineData(ActivationKind.Tanh, BiasMode.InputAndHidden, Shape.OneLayer)]
    [InlineData(ActivationKind.Tanh, BiasMode.InputOnly, Shape.StackedBidirectionalVariableLengths)]
    [InlineData(ActivationKind.Relu, BiasMode.InputAndHidden, Shape.StackedBidirectionalVariableLengths)]
    [InlineData(ActivationKind.Relu, BiasMode.None, Shape.BatchFirstBidirectional)]
    public void Rnn(ActivationKind nonlinearity, BiasMode bias, Shape shape) =>
        Check(Options(CellKind.Rnn, bias, shape) with { RnnNonlinearity = new Activation(nonlinearity) }, shape);

    [Theory]
    [InlineData(CellKind.Gru)]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.Rnn)]
    public void WithDropoutBetweenLayers(CellKind cell) =>
        Check(Options(cell, BiasMode.InputAndHidden, Shape.StackedBidirectionalVariableLengths) with { Dropout = 0.4 },
            Shape.StackedBidirectionalVariableLengths);

    private static RecurrentOptions Options(CellKind cell, BiasMode bias, Shape shape) => new()
    {
        Cell = cell,
        InputSize = 3,
        HiddenSize = 4,
        Bias = bias,
        NumLayers = shape == Shape.StackedBidirectionalVariableLengths ? 2 : 1,
        Bidirectional = shape != Shape.OneLayer,
        BatchFirst = shape == Shape.BatchFirstBidirectional,
    };

    private static Activation Named(string name) => name switch
    {
        "Sigmoid" => Activation.Sigmoid,
        "Tanh" => Activation.Tanh,
        "Relu" => Activation.Relu,
        "HardSigmoid" => Activation.HardSigmoid,
        "HardSigmoidKeras3" => Activation.HardSigmoidWith(1.0 / 6, 0.5),
        "Softsign" => new Activation(ActivationKind.Softsign),
        _ => throw new ArgumentException(name),
    };

    /// <summary>Checks ∂L/∂θ for every parameter, input value and initial-state value against central differences.</summary>
    private static void Check(RecurrentOptions options, Shape shape)
    {
        const int steps = 5, batch = 3;
        int[] lengths = shape == Shape.OneLayer ? [steps, steps, steps] : [4, steps, 2];
        var random = new Random(StableHash(options.ToString()));
        // Weights scaled ×2 so the gates leave their linear region and the check is sharp.
        var layer = new RecurrentLayer<double>(options, seed: 7);
        foreach (ref double p in layer.Parameters.Values.AsSpan()) p *= 2;
        int stateCount = options.NumLayers * options.Directions;
        var input = Random(random, options.BatchFirst ? [batch, steps, options.InputSize] : [steps, batch, options.InputSize]);
        var h0 = Random(random, stateCount, batch, options.HiddenSize);
        var c0 = options.Cell == CellKind.Lstm ? Random(random, stateCount, batch, options.HiddenSize) : null;
        var outputWeights = Random(random, options.BatchFirst ? [batch, steps, options.OutputSize] : [steps, batch, options.OutputSize]);
        var hiddenWeights = Random(random, stateCount, batch, options.HiddenSize);
        var cellWeights = c0 is null ? null : Random(random, stateCount, batch, options.HiddenSize);
        int dropoutSeed = random.Next();

        double Loss()
        {
            layer.DropoutRandom = new Random(dropoutSeed);  // the same dropout mask in every evaluation
            var r = layer.Forward(input, h0, c0, lengths);
            double loss = Dot(r.Output, outputWeights) + Dot(r.HiddenState, hiddenWeights);
            if (cellWeights is not null) loss += Dot(r.CellState!, cellWeights);
            return loss;
        }

        Loss();
        layer.Parameters.ZeroGradients();
        var gradients = layer.Backward(outputWeights, hiddenWeights, cellWeights);

        var failures = new List<string>();
        int isChecked = 0;
        // Five-point stencil: (−L(θ+2ε) + 8L(θ+ε) − 8L(θ−ε) + L(θ−2ε)) / 12ε, truncation error O(ε⁴),
        // so ε can be large enough (1e-5) that round-off in L stays far below the tolerance.
        void CheckAll(string name, double[] values, int offset, int length, ReadOnlySpan<double> analytic)
        {
            for (int i = 0; i < length; i++)
            {
                ref double value = ref values[offset + i];
                double saved = value;
                value = saved + 2 * Epsilon; double plus2 = Loss();
                value = saved + Epsilon; double plus1 = Loss();
                value = saved - Epsilon; double minus1 = Loss();
                value = saved - 2 * Epsilon; double minus2 = Loss();
                value = saved;
                double numeric = (-plus2 + 8 * plus1 - 8 * minus1 + minus2) / (12 * Epsilon);
                double error = Math.Abs(numeric - analytic[i]) / Math.Max(1e-3, Math.Max(Math.Abs(numeric), Math.Abs(analytic[i])));
                isChecked++;
                if (!(error < Tolerance) && failures.Count < 10) failures.Add($"{name}[{i}]: analytic {analytic[i]:G10}, numeric {numeric:G10}, relative error {error:E2}");
            }
        }

        foreach (var p in layer.Parameters.Parameters)
            CheckAll(p.Name, layer.Parameters.Values, p.Offset, p.Length, layer.Parameters.Gradient(p.Name).ToArray());
        CheckAll("input", input.Data, 0, input.Length, gradients.Input!.Span);
        CheckAll("h0", h0.Data, 0, h0.Length, gradients.InitialHidden.Span);
        if (c0 is not null) CheckAll("c0", c0.Data, 0, c0.Length, gradients.InitialCell!.Span);
        Assert.True(failures.Count == 0, $"{options}: {failures.Count} of {isChecked} checks failed:\n" + string.Join("\n", failures));
        Assert.True(isChecked > 50, $"only {isChecked} values checked");
    }

    /// <summary>FNV-1a: the same seed for the same configuration in every process (string.GetHashCode is randomised).</summary>
    private static int StableHash(string text)
    {
        uint hash = 2166136261;
        foreach (char c in text) hash = (hash ^ c) * 16777619;
        return (int)(hash & 0x7fffffff);
    }

    private static Tensor<double> Random(Random random, params int[] shape)
    {
        var t = new Tensor<double>(shape);
        for (int i = 0; i < t.Length; i++) t.Data[i] = random.NextDouble() * 2 - 1;
        return t;
    }

    private static double Dot(Tensor<double> a, Tensor<double> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += a.Data[i] * b.Data[i];
        return sum;
    }
}
