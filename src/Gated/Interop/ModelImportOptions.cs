using Gated.Kernels;
using Gated.Layers;

namespace Gated.Interop;

/// <summary>
/// What a model file does not say about itself, when it does not say it: the GRU conventions and RNN
/// non-linearity that a PyTorch state_dict or Keras weights cannot show, which module prefix to read,
/// the input layout. A null property means "as the file says, else the source framework's default".
/// </summary>
public sealed record ModelImportOptions
{
    /// <summary>Read the file as this format instead of detecting it.</summary>
    public ModelFormat? Format { get; init; }

    /// <summary>
    /// The module prefix of the recurrent tensors (<c>gru.</c> in <c>gru.weight_ih_l0</c>, <c>gru/</c> in
    /// <c>gru/kernel</c>); the separator may be left out. Null: the one prefix under which the file holds
    /// recurrent tensors (an error when there are several).
    /// </summary>
    public string? Prefix { get; init; }

    /// <summary>The GRU update-gate convention. Null: as the file says, else <see cref="UpdateGateConvention.KeepPrevious"/> (PyTorch, Keras).</summary>
    public UpdateGateConvention? UpdateGate { get; init; }

    /// <summary>The GRU reset-gate position. Null: as the file says (Keras: from the bias shape), else <see cref="ResetGatePosition.AfterProduct"/> (PyTorch).</summary>
    public ResetGatePosition? Reset { get; init; }

    /// <summary>The plain RNN's non-linearity, tanh or ReLU. Null: as the file says, else tanh.</summary>
    public Activation? RnnNonlinearity { get; init; }

    /// <summary>Inputs are (B, T, I). Null: as the file says, else time-major (T, B, I).</summary>
    public bool? BatchFirst { get; init; }

    /// <summary>Keras <c>activation</c> (the candidate, cell input and cell output). Null: as the file says, else tanh.</summary>
    public Activation? Activation { get; init; }

    /// <summary>Keras <c>recurrent_activation</c> (the gates). Null: as the file says, else sigmoid (Keras 2.3 and later).</summary>
    public Activation? RecurrentActivation { get; init; }
}
