using System.Numerics;
using Gated.Kernels;

namespace Gated.Tests.Kernels;

/// <summary>
/// The packed, cache-blocked GEMM against <see cref="ScalarGemm"/> at the sizes where its blocking
/// changes (micro-tile MR × NR, row block MC, depth block KC, plus and minus one), with B packed once
/// and reused, and with 1, 2 and 3 threads giving the same bits.
/// </summary>
[Collection(ComputeThreadsCollection.Name)]
public sealed class PackedGemmTests
{
    private static readonly int[] RowSizes = [4, 5, 6, 7, 8, 13, 14, 32, PackedGemm.RowBlock - 1, PackedGemm.RowBlock, PackedGemm.RowBlock + 1, 2 * PackedGemm.RowBlock + 7];
    private static readonly int[] ColumnSizes = [1, 7, 8, 9, 15, 16, 17, 33, 100];
    private static readonly int[] DepthSizes = [1, 2, 46, PackedGemm.DepthBlock - 1, PackedGemm.DepthBlock, PackedGemm.DepthBlock + 1, 2 * PackedGemm.DepthBlock + 3];

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
    public void PrepackedOperandGivesTheSameBitsAsPackingOnTheFly()
    {
        if (!PackedGemm.IsSupported) return; // the kernel tests without AVX2 cover the fall-back
        var random = new Random(5);
        foreach (bool transB in new[] { false, true })
        foreach (int m in new[] { 4, 32, 64 })
        foreach (int n in new[] { 17, 138, 768 })
        foreach (int k in new[] { 46, 256, 300 })
        {
            if (!Gemm.UsePacked<float>(m, n, k)) continue; // small products stay unpacked, with their own rounding
            int bRows = transB ? n : k, bCols = transB ? k : n;
            float[] a = Fill<float>(random, m * k), b = Fill<float>(random, bRows * bCols);
            float[] c0 = Fill<float>(random, m * n), c1 = (float[])c0.Clone();
            Gemm.Multiply(false, transB, m, n, k, a, k, b, bCols, c0, n, accumulate: true);
            var packed = new PackedMatrix<float>();
            packed.Pack(transB, k, n, b, bCols);
            Gemm.MultiplyPacked(false, m, a, k, packed, c1, n, accumulate: true);
            Assert.True(c0.AsSpan().SequenceEqual(c1), $"m={m} n={n} k={k} transB={transB}");
        }
    }

    [Fact]
    public void OneRowKernelMatchesTheScalarTwinAndTheMicroKernelsBits()
    {
        if (!PackedGemm.IsSupported) return; // the kernel tests without AVX2 cover the fall-back
        var random = new Random(12);
        foreach (int n in new[] { 1, 15, 16, 17, 46, 63, 64, 65, 138, 200 })
        foreach (int k in new[] { 1, 7, 46, PackedGemm.DepthBlock, PackedGemm.DepthBlock + 1, 2 * PackedGemm.DepthBlock + 3 })
        foreach (bool accumulate in new[] { false, true })
        {
            CheckRows<float>(random, n, k, accumulate, 1e-5);
            CheckRows<double>(random, n, k, accumulate, 1e-13);
        }
    }

    /// <summary>
    /// Six rows through the micro-kernel (one MultiplyPacked call) against the same rows one, two and three
    /// at a time (the one-row kernel): identical bits; and the rows against <see cref="ScalarGemm"/>.
    /// </summary>
    private static void CheckRows<T>(Random random, int n, int k, bool accumulate, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int m = 6;
        T[] a = Fill<T>(random, m * k), b = Fill<T>(random, k * n), c0 = Fill<T>(random, m * n);
        var packed = new PackedMatrix<T>();
        packed.Pack(false, k, n, b, n);
        T[] tile = (T[])c0.Clone();
        Gemm.MultiplyPacked(false, m, a, k, packed, tile, n, accumulate);
        foreach (int rowsPerCall in new[] { 1, 2, 3 })
        {
            T[] rows = (T[])c0.Clone();
            for (int i = 0; i < m; i += rowsPerCall)
            {
                int count = Math.Min(rowsPerCall, m - i);
                Gemm.MultiplyPacked(false, count, a.AsSpan(i * k), k, packed, rows.AsSpan(i * n), n, accumulate);
            }
            Assert.True(tile.AsSpan().SequenceEqual(rows), $"{typeof(T).Name} n={n} k={k} accumulate={accumulate}: {rowsPerCall} row(s) per call differ from the 6-row tile");
        }
        T[] expected = (T[])c0.Clone();
        ScalarGemm.Multiply(false, false, m, n, k, a, k, b, n, expected, n, accumulate);
        for (int i = 0; i < expected.Length; i++)
        {
            double e = double.CreateTruncating(expected[i]), actual = double.CreateTruncating(tile[i]);
            Assert.True(Math.Abs(e - actual) <= tolerance * Math.Max(1, Math.Sqrt(k)), $"{typeof(T).Name} n={n} k={k}: element {i} is {actual}, the scalar twin {e}");
        }
    }

