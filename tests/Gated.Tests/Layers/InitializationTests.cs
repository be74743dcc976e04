using Gated.Layers;

namespace Gated.Tests.Layers;

public sealed class InitializationTests
{
    private static RecurrentOptions Options(WeightInitialization init, CellKind cell = CellKind.Gru) => new()
    {
        Cell = cell, InputSize = 7, HiddenSize = 16, NumLayers = 2, Bidirectional = true, Initialization = init,
    };

    [Fact]
    public void PyTorchUniformStaysWithinOneOverRootHAndFillsTheRange()
    {
        var layer = new RecurrentLayer<double>(Options(WeightInitialization.PyTorchUniform), seed: 1);
        double bound = 1 / Math.Sqrt(16);
        Assert.All(layer.Parameters.Values, v => Assert.InRange(v, -bound, bound));
        Assert.True(layer.Parameters.Values.Max() > 0.95 * bound && layer.Parameters.Values.Min() < -0.95 * bound);
        Assert.InRange(layer.Parameters.Values.Average(), -0.01, 0.01);
    }

    [Fact]
    public void OrthogonalRecurrentBlocksAreOrthogonalAndBiasesZero()
    {
        var layer = new RecurrentLayer<double>(Options(WeightInitialization.Orthogonal), seed: 2);
        int h = 16;
        foreach (var p in layer.Parameters.Parameters)
        {
            var values = layer.Parameters.Value(p.Name).ToArray();
            if (p.Name.StartsWith("bias", StringComparison.Ordinal)) { Assert.All(values, v => Assert.Equal(0, v)); continue; }
            if (!p.Name.StartsWith("weight_hh", StringComparison.Ordinal)) continue;
            for (int gate = 0; gate < 3; gate++)
            {
                // Q Qᵀ = I for each H×H gate block.
                for (int i = 0; i < h; i++)
                    for (int j = 0; j < h; j++)
                    {
                        double dot = 0;
                        for (int k = 0; k < h; k++) dot += values[(gate * h + i) * h + k] * values[(gate * h + j) * h + k];
                        Assert.Equal(i == j ? 1.0 : 0.0, dot, 1e-12);
                    }
            }
        }
    }

    [Fact]
    public void GlorotUniformUsesFanInPlusFanOutPerGateBlock()
    {
        var layer = new RecurrentLayer<double>(Options(WeightInitialization.GlorotUniform), seed: 3);
        Assert.All(layer.Parameters.Value("weight_ih_l0").ToArray(), v => Assert.InRange(v, -Math.Sqrt(6.0 / (7 + 16)), Math.Sqrt(6.0 / (7 + 16))));
        Assert.All(layer.Parameters.Value("weight_ih_l1").ToArray(), v => Assert.InRange(v, -Math.Sqrt(6.0 / (32 + 16)), Math.Sqrt(6.0 / (32 + 16))));
    }

    [Fact]
    public void LstmForgetBiasInitIsAddedToTheForgetBlockOnly()
    {
        var options = Options(WeightInitialization.GlorotUniform, CellKind.Lstm) with { Lstm = new LstmOptions { ForgetGateBiasInit = 1 } };
        var layer = new RecurrentLayer<double>(options, seed: 4);
        var bias = layer.Parameters.Value("bias_ih_l0").ToArray();
        for (int j = 0; j < 64; j++) Assert.Equal(j is >= 16 and < 32 ? 1.0 : 0.0, bias[j]);
    }

    [Fact]
    public void SameSeedSameWeights()
    {
        var a = new RecurrentLayer<float>(Options(WeightInitialization.Orthogonal), seed: 9);
        var b = new RecurrentLayer<float>(Options(WeightInitialization.Orthogonal), seed: 9);
        Assert.Equal(a.Parameters.Values, b.Parameters.Values);
    }

    [Fact]
    public void ParameterNamesAndShapesFollowPyTorch()
    {
        var layer = new RecurrentLayer<float>(new RecurrentOptions { Cell = CellKind.Lstm, InputSize = 5, HiddenSize = 3, NumLayers = 2, Bidirectional = true }, 1);
        string[] expected =
        [
            "weight_ih_l0 (12, 5)", "weight_hh_l0 (12, 3)", "bias_ih_l0 (12)", "bias_hh_l0 (12)",
            "weight_ih_l0_reverse (12, 5)", "weight_hh_l0_reverse (12, 3)", "bias_ih_l0_reverse (12)", "bias_hh_l0_reverse (12)",
            "weight_ih_l1 (12, 6)", "weight_hh_l1 (12, 3)", "bias_ih_l1 (12)", "bias_hh_l1 (12)",
            "weight_ih_l1_reverse (12, 6)", "weight_hh_l1_reverse (12, 3)", "bias_ih_l1_reverse (12)", "bias_hh_l1_reverse (12)",
        ];
        Assert.Equal(expected, layer.Parameters.Parameters.Select(p => $"{p.Name} {p.ShapeText}"));
        Assert.Equal("Lstm(5, 3, num_layers=2, bidirectional=True)", layer.ToString());
    }
}
