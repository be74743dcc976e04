using Gated.Kernels;

namespace Gated.Tests.Kernels;

/// <summary>Every activation's value against its formula and its derivative-from-output against a central difference.</summary>
public sealed class ActivationTests
{
    public static TheoryData<ActivationKind, double, double> Kinds() => new()
    {
        { ActivationKind.Sigmoid, 0, 0 }, { ActivationKind.Tanh, 0, 0 }, { ActivationKind.Relu, 0, 0 },
        { ActivationKind.HardSigmoid, 0.2, 0.5 }, { ActivationKind.HardSigmoid, 1.0 / 6, 0.5 }, { ActivationKind.LeakyRelu, 0.01, 0 },
        { ActivationKind.Softsign, 0, 0 }, { ActivationKind.ScaledTanh, 1.7, 0.6 }, { ActivationKind.Affine, 0.5, 0.3 }, { ActivationKind.Elu, 1.3, 0 },
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void DerivativeFromOutputMatchesCentralDifference(ActivationKind kind, double alpha, double beta)
    {
        var f = new Activation(kind, alpha, beta);
        for (double x = -4.05; x < 4; x += 0.1)  // stays clear of every kink (0, ±2.5, ±3)
        {
            double h = 1e-6;
            double[] points = [x + h, x - h, x];
            f.Apply<double>(points);
            double numeric = (points[0] - points[1]) / (2 * h);
            double[] gradient = [1.0];
            f.MultiplyByDerivative<double>(new[] { points[2] }, gradient);
            Assert.True(Math.Abs(gradient[0] - numeric) < 1e-7 * Math.Max(1, Math.Abs(numeric)), $"{f} at x = {x}: derivative {gradient[0]}, numeric {numeric}");
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void VectorisedPathsMatchTheirScalarTwins(ActivationKind kind, double alpha, double beta)
    {
        var f = new Activation(kind, alpha, beta);
        var random = new Random(23);
        for (int length = 0; length <= 64; length++)
        {
            float[] x = [.. Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 16 - 8))];
            float[] fast = (float[])x.Clone(), slow = (float[])x.Clone();
            f.Apply<float>(fast);
            f.ApplyScalar<float>(slow);
            TensorAssert.Close($"{f} values, length {length}", slow, fast, 2e-6, 2e-7);
            double[] xd = [.. x.Select(v => (double)v)];
            double[] fastD = (double[])xd.Clone(), slowD = (double[])xd.Clone();
            f.Apply<double>(fastD);
            f.ApplyScalar<double>(slowD);
            TensorAssert.Close($"{f} values (double), length {length}", slowD, fastD, 1e-14, 1e-15);

            float[] gradient = [.. Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1))];
            float[] gFast = (float[])gradient.Clone(), gSlow = (float[])gradient.Clone();
            f.MultiplyByDerivative<float>(slow, gFast);
            f.MultiplyByDerivativeScalar<float>(slow, gSlow);
            TensorAssert.Close($"{f} derivative, length {length}", gSlow, gFast, 1e-6, 1e-7);
        }
    }

    [Fact]
    public void ValuesMatchTheirDefinitions()
    {
        double[] x = [-2, -0.5, 0, 0.5, 3];
        Expect(Activation.Sigmoid, x, v => 1 / (1 + Math.Exp(-v)));
        Expect(Activation.Tanh, x, Math.Tanh);
        Expect(Activation.Relu, x, v => Math.Max(0, v));
        Expect(Activation.HardSigmoid, x, v => Math.Clamp(0.2 * v + 0.5, 0, 1));
        Expect(new Activation(ActivationKind.Softsign), x, v => v / (1 + Math.Abs(v)));
        Expect(new Activation(ActivationKind.Elu, 1), x, v => v > 0 ? v : Math.Exp(v) - 1);
    }

    [Fact]
    public void SymmetryAboutOneHalfDecidesConvertibility()
    {
        Assert.True(Activation.Sigmoid.IsPointSymmetricAboutHalf);
        Assert.True(Activation.HardSigmoid.IsPointSymmetricAboutHalf);
        Assert.False(Activation.HardSigmoidWith(0.2, 0.6).IsPointSymmetricAboutHalf);
        Assert.False(Activation.Tanh.IsPointSymmetricAboutHalf);
        double[] x = [-7, -2.4, -0.3, 0, 0.8, 2.6, 9];
        foreach (var f in new[] { Activation.Sigmoid, Activation.HardSigmoid, Activation.HardSigmoidWith(1.0 / 6, 0.5) })
        {
            double[] plus = (double[])x.Clone(), minus = x.Select(v => -v).ToArray();
            f.Apply<double>(plus);
            f.Apply<double>(minus);
            for (int i = 0; i < x.Length; i++) Assert.Equal(1 - plus[i], minus[i], 1e-15);
        }
    }

    private static void Expect(Activation f, double[] x, Func<double, double> formula)
    {
        double[] y = (double[])x.Clone();
        f.Apply<double>(y);
        for (int i = 0; i < x.Length; i++) Assert.Equal(formula(x[i]), y[i], 1e-15);
    }
}
