using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Gated.Data;
using Gated.IO;
using Gated.Layers;
using Gated.Models;
using Gated.Plots;

namespace Gated.Experiments;

/// <summary>What <see cref="GateAblation.Run"/> trains and where it writes.</summary>
public sealed record GateAblationOptions
{
    /// <summary>Data set names (<c>jsb</c>, <c>nottingham</c>, <c>musedata</c>, <c>piano-midi</c>). Default JSB Chorales and Nottingham.</summary>
    public IReadOnlyList<string> DataSets { get; init; } = ["jsb", "nottingham"];
    /// <summary>Variant names (see <see cref="GateAblation.Variants"/>). Default all seven.</summary>
    public IReadOnlyList<string> Variants { get; init; } = [.. GateAblation.Variants.Select(v => v.Name)];
    /// <summary>Runs per (data set, variant), with seeds <see cref="FirstSeed"/>, <see cref="FirstSeed"/> + 1, …; null for the default (3, or 1 when quick).</summary>
    public int? Seeds { get; init; }
    /// <summary>The seed of the first run of every (data set, variant). Default 1.</summary>
    public int FirstSeed { get; init; } = 1;
    /// <summary>A couple of minutes in all (for CI): one seed and a few epochs per run. Writes <c>gates-quick.*</c>.</summary>
    public bool Quick { get; init; }
    /// <summary>The epoch budget of every run, whatever the data set; null for the per-data-set default (<see cref="GateAblation.DefaultEpochs"/>).</summary>
    public int? EpochsPerRun { get; init; }
    /// <summary>The parameter budget every variant's hidden size is chosen for. Default 20 000 (Chung et al. 2014's models).</summary>
    public int ParameterBudget { get; init; } = GateAblation.DefaultParameterBudget;
    /// <summary>The initial learning rate of every run. Default 0.003.</summary>
    public double LearningRate { get; init; } = 0.003;
    /// <summary>Training runs at the same time, one per thread (each run is single-threaded; results do not depend on this). Default min(2, cores).</summary>
    public int Jobs { get; init; } = Math.Min(2, Environment.ProcessorCount);
    /// <summary>Where results are written: gates.md, gates.json, curves; runs/ holds checkpoints.</summary>
    public string OutputDirectory { get; init; } = "results";
    /// <summary>Continue runs from their checkpoints in OutputDirectory/runs.</summary>
    public bool Resume { get; init; }
    /// <summary>Where data sets are found (see <see cref="PolyphonicDataSets"/>).</summary>
    public DataSetResolveOptions? Data { get; init; }
    /// <summary>The command line that started the run, recorded in the results.</summary>
    public string? CommandLine { get; init; }

    /// <summary>The number of seeds per (data set, variant) after defaults.</summary>
    public int SeedCount => Seeds ?? (Quick ? 1 : 3);

    /// <summary>The file names' stem: <c>gates</c>, or <c>gates-quick</c> when quick.</summary>
    public string Stem => Quick ? "gates-quick" : "gates";
}

/// <summary>One trained model of the gate ablation.</summary>
/// <param name="DataSet">The data set name.</param>
/// <param name="Variant">The variant's <see cref="GateVariant.Name"/>.</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="HiddenSize">H.</param>
/// <param name="Parameters">The parameters that take part in the computation (<see cref="GateVariant.Parameters"/>).</param>
/// <param name="StoredParameters">Every stored parameter (<see cref="GateVariant.StoredParameters"/>).</param>
/// <param name="BestEpoch">The epoch of the best validation NLL, whose model is evaluated.</param>
/// <param name="Epochs">Epochs trained.</param>
/// <param name="Stop">Why the run ended (<see cref="StopReason"/>).</param>
/// <param name="TrainNll">The best model's NLL per step on the training split.</param>
/// <param name="ValidNll">The best model's NLL per step on the validation split.</param>
/// <param name="TestNll">The best model's NLL per step on the test split.</param>
/// <param name="Seconds">Wall-clock seconds of the run, evaluation included (depends on the machine and its load).</param>
/// <param name="History">Every epoch.</param>
public sealed record GateAblationRun(string DataSet, string Variant, int Seed, int HiddenSize, int Parameters, int StoredParameters,
    int BestEpoch, int Epochs, StopReason Stop, double TrainNll, double ValidNll, double TestNll, double Seconds, IReadOnlyList<EpochRecord> History);

