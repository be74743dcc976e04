using System.Numerics;
using System.Numerics.Tensors;
using Gated.Kernels;
using Gated.Memory;

namespace Gated.Cells;

/// <summary>
/// The plain (Elman) recurrent cell, one step forward and one step backward.
/// </summary>
/// <remarks>
/// <code>
/// Forward:   h_t = φ(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)       φ = tanh or ReLU
/// Backward:  δa = δh ⊙ φ'(h_t)        δh_{t−1} = δa · W_hh
/// </code>
/// <para>Saved for backward: h_t (Gates holds it, as the single gate block, G = 1) and h_{t−1}.</para>
/// </remarks>
internal sealed class RnnCell<T> : RecurrentCell<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Activation nonlinearity;

    public RnnCell(ParameterBlock<T> parameters, string suffix, int inputSize, int hiddenSize, Activation nonlinearity)
        : base(parameters, suffix, inputSize, hiddenSize, gateCount: 1) => this.nonlinearity = nonlinearity;

    public override DirectionWorkspace<T> CreateWorkspace() =>
        new(InputSize, HiddenSize, GateCount, hasCell: false, hasResetTerm: false, separateHiddenGradient: false);

    protected override void ForwardRows(DirectionWorkspace<T> ws, int t, int batch, int first, int end)
    {
        int h = HiddenSize, rowBase = t * ws.Batch;
        Span<T> hp = ProjectHidden(ws, t, batch, first, end);
        for (int row = first; row < end; row++)
        {
            // One row at a time, so that each row's activation takes the same code path whatever the split.
            Span<T> a = ws.Gates.AsSpan((rowBase + row) * h, h);
            TensorPrimitives.Add(ws.InputProjection.AsSpan((rowBase + row) * h, h), hp.Slice(row * h, h), a);
            nonlinearity.Apply(a);
            a.CopyTo(ws.Hidden.AsSpan((rowBase + ws.Batch + row) * h, h));
        }
    }

    protected override void BackwardRows(DirectionWorkspace<T> ws, int t, int batch, int first, int end)
    {
        int h = HiddenSize, rowBase = t * ws.Batch;
        for (int row = first; row < end; row++)
        {
            Span<T> da = ws.dInputProjection.AsSpan((rowBase + row) * h, h);
            ws.HiddenGradient(t).AsSpan(row * h, h).CopyTo(da);
            nonlinearity.MultiplyByDerivative(ws.Gates.AsSpan((rowBase + row) * h, h), da);
        }
        MultiplyRecurrent(ws, RecurrentPack.Backward, transposed: false, 0, h, batch, first, end,
            ws.dInputProjection.AsSpan(rowBase * h, batch * h), h, ws.HiddenGradient(t - 1).AsSpan(0, batch * h), h, accumulate: false);
    }
}
