using System.Text.Json;
using System.Xml.Linq;
using Gated.Data;
using Gated.Experiments;
using Gated.Layers;
using Gated.Models;

namespace Gated.Tests.Experiments;

/// <summary>A folder with tiny stand-ins for jsb.json and nottingham.json, so an ablation runs in seconds.</summary>
internal sealed class TinyDataFolder : IDisposable
{
    public TinyDataFolder()
    {
        Root = Path.Combine(Path.GetTempPath(), "gated-ablation-" + Guid.NewGuid().ToString("N"));
        Data = Path.Combine(Root, "data");
        Directory.CreateDirectory(Data);
        File.WriteAllText(Path.Combine(Data, "jsb.json"), DataSet(0));
        File.WriteAllText(Path.Combine(Data, "nottingham.json"), DataSet(2));
    }

    /// <summary>The temporary folder (deleted on dispose).</summary>
    public string Root { get; }

    /// <summary>The folder holding jsb.json and nottingham.json.</summary>
    public string Data { get; }

    /// <summary>Where data sets are looked up: only <see cref="Data"/>, no environment, no download.</summary>
    public DataSetResolveOptions Resolve => new() { DataDirectory = Data, CacheDirectory = Path.Combine(Root, "cache"), AllowDownload = false, UseEnvironmentVariables = false };

