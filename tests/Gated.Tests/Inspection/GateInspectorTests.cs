using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Gated.Data;
using Gated.Inspection;
using Gated.Layers;
using Gated.Models;
using Gated.Plots;

namespace Gated.Tests.Inspection;

public sealed class GateInspectorTests
{
    private static readonly XNamespace Ns = Svg.Namespace;

    /// <summary>A sequence of 24 steps cycling through a few chords, with a rest and a held note.</summary>
    internal static PianoRoll Synthetic(int length = 24, int offset = 0)
    {
        int[][] chords = [[60, 64, 67], [62, 65, 69], [64, 67, 71, 48], [65, 69, 72], [55, 59, 62], []];
        return PianoRoll.FromPitches(Enumerable.Range(0, length).Select(t => chords[(t + offset) % chords.Length].Append(36)));
    }

    /// <summary>The recurrent stack's output and final states on steps 0..T−2 of a roll, run independently of the inspector.</summary>
    private static RecurrentResult<float> Forward(MusicModel model, PianoRoll roll)
    {
        int steps = roll.Length - 1;
        var input = new Tensor<float>(steps, 1, MusicModel.Keys);
        for (int t = 0; t < steps; t++) roll.CopyStepTo(t, input.Data.AsSpan(t * MusicModel.Keys, MusicModel.Keys));
        model.Recurrent.Training = false;
        var result = model.Recurrent.Forward(input);
        return new RecurrentResult<float>(result.Output.Clone(), result.HiddenState.Clone(), result.CellState?.Clone());
    }

    [Theory]
    [InlineData(CellKind.Gru, 1)]
    [InlineData(CellKind.Gru, 2)]
    [InlineData(CellKind.Lstm, 1)]
    [InlineData(CellKind.Lstm, 2)]
    [InlineData(CellKind.Rnn, 1)]
    [InlineData(CellKind.Rnn, 2)]
    public void TraceHasTheNamedMatricesGatesInUnitIntervalAndStatesThatMatchTheLayer(CellKind cell, int layers)
    {
        const int h = 8;
        var model = MusicModel.Create(cell, h, layers, seed: 5);
        var roll = Synthetic();
        var trace = GateInspector.Trace(model, roll);
        var expected = Forward(model, roll);
        int steps = roll.Length - 1;

        Assert.Equal(steps, trace.Steps);
        Assert.Same(roll, trace.Input);
        Assert.Equal(layers, trace.Layers.Count);
        string[] names = cell switch
        {
            CellKind.Gru => ["update gate z", "reset gate r", "candidate ĥ", "state h"],
            CellKind.Lstm => ["input gate i", "forget gate f", "cell input g", "output gate o", "cell c", "state h"],
            _ => ["state h"],
        };
        foreach (var layer in trace.Layers)
        {
            Assert.Equal(names, layer.Gates.Select(g => g.Name));
            Assert.Equal(h, layer.Units);
            foreach (var g in layer.Gates)
            {
                Assert.Equal(steps, g.Steps);
                Assert.Equal(h, g.Units);
                Assert.Equal(steps * h, g.Values.Length);
                Assert.All(g.Values, v => Assert.True(float.IsFinite(v)));
                Assert.Equal(g.Name.Contains("gate", StringComparison.Ordinal), g.IsGate);
                if (g.IsGate) Assert.All(g.Values, v => Assert.InRange(v, 0f, 1f));
                for (int j = 0; j < h; j++)
                    Assert.Equal(Enumerable.Range(0, steps).Average(t => (double)g[t, j]), g.UnitMeans[j], 1e-9);
            }
            // The gates are the layer's own (GetGates after a forward pass on the same input).
            var gates = model.Recurrent.GetGates(layer.Layer);
            int width = model.Recurrent.Options.GateCount * h;
            int block = cell switch { CellKind.Gru => 1, CellKind.Lstm => 1, _ => 0 }; // z of r|z|n, f of i|f|g|o, h of the RNN
            var key = layer.Gates[cell == CellKind.Lstm ? 1 : 0];
            for (int t = 0; t < steps; t++)
                for (int j = 0; j < h; j++) Assert.Equal(gates.Data[t * width + block * h + j], key[t, j]);

            // The final state of each layer is h_n (and c_n) of the stack.
            var state = layer["state h"];
            for (int j = 0; j < h; j++)
                Assert.Equal(expected.HiddenState[layer.Layer, 0, j], state[steps - 1, j], 1e-6f);
            if (cell == CellKind.Lstm)
            {
                var c = layer["cell c"];
                for (int j = 0; j < h; j++)
                    Assert.Equal(expected.CellState![layer.Layer, 0, j], c[steps - 1, j], 1e-6f);
            }
        }

        // The top layer's state is the stack's output at every step.
        var top = trace.Layers[^1]["state h"];
        for (int t = 0; t < steps; t++)
            for (int j = 0; j < h; j++) Assert.Equal(expected.Output[t, 0, j], top[t, j], 1e-6f);
    }

