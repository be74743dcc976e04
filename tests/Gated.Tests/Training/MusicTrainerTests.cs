using Gated.Data;
using Gated.IO;
using Gated.Layers;
using Gated.Models;
using Gated.Training;

namespace Gated.Tests.Training;

public sealed class MusicTrainerTests : IDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "gated-trainer-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
    }

    /// <summary>A small data set with structure to learn: arpeggios whose pattern depends on the sequence.</summary>
    private static PianoRollDataset Synthetic(int seed)
    {
        var random = new Random(seed);
        List<PianoRoll> Split(int count) => [.. Enumerable.Range(0, count).Select(_ =>
        {
            int root = 48 + random.Next(12), length = 12 + random.Next(20), stride = 2 + random.Next(3);
            return PianoRoll.FromPitches(Enumerable.Range(0, length).Select(t => new[] { root + (t * stride) % 12, root + 12 }));
        })];
        return new PianoRollDataset(Split(24), Split(8), Split(8));
    }

    private static RecurrentOptions Gru(int hidden = 12) => new() { Cell = CellKind.Gru, InputSize = 88, HiddenSize = hidden };

    [Fact]
    public void TrainsEarlyStopsAndReturnsTheBestModel()
    {
        var data = Synthetic(1);
        var trainer = new MusicTrainer(Gru(), new TrainingOptions { LearningRate = 0.03, BatchSize = 4, MaxEpochs = 60, Patience = 4, Seed = 3 });
        var result = trainer.Run(data);
        Assert.True(result.History[^1].ValidNll < result.History[0].ValidNll / 2, $"valid NLL {result.History[0].ValidNll} → {result.History[^1].ValidNll}");
        Assert.Equal(result.History.Min(h => h.ValidNll), result.BestValidNll);
        Assert.Equal(result.BestValidNll, result.Best.Evaluate(data.Valid).NllPerStep, 5);
        if (result.Stop == StopReason.EarlyStopping) Assert.Equal(4, result.History.Count - result.BestEpoch);
    }

    [Fact]
    public void ResumingAfterEachEpochGivesTheUninterruptedModelBitForBit()
    {
        var data = Synthetic(2);
        var options = new TrainingOptions { Optimizer = OptimizerKind.RmsProp, LearningRate = 0.01, BatchSize = 4, MaxEpochs = 6, Patience = 10, WeightNoise = 0.01, Seed = 5 };
        var model = Gru() with { NumLayers = 2, Dropout = 0.2 };
        var straight = new MusicTrainer(model, options).Run(data, Path.Combine(folder, "straight"));

        string run = Path.Combine(folder, "interrupted");
        for (int epochs = 1; epochs <= 6; epochs++)
            new MusicTrainer(model, options with { MaxEpochs = epochs }).Run(data, run, resume: true);
        var resumedCheckpoint = MusicModel.Load(Path.Combine(run, MusicTrainer.CheckpointFileName));
        var straightCheckpoint = MusicModel.Load(Path.Combine(folder, "straight", MusicTrainer.CheckpointFileName));
        Assert.Equal(straightCheckpoint.Recurrent.Parameters.Values, resumedCheckpoint.Recurrent.Parameters.Values);
        Assert.Equal(straightCheckpoint.Head.Parameters.Values, resumedCheckpoint.Head.Parameters.Values);
        Assert.Equal(straight.Best.Recurrent.Parameters.Values, MusicModel.Load(Path.Combine(run, MusicTrainer.BestFileName)).Recurrent.Parameters.Values);
    }

    [Fact]
    public void ResumingWithOtherOptionsIsRefused()
    {
        var data = Synthetic(3);
        var options = new TrainingOptions { LearningRate = 0.01, BatchSize = 4, MaxEpochs = 1 };
        new MusicTrainer(Gru(), options).Run(data, folder);
        var e = Assert.Throws<GatedFormatException>(() => new MusicTrainer(Gru(), options with { LearningRate = 0.02, MaxEpochs = 2 }).Run(data, folder, resume: true));
        Assert.Contains("other model or training options", e.Message);
    }

    [Fact]
    public void DivergenceStopsWithoutTouchingTheLastCheckpoint()
    {
        var data = Synthetic(4);
        var options = new TrainingOptions { Optimizer = OptimizerKind.Sgd, LearningRate = 0.01, BatchSize = 4, MaxEpochs = 1, MaxGradientNorm = null };
        new MusicTrainer(Gru(), options).Run(data, folder);
        byte[] before = File.ReadAllBytes(Path.Combine(folder, MusicTrainer.CheckpointFileName));
        // A data set that makes the loss infinite from the first batch: targets are fine but the learning rate explodes the weights.
        var exploding = new MusicTrainer(Gru(), options with { LearningRate = 1e38, MaxEpochs = 3 });
        string other = Path.Combine(folder, "exploding");
        Assert.Throws<TrainingDivergedException>(() => exploding.Run(data, other));
        Assert.False(File.Exists(Path.Combine(other, MusicTrainer.BestFileName)) && !float.IsFinite(MusicModel.Load(Path.Combine(other, MusicTrainer.BestFileName)).Head.Parameters.Values[0]));
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(folder, MusicTrainer.CheckpointFileName)));
    }

    [Fact]
    public void RollBackPolicyLowersTheLearningRateAndGoesOn()
    {
        var data = Synthetic(5);
        var messages = new List<string>();
        var options = new TrainingOptions
        {
            Optimizer = OptimizerKind.Sgd, LearningRate = 1e38, BatchSize = 4, MaxEpochs = 2, MaxGradientNorm = null,
            OnDivergence = DivergencePolicy.RollBackAndHalveLearningRate,
        };
        var result = new MusicTrainer(Gru(), options).Run(data, progress: new SyncProgress(p => { if (p.Message is { } m) messages.Add(m); }));
        // Each divergence halves the rate and retries the epoch from its start; the run then goes on with finite weights.
        Assert.InRange(messages.Count(m => m.Contains("rolled back", StringComparison.Ordinal)), 1, 3);
        Assert.True(result.History[0].LearningRate < 1e38);
        Assert.True(double.IsFinite(result.BestValidNll));
    }

    [Fact]
    public void TruncatedBackpropagationTrainsAndForwardChunksEvaluateExactly()
    {
        var data = Synthetic(6);
        var full = new MusicTrainer(Gru(), new TrainingOptions { LearningRate = 0.03, BatchSize = 4, MaxEpochs = 8, Seed = 2 }).Run(data);
        var truncated = new MusicTrainer(Gru(), new TrainingOptions { LearningRate = 0.03, BatchSize = 4, MaxEpochs = 8, Seed = 2, TruncateSteps = 5 }).Run(data);
        Assert.True(truncated.BestValidNll < truncated.History[0].ValidNll, "truncated BPTT must learn");
        Assert.NotEqual(full.BestValidNll, truncated.BestValidNll);
    }

    [Fact]
    public void SavedModelLoadsBackAndSamples()
    {
        var data = Synthetic(7);
        var result = new MusicTrainer(Gru() with { Gru = new GruOptions { Reset = ResetGatePosition.BeforeProduct } },
            new TrainingOptions { LearningRate = 0.03, BatchSize = 4, MaxEpochs = 3 }).Run(data, folder);
        var loaded = MusicModel.Load(Path.Combine(folder, MusicTrainer.BestFileName));
        Assert.Equal(ResetGatePosition.BeforeProduct, loaded.Recurrent.Options.Gru.Reset);
        Assert.Equal(result.Best.Evaluate(data.Test).NllPerStep, loaded.Evaluate(data.Test).NllPerStep);
        var probabilities = new float[32 * 88];
        var piece = loaded.Sample(32, seed: 1, probabilities: probabilities);
        Assert.Equal(32, piece.Length);
        Assert.All(probabilities, p => Assert.InRange(p, 0f, 1f));
        Assert.Equal(piece.PitchesAt(5), loaded.Sample(32, seed: 1).PitchesAt(5));
    }

    [Fact]
    public void BadOptionsAreRefusedByName()
    {
        Assert.Contains("LearningRate", Assert.Throws<ArgumentException>(() => new MusicTrainer(Gru(), new TrainingOptions { LearningRate = -1 })).Message);
        Assert.Contains("BatchSize", Assert.Throws<ArgumentException>(() => new MusicTrainer(Gru(), new TrainingOptions { BatchSize = 0 })).Message);
        Assert.Contains("WeightNoise", Assert.Throws<ArgumentException>(() => new MusicTrainer(Gru(), new TrainingOptions { WeightNoise = double.NaN })).Message);
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