    /// <summary>
    /// The packing of A: float takes the vectorised copies (a 4 × 4 register transpose for rows of A, block copies
    /// for columns of Aᵀ), double the scalar loops; both must lay out the same values, padding included.
    /// </summary>
    [Fact]
    public unsafe void PackingOfAIsTheSameInTheVectorisedAndTheScalarLoops()
    {
        var random = new Random(14);
        foreach (bool transA in new[] { false, true })
        foreach (int mc in new[] { 1, 2, 5, 6, 7, 8, 12, 13, 14, PackedGemm.RowBlock - 2, PackedGemm.RowBlock })
        foreach (int kc in new[] { 1, 3, 4, 5, 46, PackedGemm.DepthBlock })
        {
            const int ic = 2, pc = 3;
            int rows = transA ? pc + kc : ic + mc, cols = transA ? ic + mc + 1 : pc + kc + 2;
            double[] source = [.. Enumerable.Range(0, rows * cols).Select(_ => random.NextDouble() * 2 - 1)];
            float[] sourceFloat = [.. source.Select(v => (float)v)];
            double[] sourceDouble = [.. sourceFloat.Select(v => (double)v)];
            int panels = (mc + PackedGemm.MicroRows - 1) / PackedGemm.MicroRows;
            var packedFloat = new float[panels * PackedGemm.MicroRows * kc];
            var packedDouble = new double[packedFloat.Length];
            Array.Fill(packedFloat, float.NaN);
            Array.Fill(packedDouble, double.NaN);
            fixed (float* a = sourceFloat, target = packedFloat)
                PackedGemm.PackA(transA, mc, kc, a, cols, ic, pc, target);
            fixed (double* a = sourceDouble, target = packedDouble)
                PackedGemm.PackA(transA, mc, kc, a, cols, ic, pc, target);
            for (int i = 0; i < packedFloat.Length; i++)
                Assert.True(BitConverter.DoubleToInt64Bits(packedDouble[i]) == BitConverter.DoubleToInt64Bits((double)packedFloat[i]),
                    $"transA={transA} mc={mc} kc={kc}: packed value {i} is {packedFloat[i]} for float, {packedDouble[i]} for double");
        }
    }

