using System.Globalization;
using Gated.Data;
using Gated.IO.Safetensors;
using Gated.Layers;
using Gated.Memory;
using Gated.Training;

namespace Gated.Models;

/// <summary>
/// A next-step model of polyphonic music: a recurrent stack reads the 88-key piano roll up to step
/// t and an output distribution gives the probability of step t+1: by default a linear head with 88
/// logits, one independent Bernoulli per key (the models of Boulanger-Lewandowski et al. 2012 and
/// Chung et al. 2014, with a single dense output layer); optionally a NADE whose biases depend on the
/// recurrent state (<see cref="MusicOutputKind.Nade"/>, the RNN-NADE of Boulanger-Lewandowski et al. 2012).
/// </summary>
/// <remarks>
/// <para>Each sequence of T steps gives the stack input steps 0..T−2 and targets steps 1..T−1:
/// T − 1 predicted steps. Sequences with fewer than two steps are skipped. A mini-batch holds
/// sequences of different lengths, run with the layer's <c>lengths</c> support; every sequence
/// starts from a zero state. The training objective is the mean NLL per predicted step over the
/// batch (see <see cref="BernoulliNll"/>). Both outputs report the same quantity, −log p(frame) summed
/// over a predicted step's 88 keys and averaged over predicted steps, so their numbers compare: for the
/// sigmoid head it is the sum of 88 independent Bernoulli NLLs, for the NADE the exact
/// −Σ_i log p(v_i | v_&lt;i) of its autoregressive factorisation (see <see cref="Nade{T}"/>).</para>
/// <para>Everything random (weights, dropout, the shuffling of <see cref="TrainEpoch"/>) is drawn
/// from the seed, so a run is repeatable: same seed, same calls, same numbers. Not thread-safe.</para>
/// </remarks>
public sealed class MusicModel
{
    /// <summary>Inputs and outputs per step: the 88 piano keys.</summary>
    public const int Keys = PianoRoll.Keys;

    /// <summary>The value of the <c>gated.format</c> metadata entry of a saved model.</summary>
    public const string FormatName = "gated.music-model";

    private Random shuffleRandom;
    private Random noiseRandom;
    private readonly ParameterBlock<float>[] blocks;
    private readonly OutputHead output;

