using Gated.Kernels;
using Gated.Layers;

namespace Gated.Tests.Layers;

public sealed class GruConversionTests
{
    [Theory]
    [InlineData(ResetGatePosition.AfterProduct, BiasMode.InputAndHidden, "Sigmoid")]
    [InlineData(ResetGatePosition.BeforeProduct, BiasMode.InputOnly, "Sigmoid")]
    [InlineData(ResetGatePosition.AfterProduct, BiasMode.None, "HardSigmoid")]
    [InlineData(ResetGatePosition.BeforeProduct, BiasMode.InputAndHidden, "HardSigmoidKeras3")]
    public void SwitchingTheUpdateConventionKeepsEveryOutput(ResetGatePosition reset, BiasMode bias, string gate)
    {
        var activation = gate switch { "Sigmoid" => Activation.Sigmoid, "HardSigmoid" => Activation.HardSigmoid, _ => Activation.HardSigmoidWith(1.0 / 6, 0.5) };
        var options = new RecurrentOptions
        {
            Cell = CellKind.Gru, InputSize = 3, HiddenSize = 5, NumLayers = 2, Bidirectional = true, Bias = bias,
            Gru = new GruOptions { Reset = reset, GateActivation = activation },
        };
        var original = new RecurrentLayer<double>(options, seed: 3);
        foreach (ref double p in original.Parameters.Values.AsSpan()) p *= 3;
        var converted = GruConversion.SwitchUpdateGateConvention(original);
        Assert.Equal(UpdateGateConvention.TakeCandidate, converted.Options.Gru.UpdateGate);
        var back = GruConversion.SwitchUpdateGateConvention(converted);
        Assert.Equal(original.Parameters.Values, back.Parameters.Values);

        var random = new Random(5);
        var input = new Tensor<double>(6, 4, 3);
        foreach (ref double v in input.Span) v = random.NextDouble() * 4 - 2;
        int[] lengths = [6, 2, 5, 6];
        var expected = original.Forward(input, lengths: lengths);
        var actual = converted.Forward(input, lengths: lengths);
        TensorAssert.Close("output", expected.Output.Span, actual.Output.Span, 1e-13, 1e-14);
        TensorAssert.Close("h_n", expected.HiddenState.Span, actual.HiddenState.Span, 1e-13, 1e-14);
        // The two conventions really differ: the unconverted weights under the other convention give other outputs.
        var reinterpreted = new RecurrentLayer<double>(converted.Options, seed: 0);
        original.Parameters.Values.CopyTo(reinterpreted.Parameters.Values, 0);
        Assert.NotEqual(expected.Output.Data, reinterpreted.Forward(input, lengths: lengths).Output.Data);
    }

    [Fact]
    public void RefusesGateActivationsWithoutTheSymmetry()
    {
        var options = new RecurrentOptions { Cell = CellKind.Gru, InputSize = 2, HiddenSize = 2, Gru = new GruOptions { GateActivation = Activation.Tanh } };
        var e = Assert.Throws<ArgumentException>(() => GruConversion.SwitchUpdateGateConvention(new RecurrentLayer<double>(options, 1)));
        Assert.Contains("Tanh", e.Message);
        var lstm = new RecurrentLayer<double>(new RecurrentOptions { Cell = CellKind.Lstm, InputSize = 2, HiddenSize = 2 }, 1);
        Assert.Throws<ArgumentException>(() => GruConversion.SwitchUpdateGateConvention(lstm));
    }
}
