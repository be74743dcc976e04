using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;
using Gated.IO;
using Gated.IO.Midi;
using Gated.IO.Safetensors;
using Gated.Models;
using Gated.Plots;

namespace Gated.Reports;

/// <summary>
/// Gathers what a run left in its folder — metrics, learning curves, generated music and gate pages —
/// into one self-contained HTML page (<see cref="Gather"/>, then <see cref="RenderHtml"/>).
/// </summary>
/// <remarks>
/// <para>What is recognised, in the folder itself (and, for training runs, its immediate subfolders):</para>
/// <list type="bullet">
/// <item>Results of <c>gated reproduce</c>: <c>chung2014*.json</c> and <c>gates*.json</c>, with the SVG curves named after them
/// (<c>chung2014-jsb-epochs.svg</c>, <c>gates-jsb.svg</c>); the <c>runs/</c> folder of checkpoints is only counted.</item>
/// <item>Training runs of <c>gated train</c>: a model file with its training metadata (<c>MODEL.safetensors</c>, the
/// history of every epoch), its run folder <c>MODEL.run/</c>, or a run folder on its own (<c>checkpoint.safetensors</c>,
/// <c>best.safetensors</c>); the report draws their learning curves.</item>
/// <item>Samples of <c>gated sample</c>: <c>*.mid</c> with the piano roll <c>*.svg</c> of the same name (drawn from the MIDI file when absent).</item>
/// <item>Gate pages of <c>gated explain</c> (<c>*.html</c>), embedded whole.</item>
/// <item>Any other SVG drawing, as a figure.</item>
/// </list>
/// <para>The page has no script and loads nothing: SVG is inline, a MIDI file is a <c>data:</c> download link, a gate
/// page is an <c>iframe srcdoc</c> (sandboxed). An SVG file with a script, an event handler or a reference outside
/// itself is left out (and listed), so the page stays self-contained.</para>
/// </remarks>
public static class RunReport
{
    /// <summary>The <c>generator</c> meta tag of a report page; a page with it is not embedded in a later report.</summary>
    public const string Generator = "gated report";

    private const string GatePageMark = "Made by Gated's GateInspector";
    private const long MaxJson = 256L << 20, MaxSvg = 32L << 20, MaxHtml = 64L << 20;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    // ------------------------------------------------------------------ gathering

    /// <summary>Reads a run folder.</summary>
    /// <param name="folder">The folder <c>gated train</c> (MODEL.run or the folder of --out), <c>gated reproduce</c> (--out) or <c>gated sample</c>/<c>explain</c> wrote into.</param>
    /// <param name="exclude">A file to ignore (the report's own output, when it is written into the folder); may be null.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="GatedFormatException">It is a file, or it holds nothing a Gated run writes.</exception>
    public static RunContents Gather(string folder, string? exclude = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        string full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
        {
            if (File.Exists(full))
                throw new GatedFormatException(folder, "this is a file, not a run folder; give the folder that 'gated train' (MODEL.run), 'gated reproduce' (--out) or 'gated sample'/'gated explain' wrote into.");
            throw new DirectoryNotFoundException($"run folder not found: {folder}");
        }
        string? excluded = exclude is null ? null : Path.GetFullPath(exclude);
        var files = Directory.GetFiles(full).Where(f => f != excluded).Order(StringComparer.Ordinal).ToList();
        var used = new HashSet<string>(StringComparer.Ordinal);
        var sections = new List<ReportSection>();
        var notes = new List<string>();
        string Rel(string path) => path == full ? Path.GetFileName(full) : Path.GetRelativePath(full, path);
        List<string> With(params string[] extensions) =>
            [.. files.Where(f => !used.Contains(f) && extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))];

        // 1. Results of gated reproduce, with the curves named after them (the longest stem claims a file).
        var jsonFiles = With(".json");
        var stems = jsonFiles.Select(Path.GetFileNameWithoutExtension).OfType<string>().ToList();
        foreach (string json in jsonFiles)
        {
            used.Add(json);
            string stem = Path.GetFileNameWithoutExtension(json);
            var curves = files.Where(f => Path.GetExtension(f).Equals(".svg", StringComparison.OrdinalIgnoreCase)
                && stems.Where(s => Path.GetFileName(f).StartsWith(s + "-", StringComparison.Ordinal)).MaxBy(s => s.Length) == stem).ToList();
            ReportSection? section;
            try
            {
                using var doc = JsonDocument.Parse(BoundedFile.ReadAllBytes(json, MaxJson, "a results file"));
                section = ExperimentSection(doc.RootElement, Rel(json));
            }
            catch (Exception ex) when (ex is JsonException or GatedFormatException or IOException or UnauthorizedAccessException or InvalidOperationException or FormatException)
            {
                notes.Add($"{Rel(json)}: not readable as a results file ({FirstLine(ex.Message)}).");
                continue;
            }
            if (section is null)
            {
                notes.Add($"{Rel(json)}: a JSON file, but not the results of 'gated reproduce'.");
                continue;
            }
            var figures = section.Figures.ToList();
            foreach (string svg in curves)
            {
                used.Add(svg);
                if (TryReadSvg(svg, out string? drawing, out string? problem)) figures.Add(new ReportFigure(Rel(svg), drawing, CurveCaption(Path.GetFileNameWithoutExtension(svg))));
                else notes.Add($"{Rel(svg)}: {problem}");
            }
            var paragraphs = section.Paragraphs.ToList();
            string md = Path.ChangeExtension(json, ".md");
            if (File.Exists(md))
            {
                used.Add(md);
                paragraphs.Add($"The same results as markdown: `{Rel(md)}`.");
            }
            sections.Add(section with { Figures = figures, Paragraphs = paragraphs });
        }

