using Gated.Layers;

namespace Gated.Tests.Layers;

/// <summary>
/// <see cref="RecurrentLayer{T}.InputRequiresGradient"/> = false skips only ∂L/∂input: the parameter gradients and
/// the initial-state gradients are bit for bit those of a layer that computes it, for every cell, stacked and
/// bidirectional layers and ragged batches; the input gradient comes back null.
/// </summary>
public sealed class InputGradientTests
{
    [Theory]
    [InlineData(CellKind.Gru, ResetGatePosition.AfterProduct, 1, false)]
    [InlineData(CellKind.Gru, ResetGatePosition.BeforeProduct, 2, true)]
    [InlineData(CellKind.Lstm, ResetGatePosition.AfterProduct, 2, false)]
    [InlineData(CellKind.Lstm, ResetGatePosition.AfterProduct, 1, true)]
    [InlineData(CellKind.Rnn, ResetGatePosition.AfterProduct, 2, true)]
    public void SkippingTheInputGradientChangesNothingElse(CellKind cell, ResetGatePosition reset, int layers, bool bidirectional)
    {
        var options = new RecurrentOptions
        {
            Cell = cell, InputSize = 7, HiddenSize = 5, NumLayers = layers, Bidirectional = bidirectional,
            Gru = new GruOptions { Reset = reset },
        };
        var withInput = new RecurrentLayer<double>(options, seed: 3);
        var withoutInput = new RecurrentLayer<double>(options, seed: 3) { InputRequiresGradient = false };
        var random = new Random(11);
        int[] lengths = [6, 3, 5];
        var input = Fill(random, 6, 3, 7);
        var gradOutput = Fill(random, 6, 3, options.OutputSize);

        withInput.Forward(input, lengths: lengths);
        var full = withInput.Backward(gradOutput);
        withoutInput.Forward(input, lengths: lengths);
        var skipped = withoutInput.Backward(gradOutput);

        Assert.NotNull(full.Input);
        Assert.Contains(full.Input!.Data, v => v != 0);
        Assert.Null(skipped.Input);
        Assert.Equal(full.InitialHidden.Data, skipped.InitialHidden.Data);
        if (cell == CellKind.Lstm) Assert.Equal(full.InitialCell!.Data, skipped.InitialCell!.Data);
        Assert.Equal(withInput.Parameters.Gradients, withoutInput.Parameters.Gradients);
        Assert.Contains(withoutInput.Parameters.Gradients, v => v != 0);

        // Switching it back on gives the input gradient again, equal to the other layer's.
        withoutInput.InputRequiresGradient = true;
        withoutInput.Forward(input, lengths: lengths);
        Assert.Equal(full.Input.Data, withoutInput.Backward(gradOutput).Input!.Data);
    }

    private static Tensor<double> Fill(Random random, params int[] shape)
    {
        var t = new Tensor<double>(shape);
        for (int i = 0; i < t.Length; i++) t.Data[i] = random.NextDouble() * 2 - 1;
        return t;
    }
}
