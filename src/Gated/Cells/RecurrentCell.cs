using System.Numerics;
using System.Numerics.Tensors;
using Gated.Kernels;
using Gated.Memory;

namespace Gated.Cells;

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

    /// <summary>All steps at once, before the time loop: InputProjection = X · W_ihᵀ + b_ih, rows (T·B, G·H).</summary>
    public void ProjectInputs(DirectionWorkspace<T> ws)
    {
        int rows = ws.Steps * ws.Batch, g = GateWidth;
        Span<T> projection = ws.InputProjection.AsSpan(0, rows * g);
        Gemm.Multiply(false, true, rows, g, InputSize, ws.Input, InputSize, Values(WeightIh, g * InputSize), InputSize, projection, g, accumulate: false);
        if (BiasIh >= 0) AddRowVector(projection, rows, Values(BiasIh, g));
    }

    /// <summary>One step forward for the first <paramref name="batch"/> rows: reads Hidden[t] (and Cell[t]), writes Hidden[t+1], the gates and what backward needs.</summary>
    public abstract void ForwardStep(DirectionWorkspace<T> ws, int t, int batch);

    /// <summary>
    /// One step backward for the first <paramref name="batch"/> rows: reads dHidden = ∂L/∂h_t (and dCell),
    /// writes dInputProjection[t], dHiddenProjection[t] and dHiddenPrev = ∂L/∂h_{t−1} (and dCellPrev).
    /// </summary>
    public abstract void BackwardStep(DirectionWorkspace<T> ws, int t, int batch);

    /// <summary>
    /// All steps at once, after the time loop: dW_ih += dXpᵀ·X, db_ih += Σ dXp, dX = dXp·W_ih; then
    /// the recurrent weights' gradients (<see cref="AccumulateRecurrentGradients"/>).
    /// </summary>
    public void FinishBackward(DirectionWorkspace<T> ws)
    {
        int rows = ws.Steps * ws.Batch, g = GateWidth;
        ReadOnlySpan<T> dProjection = ws.dInputProjection.AsSpan(0, rows * g);
        Gemm.Multiply(true, false, g, InputSize, rows, dProjection, g, ws.Input, InputSize, Grads(WeightIh, g * InputSize), InputSize, accumulate: true);
        if (BiasIh >= 0) AddColumnSums(dProjection, rows, Grads(BiasIh, g));
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
    /// kernel are left unpacked.
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
        if (Gemm.UsePacked<T>(ws.Batch, n, k)) pack.Pack(transposed, k, n, Values(WeightHh + firstRow * h, rows * h), h);
        else pack.Release();
    }

    /// <summary>
    /// C (=|+=) A · op(W_sub) for the live rows, with W_sub = rows [firstRow, firstRow + rows) of W_hh and
    /// op = transpose in the forward direction: from the pack in <paramref name="slot"/> when it is ready
    /// and the product is large enough, else straight from the weights.
    /// </summary>
    protected void MultiplyRecurrent(DirectionWorkspace<T> ws, int slot, bool transposed, int firstRow, int rows, int batch,
        ReadOnlySpan<T> a, int lda, Span<T> c, int ldc, bool accumulate)
    {
        int h = HiddenSize, k = transposed ? h : rows, n = transposed ? rows : h;
        var pack = ws.Packs[slot];
        if (pack.IsReady && Gemm.UsePacked<T>(batch, n, k))
            Gemm.MultiplyPacked(false, batch, a, lda, pack, c, ldc, accumulate);
        else
            Gemm.Multiply(false, transposed, batch, n, k, a, lda, Values(WeightHh + firstRow * h, rows * h), h, c, ldc, accumulate);
    }

    /// <summary>StepProjection = h_{t−1} · W_hhᵀ + b_hh for the live rows: (b, G·H).</summary>
    protected Span<T> ProjectHidden(DirectionWorkspace<T> ws, int t, int batch)
    {
        int g = GateWidth, h = HiddenSize;
        Span<T> projection = ws.StepProjection.AsSpan(0, batch * g);
        MultiplyRecurrent(ws, RecurrentPack.Forward, transposed: true, 0, g, batch, ws.Hidden.AsSpan(t * ws.Batch * h, batch * h), h, projection, g, accumulate: false);
        if (BiasHh >= 0) AddRowVector(projection, batch, Values(BiasHh, g));
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