/// <summary>Mean, sample standard deviation, minimum and maximum of one figure over the seeds.</summary>
/// <param name="Mean">The mean.</param>
/// <param name="StandardDeviation">The sample standard deviation (n − 1); NaN for one value.</param>
/// <param name="Min">The smallest value.</param>
/// <param name="Max">The largest value.</param>
/// <param name="Count">The number of values.</param>
public sealed record SeedSpread(double Mean, double StandardDeviation, double Min, double Max, int Count)
{
    /// <summary>The spread of a list of values.</summary>
    /// <exception cref="ArgumentException">The list is empty.</exception>
    public static SeedSpread Of(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0) throw new ArgumentException("No values.", nameof(values));
        double mean = values.Average();
        double sd = values.Count < 2 ? double.NaN : Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
        return new SeedSpread(mean, sd, values.Min(), values.Max(), values.Count);
    }

    /// <summary>Whether the [min, max] ranges of two spreads do not overlap (only meaningful with two or more values each).</summary>
    public bool SeparatedFrom(SeedSpread other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Max < other.Min || other.Max < Min;
    }
}

/// <summary>The runs of one (data set, variant) over the seeds.</summary>
/// <param name="DataSet">The data set name.</param>
/// <param name="Variant">The variant.</param>
/// <param name="HiddenSize">H.</param>
/// <param name="Parameters">The parameters that take part in the computation.</param>
/// <param name="Test">Test NLL per step over the seeds.</param>
/// <param name="Valid">Validation NLL per step over the seeds.</param>
/// <param name="Train">Training NLL per step (best model) over the seeds.</param>
/// <param name="BestEpoch">Best epoch over the seeds.</param>
/// <param name="Epochs">Epochs trained over the seeds.</param>
/// <param name="StoppedAtLimit">Runs that ended at the epoch limit, i.e. were still allowed to improve.</param>
/// <param name="Seconds">Wall-clock seconds summed over the seeds.</param>
public sealed record GateAblationSummary(string DataSet, GateVariant Variant, int HiddenSize, int Parameters,
    SeedSpread Test, SeedSpread Valid, SeedSpread Train, SeedSpread BestEpoch, SeedSpread Epochs, int StoppedAtLimit, double Seconds);

/// <summary>Everything a gate ablation produced.</summary>
/// <param name="Runs">Every run, in the order data set, variant, seed.</param>
/// <param name="Summaries">One per (data set, variant), same order.</param>
/// <param name="Findings">What the numbers show, one paragraph per data set and a closing note.</param>
/// <param name="EpochBudget">The epoch limit of each data set.</param>
/// <param name="WallSeconds">Wall-clock seconds of the whole ablation.</param>
public sealed record GateAblationResult(IReadOnlyList<GateAblationRun> Runs, IReadOnlyList<GateAblationSummary> Summaries,
    IReadOnlyList<string> Findings, IReadOnlyDictionary<string, int> EpochBudget, double WallSeconds);

/// <summary>Progress of a gate ablation: which run, and its training progress or its result.</summary>
/// <param name="DataSet">The data set.</param>
/// <param name="Variant">The variant.</param>
/// <param name="Seed">The seed.</param>
/// <param name="Training">An epoch or message of the run, or null.</param>
/// <param name="Finished">The finished run, or null.</param>
/// <param name="Done">Runs finished so far.</param>
/// <param name="Total">Runs in all.</param>
public sealed record GateAblationProgress(string DataSet, GateVariant Variant, int Seed, TrainingProgress? Training, GateAblationRun? Finished, int Done, int Total);

