using System.Numerics;
using Gated.Kernels;
using Gated.Layers;

namespace Gated.Interop;

/// <summary>
/// One Keras recurrent layer's weights in Keras' layout: <c>kernel</c> (I, G·u), <c>recurrent_kernel</c>
/// (u, G·u) and <c>bias</c>, row-major, gate blocks along the columns in Keras' order
/// (GRU z | r | h, LSTM i | f | c | o, SimpleRNN one block).
/// </summary>
/// <param name="Cell">GRU, LSTM or plain RNN (Keras <c>SimpleRNN</c>).</param>
/// <param name="InputSize">I, the input features.</param>
/// <param name="Units">u, Keras' <c>units</c> (H).</param>
/// <param name="Kernel">(I, G·u) row-major: input → gates.</param>
/// <param name="RecurrentKernel">(u, G·u) row-major: state → gates.</param>
/// <param name="Bias">GRU with <see cref="ResetAfter"/>: (2, 3u), the input bias then the recurrent bias;
/// otherwise (G·u). Null when the layer was built with <c>use_bias=False</c>.</param>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed record KerasWeights<T>(CellKind Cell, int InputSize, int Units, T[] Kernel, T[] RecurrentKernel, T[]? Bias)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>GRU only: Keras <c>reset_after</c> (True since Keras 2.3, the cuDNN-compatible form). Default true.</summary>
    public bool ResetAfter { get; init; } = true;

    /// <summary>Keras <c>activation</c>: the GRU candidate, the LSTM cell input and output, the SimpleRNN state. Default tanh.</summary>
    public Activation Activation { get; init; } = Activation.Tanh;

    /// <summary>Keras <c>recurrent_activation</c>: the GRU and LSTM gates. Default sigmoid (Keras 2.3 and later; earlier: hard sigmoid).</summary>
    public Activation RecurrentActivation { get; init; } = Activation.Sigmoid;

    /// <summary>G: 3 (GRU), 4 (LSTM) or 1.</summary>
    public int GateCount => Cell switch { CellKind.Gru => 3, CellKind.Lstm => 4, _ => 1 };

    /// <summary>The shape of <see cref="Kernel"/>: (I, G·u).</summary>
    public int[] KernelShape => [InputSize, GateCount * Units];

    /// <summary>The shape of <see cref="RecurrentKernel"/>: (u, G·u).</summary>
    public int[] RecurrentKernelShape => [Units, GateCount * Units];

    /// <summary>The shape of <see cref="Bias"/>: (2, 3u) for a GRU with <see cref="ResetAfter"/>, else (G·u).</summary>
    public int[] BiasShape => Cell == CellKind.Gru && ResetAfter ? [2, 3 * Units] : [GateCount * Units];
}

/// <summary>
/// One layer and direction of a PyTorch-layout recurrent layer (Gated's own layout): gate blocks stacked
/// along the rows (GRU r | z | n, LSTM i | f | g | o), row-major.
/// </summary>
/// <param name="WeightIh"><c>weight_ih</c> (G·H, I).</param>
/// <param name="WeightHh"><c>weight_hh</c> (G·H, H).</param>
/// <param name="BiasIh"><c>bias_ih</c> (G·H), or null.</param>
/// <param name="BiasHh"><c>bias_hh</c> (G·H), or null.</param>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed record PyTorchWeights<T>(T[] WeightIh, T[] WeightHh, T[]? BiasIh, T[]? BiasHh)
    where T : unmanaged, IFloatingPointIeee754<T>;
