using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Gated.Data;
using Gated.IO;
using Gated.IO.Safetensors;
using Gated.Layers;
using Gated.Training;

namespace Gated.Models;

/// <summary>
/// Trains a <see cref="MusicModel"/> epoch by epoch with early stopping on the validation NLL,
/// a learning rate that decays on plateaus, and a checkpoint after every epoch from which a
/// stopped run resumes exactly.
/// </summary>
/// <remarks>
/// <para>With a run folder, two files are kept there, each replaced atomically (a crash, even
/// during the write, leaves the previous version whole): <c>checkpoint.safetensors</c> — the model,
/// the optimiser's state and the run's counters after the last finished epoch — and
/// <c>best.safetensors</c> — the model of the best validation epoch so far.</para>
/// <para>Everything random in an epoch is drawn from (seed, epoch) (see <see cref="MusicModel.SeedEpoch"/>),
/// and the checkpoint holds every other piece of state, so a run interrupted at any moment and
/// resumed gives the same model, bit for bit, as the uninterrupted run (same machine, same thread count).</para>
/// </remarks>
public sealed class MusicTrainer
{
    /// <summary>The checkpoint's file name in the run folder.</summary>
    public const string CheckpointFileName = "checkpoint.safetensors";

    /// <summary>The best model's file name in the run folder.</summary>
    public const string BestFileName = "best.safetensors";

    /// <summary>With <see cref="DivergencePolicy.RollBackAndHalveLearningRate"/>, how many times in a row one epoch is rolled back before the run stops.</summary>
    public const int MaxRollBacks = 3;

    /// <summary>With <see cref="DivergencePolicy.RollBackAndHalveLearningRate"/>, the factor applied to the learning rate at each roll-back.</summary>
    public const double RollBackLearningRateFactor = 0.5;

    private const string StateTensorPrefix = "optimizer.state.";

