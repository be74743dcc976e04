using Gated.Training;

namespace Gated.Tests.Training;

public sealed class BernoulliNllTests
{
    private static double Direct(double a, double y)
    {
        double p = 1 / (1 + Math.Exp(-a));
        return -(y * Math.Log(p) + (1 - y) * Math.Log(1 - p));
    }

    [Theory]
    [InlineData(0.0, 0.0)]
    [InlineData(0.0, 1.0)]
    [InlineData(1.5, 1.0)]
    [InlineData(1.5, 0.0)]
    [InlineData(-2.25, 1.0)]
    [InlineData(-2.25, 0.0)]
    [InlineData(7.0, 0.3)]
    [InlineData(-12.0, 0.0)]
    public void ElementMatchesTheDirectFormula(double a, double y) =>
        Assert.Equal(Direct(a, y), BernoulliNll.Element(a, y), 1e-12);

    [Fact]
    public void ZeroLogitsCostLog2PerKey()
    {
        var logits = new float[88];
        var targets = new float[88];
        targets[10] = 1;
        Assert.Equal(88 * Math.Log(2), BernoulliNll.Loss<float>(logits, targets), 1e-9);
    }

    [Theory]
    [InlineData(800.0, 0.0, 800.0)]
    [InlineData(800.0, 1.0, 0.0)]
    [InlineData(-800.0, 1.0, 800.0)]
    [InlineData(-800.0, 0.0, 0.0)]
    [InlineData(40.0, 0.0, 40.0)]
    public void LargeLogitsStayFiniteAndExact(double a, double y, double expected)
    {
        Assert.Equal(expected, BernoulliNll.Element(a, y), 1e-12);
        double[] grad = new double[1];
        BernoulliNll.LossAndGradient<double>([a], [y], grad);
        Assert.True(double.IsFinite(grad[0]));
        Assert.Equal((a > 0 ? 1 : 0) - y, grad[0], 1e-12);
    }

    [Fact]
    public void GradientMatchesSigmoidMinusTargetAndFiniteDifferences()
    {
        var random = new Random(3);
        int n = 64;
        var a = new double[n];
        var y = new double[n];
        for (int i = 0; i < n; i++) { a[i] = (random.NextDouble() * 2 - 1) * 6; y[i] = random.Next(2); }
        var grad = new double[n];
        double loss = BernoulliNll.LossAndGradient<double>(a, y, grad);
        Assert.Equal(BernoulliNll.Loss<double>(a, y), loss, 1e-12);
        double direct = 0;
        for (int i = 0; i < n; i++) direct += Direct(a[i], y[i]);
        Assert.Equal(direct, loss, 1e-10);
        const double h = 1e-5;
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(1 / (1 + Math.Exp(-a[i])) - y[i], grad[i], 1e-12);
            double plus = BernoulliNll.Element(a[i] + h, y[i]), minus = BernoulliNll.Element(a[i] - h, y[i]);
            Assert.Equal((plus - minus) / (2 * h), grad[i], 1e-8);
        }
    }

    [Fact]
    public void ScaleAppliesToTheGradientOnlyAndInPlaceWorks()
    {
        float[] logits = [0.5f, -1f, 2f];
        float[] targets = [1f, 0f, 0f];
        float[] expected = new float[3];
        double loss = BernoulliNll.LossAndGradient<float>(logits, targets, expected);
        double scaled = BernoulliNll.LossAndGradient<float>(logits, targets, logits, 0.25);
        Assert.Equal(loss, scaled, 1e-12);
        for (int i = 0; i < 3; i++) Assert.Equal(expected[i] * 0.25f, logits[i], 1e-7f);
        Assert.Throws<ArgumentException>(() => BernoulliNll.Loss<float>(new float[2], new float[3]));
        Assert.Throws<ArgumentException>(() => BernoulliNll.LossAndGradient<float>(new float[2], new float[2], new float[1]));
    }

    [Fact]
    public void VectorisedLossAndGradientMatchTheScalarTwin()
    {
        var random = new Random(4);
        foreach (int n in new[] { 0, 1, 7, 127, 128, 129, 300, 1000 })
        {
            float[] logits = [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 60 - 30))];
            float[] targets = [.. Enumerable.Range(0, n).Select(_ => random.NextDouble() < 0.3 ? 1f : 0f)];
            float[] fast = new float[n], slow = new float[n];
            double fastLoss = BernoulliNll.LossAndGradient<float>(logits, targets, fast, 0.5);
            double slowLoss = BernoulliNll.LossAndGradientScalar<float>(logits, targets, slow, 0.5);
            Assert.Equal(slowLoss, fastLoss, 1e-9 * Math.Max(1, slowLoss));
            Assert.Equal(BernoulliNll.LossScalar<float>(logits, targets), BernoulliNll.Loss<float>(logits, targets), 1e-9 * Math.Max(1, slowLoss));
            TensorAssert.Close($"gradient, n = {n}", slow, fast, 1e-6, 1e-9);
        }
    }

    [Fact]
    public void SigmoidIsStable()
    {
        Assert.Equal(0.5, BernoulliNll.Sigmoid(0));
        Assert.Equal(1.0, BernoulliNll.Sigmoid(1000));
        Assert.Equal(0.0, BernoulliNll.Sigmoid(-1000));
        Assert.Equal(1 / (1 + Math.Exp(3)), BernoulliNll.Sigmoid(-3), 1e-15);
    }
}

