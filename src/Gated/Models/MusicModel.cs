using System.Globalization;
using Gated.Data;
using Gated.IO.Safetensors;
using Gated.Layers;
using Gated.Memory;
using Gated.Training;

namespace Gated.Models;

/// <summary>
/// A next-step model of polyphonic music: a recurrent stack reads the 88-key piano roll up to step
/// t and a linear head gives 88 logits, one independent Bernoulli per key, for step t+1 (the models
/// of Boulanger-Lewandowski et al. 2012 and Chung et al. 2014, with a single dense output layer).
/// </summary>
/// <remarks>
/// <para>Each sequence of T steps gives the stack input steps 0..T−2 and targets steps 1..T−1:
/// T − 1 predicted steps. Sequences with fewer than two steps are skipped. A mini-batch holds
/// sequences of different lengths, run with the layer's <c>lengths</c> support; every sequence
/// starts from a zero state. The training objective is the mean NLL per predicted step over the
/// batch (see <see cref="BernoulliNll"/>).</para>
/// <para>Everything random (weights, dropout, the shuffling of <see cref="TrainEpoch"/>) is drawn
/// from the seed, so a run is repeatable: same seed, same calls, same numbers. Not thread-safe.</para>
/// </remarks>
public sealed class MusicModel
{
    /// <summary>Inputs and outputs per step: the 88 piano keys.</summary>
    public const int Keys = PianoRoll.Keys;

    /// <summary>The value of the <c>gated.format</c> metadata entry of a saved model.</summary>
    public const string FormatName = "gated.music-model";

    private readonly Random shuffleRandom;
    private readonly ParameterBlock<float>[] blocks;

    /// <summary>Creates a model with freshly drawn weights.</summary>
    /// <param name="recurrent">The recurrent stack: <see cref="RecurrentOptions.InputSize"/> must be 88; not
    /// bidirectional (the reverse direction would see the future) and not batch-first.</param>
    /// <param name="seed">Seed for the weights, the dropout masks and the shuffling.</param>
    /// <exception cref="ArgumentException">The options do not fit a next-step model or are out of range.</exception>
    public MusicModel(RecurrentOptions recurrent, int seed)
    {
        ArgumentNullException.ThrowIfNull(recurrent);
        if (recurrent.InputSize != Keys)
            throw new ArgumentException($"InputSize must be {Keys} (the piano keys), got {recurrent.InputSize}.", nameof(recurrent));
        if (recurrent.Bidirectional)
            throw new ArgumentException("A next-step model cannot be bidirectional: the reverse direction would read the step it predicts.", nameof(recurrent));
        if (recurrent.BatchFirst)
            throw new ArgumentException("BatchFirst must be false; the model builds time-major batches itself.", nameof(recurrent));
        var master = new Random(seed);
        Seed = seed;
        Recurrent = new RecurrentLayer<float>(recurrent, master.Next());
        Head = new Linear<float>(recurrent.OutputSize, Keys, master.Next());
        shuffleRandom = new Random(master.Next());
        blocks = [Recurrent.Parameters, Head.Parameters];
    }

    /// <summary>Creates a single-direction model with PyTorch's conventions for the cell.</summary>
    /// <param name="cell">GRU, LSTM or tanh RNN.</param>
    /// <param name="hiddenSize">H, the state size of each layer.</param>
    /// <param name="numLayers">L, the number of stacked layers.</param>
    /// <param name="seed">Seed for everything random.</param>
    /// <exception cref="ArgumentException">A size is out of range.</exception>
    public static MusicModel Create(CellKind cell, int hiddenSize, int numLayers = 1, int seed = 1) =>
        new(new RecurrentOptions { Cell = cell, InputSize = Keys, HiddenSize = hiddenSize, NumLayers = numLayers }, seed);

    /// <summary>The recurrent stack; its parameters are saved with the prefix <c>rnn.</c>.</summary>
    public RecurrentLayer<float> Recurrent { get; }

    /// <summary>The output layer (H → 88 logits); its parameters are saved with the prefix <c>head.</c>.</summary>
    public Linear<float> Head { get; }

    /// <summary>The seed the model was created with.</summary>
    public int Seed { get; }

    /// <summary>The parameter blocks to give an optimiser: the recurrent stack's, then the head's.</summary>
    public IReadOnlyList<ParameterBlock<float>> ParameterBlocks => blocks;

    /// <summary>The number of trainable scalars.</summary>
    public int ParameterCount => Recurrent.Parameters.Count + Head.Parameters.Count;