        // 2. Training runs: model files with their run folders, the folder itself, its subfolders.
        var runFolders = new HashSet<string>(StringComparer.Ordinal);
        foreach (string model in With(".safetensors"))
        {
            used.Add(model);
            string runFolder = Path.Combine(full, Path.GetFileNameWithoutExtension(model) + ".run");
            if (Path.GetFileName(model) is MusicTrainer.CheckpointFileName or MusicTrainer.BestFileName) continue; // the folder itself is a run folder: below
            try
            {
                var file = SafetensorsFile.Read(model);
                if (!IsMusicModel(file))
                {
                    notes.Add($"{Rel(model)}: a safetensors file, but not a model saved by Gated.");
                    continue;
                }
                bool hasRun = RunFolderFiles(runFolder).Count > 0;
                if (hasRun) runFolders.Add(runFolder);
                sections.Add(TrainingSection("Training run " + Path.GetFileName(model), Rel(model), file, hasRun ? runFolder : null, Rel, notes));
            }
            catch (Exception ex) when (ex is GatedFormatException or IOException or UnauthorizedAccessException)
            {
                notes.Add($"{Rel(model)}: unreadable ({FirstLine(ex.Message)}).");
            }
        }
        if (RunFolderFiles(full).Count > 0)
        {
            foreach (string f in RunFolderFiles(full)) used.Add(f);
            AddRunFolder(full, "Training run " + Path.GetFileName(full), sections, notes, Rel);
        }
        int checkpointFolders = 0;
        foreach (string dir in Directory.GetDirectories(full).Order(StringComparer.Ordinal))
        {
            if (runFolders.Contains(dir)) continue;
            if (RunFolderFiles(dir).Count > 0) AddRunFolder(dir, "Training run " + Path.GetFileName(dir), sections, notes, Rel);
            else if (Path.GetFileName(dir) == "runs")
                checkpointFolders += Directory.GetDirectories(dir).Count(d => RunFolderFiles(d).Count > 0);
        }
        if (checkpointFolders > 0)
            notes.Add($"runs/ holds the checkpoints of {checkpointFolders} training run(s); their histories are in the results above.");

        // 3. Samples: MIDI files with their piano rolls.
        var samples = new List<ReportSample>();
        foreach (string midi in With(".mid", ".midi"))
        {
            used.Add(midi);
            try
            {
                byte[] bytes = BoundedFile.ReadAllBytes(midi, MidiReader.MaxFileLength, "a MIDI file");
                var sequence = MidiReader.Parse(bytes, midi);
                string svg = Path.ChangeExtension(midi, ".svg");
                ReportFigure? roll = null;
                if (File.Exists(svg) && !used.Contains(svg))
                {
                    used.Add(svg);
                    if (TryReadSvg(svg, out string? drawing, out string? problem)) roll = new ReportFigure(Rel(svg), drawing, $"The piano roll of {Path.GetFileName(midi)} ({Rel(svg)}).");
                    else notes.Add($"{Rel(svg)}: {problem}");
                }
                if (roll is null)
                {
                    var plot = new PianoRollPlot(sequence.ToPianoRoll(2)) { Title = Path.GetFileName(midi), XLabel = "time step (eighth notes)" };
                    roll = new ReportFigure(null, WithoutDeclaration(plot.ToSvg()), $"The piano roll of {Path.GetFileName(midi)}, drawn from the MIDI file at two steps per quarter note.");
                }
                double quarters = sequence.TicksPerQuarter > 0 ? (double)sequence.EndTick / sequence.TicksPerQuarter : 0;
                samples.Add(new ReportSample(Path.GetFileName(midi), bytes, sequence.Notes.Count, quarters, sequence.TempoBpm, roll));
            }
            catch (Exception ex) when (ex is GatedFormatException or IOException or UnauthorizedAccessException)
            {
                notes.Add($"{Rel(midi)}: not a readable MIDI file ({FirstLine(ex.Message)}).");
            }
        }