    /// <summary>Creates a model with freshly drawn weights.</summary>
    /// <param name="recurrent">The recurrent stack: <see cref="RecurrentOptions.InputSize"/> must be 88; not
    /// bidirectional (the reverse direction would see the future) and not batch-first.</param>
    /// <param name="seed">Seed for the weights, the dropout masks and the shuffling.</param>
    /// <param name="output">The output distribution; null for <see cref="MusicOutput.Sigmoid"/>.</param>
    /// <exception cref="ArgumentException">The options do not fit a next-step model or are out of range.</exception>
    public MusicModel(RecurrentOptions recurrent, int seed, MusicOutput? output = null)
    {
        output ??= MusicOutput.Sigmoid;
        output.Validate();
        ArgumentNullException.ThrowIfNull(recurrent);
        if (recurrent.InputSize != Keys)
            throw new ArgumentException($"InputSize must be {Keys} (the piano keys), got {recurrent.InputSize}.", nameof(recurrent));
        if (recurrent.Bidirectional)
            throw new ArgumentException("A next-step model cannot be bidirectional: the reverse direction would read the step it predicts.", nameof(recurrent));
        if (recurrent.BatchFirst)
            throw new ArgumentException("BatchFirst must be false; the model builds time-major batches itself.", nameof(recurrent));
        var master = new Random(seed);
        Seed = seed;
        // The input is the piano roll, data: backpropagation skips its gradient.
        Recurrent = new RecurrentLayer<float>(recurrent, master.Next()) { InputRequiresGradient = false };
        Head = new Linear<float>(recurrent.OutputSize, Keys, master.Next());
        shuffleRandom = new Random(master.Next());
        noiseRandom = new Random(master.Next());
        if (output.Kind == MusicOutputKind.Nade)
        {
            // Drawn after everything the sigmoid model draws, so the two share their recurrent and head weights for a seed.
            Nade = new Nade<float>(Keys, output.NadeHiddenSize, recurrent.OutputSize, master.Next());
            this.output = new OutputHead.NadeOutput(Head, Nade);
        }
        else
        {
            this.output = new OutputHead.Sigmoid(Head);
        }
        blocks = [Recurrent.Parameters, .. this.output.Blocks.Select(b => b.Block)];
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

    /// <summary>
    /// The dense output layer (H → 88); its parameters are saved with the prefix <c>head.</c>. With the
    /// sigmoid output it gives the 88 logits; with the NADE output it gives the NADE's visible biases
    /// b_t = b0 + W_b h_t (the probabilities are then <see cref="Nade"/>'s, not σ of these).
    /// </summary>
    public Linear<float> Head { get; }

    /// <summary>The NADE of a <see cref="MusicOutputKind.Nade"/> model (parameters saved with the prefix <c>nade.</c>), or null.</summary>
    public Nade<float>? Nade { get; }

    /// <summary>The output distribution.</summary>
    public MusicOutput Output => output.Output;

    /// <summary>The seed the model was created with.</summary>
    public int Seed { get; }

    /// <summary>The parameter blocks to give an optimiser: the recurrent stack's, then the head's, then the NADE's (if any).</summary>
    public IReadOnlyList<ParameterBlock<float>> ParameterBlocks => blocks;

    /// <summary>The number of trainable scalars.</summary>
    public int ParameterCount => blocks.Sum(b => b.Count);

    /// <summary>Options of <see cref="TrainEpoch"/> beyond the optimiser.</summary>
    /// <param name="BatchSize">Sequences per mini-batch (the last batch may be smaller).</param>
    /// <param name="MaxGradientNorm">Rescale the gradient to this global L2 norm when above it; null for no clipping.</param>
    /// <param name="WeightNoise">Standard deviation of Gaussian noise added to every weight for each batch's forward and
    /// backward pass (the stored weights stay clean; the update uses the gradient at the noisy weights); 0 for none.</param>
    /// <param name="TruncateSteps">Truncated BPTT: update after every chunk of this many steps, carrying the state
    /// (but not the gradient) into the next chunk; null for full BPTT over each sequence.</param>
    public sealed record TrainingStep(int BatchSize = 16, double? MaxGradientNorm = 1.0, double WeightNoise = 0, int? TruncateSteps = null);

    /// <summary>
    /// Makes everything random in an epoch (the order of sequences, dropout masks, weight noise) a
    /// function of (seed, epoch) alone, so that a run resumed at epoch e repeats the uninterrupted
    /// run bit for bit. <see cref="TrainEpoch"/> calls it; call it yourself only to replay an epoch.
    /// </summary>
    /// <param name="epoch">The 1-based epoch number.</param>
    public void SeedEpoch(int epoch)
    {
        shuffleRandom = new Random(Mix(Seed, epoch, 1));
        noiseRandom = new Random(Mix(Seed, epoch, 2));
        Recurrent.DropoutRandom = new Random(Mix(Seed, epoch, 3));
    }

    /// <summary>
    /// One epoch over <paramref name="sequences"/> in a random order drawn from (seed, epoch), in
    /// mini-batches: forward, loss, backpropagation through time, optional clipping of the global
    /// gradient norm, one optimiser step per batch (per chunk with truncated BPTT).
    /// </summary>
    /// <param name="sequences">The training split.</param>
    /// <param name="optimizer">An optimiser over (at least) <see cref="ParameterBlocks"/>.</param>
    /// <param name="epoch">The 1-based epoch number (seeds the epoch, see <see cref="SeedEpoch"/>).</param>
    /// <param name="step">Batch size, clipping, weight noise and truncation.</param>
    /// <param name="progress">Receives a <see cref="MusicProgress"/> after every batch; may be null.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <returns>The training NLL over the epoch, each batch measured before its own update (a running figure, not an evaluation of the final weights).</returns>
    /// <exception cref="ArgumentException">The optimiser does not cover the model, or an argument is out of range.</exception>
    /// <exception cref="TrainingDivergedException">The loss or the gradient norm is not finite (the weights are those before the failing update),
    /// or the update made a weight not finite (the weights are left as it made them).</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public NllSummary TrainEpoch(IReadOnlyList<PianoRoll> sequences, Optimizer<float> optimizer, int epoch, TrainingStep step,
        IProgress<MusicProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(step);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(step.BatchSize, nameof(step.BatchSize));
        if (step.MaxGradientNorm is double max && !(max > 0))
            throw new ArgumentOutOfRangeException(nameof(step), max, "The maximum gradient norm must be > 0 (or null for no clipping).");
        if (!(step.WeightNoise >= 0) || !double.IsFinite(step.WeightNoise))
            throw new ArgumentOutOfRangeException(nameof(step), step.WeightNoise, "Weight noise must be a finite standard deviation ≥ 0.");
        if (step.TruncateSteps is int k && k < 1)
            throw new ArgumentOutOfRangeException(nameof(step), k, "TruncateSteps must be ≥ 1 (or null for full BPTT).");
        foreach (var block in blocks)
            if (!optimizer.Blocks.Contains(block))
                throw new ArgumentException("The optimiser must be built over the model's ParameterBlocks.", nameof(optimizer));

        SeedEpoch(epoch);
        PianoRoll[] usable = Usable(sequences, out int skipped);
        for (int i = usable.Length - 1; i > 0; i--)
        {
            int j = shuffleRandom.Next(i + 1);
            (usable[i], usable[j]) = (usable[j], usable[i]);
        }

        Recurrent.Training = true;
        int batchSize = step.BatchSize;
        int batchCount = (usable.Length + batchSize - 1) / batchSize;
        double total = 0;
        long steps = 0;
        for (int batch = 0; batch < batchCount; batch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int start = batch * batchSize, count = Math.Min(batchSize, usable.Length - start);
            double batchLoss = 0;
            long batchSteps = 0;
            double norm = 0;
            RunBatch(usable.AsSpan(start, count), step.TruncateSteps, chunk =>
            {
                foreach (var block in blocks) block.ZeroGradients();
                if (step.WeightNoise > 0) AddWeightNoise(step.WeightNoise);
                var (loss, predicted) = chunk.Run(train: true);
                if (step.WeightNoise > 0) RestoreWeights();
                if (!double.IsFinite(loss))
                    throw new TrainingDivergedException(epoch, batch + 1, $"the loss is {loss}");
                norm = step.MaxGradientNorm is double limit
                    ? GradientClipping.ClipByGlobalNorm(blocks, limit)
                    : GradientClipping.GlobalNorm(blocks);
                if (!double.IsFinite(norm))
                    throw new TrainingDivergedException(epoch, batch + 1, $"the gradient norm is {norm}");
                optimizer.Step();
                if (!AllWeightsFinite())
                    throw new TrainingDivergedException(epoch, batch + 1, "the update made a weight NaN or infinite");
                batchLoss += loss * predicted;
                batchSteps += predicted;
            });
            total += batchLoss;
            steps += batchSteps;
            progress?.Report(new MusicProgress(MusicPhase.Training, batch + 1, batchCount, start + count, usable.Length,
                batchLoss / Math.Max(1, batchSteps), total / Math.Max(1, steps), norm));
        }
        return new NllSummary(total, steps, usable.Length, skipped);
    }

