using System.Numerics;
using Gated.Kernels;
using Gated.Layers;

namespace Gated.Onnx;

/// <summary>
/// Runs a GRU, LSTM or RNN node: checks the input shapes, brings layout 1 to time-major, and
/// computes on Gated's <see cref="RecurrentLayer{T}"/> when the node is representable there, on the
/// plain <see cref="RecurrentEvaluator"/> otherwise.
/// </summary>
/// <remarks>
/// <para>Representable means: no clip; direction forward or bidirectional; both directions with
/// the same activations, each one Gated has (every ONNX activation but ThresholdedRelu and
/// Softplus; an RNN's only Tanh or Relu); LSTM without peepholes (P absent or zero) and with
/// <c>input_forget</c> = 0; every sequence length ≥ 1. The weights are copied into the layer with
/// the gate blocks reordered (ONNX z | r | h → Gated r | z | n; ONNX i | o | f | c → Gated
/// i | f | g | o) and <c>linear_before_reset</c> = 1 as <see cref="ResetGatePosition.AfterProduct"/>,
/// 0 as <see cref="ResetGatePosition.BeforeProduct"/>. The layer is kept for the next run while the
/// weight tensors stay the same (initializers do).</para>
/// </remarks>
internal static class OnnxRecurrent
{
    /// <summary>ONNX block k → position in Gated's stacking, per cell: for Gated block j, the ONNX block it takes.</summary>
    public static int[] GatedFromOnnx(CellKind cell) => cell switch
    {
        CellKind.Gru => [1, 0, 2],      // Gated r, z, n ← ONNX r (1), z (0), h (2)
        CellKind.Lstm => [0, 2, 3, 1],  // Gated i, f, g, o ← ONNX i (0), f (2), c (3), o (1)
        _ => [0],
    };

    public static OnnxValue<T>?[] Run<T>(OnnxNode node, OnnxValue<T>?[] x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var spec = (OnnxRecurrentSpec)node.State!;
        bool lstm = spec.Cell == CellKind.Lstm;
        OnnxValue<T> input = x[0]!, w = x[1]!, r = x[2]!;
        OnnxValue<T>? b = At(x, 3), lens = At(x, 4), h0 = At(x, 5), c0 = lstm ? At(x, 6) : null, p = lstm ? At(x, 7) : null;
        foreach (var (v, name) in new[] { (input, "X"), (w, "W"), (r, "R"), (b, "B"), (h0, "initial_h"), (c0, "initial_c"), (p, "P") })
            if (v is not null && !v.IsFloat) throw node.Fail($"{name} must be floating-point, got {OnnxTypes.Name(v.ElementType)}.");

        int d = spec.Directions, g = spec.Gates;
        if (input.Rank != 3) throw node.Fail($"X must have rank 3, got {input.ShapeText}.");
        int steps = spec.Layout == 0 ? input.Shape[0] : input.Shape[1], batch = spec.Layout == 0 ? input.Shape[1] : input.Shape[0], inputSize = input.Shape[2];
        if (r.Rank != 3) throw node.Fail($"R must be (D, {g}·H, H), got {r.ShapeText}.");
        int h = spec.HiddenSize ?? r.Shape[2];
        long gh = (long)g * h;
        Expect(node, w, "W", d, gh, inputSize);
        Expect(node, r, "R", d, gh, h);
        if (b is not null) Expect(node, b, "B", d, 2 * gh);
        if (p is not null) Expect(node, p, "P", d, 3L * h);
        int[] stateShape = spec.Layout == 0 ? [d, batch, h] : [batch, d, h];
        if (h0 is not null) Expect(node, h0, "initial_h", [.. stateShape.Select(v => (long)v)]);
        if (c0 is not null) Expect(node, c0, "initial_c", [.. stateShape.Select(v => (long)v)]);
        OnnxOperators.Count(node, [steps, d, batch, h]);

        var lengths = new int[batch];
        if (lens is null) Array.Fill(lengths, steps);
        else
        {
            if (lens.Ints is null || lens.Rank != 1 || lens.Shape[0] != batch) throw node.Fail($"sequence_lens must be an integer tensor ({batch}), got {OnnxTypes.Name(lens.ElementType)} {lens.ShapeText}.");
            for (int i = 0; i < batch; i++)
            {
                long l = lens.Ints[i];
                if (l < 0 || l > steps) throw node.Fail($"sequence_lens[{i}] is {l}, outside 0..{steps}.");
                lengths[i] = (int)l;
            }
        }

        // Time-major views.
        T[] xs = input.Floats!, h0s = h0?.Floats!, c0s = c0?.Floats!;
        if (spec.Layout == 1)
        {
            xs = OnnxOperators.TransposeBy(node, input, [1, 0, 2]).Floats!;
            if (h0 is not null) h0s = OnnxOperators.TransposeBy(node, h0, [1, 0, 2]).Floats!;
            if (c0 is not null) c0s = OnnxOperators.TransposeBy(node, c0, [1, 0, 2]).Floats!;
        }

        var y = new T[steps * d * batch * h];
        var yh = new T[d * batch * h];
        T[]? yc = lstm ? new T[d * batch * h] : null;
        if (spec.AllowGatedEngine && TryGatedOptions(spec, inputSize, h, b is not null, p, lengths, steps, batch, out var options))
        {
            RunGated(spec, options, w, r, b, xs, h0s, c0s, lengths, steps, batch, h, y, yh, yc);
            spec.LastEngine = "gated";
        }
        else
        {
            RecurrentEvaluator.Run(spec, steps, batch, inputSize, h, xs, w.Floats!, r.Floats!, b?.Floats, lengths, h0s, c0s, p?.Floats, y, yh, yc);
            spec.LastEngine = "reference";
        }

        int type = input.ElementType;
        var yValue = OnnxValue<T>.Float(type, [steps, d, batch, h], y);
        var yhValue = OnnxValue<T>.Float(type, [d, batch, h], yh);
        var ycValue = yc is null ? null : OnnxValue<T>.Float(type, [d, batch, h], yc);
        if (spec.Layout == 1)
        {
            yValue = OnnxOperators.TransposeBy(node, yValue, [2, 0, 1, 3]);   // (T, D, B, H) → (B, T, D, H)
            yhValue = OnnxOperators.TransposeBy(node, yhValue, [1, 0, 2]);    // (D, B, H) → (B, D, H)
            if (ycValue is not null) ycValue = OnnxOperators.TransposeBy(node, ycValue, [1, 0, 2]);
        }
        return lstm ? [yValue, yhValue, ycValue] : [yValue, yhValue];
    }