        // 4. Gate pages.
        var pages = new List<ReportGatePage>();
        foreach (string html in With(".html", ".htm"))
        {
            used.Add(html);
            string text;
            try
            {
                text = Encoding.UTF8.GetString(BoundedFile.ReadAllBytes(html, MaxHtml, "an HTML page"));
            }
            catch (Exception ex) when (ex is GatedFormatException or IOException or UnauthorizedAccessException)
            {
                notes.Add($"{Rel(html)}: unreadable ({FirstLine(ex.Message)}).");
                continue;
            }
            if (text.Contains($"<meta name=\"generator\" content=\"{Generator}\">", StringComparison.Ordinal))
                notes.Add($"{Rel(html)}: an earlier report; not embedded.");
            else if (text.Contains(GatePageMark, StringComparison.Ordinal))
            {
                var title = Regex.Match(text, "<title>(.*?)</title>", RegexOptions.Singleline);
                pages.Add(new ReportGatePage(Path.GetFileName(html), title.Success ? WebUtility.HtmlDecode(title.Groups[1].Value) : null, text));
            }
            else notes.Add($"{Rel(html)}: an HTML page, but not one 'gated explain' wrote; not embedded.");
        }

        // 5. Any other drawing.
        var loose = new List<ReportFigure>();
        foreach (string svg in With(".svg"))
        {
            used.Add(svg);
            if (TryReadSvg(svg, out string? drawing, out string? problem)) loose.Add(new ReportFigure(Rel(svg), drawing, Rel(svg)));
            else notes.Add($"{Rel(svg)}: {problem}");
        }
        if (loose.Count > 0) sections.Add(new ReportSection("Figures", "figures", null, ["SVG drawings in the folder that belong to no result above."], [], loose));