    /// <summary>4 training sequences of 10–13 steps, 2 valid and 2 test sequences, a few chords cycling.</summary>
    private static string DataSet(int shift)
    {
        int[][] chords = [[60, 64, 67], [62, 65, 69], [64, 67, 71, 48], [65, 69, 72], [55, 59, 62], []];
        string Sequence(int offset, int length) =>
            "[" + string.Join(",", Enumerable.Range(0, length).Select(t => "[" + string.Join(",", chords[(t + offset + shift) % chords.Length]) + "]")) + "]";
        string Split(int count, int first) => "[" + string.Join(",", Enumerable.Range(first, count).Select(i => Sequence(i, 10 + i % 4))) + "]";
        return $"{{\"train\":{Split(4, 0)},\"valid\":{Split(2, 4)},\"test\":{Split(2, 6)}}}";
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

public sealed class GateAblationTests
{
    [Theory]
    [InlineData("gru", 41, 19_809, 19_809)]
    [InlineData("gru-no-reset", 53, 19_910, 27_489)]
    [InlineData("gru-no-update", 53, 19_910, 27_489)]
    [InlineData("gru-take-candidate", 41, 19_809, 19_809)]
    [InlineData("gru-reset-before", 41, 19_809, 19_809)]
    [InlineData("lstm", 34, 19_944, 19_944)]
    [InlineData("tanh", 78, 20_056, 20_056)]
    public void VariantsBuildWithTheClaimedParameterCounts(string name, int hidden, int parameters, int stored)
    {
        var variant = GateAblation.Find(name)!;
        Assert.Equal(hidden, variant.HiddenSizeFor(GateAblation.DefaultParameterBudget));
        Assert.Equal(parameters, variant.Parameters(hidden));
        Assert.Equal(stored, variant.StoredParameters(hidden));
        Assert.InRange(Math.Abs(parameters - 20_000), 0, 20_000 * 0.02);
        // Each neighbour is farther from the budget.
        Assert.True(Math.Abs(variant.Parameters(hidden - 1) - 20_000) >= Math.Abs(parameters - 20_000));
        Assert.True(Math.Abs(variant.Parameters(hidden + 1) - 20_000) >= Math.Abs(parameters - 20_000));

        // The model really stores that many scalars ...
        var model = new MusicModel(variant.Model(hidden), seed: 3);
        Assert.Equal(stored, model.ParameterCount);

        // ... and exactly the claimed number of them get a gradient (the ablated gate's block gets none).
        // Dense random input and output gradients, so no weight is idle by accident.
        var random = new Random(5);
        var input = new Tensor<float>(6, 3, MusicModel.Keys);
        for (int i = 0; i < input.Data.Length; i++) input.Data[i] = random.Next(2);
        var layer = model.Recurrent;
        layer.Training = true;
        var output = layer.Forward(input).Output;
        var gradOutput = new Tensor<float>(output.Shape.ToArray());
        for (int i = 0; i < gradOutput.Data.Length; i++) gradOutput.Data[i] = (float)(random.NextDouble() - 0.5);
        layer.Parameters.ZeroGradients();
        layer.Backward(gradOutput);
        int live = layer.Parameters.Gradients.Count(g => g != 0) + model.Head.Parameters.Count;
        Assert.Equal(parameters, live);
    }

    [Fact]
    public void VariantNamesAreFoundIgnoringCaseAndTheGruComesFirst()
    {
        Assert.Equal(7, GateAblation.Variants.Count);
        Assert.Equal("gru", GateAblation.Variants[0].Name);
        Assert.Equal(GateAblation.Variants.Count, GateAblation.Variants.Select(v => v.Name).Distinct().Count());
        Assert.Same(GateAblation.Variants[1], GateAblation.Find(" GRU-No-Reset "));
        Assert.Null(GateAblation.Find("gru-no-gates"));
        var noUpdate = GateAblation.Find("gru-no-update")!;
        Assert.Equal(GruAblation.NoUpdateGate, noUpdate.Gru.Ablation);
        Assert.Equal(UpdateGateConvention.KeepPrevious, noUpdate.Gru.UpdateGate); // z ≡ 0 means h = ĥ
        Assert.Equal(UpdateGateConvention.TakeCandidate, GateAblation.Find("gru-take-candidate")!.Gru.UpdateGate);
        Assert.Equal(ResetGatePosition.BeforeProduct, GateAblation.Find("gru-reset-before")!.Gru.Reset);
    }

    [Fact]
    public void SeedSpreadIsTheSampleStatistics()
    {
        var s = SeedSpread.Of([1.0, 2.0, 4.0]);
        Assert.Equal(7.0 / 3, s.Mean, 1e-12);
        Assert.Equal(Math.Sqrt(((1 - 7.0 / 3) * (1 - 7.0 / 3) + (2 - 7.0 / 3) * (2 - 7.0 / 3) + (4 - 7.0 / 3) * (4 - 7.0 / 3)) / 2), s.StandardDeviation, 1e-12);
        Assert.Equal((1.0, 4.0, 3), (s.Min, s.Max, s.Count));
        Assert.True(double.IsNaN(SeedSpread.Of([3.0]).StandardDeviation));
        Assert.True(s.SeparatedFrom(SeedSpread.Of([4.5, 5])));
        Assert.False(s.SeparatedFrom(SeedSpread.Of([3.9, 5])));
    }

    [Fact]
    public void FindingsSeparateOnlyWhatTheSeedRangesSeparate()
    {
        var options = new GateAblationOptions { Seeds = 3 };
        SeedSpread S(params double[] v) => SeedSpread.Of(v);
        GateAblationSummary Row(string name, SeedSpread test, int atLimit = 0) =>
            new("jsb", GateAblation.Find(name)!, 41, 19_809, test, test, test, S(10, 10, 10), S(18, 18, 18), atLimit, 1);
        var summaries = new[]
        {
            Row("gru", S(8.50, 8.55, 8.60)),
            Row("gru-no-reset", S(8.58, 8.62, 8.70)),    // overlaps the GRU's range
            Row("gru-no-update", S(8.80, 8.90, 9.00), 1), // above it on every seed
            Row("gru-take-candidate", S(8.52, 8.56, 8.61)),
        };
        var findings = GateAblation.Findings(summaries, new Dictionary<string, int> { ["jsb"] = 150 }, options);
        string jsb = findings[0];
        Assert.StartsWith("**jsb** (150 epochs at most, 3 seeds)", jsb, StringComparison.Ordinal);
        Assert.Contains("GRU 8.550 < GRU, TakeCandidate 8.563 < GRU, no reset gate (r ≡ 1) 8.633 < GRU, no update gate (h = ĥ) 8.900", jsb, StringComparison.Ordinal);
        Assert.Contains("Outside the seed ranges of the full GRU (no overlap): GRU, no update gate (h = ĥ) (+0.350)", jsb, StringComparison.Ordinal);
        Assert.Contains("Within them", jsb, StringComparison.Ordinal);
        Assert.Contains("GRU, no reset gate (r ≡ 1) (+0.083)", jsb, StringComparison.Ordinal);
        Assert.Contains("The two update conventions differ by 0.013 nats (their seed ranges overlap); they are one model family", jsb, StringComparison.Ordinal);
        Assert.Contains("1 of 12 runs ended at the 150-epoch limit", jsb, StringComparison.Ordinal);
        Assert.Contains("same distribution of functions", findings[^1], StringComparison.Ordinal);

        // One seed: nothing is claimed to exceed the noise.
        var one = GateAblation.Findings([Row("gru", S(8.5)), Row("tanh", S(9.5))], new Dictionary<string, int> { ["jsb"] = 150 }, options with { Seeds = 1 });
        Assert.Contains("the seed noise is not measured", one[0], StringComparison.Ordinal);
        Assert.DoesNotContain("Outside", one[0], StringComparison.Ordinal);
        Assert.Contains("Every run ended by early stopping", one[0], StringComparison.Ordinal);
    }

    [Fact]
    public void ATinyAblationWritesItsResultsAndDoesNotDependOnTheNumberOfJobs()
    {
        using var data = new TinyDataFolder();
        GateAblationOptions Options(int jobs) => new()
        {
            Seeds = 2,
            EpochsPerRun = 2,
            ParameterBudget = 3_000,
            Jobs = jobs,
            OutputDirectory = Path.Combine(data.Root, "out" + jobs),
            Data = data.Resolve,
            CommandLine = "gated reproduce gates (test)",
        };
        var reports = new List<GateAblationProgress>();
        var serial = GateAblation.Run(Options(1), new Inline<GateAblationProgress>(reports.Add));
        var parallel = GateAblation.Run(Options(2));

        // 2 data sets × 7 variants × 2 seeds, in a fixed order whatever finished first.
        Assert.Equal(28, serial.Runs.Count);
        Assert.Equal(14, serial.Summaries.Count);
        Assert.Equal(28, reports.Count(p => p.Finished is not null));
        Assert.Equal(Enumerable.Range(1, 28), reports.Where(p => p.Finished is not null).Select(p => p.Done).Order());
        for (int i = 0; i < serial.Runs.Count; i++)
        {
            var (a, b) = (serial.Runs[i], parallel.Runs[i]);
            Assert.Equal((a.DataSet, a.Variant, a.Seed, a.HiddenSize), (b.DataSet, b.Variant, b.Seed, b.HiddenSize));
            // Bit for bit: the budget is in epochs, and each run is single-threaded.
            Assert.Equal(a.TestNll, b.TestNll);
            Assert.Equal(a.ValidNll, b.ValidNll);
            Assert.Equal(a.History.Select(h => (h.TrainNll, h.ValidNll)), b.History.Select(h => (h.TrainNll, h.ValidNll)));
            Assert.Equal(2, a.Epochs);
            Assert.True(double.IsFinite(a.TestNll) && a.TestNll > 0);
        }
        Assert.Equal(["jsb", "nottingham"], serial.Summaries.Select(s => s.DataSet).Distinct());
        Assert.Equal(GateAblation.Variants.Select(v => v.Name), serial.Summaries.Where(s => s.DataSet == "jsb").Select(s => s.Variant.Name));
        Assert.All(serial.Summaries, s => Assert.InRange(s.Parameters, 2_700, 3_300));

        string dir = Options(1).OutputDirectory;
        string md = File.ReadAllText(Path.Combine(dir, "gates.md"));
        Assert.Contains("`gated reproduce gates (test)`", md, StringComparison.Ordinal);
        Assert.Contains("## What the numbers show", md, StringComparison.Ordinal);
        Assert.Contains("| jsb | GRU, no reset gate (r ≡ 1) |", md, StringComparison.Ordinal);
        Assert.Contains("![gates-nottingham.svg](gates-nottingham.svg)", md, StringComparison.Ordinal);
        foreach (string set in new[] { "jsb", "nottingham" })
        {
            var svg = XDocument.Load(Path.Combine(dir, $"gates-{set}.svg"));
            // One legend entry per variant (the second seed has none), one line per run.
            var legend = svg.Descendants().Single(e => (string?)e.Attribute("class") == "legend");
            Assert.Equal(7, legend.Elements().Count(e => e.Name.LocalName == "text"));
            Assert.Equal(14, svg.Descendants().Count(e => (string?)e.Attribute("class") == "series"));
        }
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "gates.json")));
        var root = json.RootElement;
        Assert.Equal("gated reproduce gates (test)", root.GetProperty("command").GetString());
        Assert.Equal([1, 2], root.GetProperty("seeds").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(2, root.GetProperty("epoch_budget").GetProperty("nottingham").GetInt32());
        Assert.Equal(7, root.GetProperty("variants").GetArrayLength());
        Assert.Equal(14, root.GetProperty("summary").GetArrayLength());
        Assert.Equal(28, root.GetProperty("runs").GetArrayLength());
        var first = root.GetProperty("summary")[0];
        Assert.Equal(serial.Summaries[0].Test.Mean, first.GetProperty("test_nll").GetProperty("mean").GetDouble());
        Assert.Equal(2, first.GetProperty("test_nll").GetProperty("n").GetInt32());
        Assert.True(root.GetProperty("findings").GetArrayLength() >= 3);
    }

