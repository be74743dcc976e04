using Gated.Data;
using Gated.Inspection;
using Gated.Interop;
using Gated.IO;
using Gated.IO.Safetensors;
using Gated.Layers;
using Gated.Memory;
using Gated.Models;
using Gated.Onnx;
using Gated.Training;

namespace Gated.Tests.Training;

/// <summary>
/// A <see cref="MusicModel"/> with the NADE output (<see cref="MusicOutputKind.Nade"/>): training lowers
/// its loss, the training gradient is the gradient of the evaluated NLL, files round-trip and record
/// the output, sampling works, and the exports that cannot hold a NADE refuse clearly.
/// </summary>
public sealed class NadeMusicModelTests
{
    private static List<PianoRoll> Synthetic(int count, int seed) => SyntheticMusic.Rolls(count, seed);

    private static MusicModel Create(int hidden = 12, int nadeHidden = 10, int seed = 1) =>
        new(new RecurrentOptions { Cell = CellKind.Gru, InputSize = 88, HiddenSize = hidden }, seed, MusicOutput.Nade(nadeHidden));

    [Fact]
    public void TrainingATinyModelLowersItsLoss()
    {
        var train = Synthetic(48, 1);
        var model = Create();
        var adam = new Adam<float>(model.ParameterBlocks, 1e-2);
        double before = model.Evaluate(train).NllPerStep;
        var step = new MusicModel.TrainingStep(BatchSize: 8, MaxGradientNorm: 1.0);
        var first = model.TrainEpoch(train, adam, 1, step);
        var second = model.TrainEpoch(train, adam, 2, step);
        var third = model.TrainEpoch(train, adam, 3, step);
        double after = model.Evaluate(train).NllPerStep;
        Assert.True(second.NllPerStep < first.NllPerStep && third.NllPerStep < second.NllPerStep,
            $"epochs: {first.NllPerStep}, {second.NllPerStep}, {third.NllPerStep}");
        Assert.True(after < 0.5 * before, $"after {after} vs before {before}");
    }

    [Fact]
    public void TrainingGradientIsTheGradientOfTheMeanNllPerStep()
    {
        // The recorded gradient of one whole-data batch against a central difference of Evaluate along it.
        var data = Synthetic(12, 3);
        var model = Create(hidden: 6, nadeHidden: 5, seed: 4);
        MusicGradientCheck.AssertTrainingGradientIsTheGradientOfTheMeanNll(model, data);
    }

    [Fact]
    public void WithZeroNadeWeightsTheModelIsItsSigmoidTwin()
    {
        // Same seed: same recurrent and head weights. With w = v = 0 the NADE adds nothing to the head's logits.
        var data = Synthetic(10, 7);
        var nade = Create(hidden: 8, nadeHidden: 6, seed: 5);
        var sigmoid = new MusicModel(new RecurrentOptions { Cell = CellKind.Gru, InputSize = 88, HiddenSize = 8 }, 5);
        Assert.Equal(sigmoid.Recurrent.Parameters.Values, nade.Recurrent.Parameters.Values);
        Assert.Equal(sigmoid.Head.Parameters.Values, nade.Head.Parameters.Values);
        nade.Nade!.Parameters.Value("w").Clear();
        nade.Nade.Parameters.Value("v").Clear();
        Assert.Equal(sigmoid.Evaluate(data).TotalNll, nade.Evaluate(data).TotalNll, 1e-3);
    }

