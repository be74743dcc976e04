using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Gated.Data;
using Gated.IO;
using Gated.IO.Safetensors;
using Gated.Layers;
using Gated.Models;
using Gated.Training;
using Spectre.Console;

namespace Gated.Cli.Commands;

/// <summary>
/// <c>gated train</c>: trains a next-step model of polyphonic music with early stopping, learning-rate
/// decay and a checkpoint after every epoch (<see cref="MusicTrainer"/>), then saves the best model.
/// This class only parses, prints and saves.
/// </summary>
internal static class TrainCommand
{
    private const string Name = "train";

    private sealed record Settings(
        string Data, RecurrentOptions Model, MusicOutput Output, TrainingOptions Training, string OutPath, string RunDirectory, bool Resume, bool Json);

    public static Command Create()
    {
        var data = CommonOptions.Data();
        var cell = CommonOptions.Cell();
        var hidden = CommonOptions.PositiveInt("--hidden", "Hidden units per layer.", 46, max: 4096);
        var layers = CommonOptions.PositiveInt("--layers", "Stacked recurrent layers.", 1, max: 32);
        var dropout = CommonOptions.DoubleInRange("--dropout", "Dropout between stacked layers, in [0, 1).", 0, v => v >= 0 && v < 1, "[0, 1)");
        var reset = CommonOptions.Choice("--reset", "GRU only: where the reset gate acts, after the recurrent product (PyTorch, cuDNN) or before it (Cho et al. 2014).", "after", "after", "before");
        var updateGate = CommonOptions.Choice("--update-gate", "GRU only: z close to 1 keeps the previous state (PyTorch, Cho et al.) or takes the candidate (Chung et al. 2014).",
            "keep-previous", "keep-previous", "take-candidate");
        var outputKind = CommonOptions.Choice("--output", "The distribution of the next step: 88 independent sigmoids, or a NADE over the 88 keys conditioned on the recurrent state (RNN-NADE, Boulanger-Lewandowski et al. 2012).",
            "sigmoid", "sigmoid", "nade");
        var nadeHidden = CommonOptions.PositiveInt("--nade-hidden", "Hidden units of the NADE (with --output nade).", 100, max: MusicOutput.MaxNadeHiddenSize);
        var optimizer = CommonOptions.Choice("--optimizer", "The optimiser.", "adam", "adam", "rmsprop", "sgd");
        var learningRate = CommonOptions.PositiveDouble("--lr", "The initial learning rate.", 0.003, max: 1e6, aliases: "--learning-rate");
        var momentum = CommonOptions.DoubleInRange("--momentum", "Momentum for SGD and RMSProp, in [0, 1) (Adam ignores it).", 0, v => v >= 0 && v < 1, "[0, 1)");
        var batchSize = CommonOptions.PositiveInt("--batch-size", "Sequences per mini-batch.", 4, max: 1_000_000);
        var epochs = CommonOptions.PositiveInt("--epochs", "The largest number of epochs (counted over resumed sessions).", 100, max: 1_000_000);
        var patience = CommonOptions.PositiveInt("--patience", "Stop after this many epochs without a better validation NLL.", 8, max: 1_000_000);
        var lrDecay = CommonOptions.DoubleInRange("--lr-decay", "Multiply the learning rate by this after --decay-patience epochs without improvement (1 for none), in (0, 1].",
            0.5, v => v > 0 && v <= 1, "(0, 1]");
        var decayPatience = CommonOptions.PositiveInt("--decay-patience", "Epochs without improvement before the learning rate decays.", 3, max: 1_000_000);
        var clip = CommonOptions.PositiveDouble("--clip", "Rescale the gradient to this global L2 norm when above it.", 1.0);
        var noClip = new Option<bool>("--no-clip") { Description = "Do not clip the gradient." };
        var weightNoise = CommonOptions.DoubleInRange("--weight-noise", "Standard deviation of Gaussian weight noise per batch (Chung et al. used 0.075); 0 for none.",
            0, v => v >= 0 && v <= 10, "[0, 10]");
        var truncate = CommonOptions.OptionalPositiveInt("--truncate", "Truncated BPTT: update every N steps, carrying the state (default: full BPTT).", max: 1_000_000);
        var maxSeconds = CommonOptions.OptionalPositiveDouble("--max-seconds", "Stop after the epoch during which this much time has passed (summed over resumed sessions).", "S");
        var seed = new Option<int>("--seed")
        {
            Description = "Seed of the weights, the order of sequences, dropout and weight noise; the same seed gives the same run.",
            DefaultValueFactory = _ => 1,
        };
        var onDivergence = CommonOptions.Choice("--on-divergence", "On a NaN or infinite loss: stop (exit 1), or roll the epoch back and halve the learning rate (at most three times in a row).",
            "stop", "stop", "rollback");
        var output = CommonOptions.OutputFile("--out", "Where to save the best model (safetensors).", required: true, aliases: "-o");
        var runDirectory = new Option<string>("--run-dir")
        {
            Description = "The folder for checkpoint.safetensors and best.safetensors. Default: <out without extension>.run next to --out.",
            HelpName = "DIR",
        };
        runDirectory.Validators.Add(result =>
        {
            if (CommonOptions.TryGetValue(result, out string? path) && path is not null)
            {
                if (string.IsNullOrWhiteSpace(path)) result.AddError("--run-dir must name a folder.");
                else if (File.Exists(path)) result.AddError($"--run-dir: '{path}' is a file; give a folder.");
            }
        });
        var resume = new Option<bool>("--resume") { Description = "Continue the run from the checkpoint in the run folder." };
        var json = CommonOptions.Json();

        var command = new Command(Name, "Train a GRU/LSTM/RNN next-step model of polyphonic music with early stopping and per-epoch checkpoints; save the best model.")
        {
            data, cell, hidden, layers, dropout, reset, updateGate, outputKind, nadeHidden, optimizer, learningRate, momentum, batchSize, epochs, patience,
            lrDecay, decayPatience, clip, noClip, weightNoise, truncate, maxSeconds, seed, onDivergence, output, runDirectory, resume, json,
        };
        command.Validators.Add(result =>
        {
            if (CommonOptions.IsGiven(result, clip) && result.GetValue(noClip))
                result.AddError("--clip and --no-clip cannot be used together.");
            if (CommonOptions.IsGiven(result, nadeHidden) && result.GetValue(outputKind)?.ToLowerInvariant() != "nade")
                result.AddError("--nade-hidden applies only to --output nade.");
            if (CommonOptions.ParseCell(result.GetValue(cell)) is CellKind kind && kind != CellKind.Gru)
            {
                foreach (var gruOnly in new[] { reset, updateGate })
                    if (CommonOptions.IsGiven(result, gruOnly))
                        result.AddError($"{gruOnly.Name} applies only to --cell gru, not {kind.ToString().ToLowerInvariant()}.");
            }
        });
        command.SetAction((parseResult, cancellationToken) =>
        {
            var cellKind = CommonOptions.ParseCell(parseResult.GetValue(cell)) ?? CellKind.Gru;
            var model = new RecurrentOptions
            {
                Cell = cellKind,
                InputSize = MusicModel.Keys,
                HiddenSize = parseResult.GetValue(hidden),
                NumLayers = parseResult.GetValue(layers),
                Dropout = parseResult.GetValue(dropout),
                Gru = new GruOptions
                {
                    Reset = parseResult.GetValue(reset) == "before" ? ResetGatePosition.BeforeProduct : ResetGatePosition.AfterProduct,
                    UpdateGate = parseResult.GetValue(updateGate) == "take-candidate" ? UpdateGateConvention.TakeCandidate : UpdateGateConvention.KeepPrevious,
                },
            };
            var training = new TrainingOptions
            {
                Optimizer = parseResult.GetValue(optimizer)?.ToLowerInvariant() switch
                {
                    "sgd" => OptimizerKind.Sgd,
                    "rmsprop" => OptimizerKind.RmsProp,
                    _ => OptimizerKind.Adam,
                },
                LearningRate = parseResult.GetValue(learningRate),
                Momentum = parseResult.GetValue(momentum),
                BatchSize = parseResult.GetValue(batchSize),
                MaxGradientNorm = parseResult.GetValue(noClip) ? null : parseResult.GetValue(clip),
                WeightNoise = parseResult.GetValue(weightNoise),
                TruncateSteps = parseResult.GetValue(truncate),
                MaxEpochs = parseResult.GetValue(epochs),
                Patience = parseResult.GetValue(patience),
                LearningRateDecay = parseResult.GetValue(lrDecay),
                DecayPatience = parseResult.GetValue(decayPatience),
                MaxSeconds = parseResult.GetValue(maxSeconds),
                OnDivergence = parseResult.GetValue(onDivergence) == "rollback" ? DivergencePolicy.RollBackAndHalveLearningRate : DivergencePolicy.Stop,
                Seed = parseResult.GetValue(seed),
            };
            string outPath = parseResult.GetValue(output)!;
            string runDir = parseResult.GetValue(runDirectory) ?? DefaultRunDirectory(outPath);
            var distribution = parseResult.GetValue(outputKind)?.ToLowerInvariant() == "nade"
                ? MusicOutput.Nade(parseResult.GetValue(nadeHidden))
                : MusicOutput.Sigmoid;
            var settings = new Settings(parseResult.GetValue(data) ?? CommonOptions.DefaultDataSet, model, distribution, training, outPath, runDir,
                parseResult.GetValue(resume), parseResult.GetValue(json));
            return Task.FromResult(Run(settings, cancellationToken));
        });
        return command;
    }