    [Fact]
    public void UnknownNamesAreRefused()
    {
        Assert.Throws<ArgumentException>(() => GateAblation.Run(new GateAblationOptions { Variants = ["gru", "gru-no-gates"] }));
        Assert.Throws<ArgumentException>(() => GateAblation.Run(new GateAblationOptions { DataSets = ["bach"] }));
        Assert.Throws<ArgumentException>(() => GateAblation.Run(new GateAblationOptions { Seeds = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => GateAblation.Variants[0].HiddenSizeFor(100));
    }

    [Fact]
    public void QuickReproduceGatesRunsFromTheCommandLine()
    {
        using var data = new TinyDataFolder();
        string output = Path.Combine(data.Root, "results");
        var r = GatedProcess.Run(data.Root, new Dictionary<string, string> { ["GATED_DATA"] = data.Data, ["GATED_CACHE"] = Path.Combine(data.Root, "cache") },
            TimeSpan.FromSeconds(120), "reproduce", "gates", "--quick", "--variants", "gru", "gru-no-update", "tanh", "--epochs-per-run", "2", "--budget", "2000", "--out", output, "--json");
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
        using var doc = JsonDocument.Parse(r.Stdout);
        var rows = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal(6, rows.Count);
        Assert.Equal(["gru", "gru-no-update", "tanh"], rows.Where(x => x.GetProperty("data_set").GetString() == "jsb").Select(x => x.GetProperty("variant").GetString()));
        Assert.All(rows, x => Assert.Equal(1, x.GetProperty("seeds").GetInt32()));
        Assert.All(rows, x => Assert.True(x.GetProperty("test_nll").GetDouble() > 0));
        Assert.True(File.Exists(Path.Combine(output, "gates-quick.md")));
        Assert.True(File.Exists(Path.Combine(output, "gates-quick.json")));
        Assert.True(File.Exists(Path.Combine(output, "gates-quick-jsb.svg")));
        Assert.False(File.Exists(Path.Combine(output, "gates.md")));
        Assert.Contains("GRU, no update gate", r.Stderr, StringComparison.Ordinal); // the model table and progress go to stderr under --json
    }

    [Theory]
    [InlineData("--variants", "gru-no-gates", "unknown variant 'gru-no-gates'")]
    [InlineData("--datasets", "bach", "unknown data set 'bach'")]
    [InlineData("--seeds", "0", "--seeds must be a positive integer")]
    public void BadOptionsAreOneLineUsageErrors(string option, string value, string expected)
    {
        var r = GatedProcess.Run(null, null, TimeSpan.FromSeconds(60), "reproduce", "gates", option, value);
        Assert.Equal(2, r.ExitCode);
        string line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("gated reproduce gates: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.Equal("", r.Stdout);
    }

    private sealed class Inline<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