    [Fact]
    public void FilesRecordTheOutputAndRoundTrip()
    {
        var data = Synthetic(6, 8);
        var model = Create(seed: 9);
        model.TrainEpoch(data, new Adam<float>(model.ParameterBlocks, 1e-2), 1, new MusicModel.TrainingStep(BatchSize: 3));
        var file = model.ToSafetensors();
        Assert.Equal("nade", file.Metadata[MusicModel.OutputDistributionKey]);
        Assert.Equal("10", file.Metadata[MusicModel.NadeHiddenSizeKey]);
        foreach (var p in model.Nade!.Parameters.Parameters)
            Assert.Equal(p.Shape, file["nade." + p.Name].GetShapeInt32());
        using var stream = new MemoryStream();
        file.Write(stream);
        var loaded = MusicModel.FromSafetensors(SafetensorsFile.Read(stream.ToArray(), "m.safetensors"));
        Assert.Equal(MusicOutput.Nade(10), loaded.Output);
        Assert.Equal(model.ParameterCount, loaded.ParameterCount);
        Assert.Equal(model.Evaluate(data).TotalNll, loaded.Evaluate(data).TotalNll);
        Assert.Contains("NADE", loaded.ToString(), StringComparison.Ordinal);

        // A sigmoid model's file says nothing about the output, as before the NADE, and reads back as sigmoid.
        var sigmoid = MusicModel.Create(CellKind.Gru, 4).ToSafetensors();
        Assert.False(sigmoid.Metadata.ContainsKey(MusicModel.OutputDistributionKey));
        Assert.Equal(MusicOutput.Sigmoid, MusicModel.FromSafetensors(sigmoid).Output);

        // Unknown or incomplete output metadata is refused with the key named.
        var unknown = new SafetensorsFile(file.Tensors, file.Metadata.Select(kv => kv.Key == MusicModel.OutputDistributionKey ? new KeyValuePair<string, string>(kv.Key, "mixture") : kv));
        Assert.Contains(MusicModel.OutputDistributionKey, Assert.Throws<GatedFormatException>(() => MusicModel.FromSafetensors(unknown)).Message, StringComparison.Ordinal);
        var sizeless = new SafetensorsFile(file.Tensors, file.Metadata.Where(kv => kv.Key != MusicModel.NadeHiddenSizeKey));
        Assert.Contains(MusicModel.NadeHiddenSizeKey, Assert.Throws<GatedFormatException>(() => MusicModel.FromSafetensors(sizeless)).Message, StringComparison.Ordinal);
        var missing = new SafetensorsFile(file.Tensors.Where(t => t.Name != "nade.w"), file.Metadata);
        Assert.Contains("nade.w", Assert.Throws<GatedFormatException>(() => MusicModel.FromSafetensors(missing)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SamplingDrawsFramesKeyByKey()
    {
        var model = Create(seed: 2);
        model.TrainEpoch(Synthetic(24, 2), new Adam<float>(model.ParameterBlocks, 3e-2), 1, new MusicModel.TrainingStep(BatchSize: 4));
        var probabilities = new float[16 * 88];
        var roll = model.Sample(16, seed: 3, probabilities: probabilities);
        Assert.Equal(16, roll.Length);
        Assert.All(probabilities, p => Assert.InRange(p, 0f, 1f));
        var again = new float[16 * 88];
        var same = model.Sample(16, seed: 3, probabilities: again);
        Assert.Equal(probabilities, again);
        for (int t = 0; t < 16; t++) Assert.Equal(roll.PitchesAt(t), same.PitchesAt(t));
    }

    [Fact]
    public void PredictionsAndTracesUseTheNade()
    {
        var data = Synthetic(5, 4);
        var model = Create(seed: 6);
        var roll = data.First(r => r.Length >= 3);
        float[] p = MusicModelMetrics.PredictProbabilities(model, roll);
        Assert.Equal((roll.Length - 1) * 88, p.Length);
        Assert.All(p, v => Assert.InRange(v, 0f, 1f));
        var trace = GateInspector.Trace(model, roll);
        Assert.Equal(model.Evaluate([roll]).TotalNll, trace.StepNll.Sum(), 1e-3);
        var frames = MusicModelMetrics.FrameAccuracy(model, data);
        Assert.Equal(data.Where(r => r.Length >= 2).Sum(r => r.Length - 1), frames.PredictedSteps);
    }

    [Fact]
    public void ExportsThatCannotHoldANadeRefuse()
    {
        var model = Create();
        var onnx = Assert.Throws<ArgumentException>(() => OnnxExporter.ToBytes(model));
        Assert.Contains("NADE", onnx.Message, StringComparison.Ordinal);
        var interop = Assert.Throws<InteropException>(() => ModelFile.Load<float>(model.ToSafetensors()));
        Assert.Contains("NADE", interop.Message, StringComparison.Ordinal);
        Assert.Contains("--output sigmoid", interop.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OutputOptionsAreValidated()
    {
        var options = new RecurrentOptions { Cell = CellKind.Gru, InputSize = 88, HiddenSize = 4 };
        Assert.Throws<ArgumentException>(() => new MusicModel(options, 1, MusicOutput.Nade(0)));
        Assert.Throws<ArgumentException>(() => new MusicModel(options, 1, new MusicOutput(MusicOutputKind.Sigmoid, 5)));
        Assert.Throws<ArgumentException>(() => new MusicTrainer(options, new TrainingOptions(), MusicOutput.Nade(-1)));
        var nade = new MusicModel(options, 1, MusicOutput.Nade(3));
        // GRU 4 + head (88·4 + 88) + NADE: c (3·4 + 3), w and v (88·3 each).
        Assert.Equal(3 * (4 * 88 + 4 * 4 + 2 * 4) + 4 * 88 + 88 + 3 * 4 + 3 + 2 * 88 * 3, nade.ParameterCount);
        Assert.Throws<ArgumentException>(() => nade.CopyParametersFrom(new MusicModel(options, 1)));
    }

    [Fact]
    public void TrainerRunsAndResumesANadeModelButNotASigmoidCheckpoint()
    {
        var data = new PianoRollDataset(Synthetic(16, 10), Synthetic(6, 11), Synthetic(6, 12));
        var options = new RecurrentOptions { Cell = CellKind.Gru, InputSize = 88, HiddenSize = 6 };
        var training = new TrainingOptions { MaxEpochs = 2, BatchSize = 4, LearningRate = 1e-2 };
        string dir = Directory.CreateTempSubdirectory("gated-nade-").FullName;
        try
        {
            var result = new MusicTrainer(options, training, MusicOutput.Nade(4)).Run(data, dir);
            Assert.Equal(MusicOutput.Nade(4), result.Best.Output);
            Assert.Equal(MusicOutput.Nade(4), MusicModel.Load(Path.Combine(dir, MusicTrainer.BestFileName)).Output);
            var resumed = new MusicTrainer(options, training with { MaxEpochs = 3 }, MusicOutput.Nade(4)).Run(data, dir, resume: true);
            Assert.Equal(3, resumed.History.Count);
            var refused = Assert.Throws<GatedFormatException>(() => new MusicTrainer(options, training with { MaxEpochs = 4 }).Run(data, dir, resume: true));
            Assert.Contains("output", refused.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
