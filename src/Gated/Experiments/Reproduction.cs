using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using Gated.Data;
using Gated.IO;
using Gated.Layers;
using Gated.Models;
using Gated.Plots;

namespace Gated.Experiments;

/// <summary>What <see cref="Reproduction.Run"/> trains and where it writes.</summary>
public sealed record ReproductionOptions
{
    /// <summary>Data set names (<c>jsb</c>, <c>nottingham</c>, <c>musedata</c>, <c>piano-midi</c>). Default all four.</summary>
    public IReadOnlyList<string> DataSets { get; init; } = ["jsb", "nottingham", "musedata", "piano-midi"];
    /// <summary>Cells to train. Default tanh RNN, GRU, LSTM.</summary>
    public IReadOnlyList<CellKind> Cells { get; init; } = [CellKind.Rnn, CellKind.Gru, CellKind.Lstm];
    /// <summary>Learning rates tried per data set and cell; the best on validation is kept. With 1, a fixed default is used. Default 1.</summary>
    public int Trials { get; init; } = 1;
    /// <summary>A few minutes in all (for CI): short budgets per run. Default false.</summary>
    public bool Quick { get; init; }
    /// <summary>Use the paper's protocol (RMSProp, weight noise 0.075, learning rates from [e⁻¹², e⁻⁶]) instead of Gated's default.</summary>
    public bool PaperProtocol { get; init; }
    /// <summary>
    /// Wall-clock seconds per training run at most, a safety net; null for the default (<see cref="Reproduction.DefaultSecondsPerRun"/>, or 120 when
    /// quick). On a quiet 2-core machine the epoch budgets end every run first, so the results do not
    /// depend on the machine's speed or load; a run stopped by this limit says so (TimeLimit).
    /// </summary>
    public double? SecondsPerRun { get; init; }
    /// <summary>Epochs per training run at most; null for each data set's default (<see cref="Reproduction.DefaultEpochs"/>).</summary>
    public int? EpochsPerRun { get; init; }
    /// <summary>
    /// Truncated BPTT window in steps for every data set, the state carried across windows; 0 for full
    /// BPTT everywhere; null (the default) for each data set's own (<see cref="Reproduction.DefaultTruncateSteps"/>).
    /// </summary>
    public int? TruncateSteps { get; init; }
    /// <summary>Sequences per mini-batch for every data set; null (the default) for each data set's own (<see cref="Reproduction.DefaultBatchSize"/>).</summary>
    public int? BatchSize { get; init; }
    /// <summary>Standard deviation of the weight noise of every run; null (the default) for <see cref="Reproduction.DefaultWeightNoise"/>, 0 for none.</summary>
    public double? WeightNoise { get; init; }
    /// <summary>Training runs at a time, each on one thread. Default min(2, processor count).</summary>
    public int Jobs { get; init; } = Math.Min(2, Environment.ProcessorCount);
    /// <summary>The seed of every run (and of the learning-rate draws).</summary>
    public int Seed { get; init; } = 1;
    /// <summary>Where results are written: chung2014.md, chung2014.json, curves; runs/ holds checkpoints.</summary>
    public string OutputDirectory { get; init; } = "results";
    /// <summary>Continue runs from their checkpoints in OutputDirectory/runs.</summary>
    public bool Resume { get; init; }
    /// <summary>Where data sets are found (see <see cref="PolyphonicDataSets"/>).</summary>
    public DataSetResolveOptions? Data { get; init; }
    /// <summary>The command line that started the run, recorded in the results.</summary>
    public string? CommandLine { get; init; }
}

/// <summary>One trained model of the reproduction, beside the paper's figures.</summary>
public sealed record ReproductionRow(
    string DataSet, CellKind Cell, int Units, int Parameters, int RecurrentParameters, double LearningRate, int Trials,
    int BestEpoch, int Epochs, string Stop, double TrainNll, double ValidNll, double TestNll,
    double PaperTrain, double PaperTest, double Seconds, IReadOnlyList<EpochRecord> History)
{
    /// <summary>True when the test NLL is at or below the paper's.</summary>
    public bool MeetsPaper => TestNll <= PaperTest;
}

