using System.Buffers.Binary;
using Gated.Data;
using Gated.IO;
using Gated.IO.Safetensors;
using Gated.Layers;
using Gated.Models;
using Gated.Training;

namespace Gated.Tests.Reliability;

/// <summary>
/// NaN and ∞ in training: a learning rate that overflows the weights stops the run naming the epoch and
/// batch, and nothing non-finite is ever written (checkpoint or best model); with the roll-back policy the
/// epoch is restarted from the last checkpoint's state at half the learning rate, at most
/// <see cref="MusicTrainer.MaxRollBacks"/> times. NaN cannot come in through the data: every reader refuses it.
/// </summary>
public sealed class DivergenceTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gated-divergence-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static PianoRollDataset Data()
    {
        var random = new Random(3);
        List<PianoRoll> Split(int count) => [.. Enumerable.Range(0, count).Select(_ =>
        {
            int root = 48 + random.Next(12), length = 10 + random.Next(10);
            return PianoRoll.FromPitches(Enumerable.Range(0, length).Select(t => new[] { root + (t * 3) % 12, root + 12 }));
        })];
        return new PianoRollDataset(Split(12), Split(4), Split(4));
    }

    private static readonly RecurrentOptions Gru = new() { Cell = CellKind.Gru, InputSize = 88, HiddenSize = 6 };

    /// <summary>SGD without clipping at 1e40: the first update overflows the weights, and so does it at 1/8 of that rate.</summary>
    private static readonly TrainingOptions Exploding = new() { Optimizer = OptimizerKind.Sgd, LearningRate = 1e40, BatchSize = 4, MaxEpochs = 3, MaxGradientNorm = null };

    [Fact]
    public void DivergentLearningRateStopsNamingEpochAndBatchAndWritesNothing()
    {
        var e = Assert.Throws<TrainingDivergedException>(() => new MusicTrainer(Gru, Exploding).Run(Data(), _folder));
        Assert.Equal(1, e.Epoch);
        Assert.Equal(1, e.Batch);
        Assert.StartsWith("Training diverged in epoch 1, batch 1: ", e.Message);
        Assert.Empty(Directory.GetFiles(_folder));
    }

    /// <summary>
    /// With one batch per epoch, the update that overflows the weights is the epoch's last: the loss of the
    /// next batch never shows it. Before the weights were checked after each update, the epoch ended normally
    /// and wrote a checkpoint full of ∞ that could not be resumed.
    /// </summary>
    [Fact]
    public void AnOverflowInTheLastUpdateOfAnEpochIsCaughtBeforeTheCheckpoint()
    {
        var e = Assert.Throws<TrainingDivergedException>(() => new MusicTrainer(Gru, Exploding with { BatchSize = 64 }).Run(Data(), _folder));
        Assert.Equal((1, 1), (e.Epoch, e.Batch));
        Assert.Contains("the update made a weight NaN or infinite", e.Message);
        Assert.False(File.Exists(Path.Combine(_folder, MusicTrainer.CheckpointFileName)));
        Assert.False(File.Exists(Path.Combine(_folder, MusicTrainer.BestFileName)));
    }

    [Fact]
    public void RollBackHalvesTheLearningRateAndGoesOnWithFiniteWeights()
    {
        var messages = new List<string>();
        // At 3e38 the first update overflows; epoch 1 then trains at 1.5e38, epoch 2 diverges and trains at 7.5e37 (found by trying).
        var options = Exploding with { LearningRate = 3e38, OnDivergence = DivergencePolicy.RollBackAndHalveLearningRate, MaxEpochs = 2 };
        var result = new MusicTrainer(Gru, options).Run(Data(), _folder, progress: new Progress(m => messages.Add(m)));
        int rollBacks = messages.Count(m => m.Contains("rolled back to the start of the epoch", StringComparison.Ordinal));
        Assert.Equal(2, rollBacks);
        Assert.StartsWith("epoch 1, batch 1: the update made a weight NaN or infinite; rolled back to the start of the epoch and lowered the learning rate ×0.5 to 1.5E+38 (roll-back 1 of 3)", messages[0]);
        Assert.Equal([1.5e38, 7.5e37], result.History.Select(h => h.LearningRate));
        Assert.Equal(2, result.History.Count);
        Assert.All(MusicModel.Load(Path.Combine(_folder, MusicTrainer.CheckpointFileName)).Head.Parameters.Values, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void RollBackGivesUpAfterThreeTriesAndWritesNothing()
    {
        var messages = new List<string>();
        var options = Exploding with { OnDivergence = DivergencePolicy.RollBackAndHalveLearningRate };
        var e = Assert.Throws<TrainingDivergedException>(() =>
            new MusicTrainer(Gru, options).Run(Data(), _folder, progress: new Progress(m => messages.Add(m))));
        Assert.Equal(MusicTrainer.MaxRollBacks, messages.Count(m => m.Contains("rolled back", StringComparison.Ordinal)));
        Assert.Contains($"after {MusicTrainer.MaxRollBacks} roll-backs of this epoch that lowered the learning rate to 1.25E+39; giving up", e.Message);
        Assert.Empty(Directory.GetFiles(_folder));
    }

    [Fact]
    public void ACheckpointHoldingNaNIsRefusedOnResume()
    {
        var options = new TrainingOptions { LearningRate = 0.01, BatchSize = 4, MaxEpochs = 1 };
        new MusicTrainer(Gru, options).Run(Data(), _folder);
        string checkpoint = Path.Combine(_folder, MusicTrainer.CheckpointFileName);
        var file = SafetensorsFile.Read(checkpoint);
        var poisoned = file.Tensors.Select(t =>
        {
            if (t.Name != "head.bias") return t;
            float[] values = t.ToSingleArray();
            values[3] = float.NaN;
            return SafetensorsTensor.FromArray(t.Name, values, t.GetShapeInt32());
        });
        new SafetensorsFile(poisoned, file.Metadata).Write(checkpoint);
        var e = Assert.Throws<GatedFormatException>(() => new MusicTrainer(Gru, options with { MaxEpochs = 2 }).Run(Data(), _folder, resume: true));
        Assert.Contains("NaN or infinite weight", e.Message);
    }

    [Fact]
    public void NaNInTheDataIsRefusedWhenLoaded()
    {
        // JSON has no NaN; 1e400 is not a pitch.
        Assert.Contains("not valid JSON", Assert.Throws<GatedFormatException>(() =>
            PianoRollDataset.Parse("{\"train\":[[[NaN]]],\"valid\":[[[60]]],\"test\":[[[60]]]}"u8, "nan.json")).Message);
        Assert.Contains("train, sequence 0, step 0: 1e400 is not a MIDI pitch", Assert.Throws<GatedFormatException>(() =>
            PianoRollDataset.Parse("{\"train\":[[[1e400]]],\"valid\":[[[60]]],\"test\":[[[60]]]}"u8, "inf.json")).Message);

        // A pickle whose second step holds float('nan') (CPython 3, protocol 2).
        byte[] pickle = Convert.FromHexString("80027d7100285805000000747261696e71015d71025d7103284b3c857104477ff80000000000008571056561580500000076616c696471065d71075d71086804616158040000007465737471095d710a5d710b68046161752e");
        var p = Assert.Throws<GatedFormatException>(() => PianoRollPickle.Parse(pickle, "nan.pkl"));
        Assert.Contains("nan", p.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("step 1", p.Message);

        // The fuzz harness's plain MAT seed, its one 1.0 stored as a double replaced by NaN.
        byte[] mat = Gated.Fuzz.Seeds.MatSeeds.All()[0];
        byte[] one = BitConverter.GetBytes(1.0);
        int at = mat.AsSpan().IndexOf(one);
        Assert.True(at > 0 && mat.AsSpan(at + 8).IndexOf(one) < 0, "the seed holds exactly one double 1.0");
        BinaryPrimitives.WriteDoubleLittleEndian(mat.AsSpan(at), double.NaN);
        var m = Assert.Throws<GatedFormatException>(() => PianoRollMat.Load(Gated.IO.Mat.MatFile.Read(mat, "nan.mat")));
        Assert.Contains("value NaN is not 0 or 1", m.Message);
    }

    private sealed class Progress(Action<string> message) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Message is string m) message(m);
        }
    }
}
