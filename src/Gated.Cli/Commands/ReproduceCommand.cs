using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Gated.Data;
using Gated.Experiments;
using Gated.Layers;
using Gated.Training;
using Spectre.Console;

namespace Gated.Cli.Commands;

/// <summary>
/// <c>gated reproduce chung2014</c>: the project's main job (and the parent <c>reproduce</c> command). Trains the tanh RNN, GRU and LSTM of Chung
/// et al. 2014 on the four polyphonic-music data sets and writes results/chung2014.md, .json and
/// learning curves. The work is <see cref="Reproduction.Run"/>; this class parses and prints.
/// </summary>
internal static class ReproduceCommand
{
    /// <summary><c>gated reproduce</c> with one subcommand per experiment: <c>chung2014</c> and <c>gates</c>.</summary>
    public static Command Create() => new("reproduce", "Reproduce an experiment and write its results (markdown, JSON, SVG curves): chung2014 = Chung et al. 2014, Table 2; gates = the gate ablation.")
    {
        CreateChung2014(),
        ReproduceGatesCommand.Create(),
    };

    private static Command CreateChung2014()
    {
        var dataSets = new Option<string[]>("--datasets") { Description = "Data sets: jsb, nottingham, musedata, piano-midi (default all).", AllowMultipleArgumentsPerToken = true };
        dataSets.Validators.Add(r =>
        {
            foreach (var t in r.Tokens) if (PolyphonicDataSets.Find(t.Value) is null) r.AddError($"--datasets: unknown data set '{t.Value}'; known: jsb, nottingham, musedata, piano-midi.");
        });
        var cells = new Option<string[]>("--cells") { Description = "Cells: tanh (or rnn), gru, lstm (default all).", AllowMultipleArgumentsPerToken = true };
        cells.Validators.Add(r =>
        {
            foreach (var t in r.Tokens) if (ParseCell(t.Value) is null) r.AddError($"--cells: unknown cell '{t.Value}'; known: tanh, gru, lstm.");
        });
        var trials = new Option<int>("--trials") { Description = "Learning rates tried per data set and cell; the best on validation is kept.", DefaultValueFactory = _ => 1 };
        trials.Validators.Add(r => { if (CommonOptions.TryGetValue(r, out int t) && t is < 1 or > 1000) r.AddError($"--trials must be in 1..1000, got {t}."); });
        var quick = new Option<bool>("--quick") { Description = "A few minutes in all (JSB and the GRU unless --datasets/--cells say otherwise); writes chung2014-quick.*." };
        var paper = new Option<bool>("--paper-protocol") { Description = "The paper's protocol: RMSProp, weight noise 0.075, learning rates drawn from [e^-12, e^-6]." };
        var seconds = new Option<double?>("--seconds-per-run") { Description = "Wall-clock limit of each training run, a safety net behind the epoch budgets (default 1800, quick 120)." };
        seconds.Validators.Add(r => { if (CommonOptions.TryGetValue(r, out double? v) && v is double s && !(s > 0 && double.IsFinite(s))) r.AddError($"--seconds-per-run must be a positive number, got {CommonOptions.Invariant(s)}."); });
        var epochs = new Option<int?>("--epochs-per-run") { Description = "Epoch budget of each training run (default per data set: jsb 200, nottingham 150, musedata 120, piano-midi 150; quick 40)." };
        epochs.Validators.Add(r => { if (CommonOptions.TryGetValue(r, out int? v) && v is int e && e < 1) r.AddError($"--epochs-per-run must be a positive integer, got {e}."); });
        var truncate = new Option<int?>("--truncate") { Description = "Truncated BPTT window in steps for every data set, the state carried across windows; 0 for full BPTT (default: 100 on musedata and piano-midi, full BPTT on jsb and nottingham).", HelpName = "N" };
        truncate.Validators.Add(r => { if (CommonOptions.TryGetValue(r, out int? v) && v is int t && t < 0) r.AddError($"--truncate must be 0 (full BPTT) or a positive number of steps, got {t}."); });
        var batchSize = new Option<int?>("--batch-size") { Description = "Sequences per mini-batch for every data set (default: 1 on jsb and nottingham, 4 on musedata and piano-midi).", HelpName = "N" };
        batchSize.Validators.Add(r => { if (CommonOptions.TryGetValue(r, out int? v) && v is int b && b is < 1 or > 1_000_000) r.AddError($"--batch-size must be in 1..1000000, got {b}."); });
        var weightNoise = new Option<double?>("--weight-noise") { Description = "Standard deviation of the Gaussian weight noise of every run; 0 for none (default 0.05; the paper used 0.075).", HelpName = "SIGMA" };
        weightNoise.Validators.Add(r => { if (CommonOptions.TryGetValue(r, out double? v) && v is double w && !(w >= 0 && w <= 10)) r.AddError($"--weight-noise must be in [0, 10], got {CommonOptions.Invariant(w)}."); });
        var jobs = new Option<int>("--jobs") { Description = "Training runs at a time, each on one thread (default: 2, or 1 on a 1-core machine).", DefaultValueFactory = _ => Math.Min(2, Environment.ProcessorCount) };
        jobs.Validators.Add(r => { if (CommonOptions.TryGetValue(r, out int j) && j is < 1 or > 64) r.AddError($"--jobs must be in 1..64, got {j}."); });
        var seed = new Option<int>("--seed") { Description = "Seed of every run.", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--out", "-o") { Description = "Results folder.", DefaultValueFactory = _ => "results", HelpName = "DIR" };
        var resume = new Option<bool>("--resume") { Description = "Continue runs from their checkpoints in DIR/runs." };
        var json = new Option<bool>("--json") { Description = "Print the result rows as one JSON document on stdout." };

        var command = new Command("chung2014", "Chung et al. 2014, Table 2: tanh RNN, GRU and LSTM on four polyphonic-music data sets; writes chung2014.md, .json and learning curves.")
        {
            dataSets, cells, trials, quick, paper, seconds, epochs, truncate, batchSize, weightNoise, jobs, seed, output, resume, json,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            bool isQuick = parse.GetValue(quick);
            string[]? dataSetNames = parse.GetValue(dataSets);
            string[]? cellNames = parse.GetValue(cells);
            var options = new ReproductionOptions
            {
                DataSets = dataSetNames is { Length: > 0 } ? [.. dataSetNames.Select(n => PolyphonicDataSets.Find(n)!.Name)] : isQuick ? ["jsb"] : new ReproductionOptions().DataSets,
                Cells = cellNames is { Length: > 0 } ? [.. cellNames.Select(c => ParseCell(c)!.Value)] : isQuick ? [CellKind.Gru] : new ReproductionOptions().Cells,
                Trials = parse.GetValue(trials),
                Quick = isQuick,
                PaperProtocol = parse.GetValue(paper),
                SecondsPerRun = parse.GetValue(seconds),
                EpochsPerRun = parse.GetValue(epochs),
                TruncateSteps = parse.GetValue(truncate),
                BatchSize = parse.GetValue(batchSize),
                WeightNoise = parse.GetValue(weightNoise),
                Jobs = parse.GetValue(jobs),
                Seed = parse.GetValue(seed),
                OutputDirectory = parse.GetValue(output)!,
                Resume = parse.GetValue(resume),
                CommandLine = "gated " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)),
            };
            return Task.FromResult(Run(options, parse.GetValue(json), cancellationToken));
        });
        return command;
    }

    private static CellKind? ParseCell(string name) => name.ToLowerInvariant() switch
    {
        "gru" => CellKind.Gru,
        "lstm" => CellKind.Lstm,
        "tanh" or "rnn" => CellKind.Rnn,
        _ => null,
    };

    private static int Run(ReproductionOptions options, bool json, CancellationToken cancellationToken)
    {
        // Progress goes to stderr under --json; colour and markup only on a terminal.
        var (console, _) = CommonOptions.ProgressConsole(json);
        return CommonOptions.Guard("reproduce", () =>
        {
            var progress = new Inline<ReproductionProgress>(p =>
            {
                if (p.Finished is { } row)
                    console.MarkupLine(CultureInfo.InvariantCulture, $"[bold]{row.DataSet} {row.Cell}[/]: test NLL {row.TestNll:F3} (paper {row.PaperTest:F2}) {(row.MeetsPaper ? "[green]meets the paper[/]" : "[yellow]above the paper[/]")}, valid {row.ValidNll:F3}, {row.Parameters:N0} parameters, {row.Seconds:F0} s");
                else if (p.Training?.Completed is { } e)
                    console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {p.DataSet} {p.Cell} trial {p.Trial}/{p.Trials} lr {p.LearningRate:G3} epoch {e.Epoch,3}: train {e.TrainNll:F3}  valid {e.ValidNll:F3}  {e.Seconds,6:F0} s {(e.IsBest ? "*" : "")}"));
                else if (p.Training?.Message is { } m)
                    console.WriteLine($"  {p.DataSet} {p.Cell}: {m}");
            });
            var rows = Reproduction.Run(options, progress, cancellationToken);
            string stem = options.Quick ? "chung2014-quick" : "chung2014";
            if (json)
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(rows.Select(r => new
                {
                    data_set = r.DataSet, cell = r.Cell.ToString().ToLowerInvariant(), parameters = r.Parameters, train_nll = r.TrainNll, valid_nll = r.ValidNll,
                    test_nll = r.TestNll, paper_test_nll = r.PaperTest, meets_paper = r.MeetsPaper, best_epoch = r.BestEpoch, seconds = r.Seconds,
                })));
            }
            else
            {
                var table = new Table().AddColumns("data set", "cell", "params", "train", "valid", "test", "paper test", "");
                foreach (var r in rows)
                    table.AddRow(r.DataSet, r.Cell.ToString(), r.Parameters.ToString("N0", CultureInfo.InvariantCulture), r.TrainNll.ToString("F3", CultureInfo.InvariantCulture),
                        r.ValidNll.ToString("F3", CultureInfo.InvariantCulture), r.TestNll.ToString("F3", CultureInfo.InvariantCulture),
                        r.PaperTest.ToString("F2", CultureInfo.InvariantCulture), r.MeetsPaper ? "[green]✓[/]" : "[yellow]✗[/]");
                console.Write(table);
                console.WriteLine($"Wrote {Path.Combine(options.OutputDirectory, stem + ".md")}, {stem}.json and learning curves.");
            }
            return ExitCodes.Success;
        }, ex => ex switch
        {
            OperationCanceledException => "cancelled; finished runs keep their checkpoints (continue with --resume).",
            TrainingDivergedException => ex.Message,
            _ => null,
        });
    }

    private sealed class Inline<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