    /// <summary>Creates a trainer for a model shape and a training protocol.</summary>
    /// <param name="model">The recurrent stack.</param>
    /// <param name="training">The training protocol.</param>
    /// <param name="output">The output distribution; null for <see cref="MusicOutput.Sigmoid"/>.</param>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public MusicTrainer(RecurrentOptions model, TrainingOptions training, MusicOutput? output = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(training);
        output ??= MusicOutput.Sigmoid;
        model.Validate();
        training.Validate();
        output.Validate();
        ModelOptions = model;
        Options = training;
        Output = output;
    }

    /// <summary>The output distribution of the model being trained.</summary>
    public MusicOutput Output { get; }

    /// <summary>The recurrent stack of the model being trained.</summary>
    public RecurrentOptions ModelOptions { get; }

    /// <summary>The training protocol.</summary>
    public TrainingOptions Options { get; }

    /// <summary>
    /// Trains until early stopping, the epoch limit or the time limit.
    /// </summary>
    /// <param name="data">Train and valid splits are used (test is never looked at).</param>
    /// <param name="runDirectory">Where checkpoints go; null for none.</param>
    /// <param name="resume">Continue from <c>checkpoint.safetensors</c> in <paramref name="runDirectory"/> when it exists.</param>
    /// <param name="progress">Receives batch and epoch reports; may be null.</param>
    /// <param name="cancellationToken">Checked between batches; the last checkpoint stays valid.</param>
    /// <exception cref="TrainingDivergedException">The loss, the gradient or a weight became NaN or infinite and the policy is <see cref="DivergencePolicy.Stop"/>
    /// (or <see cref="MaxRollBacks"/> roll-backs of one epoch did not help); nothing of the failed epoch is written.</exception>
    /// <exception cref="GatedFormatException">The checkpoint to resume from is unreadable or belongs to another configuration.</exception>
    /// <exception cref="IOException">The run folder cannot be created or written (checked before the first epoch), or writing a checkpoint fails
    /// (e.g. the disk is full); the message names the file, and the files already in the folder are left as they were.</exception>
    /// <exception cref="UnauthorizedAccessException">The run folder may not be created or written; checked before the first epoch.</exception>
    public TrainingResult Run(PianoRollDataset data, string? runDirectory = null, bool resume = false,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var o = Options;
        var model = new MusicModel(ModelOptions, o.Seed, Output);
        var best = new MusicModel(ModelOptions, o.Seed, Output);
        best.CopyParametersFrom(model);
        var optimizer = CreateOptimizer(model);
        var history = new List<EpochRecord>();
        var state = new RunState { LearningRate = o.LearningRate, BestValid = double.PositiveInfinity };

        string? checkpointPath = runDirectory is null ? null : Path.Combine(runDirectory, CheckpointFileName);
        string? bestPath = runDirectory is null ? null : Path.Combine(runDirectory, BestFileName);
        if (runDirectory is not null && checkpointPath is not null)
        {
            // Fail now, not after the first epoch, when the folder cannot be made or written.
            CreateRunDirectory(runDirectory);
            AtomicFile.CheckWritable(checkpointPath);
        }
        if (resume && checkpointPath is not null && File.Exists(checkpointPath))
        {
            Restore(SafetensorsFile.Read(checkpointPath), checkpointPath, model, optimizer, history, state);
            if (bestPath is not null && File.Exists(bestPath)) best.CopyParametersFrom(MusicModel.Load(bestPath));
            else best.CopyParametersFrom(model);
            progress?.Report(new TrainingProgress(state.Epoch, null, null, $"resumed after epoch {state.Epoch} from {checkpointPath}"));
        }

        var clock = Stopwatch.StartNew();
        double secondsBefore = state.Seconds;
        var step = new MusicModel.TrainingStep(o.BatchSize, o.MaxGradientNorm, o.WeightNoise, o.TruncateSteps);
        var stop = StopReason.MaxEpochs;
        int rollBacks = 0;
        // The weights and optimiser state at the start of the epoch, for a roll-back after divergence.
        float[][]? epochStart = o.OnDivergence == DivergencePolicy.RollBackAndHalveLearningRate ? Snapshot(model, optimizer) : null;

        while (state.Epoch < o.MaxEpochs)
        {
            if (state.SinceBest >= o.Patience) { stop = StopReason.EarlyStopping; break; }
            if (o.MaxSeconds is double limit && state.Seconds >= limit) { stop = StopReason.TimeLimit; break; }
            int epoch = state.Epoch + 1;
            optimizer.LearningRate = state.LearningRate;
            var batchProgress = progress is null ? null : new InlineProgress<MusicProgress>(p => progress.Report(new TrainingProgress(epoch, p, null, null)));
            NllSummary train;
            try
            {
                if (epochStart is not null) TakeSnapshot(model, optimizer, epochStart);
                train = model.TrainEpoch(data.Train, optimizer, epoch, step, batchProgress, cancellationToken);
            }
            catch (TrainingDivergedException diverged) when (epochStart is not null)
            {
                // Back to the start of the epoch: the state of the last checkpoint (it is written after every epoch).
                RestoreSnapshot(model, optimizer, epochStart);
                if (rollBacks == MaxRollBacks)
                    throw new TrainingDivergedException(diverged.Epoch, diverged.Batch,
                        $"{diverged.Reason}, after {MaxRollBacks} roll-backs of this epoch that lowered the learning rate to {R(state.LearningRate)}; giving up");
                rollBacks++;
                state.LearningRate *= RollBackLearningRateFactor;
                progress?.Report(new TrainingProgress(epoch, null, null,
                    $"epoch {epoch}, batch {diverged.Batch}: {diverged.Reason}; rolled back to the start of the epoch and lowered the learning rate ×{RollBackLearningRateFactor} to {state.LearningRate:G3} (roll-back {rollBacks} of {MaxRollBacks})"));
                continue;
            }
            rollBacks = 0;
            var valid = model.Evaluate(data.Valid, 64, null, cancellationToken);
            state.Epoch = epoch;
            state.Seconds = secondsBefore + clock.Elapsed.TotalSeconds;
            bool isBest = double.IsFinite(valid.NllPerStep) && valid.NllPerStep < state.BestValid;
            if (isBest)
            {
                state.BestValid = valid.NllPerStep;
                state.BestEpoch = epoch;
                state.SinceBest = 0;
                state.SinceDecay = 0;
                best.CopyParametersFrom(model);
            }
            else
            {
                state.SinceBest++;
                state.SinceDecay++;
                if (state.SinceDecay >= o.DecayPatience && o.LearningRateDecay < 1)
                {
                    state.LearningRate *= o.LearningRateDecay;
                    state.SinceDecay = 0;
                }
            }
            var record = new EpochRecord(epoch, train.NllPerStep, valid.NllPerStep, optimizer.LearningRate, state.Seconds, isBest);
            history.Add(record);
            // The best model first: a crash between the two writes leaves a checkpoint that is at most one epoch behind it.
            if (isBest && bestPath is not null) best.Save(bestPath, TrainingMetadata(state, history));
            if (checkpointPath is not null) WriteCheckpoint(checkpointPath, model, optimizer, state, history);
            progress?.Report(new TrainingProgress(epoch, null, record, null));
        }
        if (state.Epoch >= o.MaxEpochs && stop == StopReason.MaxEpochs && state.SinceBest >= o.Patience) stop = StopReason.EarlyStopping;
        return new TrainingResult(best, state.BestEpoch, state.BestValid, history, stop);
    }

    private static void CreateRunDirectory(string runDirectory)
    {
        try
        {
            Directory.CreateDirectory(runDirectory);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new UnauthorizedAccessException($"Cannot create the run folder '{runDirectory}': permission denied.", ex);
        }
        catch (IOException ex) when (ex.GetType() == typeof(IOException))
        {
            throw new IOException($"Cannot create the run folder '{runDirectory}': {ex.Message}", ex);
        }
    }

    /// <summary>The optimiser this trainer builds for a model.</summary>
    private Optimizer<float> CreateOptimizer(MusicModel model) => Options.Optimizer switch
    {
        OptimizerKind.Sgd => new Sgd<float>(model.ParameterBlocks, Options.LearningRate, Options.Momentum),
        OptimizerKind.RmsProp => new RmsProp<float>(model.ParameterBlocks, Options.LearningRate, momentum: Options.Momentum),
        _ => new Adam<float>(model.ParameterBlocks, Options.LearningRate),
    };

    /// <summary>The run's counters, saved in every checkpoint.</summary>
    private sealed class RunState
    {
        public int Epoch;
        public double LearningRate;
        public double BestValid;
        public int BestEpoch;
        public int SinceBest;
        public int SinceDecay;
        public double Seconds;
    }

    /// <summary>A canonical description of everything that must match for a checkpoint to be resumed.</summary>
    private string Configuration() =>
        string.Join(";", RecurrentOptionsMetadata.ToMetadata(ModelOptions).Select(kv => $"{kv.Key}={kv.Value}"))
        // The sigmoid output adds nothing, so checkpoints written before the NADE output still resume.
        + (Output.Kind == MusicOutputKind.Sigmoid ? "" : $";output={Output.Name};nade_hidden_size={Output.NadeHiddenSize.ToString(CultureInfo.InvariantCulture)}")
        + ";" + JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["optimizer"] = Options.Optimizer.ToString(),
            ["learning_rate"] = R(Options.LearningRate),
            ["momentum"] = R(Options.Momentum),
            ["batch_size"] = Options.BatchSize.ToString(CultureInfo.InvariantCulture),
            ["max_gradient_norm"] = Options.MaxGradientNorm is double g ? R(g) : "none",
            ["weight_noise"] = R(Options.WeightNoise),
            ["truncate_steps"] = Options.TruncateSteps?.ToString(CultureInfo.InvariantCulture) ?? "none",
            ["decay"] = R(Options.LearningRateDecay),
            ["decay_patience"] = Options.DecayPatience.ToString(CultureInfo.InvariantCulture),
            ["seed"] = Options.Seed.ToString(CultureInfo.InvariantCulture),
        });

    private static string R(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>" (hidden_size: 4 in the checkpoint, 5 now)" for up to three options that differ; "" when the saved text cannot be read.</summary>
    private static string DescribeDifference(string saved, string current)
    {
        var before = ConfigurationPairs(saved);
        var now = ConfigurationPairs(current);
        if (before is null || now is null) return "";
        var differences = now
            .Where(kv => !before.TryGetValue(kv.Key, out var old) || old != kv.Value)
            .Select(kv => $"{kv.Key}: {(before.TryGetValue(kv.Key, out var old) ? Shorten(old) : "missing")} in the checkpoint, {Shorten(kv.Value)} now")
            // Keys only the checkpoint has (e.g. the NADE output's, absent for the sigmoid output).
            .Concat(before.Where(kv => !now.ContainsKey(kv.Key)).Select(kv => $"{kv.Key}: {Shorten(kv.Value)} in the checkpoint, missing now"))
            .Take(3).ToList();
        return differences.Count == 0 ? "" : $" ({string.Join("; ", differences)})";

        static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
    }

    /// <summary>The key–value pairs of <see cref="Configuration"/>'s text (model pairs, then a JSON object), or null when it is not in that form.</summary>
    private static Dictionary<string, string>? ConfigurationPairs(string text)
    {
        int json = text.IndexOf(";{", StringComparison.Ordinal);
        if (json < 0) return null;
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string pair in text[..json].Split(';'))
        {
            int eq = pair.IndexOf('=');
            if (eq > 0) pairs[pair[..eq]] = pair[(eq + 1)..];
        }
        try
        {
            foreach (var (key, value) in JsonSerializer.Deserialize<Dictionary<string, string>>(text[(json + 1)..]) ?? [])
                pairs[key] = value;
        }
        catch (JsonException)
        {
            return null;
        }
        return pairs;
    }

    private List<KeyValuePair<string, string>> TrainingMetadata(RunState state, List<EpochRecord> history) =>
    [
        new("training.configuration", Configuration()),
        new("training.best_epoch", state.BestEpoch.ToString(CultureInfo.InvariantCulture)),
        new("training.best_valid_nll", R(state.BestValid)),
        new("training.epochs", state.Epoch.ToString(CultureInfo.InvariantCulture)),
        new("training.history", JsonSerializer.Serialize(history.Select(h => new[] { h.Epoch, h.TrainNll, h.ValidNll, h.LearningRate, h.Seconds, h.IsBest ? 1 : 0 }))),
    ];

    private void WriteCheckpoint(string path, MusicModel model, Optimizer<float> optimizer, RunState state, List<EpochRecord> history)
    {
        var file = model.ToSafetensors(TrainingMetadata(state, history).Concat(
        [
            new("checkpoint.epoch", state.Epoch.ToString(CultureInfo.InvariantCulture)),
            new("checkpoint.learning_rate", R(state.LearningRate)),
            new("checkpoint.best_valid", R(state.BestValid)),
            new("checkpoint.since_best", state.SinceBest.ToString(CultureInfo.InvariantCulture)),
            new("checkpoint.since_decay", state.SinceDecay.ToString(CultureInfo.InvariantCulture)),
            new("checkpoint.seconds", R(state.Seconds)),
            new("checkpoint.optimizer_steps", optimizer.StepCount.ToString(CultureInfo.InvariantCulture)),
            new("checkpoint.optimizer_state_count", optimizer.StateArrays.Count.ToString(CultureInfo.InvariantCulture)),
        ]));
        var tensors = file.Tensors.ToList();
        for (int i = 0; i < optimizer.StateArrays.Count; i++)
            tensors.Add(SafetensorsTensor.FromArray(StateTensorPrefix + i.ToString(CultureInfo.InvariantCulture), optimizer.StateArrays[i], optimizer.StateArrays[i].Length));
        new SafetensorsFile(tensors, file.Metadata).Write(path);
    }

    /// <summary>
    /// Reads a checkpoint's bytes into a fresh model and optimiser of this trainer's configuration, exactly as a
    /// resume does, and returns the epoch it was written after (for the tests and the fuzz harness).
    /// </summary>
    /// <exception cref="GatedFormatException">The bytes are not a checkpoint of this configuration.</exception>
    internal int ReadCheckpoint(ReadOnlySpan<byte> bytes, string? source)
    {
        var model = new MusicModel(ModelOptions, Options.Seed, Output);
        var state = new RunState();
        Restore(SafetensorsFile.Read(bytes, source), source, model, CreateOptimizer(model), [], state);
        return state.Epoch;
    }

    private void Restore(SafetensorsFile file, string? path, MusicModel model, Optimizer<float> optimizer, List<EpochRecord> history, RunState state)
    {
        string Meta(string key) => file.Metadata.TryGetValue(key, out var v) ? v : throw new GatedFormatException(path, $"checkpoint metadata '{key}' is missing.");
        double Double(string key) => double.TryParse(Meta(key), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : throw new GatedFormatException(path, $"checkpoint metadata '{key}' is not a number.");
        int Int(string key) => int.TryParse(Meta(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 0 ? v : throw new GatedFormatException(path, $"checkpoint metadata '{key}' is not a count.");
        string saved = Meta("training.configuration"), current = Configuration();
        if (saved != current)
            throw new GatedFormatException(path, $"the checkpoint was made with other model or training options{DescribeDifference(saved, current)}; resume with the same options, or use a new run folder.");
        model.CopyParametersFrom(MusicModel.FromSafetensors(file));
        int stateCount = Int("checkpoint.optimizer_state_count");
        var arrays = new List<float[]>();
        for (int i = 0; i < stateCount; i++)
        {
            if (!file.TryGet(StateTensorPrefix + i.ToString(CultureInfo.InvariantCulture), out var t))
                throw new GatedFormatException(path, $"optimizer state tensor {i} is missing.");
            arrays.Add(t.ToSingleArray());
        }
        try { optimizer.RestoreState(long.Parse(Meta("checkpoint.optimizer_steps"), CultureInfo.InvariantCulture), arrays); }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException) { throw new GatedFormatException(path, $"the optimizer state does not fit: {e.Message}"); }
        state.Epoch = Int("checkpoint.epoch");
        state.LearningRate = Double("checkpoint.learning_rate");
        state.BestValid = Double("checkpoint.best_valid");
        state.BestEpoch = Int("training.best_epoch");
        state.SinceBest = Int("checkpoint.since_best");
        state.SinceDecay = Int("checkpoint.since_decay");
        state.Seconds = Double("checkpoint.seconds");
        try
        {
            foreach (var row in JsonSerializer.Deserialize<double[][]>(Meta("training.history")) ?? [])
                history.Add(new EpochRecord((int)row[0], row[1], row[2], row[3], row[4], row[5] != 0));
        }
        catch (Exception e) when (e is JsonException or IndexOutOfRangeException) { throw new GatedFormatException(path, $"the training history is unreadable: {e.Message}"); }
    }

    private static float[][] Snapshot(MusicModel model, Optimizer<float> optimizer) =>
        [.. model.ParameterBlocks.Select(b => new float[b.Count]), .. optimizer.StateArrays.Select(a => new float[a.Length]), [0]];

    private static void TakeSnapshot(MusicModel model, Optimizer<float> optimizer, float[][] snapshot)
    {
        int i = 0;
        foreach (var b in model.ParameterBlocks) b.Values.CopyTo(snapshot[i++], 0);
        foreach (var a in optimizer.StateArrays) a.CopyTo(snapshot[i++], 0);
        snapshot[i][0] = BitConverter.Int32BitsToSingle((int)optimizer.StepCount);
    }

    private static void RestoreSnapshot(MusicModel model, Optimizer<float> optimizer, float[][] snapshot)
    {
        int i = 0;
        foreach (var b in model.ParameterBlocks) snapshot[i++].CopyTo(b.Values, 0);
        var arrays = new List<float[]>();
        foreach (var _ in optimizer.StateArrays) arrays.Add(snapshot[i++]);
        optimizer.RestoreState(BitConverter.SingleToInt32Bits(snapshot[i][0]), arrays);
    }

    /// <summary>An <see cref="IProgress{T}"/> that reports on the calling thread (unlike <see cref="Progress{T}"/>).</summary>
    private sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
