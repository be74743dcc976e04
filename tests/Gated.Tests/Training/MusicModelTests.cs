using Gated.Data;
using Gated.IO.Safetensors;
using Gated.Layers;
using Gated.Memory;
using Gated.Models;
using Gated.Training;

namespace Gated.Tests.Training;

public sealed class MusicModelTests
{
    private static List<PianoRoll> Synthetic(int count, int seed) => SyntheticMusic.Rolls(count, seed);

    [Fact]
    public void TwoEpochsOfDemoTrainingReduceTheTrainingNll()
    {
        var train = Synthetic(48, 1);
        var model = MusicModel.Create(CellKind.Gru, hiddenSize: 16, seed: 1);
        var adam = new Adam<float>(model.ParameterBlocks, 3e-2);
        double before = model.Evaluate(train).NllPerStep;
        var first = model.TrainEpoch(train, adam, 1, new MusicModel.TrainingStep(BatchSize: 8, MaxGradientNorm: 1.0));
        var second = model.TrainEpoch(train, adam, 2, new MusicModel.TrainingStep(BatchSize: 8, MaxGradientNorm: 1.0));
        double after = model.Evaluate(train).NllPerStep;
        Assert.InRange(before, 55, 70); // ≈ 88·ln 2 = 61 for near-zero logits
        Assert.True(second.NllPerStep < first.NllPerStep, $"epoch 2 {second.NllPerStep} vs epoch 1 {first.NllPerStep}");
        Assert.True(after < 0.5 * before, $"after {after} vs before {before}");
        Assert.Equal(first.PredictedSteps, second.PredictedSteps);
    }

    [Fact]
    public void TrainingIsDeterministicForASeed()
    {
        var train = Synthetic(20, 2);
        float[] Run(int seed, out double nll)
        {
            var model = MusicModel.Create(CellKind.Lstm, 8, seed: seed);
            var adam = new Adam<float>(model.ParameterBlocks, 1e-2);
            nll = model.TrainEpoch(train, adam, 1, new MusicModel.TrainingStep(BatchSize: 4)).NllPerStep;
            return [.. model.Recurrent.Parameters.Values, .. model.Head.Parameters.Values];
        }
        Assert.Equal(Run(5, out double a), Run(5, out double b));
        Assert.Equal(a, b);
        Assert.NotEqual(Run(5, out _), Run(6, out _));
    }

    [Theory]
    [InlineData(CellKind.Gru, 1)]
    [InlineData(CellKind.Lstm, 1)]
    [InlineData(CellKind.Rnn, 2)]
    public void TrainingGradientIsTheGradientOfTheMeanNllPerStep(CellKind cell, int layers)
    {
        // One batch holding every sequence: the recorded gradient must be ∇ of Evaluate's NLL per step.
        // Checked along the gradient's own direction d = g/|g|: (L(θ + εd) − L(θ − εd)) / 2ε ≈ |g|.
        var data = Synthetic(12, 3);
        var model = MusicModel.Create(cell, 6, layers, seed: 4);
        MusicGradientCheck.AssertTrainingGradientIsTheGradientOfTheMeanNll(model, data);
    }

    [Fact]
    public void BatchedEvaluationEqualsOneSequenceAtATime()
    {
        var data = Synthetic(10, 4);
        var model = MusicModel.Create(CellKind.Gru, 8, seed: 2);
        var batched = model.Evaluate(data, batchSize: 10);
        double total = 0;
        long steps = 0;
        foreach (var roll in data)
        {
            var one = model.Evaluate([roll], batchSize: 1);
            total += one.TotalNll;
            steps += one.PredictedSteps;
        }
        Assert.Equal(steps, batched.PredictedSteps);
        Assert.Equal(data.Sum(r => r.Length - 1), batched.PredictedSteps);
        Assert.Equal(total, batched.TotalNll, 1e-6 * total);
    }

