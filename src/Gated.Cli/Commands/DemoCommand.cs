using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Gated.Data;
using Gated.IO;
using Gated.Layers;
using Gated.Models;
using Gated.Training;
using Spectre.Console;

namespace Gated.Cli.Commands;

/// <summary>
/// <c>gated demo</c>: trains a small recurrent next-step model on a polyphonic-music data set (JSB
/// Chorales by default) with Adam and gradient clipping, reports the NLL per step, saves the model.
/// All the work is in <see cref="MusicModel"/>; this class only parses, prints and saves.
/// </summary>
internal static class DemoCommand
{
    private const double MaxGradientNorm = 1.0;
    private const int EvaluationBatchSize = 64;

    private sealed record Settings(
        string DataPath, CellKind Cell, int Hidden, int Layers, int Epochs, int BatchSize,
        double LearningRate, int Seed, string OutPath, bool Json);

    private sealed record EpochRow(int Epoch, NllSummary Train, NllSummary Valid, double Seconds);

    public static Command Create()
    {
        var data = CommonOptions.Data();
        var cell = CommonOptions.Cell();
        var hidden = PositiveInt("--hidden", "Hidden units per layer.", 46, max: 4096);
        var layers = PositiveInt("--layers", "Stacked recurrent layers.", 1, max: 32);
        var epochs = PositiveInt("--epochs", "Passes over the training split.", 3, max: 1_000_000);
        var batchSize = PositiveInt("--batch-size", "Sequences per mini-batch.", 8, max: 1_000_000);
        // 0.03 rather than PyTorch's 1e-3: with batches of 8 and the gradient norm clipped at 1, three
        // epochs on JSB (a second or two) then get the model well past the 11 nats/step plateau of
        // note frequencies; at 1e-3 three epochs end near 22 nats/step.
        var learningRate = CommonOptions.PositiveDouble("--learning-rate", "Adam's step size.", 3e-2, aliases: "--lr");
        var seed = new Option<int>("--seed")
        {
            Description = "Seed for the weights and the shuffling; the same seed gives the same run.",
            DefaultValueFactory = _ => 1,
        };
        var output = CommonOptions.OutputFile("--out", "Where to save the trained model (safetensors).", "model.safetensors", aliases: "-o");
        var json = CommonOptions.Json();

        var command = new Command("demo", "Train a small GRU/LSTM/RNN on polyphonic music (JSB Chorales by default), report the NLL per step and save the model.")
        {
            data, cell, hidden, layers, epochs, batchSize, learningRate, seed, output, json,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var settings = new Settings(
                parseResult.GetValue(data) ?? CommonOptions.DefaultDataSet,
                CommonOptions.ParseCell(parseResult.GetValue(cell)) ?? CellKind.Gru,
                parseResult.GetValue(hidden),
                parseResult.GetValue(layers),
                parseResult.GetValue(epochs),
                parseResult.GetValue(batchSize),
                parseResult.GetValue(learningRate),
                parseResult.GetValue(seed),
                parseResult.GetValue(output)!,
                parseResult.GetValue(json));
            return Task.FromResult(Run(settings, cancellationToken));
        });
        return command;
    }

    private static Option<int> PositiveInt(string name, string description, int defaultValue, int max) =>
        CommonOptions.PositiveInt(name, description, defaultValue, max);

    private static int Run(Settings s, CancellationToken cancellationToken) =>
        CommonOptions.Guard("demo", () => Train(s, cancellationToken), ex => ex switch
        {
            OperationCanceledException => "cancelled; the model was not saved.",
            GatedFormatException format => $"malformed data file: {format.Message}",
            TrainingDivergedException diverged => $"{diverged.Message} The model was not saved.",
            OutOfMemoryException => $"out of memory for a model of {s.Layers} layer(s) of {s.Hidden} units; try a smaller --hidden.",
            _ => null,
        });

    private static int Train(Settings s, CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        MusicModel model;
        try
        {
            model = MusicModel.Create(s.Cell, s.Hidden, s.Layers, s.Seed);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine($"gated demo: --hidden {s.Hidden} with --layers {s.Layers} is refused: {ex.Message.Split(" (Parameter", 2)[0]} (see 'gated demo --help')");
            return ExitCodes.Usage;
        }
        AtomicFile.CheckWritable(s.OutPath); // before training, not after it
        var dataset = CommonOptions.LoadData(s.DataPath, cancellationToken);
        string dataSource = dataset.SourceName ?? s.DataPath;
        var optimizer = new Adam<float>(model.ParameterBlocks, s.LearningRate);
        var rows = new List<EpochRow>();

        if (!s.Json)
        {
            AnsiConsole.MarkupLineInterpolated($"[bold]Data[/]   {dataSource}: {dataset.Train.Count} train, {dataset.Valid.Count} valid, {dataset.Test.Count} test sequences");
            AnsiConsole.MarkupLineInterpolated($"[bold]Model[/]  {model.Recurrent.Options} → {model.Head}, {model.ParameterCount:N0} parameters");
            AnsiConsole.MarkupLineInterpolated($"[bold]Train[/]  Adam lr {s.LearningRate.ToString(CultureInfo.InvariantCulture)}, batch {s.BatchSize}, gradient norm clipped at {MaxGradientNorm.ToString(CultureInfo.InvariantCulture)}, {s.Epochs} epochs, seed {s.Seed}");
        }

        void RunEpoch(int epoch, Action<MusicProgress>? report)
        {
            var watch = Stopwatch.StartNew();
            var progress = report is null ? null : new CommonOptions.SyncProgress<MusicProgress>(report);
            var train = model.TrainEpoch(dataset.Train, optimizer, epoch, new MusicModel.TrainingStep(s.BatchSize, MaxGradientNorm), progress, cancellationToken);
            var valid = model.Evaluate(dataset.Valid, EvaluationBatchSize, progress, cancellationToken);
            rows.Add(new EpochRow(epoch, train, valid, watch.Elapsed.TotalSeconds));
        }

        if (s.Json)
        {
            for (int epoch = 1; epoch <= s.Epochs; epoch++) RunEpoch(epoch, null);
        }
        else if (AnsiConsole.Profile.Capabilities.Interactive)
        {
            AnsiConsole.Progress()
                .AutoClear(true)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(context =>
                {
                    for (int epoch = 1; epoch <= s.Epochs; epoch++)
                    {
                        var task = context.AddTask($"epoch {epoch}/{s.Epochs}", maxValue: 1);
                        RunEpoch(epoch, p =>
                        {
                            string phase = p.Phase == MusicPhase.Training ? "train" : "valid";
                            task.Description = $"epoch {epoch}/{s.Epochs} {phase} NLL/step {p.RunningNllPerStep:F3}";
                            task.Value = p.Phase == MusicPhase.Training ? 0.9 * p.SequencesDone / p.SequenceCount : 0.9 + 0.1 * p.SequencesDone / p.SequenceCount;
                        });
                        task.Value = 1;
                        var row = rows[^1];
                        context.Refresh();
                        AnsiConsole.MarkupLineInterpolated($"epoch {epoch}: train {row.Train.NllPerStep:F4}, valid {row.Valid.NllPerStep:F4} NLL/step ({row.Seconds:F1} s)");
                    }
                });
        }
        else
        {
            for (int epoch = 1; epoch <= s.Epochs; epoch++)
            {
                RunEpoch(epoch, null);
                var row = rows[^1];
                AnsiConsole.MarkupLineInterpolated($"epoch {epoch}: train {row.Train.NllPerStep:F4}, valid {row.Valid.NllPerStep:F4} NLL/step ({row.Seconds:F1} s)");
            }
        }

        var test = model.Evaluate(dataset.Test, EvaluationBatchSize, null, cancellationToken);
        var last = rows[^1];
        model.Save(s.OutPath, new Dictionary<string, string>
        {
            ["training.data"] = Path.GetFileName(dataSource),
            ["training.optimizer"] = $"adam lr={Invariant(s.LearningRate)} betas=(0.9, 0.999) eps=1e-08",
            ["training.max_gradient_norm"] = Invariant(MaxGradientNorm),
            ["training.batch_size"] = Invariant(s.BatchSize),
            ["training.epochs"] = Invariant(s.Epochs),
            ["training.train_nll_per_step"] = Invariant(last.Train.NllPerStep),
            ["training.valid_nll_per_step"] = Invariant(last.Valid.NllPerStep),
            ["training.test_nll_per_step"] = Invariant(test.NllPerStep),
        });
        double seconds = total.Elapsed.TotalSeconds;

        if (s.Json)
        {
            WriteJson(s, dataSource, model, rows, test, seconds);
            return ExitCodes.Success;
        }

        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("epoch")
            .AddColumn(new TableColumn("train NLL/step").RightAligned())
            .AddColumn(new TableColumn("valid NLL/step").RightAligned())
            .AddColumn(new TableColumn("seconds").RightAligned());
        foreach (var row in rows)
            table.AddRow(Invariant(row.Epoch), row.Train.NllPerStep.ToString("F4", CultureInfo.InvariantCulture),
                row.Valid.NllPerStep.ToString("F4", CultureInfo.InvariantCulture), row.Seconds.ToString("F1", CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("[grey]NLL in nats per predicted step (summed over the 88 keys). Train is the running mean during each epoch; valid and test are measured after it.[/]");
        AnsiConsole.MarkupLineInterpolated($"[bold]Test[/]   NLL/step {test.NllPerStep:F4} ({test.PredictedSteps} predicted steps)");
        AnsiConsole.MarkupLineInterpolated($"[bold]Saved[/]  {Path.GetFullPath(s.OutPath)} ({model.ParameterCount:N0} parameters) in {seconds:F1} s");
        return ExitCodes.Success;
    }

    private static void WriteJson(Settings s, string dataSource, MusicModel model, List<EpochRow> rows, NllSummary test, double seconds)
    {
        CommonOptions.WriteJson(w =>
        {
            w.WriteStartObject();
            w.WriteString("data", dataSource);
            w.WriteString("cell", s.Cell.ToString().ToLowerInvariant());
            w.WriteNumber("hidden_size", s.Hidden);
            w.WriteNumber("num_layers", s.Layers);
            w.WriteNumber("parameters", model.ParameterCount);
            w.WriteString("optimizer", "adam");
            w.WriteNumber("learning_rate", s.LearningRate);
            w.WriteNumber("batch_size", s.BatchSize);
            w.WriteNumber("max_gradient_norm", MaxGradientNorm);
            w.WriteNumber("seed", s.Seed);
            w.WriteStartArray("epochs");
            foreach (var row in rows)
            {
                w.WriteStartObject();
                w.WriteNumber("epoch", row.Epoch);
                WriteNumberOrNull(w, "train_nll_per_step", row.Train.NllPerStep);
                WriteNumberOrNull(w, "valid_nll_per_step", row.Valid.NllPerStep);
                w.WriteNumber("seconds", Math.Round(row.Seconds, 3));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            WriteNumberOrNull(w, "test_nll_per_step", test.NllPerStep);
            w.WriteNumber("train_predicted_steps", rows[0].Train.PredictedSteps);
            w.WriteNumber("valid_predicted_steps", rows[0].Valid.PredictedSteps);
            w.WriteNumber("test_predicted_steps", test.PredictedSteps);
            w.WriteString("model", Path.GetFullPath(s.OutPath));
            w.WriteNumber("seconds", Math.Round(seconds, 3));
            w.WriteEndObject();
        });
    }

    private static void WriteNumberOrNull(Utf8JsonWriter w, string name, double value) => CommonOptions.WriteNumberOrNull(w, name, value);

    private static string Invariant(IFormattable value) => value.ToString(null, CultureInfo.InvariantCulture);
}