    /// <summary><c>&lt;out without extension&gt;.run</c> next to the output file.</summary>
    private static string DefaultRunDirectory(string outPath)
    {
        string full = Path.GetFullPath(outPath);
        return Path.Combine(Path.GetDirectoryName(full)!, Path.GetFileNameWithoutExtension(full) + ".run");
    }

    private static int Run(Settings s, CancellationToken cancellationToken)
    {
        string checkpointPath = Path.Combine(s.RunDirectory, MusicTrainer.CheckpointFileName);
        int? checkpointEpoch = null;
        return CommonOptions.Guard(Name, () => Train(s, checkpointPath, epoch => checkpointEpoch = epoch, cancellationToken), ex => ex switch
        {
            TrainingDivergedException diverged => $"{diverged.Message} {CheckpointNote(checkpointPath, checkpointEpoch)}",
            OperationCanceledException => $"cancelled. {CheckpointNote(checkpointPath, checkpointEpoch)}",
            // A full disk or a folder that cannot be written: say what is safe on disk and how to go on.
            IOException or UnauthorizedAccessException when ex is not FileNotFoundException and not DirectoryNotFoundException
                => $"{ex.Message} {CheckpointNote(checkpointPath, checkpointEpoch)}{BestNote(s.RunDirectory)}",
            _ => null,
        });
    }