    [Fact]
    public void ShortSequencesAreSkippedAndProgressIsReported()
    {
        var data = Synthetic(9, 5);
        data.Add(PianoRoll.FromPitches([[60]]));
        var model = MusicModel.Create(CellKind.Rnn, 4, seed: 3);
        var reports = new List<MusicProgress>();
        var progress = new Collect(reports);
        var summary = model.TrainEpoch(data, new RmsProp<float>(model.ParameterBlocks, 1e-3), 1, new MusicModel.TrainingStep(BatchSize: 4), progress: progress);
        Assert.Equal(9, summary.Sequences);
        Assert.Equal(1, summary.SkippedSequences);
        Assert.Equal(3, reports.Count);
        Assert.All(reports, r => Assert.Equal(MusicPhase.Training, r.Phase));
        Assert.Equal([1, 2, 3], reports.Select(r => r.Batch));
        Assert.Equal(9, reports[^1].SequencesDone);
        Assert.Equal(summary.NllPerStep, reports[^1].RunningNllPerStep, 1e-12);
        Assert.All(reports, r => Assert.NotNull(r.GradientNorm));

        reports.Clear();
        model.Evaluate(data, batchSize: 5, progress);
        Assert.Equal(2, reports.Count);
        Assert.All(reports, r => Assert.Equal(MusicPhase.Evaluation, r.Phase));
        Assert.True(double.IsNaN(model.Evaluate([PianoRoll.FromPitches([[60]])]).NllPerStep));
    }

    private sealed class Collect(List<MusicProgress> list) : IProgress<MusicProgress>
    {
        public void Report(MusicProgress value) => list.Add(value);
    }

    [Fact]
    public void SavesEveryParameterWithItsPrefixAndTheArchitecture()
    {
        var model = MusicModel.Create(CellKind.Lstm, 5, numLayers: 2, seed: 9);
        string dir = Directory.CreateTempSubdirectory("gated-model-").FullName;
        try
        {
            string path = Path.Combine(dir, "m.safetensors");
            model.Save(path, new Dictionary<string, string> { ["training.epochs"] = "0" });
            var file = SafetensorsFile.Read(path);
            var names = file.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal).ToArray();
            var expected = model.Recurrent.Parameters.Parameters.Select(p => "rnn." + p.Name)
                .Concat(["head.weight", "head.bias"]).Order(StringComparer.Ordinal).ToArray();
            Assert.Equal(expected, names);
            foreach (var (prefix, block) in new[] { ("rnn.", model.Recurrent.Parameters), ("head.", model.Head.Parameters) })
                foreach (var p in block.Parameters)
                {
                    var t = file[prefix + p.Name];
                    Assert.Equal(SafetensorsDType.F32, t.DType);
                    Assert.Equal(p.Shape, t.GetShapeInt32());
                    Assert.Equal(block.Values.AsSpan(p.Offset, p.Length).ToArray(), t.ToSingleArray());
                }
            Assert.Equal(MusicModel.FormatName, file.Metadata["gated.format"]);
            Assert.Equal("lstm", file.Metadata["model.cell"]);
            Assert.Equal("5", file.Metadata["model.hidden_size"]);
            Assert.Equal("2", file.Metadata["model.num_layers"]);
            Assert.Equal(model.ParameterCount.ToString(System.Globalization.CultureInfo.InvariantCulture), file.Metadata["model.parameters"]);
            Assert.Equal("0", file.Metadata["training.epochs"]);
            Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void OptionsAndArgumentsAreValidated()
    {
        var options = new RecurrentOptions { Cell = CellKind.Gru, InputSize = 88, HiddenSize = 4 };
        Assert.Throws<ArgumentException>(() => new MusicModel(options with { Bidirectional = true }, 1));
        Assert.Throws<ArgumentException>(() => new MusicModel(options with { InputSize = 10 }, 1));
        Assert.Throws<ArgumentException>(() => new MusicModel(options with { BatchFirst = true }, 1));
        Assert.Throws<ArgumentException>(() => MusicModel.Create(CellKind.Gru, 0));
        var model = new MusicModel(options, 1);
        Assert.Equal(3 * (4 * 88 + 4 * 4 + 2 * 4) + 4 * 88 + 88, model.ParameterCount);
        var other = MusicModel.Create(CellKind.Gru, 4);
        var data = Synthetic(4, 6);
        Assert.Throws<ArgumentException>(() => model.TrainEpoch(data, new Adam<float>(other.ParameterBlocks), 1, new MusicModel.TrainingStep()));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.TrainEpoch(data, new Adam<float>(model.ParameterBlocks), 1, new MusicModel.TrainingStep(BatchSize: 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.TrainEpoch(data, new Adam<float>(model.ParameterBlocks), 1, new MusicModel.TrainingStep(MaxGradientNorm: 0)));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => model.Evaluate(data, cancellationToken: cancelled.Token));
    }
}