/// <summary>Progress of a reproduction: which run, and its training progress.</summary>
public sealed record ReproductionProgress(string DataSet, CellKind Cell, int Trial, int Trials, double LearningRate, TrainingProgress? Training, ReproductionRow? Finished);

/// <summary>Runs the Chung et al. 2014 music experiment and writes its results.</summary>
public static class Reproduction
{
    /// <summary>
    /// The truncated-BPTT window of the default protocol for a data set: 100 steps on MuseData and
    /// Piano-midi.de, whose pieces run to thousands of steps; full BPTT (null) on JSB Chorales and Nottingham.
    /// </summary>
    /// <remarks>
    /// With full BPTT the GRU stayed on the ≈ 11 nats plateau of predicting note frequencies alone on
    /// MuseData (valid NLL 11.44 after 8 epochs) and Piano-midi.de (11.32 after 15); with windows of 100
    /// steps it reached 7.66 and 8.56. On Nottingham windows of 100 steps learn faster at first but end
    /// worse than full BPTT (docs/training.md).
    /// </remarks>
    public static int? DefaultTruncateSteps(string dataSet) => dataSet is "musedata" or "piano-midi" ? 100 : null;

    /// <summary>
    /// The default mini-batch size on a data set: 1 sequence on JSB Chorales and Nottingham (more
    /// updates per epoch; on Nottingham the GRU's best validation NLL went from 3.82 with batches of 4 to
    /// 3.65 with 1, both with weight noise 0.05), 4 on MuseData and Piano-midi.de, whose truncated
    /// windows already give many updates per epoch (batches of 1 cost 2× the time for no gain
    /// measured on MuseData). Measurements: docs/training.md.
    /// </summary>
    public static int DefaultBatchSize(string dataSet) => dataSet is "jsb" or "nottingham" ? 1 : 4;

    /// <summary>
    /// The default time limit of one training run, 1,800 s: a safety net only. On the project's 2-core
    /// machine the longest run (MuseData, LSTM) took 15 minutes while the machine was shared with other work,
    /// so every run ends by its epoch budget or early stopping and the NLLs do not depend on the machine's speed.
    /// </summary>
    public const double DefaultSecondsPerRun = 1800;

    /// <summary>
    /// The default weight noise, σ = 0.05: Gaussian noise on every weight for each forward/backward pass
    /// (the paper's regulariser; the paper used 0.075). With batches of 1 on Nottingham the GRU's best
    /// validation NLL was 3.78 without noise, 3.73 with 0.02, 3.65 with 0.05, 3.73 with 0.075 and 3.78
    /// with 0.1; on JSB Chorales 8.52 without and 8.43 with 0.05 (docs/training.md).
    /// </summary>
    public const double DefaultWeightNoise = 0.05;

