using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Gated.Kernels;

/// <summary>
/// The packed, cache-blocked matrix product behind <see cref="Gemm"/> for sizes where it pays:
/// C (=|+=) op(A)·op(B), row-major, with a register-tiled micro-kernel on <see cref="Vector256{T}"/>
/// fused multiply-adds.
/// </summary>
/// <remarks>
/// <para>The loop nest, outermost first (the BLIS order): depth blocks of KC = <see cref="DepthBlock"/>
/// rows of op(B); row blocks of MC = <see cref="RowBlock"/> rows of op(A), packed into micro-panels of
/// MR = <see cref="MicroRows"/> rows, MR values per depth step; panels of NR = 2·W columns of op(B)
/// (W = Vector256&lt;T&gt;.Count: NR = 16 floats or 8 doubles), each packed as KC rows of NR values;
/// micro-panels of A. The micro-kernel keeps an MR × NR tile of C in 12 vector registers:</para>
/// <code>
/// for p in 0..kc:  b0, b1 = Bpanel[p, 0..W), Bpanel[p, W..2W)
///                  for r in 0..MR:  a = broadcast(Apanel[p, r]);  c[r,0] += a·b0;  c[r,1] += a·b1
/// </code>
/// <para>then adds the tile to C (or stores it, on the first depth block of a product that does not
/// accumulate). Edge tiles are computed in full on zero-padded panels and only their valid part is
/// written; the last rows of a block may instead go to a 4-row tile on 8 registers (<see cref="TileRows"/>).
/// A B panel (KC·NR values, 16 KB of floats) stays in L1 while the A micro-panels of a row block stream
/// from L2.</para>
/// <para>Threads split the panels of op(B) or the rows of op(A), whichever repeats less packing (SplitByColumns): each output
/// element is computed by one thread, in the same order, so results do not depend on the thread count.</para>
/// </remarks>
internal static unsafe class PackedGemm
{
    /// <summary>KC: rows of op(B) (depth) per block.</summary>
    public const int DepthBlock = 256;

    /// <summary>MC: rows of op(A) packed at a time (a multiple of <see cref="MicroRows"/>).</summary>
    public const int RowBlock = 96;

    /// <summary>MR: rows of the micro-kernel's tile.</summary>
    public const int MicroRows = 6;

    // Below this many multiply-adds a product runs on one thread: a worker that went to sleep between
    // products takes up to hundreds of microseconds to wake on a virtual machine, more than splitting a
    // smaller product saves (chung-music's 2.4M-multiply-add input projection ran slower on 2 threads).
    // A time step's product of the medium workload (6.3M) is split.
    private const long ParallelThreshold = 1 << 22;

    /// <summary>True when the packed path runs here: 256-bit vectors with hardware FMA.</summary>
    public static bool IsSupported => Vector256.IsHardwareAccelerated && Fma.IsSupported;

    /// <summary>NR, the columns of the micro-kernel's tile: two vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int PanelWidth<T>() => 2 * Vector256<T>.Count;

    /// <summary>C (=|+=) op(A)·op(B), packing B as it goes.</summary>
    public static void Multiply<T>(bool transA, bool transB, int m, int n, int k, T* a, int lda, T* b, int ldb, T* c, int ldc, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var job = Job<T>.ForThisThread;
        job.Set(transA, m, n, k, a, lda, c, ldc, accumulate);
        job.SetUnpackedB(transB, b, ldb);
        Run(job, m, n, k);
    }

    /// <summary>
    /// C (=|+=) op(A)·B, with B already packed (<paramref name="packedB"/>: k × n). Fewer than
    /// <see cref="RowKernelMaximumRows"/> rows of A (not transposed) go row by row through
    /// <see cref="MultiplyRowPacked{T}"/>, which gives each row the bits the micro-kernels give it.
    /// </summary>
    public static void Multiply<T>(bool transA, int m, T* a, int lda, PackedMatrix<T> packedB, T* c, int ldc, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        fixed (T* packed = packedB.Data)
        {
            if (!transA && m < RowKernelMaximumRows)
            {
                for (int i = 0; i < m; i++)
                    MultiplyRowPacked(packedB.Depth, packedB.Columns, packedB.PaddedColumns, a + (long)i * lda, packed, c + (long)i * ldc, accumulate);
                return;
            }
            var job = Job<T>.ForThisThread;
            job.Set(transA, m, packedB.Columns, packedB.Depth, a, lda, c, ldc, accumulate);
            job.SetPackedB(packed, packedB.PaddedColumns);
            Run(job, m, packedB.Columns, packedB.Depth);
        }
    }

