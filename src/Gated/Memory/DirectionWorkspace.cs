using System.Numerics;
using Gated.Kernels;

namespace Gated.Memory;

/// <summary>
/// What one direction of one layer keeps between its forward and backward passes, and the scratch
/// its time loop works in. Everything is allocated once for a (T, B) and reused; it grows only when a
/// larger shape arrives, so the per-step loops never allocate.
/// </summary>
/// <remarks>
/// Rows are indexed t·B + b: the B rows of step t are contiguous, so every per-step matrix product
/// reads and writes one block. Batches are sorted by decreasing length before they get here, so at
/// step t only the first <see cref="BatchSizes"/>[t] rows are live (as in PyTorch's packed
/// sequences); the rows beyond are zero in every gradient buffer.
/// </remarks>
internal sealed class DirectionWorkspace<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public DirectionWorkspace(int inputSize, int hiddenSize, int gateCount, bool hasCell, bool hasResetTerm, bool separateHiddenGradient)
    {
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        GateCount = gateCount;
        HasCell = hasCell;
        HasResetTerm = hasResetTerm;
        SeparateHiddenGradient = separateHiddenGradient;
    }

    public int InputSize { get; }
    public int HiddenSize { get; }
    public int GateCount { get; }
    public bool HasCell { get; }
    public bool HasResetTerm { get; }
    public bool SeparateHiddenGradient { get; }

    /// <summary>T, the number of steps of the current pass.</summary>
    public int Steps { get; private set; }
    /// <summary>B, the row stride of a step: the full batch.</summary>
    public int Batch { get; private set; }

    public int[] BatchSizes = [];         // (T)          live rows at each step
    public T[] Input = [];                // (T, B, I)    x_t as this direction reads it (reversed within length for the reverse direction)
    public T[] InputProjection = [];      // (T, B, G·H)  W_ih x_t; + b_ih once the row's step has begun
    public T[] Gates = [];                // (T, B, G·H)  activated gates, in the cell's row order
    public T[] Hidden = [];               // (T+1, B, H)  Hidden[0] = h_0, Hidden[t+1] = h_t
    public T[] Cell = [];                 // (T+1, B, H)  LSTM cell state, Cell[0] = c_0
    public T[] CellActivation = [];       // (T, B, H)    LSTM: h(c_t), the cell after its output activation
    public T[] ResetTerm = [];            // (T, B, H)    GRU: W_hn h_{t−1} + b_hn (reset after) or r ⊙ h_{t−1} (reset before)
    public T[] StepProjection = [];       // (B, G·H)     scratch: W_hh h_{t−1} + b_hh for one step
    public T[] StepScratch = [];          // (B, H)       scratch for one step's backward
    public T[] dInputProjection = [];     // (T, B, G·H)  ∂L/∂(W_ih x_t + b_ih)
    public T[] dHiddenProjection = [];    // (T, B, G·H)  ∂L/∂(W_hh h_{t−1} + b_hh); the same array as dInputProjection unless the GRU needs both
    private T[] dHiddenEven = [];         // (B, H)       ∂L/∂h_t for even t (see HiddenGradient)
    private T[] dHiddenOdd = [];          // (B, H)       ∂L/∂h_t for odd t, and ∂L/∂h_0's state (t = −1)
    private T[] dCellEven = [];           // (B, H)       LSTM ∂L/∂c_t, even t
    private T[] dCellOdd = [];            // (B, H)       LSTM ∂L/∂c_t, odd t
    public T[] dInput = [];               // (T, B, I)    ∂L/∂x_t

    /// <summary>
    /// Blocks of W_hh packed for the packed GEMM, valid during one forward or backward pass
    /// (<see cref="RecurrentPack"/> names the slots); the packs are kept to reuse their memory.
    /// </summary>
    public readonly PackedMatrix<T>[] Packs = [new(), new(), new(), new(), new(), new()];

    /// <summary>Marks every pack stale: called when a pass ends, since the weights may change after it.</summary>
    public void ReleasePacks()
    {
        foreach (var pack in Packs) pack.Release();
    }

    /// <summary>Makes every buffer large enough for <paramref name="steps"/> × <paramref name="batch"/>; allocates only when it grows.</summary>
    public void Resize(int steps, int batch)
    {
        Steps = steps;
        Batch = batch;
        int h = HiddenSize, g = GateCount * HiddenSize, i = InputSize;
        Grow(ref BatchSizes, steps);
        Grow(ref Input, steps * batch * i);
        Grow(ref InputProjection, steps * batch * g);
        Grow(ref Gates, steps * batch * g);
        Grow(ref Hidden, (steps + 1) * batch * h);
        if (HasCell)
        {
            Grow(ref Cell, (steps + 1) * batch * h);
            Grow(ref CellActivation, steps * batch * h);
            Grow(ref dCellEven, batch * h);
            Grow(ref dCellOdd, batch * h);
        }
        if (HasResetTerm) Grow(ref ResetTerm, steps * batch * h);
        Grow(ref StepProjection, batch * g);
        Grow(ref StepScratch, batch * h);
        Grow(ref dHiddenEven, batch * h);
        Grow(ref dHiddenOdd, batch * h);
    }

    /// <summary>Allocates the gradient buffers the backward pass needs (kept apart so inference never pays for them).</summary>
    public void ResizeGradients()
    {
        int g = GateCount * HiddenSize;
        Grow(ref dInputProjection, Steps * Batch * g);
        if (SeparateHiddenGradient) Grow(ref dHiddenProjection, Steps * Batch * g);
        else dHiddenProjection = dInputProjection;
        Grow(ref dInput, Steps * Batch * InputSize);
    }

    /// <summary>
    /// ∂L/∂h_t (B, H) during the backward pass: backward step t reads HiddenGradient(t) and writes
    /// HiddenGradient(t − 1); after step 0, HiddenGradient(−1) holds ∂L/∂h_0. Two buffers serve all steps,
    /// chosen by the parity of t rather than swapped after each step, so that parts of the batch running
    /// their steps on different threads (<see cref="Cells.RecurrentCell{T}.BackwardSteps"/>) agree on them
    /// without a common swap.
    /// </summary>
    public T[] HiddenGradient(int t) => (t & 1) == 0 ? dHiddenEven : dHiddenOdd;

    /// <summary>∂L/∂c_t (B, H) of the LSTM, by the parity of t as <see cref="HiddenGradient"/>.</summary>
    public T[] CellGradient(int t) => (t & 1) == 0 ? dCellEven : dCellOdd;

    private static void Grow<TElement>(ref TElement[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new TElement[length];
    }
}

/// <summary>The slots of <see cref="DirectionWorkspace{T}.Packs"/>.</summary>
internal static class RecurrentPack
{
    /// <summary>W_hhᵀ (H, G·H): h_{t−1} · W_hhᵀ.</summary>
    public const int Forward = 0;
    /// <summary>GRU, reset before the product: W_hh[r|z]ᵀ (H, 2H).</summary>
    public const int ForwardResetUpdate = 1;
    /// <summary>GRU, reset before the product: W_hnᵀ (H, H).</summary>
    public const int ForwardCandidate = 2;
    /// <summary>W_hh (G·H, H): δa · W_hh.</summary>
    public const int Backward = 3;
    /// <summary>GRU, reset before the product: W_hh[r|z] (2H, H).</summary>
    public const int BackwardResetUpdate = 4;
    /// <summary>GRU, reset before the product: W_hn (H, H).</summary>
    public const int BackwardCandidate = 5;
}
