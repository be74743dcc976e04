using System.Numerics;
using Gated.Kernels;

namespace Gated.Tests.Kernels;

/// <summary>The vectorised <see cref="Gemm"/> against its scalar twin <see cref="ScalarGemm"/>, for every transpose case and sizes 0 to 2·(vector width)+1 in each dimension, with strides wider than the rows.</summary>
public sealed class GemmTests
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void MatchesScalarTwinFloat(bool transA, bool transB) => Sweep<float>(transA, transB, 1e-5);

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void MatchesScalarTwinDouble(bool transA, bool transB) => Sweep<double>(transA, transB, 1e-13);

    [Fact]
    public void FourDotProductsAtOnceGiveTheBitsOfOneAtATime()
    {
        Check<float>(1e-5);
        Check<double>(1e-13);

        static void Check<T>(double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var random = new Random(21);
            for (int k = 0; k <= 4 * Vector<T>.Count + 3; k++)
            {
                T[] x = Fill<T>(random, k), y0 = Fill<T>(random, k), y1 = Fill<T>(random, k), y2 = Fill<T>(random, k), y3 = Fill<T>(random, k);
                var (d0, d1, d2, d3) = Gemm.Dot4<T>(x, y0, y1, y2, y3);
                T[][] ys = [y0, y1, y2, y3];
                T[] fours = [d0, d1, d2, d3];
                for (int r = 0; r < 4; r++)
                {
                    Assert.Equal(Gemm.Dot<T>(x, ys[r]), fours[r]);
                    T scalar = T.Zero;
                    for (int i = 0; i < k; i++) scalar += x[i] * ys[r][i];
                    Assert.True(double.Abs(double.CreateTruncating(scalar - fours[r])) <= tolerance * (k + 1), $"{typeof(T).Name} k={k} row {r}");
                }
            }
        }
    }

    private static void Sweep<T>(bool transA, bool transB, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(11);
        int max = 2 * Vector<T>.Count + 1;
        int[] sizes = [0, 1, 2, 3, Vector<T>.Count - 1, Vector<T>.Count, Vector<T>.Count + 1, max];
        foreach (int m in sizes.Where(s => s >= 0).Distinct())
        foreach (int n in sizes.Where(s => s >= 0).Distinct())
        foreach (int k in sizes.Where(s => s >= 0).Distinct())
        foreach (bool accumulate in new[] { false, true })
        {
            int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
            int lda = aCols + 2, ldb = bCols + 1, ldc = n + 3;
            T[] a = Fill<T>(random, Math.Max(1, aRows * lda)), b = Fill<T>(random, Math.Max(1, bRows * ldb));
            T[] c = Fill<T>(random, Math.Max(1, m * ldc)), expected = (T[])c.Clone();
            Gemm.Multiply(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
            ScalarGemm.Multiply(transA, transB, m, n, k, a, lda, b, ldb, expected, ldc, accumulate);
            // Scale the tolerance by the size of the sum: k products of values in [−1, 1].
            TensorAssert.Close($"C (m={m}, n={n}, k={k}, accumulate={accumulate})", expected, c, tolerance, tolerance * (k + 1));
        }
    }

    private static T[] Fill<T>(Random random, int length) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var data = new T[length];
        for (int i = 0; i < length; i++) data[i] = T.CreateChecked(random.NextDouble() * 2 - 1);
        return data;
    }
}