    [Fact]
    public void LstmCellDerivedFromTheGatesMatchesTheFinalCellStateOverLongSequences()
    {
        // A longer sequence with a forget bias, so the cell accumulates: c_t = f ⊙ c_{t−1} + i ⊙ g.
        var options = new RecurrentOptions { Cell = CellKind.Lstm, InputSize = MusicModel.Keys, HiddenSize = 6, Lstm = new LstmOptions { ForgetGateBiasInit = 2 } };
        var model = new MusicModel(options, seed: 9);
        var roll = Synthetic(length: 90, offset: 2);
        var trace = GateInspector.Trace(model, roll);
        var expected = Forward(model, roll);
        var layer = trace.Layers[0];
        var c = layer["cell c"];
        for (int j = 0; j < 6; j++) Assert.Equal(expected.CellState![0, 0, j], c[trace.Steps - 1, j], 1e-5f);
        // h = o ⊙ tanh(c) at every step.
        var o = layer["output gate o"];
        var h = layer["state h"];
        for (int t = 0; t < trace.Steps; t++)
            for (int j = 0; j < 6; j++) Assert.Equal(o[t, j] * MathF.Tanh(c[t, j]), h[t, j], 1e-6f);
        Assert.True(c.Values.Max(Math.Abs) > 1, "the forget bias should let some cell grow beyond 1");
    }

    [Theory]
    [InlineData(CellKind.Gru)]
    [InlineData(CellKind.Lstm)]
    public void ProbabilitiesAndNllAreTheModelsOwn(CellKind cell)
    {
        var model = MusicModel.Create(cell, 8, seed: 3);
        var roll = Synthetic(length: 30);
        var trace = GateInspector.Trace(model, roll);
        Assert.Equal(MusicModelMetrics.PredictProbabilities(model, roll), trace.Probabilities);
        var nll = model.Evaluate([roll]);
        Assert.Equal(nll.NllPerStep, trace.NllPerStep, 1e-4 * nll.NllPerStep);
        Assert.Equal(nll.TotalNll, trace.TotalNll, 1e-4 * nll.TotalNll);
        Assert.Equal(roll.Length - 1, trace.StepNll.Length);
        Assert.All(trace.StepNll, v => Assert.True(v > 0));
    }

    [Fact]
    public void ConventionTextFollowsTheOptions()
    {
        var keep = GateInspector.Trace(MusicModel.Create(CellKind.Gru, 4), Synthetic());
        Assert.Equal(UpdateGateConvention.KeepPrevious, keep.UpdateGate);
        Assert.StartsWith("KeepPrevious: ", keep.Convention, StringComparison.Ordinal);
        Assert.Contains("z near 1 keeps the previous state", keep.Convention, StringComparison.Ordinal);

        var options = new RecurrentOptions { Cell = CellKind.Gru, InputSize = MusicModel.Keys, HiddenSize = 4, Gru = new GruOptions { UpdateGate = UpdateGateConvention.TakeCandidate } };
        var take = GateInspector.Trace(new MusicModel(options, 1), Synthetic());
        Assert.Equal(UpdateGateConvention.TakeCandidate, take.UpdateGate);
        Assert.StartsWith("TakeCandidate: ", take.Convention, StringComparison.Ordinal);
        Assert.Contains("z near 0 keeps the previous state", take.Convention, StringComparison.Ordinal);
        // Under TakeCandidate the state follows h = (1 − z) h_prev + z ĥ.
        var layer = take.Layers[0];
        float[] z = layer["update gate z"].Values, n = layer["candidate ĥ"].Values, h = layer["state h"].Values;
        for (int j = 0; j < 4; j++) Assert.Equal(z[j] * n[j], h[j], 1e-6f);

        Assert.Null(GateInspector.Trace(MusicModel.Create(CellKind.Lstm, 4), Synthetic()).UpdateGate);
        Assert.StartsWith("RNN: ", GateInspector.Trace(MusicModel.Create(CellKind.Rnn, 4), Synthetic()).Convention, StringComparison.Ordinal);
    }