    private static string CheckpointNote(string checkpointPath, int? epoch) => epoch is int e
        ? $"The last checkpoint, {checkpointPath} (after epoch {e}), is intact; run the same command with --resume to continue from it."
        : "No checkpoint has been written yet.";

    private static string BestNote(string runDirectory)
    {
        string best = Path.Combine(runDirectory, MusicTrainer.BestFileName);
        return File.Exists(best) ? $" The best model so far is {best}." : "";
    }

    private static int Train(Settings s, string checkpointPath, Action<int> checkpointWritten, CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        MusicTrainer trainer;
        int parameterCount;
        try
        {
            trainer = new MusicTrainer(s.Model, s.Training, s.Output);
            parameterCount = new MusicModel(s.Model, s.Training.Seed, s.Output).ParameterCount;
        }
        catch (ArgumentException ex)
        {
            return CommonOptions.Fail(Name, $"the options are refused: {ex.Message.Split(" (Parameter", 2)[0]} (see 'gated {Name} --help')", ExitCodes.Usage);
        }

        // A checkpoint left by an earlier run is only continued on request, never silently overwritten.
        int? resumedFrom = null;
        if (File.Exists(checkpointPath))
        {
            int? epoch = CheckpointEpoch(checkpointPath);
            if (!s.Resume)
            {
                return CommonOptions.Fail(Name,
                    $"the run folder {s.RunDirectory} already holds a checkpoint{(epoch is int e ? $" (after epoch {e})" : "")}; pass --resume to continue it, or choose another --run-dir (or delete that folder) to start afresh.",
                    ExitCodes.Usage);
            }
            if (epoch is int done) checkpointWritten(done);
            resumedFrom = epoch;
        }
        else if (s.Resume && !s.Json)
        {
            Console.Error.WriteLine($"gated {Name}: no checkpoint in {s.RunDirectory}; starting a new run.");
        }
        if (s.Model.Dropout > 0 && s.Model.NumLayers == 1)
            Console.Error.WriteLine($"gated {Name}: warning: --dropout acts between stacked layers; with --layers 1 it has no effect.");

        // The model is saved after hours of training: find out now if it cannot be (the trainer checks the run folder itself).
        AtomicFile.CheckWritable(s.OutPath);
        var dataset = CommonOptions.LoadData(s.Data, cancellationToken);
        string dataSource = dataset.SourceName ?? s.Data;
        var t = s.Training;
        if (!s.Json)
        {
            CommonOptions.Line($"[bold]Data[/]    {dataSource}: {dataset.Train.Count} train, {dataset.Valid.Count} valid, {dataset.Test.Count} test sequences");
            string head = s.Output.Kind == MusicOutputKind.Nade
                ? $"NADE(88 keys, hidden {s.Output.NadeHiddenSize}) with biases from the state"
                : $"Linear({s.Model.OutputSize}, {MusicModel.Keys})";
            CommonOptions.Line($"[bold]Model[/]   {s.Model} → {head}, {parameterCount:N0} parameters");
            CommonOptions.Line($"[bold]Train[/]   {DescribeOptimizer(t)}, batch {t.BatchSize}, {DescribeClip(t)}{DescribeExtras(t)}, up to {t.MaxEpochs} epochs (patience {t.Patience}, lr ×{t.LearningRateDecay} after {t.DecayPatience} flat), seed {t.Seed}");
            CommonOptions.Line($"[bold]Run[/]     {s.RunDirectory}");
        }

        var epochWatch = Stopwatch.StartNew();
        void OnEpoch(EpochRecord record)
        {
            checkpointWritten(record.Epoch);
            if (!s.Json) PrintEpoch(record, epochWatch.Elapsed.TotalSeconds, t.MaxEpochs);
            epochWatch.Restart();
        }
        void OnMessage(string message)
        {
            if (s.Json) Console.Error.WriteLine($"gated {Name}: {message}");
            else CommonOptions.Line($"[yellow]{message}[/]");
        }

        TrainingResult result;
        if (!s.Json && CommonOptions.IsTerminal)
        {
            TrainingResult? finished = null;
            AnsiConsole.Progress()
                .AutoClear(true)
                .HideCompleted(true)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(context =>
                {
                    ProgressTask? task = null;
                    int taskEpoch = 0;
                    var progress = new CommonOptions.SyncProgress<TrainingProgress>(p =>
                    {
                        if (p.Batch is MusicProgress b)
                        {
                            if (task is null || taskEpoch != p.Epoch)
                            {
                                task?.StopTask();
                                task = context.AddTask($"epoch {p.Epoch}", maxValue: b.BatchCount);
                                taskEpoch = p.Epoch;
                            }
                            task.Value = b.Batch;
                            task.Description = b.Batch == b.BatchCount
                                ? $"epoch {p.Epoch}/{t.MaxEpochs}  validating…"
                                : string.Create(CultureInfo.InvariantCulture, $"epoch {p.Epoch}/{t.MaxEpochs}  batch {b.Batch}/{b.BatchCount}  NLL {b.BatchNllPerStep:F3}");
                        }
                        else if (p.Completed is EpochRecord record)
                        {
                            if (task is not null) { task.Value = task.MaxValue; task.StopTask(); task = null; }
                            OnEpoch(record);
                        }
                        if (p.Message is string message) OnMessage(message);
                    });
                    finished = trainer.Run(dataset, s.RunDirectory, s.Resume, progress, cancellationToken);
                });
            result = finished!;
        }
        else
        {
            var progress = new CommonOptions.SyncProgress<TrainingProgress>(p =>
            {
                if (p.Completed is EpochRecord record) OnEpoch(record);
                if (p.Message is string message) OnMessage(message);
            });
            result = trainer.Run(dataset, s.RunDirectory, s.Resume, progress, cancellationToken);
        }

        result.Best.Save(s.OutPath, Metadata(s, dataSource, result));
        double seconds = total.Elapsed.TotalSeconds;
        string outFull = Path.GetFullPath(s.OutPath);

        if (s.Json)
        {
            WriteJson(s, dataSource, parameterCount, result, resumedFrom, outFull, seconds);
            return ExitCodes.Success;
        }
        if (result.BestEpoch > 0)
            CommonOptions.Line($"[bold]Best[/]    epoch {result.BestEpoch}: valid NLL/step {CommonOptions.Fixed(result.BestValidNll, 4)} nats");
        else
            CommonOptions.Line($"[bold]Best[/]    [yellow]no epoch gave a finite validation NLL; the initial weights were saved[/]");
        CommonOptions.Line($"[bold]Stopped[/] {DescribeStop(result, t)}");
        CommonOptions.Line($"[bold]Saved[/]   {outFull} ({parameterCount:N0} parameters) in {seconds:F1} s");
        return ExitCodes.Success;
    }

    private static void PrintEpoch(EpochRecord r, double seconds, int maxEpochs)
    {
        int width = maxEpochs.ToString(CultureInfo.InvariantCulture).Length;
        string epoch = r.Epoch.ToString(CultureInfo.InvariantCulture).PadLeft(width);
        var best = new CommonOptions.RawMarkup(r.IsBest ? " [green]*[/]" : "");
        CommonOptions.Line($"epoch {epoch}  train {CommonOptions.Fixed(r.TrainNll, 4),8}  valid {CommonOptions.Fixed(r.ValidNll, 4),8}  lr {r.LearningRate:G3}  {seconds,6:F1} s{best}");
    }

    /// <summary>The epoch of a checkpoint file, or null when its metadata cannot be read.</summary>
    private static int? CheckpointEpoch(string path)
    {
        try
        {
            var file = SafetensorsFile.Read(path);
            return file.Metadata.TryGetValue("checkpoint.epoch", out var text) && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int epoch) ? epoch : null;
        }
        catch (Exception ex) when (ex is GatedFormatException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string OptimizerName(OptimizerKind kind) => kind switch
    {
        OptimizerKind.Sgd => "sgd",
        OptimizerKind.RmsProp => "rmsprop",
        _ => "adam",
    };

    private static string DescribeOptimizer(TrainingOptions t) =>
        t.Optimizer == OptimizerKind.Adam || t.Momentum == 0
            ? $"{OptimizerName(t.Optimizer)} lr {CommonOptions.Invariant(t.LearningRate)}"
            : $"{OptimizerName(t.Optimizer)} lr {CommonOptions.Invariant(t.LearningRate)} momentum {CommonOptions.Invariant(t.Momentum)}";

    private static string DescribeClip(TrainingOptions t) =>
        t.MaxGradientNorm is double g ? $"gradient norm clipped at {CommonOptions.Invariant(g)}" : "no clipping";

    private static string DescribeExtras(TrainingOptions t) =>
        (t.WeightNoise > 0 ? $", weight noise {CommonOptions.Invariant(t.WeightNoise)}" : "")
        + (t.TruncateSteps is int k ? $", truncated BPTT every {k} steps" : "")
        + (t.MaxSeconds is double m ? $", at most {CommonOptions.Invariant(m)} s" : "");

    private static string StopCode(StopReason reason) => reason switch
    {
        StopReason.EarlyStopping => "early_stopping",
        StopReason.TimeLimit => "time_limit",
        _ => "max_epochs",
    };

    private static string DescribeStop(TrainingResult result, TrainingOptions t) => result.Stop switch
    {
        StopReason.EarlyStopping => $"early stopping: no better validation NLL in {t.Patience} epochs (after epoch {result.History.Count})",
        StopReason.TimeLimit => $"time limit of {CommonOptions.Invariant(t.MaxSeconds ?? 0)} s reached (after epoch {result.History.Count})",
        _ => $"reached --epochs {t.MaxEpochs}",
    };

    private static List<KeyValuePair<string, string>> Metadata(Settings s, string dataSource, TrainingResult result)
    {
        var t = s.Training;
        string R(double value) => value.ToString("R", CultureInfo.InvariantCulture);
        string I(int value) => value.ToString(CultureInfo.InvariantCulture);
        return
        [
            new("training.data", Path.GetFileName(dataSource)),
            new("training.optimizer", OptimizerName(t.Optimizer)),
            new("training.learning_rate", R(t.LearningRate)),
            new("training.momentum", R(t.Momentum)),
            new("training.batch_size", I(t.BatchSize)),
            new("training.max_gradient_norm", t.MaxGradientNorm is double g ? R(g) : "none"),
            new("training.weight_noise", R(t.WeightNoise)),
            new("training.truncate_steps", t.TruncateSteps is int k ? I(k) : "none"),
            new("training.max_epochs", I(t.MaxEpochs)),
            new("training.patience", I(t.Patience)),
            new("training.lr_decay", R(t.LearningRateDecay)),
            new("training.decay_patience", I(t.DecayPatience)),
            new("training.seed", I(t.Seed)),
            new("training.epochs", I(result.History.Count)),
            new("training.best_epoch", I(result.BestEpoch)),
            new("training.best_valid_nll_per_step", R(result.BestValidNll)),
            new("training.stop_reason", StopCode(result.Stop)),
            new("training.history", JsonSerializer.Serialize(result.History.Select(h => new
            {
                epoch = h.Epoch,
                train_nll_per_step = double.IsFinite(h.TrainNll) ? h.TrainNll : (double?)null,
                valid_nll_per_step = double.IsFinite(h.ValidNll) ? h.ValidNll : (double?)null,
                learning_rate = h.LearningRate,
                elapsed_seconds = Math.Round(h.Seconds, 3),
                best = h.IsBest,
            }))),
        ];
    }

    private static void WriteJson(Settings s, string dataSource, int parameterCount, TrainingResult result, int? resumedFrom, string outFull, double seconds)
    {
        var m = s.Model;
        var t = s.Training;
        CommonOptions.WriteJson(w =>
        {
            w.WriteStartObject();
            w.WriteString("data", dataSource);
            w.WriteString("cell", m.Cell.ToString().ToLowerInvariant());
            w.WriteNumber("hidden_size", m.HiddenSize);
            w.WriteNumber("num_layers", m.NumLayers);
            w.WriteNumber("dropout", m.Dropout);
            if (m.Cell == CellKind.Gru)
            {
                w.WriteString("reset", m.Gru.Reset == ResetGatePosition.BeforeProduct ? "before" : "after");
                w.WriteString("update_gate", m.Gru.UpdateGate == UpdateGateConvention.TakeCandidate ? "take-candidate" : "keep-previous");
            }
            w.WriteString("output", s.Output.Name);
            if (s.Output.Kind == MusicOutputKind.Nade) w.WriteNumber("nade_hidden", s.Output.NadeHiddenSize);
            w.WriteNumber("parameters", parameterCount);
            w.WriteString("optimizer", OptimizerName(t.Optimizer));
            w.WriteNumber("learning_rate", t.LearningRate);
            w.WriteNumber("momentum", t.Momentum);
            w.WriteNumber("batch_size", t.BatchSize);
            CommonOptions.WriteNumberOrNull(w, "max_gradient_norm", t.MaxGradientNorm);
            w.WriteNumber("weight_noise", t.WeightNoise);
            if (t.TruncateSteps is int k) w.WriteNumber("truncate_steps", k); else w.WriteNull("truncate_steps");
            w.WriteNumber("max_epochs", t.MaxEpochs);
            w.WriteNumber("patience", t.Patience);
            w.WriteNumber("lr_decay", t.LearningRateDecay);
            w.WriteNumber("decay_patience", t.DecayPatience);
            CommonOptions.WriteNumberOrNull(w, "max_seconds", t.MaxSeconds);
            w.WriteString("on_divergence", t.OnDivergence == DivergencePolicy.Stop ? "stop" : "rollback");
            w.WriteNumber("seed", t.Seed);
            w.WriteStartArray("epochs");
            foreach (var h in result.History)
            {
                w.WriteStartObject();
                w.WriteNumber("epoch", h.Epoch);
                CommonOptions.WriteNumberOrNull(w, "train_nll_per_step", h.TrainNll);
                CommonOptions.WriteNumberOrNull(w, "valid_nll_per_step", h.ValidNll);
                w.WriteNumber("learning_rate", h.LearningRate);
                w.WriteNumber("elapsed_seconds", Math.Round(h.Seconds, 3));
                w.WriteBoolean("best", h.IsBest);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("best_epoch", result.BestEpoch);
            CommonOptions.WriteNumberOrNull(w, "best_valid_nll_per_step", result.BestValidNll);
            w.WriteString("stop_reason", StopCode(result.Stop));
            w.WriteString("model", outFull);
            w.WriteString("run_dir", Path.GetFullPath(s.RunDirectory));
            if (resumedFrom is int from) w.WriteNumber("resumed_after_epoch", from); else w.WriteNull("resumed_after_epoch");
            w.WriteNumber("seconds", Math.Round(seconds, 3));
            w.WriteEndObject();
        });
    }
}
