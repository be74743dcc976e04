using Gated.Memory;
using Gated.Training;

namespace Gated.Tests.Training;

public sealed class OptimizerTests
{
    private static ParameterBlock<double> Scalar(double value)
    {
        var block = new ParameterBlock<double>([("w", new[] { 1 })]);
        block.Values[0] = value;
        return block;
    }

    [Fact]
    public void AdamTwoStepsByHand()
    {
        // θ = 1, lr = 0.1, β = (0.9, 0.999), ε = 1e-8; g = 0.5 then −1.
        // Step 1: m = 0.05, v = 0.00025, m̂ = 0.5, v̂ = 0.25, θ = 1 − 0.1·0.5/(0.5 + 1e-8) = 0.900000002.
        // Step 2: m = −0.055, v = 0.00124975, m̂ = −0.055/0.19, v̂ = 0.00124975/0.001999, θ = 0.93661035424…
        var block = Scalar(1);
        var adam = new Adam<double>([block], learningRate: 0.1);
        block.Gradients[0] = 0.5;
        adam.Step();
        Assert.Equal(0.900000002, block.Values[0], 1e-15);
        block.Gradients[0] = -1;
        adam.Step();
        Assert.Equal(0.9366103542405654, block.Values[0], 1e-13);
        Assert.Equal(2, adam.StepCount);
    }

    [Fact]
    public void AdamInFloatMatchesDouble()
    {
        var d = Scalar(1);
        var f = new ParameterBlock<float>([("w", new[] { 1 })]);
        f.Values[0] = 1;
        var ad = new Adam<double>([d], 0.1);
        var af = new Adam<float>([f], 0.1);
        foreach (double g in new[] { 0.5, -1, 0.25 })
        {
            d.Gradients[0] = g; f.Gradients[0] = (float)g;
            ad.Step(); af.Step();
        }
        Assert.Equal(d.Values[0], f.Values[0], 1e-6);
    }

    [Theory]
    [InlineData(false, 0.0, 0.900000019999996, 0.8291119095494123)]
    [InlineData(true, 0.0, 0.899496238676095, 0.8278920868083515)]
    [InlineData(false, 0.9, 0.900000019999996, 0.7391119275494087)]
    public void RmsPropTwoStepsByHand(bool centered, double momentum, double afterOne, double afterTwo)
    {
        // θ = 1, lr = 0.01, α = 0.99, ε = 1e-8, g = 0.5 twice. Step 1: v = 0.0025, √v = 0.05, g/√v = 10 → 0.9.
        // Centered: ḡ = 0.005, ṽ = 0.0025 − 0.000025. Momentum 0.9: b = 10, then 9 + 0.5/√0.004975.
        var block = Scalar(1);
        var rms = new RmsProp<double>([block], learningRate: 0.01, alpha: 0.99, momentum: momentum, centered: centered);
        block.Gradients[0] = 0.5;
        rms.Step();
        Assert.Equal(afterOne, block.Values[0], 1e-13);
        rms.Step();
        Assert.Equal(afterTwo, block.Values[0], 1e-13);
    }

    [Fact]
    public void StateIsPerBlockAndPerElement()
    {
        var a = new ParameterBlock<double>([("x", new[] { 2 })]);
        var b = Scalar(0);
        var adam = new Adam<double>([a, b], 0.1);
        a.Gradients[0] = 0.5; a.Gradients[1] = -2; b.Gradients[0] = 0.5;
        adam.Step();
        // The first Adam step moves every parameter by −lr·sign(g) (up to ε).
        Assert.Equal(-0.1, a.Values[0], 1e-7);
        Assert.Equal(0.1, a.Values[1], 1e-7);
        Assert.Equal(-0.1, b.Values[0], 1e-7);
        adam.ZeroGradients();
        Assert.All(a.Gradients, g => Assert.Equal(0, g));
        Assert.Equal(0, b.Gradients[0]);
    }

    [Fact]
    public void ArgumentsAreValidated()
    {
        var block = Scalar(0);
        Assert.Throws<ArgumentException>(() => new Adam<double>([]));
        Assert.Throws<ArgumentException>(() => new Adam<double>([block, block]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam<double>([block], learningRate: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam<double>([block], learningRate: double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam<double>([block], beta1: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam<double>([block], epsilon: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RmsProp<double>([block], alpha: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RmsProp<double>([block], momentum: -0.1));
    }
}