    /// <summary>
    /// One pass over <paramref name="sequences"/> in a random order (from the model's seeded shuffler),
    /// in mini-batches: forward, loss, backpropagation through time, optional clipping of the global
    /// gradient norm, one optimiser step per batch.
    /// </summary>
    /// <param name="sequences">The training split.</param>
    /// <param name="optimizer">An optimiser over (at least) <see cref="ParameterBlocks"/>.</param>
    /// <param name="batchSize">Sequences per mini-batch (the last batch may be smaller).</param>
    /// <param name="maxGradientNorm">Rescale the gradient to this global L2 norm when above it; null for no clipping.</param>
    /// <param name="progress">Receives a <see cref="MusicProgress"/> after every batch; may be null.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <returns>The training NLL over the epoch, each batch measured before its own update (a running figure, not an evaluation of the final weights).</returns>
    /// <exception cref="ArgumentException">The optimiser does not cover the model, or an argument is out of range.</exception>
    /// <exception cref="InvalidOperationException">Training diverged: the loss or the gradient norm is not finite.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public NllSummary TrainEpoch(IReadOnlyList<PianoRoll> sequences, Optimizer<float> optimizer, int batchSize = 16, double? maxGradientNorm = 1.0,
        IProgress<MusicProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (maxGradientNorm is double max && !(max > 0))
            throw new ArgumentOutOfRangeException(nameof(maxGradientNorm), max, "The maximum gradient norm must be > 0 (or null for no clipping).");
        foreach (var block in blocks)
            if (!optimizer.Blocks.Contains(block))
                throw new ArgumentException("The optimiser must be built over the model's ParameterBlocks.", nameof(optimizer));

        PianoRoll[] usable = Usable(sequences, out int skipped);
        for (int i = usable.Length - 1; i > 0; i--)
        {
            int j = shuffleRandom.Next(i + 1);
            (usable[i], usable[j]) = (usable[j], usable[i]);
        }

