using System.Numerics;
using Gated.Kernels;
using Gated.Layers;
using Gated.Memory;

namespace Gated.Interop;

/// <summary>
/// Exact conversions between Keras' recurrent weights and Gated's (PyTorch's) layout, for one layer
/// and direction, in <see cref="float"/> or <see cref="double"/>.
/// </summary>
/// <remarks>
/// <para>Keras multiplies row vectors, x_t·kernel + h_{t−1}·recurrent_kernel + bias, so its matrices are
/// the transposes of PyTorch's: <c>weight_ih</c>[j·H + k, i] = <c>kernel</c>[i, j'·u + k], where block j in
/// PyTorch's order is block j' in Keras' order. The LSTM's order is the same in both (i, f, c/g, o); the
/// GRU's is z, r, h in Keras and r, z, n in PyTorch, so the first two blocks swap.</para>
/// <para>GRU, <c>reset_after=True</c> (Keras' default since 2.3): bias (2, 3u) holds b_i (row 0) and
/// b_h (row 1), and ĥ = act(x W_h + b_ih + r ⊙ (h U_h + b_hh)): Gated's
/// <see cref="ResetGatePosition.AfterProduct"/> with <see cref="BiasMode.InputAndHidden"/>.</para>
/// <para>GRU, <c>reset_after=False</c>: bias (3u), ĥ = act(x W_h + b_h + (r ⊙ h) U_h):
/// <see cref="ResetGatePosition.BeforeProduct"/> with <see cref="BiasMode.InputOnly"/>.</para>
/// <para>Both keep the past with z: h_t = z ⊙ h_{t−1} + (1 − z) ⊙ ĥ, Gated's
/// <see cref="UpdateGateConvention.KeepPrevious"/>. The LSTM and SimpleRNN have one bias (G·u):
/// <see cref="BiasMode.InputOnly"/>.</para>
/// <para>Keras → Gated → Keras is the identity, bit for bit. Gated → Keras is exact but may fold:
/// where Keras has one bias and Gated two, b_ih + b_hh is stored (exact in real arithmetic; one
/// rounding in floating point); a take-candidate GRU is first converted to keep-previous by negating
/// its update gate (<see cref="GruConversion"/>).</para>
/// </remarks>
public static class KerasLayout
{
    /// <summary>Keras' GRU gate order is z, r, h; PyTorch's is r, z, n. The map swaps the first two and is its own inverse.</summary>
    private static int OtherBlock(CellKind cell, int block) => cell == CellKind.Gru && block < 2 ? 1 - block : block;

