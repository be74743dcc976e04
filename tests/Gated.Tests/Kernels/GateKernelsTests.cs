using Gated.Kernels;

namespace Gated.Tests.Kernels;

/// <summary>The fused gate kernels against their scalar twins, every length from 0 to 64.</summary>
public sealed class GateKernelsTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void InterpolationBackwardMatchesItsScalarTwin(bool keepPrevious)
    {
        var random = new Random(8);
        for (int n = 0; n <= 64; n++)
        {
            float[] Next() => [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1))];
            float[] dh = Next(), z = Next(), hPrev = Next(), candidate = Next();
            float[] dc1 = new float[n], dz1 = new float[n], dp1 = new float[n], dc2 = new float[n], dz2 = new float[n], dp2 = new float[n];
            GateKernels.InterpolationBackward<float>(keepPrevious, dh, z, hPrev, candidate, dc1, dz1, dp1);
            GateKernels.InterpolationBackwardScalar<float>(keepPrevious, dh, z, hPrev, candidate, dc2, dz2, dp2);
            // Same operations in the same order: the same bits.
            Assert.True(dc1.AsSpan().SequenceEqual(dc2) && dz1.AsSpan().SequenceEqual(dz2) && dp1.AsSpan().SequenceEqual(dp2), $"length {n}");
        }
    }
}
