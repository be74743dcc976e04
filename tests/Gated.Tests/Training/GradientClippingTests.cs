using Gated.Memory;
using Gated.Training;

namespace Gated.Tests.Training;

public sealed class GradientClippingTests
{
    private static (ParameterBlock<double> A, ParameterBlock<double> B) Blocks()
    {
        var a = new ParameterBlock<double>([("x", new[] { 2 })]);
        var b = new ParameterBlock<double>([("y", new[] { 1 })]);
        a.Gradients[0] = 3; a.Gradients[1] = 4; b.Gradients[0] = 12;
        return (a, b);
    }

    [Fact]
    public void NormIsGlobalAcrossBlocks()
    {
        var (a, b) = Blocks();
        Assert.Equal(13, GradientClipping.GlobalNorm([a, b]), 1e-12);
        Assert.Equal(5, GradientClipping.GlobalNorm([a]), 1e-12);
    }

    [Fact]
    public void AboveTheLimitRescalesToTheLimit()
    {
        var (a, b) = Blocks();
        double norm = GradientClipping.ClipByGlobalNorm([a, b], 1.0);
        Assert.Equal(13, norm, 1e-12);
        Assert.Equal(3.0 / 13, a.Gradients[0], 1e-15);
        Assert.Equal(4.0 / 13, a.Gradients[1], 1e-15);
        Assert.Equal(12.0 / 13, b.Gradients[0], 1e-15);
        Assert.Equal(1, GradientClipping.GlobalNorm([a, b]), 1e-12);
    }

    [Fact]
    public void AtOrBelowTheLimitLeavesGradientsAlone()
    {
        var (a, b) = Blocks();
        Assert.Equal(13, GradientClipping.ClipByGlobalNorm([a, b], 13.0), 1e-12);
        Assert.Equal(13, GradientClipping.ClipByGlobalNorm([a, b], 100.0), 1e-12);
        Assert.Equal([3.0, 4.0], a.Gradients);
        Assert.Equal(12, b.Gradients[0]);
    }

    [Fact]
    public void NonFiniteNormsAreReportedNotApplied()
    {
        var (a, b) = Blocks();
        b.Gradients[0] = double.NaN;
        Assert.True(double.IsNaN(GradientClipping.ClipByGlobalNorm([a, b], 1.0)));
        Assert.Equal([3.0, 4.0], a.Gradients);
        var f = new ParameterBlock<float>([("x", new[] { 1 })]);
        f.Gradients[0] = float.PositiveInfinity;
        Assert.True(double.IsPositiveInfinity(GradientClipping.ClipByGlobalNorm([f], 1.0)));
    }

    [Fact]
    public void FloatNormIsAccumulatedInDouble()
    {
        var f = new ParameterBlock<float>([("x", new[] { 1_000_000 })]);
        Array.Fill(f.Gradients, 1e-3f);
        Assert.Equal(1.0, GradientClipping.GlobalNorm([f]), 1e-6);
    }

    [Fact]
    public void MaxNormMustBePositive()
    {
        var (a, _) = Blocks();
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipByGlobalNorm([a], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipByGlobalNorm([a], double.NaN));
    }
}
