using Gated.Layers;

namespace Gated.Tests.Layers;

public sealed class GateTraceTests
{
    [Fact]
    public void GatesOfTheLastForwardFollowTheirEquations()
    {
        // One GRU step from h0 = 0 with reset after the product: r = σ(W_ir x + b_ir + b_hr), z likewise, ĥ = tanh(W_in x + b_in + r ⊙ b_hn).
        var layer = new RecurrentLayer<double>(new RecurrentOptions { Cell = CellKind.Gru, InputSize = 2, HiddenSize = 3, Bidirectional = true }, seed: 4);
        var input = new Tensor<double>(new double[] { 0.5, -1, 0.25, 2, 0, 0 }, 3, 1, 2);
        layer.Forward(input, lengths: [2]);
        var gates = layer.GetGates(0, 0);
        Assert.True(gates.HasShape(3, 1, 9));
        var w = layer.Parameters.Value("weight_ih_l0").ToArray();
        var bi = layer.Parameters.Value("bias_ih_l0").ToArray();
        var bh = layer.Parameters.Value("bias_hh_l0").ToArray();
        for (int j = 0; j < 3; j++)
        {
            double r = 1 / (1 + Math.Exp(-(w[j * 2] * 0.5 + w[j * 2 + 1] * -1 + bi[j] + bh[j])));
            double n = Math.Tanh(w[(6 + j) * 2] * 0.5 + w[(6 + j) * 2 + 1] * -1 + bi[6 + j] + r * bh[6 + j]);
            Assert.Equal(r, gates[0, 0, j], 1e-14);
            Assert.Equal(n, gates[0, 0, 6 + j], 1e-14);
        }
        Assert.All(gates.Data.Skip(2 * 9), v => Assert.Equal(0, v));  // the padded third step
        // The reverse direction's first step reads the last real input, and is reported at that time.
        var reverse = layer.GetGates(0, 1);
        Assert.NotEqual(0, reverse[1, 0, 0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => layer.GetGates(1, 0));
    }
}
