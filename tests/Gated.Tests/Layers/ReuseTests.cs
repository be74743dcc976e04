using Gated.Layers;

namespace Gated.Tests.Layers;

/// <summary>
/// Forward and Backward with <c>reuse</c> write into the earlier call's tensors (same object back) and give
/// exactly what a call without reuse gives, padded steps included; a result whose shapes no longer fit is replaced.
/// </summary>
public sealed class ReuseTests
{
    [Theory]
    [InlineData(CellKind.Gru)]
    [InlineData(CellKind.Lstm)]
    public void ReusedResultsEqualFreshOnes(CellKind cell)
    {
        var options = new RecurrentOptions { Cell = cell, InputSize = 5, HiddenSize = 6, NumLayers = 2, Bidirectional = true };
        var layer = new RecurrentLayer<double>(options, seed: 2);
        var head = new Linear<double>(options.OutputSize, 3, seed: 4);
        var random = new Random(6);
        RecurrentResult<double>? result = null;
        RecurrentGradients<double>? gradients = null;
        Tensor<double>? logits = null, dHidden = null;
        foreach (int[] lengths in new[] { new[] { 4, 2, 3 }, new[] { 1, 4, 4 }, new[] { 3, 3, 2 } })
        {
            var input = Fill(random, 4, 3, 5);
            var gradOutput = Fill(random, 4, 3, 3);
            var fresh = layer.Forward(input, lengths: lengths);
            var freshLogits = head.Forward(fresh.Output);
            var freshDHidden = head.Backward(gradOutput);
            var freshGradients = layer.Backward(freshDHidden);

            var previous = result;
            result = layer.Forward(input, lengths: lengths, reuse: result);
            if (previous is not null) Assert.Same(previous, result);
            logits = head.Forward(result.Output, logits);
            dHidden = head.Backward(gradOutput, dHidden);
            var previousGradients = gradients;
            gradients = layer.Backward(dHidden, reuse: gradients);
            if (previousGradients is not null) Assert.Same(previousGradients, gradients);

            Assert.Equal(fresh.Output.Data, result.Output.Data);
            Assert.Equal(fresh.HiddenState.Data, result.HiddenState.Data);
            if (cell == CellKind.Lstm) Assert.Equal(fresh.CellState!.Data, result.CellState!.Data);
            Assert.Equal(freshLogits.Data, logits.Data);
            Assert.Equal(freshDHidden.Data, dHidden.Data);
            Assert.Equal(freshGradients.Input!.Data, gradients.Input!.Data);
            Assert.Equal(freshGradients.InitialHidden.Data, gradients.InitialHidden.Data);
        }

        // A different batch size: the old tensors do not fit and new ones come back.
        var other = layer.Forward(Fill(random, 4, 2, 5), reuse: result);
        Assert.NotSame(result, other);
        Assert.Equal([4, 2, 12], other.Output.Shape.ToArray());
    }

    private static Tensor<double> Fill(Random random, params int[] shape)
    {
        var t = new Tensor<double>(shape);
        for (int i = 0; i < t.Length; i++) t.Data[i] = random.NextDouble() * 2 - 1;
        return t;
    }
}
