using System.Numerics;
using System.Numerics.Tensors;
using Gated.Kernels;
using Gated.Layers;
using Gated.Memory;

namespace Gated.Cells;

/// <summary>
/// The long short-term memory cell with PyTorch's semantics, one step forward and one step backward.
/// </summary>
/// <remarks>
/// <para>Forward, for each live row:</para>
/// <code>
/// [a_i | a_f | a_g | a_o] = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh
/// i = f(a_i)   f_t = f(a_f)   g = g(a_g)   o = f(a_o)
/// c_t = f_t ⊙ c_{t−1} + i ⊙ g
/// h_t = o ⊙ h(c_t)
/// </code>
/// <para>where f is the gate activation (sigmoid), g the cell-input activation (tanh), h the cell-output
/// activation (tanh), and the G = 4 row blocks of the stacked weights are in the order i | f | g | o.</para>
/// <para>Saved for backward: i, f, g, o (Gates), c_{t−1}, c_t (Cell), h(c_t) (CellActivation).</para>
/// <para>Backward, from δh = ∂L/∂h_t and δc = ∂L/∂c_t arriving from step t+1:</para>
/// <code>
/// δo = δh ⊙ h(c_t)                    δa_o = δo ⊙ f'(o)
/// δc += δh ⊙ o ⊙ h'(h(c_t))
/// δi = δc ⊙ g    δg = δc ⊙ i    δf = δc ⊙ c_{t−1}     (then each times its activation's derivative)
/// δc_{t−1} = δc ⊙ f_t
/// δh_{t−1} = [δa_i | δa_f | δa_g | δa_o] · W_hh
/// </code>
/// </remarks>
internal sealed class LstmCell<T> : RecurrentCell<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly LstmOptions options;

    public LstmCell(ParameterBlock<T> parameters, string suffix, int inputSize, int hiddenSize, LstmOptions options)
        : base(parameters, suffix, inputSize, hiddenSize, gateCount: 4) => this.options = options;

    public override bool HasCellState => true;

    public override DirectionWorkspace<T> CreateWorkspace() =>
        new(InputSize, HiddenSize, GateCount, hasCell: true, hasResetTerm: false, separateHiddenGradient: false);

    protected override void ForwardRows(DirectionWorkspace<T> ws, int t, int batch, int first, int end)
    {
        int h = HiddenSize, g = GateWidth, rowBase = t * ws.Batch;
        Span<T> hp = ProjectHidden(ws, t, batch, first, end);
        for (int row = first; row < end; row++)
        {
            int r0 = rowBase + row;
            ReadOnlySpan<T> xp = ws.InputProjection.AsSpan(r0 * g, g);
            ReadOnlySpan<T> hpRow = hp.Slice(row * g, g);
            Span<T> gates = ws.Gates.AsSpan(r0 * g, g);
            TensorPrimitives.Add(xp, hpRow, gates);
            options.GateActivation.Apply(gates[..(2 * h)]);                 // i, f
            options.CellInputActivation.Apply(gates.Slice(2 * h, h));       // g
            options.GateActivation.Apply(gates.Slice(3 * h, h));            // o

            ReadOnlySpan<T> input = gates[..h], forget = gates.Slice(h, h), cellInput = gates.Slice(2 * h, h);
            ReadOnlySpan<T> cPrev = ws.Cell.AsSpan(r0 * h, h);
            Span<T> c = ws.Cell.AsSpan((r0 + ws.Batch) * h, h);
            TensorPrimitives.Multiply(forget, cPrev, c);                                        // c_t = f ⊙ c_{t−1} + i ⊙ g
            TensorPrimitives.MultiplyAdd(input, cellInput, c, c);
            Span<T> cAct = ws.CellActivation.AsSpan(r0 * h, h);
            c.CopyTo(cAct);
            options.CellOutputActivation.Apply(cAct);
            ReadOnlySpan<T> output = gates.Slice(3 * h, h);
            Span<T> hNext = ws.Hidden.AsSpan((r0 + ws.Batch) * h, h);
            TensorPrimitives.Multiply(output, cAct, hNext);                                     // h_t = o ⊙ h(c_t)
        }
    }

    protected override void BackwardRows(DirectionWorkspace<T> ws, int t, int batch, int first, int end)
    {
        int h = HiddenSize, g = GateWidth, rowBase = t * ws.Batch;
        for (int row = first; row < end; row++)
        {
            int r0 = rowBase + row;
            ReadOnlySpan<T> gates = ws.Gates.AsSpan(r0 * g, g);
            ReadOnlySpan<T> input = gates[..h], forget = gates.Slice(h, h), cellInput = gates.Slice(2 * h, h), output = gates.Slice(3 * h, h);
            ReadOnlySpan<T> cPrev = ws.Cell.AsSpan(r0 * h, h);
            ReadOnlySpan<T> cAct = ws.CellActivation.AsSpan(r0 * h, h);
            ReadOnlySpan<T> dh = ws.HiddenGradient(t).AsSpan(row * h, h);
            Span<T> dc = ws.CellGradient(t).AsSpan(row * h, h);
            Span<T> dcPrev = ws.CellGradient(t - 1).AsSpan(row * h, h);
            Span<T> dxp = ws.dInputProjection.AsSpan(r0 * g, g);
            Span<T> dInputGate = dxp[..h], dForget = dxp.Slice(h, h), dCellInput = dxp.Slice(2 * h, h), dOutput = dxp.Slice(3 * h, h);

            // h_t = o ⊙ h(c_t):  δo = δh ⊙ h(c_t);  δc += δh ⊙ o ⊙ h'(·)
            Span<T> dcFromH = ws.StepScratch.AsSpan(row * h, h);
            TensorPrimitives.Multiply(dh, cAct, dOutput);
            TensorPrimitives.Multiply(dh, output, dcFromH);
            options.CellOutputActivation.MultiplyByDerivative(cAct, dcFromH);
            // c_t = f ⊙ c_{t−1} + i ⊙ g
            Span<T> dcTotal = dcFromH;
            TensorPrimitives.Add(dc, dcFromH, dcTotal);
            TensorPrimitives.Multiply(dcTotal, cellInput, dInputGate);
            TensorPrimitives.Multiply(dcTotal, input, dCellInput);
            TensorPrimitives.Multiply(dcTotal, cPrev, dForget);
            TensorPrimitives.Multiply(dcTotal, forget, dcPrev);
            options.GateActivation.MultiplyByDerivative(input, dInputGate);
            options.GateActivation.MultiplyByDerivative(forget, dForget);
            options.CellInputActivation.MultiplyByDerivative(cellInput, dCellInput);
            options.GateActivation.MultiplyByDerivative(output, dOutput);
        }
        // δh_{t−1} = δa · W_hh
        MultiplyRecurrent(ws, RecurrentPack.Backward, transposed: false, 0, g, batch, first, end,
            ws.dInputProjection.AsSpan(rowBase * g, batch * g), g, ws.HiddenGradient(t - 1).AsSpan(0, batch * h), h, accumulate: false);
    }
}