    /// <summary>Converts one Keras layer's weights to PyTorch's layout.</summary>
    /// <exception cref="ArgumentException">An array does not have the length its shape needs.</exception>
    public static PyTorchWeights<T> ToPyTorch<T>(KerasWeights<T> keras) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(keras);
        Check(keras);
        int u = keras.Units, i = keras.InputSize, g = keras.GateCount;
        var weightIh = new T[g * u * i];
        var weightHh = new T[g * u * u];
        Transpose(keras.Cell, keras.Kernel, weightIh, i, u, g);
        Transpose(keras.Cell, keras.RecurrentKernel, weightHh, u, u, g);
        if (keras.Bias is null) return new PyTorchWeights<T>(weightIh, weightHh, null, null);
        var biasIh = new T[g * u];
        Permute(keras.Cell, keras.Bias.AsSpan(0, g * u), biasIh, u, g);
        T[]? biasHh = null;
        if (keras.Cell == CellKind.Gru && keras.ResetAfter)
        {
            biasHh = new T[g * u];
            Permute(keras.Cell, keras.Bias.AsSpan(g * u, g * u), biasHh, u, g);
        }
        return new PyTorchWeights<T>(weightIh, weightHh, biasIh, biasHh);
    }

    /// <summary>
    /// Converts one layer and direction in PyTorch's layout to Keras' layout. For a GRU,
    /// <paramref name="resetAfter"/> must describe how the weights are used (reset after the product:
    /// true; before: false); with false, or for an LSTM or RNN, the two biases are folded into one
    /// (b_ih + b_hh), which is exact in those forms.
    /// </summary>
    /// <exception cref="ArgumentException">An array does not have the length the sizes need.</exception>
    public static KerasWeights<T> FromPyTorch<T>(CellKind cell, int inputSize, int units, PyTorchWeights<T> torch, bool resetAfter = true)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(torch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(units);
        int g = cell switch { CellKind.Gru => 3, CellKind.Lstm => 4, _ => 1 }, u = units, i = inputSize;
        CheckLength(torch.WeightIh, g * u * i, "WeightIh");
        CheckLength(torch.WeightHh, g * u * u, "WeightHh");
        if (torch.BiasIh is not null) CheckLength(torch.BiasIh, g * u, "BiasIh");
        if (torch.BiasHh is not null) CheckLength(torch.BiasHh, g * u, "BiasHh");
        var kernel = new T[i * g * u];
        var recurrent = new T[u * g * u];
        TransposeBack(cell, torch.WeightIh, kernel, i, u, g);
        TransposeBack(cell, torch.WeightHh, recurrent, u, u, g);
        T[]? bias = null;
        bool twoRows = cell == CellKind.Gru && resetAfter;
        if (torch.BiasIh is not null || torch.BiasHh is not null)
        {
            bias = new T[(twoRows ? 2 : 1) * g * u];
            if (torch.BiasIh is not null) PermuteBack(cell, torch.BiasIh, bias.AsSpan(0, g * u), u, g);
            if (torch.BiasHh is not null)
            {
                if (twoRows) PermuteBack(cell, torch.BiasHh, bias.AsSpan(g * u, g * u), u, g);
                else
                {
                    var folded = new T[g * u];
                    PermuteBack(cell, torch.BiasHh, folded, u, g);
                    for (int j = 0; j < folded.Length; j++) bias[j] += folded[j];
                }
            }
        }
        return new KerasWeights<T>(cell, i, u, kernel, recurrent, bias) { ResetAfter = cell != CellKind.Gru || resetAfter };
    }

    /// <summary>
    /// A Gated layer computing exactly what the Keras layer computes (single layer, one direction):
    /// the options follow from <see cref="KerasWeights{T}.Cell"/>, <see cref="KerasWeights{T}.ResetAfter"/>,
    /// the activations and whether there is a bias, as the class remarks say.
    /// </summary>
    /// <param name="keras">The weights.</param>
    /// <param name="batchFirst">Whether the layer takes (B, T, I) inputs, as Keras does. Default false (T, B, I).</param>
    /// <exception cref="ArgumentException">An array has the wrong length, or a SimpleRNN activation other than tanh or ReLU.</exception>
    public static RecurrentLayer<T> ToLayer<T>(KerasWeights<T> keras, bool batchFirst = false) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(keras);
        var torch = ToPyTorch(keras);
        var options = new RecurrentOptions
        {
            Cell = keras.Cell,
            InputSize = keras.InputSize,
            HiddenSize = keras.Units,
            BatchFirst = batchFirst,
            Bias = keras.Bias is null ? BiasMode.None : torch.BiasHh is null ? BiasMode.InputOnly : BiasMode.InputAndHidden,
            Gru = new GruOptions
            {
                UpdateGate = UpdateGateConvention.KeepPrevious,
                Reset = keras.ResetAfter ? ResetGatePosition.AfterProduct : ResetGatePosition.BeforeProduct,
                GateActivation = keras.RecurrentActivation,
                CandidateActivation = keras.Activation,
            },
            Lstm = new LstmOptions { GateActivation = keras.RecurrentActivation, CellInputActivation = keras.Activation, CellOutputActivation = keras.Activation },
            RnnNonlinearity = keras.Cell == CellKind.Rnn ? keras.Activation : Activation.Tanh,
        };
        var layer = new RecurrentLayer<T>(options, seed: 0);
        var p = layer.Parameters;
        torch.WeightIh.CopyTo(p.Value("weight_ih_l0"));
        torch.WeightHh.CopyTo(p.Value("weight_hh_l0"));
        torch.BiasIh?.CopyTo(p.Value("bias_ih_l0"));
        torch.BiasHh?.CopyTo(p.Value("bias_hh_l0"));
        return layer;
    }

    /// <summary>
    /// The Keras weights and activations of a single-layer, one-direction Gated layer. A take-candidate
    /// GRU is converted to keep-previous first (exact for a sigmoid or any hard sigmoid with offset ½).
    /// </summary>
    /// <exception cref="InteropException">The layer has no Keras form: several layers, bidirectional, a GRU
    /// ablation, a take-candidate GRU whose gate activation is not symmetric about ½, or an LSTM whose cell
    /// input and output activations differ (Keras uses one <c>activation</c> for both).</exception>
    public static KerasWeights<T> FromLayer<T>(RecurrentLayer<T> layer) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        CheckExpressible(layer.Options);
        if (layer.Options.Cell == CellKind.Gru && layer.Options.Gru.UpdateGate == UpdateGateConvention.TakeCandidate)
            layer = GruConversion.SwitchUpdateGateConvention(layer);
        return FromParameters(layer.Options, layer.Parameters, layer.Parameters.Values);
    }

    /// <summary>
    /// Parses an activation as Keras names it: <c>sigmoid</c>, <c>tanh</c>, <c>relu</c>, <c>linear</c>,
    /// <c>softsign</c>, <c>elu</c>, <c>hard_sigmoid</c> (Keras 3 and tf.keras from TF 2.16: clamp(x/6 + ½, 0, 1)),
    /// <c>hard_sigmoid_keras2</c> (Keras 2 and earlier tf.keras: clamp(0.2x + ½, 0, 1)); or Gated's own
    /// spelling with parameters, e.g. <c>hard_sigmoid(0.2,0.5)</c>.
    /// </summary>
    public static bool TryParseActivation(string? name, out Activation activation)
    {
        activation = default;
        if (string.IsNullOrWhiteSpace(name)) return false;
        switch (name.Trim().ToLowerInvariant())
        {
            case "hard_sigmoid": activation = Activation.HardSigmoidWith(1.0 / 6, 0.5); return true;
            case "hard_sigmoid_keras2": activation = Activation.HardSigmoid; return true;
            case "linear": activation = new Activation(ActivationKind.Affine, 1, 0); return true;
            case "elu": activation = new Activation(ActivationKind.Elu, 1); return true;
            default: return RecurrentOptionsMetadata.TryParse(name, out activation);
        }
    }

    /// <summary>Throws when a layer's options have no Keras form (see <see cref="FromLayer{T}"/>).</summary>
    internal static void CheckExpressible(RecurrentOptions o)
    {
        if (o.NumLayers != 1 || o.Bidirectional)
            throw new InteropException($"a Keras recurrent layer is one layer in one direction; this stack is {o}. Convert to Gated or PyTorch instead.");
        if (o.Cell == CellKind.Gru)
        {
            if (o.Gru.Ablation != GruAblation.None)
                throw new InteropException($"a GRU with the ablation {o.Gru.Ablation} has no Keras form.");
            if (o.Gru.UpdateGate == UpdateGateConvention.TakeCandidate && !o.Gru.GateActivation.IsPointSymmetricAboutHalf)
                throw new InteropException($"Keras GRUs keep the past with z; this take-candidate GRU's gate activation {RecurrentOptionsMetadata.Format(o.Gru.GateActivation)} does not allow the exact conversion.");
        }
        if (o.Cell == CellKind.Lstm && o.Lstm.CellInputActivation != o.Lstm.CellOutputActivation)
            throw new InteropException("Keras' LSTM uses one activation for the cell input and output; this LSTM uses two different ones.");
    }

    /// <summary>The Keras form of a layer's parameters (or of any array in the same layout, such as its gradients), without re-parameterising.</summary>
    internal static KerasWeights<T> FromParameters<T>(RecurrentOptions o, ParameterBlock<T> layout, T[] source) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[]? Get(string name) => layout.Contains(name) ? source.AsSpan(layout.Info(name).Offset, layout.Info(name).Length).ToArray() : null;
        var torch = new PyTorchWeights<T>(Get("weight_ih_l0")!, Get("weight_hh_l0")!, Get("bias_ih_l0"), Get("bias_hh_l0"));
        bool resetAfter = o.Cell != CellKind.Gru || o.Gru.Reset == ResetGatePosition.AfterProduct;
        var keras = FromPyTorch(o.Cell, o.InputSize, o.HiddenSize, torch, resetAfter);
        return o.Cell switch
        {
            CellKind.Gru => keras with { Activation = o.Gru.CandidateActivation, RecurrentActivation = o.Gru.GateActivation },
            CellKind.Lstm => keras with { Activation = o.Lstm.CellInputActivation, RecurrentActivation = o.Lstm.GateActivation },
            _ => keras with { Activation = o.RnnNonlinearity },
        };
    }

    private static void Check<T>(KerasWeights<T> k) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k.InputSize, nameof(k.InputSize));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k.Units, nameof(k.Units));
        ArgumentNullException.ThrowIfNull(k.Kernel, nameof(k.Kernel));
        ArgumentNullException.ThrowIfNull(k.RecurrentKernel, nameof(k.RecurrentKernel));
        int g = k.GateCount * k.Units;
        CheckLength(k.Kernel, k.InputSize * g, "Kernel");
        CheckLength(k.RecurrentKernel, k.Units * g, "RecurrentKernel");
        if (k.Bias is not null) CheckLength(k.Bias, k.BiasShape.Aggregate(1, (a, b) => a * b), "Bias");
    }

    private static void CheckLength<T>(T[] array, int expected, string name)
    {
        if (array.Length != expected)
            throw new ArgumentException($"{name} has {array.Length} elements; the sizes need {expected}.", name);
    }

    /// <summary>Keras (n, G·u) → PyTorch (G·u, n): row j·u + k of the result is column j'·u + k of the source.</summary>
    private static void Transpose<T>(CellKind cell, T[] keras, T[] torch, int n, int u, int g)
    {
        int width = g * u;
        for (int block = 0; block < g; block++)
        {
            int kerasBlock = OtherBlock(cell, block);
            for (int k = 0; k < u; k++)
                for (int col = 0; col < n; col++)
                    torch[(block * u + k) * n + col] = keras[col * width + kerasBlock * u + k];
        }
    }

    /// <summary>PyTorch (G·u, n) → Keras (n, G·u), the inverse of <see cref="Transpose{T}"/>.</summary>
    private static void TransposeBack<T>(CellKind cell, T[] torch, T[] keras, int n, int u, int g)
    {
        int width = g * u;
        for (int block = 0; block < g; block++)
        {
            int kerasBlock = OtherBlock(cell, block);
            for (int k = 0; k < u; k++)
                for (int col = 0; col < n; col++)
                    keras[col * width + kerasBlock * u + k] = torch[(block * u + k) * n + col];
        }
    }

    private static void Permute<T>(CellKind cell, ReadOnlySpan<T> keras, Span<T> torch, int u, int g)
    {
        for (int block = 0; block < g; block++) keras.Slice(OtherBlock(cell, block) * u, u).CopyTo(torch.Slice(block * u, u));
    }

    private static void PermuteBack<T>(CellKind cell, ReadOnlySpan<T> torch, Span<T> keras, int u, int g)
    {
        for (int block = 0; block < g; block++) torch.Slice(block * u, u).CopyTo(keras.Slice(OtherBlock(cell, block) * u, u));
    }
}