    /// <summary>The mini-batch size of a run on <paramref name="dataSet"/> under <paramref name="options"/>.</summary>
    public static int BatchSize(ReproductionOptions options, string dataSet)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.BatchSize ?? DefaultBatchSize(dataSet);
    }

    /// <summary>The window a run on <paramref name="dataSet"/> uses under <paramref name="options"/>: null for full BPTT.</summary>
    public static int? TruncateSteps(ReproductionOptions options, string dataSet)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.TruncateSteps switch { null => DefaultTruncateSteps(dataSet), 0 => null, int k => k };
    }

    /// <summary>
    /// The epoch budget of a run on a data set: JSB Chorales 200, Nottingham 150, MuseData 120,
    /// Piano-midi.de 150; 40 with <paramref name="quick"/>. Early stopping (8 epochs without a better
    /// validation NLL) usually ends a run before.
    /// </summary>
    public static int DefaultEpochs(string dataSet, bool quick) => quick ? 40 : dataSet switch
    {
        "nottingham" => 150,
        "musedata" => 120,
        "piano-midi" => 150,
        _ => 200,
    };

    /// <summary>
    /// Trains every (data set, cell), evaluates the best model of each on train, valid and test, and
    /// writes the results. Runs go <see cref="ReproductionOptions.Jobs"/> at a time, the longest first;
    /// each is single-threaded and seeded, so the results do not depend on the number of jobs.
    /// </summary>
    /// <exception cref="DataSetNotFoundException">A data set cannot be found or downloaded.</exception>
    public static IReadOnlyList<ReproductionRow> Run(ReproductionOptions options, IProgress<ReproductionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Trials < 1) throw new ArgumentException($"Trials must be ≥ 1, got {options.Trials}.", nameof(options));
        if (options.Jobs < 1) throw new ArgumentException($"Jobs must be ≥ 1, got {options.Jobs}.", nameof(options));
        if (options.TruncateSteps is int k && k < 0) throw new ArgumentException($"TruncateSteps must be ≥ 0, got {k}.", nameof(options));
        if (options.BatchSize is int bs && bs < 1) throw new ArgumentException($"BatchSize must be ≥ 1, got {bs}.", nameof(options));
        if (options.WeightNoise is double wn && !(wn >= 0 && double.IsFinite(wn))) throw new ArgumentException($"WeightNoise must be a finite standard deviation ≥ 0, got {wn}.", nameof(options));
        double seconds = options.SecondsPerRun ?? (options.Quick ? 120 : DefaultSecondsPerRun);
        var wall = Stopwatch.StartNew();
        var infos = options.DataSets.Select(n => PolyphonicDataSets.Find(n) ?? throw new ArgumentException($"Unknown data set '{n}'.", nameof(options))).ToList();
        var data = new Dictionary<string, PianoRollDataset>();
        foreach (var info in infos) data[info.Name] = PolyphonicDataSets.Load(info.Name, options.Data, null, cancellationToken);

        // Learning rates are drawn up front, in result order, so they do not depend on which run finishes first.
        var lrRandom = new Random(options.Seed);
        var work = new List<(string DataSet, CellKind Cell, double[] Rates)>();
        foreach (var info in infos)
            foreach (var cell in options.Cells)
                work.Add((info.Name, cell, [.. Enumerable.Range(1, options.Trials).Select(t => LearningRate(options, cell, t, lrRandom))]));
        int Epochs(string name) => options.EpochsPerRun ?? DefaultEpochs(name, options.Quick);
        long Cost(int i) => Epochs(work[i].DataSet) * data[work[i].DataSet].Train.Sum(r => (long)r.Length);
        int[] order = [.. Enumerable.Range(0, work.Count).OrderByDescending(Cost).ThenBy(i => i)];
        var rows = new ReproductionRow?[work.Count];
        var gate = new object();
        void Report(ReproductionProgress p)
        {
            lock (gate) progress?.Report(p);
        }

        void RunOne(int i)
        {
            var (name, cell, rates) = work[i];
            var clock = Stopwatch.StartNew();
            var model = Chung2014.Model(cell);
            TrainingResult? best = null;
            double bestRate = 0;
            for (int trial = 1; trial <= rates.Length; trial++)
            {
                double rate = rates[trial - 1];
                var training = options.PaperProtocol
                    ? Chung2014.PaperProtocol(rate, options.Seed, seconds, Epochs(name))
                    : Chung2014.Protocol(rate, options.Seed, seconds, Epochs(name), TruncateSteps(options, name),
                        BatchSize(options, name), options.WeightNoise ?? DefaultWeightNoise);
                string runDirectory = Path.Combine(options.OutputDirectory, "runs", $"{name}-{cell.ToString().ToLowerInvariant()}-{trial}");
                int t = trial;
                var trainingProgress = progress is null ? null : new Inline<TrainingProgress>(p => Report(new ReproductionProgress(name, cell, t, rates.Length, rate, p, null)));
                var result = new MusicTrainer(model, training).Run(data[name], runDirectory, options.Resume, trainingProgress, cancellationToken);
                if (best is null || result.BestValidNll < best.BestValidNll) { best = result; bestRate = rate; }
            }
            var paper = Chung2014.Paper(name, cell);
            var set = data[name];
            var row = new ReproductionRow(name, cell, Chung2014.Units(cell), best!.Best.ParameterCount, best.Best.Recurrent.Parameters.Count,
                bestRate, rates.Length, best.BestEpoch, best.History.Count, best.Stop.ToString(),
                best.Best.Evaluate(set.Train).NllPerStep, best.BestValidNll, best.Best.Evaluate(set.Test).NllPerStep,
                paper.Train, paper.Test, clock.Elapsed.TotalSeconds, best.History);
            rows[i] = row;
            Report(new ReproductionProgress(name, cell, rates.Length, rates.Length, bestRate, null, row));
        }

        // Parallel runs each take one core; the matrix products stay on their run's thread.
        int savedThreads = Kernels.ComputeThreads.Count;
        try
        {
            if (options.Jobs > 1) Kernels.ComputeThreads.Count = 1;
            Parallel.ForEach(Partitioner.Create(order, EnumerablePartitionerOptions.NoBuffering),
                new ParallelOptions { MaxDegreeOfParallelism = options.Jobs, CancellationToken = cancellationToken }, RunOne);
        }
        catch (AggregateException ex)
        {
            // One run's failure is the reproduction's: rethrow it as it was (divergence, a bad checkpoint, cancellation).
            var inner = ex.Flatten().InnerExceptions;
            ExceptionDispatchInfo.Capture(inner.FirstOrDefault(x => x is not OperationCanceledException) ?? inner[0]).Throw();
            throw;
        }
        finally
        {
            Kernels.ComputeThreads.Count = savedThreads;
        }
        var done = rows.Select(r => r!).ToList();
        Write(done, options, wall.Elapsed.TotalSeconds);
        return done;
    }

    /// <summary>The learning rate of a trial: a fixed default for one trial, else log-uniform draws (the paper's range with its protocol).</summary>
    private static double LearningRate(ReproductionOptions options, CellKind cell, int trial, Random random)
    {
        if (options.PaperProtocol)
        {
            var (low, high) = Chung2014.PaperLearningRates;
            return Math.Exp(Math.Log(low) + random.NextDouble() * (Math.Log(high) - Math.Log(low)));
        }
        double fixedRate = cell == CellKind.Rnn ? 0.002 : 0.003;
        if (options.Trials == 1 || trial == 1) return fixedRate;
        return Math.Exp(Math.Log(5e-4) + random.NextDouble() * (Math.Log(1e-2) - Math.Log(5e-4)));
    }

    /// <summary>Writes chung2014.md, chung2014.json and the learning curves (SVG) into the output folder.</summary>
    /// <param name="rows">The trained runs.</param>
    /// <param name="options">The options they were trained with.</param>
    /// <param name="wallSeconds">The whole reproduction's wall-clock time, when known.</param>
    public static void Write(IReadOnlyList<ReproductionRow> rows, ReproductionOptions options, double? wallSeconds = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(options);
        Directory.CreateDirectory(options.OutputDirectory);
        string stem = options.Quick ? "chung2014-quick" : "chung2014";
        string machine = $"{Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, {RuntimeInformation.ProcessArchitecture}";
        var json = new
        {
            experiment = "Chung et al. 2014, Table 2 (polyphonic music)",
            command = options.CommandLine,
            protocol = options.PaperProtocol ? "paper: RMSProp, weight noise 0.075, clip 1, lr log-uniform in [e^-12, e^-6]" : $"gated: Adam, {Batches(rows, options)}, weight noise {options.WeightNoise ?? DefaultWeightNoise:G3}, BPTT {Windows(rows, options)}, clip 1, lr halved after 3 epochs without improvement, early stopping after 8",
            jobs = options.Jobs,
            wall_seconds = wallSeconds,
            nll = "negative log-likelihood in nats per predicted time step: the sum over a split of -log p(x_{t+1} | x_{<=t}) over the 88 keys, divided by the number of predicted steps (each sequence of T steps predicts T-1)",
            machine,
            date = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            rows = rows.Select(r => new
            {
                data_set = r.DataSet, cell = CellName(r.Cell), units = r.Units, parameters = r.Parameters, recurrent_parameters = r.RecurrentParameters,
                paper_parameters = Chung2014.PaperParameters(r.Cell), learning_rate = r.LearningRate, trials = r.Trials,
                best_epoch = r.BestEpoch, epochs = r.Epochs, stop = r.Stop,
                train_nll = r.TrainNll, valid_nll = r.ValidNll, test_nll = r.TestNll, paper_train_nll = r.PaperTrain, paper_test_nll = r.PaperTest,
                meets_paper = r.MeetsPaper, seconds = r.Seconds,
                history = r.History.Select(h => new { epoch = h.Epoch, train = h.TrainNll, valid = h.ValidNll, lr = h.LearningRate, seconds = h.Seconds }),
            }),
        };
        AtomicFile.Write(Path.Combine(options.OutputDirectory, stem + ".json"), s =>
            JsonSerializer.Serialize(s, json, new JsonSerializerOptions { WriteIndented = true }));

        var md = new StringBuilder();
        md.AppendLine("# Chung et al. 2014, Table 2 — reproduced with Gated").AppendLine();
        md.AppendLine($"Produced by `{options.CommandLine ?? "gated reproduce chung2014"}` on {machine}, {DateTime.UtcNow:yyyy-MM-dd}.").AppendLine();
        md.AppendLine("NLL is in nats per predicted time step: the sum over a split of −log p(x_{t+1} | x_{≤t}) over the 88 keys, divided by the number of predicted steps (a sequence of T steps predicts T − 1). Train NLL is the best model evaluated on the training split (no dropout or noise). Lower is better; **bold** marks a test NLL at or below the paper's.").AppendLine();
        md.AppendLine(options.PaperProtocol
            ? "Protocol: the paper's — RMSProp, weight noise σ = 0.075, gradient norm clipped at 1, learning rates drawn log-uniformly in [e⁻¹², e⁻⁶], best on validation."
            : $"Protocol: Adam, {Batches(rows, options)}, Gaussian weight noise σ = {options.WeightNoise ?? DefaultWeightNoise:G3} on every weight for each forward/backward pass, BPTT {Windows(rows, options)} (a truncated run updates after every window and carries the state into the next), gradient norm clipped at 1, learning rate halved after 3 epochs without a better validation NLL, early stopping after 8, best validation epoch kept; {options.Trials} learning rate(s) per run; epoch budgets " +
              string.Join(", ", rows.Select(r => r.DataSet).Distinct().Select(d => $"{d} {options.EpochsPerRun ?? DefaultEpochs(d, options.Quick)}")) + $", and at most {options.SecondsPerRun ?? (options.Quick ? 120 : DefaultSecondsPerRun):F0} s per run; {options.Jobs} run(s) at a time, each on one thread.").AppendLine();
        md.AppendLine("| data set | cell | units | params (ours / paper) | lr | best epoch / epochs | train NLL (paper) | valid NLL | test NLL (paper) | seconds |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
        {
            string test = r.MeetsPaper ? $"**{r.TestNll:F3}**" : $"{r.TestNll:F3}";
            md.AppendLine(CultureInfo.InvariantCulture, $"| {r.DataSet} | {CellName(r.Cell)} | {r.Units} | {r.Parameters:N0} / ≈{Chung2014.PaperParameters(r.Cell):N0} | {r.LearningRate:G3} | {r.BestEpoch} / {r.Epochs} ({r.Stop}) | {r.TrainNll:F3} ({r.PaperTrain:F2}) | {r.ValidNll:F3} | {test} ({r.PaperTest:F2}) | {r.Seconds:F0} |");
        }
        md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"{rows.Count(r => r.MeetsPaper)} of {rows.Count} runs reach the paper's test NLL. Wall time {(wallSeconds is double wallTime ? $"{wallTime / 60:F1} minutes" : "not recorded")} ({options.Jobs} run(s) at a time; training time summed over runs {rows.Sum(r => r.Seconds) / 60:F1} minutes).").AppendLine();
        if (!options.Quick && rows.Any(r => !r.MeetsPaper))
            md.AppendLine("For the cells above the paper: what a ten-times-larger GRU and two trivial baselines measure on the same data, in [docs/training.md, \"Where the paper's Nottingham and MuseData numbers sit\"](../docs/training.md#where-the-papers-nottingham-and-musedata-numbers-sit).").AppendLine();
        md.AppendLine("Parameter counts: ours include the 88-unit output layer (H·88 + 88) and PyTorch's two bias vectors; the recurrent part alone is " +
            string.Join(", ", rows.Select(r => r.Cell).Distinct().Select(c => $"{CellName(c)} {rows.First(r => r.Cell == c).RecurrentParameters:N0}")) +
            ". The paper's counts (its Table 1) cannot be reproduced exactly from its description with 88 inputs and outputs.").AppendLine();
        foreach (string dataSet in rows.Select(r => r.DataSet).Distinct())
        {
            foreach (var (axis, suffix) in new[] { ("epoch", "epochs"), ("seconds", "seconds") })
            {
                var chart = new LineChart
                {
                    Title = $"{dataSet}: validation NLL per step",
                    XLabel = axis == "epoch" ? "epoch" : "wall-clock time (s)",
                    YLabel = "NLL per time step (nats)",
                };
                foreach (var r in rows.Where(r => r.DataSet == dataSet))
                {
                    chart.AddSeries($"{CellName(r.Cell)} valid", r.History.Select(h => (axis == "epoch" ? h.Epoch : h.Seconds, h.ValidNll)));
                    chart.AddReferenceLine(r.PaperTest, $"paper {CellName(r.Cell)} test {r.PaperTest:F2}");
                }
                string file = $"{stem}-{dataSet}-{suffix}.svg";
                chart.WriteFile(Path.Combine(options.OutputDirectory, file));
                if (axis == "epoch") md.AppendLine(CultureInfo.InvariantCulture, $"![{dataSet} learning curves]({file})");
            }
        }
        AtomicFile.Write(Path.Combine(options.OutputDirectory, stem + ".md"), s =>
        {
            using var writer = new StreamWriter(s, new UTF8Encoding(false));
            writer.Write(md.ToString());
        });
    }

    /// <summary>"full on jsb, nottingham; truncated to 100 steps on musedata, piano-midi".</summary>
    private static string Windows(IReadOnlyList<ReproductionRow> rows, ReproductionOptions options)
    {
        var sets = rows.Select(r => r.DataSet).Distinct().ToList();
        var full = sets.Where(d => TruncateSteps(options, d) is null).ToList();
        var parts = new List<string>();
        if (full.Count > 0) parts.Add("full on " + string.Join(", ", full));
        foreach (var group in sets.Where(d => TruncateSteps(options, d) is not null).GroupBy(d => TruncateSteps(options, d)!.Value))
            parts.Add($"truncated to {group.Key} steps on {string.Join(", ", group)}");
        return string.Join("; ", parts);
    }

    private static string Batches(IReadOnlyList<ReproductionRow> rows, ReproductionOptions options)
    {
        var sets = rows.Select(r => r.DataSet).Distinct();
        return "mini-batches of " + string.Join("; ", sets.GroupBy(d => BatchSize(options, d))
            .Select(g => $"{g.Key} sequence{(g.Key == 1 ? "" : "s")} on {string.Join(", ", g)}"));
    }

    private static string CellName(CellKind cell) => cell switch { CellKind.Gru => "GRU", CellKind.Lstm => "LSTM", _ => "tanh" };

    private sealed class Inline<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
