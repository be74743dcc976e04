using Gated.Kernels;
using Gated.Layers;
using Gated.Memory;

namespace Gated.Tests.Reference;

/// <summary>
/// A deliberately naive float64 forward pass of a recurrent stack, written from the equations in the
/// documentation only (not from the library's kernels): one sequence at a time, one layer, one
/// direction and one step at a time, explicit loops for every matrix-vector product, parameters
/// read by name. No sorting, no workspaces, no Gemm. Dropout is not modelled (run the layer with
/// <c>Training = false</c> or <c>Dropout = 0</c>).
/// </summary>
internal static class ReferenceRecurrent
{
    /// <summary>The reference's results, in the layer's user layout.</summary>
    /// <param name="Output">(T, B, D·H) or (B, T, D·H) batch-first; zero at padded steps.</param>
    /// <param name="HiddenState">h_n, (L·D, B, H).</param>
    /// <param name="CellState">c_n for the LSTM, (L·D, B, H); null otherwise.</param>
    internal sealed record Result(double[] Output, double[] HiddenState, double[]? CellState);

    /// <summary>Runs the stack described by <paramref name="options"/> with the parameters in <paramref name="parameters"/>.</summary>
    /// <param name="input">(T, B, I), or (B, T, I) when batch-first.</param>
    /// <param name="h0">(L·D, B, H) or null for zeros.</param>
    /// <param name="c0">(L·D, B, H) or null for zeros (LSTM only).</param>
    /// <param name="lengths">Each sequence's length; null means all T.</param>
    public static Result Forward(RecurrentOptions options, ParameterBlock<double> parameters, Tensor<double> input,
        Tensor<double>? h0 = null, Tensor<double>? c0 = null, IReadOnlyList<int>? lengths = null)
    {
        var o = options;
        int steps = o.BatchFirst ? input.Dim(1) : input.Dim(0);
        int batch = o.BatchFirst ? input.Dim(0) : input.Dim(1);
        int inputSize = o.InputSize, h = o.HiddenSize, layers = o.NumLayers, directions = o.Bidirectional ? 2 : 1;
        int width = directions * h;
        bool lstm = o.Cell == CellKind.Lstm;

        var output = new double[steps * batch * width];
        var hn = new double[layers * directions * batch * h];
        double[]? cn = lstm ? new double[layers * directions * batch * h] : null;

        for (int b = 0; b < batch; b++)
        {
            int length = lengths is null ? steps : lengths[b];

            // This sequence's input, one vector per step, in its own time order.
            var sequence = new double[length][];
            for (int t = 0; t < length; t++)
            {
                sequence[t] = new double[inputSize];
                int index = o.BatchFirst ? b * steps + t : t * batch + b;
                for (int i = 0; i < inputSize; i++) sequence[t][i] = input.Data[index * inputSize + i];
            }

            for (int layer = 0; layer < layers; layer++)
            {
                var next = new double[length][];
                for (int t = 0; t < length; t++) next[t] = new double[width];

                for (int direction = 0; direction < directions; direction++)
                {
                    int state = layer * directions + direction;
                    string suffix = "_l" + layer + (direction == 1 ? "_reverse" : "");
                    var hidden = new double[h];
                    var cell = new double[h];
                    for (int j = 0; j < h; j++)
                    {
                        if (h0 is not null) hidden[j] = h0.Data[(state * batch + b) * h + j];
                        if (c0 is not null) cell[j] = c0.Data[(state * batch + b) * h + j];
                    }

                    for (int s = 0; s < length; s++)
                    {
                        int t = direction == 0 ? s : length - 1 - s;
                        double[] x = sequence[t];
                        switch (o.Cell)
                        {
                            case CellKind.Gru:
                                hidden = GruStep(o, parameters, suffix, x, hidden);
                                break;
                            case CellKind.Lstm:
                                (hidden, cell) = LstmStep(o, parameters, suffix, x, hidden, cell);
                                break;
                            default:
                                hidden = RnnStep(o, parameters, suffix, x, hidden);
                                break;
                        }
                        for (int j = 0; j < h; j++) next[t][direction * h + j] = hidden[j];
                    }

                    for (int j = 0; j < h; j++)
                    {
                        hn[(state * batch + b) * h + j] = hidden[j];
                        if (cn is not null) cn[(state * batch + b) * h + j] = cell[j];
                    }
                }
                sequence = next;
            }

            for (int t = 0; t < length; t++)
            {
                int index = o.BatchFirst ? b * steps + t : t * batch + b;
                for (int j = 0; j < width; j++) output[index * width + j] = sequence[t][j];
            }
        }
        return new Result(output, hn, cn);
    }

    /// <summary>Row <paramref name="row"/> of a row-major (rows, x.Length) matrix times x.</summary>
    private static double RowDot(ParameterBlock<double> p, string name, int row, double[] x)
    {
        Span<double> w = p.Value(name);
        int columns = x.Length;
        if (w.Length % columns != 0) throw new InvalidOperationException($"{name} has {w.Length} values, not a multiple of {columns} columns.");
        double sum = 0;
        for (int k = 0; k < columns; k++) sum += w[row * columns + k] * x[k];
        return sum;
    }

    private static double InputBias(RecurrentOptions o, ParameterBlock<double> p, string suffix, int index) =>
        o.Bias == BiasMode.None ? 0.0 : p.Value("bias_ih" + suffix)[index];

