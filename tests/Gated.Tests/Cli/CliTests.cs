using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using Gated.Layers;
using Gated.Models;

namespace Gated.Tests.Cli;

/// <summary>
/// The <c>gated train</c>, <c>eval</c> and <c>sample</c> commands, run as the real tool: the built
/// Gated.Cli.dll (copied next to this assembly by the project reference) in a child process with
/// stdout and stderr redirected, a temporary working folder, and GATED_DATA and GATED_CACHE pointing
/// into it, so no test reads the machine's data sets or touches the network.
/// </summary>
public sealed class CliTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private readonly string root;
    private readonly string dataPath;

    public CliTests()
    {
        root = Path.Combine(Path.GetTempPath(), "gated-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        dataPath = Path.Combine(root, "tiny.json");
        File.WriteAllText(dataPath, SyntheticDataSet());
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort.
        }
    }

    [Fact]
    public void TrainResumeEvalAndSample()
    {
        string model = Path.Combine(root, "m.safetensors");
        string runDir = Path.Combine(root, "m.run");

        // Train two epochs.
        var train = Run("train", "--data", dataPath, "--hidden", "8", "--epochs", "2", "--batch-size", "2", "--lr", "0.01", "--out", model, "--json");
        AssertSuccess(train);
        using (var doc = JsonDocument.Parse(train.Stdout))
        {
            var r = doc.RootElement;
            Assert.Equal("gru", r.GetProperty("cell").GetString());
            Assert.Equal(8, r.GetProperty("hidden_size").GetInt32());
            Assert.True(r.GetProperty("parameters").GetInt32() > 0);
            var epochs = r.GetProperty("epochs");
            Assert.Equal(2, epochs.GetArrayLength());
            Assert.Equal([1, 2], epochs.EnumerateArray().Select(e => e.GetProperty("epoch").GetInt32()));
            Assert.All(epochs.EnumerateArray(), e => Assert.True(e.GetProperty("valid_nll_per_step").GetDouble() > 0));
            Assert.InRange(r.GetProperty("best_epoch").GetInt32(), 1, 2);
            Assert.Equal("max_epochs", r.GetProperty("stop_reason").GetString());
            Assert.Equal(Path.GetFullPath(model), r.GetProperty("model").GetString());
            Assert.Equal(Path.GetFullPath(runDir), r.GetProperty("run_dir").GetString());
            Assert.Equal(JsonValueKind.Null, r.GetProperty("resumed_after_epoch").ValueKind);
        }
        Assert.True(File.Exists(model));
        Assert.True(File.Exists(Path.Combine(runDir, MusicTrainer.CheckpointFileName)));
        Assert.True(File.Exists(Path.Combine(runDir, MusicTrainer.BestFileName)));
        var saved = MusicModel.Load(model);
        Assert.Equal(8, saved.Recurrent.Options.HiddenSize);

        // The same command again refuses to overwrite the run; with --resume it continues to epoch 3.
        var again = Run("train", "--data", dataPath, "--hidden", "8", "--epochs", "3", "--batch-size", "2", "--lr", "0.01", "--out", model, "--json");
        AssertOneLineError(again, 2, "--resume");
        var resumed = Run("train", "--data", dataPath, "--hidden", "8", "--epochs", "3", "--batch-size", "2", "--lr", "0.01", "--out", model, "--resume", "--json");
        AssertSuccess(resumed);
        using (var doc = JsonDocument.Parse(resumed.Stdout))
        {
            var epochs = doc.RootElement.GetProperty("epochs");
            Assert.Equal([1, 2, 3], epochs.EnumerateArray().Select(e => e.GetProperty("epoch").GetInt32()));
            Assert.Equal(2, doc.RootElement.GetProperty("resumed_after_epoch").GetInt32());
        }

        // Evaluate every split.
        var eval = Run("eval", model, "--data", dataPath, "--split", "all", "--json");
        AssertSuccess(eval);
        using (var doc = JsonDocument.Parse(eval.Stdout))
        {
            var splits = doc.RootElement.GetProperty("splits").EnumerateArray().ToList();
            Assert.Equal(["train", "valid", "test"], splits.Select(s => s.GetProperty("split").GetString()));
            Assert.Equal([6 * 11, 2 * 9, 2 * 9], splits.Select(s => s.GetProperty("predicted_steps").GetInt64()));
            Assert.Equal([6, 2, 2], splits.Select(s => s.GetProperty("sequences").GetInt32()));
            foreach (var s in splits)
            {
                double nll = s.GetProperty("nll_per_step").GetDouble();
                Assert.True(nll > 0 && double.IsFinite(nll));
                double total = s.GetProperty("total_nll").GetDouble();
                Assert.Equal(total, nll * s.GetProperty("predicted_steps").GetInt64(), 1e-9 * total);
                var accuracy = s.GetProperty("frame_accuracy");
                if (accuracy.ValueKind == JsonValueKind.Number) Assert.InRange(accuracy.GetDouble(), 0, 1);
                Assert.True(s.GetProperty("true_positives").GetInt64() + s.GetProperty("false_negatives").GetInt64() > 0);
            }
        }

        // Human-readable eval, redirected: a table and no escape sequences.
        var table = Run("eval", model, "--data", dataPath);
        AssertSuccess(table);
        Assert.Contains("NLL/step", table.Stdout);
        Assert.DoesNotContain("\u001b[", table.Stdout);

        // Sample 16 steps after a 4-step primer to MIDI and SVG.
        string midi = Path.Combine(root, "piece.mid");
        var sample = Run("sample", model, "--steps", "16", "--primer-data", dataPath, "--primer-steps", "4", "--out", midi, "--json");
        AssertSuccess(sample);
        string svg = Path.Combine(root, "piece.svg");
        using (var doc = JsonDocument.Parse(sample.Stdout))
        {
            var r = doc.RootElement;
            Assert.Equal(16, r.GetProperty("steps").GetInt32());
            Assert.Equal(20, r.GetProperty("total_steps").GetInt32());
            Assert.Equal(4, r.GetProperty("primer").GetProperty("steps").GetInt32());
            Assert.Equal(Path.GetFullPath(midi), r.GetProperty("midi").GetString());
            Assert.Equal(Path.GetFullPath(svg), r.GetProperty("svg").GetString());
        }
        byte[] bytes = File.ReadAllBytes(midi);
        Assert.Equal("MThd"u8.ToArray(), bytes[..4]);
        var xml = XDocument.Load(svg);
        Assert.Equal("svg", xml.Root!.Name.LocalName);

        // Without --json: plain lines, and an explicit --svg path.
        string otherSvg = Path.Combine(root, "other.svg");
        var plain = Run("sample", model, "--steps", "16", "--out", Path.Combine(root, "other.mid"), "--svg", otherSvg);
        AssertSuccess(plain);
        Assert.Contains("notes per step", plain.Stdout);
        Assert.Contains(otherSvg, plain.Stdout);
        XDocument.Load(otherSvg);
    }

    [Fact]
    public void TrainPrintsPlainLinesWhenRedirected()
    {
        string model = Path.Combine(root, "plain.safetensors");
        var train = Run("train", "--data", dataPath, "--cell", "lstm", "--hidden", "4", "--epochs", "2", "--out", model);
        AssertSuccess(train);
        string[] lines = train.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Contains(lines, l => l.StartsWith("Model", StringComparison.Ordinal) && l.Contains("parameters", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("epoch 1", StringComparison.Ordinal) && l.Contains("valid", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("epoch 2", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("Best", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("Saved", StringComparison.Ordinal));
        Assert.DoesNotContain("\u001b[", train.Stdout);
        Assert.DoesNotContain("[/]", train.Stdout);
        Assert.Equal(CellKind.Lstm, MusicModel.Load(model).Recurrent.Options.Cell);
    }

    [Fact]
    public void TrainEvalSampleAndConvertANadeModel()
    {
        string model = Path.Combine(root, "nade.safetensors");
        var train = Run("train", "--data", dataPath, "--hidden", "8", "--output", "nade", "--nade-hidden", "6", "--epochs", "2", "--batch-size", "2", "--lr", "0.01", "--out", model, "--json");
        AssertSuccess(train);
        using (var doc = JsonDocument.Parse(train.Stdout))
        {
            Assert.Equal("nade", doc.RootElement.GetProperty("output").GetString());
            Assert.Equal(6, doc.RootElement.GetProperty("nade_hidden").GetInt32());
            Assert.Equal(MusicModel.Load(model).ParameterCount, doc.RootElement.GetProperty("parameters").GetInt32());
        }
        Assert.Equal(MusicOutput.Nade(6), MusicModel.Load(model).Output);

        var eval = Run("eval", model, "--data", dataPath, "--split", "test", "--json");
        AssertSuccess(eval);
        using (var doc = JsonDocument.Parse(eval.Stdout))
        {
            Assert.Equal("nade", doc.RootElement.GetProperty("output").GetString());
            double nll = doc.RootElement.GetProperty("splits")[0].GetProperty("nll_per_step").GetDouble();
            Assert.True(nll > 0 && double.IsFinite(nll));
        }

        var sample = Run("sample", model, "--steps", "8", "--out", Path.Combine(root, "nade.mid"), "--json");
        AssertSuccess(sample);
        Assert.Equal("MThd"u8.ToArray(), File.ReadAllBytes(Path.Combine(root, "nade.mid"))[..4]);

        AssertOneLineError(Run("convert", model, Path.Combine(root, "nade.onnx")), 1, "NADE");
        AssertOneLineError(Run("convert", model, Path.Combine(root, "nade-pt.safetensors"), "--to", "pytorch"), 1, "NADE");
        AssertOneLineError(Run("train", "--data", dataPath, "--nade-hidden", "6", "--out", Path.Combine(root, "z.safetensors")), 2, "--output nade");
    }

    [Theory]
    [InlineData("--hidden", "-1", "--hidden")]
    [InlineData("--cell", "foo", "--cell")]
    [InlineData("--bogus", "1", "--bogus")]
    [InlineData("--dropout", "1.5", "--dropout")]
    [InlineData("--optimizer", "adagrad", "--optimizer")]
    public void TrainRejectsBadFlags(string flag, string value, string expected)
    {
        var result = Run("train", "--data", dataPath, flag, value, "--out", Path.Combine(root, "x.safetensors"));
        AssertOneLineError(result, 2, expected);
        Assert.False(File.Exists(Path.Combine(root, "x.safetensors")));
    }

    [Fact]
    public void EvalOfAMissingModelFails()
    {
        var result = Run("eval", Path.Combine(root, "missing.safetensors"), "--data", dataPath);
        AssertOneLineError(result, 1, "missing.safetensors");
    }

    [Fact]
    public void AFileThatIsNotAModelIsRefused()
    {
        var result = Run("sample", dataPath, "--out", Path.Combine(root, "x.mid"));
        AssertOneLineError(result, 1, "not a model file");
    }

    [Fact]
    public void AModelFileGivenAsDataIsRefused()
    {
        string model = Path.Combine(root, "fresh.safetensors");
        MusicModel.Create(CellKind.Gru, 4).Save(model);
        var result = Run("eval", model, "--data", model);
        AssertOneLineError(result, 1, "not a data set");
        var train = Run("train", "--data", model, "--hidden", "4", "--epochs", "1", "--out", Path.Combine(root, "y.safetensors"));
        AssertOneLineError(train, 1, "not a data set");
    }

    [Fact]
    public void SampleRejectsPrimerOptionsWithoutPrimerData()
    {
        var result = Run("sample", Path.Combine(root, "any.safetensors"), "--primer-index", "2", "--out", Path.Combine(root, "x.mid"));
        AssertOneLineError(result, 2, "--primer-data");
    }

    [Theory]
    [InlineData(CellKind.Gru, 1)]
    [InlineData(CellKind.Lstm, 2)]
    public void FrameAccuracyUsesTheProbabilitiesTheModelIsScoredOn(CellKind cell, int layers)
    {
        // The probabilities behind eval's frame accuracy give the same NLL as MusicModel.Evaluate,
        // and the counts add up: TP + FN is every note of every predicted step.
        var data = Gated.Data.PianoRollDataset.Parse(Encoding.UTF8.GetBytes(SyntheticDataSet()));
        var model = MusicModel.Create(cell, 6, layers, seed: 3);
        double total = 0;
        long notes = 0;
        foreach (var roll in data.Train)
        {
            float[] p = MusicModelMetrics.PredictProbabilities(model, roll);
            Assert.Equal((roll.Length - 1) * MusicModel.Keys, p.Length);
            for (int t = 1; t < roll.Length; t++)
            {
                notes += roll.NotesAt(t);
                for (int key = 0; key < MusicModel.Keys; key++)
                {
                    double q = p[(t - 1) * MusicModel.Keys + key];
                    total -= roll[t, key] ? Math.Log(q) : Math.Log(1 - q);
                }
            }
        }
        var nll = model.Evaluate(data.Train);
        Assert.Equal(nll.TotalNll, total, 1e-4 * nll.TotalNll);

        var frames = MusicModelMetrics.FrameAccuracy(model, data.Train);
        Assert.Equal(nll.PredictedSteps, frames.PredictedSteps);
        Assert.Equal(data.Train.Count, frames.Sequences);
        Assert.Equal(notes, frames.TruePositives + frames.FalseNegatives);
        var all = MusicModelMetrics.FrameAccuracy(model, data.Train, threshold: 1e-9);
        Assert.Equal(notes, all.TruePositives);
        Assert.Equal(nll.PredictedSteps * MusicModel.Keys - notes, all.FalsePositives);
        Assert.Equal((double)notes / (nll.PredictedSteps * MusicModel.Keys), all.Accuracy, 1e-12);
    }

    // ------------------------------------------------------------------ helpers

    private sealed record Result(int ExitCode, string Stdout, string Stderr);

    private static void AssertSuccess(Result result) =>
        Assert.True(result.ExitCode == 0, $"exit code {result.ExitCode}\nstdout:\n{result.Stdout}\nstderr:\n{result.Stderr}");

    /// <summary>The exit code, and exactly one line on stderr that mentions <paramref name="expected"/>; no stack trace, nothing on stdout.</summary>
    private static void AssertOneLineError(Result result, int exitCode, string expected)
    {
        Assert.True(result.ExitCode == exitCode, $"exit code {result.ExitCode}, expected {exitCode}\nstdout:\n{result.Stdout}\nstderr:\n{result.Stderr}");
        string[] lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, "expected one line on stderr, got:\n" + result.Stderr);
        Assert.StartsWith("gated ", lines[0], StringComparison.Ordinal);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout);
    }

    private Result Run(params string[] args)
    {
        var r = GatedProcess.Run(root, new Dictionary<string, string>
        {
            ["GATED_DATA"] = Path.Combine(root, "no-data"),
            ["GATED_CACHE"] = Path.Combine(root, "cache"),
        }, Timeout, args);
        return new Result(r.ExitCode, r.Stdout, r.Stderr);
    }

    /// <summary>
    /// A tiny data set: 6 training sequences of 12 steps, 2 valid and 2 test sequences of 10, made of
    /// a few repeating chords (so a model can learn something in two epochs).
    /// </summary>
    private static string SyntheticDataSet()
    {
        int[][] chords = [[60, 64, 67], [62, 65, 69], [64, 67, 71], [65, 69, 72], [55, 59, 62], []];
        string Sequence(int offset, int length) =>
            "[" + string.Join(",", Enumerable.Range(0, length).Select(t => "[" + string.Join(",", chords[(t + offset) % chords.Length]) + "]")) + "]";
        string Split(int count, int length, int first) =>
            "[" + string.Join(",", Enumerable.Range(first, count).Select(i => Sequence(i, length))) + "]";
        return $"{{\"train\":{Split(6, 12, 0)},\"valid\":{Split(2, 10, 1)},\"test\":{Split(2, 10, 3)}}}";
    }
}
