using System.Diagnostics;
using System.Numerics;

namespace Gated.Kernels;

/// <summary>
/// The right-hand operand op(B) (k × n) of a matrix product, copied once into the order the packed
/// micro-kernel reads it, so a product repeated at every time step with the same weights does not copy
/// them again. A recurrent layer packs W_hhᵀ at the start of a forward pass and W_hh at the start of a
/// backward pass.
/// </summary>
/// <remarks>
/// Layout: k is cut into blocks of <see cref="PackedGemm.DepthBlock"/> rows; n into panels of
/// NR = 2 × Vector256&lt;T&gt;.Count columns (the last one zero-padded). Block (pc, panel) starts at
/// pc · nPadded + panel · kc · NR and holds kc rows of NR contiguous values.
/// </remarks>
internal sealed class PackedMatrix<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] data = [];

    /// <summary>k, the rows of op(B).</summary>
    public int Depth { get; private set; }

    /// <summary>n, the columns of op(B).</summary>
    public int Columns { get; private set; }

    /// <summary>n rounded up to a whole number of panels.</summary>
    public int PaddedColumns { get; private set; }

    /// <summary>True between <see cref="Pack"/> and <see cref="Release"/>: a pack is valid only while the weights it copied do not change.</summary>
    public bool IsReady { get; private set; }

    /// <summary>Marks the pack stale (the weights may change from here on).</summary>
    public void Release() => IsReady = false;

    /// <summary>The packed values (the array may be longer than used).</summary>
    public T[] Data => data;

    /// <summary>
    /// Packs op(B) = B (k × n, row stride ldb) or Bᵀ (B stored n × k) when <paramref name="transB"/>.
    /// A large matrix is packed by several threads (<see cref="ComputeThreads.Count"/>), each taking a
    /// range of panels at every depth block: the same copy, done in parallel.
    /// </summary>
    public void Pack(bool transB, int k, int n, ReadOnlySpan<T> b, int ldb)
    {
        Debug.Assert(k >= 0 && n >= 0);
        int nr = PackedGemm.PanelWidth<T>();
        IsReady = false;
        Depth = k;
        Columns = n;
        PaddedColumns = (n + nr - 1) / nr * nr;
        int length = PaddedColumns * k;
        if (data.Length < length) data = GC.AllocateUninitializedArray<T>(length, pinned: true);
        int panels = PaddedColumns / nr;
        int parts = (long)k * n >= ParallelMinimumValues ? Math.Min(ComputeThreads.AvailableHere, panels) : 1;
        unsafe
        {
            fixed (T* source = b)
            fixed (T* target = data)
            {
                if (parts <= 1)
                {
                    PackPanels(transB, k, n, source, ldb, target, PaddedColumns, 0, panels);
                }
                else
                {
                    var job = PackJob.ForThisThread;
                    job.Set(transB, k, n, source, ldb, target, PaddedColumns, panels);
                    try { WorkerPool.Run(job, parts, (long)k * n); }
                    finally { job.Clear(); }
                }
            }
        }
        IsReady = true;
    }

    /// <summary>Below this many values (k · n) a matrix is packed on the calling thread alone.</summary>
    internal const long ParallelMinimumValues = 1 << 18;

    /// <summary>Panels [panelStart, panelEnd) at every depth block: block (pc, panel) at pc · paddedColumns + panel · kc · NR.</summary>
    private static unsafe void PackPanels(bool transB, int k, int n, T* source, int ldb, T* target, int paddedColumns, int panelStart, int panelEnd)
    {
        int nr = PackedGemm.PanelWidth<T>();
        int columnStart = panelStart * nr, columnEnd = Math.Min(n, panelEnd * nr);
        if (columnStart >= columnEnd) return;
        for (int pc = 0; pc < k; pc += PackedGemm.DepthBlock)
        {
            int kc = Math.Min(PackedGemm.DepthBlock, k - pc);
            PackedGemm.PackB(transB, kc, columnStart, columnEnd, source, ldb, pc, target + (long)pc * paddedColumns + (long)panelStart * kc * nr);
        }
    }

    /// <summary>One pack split by panels over the worker pool; one instance per calling thread.</summary>
    private sealed unsafe class PackJob : IParallelJob
    {
        [ThreadStatic] private static PackJob? forThisThread;
        public static PackJob ForThisThread => forThisThread ??= new PackJob();

        private bool transB;
        private int k, n, ldb, paddedColumns, panels;
        private T* source, target;

        public void Set(bool transB, int k, int n, T* source, int ldb, T* target, int paddedColumns, int panels)
        {
            this.transB = transB; this.k = k; this.n = n; this.source = source; this.ldb = ldb;
            this.target = target; this.paddedColumns = paddedColumns; this.panels = panels;
        }

        public void Clear() { source = target = null; }

        public void Execute(int part, int parts) =>
            PackPanels(transB, k, n, source, ldb, target, paddedColumns, (int)((long)panels * part / parts), (int)((long)panels * (part + 1) / parts));
    }
}
