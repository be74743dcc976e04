using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Gated.Kernels;

/// <summary>
/// General matrix multiply on row-major data, BLAS-style:
/// C = op(A)·op(B), or C += op(A)·op(B) when <c>accumulate</c> is set, where op(X) is X or Xᵀ.
/// </summary>
/// <remarks>
/// Shapes: op(A) is m×k, op(B) is k×n, C is m×n. <c>lda</c>, <c>ldb</c>, <c>ldc</c> are the row
/// strides (elements between the starts of consecutive rows) of A, B and C as stored, so a
/// column block of a wider matrix (one gate's rows of a stacked weight, say) is passed by offset and
/// stride without copying.
/// The three shapes a recurrent layer uses are vectorised with <see cref="Vector{T}"/>:
/// <list type="bullet">
/// <item>NN (C += A·B): row update C[i,:] += A[i,p]·B[p,:], vectors along n.</item>
/// <item>NT (C += A·Bᵀ): dot products of rows of A and rows of B, vectors along k, four rows of B at a time.</item>
/// <item>TN (C += Aᵀ·B): outer-product updates C[i,:] += A[p,i]·B[p,:], vectors along n.</item>
/// </list>
/// TT and any tail shorter than a vector go to <see cref="ScalarGemm"/>, the reference this kernel
/// is tested against. Arguments are checked once with <see cref="Debug.Assert(bool)"/>; callers at
/// the public boundary validate shapes.
/// </remarks>
internal static class Gemm
{
    public static void Multiply<T>(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(m >= 0 && n >= 0 && k >= 0);
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            if (!accumulate) ClearRows(c, m, n, ldc);
            return;
        }
        if (UsePacked<T>(m, n, k))
        {
            unsafe
            {
                fixed (T* pa = a)
                fixed (T* pb = b)
                fixed (T* pc = c)
                    PackedGemm.Multiply(transA, transB, m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate);
            }
            return;
        }
        if (!Vector.IsHardwareAccelerated || Vector<T>.Count == 1)
        {
            ScalarGemm.Multiply(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
            return;
        }
        switch ((transA, transB))
        {
            case (false, false): MultiplyNN(m, n, k, a, lda, b, ldb, c, ldc, accumulate); break;
            case (false, true):
                if ((long)m * n * k >= ParallelDotThreshold && ComputeThreads.AvailableHere > 1 && n >= 2 * ComputeThreads.AvailableHere)
                {
                    unsafe
                    {
                        fixed (T* pa = a)
                        fixed (T* pb = b)
                        fixed (T* pc = c)
                            DotJob<T>.Run(m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate);
                    }
                }
                else
                {
                    MultiplyNT(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
                }
                break;
            case (true, false): MultiplyTN(m, n, k, a, lda, b, ldb, c, ldc, accumulate); break;
            default: ScalarGemm.Multiply(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate); break;
        }
    }

    /// <summary>
    /// C (=|+=) op(A)·B with B already packed (k × n): the recurrent product of every time step reuses
    /// weights packed once per pass. Call it only where <see cref="UsePackedWeights{T}"/> holds.
    /// </summary>
    public static void MultiplyPacked<T>(bool transA, int m, ReadOnlySpan<T> a, int lda, PackedMatrix<T> packedB, Span<T> c, int ldc, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = packedB.Columns, k = packedB.Depth;
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            if (!accumulate) ClearRows(c, m, n, ldc);
            return;
        }
        unsafe
        {
            fixed (T* pa = a)
            fixed (T* pc = c)
                PackedGemm.Multiply(transA, m, pa, lda, packedB, pc, ldc, accumulate);
        }
    }

    /// <summary>
    /// Whether a product of this shape goes to the packed kernel: it needs 256-bit FMA, and enough rows
    /// to fill part of a micro-tile (a single row is a matrix-vector product, faster unpacked).
    /// </summary>
    public static bool UsePacked<T>(int m, int n, int k) where T : unmanaged, IFloatingPointIeee754<T> =>
        PackedKernelEnabled && PackedGemm.IsSupported && (typeof(T) == typeof(float) || typeof(T) == typeof(double))
        && m >= PackedMinimumRows && (long)m * n * k >= PackedMinimumWork;