/// <summary>
/// The fused one-pass chunk of the loss against its scalar twin and the <see cref="System.Numerics.Tensors.TensorPrimitives"/>
/// chunks; it switches the fused kernel off for a moment, so it runs alone.
/// </summary>
[Collection(Gated.Tests.Kernels.ComputeThreadsCollection.Name)]
public sealed class BernoulliNllFusedChunkTests
{
    [Fact]
    public void TheFusedChunkMatchesTheScalarTwinAndThePrimitiveChunks()
    {
        // Lengths around the 4-wide vectors and the 128-element chunks; logits at 0, at ±large and of
        // both signs; soft targets as well as 0 and 1; float and double.
        var random = new Random(11);
        foreach (int n in new[] { 1, 3, 4, 5, 131, 256, 1003 })
        {
            double[] logits = [.. Enumerable.Range(0, n).Select(i => (i % 11) switch
            {
                0 => 0.0,
                1 => 800.0,
                2 => -800.0,
                3 => 40.0,
                _ => random.NextDouble() * 40 - 20,
            })];
            double[] targets = [.. Enumerable.Range(0, n).Select(i => i % 5 == 0 ? random.NextDouble() : random.NextDouble() < 0.3 ? 1.0 : 0.0)];
            CheckFused<double>(logits, targets);
            CheckFused<float>([.. logits.Select(v => (float)v)], [.. targets.Select(v => (float)v)]);
        }
    }

    private static void CheckFused<T>(T[] logits, T[] targets) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        int n = logits.Length;
        T[] fused = new T[n], primitive = new T[n], scalar = new T[n];
        bool saved = BernoulliNll.FusedKernelEnabled;
        double fusedLoss, primitiveLoss;
        try
        {
            BernoulliNll.FusedKernelEnabled = true;
            fusedLoss = BernoulliNll.LossAndGradient<T>(logits, targets, fused, 0.25);
            BernoulliNll.FusedKernelEnabled = false;
            primitiveLoss = BernoulliNll.LossAndGradient<T>(logits, targets, primitive, 0.25);
        }
        finally
        {
            BernoulliNll.FusedKernelEnabled = saved;
        }
        double scalarLoss = BernoulliNll.LossAndGradientScalar<T>(logits, targets, scalar, 0.25);
        Assert.True(double.IsFinite(fusedLoss));
        Assert.Equal(scalarLoss, fusedLoss, 1e-12 * Math.Max(1, scalarLoss));
        Assert.Equal(primitiveLoss, fusedLoss, 1e-12 * Math.Max(1, scalarLoss));
        for (int i = 0; i < n; i++)
        {
            double expected = double.CreateTruncating(scalar[i]), actual = double.CreateTruncating(fused[i]);
            double tolerance = typeof(T) == typeof(float) ? 1e-7 * Math.Abs(expected) + 1e-12 : 1e-14 * Math.Abs(expected) + 1e-18;
            Assert.True(Math.Abs(expected - actual) <= tolerance, $"n = {n}, element {i}: logit {logits[i]}, scalar {expected}, fused {actual}");
        }
    }
}