/// <summary>
/// The gate ablation of issue #7 (seed document 004: "why both a reset and an update gate?"): the full
/// GRU, the GRU without its reset gate (r ≡ 1), without its update gate (h = ĥ), with the other
/// update-gate convention, with the reset before the product, the LSTM and the tanh RNN, each at the
/// same parameter budget, trained with one protocol on the polyphonic-music data sets.
/// </summary>
/// <remarks>
/// <para>The protocol is <see cref="Chung2014.Protocol"/> for every run (Adam, batch 4, gradient norm
/// clipped at 1, learning rate halved after 3 flat epochs, early stopping after 8, best validation
/// epoch kept) with one learning rate for all variants and a budget in <b>epochs</b>, never in seconds:
/// every number except the wall time is a function of the seed alone, whatever the machine's load and
/// however many runs go in parallel (each run is single-threaded). Across machines the numbers are
/// bit-identical when the SIMD width (<see cref="Vector{T}.Count"/> for float) is the same.</para>
/// <para>Parameter counts are matched on the parameters that take part in the computation: an ablated
/// GRU keeps the weights of its missing gate (PyTorch's layout), but they get no gradient and are not counted.</para>
/// </remarks>
public static class GateAblation
{
    /// <summary>The default parameter budget: 20 000, the size of Chung et al. 2014's models.</summary>
    public const int DefaultParameterBudget = 20_000;

    /// <summary>The seven models, the full GRU first.</summary>
    public static IReadOnlyList<GateVariant> Variants { get; } =
    [
        new("gru", "GRU", "the reference: PyTorch's GRU (KeepPrevious update, reset after the recurrent product)", CellKind.Gru, new GruOptions()),
        new("gru-no-reset", "GRU, no reset gate (r ≡ 1)", "r ≡ 1: the candidate always sees the whole previous state", CellKind.Gru,
            new GruOptions { Ablation = GruAblation.NoResetGate }),
        new("gru-no-update", "GRU, no update gate (h = ĥ)", "z ≡ 0 under KeepPrevious, so h_t = ĥ_t: the state is replaced at every step (a tanh RNN with a reset gate)", CellKind.Gru,
            new GruOptions { Ablation = GruAblation.NoUpdateGate }),
        new("gru-take-candidate", "GRU, TakeCandidate", "h_t = (1 − z) ⊙ h_{t−1} + z ⊙ ĥ_t (Chung et al. 2014): the same model family as the GRU (exact conversion by negating the update gate's weights)", CellKind.Gru,
            new GruOptions { UpdateGate = UpdateGateConvention.TakeCandidate }),
        new("gru-reset-before", "GRU, reset before the product", "ĥ_t = tanh(W_in x_t + b_in + W_hn (r ⊙ h_{t−1}) + b_hn) (Cho et al. 2014) instead of r ⊙ (W_hn h_{t−1} + b_hn)", CellKind.Gru,
            new GruOptions { Reset = ResetGatePosition.BeforeProduct }),
        new("lstm", "LSTM", "PyTorch's LSTM: input, forget and output gates and a cell", CellKind.Lstm, new GruOptions()),
        new("tanh", "tanh RNN", "no gates: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)", CellKind.Rnn, new GruOptions()),
    ];

