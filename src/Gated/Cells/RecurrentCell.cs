using System.Numerics;
using System.Numerics.Tensors;
using Gated.Kernels;
using Gated.Memory;

namespace Gated.Cells;

/// <summary>
/// What reaches ∂L/∂h_t (and ∂L/∂c_t) from outside the recurrence during the backward pass: the layer
/// above, and ∂L/∂h_n for the sequences whose last step is t. Called from the threads that run the steps.
/// </summary>
internal interface IStepGradientSource<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>
    /// Before backward step <paramref name="t"/>: sets or adds the outside gradients of live rows
    /// [<paramref name="first"/>, <paramref name="end"/>) in <see cref="DirectionWorkspace{T}.HiddenGradient"/>(t)
    /// (and CellGradient(t)); touches no other rows.
    /// </summary>
    void AddStepGradients(DirectionWorkspace<T> ws, int t, int first, int end);
}

/// <summary>
/// The part of a recurrent cell every kind shares: where its four parameters live, the input
/// projection of all steps before the time loop, and the input-side gradients after it. Subclasses
/// hold the step equations, forward and backward side by side.
/// </summary>
/// <remarks>
/// Shape letters: T steps, B batch (row stride of a step), b live rows at a step, I input size,
/// H hidden size, G gate count. Parameters (PyTorch names, suffix <c>_l{k}</c> or <c>_l{k}_reverse</c>):
/// W_ih (G·H, I), W_hh (G·H, H), b_ih (G·H), b_hh (G·H); biases may be absent.
/// </remarks>
internal abstract class RecurrentCell<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    protected RecurrentCell(ParameterBlock<T> parameters, string suffix, int inputSize, int hiddenSize, int gateCount)
    {
        Parameters = parameters;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        GateCount = gateCount;
        WeightIh = parameters.Info("weight_ih" + suffix).Offset;
        WeightHh = parameters.Info("weight_hh" + suffix).Offset;
        BiasIh = parameters.Contains("bias_ih" + suffix) ? parameters.Info("bias_ih" + suffix).Offset : -1;
        BiasHh = parameters.Contains("bias_hh" + suffix) ? parameters.Info("bias_hh" + suffix).Offset : -1;
    }

    protected ParameterBlock<T> Parameters { get; }
    public int InputSize { get; }
    public int HiddenSize { get; }
    public int GateCount { get; }
    protected int WeightIh { get; }   // offset of W_ih (G·H, I)
    protected int WeightHh { get; }   // offset of W_hh (G·H, H)
    protected int BiasIh { get; }     // offset of b_ih (G·H), −1 when absent
    protected int BiasHh { get; }     // offset of b_hh (G·H), −1 when absent
    protected int GateWidth => GateCount * HiddenSize;

    protected ReadOnlySpan<T> Values(int offset, int length) => Parameters.Values.AsSpan(offset, length);
    protected Span<T> Grads(int offset, int length) => Parameters.Gradients.AsSpan(offset, length);

    /// <summary>True when the cell keeps a cell state c_t besides h_t (the LSTM).</summary>
    public virtual bool HasCellState => false;

    /// <summary>Creates a workspace with the buffers this cell needs.</summary>
    public abstract DirectionWorkspace<T> CreateWorkspace();

    /// <summary>
    /// All steps at once, before the time loop: InputProjection = X · W_ihᵀ, rows (T·B, G·H). The bias b_ih
    /// is added to each live row at its own step, just before the cell reads it (<see cref="StepForwardRows"/>):
    /// there the row is in cache and on the thread that computes the step, where a pass over the whole
    /// projection here would be a single-threaded trip through memory. Same sum, same bits.
    /// </summary>
    public void ProjectInputs(DirectionWorkspace<T> ws)
    {
        int rows = ws.Steps * ws.Batch, g = GateWidth;
        Span<T> projection = ws.InputProjection.AsSpan(0, rows * g);
        Gemm.Multiply(false, true, rows, g, InputSize, ws.Input, InputSize, Values(WeightIh, g * InputSize), InputSize, projection, g, accumulate: false);
    }

    /// <summary>
    /// The forward step of rows [<paramref name="first"/>, <paramref name="end"/>): completes their input
    /// projections, InputProjection[t, row] += b_ih, then runs the cell's <see cref="ForwardRows"/>.
    /// </summary>
    private void StepForwardRows(DirectionWorkspace<T> ws, int t, int batch, int first, int end)
    {
        if (BiasIh >= 0)
        {
            int g = GateWidth;
            AddRowVector(ws.InputProjection.AsSpan((t * ws.Batch + first) * g, (end - first) * g), end - first, Values(BiasIh, g));
        }
        ForwardRows(ws, t, batch, first, end);
    }

    /// <summary>
    /// One step forward for the first <paramref name="batch"/> rows: reads Hidden[t] (and Cell[t]), writes
    /// Hidden[t+1], the gates and what backward needs. Split over threads by batch rows when the step is
    /// large enough (<see cref="RowParts"/>), else run on the calling thread.
    /// </summary>
    public void ForwardStep(DirectionWorkspace<T> ws, int t, int batch)
    {
        int parts = RowParts(batch);
        if (parts <= 1) StepForwardRows(ws, t, batch, 0, batch);
        else StepRowsJob.Run(this, ws, t, batch, parts, backward: false);
    }

    /// <summary>
    /// One step backward for the first <paramref name="batch"/> rows: reads ∂L/∂h_t (and ∂L/∂c_t,
    /// <see cref="DirectionWorkspace{T}.HiddenGradient"/>(t)), writes dInputProjection[t],
    /// dHiddenProjection[t] and ∂L/∂h_{t−1} (and ∂L/∂c_{t−1}). Split over threads by batch rows as
    /// <see cref="ForwardStep"/>.
    /// </summary>
    public void BackwardStep(DirectionWorkspace<T> ws, int t, int batch)
    {
        int parts = RowParts(batch);
        if (parts <= 1) BackwardRows(ws, t, batch, 0, batch);
        else StepRowsJob.Run(this, ws, t, batch, parts, backward: true);
    }

    /// <summary>
    /// Every step forward, t = 0 … T − 1, for the live rows of each (<see cref="DirectionWorkspace{T}.BatchSizes"/>).
    /// While every row is live and the step is large enough to split (<see cref="RowParts"/>), the rows are
    /// split over threads once for all those steps (<see cref="SequenceRowsJob"/>): each thread runs its
    /// rows through every step on its own, with no barrier between steps, since a row's step reads only that
    /// row's state. The remaining steps of a batch of unequal lengths run one at a time
    /// (<see cref="ForwardStep"/>). The bits are those of the single-threaded loop either way.
    /// </summary>
    public void ForwardSteps(DirectionWorkspace<T> ws)
    {
        int whole = SequenceSplit(ws, out int parts);
        if (whole > 0) SequenceRowsJob.Run(this, ws, whole, parts, gradients: null);
        for (int t = whole; t < ws.Steps; t++) ForwardStep(ws, t, ws.BatchSizes[t]);
    }

    /// <summary>
    /// Every step backward, t = T − 1 … 0: before step t, <paramref name="gradients"/> adds what reaches
    /// ∂L/∂h_t (and ∂L/∂c_t) from outside the recurrence, row by row; then the cell's step runs. Split over
    /// threads as <see cref="ForwardSteps"/> (the first steps, those with every row live, as one job).
    /// </summary>
    public void BackwardSteps(DirectionWorkspace<T> ws, IStepGradientSource<T> gradients)
    {
        int whole = SequenceSplit(ws, out int parts);
        for (int t = ws.Steps - 1; t >= whole; t--)
        {
            int live = ws.BatchSizes[t];
            gradients.AddStepGradients(ws, t, 0, live);
            BackwardStep(ws, t, live);
        }
        if (whole > 0) SequenceRowsJob.Run(this, ws, whole, parts, gradients);
    }

    /// <summary>
    /// How many leading steps run split by rows for the whole sequence (0: none) and into how many parts:
    /// the steps at which every row is live, when there are at least two and a step splits.
    /// </summary>
    internal int SequenceSplit(DirectionWorkspace<T> ws, out int parts)
    {
        parts = 1;
        int steps = ws.Steps;
        if (steps < 2 || !SequenceSplitEnabled) return 0;
        int full = ws.BatchSizes[0], whole = 1;
        while (whole < steps && ws.BatchSizes[whole] == full) whole++;
        parts = RowParts(full);
        return parts > 1 && whole >= 2 ? whole : 0;
    }

    /// <summary>Tests turn the split over whole sequences off to compare it with the split per step.</summary>
    internal static bool SequenceSplitEnabled = true;

    /// <summary>
    /// The forward step for rows [<paramref name="first"/>, <paramref name="end"/>) of the
    /// <paramref name="batch"/> live rows: the recurrent products of those rows (their h_{t−1} rows against
    /// the whole packed W_hh) and all their gate arithmetic. Reads and writes nothing of other rows, and
    /// each row's arithmetic does not depend on which rows are computed with it, so any split of the rows
    /// gives the same bits.
    /// </summary>
    protected abstract void ForwardRows(DirectionWorkspace<T> ws, int t, int batch, int first, int end);

    /// <summary>The backward step for rows [<paramref name="first"/>, <paramref name="end"/>): their gate derivatives, then their rows of δh_{t−1} = δa · W_hh. Row-local as <see cref="ForwardRows"/>.</summary>
    protected abstract void BackwardRows(DirectionWorkspace<T> ws, int t, int batch, int first, int end);

    /// <summary>
    /// A step is split by batch rows from this many multiply-adds in its recurrent product
    /// (live rows · G·H · H): below it, handing rows to a worker costs more than it saves, and the
    /// step runs on the calling thread (whose products may still be split by columns).
    /// Tests lower it to split small layers.
    /// </summary>
    internal static long RowSplitThreshold = 1L << 21;

    /// <summary>
    /// The fewest live rows each part of a split step gets. With fewer, every thread would stream the
    /// whole of W_hh for a handful of rows; a product split by output columns reads half of it on each.
    /// Tests lower it to split small batches.
    /// </summary>
    internal static int MinimumRowsPerPart = 8;

    /// <summary>How many parts (threads) a step over <paramref name="batch"/> live rows is split into: 1 when it does not pay.</summary>
    internal int RowParts(int batch)
    {
        int threads = ComputeThreads.AvailableHere;
        if (threads <= 1 || (long)batch * GateWidth * HiddenSize < RowSplitThreshold) return 1;
        return Math.Clamp(batch / Math.Max(MinimumRowsPerPart, 1), 1, threads);
    }

    /// <summary>
    /// Runs <see cref="ForwardRows"/> or <see cref="BackwardRows"/> of one step as parts on the worker
    /// pool, one fork/join per step: part p of P takes the contiguous rows
    /// [batch·p/P, batch·(p+1)/P) and does, for those rows only, the recurrent product and the gate
    /// arithmetic around it. One instance per calling thread, so a step allocates nothing.
    /// </summary>
    private sealed class StepRowsJob : IParallelJob
    {
        [ThreadStatic] private static StepRowsJob? forThisThread;

        private RecurrentCell<T>? cell;
        private DirectionWorkspace<T>? ws;
        private int t, batch;
        private bool backward;

        public static void Run(RecurrentCell<T> cell, DirectionWorkspace<T> ws, int t, int batch, int parts, bool backward)
        {
            var job = forThisThread ??= new StepRowsJob();
            job.cell = cell; job.ws = ws; job.t = t; job.batch = batch; job.backward = backward;
            try
            {
                WorkerPool.Run(job, parts, (long)batch * cell.GateWidth * cell.HiddenSize);
            }
            finally
            {
                job.cell = null;
                job.ws = null;
            }
        }

        public void Execute(int part, int parts)
        {
            int first = (int)((long)batch * part / parts), end = (int)((long)batch * (part + 1) / parts);
            if (first >= end) return;
            if (backward) cell!.BackwardRows(ws!, t, batch, first, end);
            else cell!.StepForwardRows(ws!, t, batch, first, end);
        }
    }

    /// <summary>
    /// Runs steps [0, whole) of a pass as parts on the worker pool, one fork/join for all of them: part p of P
    /// takes the contiguous rows [B·p/P, B·(p+1)/P) of the B rows (all live at those steps) and runs them
    /// through every step, forward from 0 or backward from whole − 1 (then first asking the layer for the
    /// step's outside gradients of those rows). A part never waits for another between steps, so a thread
    /// that briefly loses its core delays only its own rows, not every step of the other's.
    /// </summary>
    private sealed class SequenceRowsJob : IParallelJob
    {
        [ThreadStatic] private static SequenceRowsJob? forThisThread;

        private RecurrentCell<T>? cell;
        private DirectionWorkspace<T>? ws;
        private IStepGradientSource<T>? gradients;
        private int whole;

        public static void Run(RecurrentCell<T> cell, DirectionWorkspace<T> ws, int whole, int parts, IStepGradientSource<T>? gradients)
        {
            var job = forThisThread ??= new SequenceRowsJob();
            job.cell = cell; job.ws = ws; job.whole = whole; job.gradients = gradients;
            try
            {
                WorkerPool.Run(job, parts, (long)whole * ws.BatchSizes[0] * cell.GateWidth * cell.HiddenSize);
            }
            finally
            {
                job.cell = null;
                job.ws = null;
                job.gradients = null;
            }
        }

        public void Execute(int part, int parts)
        {
            var ws = this.ws!;
            int batch = ws.BatchSizes[0];
            int first = (int)((long)batch * part / parts), end = (int)((long)batch * (part + 1) / parts);
            if (first >= end) return;
            if (gradients is null)
            {
                for (int t = 0; t < whole; t++) cell!.StepForwardRows(ws, t, batch, first, end);
                return;
            }
            for (int t = whole - 1; t >= 0; t--)
            {
                gradients.AddStepGradients(ws, t, first, end);
                cell!.BackwardRows(ws, t, batch, first, end);
            }
        }
    }

    /// <summary>
    /// All steps at once, after the time loop: dW_ih += dXpᵀ·X, db_ih += Σ dXp, dX = dXp·W_ih (only when
    /// <paramref name="inputGradient"/>: the first layer's input is usually data); then the recurrent
    /// weights' gradients (<see cref="AccumulateRecurrentGradients"/>).
    /// </summary>
    public void FinishBackward(DirectionWorkspace<T> ws, bool inputGradient = true)
    {
        int rows = ws.Steps * ws.Batch, g = GateWidth;
        ReadOnlySpan<T> dProjection = ws.dInputProjection.AsSpan(0, rows * g);
        Gemm.Multiply(true, false, g, InputSize, rows, dProjection, g, ws.Input, InputSize, Grads(WeightIh, g * InputSize), InputSize, accumulate: true);
        if (BiasIh >= 0) AddColumnSums(dProjection, rows, Grads(BiasIh, g));
        if (inputGradient)
            Gemm.Multiply(false, false, rows, InputSize, g, dProjection, g, Values(WeightIh, g * InputSize), InputSize, ws.dInput.AsSpan(0, rows * InputSize), InputSize, accumulate: false);
        AccumulateRecurrentGradients(ws);
    }

    /// <summary>dW_hh += dHpᵀ · H_prev and db_hh += Σ dHp over all steps (the GRU with reset before the product overrides this).</summary>
    protected virtual void AccumulateRecurrentGradients(DirectionWorkspace<T> ws)
    {
        int rows = ws.Steps * ws.Batch, g = GateWidth, h = HiddenSize;
        ReadOnlySpan<T> dHp = ws.dHiddenProjection.AsSpan(0, rows * g);
        Gemm.Multiply(true, false, g, h, rows, dHp, g, ws.Hidden, h, Grads(WeightHh, g * h), h, accumulate: true);
        if (BiasHh >= 0) AddColumnSums(dHp, rows, Grads(BiasHh, g));
    }

    /// <summary>
    /// Packs the blocks of W_hh that the forward steps multiply by, once for the whole pass
    /// (<see cref="DirectionWorkspace{T}.ReleasePacks"/> ends it). Products too small for the packed
    /// kernels (<see cref="Gemm.UsePackedWeights{T}"/>) are left unpacked.
    /// </summary>
    public virtual void PackForward(DirectionWorkspace<T> ws) => PackRecurrent(ws, RecurrentPack.Forward, transposed: true, 0, GateWidth);

    /// <summary>Packs the blocks of W_hh that the backward steps multiply by, once for the whole pass.</summary>
    public virtual void PackBackward(DirectionWorkspace<T> ws) => PackRecurrent(ws, RecurrentPack.Backward, transposed: false, 0, GateWidth);

    /// <summary>
    /// Packs rows [firstRow, firstRow + rows) of W_hh into <paramref name="slot"/>: transposed
    /// (op = W_subᵀ, H × rows) for the forward product h·W_subᵀ, or as is (rows × H) for δa·W_sub.
    /// </summary>
    protected void PackRecurrent(DirectionWorkspace<T> ws, int slot, bool transposed, int firstRow, int rows)
    {
        int h = HiddenSize, k = transposed ? h : rows, n = transposed ? rows : h;
        var pack = ws.Packs[slot];
        if (Gemm.UsePackedWeights<T>(ws.Batch, n, k)) pack.Pack(transposed, k, n, Values(WeightHh + firstRow * h, rows * h), h);
        else pack.Release();
    }

    /// <summary>
    /// C (=|+=) A · op(W_sub) for rows [<paramref name="first"/>, <paramref name="end"/>) of A and C, with
    /// W_sub = rows [firstRow, firstRow + rows) of W_hh and op = transpose in the forward direction; A and C
    /// start at live row 0 (strides lda, ldc). The kernel is chosen for all <paramref name="batch"/> live
    /// rows, not for the part: from the pack in <paramref name="slot"/> when it is ready and the whole
    /// product is large enough, else straight from the weights. Each row of C is then computed with the
    /// same operations whatever the part (the packed micro-kernels give a row the same bits in a 6-row,
    /// 4-row or edge tile and in the one-row kernel that takes parts of 1 to 3 rows; the unpacked kernels
    /// work row by row), so results do not depend on the split.
    /// </summary>
    protected void MultiplyRecurrent(DirectionWorkspace<T> ws, int slot, bool transposed, int firstRow, int rows, int batch, int first, int end,
        ReadOnlySpan<T> a, int lda, Span<T> c, int ldc, bool accumulate)
    {
        int h = HiddenSize, k = transposed ? h : rows, n = transposed ? rows : h, m = end - first;
        if (m <= 0) return;
        // The part's rows: m − 1 whole rows and the used length of the last.
        ReadOnlySpan<T> aRows = a.Slice(first * lda, (m - 1) * lda + k);
        Span<T> cRows = c.Slice(first * ldc, (m - 1) * ldc + n);
        var pack = ws.Packs[slot];
        if (pack.IsReady && Gemm.UsePackedWeights<T>(batch, n, k))
            Gemm.MultiplyPacked(false, m, aRows, lda, pack, cRows, ldc, accumulate);
        else
            // Not packed for the whole batch, so not for a part of it either (fewer rows, less work).
            Gemm.Multiply(false, transposed, m, n, k, aRows, lda, Values(WeightHh + firstRow * h, rows * h), h, cRows, ldc, accumulate);
    }

    /// <summary>StepProjection[first..end) = h_{t−1} · W_hhᵀ + b_hh for those live rows; returns StepProjection (b, G·H) from row 0.</summary>
    protected Span<T> ProjectHidden(DirectionWorkspace<T> ws, int t, int batch, int first, int end)
    {
        int g = GateWidth, h = HiddenSize;
        Span<T> projection = ws.StepProjection.AsSpan(0, batch * g);
        MultiplyRecurrent(ws, RecurrentPack.Forward, transposed: true, 0, g, batch, first, end,
            ws.Hidden.AsSpan(t * ws.Batch * h, batch * h), h, projection, g, accumulate: false);
        if (BiasHh >= 0) AddRowVector(projection[(first * g)..], end - first, Values(BiasHh, g));
        return projection;
    }

    /// <summary>matrix[r, :] += vector for every row r.</summary>
    protected static void AddRowVector(Span<T> matrix, int rows, ReadOnlySpan<T> vector)
    {
        int n = vector.Length;
        for (int r = 0; r < rows; r++)
        {
            Span<T> row = matrix.Slice(r * n, n);
            TensorPrimitives.Add(row, vector, row);
        }
    }

    /// <summary>sums[j] += Σ_r matrix[r, j].</summary>
    protected static void AddColumnSums(ReadOnlySpan<T> matrix, int rows, Span<T> sums)
    {
        int n = sums.Length;
        for (int r = 0; r < rows; r++)
            TensorPrimitives.Add(sums, matrix.Slice(r * n, n), sums);
    }
}