    /// <summary>
    /// The packing of B against its definition, target[panel · kc · NR + p · NR + jj] = op(B)[pc + p,
    /// columnStart + panel · NR + jj] and zero past columnEnd: float takes the vectorised copies (an 8 × 8
    /// register transpose for Bᵀ, vector copies for B) on whole panels and the scalar loops on edge panels.
    /// </summary>
    [Fact]
    public unsafe void PackingOfBLaysOutOpBByItsDefinition()
    {
        var random = new Random(15);
        int nr = PackedGemm.PanelWidth<float>();
        foreach (bool transB in new[] { false, true })
        foreach (var (columnStart, columnEnd) in new[] { (0, 16), (0, 17), (16, 48), (5, 40), (0, 1) })
        foreach (int kc in new[] { 1, 7, 8, 9, 46, PackedGemm.DepthBlock })
        {
            const int pc = 3;
            int n = columnEnd + 2;
            int rows = transB ? n : pc + kc, cols = transB ? pc + kc + 1 : n;
            float[] source = [.. Enumerable.Range(0, rows * cols).Select(_ => (float)(random.NextDouble() * 2 - 1))];
            int panels = (columnEnd - columnStart + nr - 1) / nr;
            var packed = new float[panels * nr * kc];
            Array.Fill(packed, float.NaN);
            fixed (float* b = source, target = packed)
                PackedGemm.PackB(transB, kc, columnStart, columnEnd, b, cols, pc, target);
            for (int panel = 0; panel < panels; panel++)
                for (int p = 0; p < kc; p++)
                    for (int jj = 0; jj < nr; jj++)
                    {
                        int column = columnStart + panel * nr + jj;
                        float expected = column >= columnEnd ? 0f : transB ? source[column * cols + pc + p] : source[(pc + p) * cols + column];
                        float actual = packed[(panel * kc + p) * nr + jj];
                        Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual),
                            $"transB={transB} columns [{columnStart}, {columnEnd}) kc={kc}: op(B)[{pc + p}, {column}] packed as {actual}, expected {expected}");
                    }
        }
    }

    [Fact]
    public void APackSplitOverThreadsIsTheSameAsOnOne()
    {
        var random = new Random(16);
        int saved = ComputeThreads.Count;
        try
        {
            foreach (bool transB in new[] { false, true })
            foreach (var (k, n) in new[] { (600, 700), (1024, 3072), (300, 1000) })
            {
                Assert.True((long)k * n >= PackedMatrix<float>.ParallelMinimumValues, "the pack must be large enough to split");
                float[] b = Fill<float>(random, k * n);
                float[]? first = null;
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    ComputeThreads.Count = threads;
                    var packed = new PackedMatrix<float>();
                    packed.Pack(transB, k, n, b, transB ? k : n);
                    float[] data = packed.Data[..(packed.PaddedColumns * k)];
                    if (first is null) first = data;
                    else Assert.True(first.AsSpan().SequenceEqual(data), $"{threads} threads pack differently from 1 (k={k} n={n} transB={transB})");
                }
            }
        }
        finally
        {
            ComputeThreads.Count = saved;
        }
    }

    [Fact]
    public void ResultsAreIdenticalWhateverTheThreadCount()
    {
        var random = new Random(9);
        int saved = ComputeThreads.Count;
        try
        {
            foreach (var (transA, transB, m, n, k) in new[] { (false, true, 64, 3072, 300), (true, false, 384, 128, 700), (false, false, 3000, 40, 138), (false, false, 200, 8, 512), (false, true, 1, 768, 344), (false, true, 2, 301, 200), (false, false, 12, 16, 30000), (true, false, 13, 700, 500) })
            {
                int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
                float[] a = Fill<float>(random, aRows * aCols), b = Fill<float>(random, bRows * bCols);
                float[]? first = null;
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    ComputeThreads.Count = threads;
                    var c = new float[m * n];
                    Gemm.Multiply(transA, transB, m, n, k, a, aCols, b, bCols, c, n, accumulate: false);
                    if (first is null) first = c;
                    else Assert.True(first.AsSpan().SequenceEqual(c), $"{threads} threads differ from 1 (m={m} n={n} k={k})");
                }
            }
        }
        finally
        {
            ComputeThreads.Count = saved;
        }
    }

    private static void Sweep<T>(bool transA, bool transB, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(17);
        foreach (int m in RowSizes)
        foreach (int n in ColumnSizes)
        foreach (int k in DepthSizes)
        {
            bool accumulate = (m + n + k) % 2 == 0;
            int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
            int lda = aCols + 1, ldb = bCols + 3, ldc = n + 2;
            T[] a = Fill<T>(random, aRows * lda), b = Fill<T>(random, bRows * ldb);
            T[] c = Fill<T>(random, m * ldc), expected = (T[])c.Clone();
            Gemm.Multiply(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
            ScalarGemm.Multiply(transA, transB, m, n, k, a, lda, b, ldb, expected, ldc, accumulate);
            TensorAssert.Close($"C (m={m}, n={n}, k={k}, accumulate={accumulate})", expected, c, tolerance, tolerance * (k + 1));
            // The padding between rows of C is never written.
            for (int i = 0; i < m; i++)
                for (int j = n; j < ldc && i * ldc + j < c.Length; j++)
                    Assert.Equal(expected[i * ldc + j], c[i * ldc + j]);
        }
    }

    private static T[] Fill<T>(Random random, int length) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var data = new T[Math.Max(length, 1)];
        for (int i = 0; i < data.Length; i++) data[i] = T.CreateChecked(random.NextDouble() * 2 - 1);
        return data;
    }
}

/// <summary>Tests that change <see cref="ComputeThreads.Count"/> run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ComputeThreadsCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "ComputeThreads";
}