    private static double HiddenBias(RecurrentOptions o, ParameterBlock<double> p, string suffix, int index) =>
        o.Bias == BiasMode.InputAndHidden ? p.Value("bias_hh" + suffix)[index] : 0.0;

    /// <summary>W_ih[row]·x + b_ih[row].</summary>
    private static double InputPart(RecurrentOptions o, ParameterBlock<double> p, string suffix, int row, double[] x) =>
        RowDot(p, "weight_ih" + suffix, row, x) + InputBias(o, p, suffix, row);

    /// <summary>W_hh[row]·v + b_hh[row].</summary>
    private static double HiddenPart(RecurrentOptions o, ParameterBlock<double> p, string suffix, int row, double[] v) =>
        RowDot(p, "weight_hh" + suffix, row, v) + HiddenBias(o, p, suffix, row);

    private static double[] GruStep(RecurrentOptions o, ParameterBlock<double> p, string suffix, double[] x, double[] hPrev)
    {
        int h = o.HiddenSize;
        var g = o.Gru;
        bool noReset = (g.Ablation & GruAblation.NoResetGate) != 0;
        bool noUpdate = (g.Ablation & GruAblation.NoUpdateGate) != 0;

        var r = new double[h];
        var z = new double[h];
        for (int j = 0; j < h; j++)
        {
            double ar = InputPart(o, p, suffix, j, x) + HiddenPart(o, p, suffix, j, hPrev);
            double az = InputPart(o, p, suffix, h + j, x) + HiddenPart(o, p, suffix, h + j, hPrev);
            r[j] = noReset ? 1.0 : Apply(g.GateActivation, ar);
            z[j] = Apply(g.GateActivation, az);
        }

        var resetHidden = new double[h];
        for (int j = 0; j < h; j++) resetHidden[j] = r[j] * hPrev[j];

        var next = new double[h];
        for (int j = 0; j < h; j++)
        {
            double an = g.Reset == ResetGatePosition.AfterProduct
                ? InputPart(o, p, suffix, 2 * h + j, x) + r[j] * HiddenPart(o, p, suffix, 2 * h + j, hPrev)
                : InputPart(o, p, suffix, 2 * h + j, x) + HiddenPart(o, p, suffix, 2 * h + j, resetHidden);
            double n = Apply(g.CandidateActivation, an);
            if (noUpdate) next[j] = n;
            else if (g.UpdateGate == UpdateGateConvention.KeepPrevious) next[j] = z[j] * hPrev[j] + (1 - z[j]) * n;
            else next[j] = (1 - z[j]) * hPrev[j] + z[j] * n;
        }
        return next;
    }

    private static (double[] Hidden, double[] Cell) LstmStep(RecurrentOptions o, ParameterBlock<double> p, string suffix, double[] x, double[] hPrev, double[] cPrev)
    {
        int h = o.HiddenSize;
        var l = o.Lstm;
        var hidden = new double[h];
        var cell = new double[h];
        for (int j = 0; j < h; j++)
        {
            double ai = InputPart(o, p, suffix, j, x) + HiddenPart(o, p, suffix, j, hPrev);
            double af = InputPart(o, p, suffix, h + j, x) + HiddenPart(o, p, suffix, h + j, hPrev);
            double ag = InputPart(o, p, suffix, 2 * h + j, x) + HiddenPart(o, p, suffix, 2 * h + j, hPrev);
            double ao = InputPart(o, p, suffix, 3 * h + j, x) + HiddenPart(o, p, suffix, 3 * h + j, hPrev);
            double i = Apply(l.GateActivation, ai);
            double f = Apply(l.GateActivation, af);
            double gg = Apply(l.CellInputActivation, ag);
            double og = Apply(l.GateActivation, ao);
            cell[j] = f * cPrev[j] + i * gg;
            hidden[j] = og * Apply(l.CellOutputActivation, cell[j]);
        }
        return (hidden, cell);
    }

    private static double[] RnnStep(RecurrentOptions o, ParameterBlock<double> p, string suffix, double[] x, double[] hPrev)
    {
        int h = o.HiddenSize;
        var next = new double[h];
        for (int j = 0; j < h; j++)
            next[j] = Apply(o.RnnNonlinearity, InputPart(o, p, suffix, j, x) + HiddenPart(o, p, suffix, j, hPrev));
        return next;
    }

    /// <summary>The activations, written out from their definitions in <see cref="ActivationKind"/>.</summary>
    internal static double Apply(Activation a, double x) => a.Kind switch
    {
        ActivationKind.Sigmoid => 1.0 / (1.0 + Math.Exp(-x)),
        ActivationKind.Tanh => Math.Tanh(x),
        ActivationKind.Relu => x > 0 ? x : 0.0,
        ActivationKind.HardSigmoid => Math.Min(1.0, Math.Max(0.0, a.Alpha * x + a.Beta)),
        ActivationKind.LeakyRelu => x >= 0 ? x : a.Alpha * x,
        ActivationKind.Softsign => x / (1.0 + Math.Abs(x)),
        ActivationKind.ScaledTanh => a.Alpha * Math.Tanh(a.Beta * x),
        ActivationKind.Affine => a.Alpha * x + a.Beta,
        ActivationKind.Elu => x > 0 ? x : a.Alpha * (Math.Exp(x) - 1.0),
        _ => throw new ArgumentOutOfRangeException(nameof(a), $"unknown activation {a.Kind}"),
    };
}