    /// <summary>Whether every weight is finite: one pass over the parameters, cheap beside a batch's forward and backward passes.</summary>
    private bool AllWeightsFinite()
    {
        foreach (var block in blocks)
        {
            // A sum is NaN or infinite when any term is (and |w| ≤ 3.4e38 cannot overflow a double sum).
            double sum = 0;
            foreach (float v in block.Values) sum += v;
            if (!double.IsFinite(sum)) return false;
        }
        return true;
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
                double batchLoss = 0;
                long batchSteps = 0;
                RunBatch(usable.AsSpan(start, count), truncateSteps: null, chunk =>
                {
                    var (loss, predicted) = chunk.Run(train: false);
                    batchLoss += loss * predicted;
                    batchSteps += predicted;
                });
                total += batchLoss;
                steps += batchSteps;
                progress?.Report(new MusicProgress(MusicPhase.Evaluation, batch + 1, batchCount, start + count, usable.Length,
                    batchLoss / batchSteps, total / steps, null));
            }
            return new NllSummary(total, steps, usable.Length, skipped);
        }
        finally
        {
            Recurrent.Training = wasTraining;
        }
    }

    /// <summary>
    /// Generates music: starting from <paramref name="primer"/> (or one silent step), feeds each step
    /// to the model and draws the next step from the output distribution: every key from its own
    /// Bernoulli probability with the sigmoid output; key by key, lowest first, each draw conditioning
    /// the next, with the NADE.
    /// </summary>
    /// <param name="steps">The number of steps to generate after the primer.</param>
    /// <param name="seed">Seed of the draws.</param>
    /// <param name="primer">Steps to start from (kept at the beginning of the result); null for one silent step.</param>
    /// <param name="probabilities">Receives the probability every key of every generated step was drawn with, (steps, 88)
    /// (for the NADE, conditional on the keys drawn below it); may be empty.</param>
    /// <returns>The primer followed by the generated steps.</returns>
    public PianoRoll Sample(int steps, int seed, PianoRoll? primer = null, Span<float> probabilities = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        if (!probabilities.IsEmpty && probabilities.Length != steps * Keys)
            throw new ArgumentException($"probabilities must hold steps·88 = {steps * Keys} values.", nameof(probabilities));
        var random = new Random(seed);
        var stream = Recurrent.CreateStream(1);
        int h = Recurrent.Options.HiddenSize;
        var x = new float[Keys];
        var state = new float[h];
        var frame = new float[Keys];
        var hidden = new Tensor<float>(state, 1, h);
        var rolls = new List<int[]>();
        int primerLength = primer?.Length ?? 0;
        if (primer is null) rolls.Add([]);
        else for (int t = 0; t < primer.Length; t++) rolls.Add(primer.PitchesAt(t));
        // Feed the primer; the last primer step's output predicts the first generated step.
        for (int t = 0; t < rolls.Count; t++)
        {
            Array.Clear(x);
            foreach (int pitch in rolls[t]) x[pitch - PianoRoll.LowestPitch] = 1;
            stream.Step(x, state);
        }
        for (int t = 0; t < steps; t++)
        {
            output.SampleFrame(hidden, random, frame, probabilities.IsEmpty ? default : probabilities.Slice(t * Keys, Keys));
            var pitches = new List<int>();
            for (int key = 0; key < Keys; key++)
                if (frame[key] != 0) pitches.Add(key + PianoRoll.LowestPitch);
            rolls.Add([.. pitches]);
            Array.Clear(x);
            foreach (int pitch in pitches) x[pitch - PianoRoll.LowestPitch] = 1;
            stream.Step(x, state);
        }
        return PianoRoll.FromPitches(primer is null ? rolls.Skip(1) : rolls);
    }

    /// <summary>
    /// The model as a safetensors file: every parameter as F32 under its name prefixed <c>rnn.</c>
    /// (PyTorch's <c>nn.GRU</c>/<c>nn.LSTM</c>/<c>nn.RNN</c> state_dict names) or <c>head.</c>
    /// (<c>weight</c>, <c>bias</c>) or, for a NADE output, <c>nade.</c> (<see cref="Nade{T}.ParameterLayout"/>),
    /// and metadata describing the architecture (<c>gated.format</c>, <c>model.*</c>; a NADE model adds
    /// <c>model.output_distribution</c> = <c>nade</c> and <c>model.nade_hidden_size</c>, and a file without them
    /// is a sigmoid model) plus <paramref name="extraMetadata"/>.
    /// </summary>
    /// <param name="extraMetadata">More string pairs to store, e.g. how the model was trained; keys must not repeat the model's.</param>
    /// <exception cref="ArgumentException">A metadata key is repeated.</exception>
    public SafetensorsFile ToSafetensors(IEnumerable<KeyValuePair<string, string>>? extraMetadata = null)
    {
        var tensors = new List<SafetensorsTensor>();
        foreach (var (prefix, block) in PrefixedBlocks())
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
            new("model.output", Nade is null
                ? "88 logits; P(key k sounds at step t+1) = sigmoid(logit k)"
                : "NADE over the 88 keys of step t+1, lowest first: b = head(h), c = nade.c_bias + nade.c_weight h, a_0 = c, a_{k+1} = a_k + v_k nade.w[k], P(v_k = 1 | v_<k) = sigmoid(b_k + nade.v[k] · sigmoid(a_k))"),
            new("model.parameters", ParameterCount.ToString(CultureInfo.InvariantCulture)),
            new("model.seed", Seed.ToString(CultureInfo.InvariantCulture)),
        };
        if (Nade is not null)
        {
            metadata.Add(new(OutputDistributionKey, Output.Name));
            metadata.Add(new(NadeHiddenSizeKey, Nade.HiddenSize.ToString(CultureInfo.InvariantCulture)));
        }
        metadata.AddRange(RecurrentOptionsMetadata.ToMetadata(o, "rnn."));
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

    /// <summary>Reads a model written by <see cref="Save"/> (or the model part of a training checkpoint).</summary>
    /// <param name="path">A safetensors file.</param>
    /// <exception cref="Gated.IO.GatedFormatException">The file is not a Gated music model, or a tensor is missing or has the wrong shape.</exception>
    public static MusicModel Load(string path) => FromSafetensors(SafetensorsFile.Read(path));

    /// <summary>Builds a model from the tensors and metadata of <see cref="ToSafetensors"/>.</summary>
    /// <exception cref="Gated.IO.GatedFormatException">The file is not a Gated music model, or a tensor is missing or has the wrong shape.</exception>
    public static MusicModel FromSafetensors(SafetensorsFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        string? source = file.SourceName;
        if (!file.Metadata.TryGetValue("gated.format", out var format) || format != FormatName)
            throw new Gated.IO.GatedFormatException(source, $"not a Gated music model (metadata 'gated.format' is {(format is null ? "missing" : $"'{format}'")}, expected '{FormatName}').");
        var options = RecurrentOptionsMetadata.FromMetadata(file.Metadata, "rnn.", source);
        if (options.InputSize != Keys || options.Bidirectional || options.BatchFirst)
            throw new Gated.IO.GatedFormatException(source, $"the recurrent layer ({options}) does not fit a next-step piano-roll model.");
        int seed = file.Metadata.TryGetValue("model.seed", out var s) && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int parsed) ? parsed : 1;
        var model = new MusicModel(options, seed, OutputFromMetadata(file.Metadata, source));
        foreach (var (prefix, block) in model.PrefixedBlocks())
        {
            foreach (var p in block.Parameters)
            {
                if (!file.TryGet(prefix + p.Name, out var tensor))
                    throw new Gated.IO.GatedFormatException(source, $"tensor '{prefix + p.Name}' is missing.");
                if (!tensor.GetShapeInt32().AsSpan().SequenceEqual(p.Shape))
                    throw new Gated.IO.GatedFormatException(source, $"tensor '{prefix + p.Name}' has shape ({string.Join(", ", tensor.Shape)}), expected {p.ShapeText}.");
                tensor.ToSingleArray().CopyTo(block.Values.AsSpan(p.Offset, p.Length));
            }
        }
        foreach (var block in model.blocks)
            foreach (float v in block.Values)
                if (!float.IsFinite(v)) throw new Gated.IO.GatedFormatException(source, "the model holds a NaN or infinite weight.");
        return model;
    }

    /// <summary>The metadata key naming the output distribution (<c>nade</c>; absent for the sigmoid output).</summary>
    public const string OutputDistributionKey = "model.output_distribution";

    /// <summary>The metadata key of the NADE's hidden size.</summary>
    public const string NadeHiddenSizeKey = "model.nade_hidden_size";

    /// <summary>The output distribution a model file's metadata describes: sigmoid when it names none (every file before NADE).</summary>
    /// <exception cref="Gated.IO.GatedFormatException">The entry names an unknown distribution, or the NADE size is missing or out of range.</exception>
    public static MusicOutput OutputFromMetadata(IReadOnlyDictionary<string, string> metadata, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (!metadata.TryGetValue(OutputDistributionKey, out var kind) || kind == "sigmoid") return MusicOutput.Sigmoid;
        if (kind != "nade")
            throw new Gated.IO.GatedFormatException(source, $"metadata '{OutputDistributionKey}' is '{kind}'; this version of Gated knows 'sigmoid' and 'nade'.");
        if (!metadata.TryGetValue(NadeHiddenSizeKey, out var text) || !int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n)
            || n < 1 || n > MusicOutput.MaxNadeHiddenSize)
            throw new Gated.IO.GatedFormatException(source, $"metadata '{NadeHiddenSizeKey}' is {(text is null ? "missing" : $"'{text}'")}; expected a hidden size in 1..{MusicOutput.MaxNadeHiddenSize}.");
        return MusicOutput.Nade(n);
    }

    /// <summary>The parameter blocks with the prefixes of their tensor names: <c>rnn.</c>, <c>head.</c>, then <c>nade.</c> for a NADE model.</summary>
    private IEnumerable<(string Prefix, ParameterBlock<float> Block)> PrefixedBlocks() =>
        [("rnn.", Recurrent.Parameters), .. output.Blocks];

    /// <summary>
    /// The output distribution on packed rows: each key's probability (for the NADE, conditional on the
    /// true keys below it in the same frame) and each row's NLL. hidden is (rows, H), frames (rows, 88).
    /// </summary>
    internal void PredictRows(Tensor<float> hidden, float[] frames, Span<float> probabilities, Span<double> rowLoss) =>
        output.Predict(hidden, frames, probabilities, rowLoss);

    /// <summary>Copies every parameter value of <paramref name="other"/>, a model of the same shape, into this one.</summary>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public void CopyParametersFrom(MusicModel other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (blocks.Length != other.blocks.Length || Output != other.Output) throw new ArgumentException("The models have different shapes.", nameof(other));
        for (int i = 0; i < blocks.Length; i++)
        {
            if (blocks[i].Count != other.blocks[i].Count) throw new ArgumentException("The models have different shapes.", nameof(other));
            other.blocks[i].Values.CopyTo(blocks[i].Values, 0);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => Nade is null
        ? $"MusicModel({Recurrent.Options}, {Head})"
        : $"MusicModel({Recurrent.Options}, {Head}, NADE(88, hidden {Nade.HiddenSize}))";

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

    /// <summary>One chunk of a batch, run by <see cref="RunBatch"/>'s callback: forward, and backward when training.</summary>
    private readonly struct Chunk(MusicModel model, PianoRoll[] rolls, int[] rows, int start, int length, int[] lengths)
    {
        /// <summary>Returns the mean NLL per predicted step of the chunk and the number of predicted steps.</summary>
        public (double MeanLoss, long Steps) Run(bool train) => model.RunChunk(rolls, rows, start, length, lengths, train);
    }

    /// <summary>
    /// Splits a batch into chunks of at most <paramref name="truncateSteps"/> predicted steps (all of it when
    /// null) and calls <paramref name="onChunk"/> for each in order; the recurrent state is carried from one
    /// chunk to the next (as a constant: the gradient stops at the chunk boundary).
    /// </summary>
    private void RunBatch(ReadOnlySpan<PianoRoll> batchRolls, int? truncateSteps, Action<Chunk> onChunk)
    {
        PianoRoll[] rolls = batchRolls.ToArray();
        int longest = 0;
        foreach (var roll in rolls) longest = Math.Max(longest, roll.Length - 1);
        int chunkLength = truncateSteps ?? longest;
        int stateSize = Recurrent.Options.NumLayers * Recurrent.Options.Directions * Recurrent.Options.HiddenSize;
        carriedHidden = new float[rolls.Length * stateSize];
        carriedCell = Recurrent.Options.Cell == CellKind.Lstm ? new float[rolls.Length * stateSize] : null;
        for (int start = 0; start < longest; start += chunkLength)
        {
            // Sequences that still have predicted steps from `start` on, and how many fall in this chunk.
            var rows = new List<int>();
            var lengths = new List<int>();
            for (int row = 0; row < rolls.Length; row++)
            {
                int remaining = rolls[row].Length - 1 - start;
                if (remaining <= 0) continue;
                rows.Add(row);
                lengths.Add(Math.Min(remaining, chunkLength));
            }
            onChunk(new Chunk(this, rolls, [.. rows], start, lengths.Max(), [.. lengths]));
        }
    }

    private float[] carriedHidden = [];  // (B, L·D·H) per row of the batch: the state at the end of the last chunk
    private float[]? carriedCell;

    /// <summary>Forward (and, when training, backward) over steps [start, start + length) of the given rows.</summary>
    private (double MeanLoss, long Steps) RunChunk(PianoRoll[] rolls, int[] rows, int start, int t, int[] lengths, bool train)
    {
        var o = Recurrent.Options;
        int b = rows.Length, live = 0, layers = o.NumLayers * o.Directions, hs = o.HiddenSize, stateSize = layers * hs;
        foreach (int length in lengths) live += length;

        // Input: steps start..start+length−1 of each sequence, time-major, zero beyond each length.
        var input = new Tensor<float>(t, b, Keys);
        for (int i = 0; i < b; i++)
            for (int step = 0; step < lengths[i]; step++)
                rolls[rows[i]].CopyStepTo(start + step, input.Data.AsSpan((step * b + i) * Keys, Keys));
        Tensor<float>? h0 = null, c0 = null;
        if (start > 0)
        {
            h0 = GatherState(carriedHidden, rows, layers, hs);
            if (carriedCell is not null) c0 = GatherState(carriedCell, rows, layers, hs);
        }
        var result = Recurrent.Forward(input, h0, c0, lengths);
        ScatterState(result.HiddenState, carriedHidden, rows, layers, hs, stateSize);
        if (carriedCell is not null) ScatterState(result.CellState!, carriedCell, rows, layers, hs, stateSize);

        // Only live (step, row) pairs go through the head: pack them, with their targets (step + 1).
        int h = o.OutputSize;
        var packed = new Tensor<float>(live, h);
        var targets = new float[live * Keys];
        int r = 0;
        for (int step = 0; step < t; step++)
        {
            for (int i = 0; i < b; i++)
            {
                if (step >= lengths[i]) continue;
                result.Output.Data.AsSpan((step * b + i) * h, h).CopyTo(packed.Data.AsSpan(r * h, h));
                rolls[rows[i]].CopyStepTo(start + step + 1, targets.AsSpan(r * Keys, Keys));
                r++;
            }
        }
        if (!train) return (output.Loss(packed, targets) / live, live);

        // The gradient of the mean NLL per predicted step.
        double loss = output.LossAndBackward(packed, targets, 1.0 / live, out var dPacked);
        var dOutput = new Tensor<float>(t, b, h);
        r = 0;
        for (int step = 0; step < t; step++)
        {
            for (int i = 0; i < b; i++)
            {
                if (step >= lengths[i]) continue;
                dPacked.Data.AsSpan(r * h, h).CopyTo(dOutput.Data.AsSpan((step * b + i) * h, h));
                r++;
            }
        }
        Recurrent.Backward(dOutput);
        return (loss / live, live);
    }

    private static Tensor<float> GatherState(float[] carried, int[] rows, int layers, int hs)
    {
        var state = new Tensor<float>(layers, rows.Length, hs);
        for (int l = 0; l < layers; l++)
            for (int i = 0; i < rows.Length; i++)
                carried.AsSpan(rows[i] * layers * hs + l * hs, hs).CopyTo(state.Data.AsSpan((l * rows.Length + i) * hs, hs));
        return state;
    }

    private static void ScatterState(Tensor<float> state, float[] carried, int[] rows, int layers, int hs, int stateSize)
    {
        for (int l = 0; l < layers; l++)
            for (int i = 0; i < rows.Length; i++)
                state.Data.AsSpan((l * rows.Length + i) * hs, hs).CopyTo(carried.AsSpan(rows[i] * stateSize + l * hs, hs));
    }

    private float[][]? cleanWeights;

    /// <summary>Saves the clean weights and adds N(0, σ²) to every parameter (weights and biases).</summary>
    private void AddWeightNoise(double sigma)
    {
        cleanWeights ??= [.. blocks.Select(b => new float[b.Count])];
        for (int i = 0; i < blocks.Length; i++)
        {
            float[] values = blocks[i].Values;
            values.CopyTo(cleanWeights[i], 0);
            for (int j = 0; j < values.Length; j++) values[j] += (float)(sigma * Initializer.Gaussian(noiseRandom));
        }
    }

    private void RestoreWeights()
    {
        for (int i = 0; i < blocks.Length; i++) cleanWeights![i].CopyTo(blocks[i].Values, 0);
    }

    /// <summary>A seed from (seed, epoch, stream) that differs in every argument.</summary>
    private static int Mix(int seed, int epoch, int stream)
    {
        ulong x = (ulong)(uint)seed * 0x9E3779B97F4A7C15UL ^ (ulong)(uint)epoch * 0xBF58476D1CE4E5B9UL ^ (ulong)(uint)stream * 0x94D049BB133111EBUL;
        x ^= x >> 31; x *= 0xD6E8FEB86CD8B5ADUL; x ^= x >> 29;
        return (int)(x & 0x7FFFFFFF);
    }
}
