using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Gated.Data;
using Gated.Experiments;
using Gated.Training;
using Spectre.Console;

namespace Gated.Cli.Commands;

/// <summary>
/// <c>gated reproduce gates</c>: the gate ablation of issue #7 — full GRU, GRU without reset or update
/// gate, both update conventions, reset before/after the product, LSTM and tanh RNN at an equal parameter
/// budget. The work is <see cref="GateAblation.Run"/>; this class parses and prints.
/// </summary>
internal static class ReproduceGatesCommand
{
    private const string Name = "reproduce gates";

    public static Command Create()
    {
        string variantNames = string.Join(", ", GateAblation.Variants.Select(v => v.Name));
        var dataSets = new Option<string[]>("--datasets") { Description = "Data sets: jsb, nottingham, musedata, piano-midi (default jsb nottingham).", AllowMultipleArgumentsPerToken = true };
        dataSets.Validators.Add(r =>
        {
            foreach (var t in r.Tokens) if (PolyphonicDataSets.Find(t.Value) is null) r.AddError($"--datasets: unknown data set '{t.Value}'; known: {CommonOptions.DataSetNames}.");
        });
        var variants = new Option<string[]>("--variants") { Description = $"Variants (default all): {variantNames}.", AllowMultipleArgumentsPerToken = true };
        variants.Validators.Add(r =>
        {
            foreach (var t in r.Tokens) if (GateAblation.Find(t.Value) is null) r.AddError($"--variants: unknown variant '{t.Value}'; known: {variantNames}.");
        });
        var seeds = CommonOptions.OptionalPositiveInt("--seeds", "Runs per data set and variant, seeds --seed, --seed + 1, …; the tables give mean ± standard deviation and [min – max] (default 3, quick 1).", max: 1000);
        var seed = new Option<int>("--seed") { Description = "The seed of the first run of each data set and variant.", DefaultValueFactory = _ => 1 };
        var quick = new Option<bool>("--quick") { Description = "A couple of minutes in all: one seed, 15 epochs on JSB and 3 on Nottingham; writes gates-quick.*." };
        var epochs = CommonOptions.OptionalPositiveInt("--epochs-per-run", "The epoch budget of every run (default per data set: jsb 150, nottingham 25; quick 15 and 3).", max: 1_000_000);
        var budget = CommonOptions.PositiveInt("--budget", "The parameter budget each variant's hidden size is chosen for.", GateAblation.DefaultParameterBudget, max: 10_000_000);
        var learningRate = CommonOptions.PositiveDouble("--lr", "The initial learning rate of every run.", 0.003, max: 10);
        var jobs = CommonOptions.PositiveInt("--jobs", "Training runs at the same time, one per core (results do not depend on it).", Math.Min(2, Environment.ProcessorCount), max: 256);
        var output = new Option<string>("--out", "-o") { Description = "Results folder.", DefaultValueFactory = _ => "results", HelpName = "DIR" };
        var resume = new Option<bool>("--resume") { Description = "Continue runs from their checkpoints in DIR/runs." };
        var json = new Option<bool>("--json") { Description = "Print the summary rows as one JSON document on stdout (progress goes to stderr)." };

        var command = new Command("gates",
            "Gate ablation: full GRU, GRU without reset gate, without update gate, TakeCandidate, reset before the product, LSTM and tanh RNN at an equal parameter budget on JSB and Nottingham; writes gates.md, gates.json and learning curves.")
        {
            dataSets, variants, seeds, seed, quick, epochs, budget, learningRate, jobs, output, resume, json,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            string[]? dataSetNames = parse.GetValue(dataSets);
            string[]? variantList = parse.GetValue(variants);
            var options = new GateAblationOptions
            {
                DataSets = dataSetNames is { Length: > 0 } ? [.. dataSetNames.Select(n => PolyphonicDataSets.Find(n)!.Name)] : new GateAblationOptions().DataSets,
                Variants = variantList is { Length: > 0 } ? [.. variantList.Select(n => GateAblation.Find(n)!.Name)] : new GateAblationOptions().Variants,
                Seeds = parse.GetValue(seeds),
                FirstSeed = parse.GetValue(seed),
                Quick = parse.GetValue(quick),
                EpochsPerRun = parse.GetValue(epochs),
                ParameterBudget = parse.GetValue(budget),
                LearningRate = parse.GetValue(learningRate),
                Jobs = parse.GetValue(jobs),
                OutputDirectory = parse.GetValue(output)!,
                Resume = parse.GetValue(resume),
                CommandLine = "gated " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)),
            };
            return Task.FromResult(Run(options, parse.GetValue(json), cancellationToken));
        });
        return command;
    }

    private static int Run(GateAblationOptions options, bool json, CancellationToken cancellationToken)
    {
        // Progress goes to stderr under --json; colour and markup only on a terminal.
        var (console, redirected) = CommonOptions.ProgressConsole(json);
        // Redirected output goes to a file or a pipe: one line per record, not wrapped at 80 columns.
        if (redirected) console.Profile.Width = 1000;
        var inv = CultureInfo.InvariantCulture;
        return CommonOptions.Guard(Name, () =>
        {
            // The models first: the hidden size each variant gets for the budget, and its parameter count.
            var chosen = options.Variants.Select(n => GateAblation.Find(n)).OfType<GateVariant>().Distinct().ToList();
            try
            {
                foreach (var v in chosen) v.HiddenSizeFor(options.ParameterBudget);
            }
            catch (ArgumentOutOfRangeException ex)
            {
                return CommonOptions.Fail(Name, $"--budget {options.ParameterBudget}: {ex.Message.Split(" (Parameter", 2)[0]}", ExitCodes.Usage);
            }
            var models = new Table().AddColumns("variant", "H", "parameters", "stored");
            foreach (var v in chosen)
            {
                int h = v.HiddenSizeFor(options.ParameterBudget);
                models.AddRow(Markup.Escape(v.Label), h.ToString(inv), v.Parameters(h).ToString("N0", inv), v.StoredParameters(h).ToString("N0", inv));
            }
            console.Write(models);
            console.WriteLine(string.Create(inv, $"{options.SeedCount} seed(s) from {options.FirstSeed}, epoch budget {string.Join(", ", options.DataSets.Select(d => $"{d} {options.EpochsPerRun ?? GateAblation.DefaultEpochs(d, options.Quick)}"))}, {options.Jobs} run(s) at a time."));

            var progress = new CommonOptions.SyncProgress<GateAblationProgress>(p =>
            {
                string run = string.Create(inv, $"{p.DataSet} {p.Variant.Name} seed {p.Seed}");
                if (p.Finished is { } r)
                    console.WriteLine(string.Create(inv, $"[{p.Done}/{p.Total}] {run}: test {r.TestNll:F3}  valid {r.ValidNll:F3}  best epoch {r.BestEpoch}/{r.Epochs} ({r.Stop})  {r.Seconds:F0} s"));
                else if (p.Training?.Completed is { } e && (e.Epoch % 10 == 0 || e.Epoch == 1))
                    console.WriteLine(string.Create(inv, $"  {run} epoch {e.Epoch,3}: train {e.TrainNll:F3}  valid {e.ValidNll:F3}  {e.Seconds,6:F0} s {(e.IsBest ? "*" : "")}"));
                else if (p.Training?.Message is { } m)
                    console.WriteLine($"  {run}: {m}");
            });
            var result = GateAblation.Run(options, progress, cancellationToken);
            if (json)
            {
                static double? N(double v) => double.IsFinite(v) ? v : null;
                Console.Out.WriteLine(JsonSerializer.Serialize(result.Summaries.Select(s => new
                {
                    data_set = s.DataSet, variant = s.Variant.Name, hidden_size = s.HiddenSize, parameters = s.Parameters, seeds = s.Test.Count,
                    test_nll = N(s.Test.Mean), test_nll_sd = N(s.Test.StandardDeviation), test_nll_min = N(s.Test.Min), test_nll_max = N(s.Test.Max),
                    valid_nll = N(s.Valid.Mean), valid_nll_sd = N(s.Valid.StandardDeviation), epochs = s.Epochs.Mean, stopped_at_epoch_limit = s.StoppedAtLimit, seconds = s.Seconds,
                })));
            }
            else
            {
                var table = new Table().AddColumns("data set", "variant", "H", "params", "test NLL", "valid NLL", "epochs", "seconds");
                foreach (var s in result.Summaries)
                {
                    string test = s.Test.Count > 1 ? $"{s.Test.Mean.ToString("F3", inv)} ± {s.Test.StandardDeviation.ToString("F3", inv)}" : s.Test.Mean.ToString("F3", inv);
                    string valid = s.Valid.Count > 1 ? $"{s.Valid.Mean.ToString("F3", inv)} ± {s.Valid.StandardDeviation.ToString("F3", inv)}" : s.Valid.Mean.ToString("F3", inv);
                    table.AddRow(s.DataSet, Markup.Escape(s.Variant.Label), s.HiddenSize.ToString(inv), s.Parameters.ToString("N0", inv), test, valid,
                        s.Epochs.Mean.ToString("0.#", inv), s.Seconds.ToString("F0", inv));
                }
                console.Write(table);
                foreach (string f in result.Findings) console.WriteLine(f.Replace("**", "", StringComparison.Ordinal));
                console.WriteLine(string.Create(inv, $"Wrote {Path.Combine(options.OutputDirectory, options.Stem + ".md")}, {options.Stem}.json and learning curves in {result.WallSeconds / 60:F1} minutes."));
            }
            return ExitCodes.Success;
        }, ex => ex switch
        {
            OperationCanceledException => "cancelled; finished epochs keep their checkpoints (continue with --resume).",
            TrainingDivergedException => ex.Message,
            _ => null,
        });
    }
}
