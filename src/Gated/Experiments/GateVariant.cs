using Gated.Layers;
using Gated.Models;

namespace Gated.Experiments;

/// <summary>
/// One model of the gate ablation (<see cref="GateAblation"/>): a cell and its options, named. The
/// hidden size is not part of it: it is chosen per parameter budget (<see cref="HiddenSizeFor"/>).
/// </summary>
/// <param name="Name">The short name used on the command line and in file names, e.g. <c>gru-no-reset</c>.</param>
/// <param name="Label">The name in tables and legends, e.g. <c>GRU, no reset gate (r ≡ 1)</c>.</param>
/// <param name="Change">What differs from the full GRU, in one sentence.</param>
/// <param name="Cell">The cell kind.</param>
/// <param name="Gru">The GRU options (conventions and ablations); ignored for the LSTM and the RNN.</param>
public sealed record GateVariant(string Name, string Label, string Change, CellKind Cell, GruOptions Gru)
{
    /// <summary>The recurrent layer of the music model for a hidden size: one layer, 88 inputs, both bias vectors (PyTorch's layout).</summary>
    /// <param name="hiddenSize">H.</param>
    public RecurrentOptions Model(int hiddenSize) => new() { Cell = Cell, InputSize = MusicModel.Keys, HiddenSize = hiddenSize, Gru = Gru };

    /// <summary>
    /// The number of gate blocks that take no part in the computation: 1 for a GRU without its reset or its
    /// update gate. Gated keeps their weights so the parameter layout stays PyTorch's; their gradients are zero.
    /// </summary>
    public int UnusedGateBlocks => Cell != CellKind.Gru ? 0
        : ((Gru.Ablation & GruAblation.NoResetGate) != 0 ? 1 : 0) + ((Gru.Ablation & GruAblation.NoUpdateGate) != 0 ? 1 : 0);

    /// <summary>
    /// Every scalar the music model stores at hidden size H: G·H·(88 + H + 2) for the recurrent layer
    /// (G gate blocks, each with W_ih, W_hh, b_ih, b_hh) plus 88·H + 88 for the output layer.
    /// </summary>
    /// <param name="hiddenSize">H.</param>
    public int StoredParameters(int hiddenSize) =>
        Model(hiddenSize).GateCount * GateBlock(hiddenSize) + MusicModel.Keys * hiddenSize + MusicModel.Keys;

    /// <summary>
    /// The scalars that take part in the computation: <see cref="StoredParameters"/> minus the
    /// <see cref="UnusedGateBlocks"/> blocks of H·(88 + H + 2). This is the count the budget is matched on.
    /// </summary>
    /// <param name="hiddenSize">H.</param>
    public int Parameters(int hiddenSize) => StoredParameters(hiddenSize) - UnusedGateBlocks * GateBlock(hiddenSize);

    /// <summary>The hidden size whose <see cref="Parameters"/> is closest to <paramref name="budget"/> (the smaller on a tie).</summary>
    /// <param name="budget">The parameter budget, e.g. 20 000.</param>
    /// <exception cref="ArgumentOutOfRangeException">The budget is below the smallest model (H = 1).</exception>
    public int HiddenSizeFor(int budget)
    {
        if (budget < Parameters(1)) throw new ArgumentOutOfRangeException(nameof(budget), budget, $"The smallest {Label} model has {Parameters(1)} parameters.");
        int best = 1;
        for (int h = 2; h <= 4096 && Parameters(h - 1) <= budget; h++)
            if (Math.Abs((long)Parameters(h) - budget) < Math.Abs((long)Parameters(best) - budget)) best = h;
        return best;
    }

    /// <summary>The scalars of one gate block: its H×88 input weights, H×H recurrent weights and two H biases.</summary>
    private static int GateBlock(int hiddenSize) => hiddenSize * (MusicModel.Keys + hiddenSize + 2);
}