    /// <summary>
    /// Whether a recurrent product of <paramref name="m"/> live rows against weights packed once per pass goes
    /// to the packed kernels: as <see cref="UsePacked{T}"/>, and also for 1 to 3 rows (a batch of one sequence)
    /// when the weights hold at least <see cref="RowKernelMinimumWeights"/> values: those rows go through the
    /// one-row kernel on the pack (<see cref="PackedGemm.MultiplyRowPacked{T}"/>), which reads the weights
    /// contiguously and gives a row the same bits as the micro-kernels.
    /// </summary>
    public static bool UsePackedWeights<T>(int m, int n, int k) where T : unmanaged, IFloatingPointIeee754<T> =>
        UsePacked<T>(m, n, k)
        || (PackedKernelEnabled && PackedGemm.IsSupported && (typeof(T) == typeof(float) || typeof(T) == typeof(double))
            && m >= 1 && m < PackedGemm.RowKernelMaximumRows && (long)n * k >= RowKernelMinimumWeights);

    /// <summary>The fewest weights (n · k) for which a product of 1 to 3 rows is worth packing the weights once per pass.</summary>
    internal const long RowKernelMinimumWeights = 1024;

    /// <summary>Tests turn the packed kernel off to compare a layer's results with and without it.</summary>
    internal static bool PackedKernelEnabled = true;

    private const int PackedMinimumRows = 4;
    private const long PackedMinimumWork = 4096;

    private static void ClearRows<T>(Span<T> c, int m, int n, int ldc)
    {
        for (int i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
    }

    // C[i,:] (+)= Σ_p A[i,p] · B[p,:]
    private static void MultiplyNN<T>(int m, int n, int k, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int width = Vector<T>.Count;
        int vectorEnd = n - n % width;
        ref T bRef = ref MemoryMarshal.GetReference(b);
        for (int i = 0; i < m; i++)
        {
            Span<T> cRow = c.Slice(i * ldc, n);
            if (!accumulate) cRow.Clear();
            ref T cRef = ref MemoryMarshal.GetReference(cRow);
            ReadOnlySpan<T> aRow = a.Slice(i * lda, k);
            for (int p = 0; p < k; p++)
            {
                T aip = aRow[p];
                var av = new Vector<T>(aip);
                nuint bRow = (nuint)(p * ldb);
                int j = 0;
                for (; j < vectorEnd; j += width)
                {
                    ref T cj = ref Unsafe.Add(ref cRef, j);
                    Vector.StoreUnsafe(Vector.LoadUnsafe(ref cj) + av * Vector.LoadUnsafe(ref bRef, bRow + (nuint)j), ref cj);
                }
                for (; j < n; j++) Unsafe.Add(ref cRef, j) += aip * Unsafe.Add(ref bRef, (int)bRow + j);
            }
        }
    }

    // A matrix-vector product (a streaming step, one row of A) is split over threads from this many
    // multiply-adds: the weights then come from two L2 caches instead of one.
    private const long ParallelDotThreshold = 1 << 15;

    /// <summary>The NT product as dot products, its output columns split over threads (each column computed whole by one thread).</summary>
    private sealed unsafe class DotJob<T> : IParallelJob where T : unmanaged, IFloatingPointIeee754<T>
    {
        [ThreadStatic] private static DotJob<T>? forThisThread;

        private int m, n, k, lda, ldb, ldc;
        private T* a, b, c;
        private bool accumulate;

        public static void Run(int m, int n, int k, T* a, int lda, T* b, int ldb, T* c, int ldc, bool accumulate)
        {
            var job = forThisThread ??= new DotJob<T>();
            job.m = m; job.n = n; job.k = k; job.lda = lda; job.ldb = ldb; job.ldc = ldc;
            job.a = a; job.b = b; job.c = c; job.accumulate = accumulate;
            WorkerPool.Run(job, Math.Min(ComputeThreads.AvailableHere, n), (long)m * n * k);
            job.a = job.b = job.c = null;
        }

        public void Execute(int part, int parts)
        {
            int start = (int)((long)n * part / parts), end = (int)((long)n * (part + 1) / parts);
            var bAll = new ReadOnlySpan<T>(b, (int)((long)(n - 1) * ldb + k));
            for (int i = 0; i < m; i++)
                DotRows(new ReadOnlySpan<T>(a + (long)i * lda, k), bAll, ldb, start, end, new Span<T>(c + (long)i * ldc, n), accumulate);
        }
    }

    // C[i,j] (+)= Σ_p A[i,p] · B[j,p]
    private static void MultiplyNT<T>(int m, int n, int k, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
            DotRows(a.Slice(i * lda, k), b, ldb, 0, n, c.Slice(i * ldc, n), accumulate);
    }

    /// <summary>
    /// c[j] (=|+=) x · B[j, :] for j in [start, end), B's rows k long at stride ldb: four rows of B at a time
    /// (<see cref="Dot4{T}"/>: four independent sums, x read once), the rest one at a time (<see cref="Dot{T}"/>);
    /// both give a row the same bits, so any split of [0, n) gives the same results.
    /// </summary>
    private static void DotRows<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> b, int ldb, int start, int end, Span<T> c, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int groupsEnd = start + (end - start) / 4 * 4;
        // Every other sweep over B on this thread runs backwards (the last rows of B first): a streaming step
        // reads the same weights each call, cyclically, and when they are larger than L2 a cyclic sweep misses
        // on every line; turning round at the end starts the next sweep on the lines read last, still in L2.
        // The order of rows does not change any row's result.
        bool backwards = (++sweeps & 1) == 0;
        if (backwards)
        {
            for (int j = end - 1; j >= groupsEnd; j--) DotRow(x, b, ldb, j, c, accumulate);
            for (int j = groupsEnd - 4; j >= start; j -= 4) DotGroup(x, b, ldb, j, c, accumulate);
        }
        else
        {
            for (int j = start; j < groupsEnd; j += 4) DotGroup(x, b, ldb, j, c, accumulate);
            for (int j = groupsEnd; j < end; j++) DotRow(x, b, ldb, j, c, accumulate);
        }
    }