    private static void Run<T>(Job<T> job, int m, int n, int k) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int threads = ComputeThreads.AvailableHere;
        int parts = 1;
        if (threads > 1 && (long)m * n * k >= ParallelThreshold)
        {
            int panels = (n + PanelWidth<T>() - 1) / PanelWidth<T>();
            int microPanels = (m + MicroRows - 1) / MicroRows;
            job.SplitColumns = SplitByColumns(job.Prepacked, m, n, k, panels, microPanels, threads);
            parts = Math.Min(threads, job.SplitColumns ? panels : microPanels);
        }
        if (parts <= 1) job.Execute(0, 1);
        else WorkerPool.Run(job, parts, (long)m * n * k);
        job.Clear();
    }

    /// <summary>
    /// Whether a product split over threads is split by panels of output columns (else by micro-panels of
    /// rows). Every thread packs the operand the split does not cut, in full: columns repeat the packing of
    /// op(A) (m · k values) on each thread, rows repeat op(B)'s (k · n), unless B is packed already (then
    /// rows repeat nothing, but each thread streams all of B from memory). So a product with B to pack is
    /// split across the side that repeats the smaller pack, when that side has a part for every thread.
    /// Either split gives every output element the same sequence of operations.
    /// </summary>
    private static bool SplitByColumns(bool prepacked, int m, int n, int k, int panels, int microPanels, int threads)
    {
        // B packed already: columns whenever there are enough panels (the pack of A, a time step's few
        // rows, is cheap to repeat, and each thread then reads only its panels of B).
        if (prepacked) return panels >= 2 * threads || panels >= microPanels;
        // m·k against k·n: repeat the smaller pack.
        if (m <= n) return panels >= threads || panels >= microPanels;
        return microPanels < threads && panels >= microPanels;
    }

    /// <summary>One product's arguments, shared by the threads that compute its parts.</summary>
    private sealed class Job<T> : IParallelJob where T : unmanaged, IFloatingPointIeee754<T>
    {
        [ThreadStatic] private static Job<T>? forThisThread;
        public static Job<T> ForThisThread => forThisThread ??= new Job<T>();

        private bool transA, transB, accumulate, prepacked;
        private int m, n, k, lda, ldb, ldc, packedColumns;
        private T* a, b, c, packed;
        public bool SplitColumns;
        public bool Prepacked => prepacked;

        public void Set(bool transA, int m, int n, int k, T* a, int lda, T* c, int ldc, bool accumulate)
        {
            this.transA = transA; this.m = m; this.n = n; this.k = k; this.a = a; this.lda = lda;
            this.c = c; this.ldc = ldc; this.accumulate = accumulate;
            SplitColumns = true;
        }

        public void SetUnpackedB(bool transB, T* b, int ldb)
        {
            this.transB = transB; this.b = b; this.ldb = ldb; prepacked = false;
        }

        public void SetPackedB(T* packed, int paddedColumns)
        {
            this.packed = packed; packedColumns = paddedColumns; prepacked = true;
        }

        public void Clear() { a = b = c = packed = null; }

        public void Execute(int part, int parts)
        {
            int nr = PanelWidth<T>();
            int panels = (n + nr - 1) / nr;
            int microPanels = (m + MicroRows - 1) / MicroRows;
            int panelStart = 0, panelEnd = panels, rowStart = 0, rowEnd = m;
            if (SplitColumns)
            {
                panelStart = (int)((long)panels * part / parts);
                panelEnd = (int)((long)panels * (part + 1) / parts);
            }
            else
            {
                rowStart = (int)((long)microPanels * part / parts) * MicroRows;
                rowEnd = Math.Min(m, (int)((long)microPanels * (part + 1) / parts) * MicroRows);
            }
            if (panelStart >= panelEnd || rowStart >= rowEnd) return;
            Compute(rowStart, rowEnd, panelStart, panelEnd);
        }

        private void Compute(int rowStart, int rowEnd, int panelStart, int panelEnd)
        {
            int nr = PanelWidth<T>();
            int columnStart = panelStart * nr, columnEnd = Math.Min(n, panelEnd * nr);
            var scratch = Scratch<T>.ForThisThread;
            T* aPack = scratch.A(RowBlock * DepthBlock);
            T* bPack = prepacked ? null : scratch.B((long)(panelEnd - panelStart) * nr * DepthBlock);
            for (int pc = 0; pc < k; pc += DepthBlock)
            {
                int kc = Math.Min(DepthBlock, k - pc);
                bool overwrite = pc == 0 && !accumulate;
                T* bBlock;
                if (prepacked)
                {
                    bBlock = packed + (long)pc * packedColumns + (long)panelStart * kc * nr;
                }
                else
                {
                    PackB(transB, kc, columnStart, columnEnd, b, ldb, pc, bPack);
                    bBlock = bPack;
                }
                for (int ic = rowStart; ic < rowEnd; ic += RowBlock)
                {
                    int mc = Math.Min(RowBlock, rowEnd - ic);
                    PackA(transA, mc, kc, a, lda, ic, pc, aPack);
                    // Every other sweep over the panels runs backwards, so that it starts on the panels the
                    // last one ended with, still in cache: a recurrent layer multiplies by the same packed
                    // weights at every step, and a cyclic sweep over more than fits in L2 would miss on every
                    // line. Panels write disjoint columns of C, so their order changes no result.
                    bool backwards = (++panelSweeps & 1) == 0;
                    for (int q = 0; q < panelEnd - panelStart; q++)
                    {
                        int panel = backwards ? panelEnd - 1 - q : panelStart + q;
                        int j = panel * nr;
                        int cols = Math.Min(nr, n - j);
                        T* bPanel = bBlock + (long)(panel - panelStart) * kc * nr;
                        for (int ir = 0, rows; ir < mc; ir += rows)
                        {
                            rows = TileRows(mc - ir);
                            if (rows <= SmallTileRows)
                                MicroKernel4(kc, aPack + (long)ir * kc, bPanel, c + (long)(ic + ir) * ldc + j, ldc, rows, cols, overwrite);
                            else
                                MicroKernel(kc, aPack + (long)ir * kc, bPanel, c + (long)(ic + ir) * ldc + j, ldc, rows, cols, overwrite);
                        }
                    }
                }
            }
        }
    }

    /// <summary>Sweeps over the panels of B made on this thread (odd ones run forwards, even ones backwards).</summary>
    [ThreadStatic] private static int panelSweeps;

    /// <summary>Per-thread packing buffers, pinned, grown when a larger product arrives.</summary>
    private sealed class Scratch<T> where T : unmanaged
    {
        [ThreadStatic] private static Scratch<T>? forThisThread;
        public static Scratch<T> ForThisThread => forThisThread ??= new Scratch<T>();

        private T[] a = [], b = [];

        public T* A(long length) => Pointer(ref a, length);
        public T* B(long length) => Pointer(ref b, length);

        private static T* Pointer(ref T[] buffer, long length)
        {
            if (buffer.Length < length) buffer = GC.AllocateUninitializedArray<T>((int)length, pinned: true);
            return (T*)Unsafe.AsPointer(ref buffer[0]);
        }
    }

    /// <summary>Rows of the small micro-kernel's tile (<see cref="MicroKernel4{T}"/>), which is also the stride of its packed A panel.</summary>
    public const int SmallTileRows = 4;

    /// <summary>
    /// The rows of the next micro-tile of a row block when <paramref name="left"/> rows of it remain: whole
    /// tiles of <see cref="MicroRows"/> (6) while they fit, except that a remainder of 1 or 2 rows after them
    /// takes the last 6-row tile with it and the 7 or 8 rows run as two tiles of at most
    /// <see cref="SmallTileRows"/>. So 32 rows are 6+6+6+6+4+4, not 6·5 + a 4-row tile half padding, which
    /// matters when two threads each take 32 rows of a 64-row batch. Every tile gives each of its rows the
    /// bits any other tile gives it (the same sums in the same order).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int TileRows(int left) => left is 7 or 8 ? SmallTileRows : Math.Min(MicroRows, left);

    /// <summary>The stride of a packed A panel of a tile of <paramref name="rows"/> rows: the kernel it goes to reads that many values per depth step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int TileStride(int rows) => rows <= SmallTileRows ? SmallTileRows : MicroRows;

    /// <summary>
    /// Packs rows [ic, ic + mc) and depth [pc, pc + kc) of op(A) into one panel per micro-tile
    /// (<see cref="TileRows"/>): the tile of rows [ir, ir + rows) starts at target[ir · kc] and holds
    /// target[ir · kc + p · S + r] = op(A)[ic + ir + r, pc + p] for S = <see cref="TileStride"/>(rows),
    /// zero for r ≥ rows. The padded panels end by row mc + 3 at most (never past <see cref="RowBlock"/> for mc ≤ MC).
    /// </summary>
    internal static void PackA<T>(bool transA, int mc, int kc, T* a, int lda, int ic, int pc, T* target)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int ir = 0, rows; ir < mc; ir += rows)
        {
            rows = TileRows(mc - ir);
            int stride = TileStride(rows);
            T* panel = target + (long)ir * kc;
            if (transA && rows == stride)
            {
                // op(A)[i, p] = A[p, i]: row p of A holds the tile's values contiguously; one block copy each.
                for (int p = 0; p < kc; p++)
                    Unsafe.CopyBlockUnaligned(panel + p * stride, a + (long)(pc + p) * lda + ic + ir, (uint)(stride * sizeof(T)));
            }
            else if (!transA && rows == MicroRows && typeof(T) == typeof(float) && Sse.IsSupported)
            {
                PackRowsOfSix((float*)a + (long)(ic + ir) * lda + pc, lda, kc, (float*)panel);
            }
            else if (transA)
            {
                // op(A)[i, p] = A[p, i]: row p of A holds the tile's values contiguously.
                for (int p = 0; p < kc; p++)
                {
                    T* source = a + (long)(pc + p) * lda + ic + ir;
                    T* dst = panel + p * stride;
                    int r = 0;
                    for (; r < rows; r++) dst[r] = source[r];
                    for (; r < stride; r++) dst[r] = T.Zero;
                }
            }
            else
            {
                for (int r = 0; r < stride; r++)
                {
                    T* dst = panel + r;
                    if (r < rows)
                    {
                        T* source = a + (long)(ic + ir + r) * lda + pc;
                        for (int p = 0; p < kc; p++) dst[p * stride] = source[p];
                    }
                    else
                    {
                        for (int p = 0; p < kc; p++) dst[p * stride] = T.Zero;
                    }
                }
            }
        }
    }

    /// <summary>
    /// The float micro-panel of six whole rows of A (not transposed): target[p · 6 + r] = rows[r · lda + p]
    /// for p in [0, kc). Four depth steps at a time: rows 0–3 are transposed 4 × 4 in registers and rows 4–5
    /// interleaved in pairs, written as four values and two; the remaining depth steps one at a time.
    /// The same values as the scalar loop, only moved faster.
    /// </summary>
    private static void PackRowsOfSix(float* rows, int lda, int kc, float* target)
    {
        Debug.Assert(MicroRows == 6);
        float* r0 = rows, r1 = rows + lda, r2 = r1 + lda, r3 = r2 + lda, r4 = r3 + lda, r5 = r4 + lda;
        int p = 0;
        for (; p + 4 <= kc; p += 4)
        {
            Vector128<float> a0 = Sse.LoadVector128(r0 + p), a1 = Sse.LoadVector128(r1 + p);
            Vector128<float> a2 = Sse.LoadVector128(r2 + p), a3 = Sse.LoadVector128(r3 + p);
            Vector128<float> a4 = Sse.LoadVector128(r4 + p), a5 = Sse.LoadVector128(r5 + p);
            // 4 × 4 transpose of rows 0–3: t_q = (r0[p+q], r1[p+q], r2[p+q], r3[p+q]).
            Vector128<float> l01 = Sse.UnpackLow(a0, a1), h01 = Sse.UnpackHigh(a0, a1);
            Vector128<float> l23 = Sse.UnpackLow(a2, a3), h23 = Sse.UnpackHigh(a2, a3);
            Vector128<float> t0 = Sse.MoveLowToHigh(l01, l23), t1 = Sse.MoveHighToLow(l23, l01);
            Vector128<float> t2 = Sse.MoveLowToHigh(h01, h23), t3 = Sse.MoveHighToLow(h23, h01);
            // Rows 4–5 in pairs: (r4[p], r5[p], r4[p+1], r5[p+1]) and the next two.
            Vector128<float> l45 = Sse.UnpackLow(a4, a5), h45 = Sse.UnpackHigh(a4, a5);
            float* d = target + p * MicroRows;
            Sse.Store(d, t0); Sse.StoreLow(d + 4, l45);
            Sse.Store(d + 6, t1); Sse.StoreHigh(d + 10, l45);
            Sse.Store(d + 12, t2); Sse.StoreLow(d + 16, h45);
            Sse.Store(d + 18, t3); Sse.StoreHigh(d + 22, h45);
        }
        for (; p < kc; p++)
        {
            float* d = target + p * MicroRows;
            d[0] = r0[p]; d[1] = r1[p]; d[2] = r2[p]; d[3] = r3[p]; d[4] = r4[p]; d[5] = r5[p];
        }
    }

    /// <summary>
    /// The float panel of 16 whole columns of op(B) = Bᵀ (B stored row-major, the 16 rows from
    /// <paramref name="rows"/>): target[p · 16 + jj] = rows[jj · ldb + p] for p in [0, kc). Blocks of 8 rows
    /// × 8 depth steps are transposed in registers (unpack, shuffle, swap of 128-bit halves) and stored as
    /// 8 contiguous values per depth step, instead of one value per 64-byte stride; the remaining depth
    /// steps one value at a time. Only moves values: the same layout as the scalar loop.
    /// </summary>
    private static void PackTransposedPanel(float* rows, int ldb, int kc, float* target)
    {
        const int nr = 16;
        int p = 0;
        for (; p + 8 <= kc; p += 8)
        {
            for (int half = 0; half < nr; half += 8)
            {
                float* r = rows + (long)half * ldb + p;
                Vector256<float> r0 = Avx.LoadVector256(r), r1 = Avx.LoadVector256(r + ldb);
                Vector256<float> r2 = Avx.LoadVector256(r + 2L * ldb), r3 = Avx.LoadVector256(r + 3L * ldb);
                Vector256<float> r4 = Avx.LoadVector256(r + 4L * ldb), r5 = Avx.LoadVector256(r + 5L * ldb);
                Vector256<float> r6 = Avx.LoadVector256(r + 6L * ldb), r7 = Avx.LoadVector256(r + 7L * ldb);
                // Within each 128-bit half: pairs, then quadruples of rows for each depth step.
                Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
                Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
                Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
                Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
                Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE);
                Vector256<float> s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE);
                Vector256<float> s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE);
                Vector256<float> s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);
                // s_q (q < 4) holds rows 0–3 at depth step q in its lower half and step q + 4 in its upper half;
                // s_(q+4) the same for rows 4–7. Joining halves gives each depth step's 8 values.
                float* d = target + p * nr + half;
                Avx.Store(d, Avx.Permute2x128(s0, s4, 0x20));
                Avx.Store(d + nr, Avx.Permute2x128(s1, s5, 0x20));
                Avx.Store(d + 2 * nr, Avx.Permute2x128(s2, s6, 0x20));
                Avx.Store(d + 3 * nr, Avx.Permute2x128(s3, s7, 0x20));
                Avx.Store(d + 4 * nr, Avx.Permute2x128(s0, s4, 0x31));
                Avx.Store(d + 5 * nr, Avx.Permute2x128(s1, s5, 0x31));
                Avx.Store(d + 6 * nr, Avx.Permute2x128(s2, s6, 0x31));
                Avx.Store(d + 7 * nr, Avx.Permute2x128(s3, s7, 0x31));
            }
        }
        for (; p < kc; p++)
            for (int jj = 0; jj < nr; jj++)
                target[p * nr + jj] = rows[(long)jj * ldb + p];
    }

    /// <summary>
    /// Packs depth [pc, pc + kc) and columns [columnStart, columnEnd) of op(B) into panels of NR columns:
    /// target[panel · kc · NR + p · NR + jj] = op(B)[pc + p, columnStart + panel · NR + jj], zero beyond columnEnd.
    /// </summary>
    internal static void PackB<T>(bool transB, int kc, int columnStart, int columnEnd, T* b, int ldb, int pc, T* target)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int nr = PanelWidth<T>();
        for (int j0 = columnStart; j0 < columnEnd; j0 += nr)
        {
            int cols = Math.Min(nr, columnEnd - j0);
            T* panel = target + (long)(j0 - columnStart) * kc;
            if (transB && cols == nr && typeof(T) == typeof(float) && Avx.IsSupported)
            {
                PackTransposedPanel((float*)b + (long)j0 * ldb + pc, ldb, kc, (float*)panel);
            }
            else if (transB)
            {
                // op(B)[p, j] = B[j, p]: read each row of B contiguously, write with stride NR.
                for (int jj = 0; jj < nr; jj++)
                {
                    T* dst = panel + jj;
                    if (jj < cols)
                    {
                        T* source = b + (long)(j0 + jj) * ldb + pc;
                        for (int p = 0; p < kc; p++) dst[p * nr] = source[p];
                    }
                    else
                    {
                        for (int p = 0; p < kc; p++) dst[p * nr] = T.Zero;
                    }
                }
            }
            else
            {
                for (int p = 0; p < kc; p++)
                {
                    T* source = b + (long)(pc + p) * ldb + j0;
                    T* dst = panel + p * nr;
                    if (cols == nr)
                    {
                        Vector256.Store(Vector256.Load(source), dst);
                        Vector256.Store(Vector256.Load(source + Vector256<T>.Count), dst + Vector256<T>.Count);
                    }
                    else
                    {
                        int jj = 0;
                        for (; jj < cols; jj++) dst[jj] = source[jj];
                        for (; jj < nr; jj++) dst[jj] = T.Zero;
                    }
                }
            }
        }
    }

    /// <summary>Products with fewer rows than this (a batch of 1 to 3 sequences) go row by row through <see cref="MultiplyRowPacked{T}"/>.</summary>
    public const int RowKernelMaximumRows = 4;

    /// <summary>
    /// One row: c[0..n) (=|+=) a[0..k) · B, B packed (k × n, <paramref name="paddedColumns"/> per depth
    /// block row). Four panels (4·NR columns, 8 accumulators) at a time, then one at a time; per depth
    /// block each column's sum runs p = 0..kc in fused multiply-adds from zero and is then stored (first
    /// block of a product that does not accumulate) or added to C, exactly as in <see cref="MicroKernel{T}"/>,
    /// so a row gets the same bits here as in a 6-row or 4-row tile. <see cref="ScalarGemm"/> is its reference.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MultiplyRowPacked<T>(int k, int n, int paddedColumns, T* a, T* packed, T* c, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count, nr = 2 * w;
        int panels = (n + nr - 1) / nr;
        for (int pc = 0; pc < k; pc += DepthBlock)
        {
            int kc = Math.Min(DepthBlock, k - pc);
            bool overwrite = pc == 0 && !accumulate;
            T* block = packed + (long)pc * paddedColumns;
            T* ap = a + pc;
            int panel = 0;
            for (; panel + 4 <= panels; panel += 4)
            {
                long stride = (long)kc * nr;
                T* b0 = block + panel * stride, b1 = b0 + stride, b2 = b1 + stride, b3 = b2 + stride;
                Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
                for (int p = 0; p < kc; p++)
                {
                    Vector256<T> av = Vector256.Create(ap[p]);
                    int o = p * nr;
                    c00 = MultiplyAdd(av, Vector256.Load(b0 + o), c00); c01 = MultiplyAdd(av, Vector256.Load(b0 + o + w), c01);
                    c10 = MultiplyAdd(av, Vector256.Load(b1 + o), c10); c11 = MultiplyAdd(av, Vector256.Load(b1 + o + w), c11);
                    c20 = MultiplyAdd(av, Vector256.Load(b2 + o), c20); c21 = MultiplyAdd(av, Vector256.Load(b2 + o + w), c21);
                    c30 = MultiplyAdd(av, Vector256.Load(b3 + o), c30); c31 = MultiplyAdd(av, Vector256.Load(b3 + o + w), c31);
                }
                int j = panel * nr;
                WritePanel(c + j, c00, c01, n - j, overwrite);
                WritePanel(c + j + nr, c10, c11, n - j - nr, overwrite);
                WritePanel(c + j + 2 * nr, c20, c21, n - j - 2 * nr, overwrite);
                WritePanel(c + j + 3 * nr, c30, c31, n - j - 3 * nr, overwrite);
            }
            for (; panel < panels; panel++)
            {
                T* bp = block + (long)panel * kc * nr;
                Vector256<T> c0 = default, c1 = default;
                for (int p = 0; p < kc; p++)
                {
                    Vector256<T> av = Vector256.Create(ap[p]);
                    c0 = MultiplyAdd(av, Vector256.Load(bp + p * nr), c0);
                    c1 = MultiplyAdd(av, Vector256.Load(bp + p * nr + w), c1);
                }
                int j = panel * nr;
                WritePanel(c + j, c0, c1, n - j, overwrite);
            }
        }
    }

    /// <summary>Writes one panel's two vectors of a row into C: all NR columns when <paramref name="cols"/> ≥ NR, else only the first cols (as <see cref="WriteEdge{T}"/> does).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WritePanel<T>(T* c, Vector256<T> low, Vector256<T> high, int cols, bool overwrite)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count;
        if (cols >= 2 * w) WriteRow(c, low, high, w, overwrite);
        else WritePanelEdge(c, low, high, cols, overwrite);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WritePanelEdge<T>(T* c, Vector256<T> low, Vector256<T> high, int cols, bool overwrite)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count;
        T* tile = stackalloc T[2 * Vector256<T>.Count];
        Vector256.Store(low, tile);
        Vector256.Store(high, tile + w);
        WriteEdge(tile, 2 * w, c, 0, 1, cols, overwrite);
    }

    /// <summary>
    /// The MR × NR tile: C[0..rows, 0..cols) (+)= Σ_p Apanel[p, r] · Bpanel[p, j], accumulated in
    /// 12 registers over kc depth steps.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MicroKernel<T>(int kc, T* aPanel, T* bPanel, T* c, int ldc, int rows, int cols, bool overwrite)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(MicroRows == 6);
        int w = Vector256<T>.Count;
        PrefetchTile(c, ldc, MicroRows);
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        T* ap = aPanel, bp = bPanel;
        for (int p = 0; p < kc; p++)
        {
            Vector256<T> b0 = Vector256.Load(bp), b1 = Vector256.Load(bp + w);
            Vector256<T> av = Vector256.Create(ap[0]); c00 = MultiplyAdd(av, b0, c00); c01 = MultiplyAdd(av, b1, c01);
            av = Vector256.Create(ap[1]); c10 = MultiplyAdd(av, b0, c10); c11 = MultiplyAdd(av, b1, c11);
            av = Vector256.Create(ap[2]); c20 = MultiplyAdd(av, b0, c20); c21 = MultiplyAdd(av, b1, c21);
            av = Vector256.Create(ap[3]); c30 = MultiplyAdd(av, b0, c30); c31 = MultiplyAdd(av, b1, c31);
            av = Vector256.Create(ap[4]); c40 = MultiplyAdd(av, b0, c40); c41 = MultiplyAdd(av, b1, c41);
            av = Vector256.Create(ap[5]); c50 = MultiplyAdd(av, b0, c50); c51 = MultiplyAdd(av, b1, c51);
            ap += MicroRows;
            bp += 2 * w;
        }
        if (rows == MicroRows && cols == 2 * w)
        {
            WriteRow(c, c00, c01, w, overwrite);
            WriteRow(c + ldc, c10, c11, w, overwrite);
            WriteRow(c + 2L * ldc, c20, c21, w, overwrite);
            WriteRow(c + 3L * ldc, c30, c31, w, overwrite);
            WriteRow(c + 4L * ldc, c40, c41, w, overwrite);
            WriteRow(c + 5L * ldc, c50, c51, w, overwrite);
            return;
        }
        // An edge tile: spill it and write only the valid part.
        T* tile = stackalloc T[MicroRows * 2 * Vector256<T>.Count];
        int stride = 2 * w;
        Vector256.Store(c00, tile); Vector256.Store(c01, tile + w);
        Vector256.Store(c10, tile + stride); Vector256.Store(c11, tile + stride + w);
        Vector256.Store(c20, tile + 2 * stride); Vector256.Store(c21, tile + 2 * stride + w);
        Vector256.Store(c30, tile + 3 * stride); Vector256.Store(c31, tile + 3 * stride + w);
        Vector256.Store(c40, tile + 4 * stride); Vector256.Store(c41, tile + 4 * stride + w);
        Vector256.Store(c50, tile + 5 * stride); Vector256.Store(c51, tile + 5 * stride + w);
        WriteEdge(tile, stride, c, ldc, rows, cols, overwrite);
    }

    /// <summary>
    /// The tile of at most 4 rows (<see cref="TileRows"/>: a batch of 4 sequences, the last rows of a
    /// block): the same loop on 8 accumulators, so no multiply-adds are spent on padding rows 5 and 6.
    /// Reads an A panel packed with stride <see cref="SmallTileRows"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MicroKernel4<T>(int kc, T* aPanel, T* bPanel, T* c, int ldc, int rows, int cols, bool overwrite)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(rows <= 4);
        int w = Vector256<T>.Count;
        PrefetchTile(c, ldc, 4);
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        T* ap = aPanel, bp = bPanel;
        for (int p = 0; p < kc; p++)
        {
            Vector256<T> b0 = Vector256.Load(bp), b1 = Vector256.Load(bp + w);
            Vector256<T> av = Vector256.Create(ap[0]); c00 = MultiplyAdd(av, b0, c00); c01 = MultiplyAdd(av, b1, c01);
            av = Vector256.Create(ap[1]); c10 = MultiplyAdd(av, b0, c10); c11 = MultiplyAdd(av, b1, c11);
            av = Vector256.Create(ap[2]); c20 = MultiplyAdd(av, b0, c20); c21 = MultiplyAdd(av, b1, c21);
            av = Vector256.Create(ap[3]); c30 = MultiplyAdd(av, b0, c30); c31 = MultiplyAdd(av, b1, c31);
            ap += SmallTileRows;
            bp += 2 * w;
        }
        if (rows == 4 && cols == 2 * w)
        {
            WriteRow(c, c00, c01, w, overwrite);
            WriteRow(c + ldc, c10, c11, w, overwrite);
            WriteRow(c + 2L * ldc, c20, c21, w, overwrite);
            WriteRow(c + 3L * ldc, c30, c31, w, overwrite);
            return;
        }
        T* tile = stackalloc T[4 * 2 * Vector256<T>.Count];
        int stride = 2 * w;
        Vector256.Store(c00, tile); Vector256.Store(c01, tile + w);
        Vector256.Store(c10, tile + stride); Vector256.Store(c11, tile + stride + w);
        Vector256.Store(c20, tile + 2 * stride); Vector256.Store(c21, tile + 2 * stride + w);
        Vector256.Store(c30, tile + 3 * stride); Vector256.Store(c31, tile + 3 * stride + w);
        WriteEdge(tile, stride, c, ldc, rows, cols, overwrite);
    }

    /// <summary>
    /// Asks for the rows of the C tile a micro-kernel will add to, before its depth loop: C is usually far
    /// larger than the caches and read once per depth block, and a tile fetched only when the loop ends
    /// stalls the kernel on a dozen misses. A hint only (prefetches do not fault), so the lines past a
    /// narrow edge tile or below its last row cost nothing wrong.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchTile<T>(T* c, int ldc, int rows) where T : unmanaged
    {
        if (!Sse.IsSupported) return;
        int last = 2 * Vector256<T>.Count - 1;
        for (int r = 0; r < rows; r++)
        {
            T* row = c + (long)r * ldc;
            Sse.Prefetch0(row);
            Sse.Prefetch0(row + last);
        }
    }

    /// <summary>Writes the valid rows × cols of a spilled tile (row stride <paramref name="stride"/>) into C.</summary>
    private static void WriteEdge<T>(T* tile, int stride, T* c, int ldc, int rows, int cols, bool overwrite)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
        {
            T* cRow = c + (long)r * ldc;
            T* tRow = tile + r * stride;
            if (overwrite) for (int j = 0; j < cols; j++) cRow[j] = tRow[j];
            else for (int j = 0; j < cols; j++) cRow[j] += tRow[j];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteRow<T>(T* c, Vector256<T> low, Vector256<T> high, int w, bool overwrite)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!overwrite)
        {
            low += Vector256.Load(c);
            high += Vector256.Load(c + w);
        }
        Vector256.Store(low, c);
        Vector256.Store(high, c + w);
    }

    /// <summary>a·b + c with one rounding (FMA) for float and double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> MultiplyAdd<T>(Vector256<T> a, Vector256<T> b, Vector256<T> c) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return Fma.MultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Fma.MultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        return a * b + c;
    }
}