    [Fact]
    public void TooShortASequenceIsRejected()
    {
        var model = MusicModel.Create(CellKind.Gru, 4);
        var ex = Assert.Throws<ArgumentException>(() => GateInspector.Trace(model, PianoRoll.FromPitches([[60]])));
        Assert.Contains("at least two", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(CellKind.Gru, "update gate z")]
    [InlineData(CellKind.Lstm, "forget gate f")]
    [InlineData(CellKind.Rnn, "state h")]
    public void UnitsAreSortedByTheMeanKeyGateInEveryHeatMapOfALayer(CellKind cell, string sortKey)
    {
        var model = MusicModel.Create(cell, 12, numLayers: 2, seed: 11);
        var trace = GateInspector.Trace(model, Synthetic(length: 40));
        string html = GateInspector.RenderHtml(trace, "order");
        foreach (var layer in trace.Layers)
        {
            Assert.Equal(sortKey, layer.SortKey);
            Assert.Equal(Enumerable.Range(0, 12), layer.UnitOrder.Order());
            double[] means = layer[sortKey].UnitMeans;
            for (int i = 1; i < layer.UnitOrder.Length; i++)
                Assert.True(means[layer.UnitOrder[i - 1]] >= means[layer.UnitOrder[i]], $"unit order not by decreasing mean {sortKey}");
            Assert.NotEqual(Enumerable.Range(0, 12), layer.UnitOrder); // random weights: some reordering happens

            foreach (var g in layer.Gates)
            {
                var map = GateInspector.HeatMapOf(layer, g);
                Assert.True(map.RowsAlongX);                  // time along x
                Assert.Equal(trace.Steps, map.Rows);
                Assert.Equal(12, map.Columns);                 // units down y
                string svg = map.ToSvg();
                var doc = XDocument.Parse(svg);
                var yLabels = doc.Descendants(Ns + "g").Single(e => (string?)e.Attribute("class") == "y-axis")
                    .Elements(Ns + "text").Select(e => e.Value).ToList();
                // The last label is the axis title; the others are the original unit indices, top to bottom.
                Assert.Equal(layer.UnitOrder.Select(u => u.ToString(System.Globalization.CultureInfo.InvariantCulture)), yLabels.Take(12));
                // The page holds exactly this drawing.
                Assert.Contains(svg[(svg.IndexOf('\n') + 1)..], html, StringComparison.Ordinal);
                // And the drawn cells follow the order: row j of the map is unit UnitOrder[j].
                for (int j = 0; j < 12; j++) Assert.Equal(g[0, layer.UnitOrder[j]], SortedValue(map, 0, j));
            }
        }
    }

    private static float SortedValue(HeatMap map, int step, int row)
    {
        // HeatMap keeps its matrix private: read the (reordered) values it was given by reflection.
        var field = typeof(HeatMap).GetField("_values", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
        var values = (float[])field.GetValue(map)!;
        return values[step * map.Columns + row];
    }

    [Theory]
    [InlineData(CellKind.Gru, 1)]
    [InlineData(CellKind.Lstm, 2)]
    [InlineData(CellKind.Rnn, 1)]
    public void PageIsSelfContainedWithOneSvgPerPlotAndEscapedText(CellKind cell, int layers)
    {
        var model = MusicModel.Create(cell, 8, layers, seed: 2);
        var trace = GateInspector.Trace(model, Synthetic());
        const string title = "Bach <chorale> & \"friends\" 'n' ĥ";
        string html = GateInspector.RenderHtml(trace, title);

        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        Assert.EndsWith("</html>\n", html, StringComparison.Ordinal);
        // One piano roll, one NLL chart, then per layer a chart of the gate means (gated cells) and a heat map per matrix.
        int perLayer = trace.Layers[0].Gates.Count + (cell == CellKind.Rnn ? 0 : 1);
        Assert.Equal(2 + layers * perLayer, Regex.Matches(html, "<svg").Count);
        Assert.Equal(Regex.Matches(html, "<svg").Count, Regex.Matches(html, "</svg>").Count);
        Assert.Equal(layers * trace.Layers[0].Gates.Count, Regex.Matches(html, "class=\"cells\"").Count);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<?xml", html, StringComparison.Ordinal);
        Assert.DoesNotContain("href", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("src=", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("url(", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("NaN", html, StringComparison.Ordinal);
        foreach (Match m in Regex.Matches(html, "https?:[^\"'\\s<>]*"))
            Assert.Equal(Svg.Namespace, m.Value);

        string escaped = "Bach &lt;chorale&gt; &amp; &quot;friends&quot; &apos;n&apos; ĥ";
        Assert.Contains("<title>" + escaped + "</title>", html, StringComparison.Ordinal);
        Assert.Contains("<h1>" + escaped + "</h1>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<chorale>", html, StringComparison.Ordinal);

        // Legend, NLL and guide.
        Assert.Contains(Svg.Escape(trace.Convention), html, StringComparison.Ordinal);
        Assert.Contains("How to read this page", html, StringComparison.Ordinal);
        Assert.Contains(trace.NllPerStep.ToString("F3", System.Globalization.CultureInfo.InvariantCulture) + " nats per predicted step", html, StringComparison.Ordinal);
        if (cell == CellKind.Gru) Assert.Contains("How to read z", html, StringComparison.Ordinal);
        Assert.Equal(layers, Regex.Matches(html, "units hold a state that varies by less than 0.01").Count);

        // Every inline SVG is well-formed XML on its own.
        foreach (Match m in Regex.Matches(html, "<svg.*?</svg>", RegexOptions.Singleline))
            Assert.Equal(Ns + "svg", XDocument.Parse(m.Value).Root!.Name);
    }

    [ChromiumFact]
    public void HeadlessChromiumRendersThePage()
    {
        string dir = Path.Combine(Path.GetTempPath(), "gated-gates-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var model = MusicModel.Create(CellKind.Gru, 16, seed: 4);
            var trace = GateInspector.Trace(model, Synthetic(length: 48));
            string page = Path.Combine(dir, "gates.html"), png = Path.Combine(dir, "gates.png");
            File.WriteAllText(page, GateInspector.RenderHtml(trace, "Chromium check"), new UTF8Encoding(false));

            var (exitCode, stdout, stderr) = HeadlessChromium.Screenshot(ChromiumFactAttribute.Executable!, page, png, Path.Combine(dir, "profile"), 1200, 2000);
            Assert.True(File.Exists(png), $"no screenshot; exit {exitCode}\n{stdout}\n{stderr}");
            long size = new FileInfo(png).Length;
            Assert.True(size > 20_000, $"the screenshot is only {size} bytes: a blank page?");
            var (width, height, distinct) = PngStats(png);
            Assert.Equal((1200, 2000), (width, height));
            Assert.True(distinct > 50, $"the screenshot has only {distinct} distinct colours in the rows sampled");
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>The size of an 8-bit RGB(A) PNG and the number of distinct colours in a sample of its decoded rows.</summary>
    internal static (int Width, int Height, int Distinct) PngStats(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
        int Int(int at) => (bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3];
        int width = 0, height = 0, colorType = 0, bitDepth = 0;
        using var idat = new MemoryStream();
        for (int at = 8; at + 8 <= bytes.Length;)
        {
            int length = Int(at);
            string type = Encoding.ASCII.GetString(bytes, at + 4, 4);
            if (type == "IHDR") { width = Int(at + 8); height = Int(at + 12); bitDepth = bytes[at + 16]; colorType = bytes[at + 17]; }
            else if (type == "IDAT") idat.Write(bytes, at + 8, length);
            else if (type == "IEND") break;
            at += 12 + length;
        }
        Assert.Equal(8, bitDepth);
        int channels = colorType switch { 2 => 3, 6 => 4, _ => throw new InvalidDataException($"PNG colour type {colorType}") };
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        int stride = width * channels;
        var previous = new byte[stride];
        var row = new byte[stride];
        var colors = new HashSet<int>();
        for (int y = 0; y < height; y++)
        {
            int filter = z.ReadByte();
            z.ReadExactly(row);
            for (int i = 0; i < stride; i++)
            {
                int a = i >= channels ? row[i - channels] : 0, b = previous[i], c = i >= channels ? previous[i - channels] : 0;
                int predictor = filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"PNG filter {filter}"),
                };
                row[i] = (byte)(row[i] + predictor);
            }
            if (y % 7 == 0)
                for (int x = 0; x < width; x += 3)
                    colors.Add((row[x * channels] << 16) | (row[x * channels + 1] << 8) | row[x * channels + 2]);
            (previous, row) = (row, previous);
        }
        return (width, height, colors.Count);
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}

/// <summary>A fact that is skipped, with the reason, when no headless Chromium is on the PATH.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    /// <summary>The chromium (or chromium-browser, google-chrome) executable on the PATH, or null.</summary>
    public static string? Executable { get; } = Find();

    public ChromiumFactAttribute()
    {
        if (Executable is null) Skip = "No chromium, chromium-browser or google-chrome on the PATH (apt-get install chromium).";
    }

    private static string? Find()
    {
        string[] names = ["chromium", "chromium-browser", "google-chrome"];
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            foreach (string name in names)
            {
                string candidate = Path.Combine(dir, name);
                if (File.Exists(candidate)) return candidate;
            }
        return null;
    }
}

/// <summary><c>gated explain</c>, run as the real tool in a child process on a tiny data set and a fresh model.</summary>
public sealed class ExplainCommandTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "gated-explain-" + Guid.NewGuid().ToString("N"));
    private readonly string dataPath;
    private readonly string modelPath;

    public ExplainCommandTests()
    {
        Directory.CreateDirectory(root);
        dataPath = Path.Combine(root, "tiny.json");
        static string Sequence(PianoRoll roll) =>
            "[" + string.Join(",", Enumerable.Range(0, roll.Length).Select(t => "[" + string.Join(",", roll.PitchesAt(t)) + "]")) + "]";
        string Split(int count, int first) => "[" + string.Join(",", Enumerable.Range(first, count).Select(i => Sequence(GateInspectorTests.Synthetic(12 + i, i)))) + "]";
        File.WriteAllText(dataPath, $"{{\"train\":{Split(3, 0)},\"valid\":{Split(2, 3)},\"test\":{Split(4, 5)}}}");
        modelPath = Path.Combine(root, "m.safetensors");
        MusicModel.Create(CellKind.Gru, 6, seed: 7).Save(modelPath);
    }

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void WritesThePageAndPrintsTheNumbers()
    {
        string page = Path.Combine(root, "gates.html");
        var (exit, stdout, stderr) = Run("explain", modelPath, "--data", dataPath, "--split", "test", "--index", "3", "--out", page, "--json");
        Assert.True(exit == 0, $"exit {exit}\n{stdout}\n{stderr}");
        Assert.True(File.Exists(page));
        Assert.Empty(Directory.GetFiles(root, "*.tmp*"));
        string html = File.ReadAllText(page);
        Assert.Contains("<svg", html, StringComparison.Ordinal);
        Assert.Contains("test sequence 3", html, StringComparison.Ordinal);

        using var doc = JsonDocument.Parse(stdout);
        var r = doc.RootElement;
        Assert.Equal("test", r.GetProperty("split").GetString());
        Assert.Equal(3, r.GetProperty("index").GetInt32());
        Assert.Equal("gru", r.GetProperty("cell").GetString());
        Assert.Equal("KeepPrevious", r.GetProperty("update_gate_convention").GetString());
        int steps = r.GetProperty("predicted_steps").GetInt32();
        Assert.Equal(12 + 5 + 3 - 1, steps);
        Assert.Equal(steps, r.GetProperty("step_nll").GetArrayLength());
        Assert.True(r.GetProperty("nll_per_step").GetDouble() > 0);
        var layer = r.GetProperty("layers")[0];
        Assert.Equal("update gate z", layer.GetProperty("sorted_by").GetString());
        Assert.Equal(Enumerable.Range(0, 6), layer.GetProperty("unit_order").EnumerateArray().Select(e => e.GetInt32()).Order());
        var gates = layer.GetProperty("gates");
        Assert.Equal(["update gate z", "reset gate r", "candidate ĥ", "state h"], gates.EnumerateArray().Select(g => g.GetProperty("name").GetString()!));
        var z = gates[0].GetProperty("values");
        Assert.Equal(steps, z.GetArrayLength());
        Assert.All(z.EnumerateArray(), row =>
        {
            Assert.Equal(6, row.GetArrayLength());
            Assert.All(row.EnumerateArray(), v => Assert.InRange(v.GetDouble(), 0, 1));
        });

        // The same numbers as the library gives.
        var data = PianoRollDataset.Load(dataPath);
        var trace = GateInspector.Trace(MusicModel.Load(modelPath), data.Test[3]);
        Assert.Equal(trace.NllPerStep, r.GetProperty("nll_per_step").GetDouble(), 1e-9);
        Assert.Equal(trace.Layers[0].UnitOrder, layer.GetProperty("unit_order").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public void AnIndexOutOfRangeIsAUsageErrorNamingTheSplitSize()
    {
        string page = Path.Combine(root, "gates.html");
        var (exit, stdout, stderr) = Run("explain", modelPath, "--data", dataPath, "--split", "valid", "--index", "2", "--out", page);
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("gated explain: ", line, StringComparison.Ordinal);
        Assert.Contains("valid split", line, StringComparison.Ordinal);
        Assert.Contains("2 sequences", line, StringComparison.Ordinal);
        Assert.False(File.Exists(page));
    }

    private (int Exit, string Stdout, string Stderr) Run(params string[] args)
    {
        var r = GatedProcess.Run(root, new Dictionary<string, string>
        {
            ["GATED_DATA"] = Path.Combine(root, "no-data"),
            ["GATED_CACHE"] = Path.Combine(root, "cache"),
        }, TimeSpan.FromSeconds(90), args);
        return (r.ExitCode, r.Stdout, r.Stderr);
    }
}
