using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Gated.Data;
using Gated.Models;
using Spectre.Console;

namespace Gated.Cli.Commands;

/// <summary>
/// <c>gated eval MODEL</c>: the NLL per time step and the frame-level accuracy of a saved music model
/// on a split of a data set. The numbers come from <see cref="MusicModel.Evaluate"/> and
/// <see cref="MusicModelMetrics.FrameAccuracy"/>; this class only loads and prints.
/// </summary>
internal static class EvalCommand
{
    private const string Name = "eval";
    private const int EvaluationBatchSize = 64;
    private static readonly string[] Splits = ["train", "valid", "test"];

    private sealed record Row(string Split, NllSummary Nll, FrameMetrics Frames);

    public static Command Create()
    {
        var model = CommonOptions.InputFile("MODEL", "A model saved by 'gated train' or 'gated demo' (safetensors).");
        var data = CommonOptions.Data();
        var split = CommonOptions.Choice("--split", "Which split to evaluate, or all three.", "test", "test", "valid", "train", "all");
        var json = CommonOptions.Json();
        var command = new Command(Name, "Evaluate a saved music model: NLL per time step (nats) and frame-level accuracy on a data set split.")
        {
            model, data, split, json,
        };
        command.SetAction((parseResult, cancellationToken) => Task.FromResult(CommonOptions.Guard(Name, () => Run(
            parseResult.GetValue(model)!,
            parseResult.GetValue(data) ?? CommonOptions.DefaultDataSet,
            parseResult.GetValue(split)!.ToLowerInvariant(),
            parseResult.GetValue(json),
            cancellationToken))));
        return command;
    }

    private static int Run(string modelPath, string dataName, string split, bool json, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var (model, _) = CommonOptions.LoadModel(modelPath);
        var dataset = CommonOptions.LoadData(dataName, cancellationToken);
        string dataSource = dataset.SourceName ?? dataName;

        var rows = new List<Row>();
        foreach (string name in split == "all" ? Splits : [split])
        {
            var sequences = name switch { "train" => dataset.Train, "valid" => dataset.Valid, _ => dataset.Test };
            var nll = model.Evaluate(sequences, EvaluationBatchSize, null, cancellationToken);
            var frames = MusicModelMetrics.FrameAccuracy(model, sequences, MusicModelMetrics.DefaultThreshold, cancellationToken);
            rows.Add(new Row(name, nll, frames));
        }
        double seconds = watch.Elapsed.TotalSeconds;
        string modelFull = Path.GetFullPath(modelPath);

        if (json)
        {
            CommonOptions.WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("model", modelFull);
                w.WriteString("architecture", model.ToString());
                w.WriteNumber("parameters", model.ParameterCount);
                w.WriteString("output", model.Output.Name);
                w.WriteString("data", dataSource);
                w.WriteNumber("threshold", MusicModelMetrics.DefaultThreshold);
                w.WriteStartArray("splits");
                foreach (var row in rows)
                {
                    w.WriteStartObject();
                    w.WriteString("split", row.Split);
                    CommonOptions.WriteNumberOrNull(w, "nll_per_step", row.Nll.NllPerStep);
                    w.WriteNumber("total_nll", row.Nll.TotalNll);
                    w.WriteNumber("predicted_steps", row.Nll.PredictedSteps);
                    w.WriteNumber("sequences", row.Nll.Sequences);
                    w.WriteNumber("skipped_sequences", row.Nll.SkippedSequences);
                    CommonOptions.WriteNumberOrNull(w, "frame_accuracy", row.Frames.Accuracy);
                    w.WriteNumber("true_positives", row.Frames.TruePositives);
                    w.WriteNumber("false_positives", row.Frames.FalsePositives);
                    w.WriteNumber("false_negatives", row.Frames.FalseNegatives);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteNumber("seconds", Math.Round(seconds, 3));
                w.WriteEndObject();
            });
            return ExitCodes.Success;
        }

        CommonOptions.Line($"[bold]Model[/]  {modelFull}: {model}, {model.ParameterCount:N0} parameters");
        CommonOptions.Line($"[bold]Data[/]   {dataSource}");
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("split")
            .AddColumn(new TableColumn("sequences").RightAligned())
            .AddColumn(new TableColumn("predicted steps").RightAligned())
            .AddColumn(new TableColumn("NLL/step").RightAligned())
            .AddColumn(new TableColumn("total NLL").RightAligned())
            .AddColumn(new TableColumn("frame acc.").RightAligned());
        foreach (var row in rows)
        {
            table.AddRow(
                row.Split,
                row.Nll.Sequences.ToString(CultureInfo.InvariantCulture),
                row.Nll.PredictedSteps.ToString(CultureInfo.InvariantCulture),
                CommonOptions.Fixed(row.Nll.NllPerStep, 4),
                CommonOptions.Fixed(row.Nll.TotalNll, 1),
                double.IsFinite(row.Frames.Accuracy) ? row.Frames.Accuracy.ToString("P2", CultureInfo.InvariantCulture) : "n/a");
        }
        AnsiConsole.Write(table);
        CommonOptions.Line($"[grey]NLL in nats per predicted step (summed over the 88 keys). Frame accuracy: TP/(TP+FP+FN) over all predicted steps, keys on when P ≥ {MusicModelMetrics.DefaultThreshold} (Bay et al. 2009).[/]");
        if (model.Nade is not null)
            CommonOptions.Line($"[grey]NADE output: NLL is the exact −log p(frame) of the autoregressive factorisation over the 88 keys; frame accuracy thresholds each key's probability given the true keys below it.[/]");
        foreach (var row in rows)
            if (row.Nll.SkippedSequences > 0)
                CommonOptions.Line($"[yellow]{row.Split}: {row.Nll.SkippedSequences} sequence(s) shorter than two steps were skipped.[/]");
        return ExitCodes.Success;
    }
}
