using Gated.Kernels;

namespace Gated.Tests.Kernels;

/// <summary>The vectorised loops of clipping and RMSProp against their scalar twins, lengths 0 to 100.</summary>
public sealed class OptimizerKernelsTests
{
    [Fact]
    public void SumOfSquaresMatchesItsScalarTwin()
    {
        var random = new Random(3);
        for (int n = 0; n <= 100; n++)
        {
            float[] floats = [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 4 - 2))];
            double[] doubles = [.. floats.Select(v => (double)v * 1.5)];
            double expectedFloat = OptimizerKernels.SumOfSquaresScalar<float>(floats);
            double expectedDouble = OptimizerKernels.SumOfSquaresScalar<double>(doubles);
            // Another summation order: equal to the last bits of a double sum of n terms.
            Assert.Equal(expectedFloat, OptimizerKernels.SumOfSquares<float>(floats), 1e-13 * Math.Max(1, expectedFloat));
            Assert.Equal(expectedDouble, OptimizerKernels.SumOfSquares<double>(doubles), 1e-13 * Math.Max(1, expectedDouble));
        }
        // The sum of squares of exact small integers is exact in any order.
        float[] integers = [.. Enumerable.Range(0, 77).Select(i => (float)(i % 9 - 4))];
        Assert.Equal(OptimizerKernels.SumOfSquaresScalar<float>(integers), OptimizerKernels.SumOfSquares<float>(integers));
    }

    [Fact]
    public void RmsPropMatchesItsScalarTwinBitForBit()
    {
        Check<float>();
        Check<double>();

        static void Check<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            var random = new Random(5);
            T alpha = T.CreateChecked(0.99), oneMinusAlpha = T.CreateChecked(1 - 0.99), lr = T.CreateChecked(1e-3), eps = T.CreateChecked(1e-8);
            for (int n = 0; n <= 100; n++)
            {
                T[] Next(double lo, double hi) => [.. Enumerable.Range(0, n).Select(_ => T.CreateChecked(lo + random.NextDouble() * (hi - lo)))];
                T[] values = Next(-1, 1), gradients = Next(-0.5, 0.5), squareAverage = Next(0, 0.1);
                T[] values2 = [.. values], squareAverage2 = [.. squareAverage];
                OptimizerKernels.RmsProp<T>(values, gradients, squareAverage, alpha, oneMinusAlpha, lr, eps);
                OptimizerKernels.RmsPropScalar<T>(values2, gradients, squareAverage2, alpha, oneMinusAlpha, lr, eps);
                Assert.True(values.AsSpan().SequenceEqual(values2), $"{typeof(T).Name} values, length {n}");
                Assert.True(squareAverage.AsSpan().SequenceEqual(squareAverage2), $"{typeof(T).Name} square averages, length {n}");
            }
        }
    }
}