        if (sections.Count == 0 && samples.Count == 0 && pages.Count == 0)
        {
            string why = notes.Count == 0 ? "" : " (" + string.Join(" ", notes) + ")";
            throw new GatedFormatException(folder,
                "holds nothing a Gated run writes: no results of 'gated reproduce' (chung2014.json, gates.json), no training run (a model saved by 'gated train', checkpoint.safetensors), no sample (.mid) and no gate page (.html)" + why + ".");
        }
        return new RunContents(full, sections, samples, pages, notes);
    }

    private static List<string> RunFolderFiles(string folder) =>
        [.. new[] { MusicTrainer.CheckpointFileName, MusicTrainer.BestFileName }.Select(n => Path.Combine(folder, n)).Where(File.Exists)];

    private static bool IsMusicModel(SafetensorsFile file) =>
        file.Metadata.TryGetValue("gated.format", out var format) && format == MusicModel.FormatName;

    private static void AddRunFolder(string folder, string title, List<ReportSection> sections, List<string> notes, Func<string, string> rel)
    {
        string best = Path.Combine(folder, MusicTrainer.BestFileName), checkpoint = Path.Combine(folder, MusicTrainer.CheckpointFileName);
        string source = File.Exists(checkpoint) ? checkpoint : best;
        try
        {
            var file = SafetensorsFile.Read(source);
            if (!IsMusicModel(file))
            {
                notes.Add($"{rel(source)}: not a checkpoint written by Gated.");
                return;
            }
            sections.Add(TrainingSection(title, rel(folder), null, folder, rel, notes));
        }
        catch (Exception ex) when (ex is GatedFormatException or IOException or UnauthorizedAccessException)
        {
            notes.Add($"{rel(source)}: unreadable ({FirstLine(ex.Message)}).");
        }
    }

    // ------------------------------------------------------------------ training runs

    /// <summary>One epoch of a history, from either of the two layouts Gated writes.</summary>
    private sealed record Epoch(int Number, double Train, double Valid, double LearningRate, double Seconds, bool Best);

    /// <summary>
    /// A training run: the model file's metadata (<c>gated train --out</c>: settings, stop reason, history) when
    /// given, else the run folder's checkpoint (its history and configuration); the model from the model file or
    /// <c>best.safetensors</c>.
    /// </summary>
    private static ReportSection TrainingSection(string title, string source, SafetensorsFile? modelFile, string? runFolder, Func<string, string> rel, List<string> notes)
    {
        SafetensorsFile? checkpoint = null, best = null;
        if (runFolder is not null)
        {
            string c = Path.Combine(runFolder, MusicTrainer.CheckpointFileName), b = Path.Combine(runFolder, MusicTrainer.BestFileName);
            try { if (File.Exists(c)) checkpoint = SafetensorsFile.Read(c); }
            catch (GatedFormatException ex) { notes.Add($"{rel(c)}: unreadable ({FirstLine(ex.Message)})."); }
            try { if (File.Exists(b)) best = SafetensorsFile.Read(b); }
            catch (GatedFormatException ex) { notes.Add($"{rel(b)}: unreadable ({FirstLine(ex.Message)})."); }
        }
        var modelSource = modelFile ?? best ?? checkpoint;
        var paragraphs = new List<string>();
        var tables = new List<ReportTable>();
        var figures = new List<ReportFigure>();
        if (modelSource is not null)
        {
            try
            {
                var model = MusicModel.FromSafetensors(modelSource);
                string which = modelFile is not null ? "the saved model" : best is not null ? "the best epoch's model (best.safetensors)" : "the last checkpoint";
                paragraphs.Add($"Model ({which}): `{model}`, {model.ParameterCount.ToString("N0", Inv)} parameters.");
            }
            catch (GatedFormatException ex)
            {
                notes.Add($"{source}: the model cannot be loaded ({FirstLine(ex.Message)}).");
            }
        }
        if (runFolder is not null && modelFile is not null)
            paragraphs.Add($"Run folder: `{rel(runFolder)}` ({string.Join(", ", RunFolderFiles(runFolder).Select(Path.GetFileName))}).");

        // The history: the model file's (it is complete and has named fields), else the checkpoint's (the latest epoch), else best.safetensors'.
        List<Epoch>? history = null;
        foreach (var file in new[] { modelFile, checkpoint, best })
        {
            if (file is null || !file.Metadata.TryGetValue("training.history", out string? text)) continue;
            try
            {
                history = ParseHistory(text);
                break;
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or IndexOutOfRangeException)
            {
                notes.Add($"{source}: the training history is unreadable ({FirstLine(ex.Message)}).");
            }
        }

        // Settings: the model file's training.* entries, else the checkpoint's configuration.
        var settings = new List<IReadOnlyList<string>>();
        if (modelFile is not null)
        {
            foreach (var (key, value) in modelFile.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                if (key.StartsWith("training.", StringComparison.Ordinal) && key != "training.history" && key != "training.configuration")
                    settings.Add([key["training.".Length..].Replace('_', ' '), value]);
        }
        else if ((checkpoint ?? best) is { } state && state.Metadata.TryGetValue("training.configuration", out string? configuration))
        {
            foreach (var (key, value) in ParseConfiguration(configuration)) settings.Add([key.Replace('_', ' '), value]);
            foreach (var key in new[] { "training.epochs", "training.best_epoch", "training.best_valid_nll", "checkpoint.learning_rate", "checkpoint.seconds" })
                if (state.Metadata.TryGetValue(key, out string? v)) settings.Add([key[(key.IndexOf('.') + 1)..].Replace('_', ' '), v]);
        }
        if (settings.Count > 0) tables.Add(new ReportTable("Settings and outcome, as recorded in the file.", ["setting", "value"], settings));

        if (history is { Count: > 0 })
        {
            var bestEpoch = history.Where(e => e.Best && double.IsFinite(e.Valid)).MaxBy(e => e.Number)
                ?? history.Where(e => double.IsFinite(e.Valid)).MinBy(e => e.Valid);
            var summary = new StringBuilder();
            summary.Append(Inv, $"{history.Count} epoch{(history.Count == 1 ? "" : "s")} in {history[^1].Seconds:F1} s");
            if (bestEpoch is not null) summary.Append(Inv, $"; best validation NLL **{bestEpoch.Valid:F4}** nats per step at epoch {bestEpoch.Number}");
            if (modelFile is not null && modelFile.Metadata.TryGetValue("training.stop_reason", out string? stop)) summary.Append("; stopped by ").Append(stop.Replace('_', ' '));
            summary.Append('.');
            paragraphs.Add(summary.ToString());

            var chart = new LineChart { Title = $"{title}: NLL per epoch", XLabel = "epoch", YLabel = "NLL per time step (nats)", Width = 900, Height = 440 };
            chart.AddSeries("train (running, during the epoch)", history.Select(e => ((double)e.Number, e.Train)));
            chart.AddSeries("valid (after the epoch)", history.Select(e => ((double)e.Number, e.Valid)));
            if (bestEpoch is not null) chart.AddReferenceLine(bestEpoch.Valid, $"best valid {bestEpoch.Valid.ToString("F3", Inv)} (epoch {bestEpoch.Number})");
            figures.Add(new ReportFigure(null, WithoutDeclaration(chart.ToSvg()),
                "Learning curves drawn from the recorded history: the training NLL is the running figure over each epoch's batches, the validation NLL is measured after the epoch."));
            tables.Add(new ReportTable($"Every epoch ({history.Count}).", ["epoch", "train NLL", "valid NLL", "learning rate", "seconds", "best so far"],
                [.. history.Select(e => (IReadOnlyList<string>)[e.Number.ToString(Inv), Fixed(e.Train, 4), Fixed(e.Valid, 4), e.LearningRate.ToString("G4", Inv), e.Seconds.ToString("F1", Inv), e.Best ? "*" : ""])],
                Collapsed: true));
        }
        else notes.Add($"{source}: no training history recorded (a model saved without training?).");
        return new ReportSection(title, "training", source, paragraphs, tables, figures);
    }

    private static List<Epoch> ParseHistory(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var list = new List<Epoch>();
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            if (e.ValueKind == JsonValueKind.Array)
            {
                // The checkpoint layout: [epoch, train, valid, lr, seconds, best].
                double At(int i) => e[i].ValueKind == JsonValueKind.Number ? e[i].GetDouble() : double.NaN;
                list.Add(new Epoch((int)At(0), At(1), At(2), At(3), At(4), At(5) != 0));
            }
            else
            {
                // The model file layout of gated train.
                list.Add(new Epoch(e.GetProperty("epoch").GetInt32(), Number(e, "train_nll_per_step") ?? double.NaN, Number(e, "valid_nll_per_step") ?? double.NaN,
                    Number(e, "learning_rate") ?? double.NaN, Number(e, "elapsed_seconds") ?? double.NaN, e.TryGetProperty("best", out var b) && b.ValueKind == JsonValueKind.True));
            }
        }
        return list;
    }

    /// <summary>The checkpoint's configuration: <c>key=value;…;{json of the training options}</c>.</summary>
    private static List<(string Key, string Value)> ParseConfiguration(string text)
    {
        var list = new List<(string, string)>();
        int brace = text.IndexOf(";{", StringComparison.Ordinal);
        string model = brace < 0 ? text : text[..brace];
        foreach (string part in model.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.IndexOf('=');
            if (eq > 0) list.Add((part[..eq], part[(eq + 1)..]));
        }
        if (brace >= 0)
        {
            try
            {
                using var doc = JsonDocument.Parse(text[(brace + 1)..]);
                foreach (var p in doc.RootElement.EnumerateObject()) list.Add((p.Name, p.Value.ToString()));
            }
            catch (JsonException)
            {
                list.Add(("training", text[(brace + 1)..]));
            }
        }
        return list;
    }

    // ------------------------------------------------------------------ results of gated reproduce

    private static ReportSection? ExperimentSection(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Object || Text(root, "experiment") is not string experiment) return null;
        var paragraphs = new List<string> { experiment[..1].ToUpperInvariant() + experiment[1..] + "." };
        if (Text(root, "command") is string command) paragraphs.Add($"Command: `{command}`.");
        var meta = new List<string>();
        if (Text(root, "machine") is string machine) meta.Add("machine: " + machine);
        if (Text(root, "date") is string date) meta.Add("date: " + date);
        if (Number(root, "wall_seconds") is double wall) meta.Add("wall time: " + (wall / 60).ToString("F1", Inv) + " minutes");
        if (meta.Count > 0) paragraphs.Add(string.Join("; ", meta) + ".");
        if (Text(root, "protocol") is string protocol) paragraphs.Add("Protocol: " + protocol + ".");
        if (Text(root, "determinism") is string determinism) paragraphs.Add(determinism);
        if (Text(root, "nll") is string nll) paragraphs.Add("NLL: " + nll + ".");

        if (root.TryGetProperty("summary", out var summary) && summary.ValueKind == JsonValueKind.Array && root.TryGetProperty("runs", out _))
            return GatesSection(root, summary, source, paragraphs);
        if (root.TryGetProperty("rows", out var rows) && rows.ValueKind == JsonValueKind.Array)
            return Chung2014Section(rows, source, paragraphs);
        return null;
    }

    private static ReportSection Chung2014Section(JsonElement rows, string source, List<string> paragraphs)
    {
        var table = new List<IReadOnlyList<string>>();
        int meets = 0, count = 0;
        foreach (var r in rows.EnumerateArray())
        {
            count++;
            if (r.TryGetProperty("meets_paper", out var m) && m.ValueKind == JsonValueKind.True) meets++;
            table.Add([Text(r, "data_set") ?? "", Text(r, "cell") ?? "", Int(r, "units"), Int(r, "parameters", "N0"), Fixed(Number(r, "learning_rate"), "G3"),
                $"{Int(r, "best_epoch")} / {Int(r, "epochs")} ({Text(r, "stop") ?? "?"})",
                Fixed(Number(r, "train_nll"), 3), Fixed(Number(r, "valid_nll"), 3), Fixed(Number(r, "test_nll"), 3), Fixed(Number(r, "paper_test_nll"), 2), Fixed(Number(r, "seconds"), 0)]);
        }
        paragraphs.Add($"**{meets} of {count}** runs reach the paper's test NLL.");
        var tables = new List<ReportTable>
        {
            new("One row per data set and cell: the model of the best validation epoch, evaluated on each split (lower is better).",
                ["data set", "cell", "units", "parameters", "lr", "best epoch / epochs", "train NLL", "valid NLL", "test NLL", "paper test NLL", "seconds"], table),
        };
        return new ReportSection("Reproduction of Chung et al. 2014", "chung2014", source, paragraphs, tables, []);
    }

    private static ReportSection GatesSection(JsonElement root, JsonElement summary, string source, List<string> paragraphs)
    {
        var tables = new List<ReportTable>();
        if (root.TryGetProperty("variants", out var variants) && variants.ValueKind == JsonValueKind.Array)
        {
            tables.Add(new ReportTable($"The models: hidden size H chosen per variant for a budget of {Int(root, "parameter_budget", "N0")} parameters ({Text(root, "parameter_counting") ?? "see the JSON"}).",
                ["variant", "what changes", "H", "parameters", "stored"],
                [.. variants.EnumerateArray().Select(v => (IReadOnlyList<string>)[Text(v, "label") ?? Text(v, "name") ?? "", Text(v, "change") ?? "", Int(v, "hidden_size"), Int(v, "parameters", "N0"), Int(v, "stored_parameters", "N0")])]));
        }
        var labels = variants.ValueKind == JsonValueKind.Array
            ? variants.EnumerateArray().Where(v => Text(v, "name") is not null).ToDictionary(v => Text(v, "name")!, v => Text(v, "label") ?? Text(v, "name")!)
            : [];
        static string Spread(JsonElement s, bool range)
        {
            double? mean = Number(s, "mean"), sd = Number(s, "sd");
            if (sd is null) return Fixed(mean, 3);
            string text = $"{Fixed(mean, 3)} ± {Fixed(sd, 3)}";
            return range ? $"{text} [{Fixed(Number(s, "min"), 3)} – {Fixed(Number(s, "max"), 3)}]" : text;
        }
        var rows = new List<IReadOnlyList<string>>();
        foreach (var s in summary.EnumerateArray())
        {
            string variant = Text(s, "variant") ?? "";
            s.TryGetProperty("test_nll", out var test);
            s.TryGetProperty("valid_nll", out var valid);
            s.TryGetProperty("epochs", out var epochs);
            s.TryGetProperty("best_epoch", out var bestEpoch);
            rows.Add([Text(s, "data_set") ?? "", labels.GetValueOrDefault(variant, variant), Int(s, "hidden_size"), Int(s, "parameters", "N0"),
                test.ValueKind == JsonValueKind.Object ? Spread(test, range: true) : "n/a",
                valid.ValueKind == JsonValueKind.Object ? Spread(valid, range: false) : "n/a",
                $"{Fixed(bestEpoch.ValueKind == JsonValueKind.Object ? Number(bestEpoch, "mean") : null, "0.#")} / {Fixed(epochs.ValueKind == JsonValueKind.Object ? Number(epochs, "mean") : null, "0.#")}",
                $"{Int(s, "stopped_at_epoch_limit")}/{(test.ValueKind == JsonValueKind.Object ? Int(test, "n") : "?")}", Fixed(Number(s, "seconds"), 0)]);
        }
        tables.Add(new ReportTable("Results: NLL per time step of each run's best validation epoch, mean ± standard deviation over the seeds and [min – max] of the test NLL (one seed: the value). Epochs: best / trained, means; at limit: runs that ended at the epoch limit.",
            ["data set", "variant", "H", "parameters", "test NLL", "valid NLL", "epochs", "at limit", "seconds"], rows));
        if (root.TryGetProperty("findings", out var findings) && findings.ValueKind == JsonValueKind.Array)
        {
            paragraphs.Add("**What the numbers show.**");
            foreach (var f in findings.EnumerateArray()) if (f.ValueKind == JsonValueKind.String) paragraphs.Add(f.GetString()!);
        }
        return new ReportSection("Gate ablation", "gates", source, paragraphs, tables, []);
    }

    private static string CurveCaption(string stem)
    {
        if (stem.EndsWith("-seconds", StringComparison.Ordinal)) return $"{stem}: validation NLL against wall-clock time.";
        if (stem.EndsWith("-epochs", StringComparison.Ordinal)) return $"{stem}: validation NLL per epoch.";
        return $"{stem}: learning curves.";
    }

    private static string? Text(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static double? Number(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private static string Int(JsonElement e, string name, string format = "0") => Number(e, name) is double v ? v.ToString(format, Inv) : "?";

    private static string Fixed(double? value, int decimals) => Fixed(value, "F" + decimals.ToString(Inv));

    private static string Fixed(double? value, string format) => value is double v && double.IsFinite(v) ? v.ToString(format, Inv) : "n/a";

    private static string FirstLine(string message)
    {
        int newline = message.IndexOf('\n');
        return (newline < 0 ? message : message[..newline]).TrimEnd('.', ' ');
    }

    // ------------------------------------------------------------------ SVG files

    /// <summary>
    /// Reads an SVG file for inlining: well-formed XML whose root is <c>svg</c>, with no script, no foreign
    /// content, no event handler and no reference outside itself; returns the root element without the declaration.
    /// </summary>
    private static bool TryReadSvg(string path, out string svg, out string? problem)
    {
        svg = "";
        XDocument doc;
        try
        {
            string text = Encoding.UTF8.GetString(BoundedFile.ReadAllBytes(path, MaxSvg, "an SVG drawing"));
            doc = XDocument.Parse(text); // DTDs are refused by default
        }
        catch (Exception ex) when (ex is XmlException or GatedFormatException or IOException or UnauthorizedAccessException)
        {
            problem = $"not a readable SVG drawing ({FirstLine(ex.Message)}); left out.";
            return false;
        }
        if (doc.Root is null || doc.Root.Name.LocalName != "svg")
        {
            problem = "an XML file whose root is not <svg>; left out.";
            return false;
        }
        foreach (var element in doc.Descendants())
        {
            string name = element.Name.LocalName.ToLowerInvariant();
            if (name is "script" or "foreignobject" or "iframe" or "object" or "embed")
            {
                problem = $"an SVG drawing with a <{element.Name.LocalName}> element; left out to keep the page self-contained and script-free.";
                return false;
            }
            foreach (var attribute in element.Attributes())
            {
                string a = attribute.Name.LocalName.ToLowerInvariant();
                if (a.StartsWith("on", StringComparison.Ordinal) || (a == "href" && !attribute.Value.StartsWith('#')) || ExternalUrl.IsMatch(attribute.Value))
                {
                    problem = $"an SVG drawing with an event handler or a reference outside itself (attribute {attribute.Name.LocalName}); left out to keep the page self-contained and script-free.";
                    return false;
                }
            }
            if (name == "style" && (element.Value.Contains("@import", StringComparison.OrdinalIgnoreCase) || ExternalUrl.IsMatch(element.Value)))
            {
                problem = "an SVG drawing whose style loads something from outside; left out to keep the page self-contained.";
                return false;
            }
        }
        svg = doc.Root.ToString(SaveOptions.DisableFormatting);
        problem = null;
        return true;
    }

    /// <summary>A CSS <c>url(…)</c> that does not point inside the document (<c>url(#id)</c>).</summary>
    private static readonly Regex ExternalUrl = new(@"url\(\s*['""]?(?!#)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    private static string WithoutDeclaration(string svg) =>
        svg.StartsWith("<?xml", StringComparison.Ordinal) ? svg[(svg.IndexOf("?>", StringComparison.Ordinal) + 2)..].TrimStart() : svg;

    // ------------------------------------------------------------------ HTML

    /// <summary>
    /// One self-contained HTML page (inline SVG and CSS; no script, no external resource) with every section,
    /// sample and gate page of <paramref name="contents"/>, a table of contents and the list of files left out.
    /// </summary>
    /// <param name="contents">What <see cref="Gather"/> found.</param>
    /// <param name="title">The page title (escaped here).</param>
    /// <returns>The page, UTF-8 text.</returns>
    public static string RenderHtml(RunContents contents, string title)
    {
        ArgumentNullException.ThrowIfNull(contents);
        ArgumentNullException.ThrowIfNull(title);
        string E(string s) => Svg.Escape(s);
        var html = new StringBuilder(1 << 20);
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        html.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        html.Append("<meta name=\"generator\" content=\"").Append(Generator).Append("\">\n");
        html.Append("<title>").Append(E(title)).Append("</title>\n<style>\n").Append(Css).Append("</style>\n</head>\n<body>\n");
        html.Append("<h1>").Append(E(title)).Append("</h1>\n");
        html.Append("<p class=\"meta\">Run folder: <code>").Append(E(contents.Folder)).Append("</code>. Everything is inside this page: it loads nothing and runs no script.</p>\n");

        // Contents.
        var anchors = new List<(string Id, string Title)>();
        for (int i = 0; i < contents.Sections.Count; i++) anchors.Add(($"section-{i + 1}", contents.Sections[i].Title));
        if (contents.Samples.Count > 0) anchors.Add(("samples", $"Samples ({contents.Samples.Count})"));
        if (contents.GatePages.Count > 0) anchors.Add(("gate-pages", $"Gate pages ({contents.GatePages.Count})"));
        if (contents.Notes.Count > 0) anchors.Add(("left-out", "Notes and files left out"));
        html.Append("<nav>\n<h2>Contents</h2>\n<ul>\n");
        foreach (var (id, text) in anchors) html.Append("<li><a href=\"#").Append(id).Append("\">").Append(E(text)).Append("</a></li>\n");
        html.Append("</ul>\n</nav>\n");

        for (int i = 0; i < contents.Sections.Count; i++)
        {
            var s = contents.Sections[i];
            html.Append("<section id=\"section-").Append((i + 1).ToString(Inv)).Append("\" class=\"").Append(E(s.Kind)).Append("\">\n<h2>").Append(E(s.Title)).Append("</h2>\n");
            if (s.Source is not null) html.Append("<p class=\"source\">From <code>").Append(E(s.Source)).Append("</code>.</p>\n");
            foreach (string p in s.Paragraphs) html.Append("<p>").Append(Inline(p)).Append("</p>\n");
            foreach (var t in s.Tables) AppendTable(html, t);
            foreach (var f in s.Figures) AppendFigure(html, f);
            html.Append("</section>\n");
        }

        if (contents.Samples.Count > 0)
        {
            html.Append("<section id=\"samples\" class=\"samples\">\n<h2>Samples</h2>\n");
            html.Append("<p>Music the model generated. Each MIDI file is inside this page: the link saves it, and any MIDI player plays it.</p>\n");
            foreach (var sample in contents.Samples)
            {
                html.Append("<h3>").Append(E(sample.Name)).Append("</h3>\n<p>")
                    .Append(sample.Notes.ToString("N0", Inv)).Append(" notes in the MIDI file (a held note counts once), ").Append(sample.Quarters.ToString("0.#", Inv)).Append(" quarter notes");
                if (sample.TempoBpm is double bpm) html.Append(" at ").Append(bpm.ToString("0.#", Inv)).Append(" bpm");
                html.Append(". <a download=\"").Append(E(sample.Name)).Append("\" href=\"data:audio/midi;base64,").Append(Convert.ToBase64String(sample.Midi))
                    .Append("\">Save ").Append(E(sample.Name)).Append("</a> (").Append(sample.Midi.Length.ToString("N0", Inv)).Append(" bytes).</p>\n");
                AppendFigure(html, sample.PianoRoll);
            }
            html.Append("</section>\n");
        }

        if (contents.GatePages.Count > 0)
        {
            html.Append("<section id=\"gate-pages\" class=\"gate-pages\">\n<h2>Gate pages</h2>\n");
            html.Append("<p>Pages written by <code>gated explain</code>, each shown whole in its own frame (scroll inside it).</p>\n");
            foreach (var page in contents.GatePages)
            {
                html.Append("<h3>").Append(E(page.Title ?? page.Name)).Append("</h3>\n<p class=\"source\">From <code>").Append(E(page.Name)).Append("</code>.</p>\n");
                html.Append("<iframe sandbox=\"\" title=\"").Append(E(page.Title ?? page.Name)).Append("\" srcdoc=\"").Append(E(page.Html)).Append("\"></iframe>\n");
            }
            html.Append("</section>\n");
        }

        if (contents.Notes.Count > 0)
        {
            html.Append("<section id=\"left-out\" class=\"notes\">\n<h2>Notes and files left out</h2>\n<ul>\n");
            foreach (string note in contents.Notes) html.Append("<li>").Append(Inline(note)).Append("</li>\n");
            html.Append("</ul>\n</section>\n");
        }
        html.Append("<footer>Made by <code>gated report</code> from the files in the run folder; numbers are as the run recorded them.</footer>\n");
        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    /// <summary>Escapes text and turns <c>**bold**</c> and <c>`code`</c> into HTML.</summary>
    private static string Inline(string text)
    {
        string escaped = Svg.Escape(text);
        escaped = Regex.Replace(escaped, @"`([^`]+)`", "<code>$1</code>");
        return Regex.Replace(escaped, @"\*\*(.+?)\*\*", "<strong>$1</strong>");
    }

    private static void AppendTable(StringBuilder html, ReportTable table)
    {
        if (table.Collapsed) html.Append("<details>\n<summary>").Append(Svg.Escape(table.Caption ?? "Table")).Append("</summary>\n");
        else if (table.Caption is not null) html.Append("<p class=\"caption\">").Append(Inline(table.Caption)).Append("</p>\n");
        html.Append("<table>\n<thead><tr>");
        foreach (string c in table.Columns) html.Append("<th>").Append(Svg.Escape(c)).Append("</th>");
        html.Append("</tr></thead>\n<tbody>\n");
        foreach (var row in table.Rows)
        {
            html.Append("<tr>");
            // Numbers align right (the default), words left.
            foreach (string cell in row) html.Append(NumberLike.IsMatch(cell) ? "<td>" : "<td class=\"text\">").Append(Svg.Escape(cell)).Append("</td>");
            html.Append("</tr>\n");
        }
        html.Append("</tbody>\n</table>\n");
        if (table.Collapsed) html.Append("</details>\n");
    }

    /// <summary>A cell that starts like a number (or is empty or "n/a"): right-aligned.</summary>
    private static readonly Regex NumberLike = new(@"^([−+\-]?[\d.,]|n/a$|\*?$|\?)", RegexOptions.CultureInvariant);

    private static void AppendFigure(StringBuilder html, ReportFigure figure)
    {
        html.Append("<figure>\n").Append(figure.Svg).Append("\n<figcaption>").Append(Svg.Escape(figure.Caption));
        if (figure.Source is not null && figure.Caption != figure.Source) html.Append(" <code>").Append(Svg.Escape(figure.Source)).Append("</code>");
        html.Append("</figcaption>\n</figure>\n");
    }

    private const string Css = """
        body { font-family: "DejaVu Sans", Verdana, Arial, Helvetica, sans-serif; color: #222; background: #fff; margin: 24px auto; max-width: 1120px; padding: 0 12px; line-height: 1.45; }
        h1 { font-size: 1.6em; margin-bottom: 0.3em; }
        h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
        h3 { font-size: 1.05em; margin-top: 1.2em; }
        code { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 0.9em; background: #f4f4f4; padding: 0 3px; }
        nav { background: #f6f8fb; border: 1px solid #d7dee8; border-radius: 4px; padding: 0 14px 4px; }
        nav h2 { border: none; margin-top: 0.6em; }
        .source, .caption { font-size: 0.9em; color: #555; }
        figure { margin: 16px 0; }
        figure svg { display: block; max-width: 100%; height: auto; }
        figcaption { font-size: 0.9em; color: #555; margin-top: 4px; }
        table { border-collapse: collapse; font-size: 0.88em; margin: 8px 0 12px; }
        th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; vertical-align: top; }
        th:first-child, td:first-child, td.text { text-align: left; }
        thead th { background: #f0f0f0; }
        details { margin: 8px 0; }
        summary { cursor: pointer; color: #333; }
        iframe { width: 100%; height: 900px; border: 1px solid #bbb; }
        footer { margin-top: 2em; font-size: 0.85em; color: #777; }

        """;
}
