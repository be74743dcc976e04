using System.Numerics;

namespace Gated.Layers;

/// <summary>What a forward pass returns, in the layout of the input (time-major or batch-first).</summary>
/// <param name="Output">The last layer's states at every step: (T, B, D·H), or (B, T, D·H) batch-first; zero at padded steps.</param>
/// <param name="HiddenState">h_n, each sequence's state at its own last step: (L·D, B, H), ordered layer 0 forward, layer 0 reverse, layer 1 forward, …</param>
/// <param name="CellState">c_n for the LSTM, same shape as <paramref name="HiddenState"/>; null for other cells.</param>
public sealed record RecurrentResult<T>(Tensor<T> Output, Tensor<T> HiddenState, Tensor<T>? CellState)
    where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>What a backward pass returns besides the parameter gradients (which it adds into <see cref="Memory.ParameterBlock{T}.Gradients"/>).</summary>
/// <param name="Input">∂L/∂input, shaped as the input; zero at padded steps. Null when the layer's
/// <see cref="RecurrentLayer{T}.InputRequiresGradient"/> is false (the input is data, and its gradient is not computed).</param>
/// <param name="InitialHidden">∂L/∂h_0: (L·D, B, H).</param>
/// <param name="InitialCell">∂L/∂c_0 for the LSTM; null for other cells.</param>
public sealed record RecurrentGradients<T>(Tensor<T>? Input, Tensor<T> InitialHidden, Tensor<T>? InitialCell)
    where T : unmanaged, IFloatingPointIeee754<T>;
