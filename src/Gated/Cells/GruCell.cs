using System.Numerics;
using System.Numerics.Tensors;
using Gated.Kernels;
using Gated.Layers;
using Gated.Memory;

namespace Gated.Cells;

/// <summary>
/// The gated recurrent unit, one step forward and one step backward, in every convention Gated offers.
/// </summary>
/// <remarks>
/// <para>Forward, for each live row (x_t the input, h_{t−1} the previous state):</para>
/// <code>
/// a_r = W_ir x_t + b_ir + W_hr h_{t−1} + b_hr        r = f(a_r)        (r ≡ 1 with NoResetGate)
/// a_z = W_iz x_t + b_iz + W_hz h_{t−1} + b_hz        z = f(a_z)
/// ResetGatePosition.AfterProduct:   a_n = W_in x_t + b_in + r ⊙ (W_hn h_{t−1} + b_hn)
/// ResetGatePosition.BeforeProduct:  a_n = W_in x_t + b_in + W_hn (r ⊙ h_{t−1}) + b_hn
/// ĥ = g(a_n)
/// UpdateGateConvention.KeepPrevious:   h_t = z ⊙ h_{t−1} + (1 − z) ⊙ ĥ
/// UpdateGateConvention.TakeCandidate:  h_t = (1 − z) ⊙ h_{t−1} + z ⊙ ĥ
/// NoUpdateGate: z is pinned (0 or 1 by convention) so that h_t = ĥ.
/// </code>
/// <para>where f is the gate activation (sigmoid by default), g the candidate activation (tanh),
/// W_i* the H×I row blocks of <c>weight_ih</c> in order r | z | n, W_h* the H×H row blocks of
/// <c>weight_hh</c>, and b_i*, b_h* the blocks of <c>bias_ih</c>, <c>bias_hh</c> (zero when absent).</para>
/// <para>Saved for backward: r, z, ĥ (Gates), h_{t−1} (Hidden[t]) and the reset term
/// ρ = W_hn h_{t−1} + b_hn (after) or ρ = r ⊙ h_{t−1} (before).</para>
/// <para>Backward, from δh = ∂L/∂h_t (KeepPrevious; TakeCandidate swaps z and 1 − z and negates δz):</para>
/// <code>
/// δĥ = δh ⊙ (1 − z)            δa_n = δĥ ⊙ g'(ĥ)
/// δz = δh ⊙ (h_{t−1} − ĥ)      δa_z = δz ⊙ f'(z)
/// δh_{t−1} = δh ⊙ z  (direct path)
/// after:  δr = δa_n ⊙ ρ,  ∂L/∂(W_hn h_{t−1} + b_hn) = δa_n ⊙ r
/// before: δρ = δa_n W_hn,  δr = δρ ⊙ h_{t−1},  δh_{t−1} += δρ ⊙ r,  ∂L/∂W_hn += δa_nᵀ ρ
/// δa_r = δr ⊙ f'(r)
/// δh_{t−1} += [δa_r | δa_z | δa_hn] · W_hh   (after; before uses only the r | z blocks)
/// </code>
/// <para>The gradient w.r.t. the input projection is [δa_r | δa_z | δa_n]; weight gradients are
/// summed over all steps after the loop (<see cref="RecurrentCell{T}.FinishBackward"/>).</para>
/// </remarks>
internal sealed class GruCell<T> : RecurrentCell<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly GruOptions options;
    private readonly bool keepPrevious;
    private readonly bool resetAfterProduct;
    private readonly bool hasResetGate;
    private readonly bool hasUpdateGate;

    public GruCell(ParameterBlock<T> parameters, string suffix, int inputSize, int hiddenSize, GruOptions options)
        : base(parameters, suffix, inputSize, hiddenSize, gateCount: 3)
    {
        this.options = options;
        keepPrevious = options.UpdateGate == UpdateGateConvention.KeepPrevious;
        resetAfterProduct = options.Reset == ResetGatePosition.AfterProduct;
        hasResetGate = (options.Ablation & GruAblation.NoResetGate) == 0;
        hasUpdateGate = (options.Ablation & GruAblation.NoUpdateGate) == 0;
    }

    public override DirectionWorkspace<T> CreateWorkspace() =>
        new(InputSize, HiddenSize, GateCount, hasCell: false, hasResetTerm: true, separateHiddenGradient: true);

    /// <summary>With the reset before the product the steps multiply by W_hh[r|z] and W_hn separately, so each is packed alone.</summary>
    public override void PackForward(DirectionWorkspace<T> ws)
    {
        if (resetAfterProduct)
        {
            base.PackForward(ws);
            return;
        }
        PackRecurrent(ws, RecurrentPack.ForwardResetUpdate, transposed: true, 0, 2 * HiddenSize);
        PackRecurrent(ws, RecurrentPack.ForwardCandidate, transposed: true, 2 * HiddenSize, HiddenSize);
    }

    /// <inheritdoc/>
    public override void PackBackward(DirectionWorkspace<T> ws)
    {
        if (resetAfterProduct)
        {
            base.PackBackward(ws);
            return;
        }
        PackRecurrent(ws, RecurrentPack.BackwardResetUpdate, transposed: false, 0, 2 * HiddenSize);
        PackRecurrent(ws, RecurrentPack.BackwardCandidate, transposed: false, 2 * HiddenSize, HiddenSize);
    }

    protected override void ForwardRows(DirectionWorkspace<T> ws, int t, int batch, int first, int end)
    {
        int h = HiddenSize, g = GateWidth, rowBase = t * ws.Batch;
        // (b, 3H): W_hh h_{t−1} + b_hh, all three blocks when the reset acts after the product,
        // only r | z when it acts before (the n block is computed from r ⊙ h_{t−1} below).
        Span<T> hp = resetAfterProduct ? ProjectHidden(ws, t, batch, first, end) : ProjectHiddenResetUpdate(ws, t, batch, first, end);
        // T z's pinned value under NoUpdateGate: the one that makes h_t = ĥ.
        T pinnedZ = keepPrevious ? T.Zero : T.One;

        for (int row = first; row < end; row++)
        {
            ReadOnlySpan<T> xp = ws.InputProjection.AsSpan((rowBase + row) * g, g);
            Span<T> gates = ws.Gates.AsSpan((rowBase + row) * g, g);
            ReadOnlySpan<T> hpRow = hp.Slice(row * g, g);
            // a_r, a_z
            TensorPrimitives.Add(xp[..(2 * h)], hpRow[..(2 * h)], gates[..(2 * h)]);
            options.GateActivation.Apply(gates[..(2 * h)]);
            if (!hasResetGate) gates[..h].Fill(T.One);
            if (!hasUpdateGate) gates.Slice(h, h).Fill(pinnedZ);
        }

        if (!resetAfterProduct) ProjectResetHidden(ws, t, batch, first, end);

        for (int row = first; row < end; row++)
        {
            int r0 = rowBase + row;
            ReadOnlySpan<T> xp = ws.InputProjection.AsSpan(r0 * g, g);
            Span<T> gates = ws.Gates.AsSpan(r0 * g, g);
            Span<T> resetTerm = ws.ResetTerm.AsSpan(r0 * h, h);
            ReadOnlySpan<T> r = gates[..h];
            Span<T> candidate = gates.Slice(2 * h, h);
            if (resetAfterProduct)
            {
                // ρ = W_hn h_{t−1} + b_hn;  a_n = W_in x + b_in + r ⊙ ρ
                hp.Slice(row * g + 2 * h, h).CopyTo(resetTerm);
                TensorPrimitives.MultiplyAdd(r, resetTerm, xp.Slice(2 * h, h), candidate);
            }
            else
            {
                // a_n = W_in x + b_in + (W_hn (r ⊙ h_{t−1}) + b_hn), the bracket already in StepProjection's n block
                TensorPrimitives.Add(xp.Slice(2 * h, h), hp.Slice(row * g + 2 * h, h), candidate);
            }
        }
        for (int row = first; row < end; row++)
            options.CandidateActivation.Apply(ws.Gates.AsSpan((rowBase + row) * g + 2 * h, h));

        for (int row = first; row < end; row++)
        {
            int r0 = rowBase + row;
            ReadOnlySpan<T> gates = ws.Gates.AsSpan(r0 * g, g);
            ReadOnlySpan<T> z = gates.Slice(h, h), candidate = gates.Slice(2 * h, h);
            ReadOnlySpan<T> hPrev = ws.Hidden.AsSpan(r0 * h, h);
            Span<T> hNext = ws.Hidden.AsSpan((r0 + ws.Batch) * h, h);
            // KeepPrevious: h_t = z ⊙ h_{t−1} + (1 − z) ⊙ ĥ;  TakeCandidate: h_t = (1 − z) ⊙ h_{t−1} + z ⊙ ĥ
            if (keepPrevious) TensorPrimitives.Lerp(candidate, hPrev, z, hNext);
            else TensorPrimitives.Lerp(hPrev, candidate, z, hNext);
        }
    }

    protected override void BackwardRows(DirectionWorkspace<T> ws, int t, int batch, int first, int end)
    {
        int h = HiddenSize, g = GateWidth, rowBase = t * ws.Batch;
        Span<T> dHiddenPrev = ws.HiddenGradient(t - 1).AsSpan(0, batch * h);

        // Interpolation: h_t = z ⊙ h_{t−1} + (1 − z) ⊙ ĥ (or the other convention).
        for (int row = first; row < end; row++)
        {
            int r0 = rowBase + row;
            ReadOnlySpan<T> gates = ws.Gates.AsSpan(r0 * g, g);
            ReadOnlySpan<T> z = gates.Slice(h, h), candidate = gates.Slice(2 * h, h);
            ReadOnlySpan<T> hPrev = ws.Hidden.AsSpan(r0 * h, h);
            ReadOnlySpan<T> dh = ws.HiddenGradient(t).AsSpan(row * h, h);
            Span<T> dxp = ws.dInputProjection.AsSpan(r0 * g, g);
            Span<T> dhPrev = dHiddenPrev.Slice(row * h, h);
            Span<T> dz = dxp.Slice(h, h), dCandidate = dxp.Slice(2 * h, h);
            // KeepPrevious: δĥ = δh ⊙ (1 − z), δz = δh ⊙ (h_{t−1} − ĥ), δh_{t−1} = δh ⊙ z;
            // TakeCandidate swaps z and 1 − z and the sign of δz.
            GateKernels.InterpolationBackward(keepPrevious, dh, z, hPrev, candidate, dCandidate, dz, dhPrev);
            // δa_n = δĥ ⊙ g'(ĥ);  δa_z = δz ⊙ f'(z)
            options.CandidateActivation.MultiplyByDerivative(candidate, dCandidate);
            if (hasUpdateGate) options.GateActivation.MultiplyByDerivative(z, dz);
            else dz.Clear();
        }

        if (resetAfterProduct)
        {
            for (int row = first; row < end; row++)
            {
                int r0 = rowBase + row;
                ReadOnlySpan<T> r = ws.Gates.AsSpan(r0 * g, h);
                ReadOnlySpan<T> resetTerm = ws.ResetTerm.AsSpan(r0 * h, h);
                Span<T> dxp = ws.dInputProjection.AsSpan(r0 * g, g);
                Span<T> dhp = ws.dHiddenProjection.AsSpan(r0 * g, g);
                Span<T> dr = dxp[..h];
                ReadOnlySpan<T> dCandidatePre = dxp.Slice(2 * h, h);
                // a_n = W_in x + b_in + r ⊙ ρ:  δr = δa_n ⊙ ρ,  δρ = δa_n ⊙ r
                TensorPrimitives.Multiply(dCandidatePre, resetTerm, dr);
                TensorPrimitives.Multiply(dCandidatePre, r, dhp.Slice(2 * h, h));
                if (hasResetGate) options.GateActivation.MultiplyByDerivative(r, dr);
                else dr.Clear();
                dxp[..(2 * h)].CopyTo(dhp);
            }
            // δh_{t−1} += [δa_r | δa_z | δρ] · W_hh
            MultiplyRecurrent(ws, RecurrentPack.Backward, transposed: false, 0, g, batch, first, end,
                ws.dHiddenProjection.AsSpan(rowBase * g, batch * g), g, dHiddenPrev, h, accumulate: true);
        }
        else
        {
            // a_n = W_in x + b_in + W_hn ρ + b_hn with ρ = r ⊙ h_{t−1}:  δρ = δa_n · W_hn
            Span<T> dResetTerm = ws.StepScratch.AsSpan(0, batch * h);
            MultiplyRecurrent(ws, RecurrentPack.BackwardCandidate, transposed: false, 2 * h, h, batch, first, end,
                ws.dInputProjection.AsSpan(rowBase * g + 2 * h, batch * g - 2 * h), g, dResetTerm, h, accumulate: false);
            for (int row = first; row < end; row++)
            {
                int r0 = rowBase + row;
                ReadOnlySpan<T> r = ws.Gates.AsSpan(r0 * g, h);
                ReadOnlySpan<T> hPrev = ws.Hidden.AsSpan(r0 * h, h);
                ReadOnlySpan<T> dRho = dResetTerm.Slice(row * h, h);
                Span<T> dxp = ws.dInputProjection.AsSpan(r0 * g, g);
                Span<T> dhPrev = dHiddenPrev.Slice(row * h, h);
                Span<T> dr = dxp[..h];
                // δr = δρ ⊙ h_{t−1};  δh_{t−1} += δρ ⊙ r
                TensorPrimitives.Multiply(dRho, hPrev, dr);
                TensorPrimitives.MultiplyAdd(dRho, r, dhPrev, dhPrev);
                if (hasResetGate) options.GateActivation.MultiplyByDerivative(r, dr);
                else dr.Clear();
                dxp.CopyTo(ws.dHiddenProjection.AsSpan(r0 * g, g));
            }
            // δh_{t−1} += [δa_r | δa_z] · W_hh[r|z]
            MultiplyRecurrent(ws, RecurrentPack.BackwardResetUpdate, transposed: false, 0, 2 * h, batch, first, end,
                ws.dHiddenProjection.AsSpan(rowBase * g, batch * g), g, dHiddenPrev, h, accumulate: true);
        }
    }

    /// <summary>With the reset before the product: dW_hh[r|z] += δa_{r|z}ᵀ · H_prev, dW_hn += δa_nᵀ · (r ⊙ H_prev), db_hh += Σ δa.</summary>
    protected override void AccumulateRecurrentGradients(DirectionWorkspace<T> ws)
    {
        if (resetAfterProduct)
        {
            base.AccumulateRecurrentGradients(ws);
            return;
        }
        int rows = ws.Steps * ws.Batch, g = GateWidth, h = HiddenSize;
        ReadOnlySpan<T> dHp = ws.dHiddenProjection.AsSpan(0, rows * g);
        Gemm.Multiply(true, false, 2 * h, h, rows, dHp, g, ws.Hidden, h, Grads(WeightHh, 2 * h * h), h, accumulate: true);
        Gemm.Multiply(true, false, h, h, rows, dHp[(2 * h)..], g, ws.ResetTerm, h, Grads(WeightHh + 2 * h * h, h * h), h, accumulate: true);
        if (BiasHh >= 0) AddColumnSums(dHp, rows, Grads(BiasHh, g));
    }

    /// <summary>Reset before the product, first half, for rows [first, end): StepProjection[:, r|z] = h_{t−1} · W_hh[r|z]ᵀ + b_hh[r|z].</summary>
    private Span<T> ProjectHiddenResetUpdate(DirectionWorkspace<T> ws, int t, int batch, int first, int end)
    {
        int g = GateWidth, h = HiddenSize;
        Span<T> projection = ws.StepProjection.AsSpan(0, batch * g);
        MultiplyRecurrent(ws, RecurrentPack.ForwardResetUpdate, transposed: true, 0, 2 * h, batch, first, end,
            ws.Hidden.AsSpan(t * ws.Batch * h, batch * h), h, projection, g, accumulate: false);
        if (BiasHh >= 0)
        {
            ReadOnlySpan<T> bias = Values(BiasHh, 2 * h);
            for (int row = first; row < end; row++)
            {
                Span<T> p = projection.Slice(row * g, 2 * h);
                TensorPrimitives.Add(p, bias, p);
            }
        }
        return projection;
    }

    /// <summary>Reset before the product, second half, for rows [first, end): ρ = r ⊙ h_{t−1}; StepProjection[:, n] = ρ · W_hnᵀ + b_hn.</summary>
    private void ProjectResetHidden(DirectionWorkspace<T> ws, int t, int batch, int first, int end)
    {
        int g = GateWidth, h = HiddenSize, rowBase = t * ws.Batch;
        for (int row = first; row < end; row++)
        {
            int r0 = rowBase + row;
            ReadOnlySpan<T> r = ws.Gates.AsSpan(r0 * g, h);
            ReadOnlySpan<T> hPrev = ws.Hidden.AsSpan(r0 * h, h);
            Span<T> rho = ws.ResetTerm.AsSpan(r0 * h, h);
            TensorPrimitives.Multiply(r, hPrev, rho);
        }
        Span<T> projection = ws.StepProjection.AsSpan(0, batch * g);
        MultiplyRecurrent(ws, RecurrentPack.ForwardCandidate, transposed: true, 2 * h, h, batch, first, end,
            ws.ResetTerm.AsSpan(rowBase * h, batch * h), h, projection[(2 * h)..], g, accumulate: false);
        if (BiasHh >= 0)
        {
            ReadOnlySpan<T> bias = Values(BiasHh + 2 * h, h);
            for (int row = first; row < end; row++)
            {
                Span<T> p = projection.Slice(row * g + 2 * h, h);
                TensorPrimitives.Add(p, bias, p);
            }
        }
    }
}
