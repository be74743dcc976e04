using System.Globalization;

namespace Gated.Models;

/// <summary>The distribution a <see cref="MusicModel"/> puts on the next frame of 88 keys.</summary>
public enum MusicOutputKind
{
    /// <summary>88 independent Bernoullis, P(key k) = σ(logit k) from one dense layer (the default, and every model file before NADE).</summary>
    Sigmoid,
    /// <summary>A NADE over the 88 keys whose biases depend on the recurrent state: the RNN-NADE of Boulanger-Lewandowski et al. 2012.</summary>
    Nade,
}

/// <summary>
/// The output distribution of a <see cref="MusicModel"/>: independent sigmoids, or a NADE with
/// <see cref="NadeHiddenSize"/> hidden units (see <see cref="Layers.Nade{T}"/>).
/// </summary>
/// <param name="Kind">Sigmoid or NADE.</param>
/// <param name="NadeHiddenSize">N, the NADE's hidden units; 0 for the sigmoid head.</param>
public sealed record MusicOutput(MusicOutputKind Kind, int NadeHiddenSize = 0)
{
    /// <summary>88 independent sigmoid outputs.</summary>
    public static MusicOutput Sigmoid { get; } = new(MusicOutputKind.Sigmoid);

    /// <summary>A NADE output with <paramref name="hiddenSize"/> hidden units.</summary>
    public static MusicOutput Nade(int hiddenSize) => new(MusicOutputKind.Nade, hiddenSize);

    /// <summary>The largest NADE hidden size accepted.</summary>
    public const int MaxNadeHiddenSize = 4096;

    /// <summary>Throws <see cref="ArgumentException"/> when the sizes do not fit the kind.</summary>
    public void Validate()
    {
        if (Kind == MusicOutputKind.Sigmoid && NadeHiddenSize != 0)
            throw new ArgumentException($"NadeHiddenSize applies only to a NADE output, got {NadeHiddenSize} with the sigmoid output.", nameof(NadeHiddenSize));
        if (Kind == MusicOutputKind.Nade && (NadeHiddenSize < 1 || NadeHiddenSize > MaxNadeHiddenSize))
            throw new ArgumentException($"NadeHiddenSize must be in 1..{MaxNadeHiddenSize}, got {NadeHiddenSize}.", nameof(NadeHiddenSize));
        if (Kind is not (MusicOutputKind.Sigmoid or MusicOutputKind.Nade))
            throw new ArgumentException($"Unknown output kind {Kind}.", nameof(Kind));
    }

    /// <summary><c>sigmoid</c> or <c>nade</c>, the name used on the command line and in model files.</summary>
    public string Name => Kind == MusicOutputKind.Nade ? "nade" : "sigmoid";

    /// <inheritdoc/>
    public override string ToString() => Kind == MusicOutputKind.Nade
        ? string.Create(CultureInfo.InvariantCulture, $"nade (hidden {NadeHiddenSize})")
        : "sigmoid";
}