    [ThreadStatic] private static int sweeps;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotGroup<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> b, int ldb, int j, Span<T> c, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = x.Length;
        var (d0, d1, d2, d3) = Dot4(x, b.Slice(j * ldb, k), b.Slice((j + 1) * ldb, k), b.Slice((j + 2) * ldb, k), b.Slice((j + 3) * ldb, k));
        if (accumulate) { c[j] += d0; c[j + 1] += d1; c[j + 2] += d2; c[j + 3] += d3; }
        else { c[j] = d0; c[j + 1] = d1; c[j + 2] = d2; c[j + 3] = d3; }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotRow<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> b, int ldb, int j, Span<T> c, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T dot = Dot(x, b.Slice(j * ldb, x.Length));
        c[j] = accumulate ? c[j] + dot : dot;
    }

    // C[i,:] (+)= Σ_p A[p,i] · B[p,:]
    private static void MultiplyTN<T>(int m, int n, int k, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!accumulate) ClearRows(c, m, n, ldc);
        int width = Vector<T>.Count;
        int vectorEnd = n - n % width;
        for (int p = 0; p < k; p++)
        {
            ReadOnlySpan<T> aRow = a.Slice(p * lda, m);
            ref T bRef = ref MemoryMarshal.GetReference(b.Slice(p * ldb, n));
            for (int i = 0; i < m; i++)
            {
                T api = aRow[i];
                var av = new Vector<T>(api);
                ref T cRef = ref MemoryMarshal.GetReference(c.Slice(i * ldc, n));
                int j = 0;
                for (; j < vectorEnd; j += width)
                {
                    ref T cj = ref Unsafe.Add(ref cRef, j);
                    Vector.StoreUnsafe(Vector.LoadUnsafe(ref cj) + av * Vector.LoadUnsafe(ref bRef, (nuint)j), ref cj);
                }
                for (; j < n; j++) Unsafe.Add(ref cRef, j) += api * Unsafe.Add(ref bRef, j);
            }
        }
    }

    /// <summary>
    /// Σ x[i]·y[i]: one <see cref="Vector{T}"/> accumulator over the whole vectors (a multiply, then an add),
    /// its lanes summed by <see cref="Vector.Sum{T}(Vector{T})"/>, then the tail added in scalar code in
    /// element order. <see cref="Dot4{T}"/> does exactly this for four y at once.
    /// </summary>
    public static T Dot<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(x.Length == y.Length);
        int width = Vector<T>.Count;
        int vectorEnd = x.Length - x.Length % width;
        ref T xRef = ref MemoryMarshal.GetReference(x);
        ref T yRef = ref MemoryMarshal.GetReference(y);
        var acc = Vector<T>.Zero;
        int i = 0;
        for (; i < vectorEnd; i += width)
            acc += Vector.LoadUnsafe(ref xRef, (nuint)i) * Vector.LoadUnsafe(ref yRef, (nuint)i);
        T sum = Vector.Sum(acc);
        for (; i < x.Length; i++) sum += Unsafe.Add(ref xRef, i) * Unsafe.Add(ref yRef, i);
        return sum;
    }

    /// <summary>
    /// Four dot products x·y0 … x·y3 at once, each with the operations of <see cref="Dot{T}"/> (so the same
    /// bits): four independent accumulators hide the add latency that bounds a single dot product, and each
    /// vector of x is loaded once for the four.
    /// </summary>
    public static (T, T, T, T) Dot4<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y0, ReadOnlySpan<T> y1, ReadOnlySpan<T> y2, ReadOnlySpan<T> y3)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = x.Length;
        Debug.Assert(y0.Length == k && y1.Length == k && y2.Length == k && y3.Length == k);
        int width = Vector<T>.Count;
        int vectorEnd = k - k % width;
        ref T xRef = ref MemoryMarshal.GetReference(x);
        ref T r0 = ref MemoryMarshal.GetReference(y0);
        ref T r1 = ref MemoryMarshal.GetReference(y1);
        ref T r2 = ref MemoryMarshal.GetReference(y2);
        ref T r3 = ref MemoryMarshal.GetReference(y3);
        Vector<T> a0 = Vector<T>.Zero, a1 = Vector<T>.Zero, a2 = Vector<T>.Zero, a3 = Vector<T>.Zero;
        int i = 0;
        for (; i < vectorEnd; i += width)
        {
            var xv = Vector.LoadUnsafe(ref xRef, (nuint)i);
            a0 += xv * Vector.LoadUnsafe(ref r0, (nuint)i);
            a1 += xv * Vector.LoadUnsafe(ref r1, (nuint)i);
            a2 += xv * Vector.LoadUnsafe(ref r2, (nuint)i);
            a3 += xv * Vector.LoadUnsafe(ref r3, (nuint)i);
        }
        T s0 = Vector.Sum(a0), s1 = Vector.Sum(a1), s2 = Vector.Sum(a2), s3 = Vector.Sum(a3);
        for (; i < k; i++)
        {
            T xi = Unsafe.Add(ref xRef, i);
            s0 += xi * Unsafe.Add(ref r0, i);
            s1 += xi * Unsafe.Add(ref r1, i);
            s2 += xi * Unsafe.Add(ref r2, i);
            s3 += xi * Unsafe.Add(ref r3, i);
        }
        return (s0, s1, s2, s3);
    }
}

/// <summary>
/// The plain triple-loop matrix multiply: the algorithmic reference that <see cref="Gemm"/> is
/// checked against, and its fall-back for shapes it does not vectorise. Same contract as
/// <see cref="Gemm.Multiply{T}"/>.
/// </summary>
internal static class ScalarGemm
{
    public static void Multiply<T>(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                T sum = T.Zero;
                for (int p = 0; p < k; p++)
                {
                    T aip = transA ? a[p * lda + i] : a[i * lda + p];
                    T bpj = transB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += aip * bpj;
                }
                ref T cij = ref c[i * ldc + j];
                cij = accumulate ? cij + sum : sum;
            }
        }
    }
}