    private static OnnxValue<T>? At<T>(OnnxValue<T>?[] x, int i) where T : unmanaged, IFloatingPointIeee754<T> => i < x.Length ? x[i] : null;

    private static void Expect<T>(OnnxNode node, OnnxValue<T> v, string name, params long[] shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!v.Shape.Select(s => (long)s).SequenceEqual(shape))
            throw node.Fail($"{name} must be {OnnxTypes.ShapeText(shape)}, got {v.ShapeText}.");
    }

    /// <summary>The Gated layer options equivalent to the node, when there are some (see the class remarks).</summary>
    private static bool TryGatedOptions<T>(OnnxRecurrentSpec spec, int inputSize, int hidden, bool hasBias, OnnxValue<T>? peepholes,
        int[] lengths, int steps, int batch, out RecurrentOptions options) where T : unmanaged, IFloatingPointIeee754<T>
    {
        options = null!;
        if (spec.Clip is not null || spec.Direction == OnnxDirection.Reverse || spec.InputForget) return false;
        if (steps == 0 || batch == 0 || inputSize == 0 || lengths.Any(l => l == 0)) return false;
        if (peepholes is not null && peepholes.Floats!.Any(v => v != T.Zero)) return false;
        var acts = spec.Activations;
        if (acts.Length == 2 && !acts[0].SequenceEqual(acts[1])) return false;
        var gated = new Activation[acts[0].Length];
        for (int i = 0; i < gated.Length; i++)
            if (!acts[0][i].TryToGated(out gated[i])) return false;
        var o = new RecurrentOptions
        {
            Cell = spec.Cell,
            InputSize = inputSize,
            HiddenSize = hidden,
            Bidirectional = spec.Directions == 2,
            Bias = hasBias ? BiasMode.InputAndHidden : BiasMode.None,
        };
        if (WithCellOptions(o, spec.Cell, spec.LinearBeforeReset, gated) is not { } withCell) return false;
        o = withCell;
        try { o.Validate(); }
        catch (ArgumentException) { return false; }
        options = o;
        return true;
    }

    /// <summary>
    /// <paramref name="options"/> with the cell's own options from an ONNX node: the GRU keeps the previous state
    /// (ONNX's convention) and applies the reset after the product when <c>linear_before_reset</c> is set; the
    /// gate and candidate/cell activations in ONNX's order. Null for an RNN whose activation is neither tanh nor ReLU.
    /// </summary>
    internal static RecurrentOptions? WithCellOptions(RecurrentOptions options, CellKind cell, bool linearBeforeReset, Activation[] gated) => cell switch
    {
        CellKind.Gru => options with
        {
            Gru = new GruOptions
            {
                UpdateGate = UpdateGateConvention.KeepPrevious,
                Reset = linearBeforeReset ? ResetGatePosition.AfterProduct : ResetGatePosition.BeforeProduct,
                GateActivation = gated[0],
                CandidateActivation = gated[1],
            },
        },
        CellKind.Lstm => options with { Lstm = new LstmOptions { GateActivation = gated[0], CellInputActivation = gated[1], CellOutputActivation = gated[2] } },
        _ => gated[0].Kind is ActivationKind.Tanh or ActivationKind.Relu ? options with { RnnNonlinearity = gated[0] } : null,
    };

    private static void RunGated<T>(OnnxRecurrentSpec spec, RecurrentOptions options, OnnxValue<T> w, OnnxValue<T> r, OnnxValue<T>? b,
        T[] x, T[]? h0, T[]? c0, int[] lengths, int steps, int batch, int h, T[] y, T[] yh, T[]? yc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        RecurrentLayer<T> layer;
        if (spec.Cached is { } c && c.Layer is RecurrentLayer<T> cached && cached.Options == options
            && ReferenceEquals(c.W, w.Floats) && ReferenceEquals(c.R, r.Floats) && ReferenceEquals(c.B, b?.Floats))
        {
            layer = cached;
        }
        else
        {
            layer = new RecurrentLayer<T>(options, seed: 0) { Training = false };
            CopyWeights(layer, w.Floats!, r.Floats!, b?.Floats);
            spec.Cached = (layer, w.Floats!, r.Floats!, b?.Floats);
        }
        int d = options.Directions, i = options.InputSize;
        var result = layer.Forward(
            new Tensor<T>(x, steps, batch, i),
            h0 is null ? null : new Tensor<T>(h0, d, batch, h),
            c0 is null ? null : new Tensor<T>(c0, d, batch, h),
            lengths.All(l => l == steps) ? null : lengths);
        // Gated's output (T, B, D·H) holds [forward | reverse] per row; ONNX's Y is (T, D, B, H).
        T[] output = result.Output.Data;
        for (int t = 0; t < steps; t++)
            for (int row = 0; row < batch; row++)
                for (int dir = 0; dir < d; dir++)
                    output.AsSpan((t * batch + row) * d * h + dir * h, h).CopyTo(y.AsSpan(((t * d + dir) * batch + row) * h, h));
        result.HiddenState.Data.CopyTo(yh, 0);
        if (yc is not null) result.CellState!.Data.CopyTo(yc, 0);
    }

    /// <summary>
    /// Copies ONNX W (D, G·H, I_k), R (D, G·H, H), B (D, 2·G·H) into layer <paramref name="layerIndex"/> of a Gated
    /// stack, reordering the gate blocks (I_k is the stack's input size for layer 0, D·H above).
    /// </summary>
    internal static void CopyWeights<T>(RecurrentLayer<T> layer, T[] w, T[] r, T[]? b, int layerIndex = 0) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var o = layer.Options;
        int h = o.HiddenSize, i = layerIndex == 0 ? o.InputSize : o.OutputSize, g = o.GateCount, gh = g * h;
        int[] source = GatedFromOnnx(o.Cell);
        var p = layer.Parameters;
        for (int dir = 0; dir < o.Directions; dir++)
        {
            string suffix = RecurrentLayer<T>.Suffix(layerIndex, dir);
            Span<T> wih = p.Value("weight_ih" + suffix), whh = p.Value("weight_hh" + suffix);
            for (int j = 0; j < g; j++)
            {
                int k = source[j];
                w.AsSpan(dir * gh * i + k * h * i, h * i).CopyTo(wih.Slice(j * h * i, h * i));
                r.AsSpan(dir * gh * h + k * h * h, h * h).CopyTo(whh.Slice(j * h * h, h * h));
                if (b is not null)
                {
                    b.AsSpan(dir * 2 * gh + k * h, h).CopyTo(p.Value("bias_ih" + suffix).Slice(j * h, h));
                    b.AsSpan(dir * 2 * gh + gh + k * h, h).CopyTo(p.Value("bias_hh" + suffix).Slice(j * h, h));
                }
            }
        }
    }
}