        Recurrent.Training = true;
        int batchCount = (usable.Length + batchSize - 1) / batchSize;
        double total = 0;
        long steps = 0;
        for (int batch = 0; batch < batchCount; batch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int start = batch * batchSize, count = Math.Min(batchSize, usable.Length - start);
            foreach (var block in blocks) block.ZeroGradients();
            var (loss, predicted) = RunBatch(usable.AsSpan(start, count), train: true);
            if (!double.IsFinite(loss))
                throw new InvalidOperationException($"Training diverged: the loss of batch {batch + 1} is {loss}. Try a smaller learning rate.");
            double norm = maxGradientNorm is double limit
                ? GradientClipping.ClipByGlobalNorm(blocks, limit)
                : GradientClipping.GlobalNorm(blocks);
            if (!double.IsFinite(norm))
                throw new InvalidOperationException($"Training diverged: the gradient norm of batch {batch + 1} is {norm}. Try a smaller learning rate.");
            optimizer.Step();
            total += loss;
            steps += predicted;
            progress?.Report(new MusicProgress(MusicPhase.Training, batch + 1, batchCount, start + count, usable.Length,
                loss / predicted, total / steps, norm));
        }
        return new NllSummary(total, steps, usable.Length, skipped);
    }

    /// <summary>The NLL of the model on <paramref name="sequences"/>, without training (dropout off).</summary>
    /// <param name="sequences">The split to evaluate; it is batched by length (the result does not depend on the order).</param>
    /// <param name="batchSize">Sequences per batch; only speed depends on it.</param>
    /// <param name="progress">Receives a <see cref="MusicProgress"/> after every batch; may be null.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public NllSummary Evaluate(IReadOnlyList<PianoRoll> sequences, int batchSize = 64,
        IProgress<MusicProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        PianoRoll[] usable = Usable(sequences, out int skipped);
        // The NLL is a sum, so the order is free: batching sequences of similar length wastes no padding.
        usable = [.. usable.OrderBy(roll => roll.Length)];
        bool wasTraining = Recurrent.Training;
        Recurrent.Training = false;
        try
        {
            int batchCount = (usable.Length + batchSize - 1) / batchSize;
            double total = 0;
            long steps = 0;
            for (int batch = 0; batch < batchCount; batch++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int start = batch * batchSize, count = Math.Min(batchSize, usable.Length - start);
                var (loss, predicted) = RunBatch(usable.AsSpan(start, count), train: false);
                total += loss;
                steps += predicted;
                progress?.Report(new MusicProgress(MusicPhase.Evaluation, batch + 1, batchCount, start + count, usable.Length,
                    loss / predicted, total / steps, null));
            }
            return new NllSummary(total, steps, usable.Length, skipped);
        }
        finally
        {
            Recurrent.Training = wasTraining;
        }
    }

    /// <summary>
    /// The model as a safetensors file: every parameter as F32 under its name prefixed <c>rnn.</c>
    /// (PyTorch's <c>nn.GRU</c>/<c>nn.LSTM</c>/<c>nn.RNN</c> state_dict names) or <c>head.</c>
    /// (<c>weight</c>, <c>bias</c>), and metadata describing the architecture (<c>gated.format</c>,
    /// <c>model.*</c>) plus <paramref name="extraMetadata"/>.
    /// </summary>
    /// <param name="extraMetadata">More string pairs to store, e.g. how the model was trained; keys must not repeat the model's.</param>
    /// <exception cref="ArgumentException">A metadata key is repeated.</exception>
    public SafetensorsFile ToSafetensors(IEnumerable<KeyValuePair<string, string>>? extraMetadata = null)
    {
        var tensors = new List<SafetensorsTensor>();
        foreach (var (prefix, block) in new[] { ("rnn.", Recurrent.Parameters), ("head.", Head.Parameters) })
            foreach (var p in block.Parameters)
                tensors.Add(SafetensorsTensor.FromArray(prefix + p.Name, block.Values.AsSpan(p.Offset, p.Length), p.Shape));
        var o = Recurrent.Options;
        var metadata = new List<KeyValuePair<string, string>>
        {
            new("gated.format", FormatName),
            new("gated.format_version", "1"),
            new("model.task", "next-step prediction of an 88-key binary piano roll (key k is MIDI pitch k + 21)"),
            new("model.cell", o.Cell.ToString().ToLowerInvariant()),
            new("model.input_size", Keys.ToString(CultureInfo.InvariantCulture)),
            new("model.hidden_size", o.HiddenSize.ToString(CultureInfo.InvariantCulture)),
            new("model.num_layers", o.NumLayers.ToString(CultureInfo.InvariantCulture)),
            new("model.recurrent", o.ToString()),
            new("model.head", Head.ToString()),
            new("model.output", "88 logits; P(key k sounds at step t+1) = sigmoid(logit k)"),
            new("model.parameters", ParameterCount.ToString(CultureInfo.InvariantCulture)),
            new("model.seed", Seed.ToString(CultureInfo.InvariantCulture)),
        };
        if (extraMetadata is not null) metadata.AddRange(extraMetadata);
        return new SafetensorsFile(tensors, metadata);
    }

    /// <summary>Writes <see cref="ToSafetensors"/> to a file atomically (a crash never leaves half a file).</summary>
    /// <param name="path">The destination; its directory must exist.</param>
    /// <param name="extraMetadata">More string pairs to store.</param>
    /// <exception cref="IOException">Writing fails.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be written.</exception>
    public void Save(string path, IEnumerable<KeyValuePair<string, string>>? extraMetadata = null) =>
        ToSafetensors(extraMetadata).Write(path);

    /// <inheritdoc/>
    public override string ToString() => $"MusicModel({Recurrent.Options}, {Head})";

    private static PianoRoll[] Usable(IReadOnlyList<PianoRoll> sequences, out int skipped)
    {
        var usable = new List<PianoRoll>(sequences.Count);
        foreach (var roll in sequences)
        {
            ArgumentNullException.ThrowIfNull(roll, nameof(sequences));
            if (roll.Length >= 2) usable.Add(roll);
        }
        skipped = sequences.Count - usable.Count;
        return usable.ToArray();
    }

    /// <summary>Forward (and, when training, backward) over one batch; returns the summed NLL and the number of predicted steps.</summary>
    private (double Loss, long Steps) RunBatch(ReadOnlySpan<PianoRoll> rolls, bool train)
    {
        int b = rolls.Length, t = 0, live = 0;
        var lengths = new int[b];
        for (int row = 0; row < b; row++)
        {
            lengths[row] = rolls[row].Length - 1;
            t = Math.Max(t, lengths[row]);
            live += lengths[row];
        }

        // Input: steps 0..T−2 of each sequence, time-major, zero beyond each length.
        var input = new Tensor<float>(t, b, Keys);
        for (int row = 0; row < b; row++)
            for (int step = 0; step < lengths[row]; step++)
                rolls[row].CopyStepTo(step, input.Data.AsSpan((step * b + row) * Keys, Keys));
        var result = Recurrent.Forward(input, lengths: lengths);

        // Only live (step, row) pairs go through the head: pack them, with their targets (step + 1).
        int h = Recurrent.Options.OutputSize;
        var packed = new Tensor<float>(live, h);
        var targets = new float[live * Keys];
        int r = 0;
        for (int step = 0; step < t; step++)
        {
            for (int row = 0; row < b; row++)
            {
                if (step >= lengths[row]) continue;
                result.Output.Data.AsSpan((step * b + row) * h, h).CopyTo(packed.Data.AsSpan(r * h, h));
                rolls[row].CopyStepTo(step + 1, targets.AsSpan(r * Keys, Keys));
                r++;
            }
        }
        var logits = Head.Forward(packed);
        if (!train) return (BernoulliNll.Loss<float>(logits.Data, targets), live);

        // The gradient of the mean NLL per predicted step, in place of the logits.
        double loss = BernoulliNll.LossAndGradient<float>(logits.Data, targets, logits.Data, 1.0 / live);
        var dPacked = Head.Backward(logits);
        var dOutput = new Tensor<float>(t, b, h);
        r = 0;
        for (int step = 0; step < t; step++)
        {
            for (int row = 0; row < b; row++)
            {
                if (step >= lengths[row]) continue;
                dPacked.Data.AsSpan(r * h, h).CopyTo(dOutput.Data.AsSpan((step * b + row) * h, h));
                r++;
            }
        }
        Recurrent.Backward(dOutput);
        return (loss, live);
    }
}
