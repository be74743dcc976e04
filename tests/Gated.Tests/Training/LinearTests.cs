using Gated.Layers;

namespace Gated.Tests.Training;

/// <summary>The dense output head (<see cref="Linear{T}"/>), checked against a naive loop and finite differences.</summary>
public sealed class LinearTests
{
    [Fact]
    public void ForwardIsWxPlusB()
    {
        var layer = new Linear<double>(5, 3, seed: 4);
        var x = Random(new Random(1), 4, 5);
        var y = layer.Forward(x);
        Assert.True(y.HasShape(4, 3));
        var w = layer.Parameters.Value("weight").ToArray();
        var b = layer.Parameters.Value("bias").ToArray();
        for (int n = 0; n < 4; n++)
            for (int o = 0; o < 3; o++)
            {
                double expected = b[o];
                for (int i = 0; i < 5; i++) expected += w[o * 5 + i] * x[n, i];
                Assert.Equal(expected, y[n, o], 1e-12);
            }
    }

    [Fact]
    public void BackwardMatchesFiniteDifferences()
    {
        // L = Σ y ⊙ R for a fixed random R, so ∂L/∂y = R.
        var random = new Random(2);
        var layer = new Linear<double>(6, 4, seed: 5);
        var x = Random(random, 2, 3, 6);
        var r = Random(random, 2, 3, 4);
        double Loss()
        {
            var y = layer.Forward(x);
            double s = 0;
            for (int i = 0; i < y.Length; i++) s += y.Data[i] * r.Data[i];
            return s;
        }
        Loss();
        layer.Parameters.Gradients[0] = 0.5; // Backward must add to, not overwrite, the gradients.
        var dx = layer.Backward(r);
        layer.Parameters.Gradients[0] -= 0.5;
        Assert.True(dx.HasShape(2, 3, 6));
        const double h = 1e-6;
        for (int p = 0; p < layer.Parameters.Count; p++)
        {
            double keep = layer.Parameters.Values[p];
            layer.Parameters.Values[p] = keep + h; double plus = Loss();
            layer.Parameters.Values[p] = keep - h; double minus = Loss();
            layer.Parameters.Values[p] = keep;
            Assert.Equal((plus - minus) / (2 * h), layer.Parameters.Gradients[p], 1e-7);
        }
        for (int i = 0; i < x.Length; i++)
        {
            double keep = x.Data[i];
            x.Data[i] = keep + h; double plus = Loss();
            x.Data[i] = keep - h; double minus = Loss();
            x.Data[i] = keep;
            Assert.Equal((plus - minus) / (2 * h), dx.Data[i], 1e-7);
        }
    }

    [Fact]
    public void InitialisationIsUniformWithinOneOverSqrtFanIn()
    {
        var layer = new Linear<float>(100, 50, seed: 1);
        Assert.Equal(["weight", "bias"], layer.Parameters.Parameters.Select(p => p.Name));
        Assert.Equal([50, 100], layer.Parameters.Info("weight").Shape);
        float bound = 1 / MathF.Sqrt(100);
        Assert.All(layer.Parameters.Values, v => Assert.InRange(v, -bound, bound));
        Assert.True(layer.Parameters.Values.Max() > 0.9f * bound);
        Assert.True(layer.Parameters.Values.Min() < -0.9f * bound);
        Assert.Equal(layer.Parameters.Values, new Linear<float>(100, 50, seed: 1).Parameters.Values);
    }

    [Fact]
    public void ShapesAreChecked()
    {
        var layer = new Linear<float>(3, 2, seed: 1);
        Assert.Throws<InvalidOperationException>(() => layer.Backward(new Tensor<float>(1, 2)));
        Assert.Throws<ArgumentException>(() => layer.Forward(new Tensor<float>(4, 5)));
        layer.Forward(new Tensor<float>(4, 3));
        Assert.Throws<ArgumentException>(() => layer.Backward(new Tensor<float>(3, 2)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Linear<float>(0, 2));
    }

    private static Tensor<double> Random(Random random, params int[] shape)
    {
        var t = new Tensor<double>(shape);
        for (int i = 0; i < t.Length; i++) t.Data[i] = random.NextDouble() * 2 - 1;
        return t;
    }
}
