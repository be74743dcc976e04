using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Gated.Experiments;
using Gated.Inspection;
using Gated.IO;
using Gated.IO.Midi;
using Gated.Layers;
using Gated.Models;
using Gated.Plots;
using Gated.Reports;
using Gated.Tests.Experiments;
using Gated.Tests.Inspection;

namespace Gated.Tests.Reports;

public sealed class RunReportTests : IDisposable
{
    private readonly TinyDataFolder data = new();

    public void Dispose() => data.Dispose();

    private string Folder(string name)
    {
        string path = Path.Combine(data.Root, name);
        Directory.CreateDirectory(path);
        return path;
    }

    private CliResult Cli(params string[] args) =>
        GatedProcess.Run(data.Root, new Dictionary<string, string> { ["GATED_DATA"] = data.Data, ["GATED_CACHE"] = Path.Combine(data.Root, "cache") },
            TimeSpan.FromSeconds(90), args);

    private static void AssertOk(CliResult r) => Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");

    /// <summary>What every report page must be: one HTML document that loads nothing and runs nothing, each inline SVG well-formed.</summary>
    private static void AssertSelfContained(string html)
    {
        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        Assert.EndsWith("</html>\n", html, StringComparison.Ordinal);
        Assert.Contains("<meta name=\"generator\" content=\"gated report\">", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(" src=", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("NaN", html, StringComparison.Ordinal);
        // The only addresses are the SVG namespace; the only links are to anchors of the page and inline MIDI files.
        foreach (Match m in Regex.Matches(html, "https?:[^\"'\\s<>&]*")) Assert.Equal(Svg.Namespace, m.Value);
        foreach (Match m in Regex.Matches(html, "href=\"([^\"]*)\"")) Assert.Matches("^(#[a-z0-9-]+|data:audio/midi;base64,[A-Za-z0-9+/=]+)$", m.Groups[1].Value);
        int open = Regex.Matches(html, "<svg").Count;
        Assert.Equal(open, Regex.Matches(html, "</svg>").Count);
        foreach (Match m in Regex.Matches(html, "<svg.*?</svg>", RegexOptions.Singleline))
            Assert.Equal(XName.Get("svg", Svg.Namespace), XDocument.Parse(m.Value).Root!.Name);
    }

    [Fact]
    public void TheFolderOfTrainSampleAndExplainBecomesOnePage()
    {
        string tiny = Path.Combine(data.Data, "jsb.json");
        string run = Folder("tour");
        AssertOk(Cli("train", "--data", tiny, "--hidden", "6", "--epochs", "3", "--out", Path.Combine(run, "gru.safetensors")));
        AssertOk(Cli("sample", Path.Combine(run, "gru.safetensors"), "--steps", "12", "--out", Path.Combine(run, "piece.mid")));
        AssertOk(Cli("explain", Path.Combine(run, "gru.safetensors"), "--data", tiny, "--index", "1", "--out", Path.Combine(run, "gates.html")));

        string page = Path.Combine(run, "report.html");
        var r = Cli("report", run, "--json");
        AssertOk(r);
        using (var doc = JsonDocument.Parse(r.Stdout))
        {
            var root = doc.RootElement;
            Assert.Equal(Path.GetFullPath(page), root.GetProperty("out").GetString());
            var section = Assert.Single(root.GetProperty("sections").EnumerateArray());
            Assert.Equal("training", section.GetProperty("kind").GetString());
            Assert.Equal("gru.safetensors", section.GetProperty("source").GetString());
            Assert.Equal(1, section.GetProperty("figures").GetInt32());
            Assert.Equal(["piece.mid"], root.GetProperty("samples").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(["gates.html"], root.GetProperty("gate_pages").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(0, root.GetProperty("notes").GetArrayLength());
        }
        string html = File.ReadAllText(page);
        AssertSelfContained(html);
        Assert.Equal(2, Regex.Matches(html, "<svg").Count); // the learning curves and the piano roll; the gate page's SVG is inside srcdoc, escaped
        Assert.Contains("MusicModel(Gru(88, 6), Linear(6, 88))", html, StringComparison.Ordinal);
        Assert.Contains("3 epochs in", html, StringComparison.Ordinal);
        Assert.Contains("stopped by max epochs", html, StringComparison.Ordinal);
        Assert.Contains("Run folder: <code>gru.run</code>", html, StringComparison.Ordinal);
        // The MIDI file is inside the page, byte for byte.
        var midi = Regex.Match(html, "data:audio/midi;base64,([A-Za-z0-9+/=]+)");
        Assert.Equal(File.ReadAllBytes(Path.Combine(run, "piece.mid")), Convert.FromBase64String(midi.Groups[1].Value));
        // The gate page is embedded whole, escaped, in a sandboxed frame.
        var frame = Regex.Match(html, "<iframe sandbox=\"\" title=\"[^\"]*\" srcdoc=\"([^\"]*)\"></iframe>");
        Assert.True(frame.Success);
        Assert.Equal(File.ReadAllText(Path.Combine(run, "gates.html")), System.Net.WebUtility.HtmlDecode(frame.Groups[1].Value));

        // The run folder on its own: the checkpoint's history and configuration.
        var alone = Cli("report", Path.Combine(run, "gru.run"), "--out", Path.Combine(data.Root, "run.html"));
        AssertOk(alone);
        string runHtml = File.ReadAllText(Path.Combine(data.Root, "run.html"));
        AssertSelfContained(runHtml);
        Assert.Contains("<h2>Training run gru.run</h2>", runHtml, StringComparison.Ordinal);
        Assert.Contains("best.safetensors", runHtml, StringComparison.Ordinal);
        Assert.Single(Regex.Matches(runHtml, "<svg"));

        // A report written elsewhere sees the first one and leaves it out.
        var again = Cli("report", run, "--out", Path.Combine(data.Root, "again.html"), "--json");
        AssertOk(again);
        using (var doc = JsonDocument.Parse(again.Stdout))
            Assert.Contains(doc.RootElement.GetProperty("notes").EnumerateArray(), n => n.GetString()!.StartsWith("report.html: an earlier report", StringComparison.Ordinal));
    }

    [Fact]
    public void TheFoldersOfBothReproductionsAreReported()
    {
        string chung = Folder("chung2014");
        Reproduction.Run(new ReproductionOptions
        {
            DataSets = ["jsb"], Cells = [CellKind.Gru], EpochsPerRun = 2, OutputDirectory = chung, Data = data.Resolve, CommandLine = "gated reproduce chung2014 (test)",
        });
        var c = RunReport.Gather(chung);
        var section = Assert.Single(c.Sections);
        Assert.Equal("chung2014", section.Kind);
        Assert.Equal("chung2014.json", section.Source);
        Assert.Equal(["chung2014-jsb-epochs.svg", "chung2014-jsb-seconds.svg"], section.Figures.Select(f => f.Source));
        var table = Assert.Single(section.Tables);
        var row = Assert.Single(table.Rows);
        Assert.Equal(["jsb", "GRU", "46", "22,904"], row.Take(4));
        Assert.Contains(section.Paragraphs, p => p.Contains("`gated reproduce chung2014 (test)`", StringComparison.Ordinal));
        Assert.Contains(section.Paragraphs, p => p.Contains("`chung2014.md`", StringComparison.Ordinal));
        Assert.Contains(c.Notes, n => n.StartsWith("runs/ holds the checkpoints of 1 training run", StringComparison.Ordinal));
        AssertSelfContained(RunReport.RenderHtml(c, "chung"));

        string gates = Folder("gates");
        GateAblation.Run(new GateAblationOptions
        {
            Variants = ["gru", "gru-take-candidate", "tanh"], Seeds = 2, EpochsPerRun = 1, ParameterBudget = 2_000, OutputDirectory = gates, Data = data.Resolve, Jobs = 1,
        });
        var g = RunReport.Gather(gates);
        section = Assert.Single(g.Sections);
        Assert.Equal("gates", section.Kind);
        Assert.Equal(["gates-jsb.svg", "gates-nottingham.svg"], section.Figures.Select(f => f.Source));
        Assert.Equal(2, section.Tables.Count);
        Assert.Equal(3, section.Tables[0].Rows.Count);                       // the models
        Assert.Equal(6, section.Tables[1].Rows.Count);                       // 2 data sets × 3 variants
        Assert.Equal("GRU, TakeCandidate", section.Tables[1].Rows[1][1]);
        Assert.Matches(@"^\d+\.\d{3} ± \d+\.\d{3} \[\d+\.\d{3} – \d+\.\d{3}\]$", section.Tables[1].Rows[0][4]);
        Assert.Contains(section.Paragraphs, p => p.Contains("one model family", StringComparison.Ordinal));
        string html = RunReport.RenderHtml(g, "gates");
        AssertSelfContained(html);
        Assert.Contains("<strong>jsb</strong>", html, StringComparison.Ordinal);
    }

    [Fact]
    public void ForeignAndUnsafeFilesAreLeftOutAndListed()
    {
        string dir = Folder("mixed");
        var roll = GateInspectorTests.Synthetic(16);
        MidiWriter.WriteFile(Path.Combine(dir, "piece.mid"), roll, new MidiOptions { StepsPerQuarter = 2, TempoBpm = 90 });
        File.WriteAllText(Path.Combine(dir, "evil.svg"), $"<svg xmlns=\"{Svg.Namespace}\"><script>alert(1)</script></svg>");
        File.WriteAllText(Path.Combine(dir, "remote.svg"), $"<svg xmlns=\"{Svg.Namespace}\" xmlns:xlink=\"http://www.w3.org/1999/xlink\"><image xlink:href=\"http://example.org/a.png\"/></svg>");
        File.WriteAllText(Path.Combine(dir, "handler.svg"), $"<svg xmlns=\"{Svg.Namespace}\"><rect onclick=\"x()\" width=\"1\" height=\"1\"/></svg>");
        File.WriteAllText(Path.Combine(dir, "styled.svg"), $"<svg xmlns=\"{Svg.Namespace}\"><style>@import url(http://example.org/a.css);</style></svg>");
        File.WriteAllText(Path.Combine(dir, "fine.svg"), $"<svg xmlns=\"{Svg.Namespace}\" width=\"10\" height=\"10\"><defs><clipPath id=\"c\"><rect width=\"5\" height=\"5\"/></clipPath></defs><rect clip-path=\"url(#c)\" width=\"10\" height=\"10\" fill=\"#123456\"/></svg>");
        File.WriteAllText(Path.Combine(dir, "other.html"), "<!DOCTYPE html><html><body>hello</body></html>");
        File.WriteAllText(Path.Combine(dir, "broken.json"), "{ not json");
        File.WriteAllText(Path.Combine(dir, "list.json"), "[1, 2]");

        var c = RunReport.Gather(dir);
        var sample = Assert.Single(c.Samples);
        Assert.Equal("piece.mid", sample.Name);
        Assert.Equal(roll.NoteCount > 0, sample.Notes > 0);
        Assert.Equal(8, sample.Quarters);
        Assert.Equal(90, sample.TempoBpm!.Value, 1e-3);
        Assert.Null(sample.PianoRoll.Source); // no piece.svg: drawn from the MIDI file
        var figures = Assert.Single(c.Sections);
        Assert.Equal("fine.svg", Assert.Single(figures.Figures).Source);
        foreach (string name in new[] { "evil.svg", "remote.svg", "handler.svg", "styled.svg", "other.html", "broken.json", "list.json" })
            Assert.Contains(c.Notes, n => n.StartsWith(name + ": ", StringComparison.Ordinal));
        string html = RunReport.RenderHtml(c, "mixed <folder>");
        AssertSelfContained(html);
        Assert.DoesNotContain("example.org", html, StringComparison.Ordinal);
        Assert.DoesNotContain("alert(", html, StringComparison.Ordinal);
        Assert.Contains("<title>mixed &lt;folder&gt;</title>", html, StringComparison.Ordinal);
    }

    [Fact]
    public void BadFoldersFailWithOneLineAndExitCode1()
    {
        string empty = Folder("empty");
        File.WriteAllText(Path.Combine(empty, "notes.txt"), "nothing here");
        string file = Path.Combine(empty, "notes.txt");
        foreach (var (folder, expected) in new[]
        {
            (Path.Combine(data.Root, "missing"), "run folder not found"),
            (file, "this is a file, not a run folder"),
            (empty, "holds nothing a Gated run writes"),
        })
        {
            var r = Cli("report", folder);
            Assert.Equal(1, r.ExitCode);
            Assert.Equal("", r.Stdout);
            string line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("gated report: ", line, StringComparison.Ordinal);
            Assert.Contains(expected, line, StringComparison.Ordinal);
        }
        Assert.False(File.Exists(Path.Combine(empty, "report.html")));
        Assert.Throws<DirectoryNotFoundException>(() => RunReport.Gather(Path.Combine(data.Root, "missing")));
        Assert.Throws<GatedFormatException>(() => RunReport.Gather(empty));
    }

    [ChromiumFact]
    public void HeadlessChromiumRendersTheReport()
    {
        // A training run folder, a sample and a gate page, made with the library.
        string dir = Folder("render");
        var tiny = Gated.Data.PolyphonicDataSets.Load("jsb", data.Resolve);
        var result = new MusicTrainer(new RecurrentOptions { Cell = CellKind.Gru, InputSize = MusicModel.Keys, HiddenSize = 12 },
            new TrainingOptions { MaxEpochs = 4, BatchSize = 2, LearningRate = 0.01 }).Run(tiny, Path.Combine(dir, "gru.run"));
        MidiWriter.WriteFile(Path.Combine(dir, "piece.mid"), result.Best.Sample(24, seed: 2, primer: tiny.Test[0]));
        File.WriteAllText(Path.Combine(dir, "gates.html"), GateInspector.RenderHtml(GateInspector.Trace(result.Best, tiny.Test[1]), "gates"), new UTF8Encoding(false));
        var contents = RunReport.Gather(dir);
        Assert.Equal((1, 1, 1), (contents.Sections.Count, contents.Samples.Count, contents.GatePages.Count));
        string page = Path.Combine(dir, "report.html"), png = Path.Combine(dir, "report.png");
        File.WriteAllText(page, RunReport.RenderHtml(contents, "Chromium check"), new UTF8Encoding(false));

        var (exitCode, stdout, stderr) = HeadlessChromium.Screenshot(ChromiumFactAttribute.Executable!, page, png, Path.Combine(dir, "profile"), 1200, 2400, "--virtual-time-budget=5000");
        Assert.True(File.Exists(png), $"no screenshot; exit {exitCode}\n{stdout}\n{stderr}");
        long size = new FileInfo(png).Length;
        Assert.True(size > 20_000, $"the screenshot is only {size} bytes: a blank page?");
        var (width, height, distinct) = GateInspectorTests.PngStats(png);
        Assert.Equal((1200, 2400), (width, height));
        Assert.True(distinct > 50, $"the screenshot has only {distinct} distinct colours in the rows sampled");
    }
}
