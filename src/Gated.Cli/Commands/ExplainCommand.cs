using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Gated.Data;
using Gated.Inspection;
using Gated.IO;

namespace Gated.Cli.Commands;

/// <summary>
/// <c>gated explain MODEL --out gates.html</c>: runs a saved music model on one sequence of a data set
/// and writes an HTML page of its gates (<see cref="GateInspector"/>); with <c>--json</c> also prints the
/// numbers. This class only loads, picks the sequence and writes.
/// </summary>
internal static class ExplainCommand
{
    private const string Name = "explain";

    public static Command Create()
    {
        var model = CommonOptions.InputFile("MODEL", "A model saved by 'gated train' or 'gated demo' (safetensors).");
        var data = CommonOptions.Data();
        var split = CommonOptions.Choice("--split", "Which split the sequence comes from.", "test", "test", "valid", "train");
        var index = CommonOptions.NonNegativeInt("--index", "The 0-based index of the sequence in the split.", 0, int.MaxValue);
        var output = CommonOptions.OutputFile("--out", "Where to write the HTML page.", required: true, aliases: "-o");
        var title = new Option<string?>("--title") { Description = "The page title. Default: names the model, split and sequence.", HelpName = "TEXT" };
        var json = CommonOptions.Json();
        var command = new Command(Name,
            "Show what a saved model's gates do on one sequence: an HTML page with the piano roll, the predictions and a heat map of every gate and state of every layer.")
        {
            model, data, split, index, output, title, json,
        };
        command.SetAction((parseResult, cancellationToken) => Task.FromResult(CommonOptions.Guard(Name, () => Run(
            parseResult.GetValue(model)!,
            parseResult.GetValue(data) ?? CommonOptions.DefaultDataSet,
            parseResult.GetValue(split)!.ToLowerInvariant(),
            parseResult.GetValue(index),
            parseResult.GetValue(output)!,
            parseResult.GetValue(title),
            parseResult.GetValue(json),
            cancellationToken))));
        return command;
    }

    private static int Run(string modelPath, string dataName, string split, int index, string outPath, string? title, bool json, CancellationToken cancellationToken)
    {
        var (model, _) = CommonOptions.LoadModel(modelPath);
        var dataset = CommonOptions.LoadData(dataName, cancellationToken);
        string dataSource = dataset.SourceName ?? dataName;
        IReadOnlyList<PianoRoll> sequences = split switch { "train" => dataset.Train, "valid" => dataset.Valid, _ => dataset.Test };
        if (sequences.Count == 0)
            return CommonOptions.Fail(Name, $"--index {index}: the {split} split of {dataSource} has no sequences.", ExitCodes.Usage);
        if (index >= sequences.Count)
            return CommonOptions.Fail(Name, $"--index {index} is out of range: the {split} split of {dataSource} has {sequences.Count} sequences (0..{sequences.Count - 1}).", ExitCodes.Usage);
        var roll = sequences[index];
        if (roll.Length < 2)
            return CommonOptions.Fail(Name, $"sequence {index} of the {split} split has {roll.Length} step(s); the model needs at least two.");
        cancellationToken.ThrowIfCancellationRequested();

        var trace = GateInspector.Trace(model, roll);
        string pageTitle = string.IsNullOrWhiteSpace(title)
            ? $"Gates of {Path.GetFileName(modelPath)} on {split} sequence {index.ToString(CultureInfo.InvariantCulture)} of {Path.GetFileName(dataSource)}"
            : title;
        string html = GateInspector.RenderHtml(trace, pageTitle);
        AtomicFile.Write(outPath, stream => stream.Write(new UTF8Encoding(false).GetBytes(html)));
        string outFull = Path.GetFullPath(outPath);

        if (json)
        {
            CommonOptions.WriteJson(w => WriteTrace(w, trace, Path.GetFullPath(modelPath), dataSource, split, index, outFull));
            return ExitCodes.Success;
        }

        CommonOptions.Line($"[bold]Model[/]     {Path.GetFullPath(modelPath)}: {model}");
        CommonOptions.Line($"[bold]Sequence[/]  {split} #{index} of {dataSource}: {roll.Length} steps, {roll.NoteCount} notes");
        CommonOptions.Line($"[bold]NLL[/]       {CommonOptions.Fixed(trace.NllPerStep, 4)} nats per predicted step ({trace.Steps} predicted steps)");
        foreach (var layer in trace.Layers)
        {
            var key = layer[layer.SortKey];
            CommonOptions.Line($"[bold]Layer {layer.Layer}[/]   mean {layer.SortKey} per unit: {CommonOptions.Fixed(key.UnitMeans.Min(), 3)} (unit {layer.UnitOrder[^1]}) .. {CommonOptions.Fixed(key.UnitMeans.Max(), 3)} (unit {layer.UnitOrder[0]})");
        }
        CommonOptions.Line($"[grey]{trace.Convention}[/]");
        CommonOptions.Line($"Wrote {outFull}");
        return ExitCodes.Success;
    }

    private static void WriteTrace(Utf8JsonWriter w, GateTrace trace, string model, string data, string split, int index, string outPath)
    {
        w.WriteStartObject();
        w.WriteString("model", model);
        w.WriteString("architecture", trace.Architecture);
        w.WriteString("data", data);
        w.WriteString("split", split);
        w.WriteNumber("index", index);
        w.WriteNumber("sequence_steps", trace.Input.Length);
        w.WriteNumber("predicted_steps", trace.Steps);
        w.WriteString("cell", trace.Cell.ToString().ToLowerInvariant());
        if (trace.UpdateGate is { } convention) w.WriteString("update_gate_convention", convention.ToString());
        else w.WriteNull("update_gate_convention");
        w.WriteString("convention", trace.Convention);
        CommonOptions.WriteNumberOrNull(w, "nll_per_step", trace.NllPerStep);
        CommonOptions.WriteNumberOrNull(w, "total_nll", trace.TotalNll);
        w.WriteStartArray("step_nll");
        foreach (double v in trace.StepNll) Number(w, v);
        w.WriteEndArray();
        w.WriteString("layout", "values[t][unit]: the value after the layer read input step t (which predicts step t + 1), units in their original order");
        w.WriteStartArray("layers");
        foreach (var layer in trace.Layers)
        {
            w.WriteStartObject();
            w.WriteNumber("layer", layer.Layer);
            w.WriteNumber("units", layer.Units);
            w.WriteString("sorted_by", layer.SortKey);
            w.WriteStartArray("unit_order");
            foreach (int u in layer.UnitOrder) w.WriteNumberValue(u);
            w.WriteEndArray();
            w.WriteStartArray("gates");
            foreach (var g in layer.Gates)
            {
                w.WriteStartObject();
                w.WriteString("name", g.Name);
                w.WriteBoolean("is_gate", g.IsGate);
                w.WriteStartArray("unit_means");
                foreach (double v in g.UnitMeans) Number(w, v);
                w.WriteEndArray();
                w.WriteStartArray("values");
                for (int t = 0; t < g.Steps; t++)
                {
                    w.WriteStartArray();
                    for (int j = 0; j < g.Units; j++) Number(w, g[t, j]);
                    w.WriteEndArray();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteString("out", outPath);
        w.WriteEndObject();
    }

    private static void Number(Utf8JsonWriter w, double value)
    {
        if (double.IsFinite(value)) w.WriteNumberValue(value);
        else w.WriteNullValue();
    }

    private static void Number(Utf8JsonWriter w, float value)
    {
        if (float.IsFinite(value)) w.WriteNumberValue(value);
        else w.WriteNullValue();
    }
}
