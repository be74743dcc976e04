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

    public override void ForwardStep(DirectionWorkspace<T> ws, int t, int batch)
    {
        int h = HiddenSize, rowBase = t * ws.Batch;
        Span<T> hp = ProjectHidden(ws, t, batch);
        Span<T> a = ws.Gates.AsSpan(rowBase * h, batch * h);
        ReadOnlySpan<T> xp = ws.InputProjection.AsSpan(rowBase * h, batch * h);
        TensorPrimitives.Add(xp, hp, a);
        nonlinearity.Apply(a);
        a.CopyTo(ws.Hidden.AsSpan((rowBase + ws.Batch) * h, batch * h));
    }

    public override void BackwardStep(DirectionWorkspace<T> ws, int t, int batch)
    {
        int h = HiddenSize, rowBase = t * ws.Batch;
        Span<T> da = ws.dInputProjection.AsSpan(rowBase * h, batch * h);
        ws.dHidden.AsSpan(0, batch * h).CopyTo(da);
        nonlinearity.MultiplyByDerivative(ws.Gates.AsSpan(rowBase * h, batch * h), da);
        MultiplyRecurrent(ws, RecurrentPack.Backward, transposed: false, 0, h, batch, da, h, ws.dHiddenPrev.AsSpan(0, batch * h), h, accumulate: false);
    }
}