    /// <summary>The variant with a name (ignoring case), or null.</summary>
    /// <param name="name">E.g. <c>gru-no-reset</c>.</param>
    public static GateVariant? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Variants.FirstOrDefault(v => string.Equals(v.Name, name.Trim(), StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// The default epoch limit of a data set. Full: JSB 150 (runs end by early stopping well before),
    /// Nottingham 25, MuseData 15, Piano-midi 40, chosen so the default ablation (JSB and Nottingham, 7
    /// variants, 3 seeds) takes about 20 minutes on 2 cores. Quick: JSB 15, Nottingham 3, MuseData 2, Piano-midi 4.
    /// </summary>
    /// <param name="dataSet">The data set name.</param>
    /// <param name="quick">The quick budget.</param>
    public static int DefaultEpochs(string dataSet, bool quick) => (dataSet, quick) switch
    {
        ("jsb", false) => 150,
        ("nottingham", false) => 25,
        ("musedata", false) => 15,
        ("piano-midi", false) => 40,
        ("jsb", true) => 15,
        ("nottingham", true) => 3,
        ("musedata", true) => 2,
        ("piano-midi", true) => 4,
        _ => quick ? 3 : 25,
    };

    /// <summary>
    /// Trains every (data set, variant, seed), evaluates each run's best model on train, valid and test,
    /// and writes gates.md, gates.json and one learning-curve chart per data set.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown data set or variant, or a value out of range.</exception>
    /// <exception cref="DataSetNotFoundException">A data set cannot be found or downloaded.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; finished epochs keep their checkpoints.</exception>
    public static GateAblationResult Run(GateAblationOptions options, IProgress<GateAblationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.SeedCount < 1) throw new ArgumentException($"Seeds must be ≥ 1, got {options.SeedCount}.", nameof(options));
        if (options.Jobs < 1) throw new ArgumentException($"Jobs must be ≥ 1, got {options.Jobs}.", nameof(options));
        if (options.EpochsPerRun is int e && e < 1) throw new ArgumentException($"EpochsPerRun must be ≥ 1, got {e}.", nameof(options));
        if (options.DataSets.Count == 0) throw new ArgumentException("No data set.", nameof(options));
        if (options.Variants.Count == 0) throw new ArgumentException("No variant.", nameof(options));
        var variants = options.Variants.Select(n => Find(n) ?? throw new ArgumentException($"Unknown variant '{n}'; known: {string.Join(", ", Variants.Select(v => v.Name))}.", nameof(options)))
            .Distinct().OrderBy(v => IndexOf(v)).ToList();
        var infos = options.DataSets.Select(n => PolyphonicDataSets.Find(n) ?? throw new ArgumentException($"Unknown data set '{n}'.", nameof(options)))
            .Distinct().ToList();
        var hidden = variants.ToDictionary(v => v.Name, v => v.HiddenSizeFor(options.ParameterBudget));
        var budget = infos.ToDictionary(i => i.Name, i => options.EpochsPerRun ?? DefaultEpochs(i.Name, options.Quick));

        var clock = Stopwatch.StartNew();
        var data = new Dictionary<string, PianoRollDataset>();
        foreach (var info in infos) data[info.Name] = PolyphonicDataSets.Load(info.Name, options.Data, null, cancellationToken);

        // The work list in result order; started longest first (by epochs × training steps) so parallel workers finish together.
        var work = (from info in infos from v in variants from s in Enumerable.Range(options.FirstSeed, options.SeedCount) select (Data: info.Name, Variant: v, Seed: s)).ToList();
        long Cost(int i) => budget[work[i].Data] * data[work[i].Data].Train.Sum(r => (long)r.Length);
        int[] order = [.. Enumerable.Range(0, work.Count).OrderByDescending(Cost).ThenBy(i => i)];
        var runs = new GateAblationRun[work.Count];
        var gate = new object();
        int done = 0;
        void Report(GateAblationProgress p)
        {
            lock (gate) progress?.Report(p);
        }

        void RunOne(int i)
        {
            var (name, variant, seed) = work[i];
            var runClock = Stopwatch.StartNew();
            int h = hidden[variant.Name];
            var model = variant.Model(h);
            var training = Chung2014.Protocol(options.LearningRate, seed, maxSeconds: null, budget[name]);
            string runDirectory = Path.Combine(options.OutputDirectory, "runs", $"{options.Stem}-{name}-{variant.Name}-s{seed.ToString(CultureInfo.InvariantCulture)}");
            var trainingProgress = progress is null ? null : new Inline<TrainingProgress>(p =>
            {
                if (p.Completed is not null || p.Message is not null) Report(new GateAblationProgress(name, variant, seed, p, null, Volatile.Read(ref done), work.Count));
            });
            var result = new MusicTrainer(model, training).Run(data[name], runDirectory, options.Resume, trainingProgress, cancellationToken);
            var set = data[name];
            var run = new GateAblationRun(name, variant.Name, seed, h, variant.Parameters(h), variant.StoredParameters(h),
                result.BestEpoch, result.History.Count, result.Stop,
                result.Best.Evaluate(set.Train, 64, null, cancellationToken).NllPerStep, result.BestValidNll,
                result.Best.Evaluate(set.Test, 64, null, cancellationToken).NllPerStep, runClock.Elapsed.TotalSeconds, result.History);
            runs[i] = run;
            Report(new GateAblationProgress(name, variant, seed, null, run, Interlocked.Increment(ref done), work.Count));
        }

        try
        {
            Parallel.ForEach(Partitioner.Create(order, EnumerablePartitionerOptions.NoBuffering),
                new ParallelOptions { MaxDegreeOfParallelism = options.Jobs, CancellationToken = cancellationToken }, RunOne);
        }
        catch (AggregateException ex)
        {
            // One run's failure is the ablation's: rethrow it as it was (divergence, a bad checkpoint, cancellation).
            var first = ex.Flatten().InnerExceptions.FirstOrDefault(x => x is not OperationCanceledException) ?? ex.Flatten().InnerExceptions[0];
            ExceptionDispatchInfo.Capture(first).Throw();
            throw;
        }

        var summaries = Summarize(runs, infos.Select(i => i.Name).ToList(), variants, hidden);
        var findings = Findings(summaries, budget, options);
        var ablation = new GateAblationResult(runs, summaries, findings, budget, clock.Elapsed.TotalSeconds);
        Write(ablation, options);
        return ablation;
    }

    private static int IndexOf(GateVariant v)
    {
        for (int i = 0; i < Variants.Count; i++) if (Variants[i].Name == v.Name) return i;
        return int.MaxValue;
    }

    private static List<GateAblationSummary> Summarize(IReadOnlyList<GateAblationRun> runs, List<string> dataSets, List<GateVariant> variants, Dictionary<string, int> hidden)
    {
        var list = new List<GateAblationSummary>();
        foreach (string d in dataSets)
        {
            foreach (var v in variants)
            {
                var r = runs.Where(x => x.DataSet == d && x.Variant == v.Name).ToList();
                list.Add(new GateAblationSummary(d, v, hidden[v.Name], v.Parameters(hidden[v.Name]),
                    SeedSpread.Of([.. r.Select(x => x.TestNll)]), SeedSpread.Of([.. r.Select(x => x.ValidNll)]), SeedSpread.Of([.. r.Select(x => x.TrainNll)]),
                    SeedSpread.Of([.. r.Select(x => (double)x.BestEpoch)]), SeedSpread.Of([.. r.Select(x => (double)x.Epochs)]),
                    r.Count(x => x.Stop == StopReason.MaxEpochs), r.Sum(x => x.Seconds)));
            }
        }
        return list;
    }

    // ------------------------------------------------------------------ what the numbers show

    /// <summary>
    /// Sentences that state what the summaries show and no more: the order of the mean test NLLs, which
    /// differences from the full GRU lie outside the seed ranges, what the convention pair measures, and
    /// whether the epoch budget ended runs that were still improving.
    /// </summary>
    internal static List<string> Findings(IReadOnlyList<GateAblationSummary> summaries, IReadOnlyDictionary<string, int> budget, GateAblationOptions options)
    {
        var inv = CultureInfo.InvariantCulture;
        string F(double v) => v.ToString("F3", inv);
        string D(double v) => (v >= 0 ? "+" : "−") + Math.Abs(v).ToString("F3", inv);
        int seeds = options.SeedCount;
        var paragraphs = new List<string>();
        foreach (var group in summaries.GroupBy(s => s.DataSet))
        {
            var s = group.ToList();
            var text = new StringBuilder();
            var ranked = s.OrderBy(x => x.Test.Mean).ToList();
            text.Append(inv, $"**{group.Key}** ({budget[group.Key]} epochs at most, {Plural(seeds, "seed")}): ");
            text.Append(seeds > 1 ? "by mean test NLL, " : "by test NLL, ");
            text.Append(string.Join(" < ", ranked.Select(x => $"{x.Variant.Label} {F(x.Test.Mean)}"))).Append(". ");
            var reference = s.FirstOrDefault(x => x.Variant.Name == "gru");
            if (seeds > 1)
            {
                double lo = s.Min(x => x.Test.Max - x.Test.Min), hi = s.Max(x => x.Test.Max - x.Test.Min);
                text.Append(inv, $"The range of the test NLL over the {seeds} seeds of one variant is {F(lo)} to {F(hi)} nats. ");
                if (reference is not null)
                {
                    var outside = s.Where(x => x != reference && x.Test.SeparatedFrom(reference.Test)).ToList();
                    var inside = s.Where(x => x != reference && !x.Test.SeparatedFrom(reference.Test)).ToList();
                    if (outside.Count > 0)
                        text.Append("Outside the seed ranges of the full GRU (no overlap): ")
                            .Append(string.Join(", ", outside.Select(x => $"{x.Variant.Label} ({D(x.Test.Mean - reference.Test.Mean)})"))).Append(". ");
                    if (inside.Count > 0)
                        text.Append("Within them (the ranges overlap, so these differences are not told apart from seed noise): ")
                            .Append(string.Join(", ", inside.Select(x => $"{x.Variant.Label} ({D(x.Test.Mean - reference.Test.Mean)})"))).Append(". ");
                }
            }
            else if (reference is not null)
            {
                text.Append("Differences from the full GRU: ")
                    .Append(string.Join(", ", s.Where(x => x != reference).Select(x => $"{x.Variant.Label} {D(x.Test.Mean - reference.Test.Mean)}")))
                    .Append(". With one seed per variant the seed noise is not measured, so no difference here is shown to exceed it. ");
            }
            var keep = s.FirstOrDefault(x => x.Variant.Name == "gru");
            var take = s.FirstOrDefault(x => x.Variant.Name == "gru-take-candidate");
            if (keep is not null && take is not null)
            {
                text.Append(inv, $"The two update conventions differ by {F(Math.Abs(take.Test.Mean - keep.Test.Mean))} nats");
                if (seeds > 1) text.Append(take.Test.SeparatedFrom(keep.Test) ? " (their seed ranges do not overlap)" : " (their seed ranges overlap)");
                text.Append("; they are one model family, so this difference is initialisation and optimisation noise, whatever its size. ");
            }
            int limited = s.Sum(x => x.StoppedAtLimit), total = s.Sum(x => x.Test.Count);
            if (limited > 0)
                text.Append(inv, $"{limited} of {total} runs ended at the {budget[group.Key]}-epoch limit, not by early stopping: those models were still allowed to improve, so on this data set the table compares what each variant reaches within the budget, not converged models.");
            else
                text.Append(inv, $"Every run ended by early stopping (8 epochs without a better validation NLL) before the {budget[group.Key]}-epoch limit.");
            paragraphs.Add(text.ToString().TrimEnd());
        }
        paragraphs.Add("Why the convention pair measures noise: negating the update gate's weights and biases turns a KeepPrevious GRU into a TakeCandidate GRU with the same outputs at every step (docs/equations.md §2.2). " +
            "PyTorch's initialisation draws every weight from a distribution symmetric about 0, and Adam and gradient-norm clipping treat a parameter and its negation alike, " +
            "so the two conventions start from, and train through, the same distribution of functions; with the same seed they only start from a different draw of it.");
        return paragraphs;
    }

    private static string Plural(int n, string word) => n.ToString(CultureInfo.InvariantCulture) + " " + word + (n == 1 ? "" : "s");

    // ------------------------------------------------------------------ output

    /// <summary>Writes gates.md, gates.json and the learning curves (SVG, one chart per data set) into the output folder.</summary>
    /// <param name="result">What <see cref="Run"/> produced.</param>
    /// <param name="options">The options it ran with.</param>
    public static void Write(GateAblationResult result, GateAblationOptions options)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(options);
        var inv = CultureInfo.InvariantCulture;
        Directory.CreateDirectory(options.OutputDirectory);
        string stem = options.Stem;
        string machine = $"{Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, {RuntimeInformation.ProcessArchitecture}, Vector<float>.Count = {Vector<float>.Count}";
        int[] seeds = [.. Enumerable.Range(options.FirstSeed, options.SeedCount)];
        string date = DateTime.UtcNow.ToString("yyyy-MM-dd", inv);
        const string Nll = "negative log-likelihood in nats per predicted time step: the sum over a split of -log p(x_{t+1} | x_{<=t}) over the 88 keys, divided by the number of predicted steps (each sequence of T steps predicts T-1)";
        string protocol = $"Adam, learning rate {options.LearningRate.ToString("R", inv)} for every variant, mini-batches of 4 sequences, gradient norm clipped at 1, learning rate halved after 3 epochs without a better validation NLL, early stopping after 8, best validation epoch kept (Chung2014.Protocol)";
        const string Determinism = "The budget is a number of epochs, never seconds: for a given seed every number but the wall time is the same at any machine load and any number of parallel jobs (each run is single-threaded), and bit-identical across machines with the same Vector<float>.Count.";
        const string Counting = "parameters that take part in the computation, output layer (88·H + 88) and both PyTorch bias vectors included; an ablated GRU stores the weights of its missing gate (PyTorch's layout) but they get no gradient and are not counted";

        static double? N(double v) => double.IsFinite(v) ? v : null;
        static object Spread(SeedSpread s) => new { mean = N(s.Mean), sd = N(s.StandardDeviation), min = N(s.Min), max = N(s.Max), n = s.Count };
        var json = new
        {
            experiment = "gate ablation (issue #7): GRU without reset or update gate, both update conventions, reset before/after the product, LSTM and tanh RNN at an equal parameter budget",
            command = options.CommandLine,
            protocol,
            nll = Nll,
            determinism = Determinism,
            parameter_budget = options.ParameterBudget,
            parameter_counting = Counting,
            seeds,
            epoch_budget = result.EpochBudget,
            jobs = options.Jobs,
            machine,
            date,
            wall_seconds = result.WallSeconds,
            variants = result.Summaries.Select(s => s.Variant).Distinct().Select(v =>
            {
                int h = result.Summaries.First(s => s.Variant == v).HiddenSize;
                return new { name = v.Name, label = v.Label, change = v.Change, cell = v.Cell.ToString().ToLowerInvariant(), hidden_size = h, parameters = v.Parameters(h), stored_parameters = v.StoredParameters(h) };
            }),
            summary = result.Summaries.Select(s => new
            {
                data_set = s.DataSet, variant = s.Variant.Name, hidden_size = s.HiddenSize, parameters = s.Parameters,
                test_nll = Spread(s.Test), valid_nll = Spread(s.Valid), train_nll = Spread(s.Train), best_epoch = Spread(s.BestEpoch), epochs = Spread(s.Epochs),
                stopped_at_epoch_limit = s.StoppedAtLimit, seconds = s.Seconds,
            }),
            findings = result.Findings,
            runs = result.Runs.Select(r => new
            {
                data_set = r.DataSet, variant = r.Variant, seed = r.Seed, hidden_size = r.HiddenSize, parameters = r.Parameters, stored_parameters = r.StoredParameters,
                best_epoch = r.BestEpoch, epochs = r.Epochs, stop = r.Stop.ToString(),
                train_nll = N(r.TrainNll), valid_nll = N(r.ValidNll), test_nll = N(r.TestNll), seconds = r.Seconds,
                history = r.History.Select(h => new { epoch = h.Epoch, train = N(h.TrainNll), valid = N(h.ValidNll), lr = h.LearningRate, seconds = h.Seconds }),
            }),
        };
        AtomicFile.Write(Path.Combine(options.OutputDirectory, stem + ".json"), s =>
            JsonSerializer.Serialize(s, json, new JsonSerializerOptions { WriteIndented = true }));

        // Curves: validation NLL per epoch, one colour per variant, every seed drawn (further seeds without a legend entry);
        // a second chart of each data set starts at 30 % of the longest run, where the first epochs no longer squeeze the scale.
        var charts = new List<string>();
        string[] palette = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#b8a800"];
        foreach (var group in result.Summaries.GroupBy(s => s.DataSet))
        {
            var runsOfSet = result.Runs.Where(r => r.DataSet == group.Key).ToList();
            int longest = runsOfSet.Max(r => r.History.Count);
            int from = Math.Max(2, (int)Math.Ceiling(longest * 0.3));
            foreach (var (suffix, first) in new[] { ("", 1), ("-end", from) })
            {
                if (suffix.Length > 0 && longest < 6) continue;
                var chart = new LineChart
                {
                    Title = first == 1 ? $"{group.Key}: validation NLL per epoch" : $"{group.Key}: validation NLL from epoch {first}",
                    XLabel = "epoch",
                    YLabel = "validation NLL per time step (nats)",
                    Width = 900,
                    Height = 520,
                };
                foreach (var s in group)
                {
                    string color = palette[IndexOf(s.Variant) % palette.Length];
                    string? dash = s.Variant.Name == "gru-take-candidate" ? "7 4" : null;
                    bool named = false;
                    foreach (var r in runsOfSet.Where(r => r.Variant == s.Variant.Name))
                    {
                        chart.AddSeries(named ? "" : $"{s.Variant.Label} (H = {s.HiddenSize})", r.History.Where(h => h.Epoch >= first).Select(h => ((double)h.Epoch, h.ValidNll)), color, dash);
                        named = true;
                    }
                }
                string file = $"{stem}-{group.Key}{suffix}.svg";
                chart.WriteFile(Path.Combine(options.OutputDirectory, file));
                charts.Add(file);
            }
        }

        var md = new StringBuilder();
        md.AppendLine("# Gate ablation: which parts of the GRU matter, at an equal parameter budget").AppendLine();
        md.AppendLine(inv, $"Produced by `{options.CommandLine ?? "gated reproduce gates"}` on {machine}, {date}, in {result.WallSeconds / 60:F1} minutes of wall time ({options.Jobs} run(s) at a time).").AppendLine();
        md.AppendLine(inv, $"NLL is in nats per predicted time step: the sum over a split of −log p(x_{{t+1}} | x_{{≤t}}) over the 88 keys, divided by the number of predicted steps (a sequence of T steps predicts T − 1). Lower is better. Each run's model of its best validation epoch is evaluated.").AppendLine();
        md.AppendLine(inv, $"Protocol, the same for every run: {protocol}. Epoch limit: {string.Join(", ", result.EpochBudget.Select(kv => $"{kv.Key} {kv.Value}"))}. Seeds: {string.Join(", ", seeds)}.").AppendLine();
        md.AppendLine(Determinism).AppendLine();
        md.AppendLine("## The models").AppendLine();
        md.AppendLine(inv, $"Each variant's hidden size H is the one whose parameter count is closest to {options.ParameterBudget:N0}, counting the {Counting}.").AppendLine();
        md.AppendLine("| variant | what changes | H | parameters | stored |");
        md.AppendLine("|---|---|---:|---:|---:|");
        foreach (var v in result.Summaries.Select(s => s.Variant).Distinct())
        {
            int h = result.Summaries.First(s => s.Variant == v).HiddenSize;
            md.AppendLine(inv, $"| {v.Label} (`{v.Name}`) | {v.Change} | {h} | {v.Parameters(h):N0} ({(v.Parameters(h) - options.ParameterBudget) * 100.0 / options.ParameterBudget:+0.0;−0.0}%) | {v.StoredParameters(h):N0} |");
        }
        md.AppendLine().AppendLine("## Results").AppendLine();
        md.AppendLine(seeds.Length > 1
            ? $"Mean ± standard deviation over the {seeds.Length} seeds, with [min – max] for the test NLL. Epochs: best epoch / epochs trained, means over the seeds; \"at limit\" counts runs that ended at the epoch limit rather than by early stopping. Seconds: wall time summed over the seeds (depends on the machine's load; nothing else does)."
            : "One seed per variant. Epochs: best epoch / epochs trained; \"at limit\" marks a run that ended at the epoch limit rather than by early stopping. Seconds: wall time (depends on the machine's load; nothing else does).").AppendLine();
        md.AppendLine("| data set | variant | H | parameters | test NLL | valid NLL | train NLL | epochs | at limit | seconds |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var s in result.Summaries)
        {
            string test = seeds.Length > 1 ? $"{s.Test.Mean:F3} ± {s.Test.StandardDeviation:F3} [{s.Test.Min:F3} – {s.Test.Max:F3}]" : $"{s.Test.Mean:F3}";
            string valid = seeds.Length > 1 ? $"{s.Valid.Mean:F3} ± {s.Valid.StandardDeviation:F3}" : $"{s.Valid.Mean:F3}";
            string train = seeds.Length > 1 ? $"{s.Train.Mean:F3} ± {s.Train.StandardDeviation:F3}" : $"{s.Train.Mean:F3}";
            md.AppendLine(string.Create(inv, $"| {s.DataSet} | {s.Variant.Label} | {s.HiddenSize} | {s.Parameters:N0} | {test} | {valid} | {train} | {s.BestEpoch.Mean:0.#} / {s.Epochs.Mean:0.#} | {s.StoppedAtLimit}/{s.Test.Count} | {s.Seconds:F0} |"));
        }
        md.AppendLine().AppendLine("## What the numbers show").AppendLine();
        foreach (string p in result.Findings) md.AppendLine(p).AppendLine();
        md.AppendLine("## Learning curves").AppendLine();
        md.AppendLine("Validation NLL after each epoch; one colour per variant, one line per seed (TakeCandidate dashed). The second chart of each data set leaves out the first 30 % of the epochs, so the end of training is readable.").AppendLine();
        foreach (string file in charts) md.AppendLine(inv, $"![{file}]({file})");
        AtomicFile.Write(Path.Combine(options.OutputDirectory, stem + ".md"), s =>
        {
            using var writer = new StreamWriter(s, new UTF8Encoding(false));
            writer.Write(md.ToString());
        });
    }

    private sealed class Inline<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
