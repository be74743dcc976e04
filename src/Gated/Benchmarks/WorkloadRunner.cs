using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;
using Gated.Kernels;
using Gated.Layers;
using Gated.Memory;
using Gated.Training;

namespace Gated.Benchmarks;

/// <summary>How long and how often a benchmark runs.</summary>
/// <remarks>
/// <para>Warm-up: iterations run until at least <see cref="WarmupSeconds"/> (by default 3 s) have passed and either two iterations have run or one iteration alone
/// took <see cref="MinSeconds"/> (a slow workload is not warmed up twice).</para>
/// <para>Timed part: the iterations are grouped in blocks sized from the last warm-up iteration so
/// that <see cref="Blocks"/> blocks take about <see cref="MinSeconds"/>; blocks run until there are at
/// least <see cref="Blocks"/> of them, at least <see cref="MinRepetitions"/> iterations and at least
/// <see cref="MinSeconds"/> of timed work. The reported time is the median over blocks of the time per
/// iteration, which shrugs off a garbage collection or a neighbour's burst in one block.</para>
/// <para>A streaming step is too short to time alone reliably in blocks of one, yet its latency is the
/// point: each step is timed on its own and the median of all of them is reported.</para>
/// <para>Threads: <see cref="Threads"/>, when set, is the <see cref="ComputeThreads.Count"/> that
/// <see cref="WorkloadRunner.Run"/> and <see cref="WorkloadRunner.MeasureGemm"/> compute with (they set it for the
/// measurement and restore it after). Results are identical bit for bit whatever the count; only the speed changes.</para>
/// </remarks>
public sealed record BenchmarkSettings
{
    /// <summary>The least timed work per measurement, in seconds (default 1).</summary>
    public double MinSeconds { get; init; } = 1;

    /// <summary>The least number of timed iterations (default 5).</summary>
    public int MinRepetitions { get; init; } = 5;

    /// <summary>The least number of timed blocks whose median is reported (default 5).</summary>
    public int Blocks { get; init; } = 5;

    /// <summary>The least warm-up time in seconds; null for max(0.5, <see cref="MinSeconds"/>/5), capped at <see cref="MinSeconds"/>.</summary>
    public double? WarmupSeconds { get; init; }

    /// <summary>The seed of the weights, inputs and targets (default 1).</summary>
    public int Seed { get; init; } = 1;

    /// <summary>
    /// The threads Gated's matrix products are split over while measuring (<see cref="ComputeThreads.Count"/>, 1–64);
    /// null (the default) measures at whatever <see cref="ComputeThreads.Count"/> is when the measurement starts.
    /// </summary>
    public int? Threads { get; init; }

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public void Validate()
    {
        if (!(double.IsFinite(MinSeconds) && MinSeconds >= 0)) throw new ArgumentOutOfRangeException(nameof(MinSeconds), MinSeconds, "MinSeconds must be finite and ≥ 0.");
        ArgumentOutOfRangeException.ThrowIfLessThan(MinRepetitions, 1, nameof(MinRepetitions));
        ArgumentOutOfRangeException.ThrowIfLessThan(Blocks, 1, nameof(Blocks));
        if (WarmupSeconds is double w && !(double.IsFinite(w) && w >= 0)) throw new ArgumentOutOfRangeException(nameof(WarmupSeconds), w, "WarmupSeconds must be finite and ≥ 0.");
        if (Threads is int t && t is < 1 or > MaxThreads) throw new ArgumentOutOfRangeException(nameof(Threads), t, $"Threads must be 1 to {MaxThreads}.");
    }

    /// <summary>The largest <see cref="Threads"/> (the largest <see cref="ComputeThreads.Count"/>).</summary>
    public const int MaxThreads = 64;

    /// <summary>The thread count a measurement with these settings runs at: <see cref="Threads"/>, or the current <see cref="ComputeThreads.Count"/>.</summary>
    public int EffectiveThreads => Threads ?? ComputeThreads.Count;

    /// <summary>
    /// The warm-up time: <see cref="WarmupSeconds"/> when given, else 3 s, so that the JIT's tiered compilation has replaced the first, unoptimised code before timing
    /// starts. Measured on chung-music (GRU training, one thread): an iteration takes about 20 ms in its first
    /// 50 calls, still 3–6 ms after 150, and 1.3 ms from about 250 calls (≈ 1 s) on; 0.5 s of warm-up timed
    /// partly unoptimised code (the GRU row varied 4× between runs).
    /// </summary>
    internal double EffectiveWarmupSeconds => WarmupSeconds ?? 3.0;
}

/// <summary>The outcome of timing one repeated action.</summary>
/// <param name="SecondsPerIteration">The median over blocks (or, for single-step timing, over steps) of the seconds per iteration.</param>
/// <param name="MinSecondsPerIteration">The fastest block's (or step's) seconds per iteration.</param>
/// <param name="MaxSecondsPerIteration">The slowest block's (or step's) seconds per iteration.</param>
/// <param name="Iterations">The timed iterations, warm-up excluded.</param>
/// <param name="Samples">The timed blocks (or single steps) the median is taken over.</param>
/// <param name="WarmupIterations">The untimed iterations run first.</param>
/// <param name="TimedSeconds">The total timed seconds.</param>
public sealed record Timing(double SecondsPerIteration, double MinSecondsPerIteration, double MaxSecondsPerIteration,
    long Iterations, int Samples, int WarmupIterations, double TimedSeconds);

/// <summary>The measurement of one workload, cell and phase.</summary>
/// <param name="Workload">The workload.</param>
/// <param name="Cell">The cell.</param>
/// <param name="Phase">What was timed.</param>
/// <param name="Timing">The timing.</param>
/// <param name="Threads">The <see cref="ComputeThreads.Count"/> it was measured at.</param>
public sealed record BenchmarkResult(Workload Workload, CellKind Cell, BenchmarkPhase Phase, Timing Timing, int Threads)
{
    /// <summary>Time steps per second: B·T per iteration divided by the median seconds per iteration.</summary>
    public double StepsPerSecond => Workload.TimeStepsPerIteration / Timing.SecondsPerIteration;

    /// <summary>The counted operations of one iteration (<see cref="Workload.Flops"/>), in GFLOP.</summary>
    public double GflopPerIteration => Workload.Flops(Cell, Phase) / 1e9;

    /// <summary>Counted GFLOP per second of the median iteration.</summary>
    public double Gflops => GflopPerIteration / Timing.SecondsPerIteration;

    /// <summary>The median latency of one iteration in microseconds (the figure that matters for <see cref="BenchmarkPhase.StreamStep"/>).</summary>
    public double LatencyMicroseconds => Timing.SecondsPerIteration * 1e6;
}

/// <summary>The measured speed of <c>Gemm.Multiply</c> on one square product.</summary>
/// <param name="Shape">"NN" (C = A·B), "NT" (C = A·Bᵀ) or "TN" (C = Aᵀ·B).</param>
/// <param name="Size">n: A, B and C are n×n.</param>
/// <param name="Timing">The timing of one product.</param>
/// <param name="Threads">The <see cref="ComputeThreads.Count"/> it was measured at.</param>
public sealed record GemmResult(string Shape, int Size, Timing Timing, int Threads)
{
    /// <summary>2·n³ operations divided by the median seconds per product, in GFLOP/s.</summary>
    public double Gflops => Workloads.GemmFlops(Size, Size, Size) / 1e9 / Timing.SecondsPerIteration;
}

/// <summary>What the measurements ran on, for the record.</summary>
/// <param name="Framework">The .NET runtime, e.g. ".NET 10.0.0".</param>
/// <param name="OperatingSystem">The operating system description.</param>
/// <param name="Architecture">The process architecture.</param>
/// <param name="ProcessorCount">Logical processors visible to the process.</param>
/// <param name="CpuModel">The processor's name from /proc/cpuinfo, or null where unknown.</param>
/// <param name="VectorBits">The width of <see cref="Vector{T}"/> in bits (256 with AVX2).</param>
/// <param name="Threads">The threads Gated's matrix products are split over (<see cref="ComputeThreads.Count"/>) for the measurements.</param>
public sealed record BenchmarkEnvironment(string Framework, string OperatingSystem, string Architecture, int ProcessorCount,
    string? CpuModel, int VectorBits, int Threads)
{
    /// <summary>Describes the current process and machine.</summary>
    /// <param name="threads">The thread count the measurements run at; null for the current <see cref="ComputeThreads.Count"/>.</param>
    public static BenchmarkEnvironment Current(int? threads = null) => new(
        RuntimeInformation.FrameworkDescription,
        RuntimeInformation.OSDescription,
        RuntimeInformation.ProcessArchitecture.ToString(),
        Environment.ProcessorCount,
        ReadCpuModel(),
        Vector.IsHardwareAccelerated ? Vector<byte>.Count * 8 : 0,
        threads ?? ComputeThreads.Count);

    private static string? ReadCpuModel()
    {
        try
        {
            if (!File.Exists("/proc/cpuinfo")) return null;
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':') is int colon and >= 0)
                    return line[(colon + 1)..].Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
        return null;
    }
}

/// <summary>
/// One prepared benchmark iteration: the model, optimiser, input and targets of a workload are built
/// once, and <see cref="Run"/> performs exactly the work that is timed.
/// </summary>
/// <remarks>
/// <para>The model is a one-layer <see cref="RecurrentLayer{T}"/> of float (PyTorch's conventions and
/// initialisation) followed by a <see cref="Linear{T}"/> output layer of <see cref="Workload.OutputSize"/> units.
/// Input and targets are time-major (T, B, ·) random binary arrays (each entry 1 with probability 0.1,
/// about the density of a piano roll), drawn once from the seed.</para>
/// <para>A training iteration: zero the gradients; forward through both layers; Bernoulli NLL of the
/// logits against the targets, summed over the outputs and averaged over the B·T steps
/// (<see cref="BernoulliNll.LossAndGradient"/> with scale 1/(B·T)); backward through both layers;
/// <see cref="GradientClipping.ClipByGlobalNorm"/> at 1; <see cref="RmsProp{T}"/> (lr 1e-3, α 0.99, ε 1e-8).
/// An inference iteration: the forward pass of both layers (the recurrent layer still keeps what a backward pass
/// would need; that is how it runs). A streaming iteration: one <see cref="RecurrentStream{T}.Step"/> of
/// the recurrent layer alone with batch B, carrying the state from step to step.</para>
/// </remarks>
public sealed class BenchmarkCase
{
    /// <summary>The learning rate of the RMSProp update.</summary>
    public const double LearningRate = 1e-3;

    /// <summary>The global gradient norm clipped to.</summary>
    public const double MaxGradientNorm = 1;

    private readonly RecurrentLayer<float> recurrent;
    private readonly Linear<float> head;
    private readonly ParameterBlock<float>[] blocks;
    private readonly RmsProp<float>? optimizer;
    private readonly Tensor<float> input, targets;
    private readonly RecurrentStream<float>? stream;
    private readonly float[] streamInput = [], streamOutput = [];
    private readonly double lossScale;

    /// <summary>Builds the model and data of a workload for one phase.</summary>
    /// <param name="workload">The workload.</param>
    /// <param name="cell">The cell (GRU, LSTM or tanh RNN).</param>
    /// <param name="phase">The phase to run.</param>
    /// <param name="seed">The seed of the weights and the data.</param>
    /// <exception cref="ArgumentException">A size of the workload is out of range.</exception>
    public BenchmarkCase(Workload workload, CellKind cell, BenchmarkPhase phase, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentOutOfRangeException.ThrowIfLessThan(workload.BatchSize, 1, nameof(workload));
        ArgumentOutOfRangeException.ThrowIfLessThan(workload.Steps, 1, nameof(workload));
        Workload = workload;
        Cell = cell;
        Phase = phase;
        var options = new RecurrentOptions { Cell = cell, InputSize = workload.InputSize, HiddenSize = workload.HiddenSize };
        // The input is data, as in bench/torch_bench.py (a tensor that does not require a gradient).
        recurrent = new RecurrentLayer<float>(options, seed) { InputRequiresGradient = false };
        head = new Linear<float>(workload.HiddenSize, workload.OutputSize, unchecked(seed * 7 + 3));
        blocks = [recurrent.Parameters, head.Parameters];
        var random = new Random(unchecked(seed * 13 + 5));
        int t = workload.Steps, b = workload.BatchSize;
        input = RandomBinary(random, t, b, workload.InputSize);
        targets = RandomBinary(random, t, b, workload.OutputSize);
        lossScale = 1.0 / (t * (double)b);
        switch (phase)
        {
            case BenchmarkPhase.Training:
                optimizer = new RmsProp<float>(blocks, LearningRate, alpha: 0.99, epsilon: 1e-8);
                break;
            case BenchmarkPhase.Inference:
                recurrent.Training = false;
                break;
            case BenchmarkPhase.StreamStep:
                stream = recurrent.CreateStream(b);
                streamInput = input.Data.AsSpan(0, b * workload.InputSize).ToArray();
                streamOutput = new float[b * workload.HiddenSize];
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(phase), phase, "Unknown phase.");
        }
    }

    /// <summary>The workload.</summary>
    public Workload Workload { get; }

    /// <summary>The cell.</summary>
    public CellKind Cell { get; }

    /// <summary>The phase <see cref="Run"/> performs.</summary>
    public BenchmarkPhase Phase { get; }

    /// <summary>The mean NLL per step of the last training iteration (NaN before one, or for other phases).</summary>
    public double LastLoss { get; private set; } = double.NaN;

    /// <summary>The global gradient norm before clipping of the last training iteration (NaN before one).</summary>
    public double LastGradientNorm { get; private set; } = double.NaN;

    /// <summary>The recurrent layer (for inspection by tests).</summary>
    public RecurrentLayer<float> Recurrent => recurrent;

    private RecurrentResult<float>? forwardResult;
    private RecurrentGradients<float>? backwardResult;
    private Tensor<float>? logitsBuffer, dHiddenBuffer;

    /// <summary>Runs one iteration of the phase.</summary>
    public void Run()
    {
        switch (Phase)
        {
            case BenchmarkPhase.Training: TrainingStep(); break;
            case BenchmarkPhase.Inference:
                forwardResult = recurrent.Forward(input, reuse: forwardResult);
                logitsBuffer = head.Forward(forwardResult.Output, logitsBuffer);
                break;
            default: stream!.Step(streamInput, streamOutput); break;
        }
    }

    private void TrainingStep()
    {
        optimizer!.ZeroGradients();
        // Every tensor is the previous step's, written over: a step allocates nothing after the first.
        forwardResult = recurrent.Forward(input, reuse: forwardResult);
        var logits = logitsBuffer = head.Forward(forwardResult.Output, logitsBuffer);
        // The gradient overwrites the logits (they are not needed after the loss).
        double loss = BernoulliNll.LossAndGradient<float>(logits.Data, targets.Data, logits.Data, lossScale);
        var dHidden = dHiddenBuffer = head.Backward(logits, dHiddenBuffer);
        backwardResult = recurrent.Backward(dHidden, reuse: backwardResult);
        LastGradientNorm = GradientClipping.ClipByGlobalNorm(blocks, MaxGradientNorm);
        optimizer.Step();
        LastLoss = loss * lossScale;
    }

    private static Tensor<float> RandomBinary(Random random, params int[] shape)
    {
        var tensor = new Tensor<float>(shape);
        foreach (ref float v in tensor.Span) v = random.NextDouble() < 0.1 ? 1f : 0f;
        return tensor;
    }
}

/// <summary>
/// Times the benchmark workloads (<see cref="Workloads"/>) and Gated's own matrix multiply, with the
/// method of <see cref="BenchmarkSettings"/>, at the thread count of <see cref="BenchmarkSettings.Threads"/>
/// (<see cref="ComputeThreads.Count"/>, set for each measurement and restored after it).
/// </summary>
public static class WorkloadRunner
{
    /// <summary>The matrix size of the GEMM peak measurement.</summary>
    public const int DefaultGemmSize = 2048;

    /// <summary>The cells benchmarked by default.</summary>
    public static IReadOnlyList<CellKind> DefaultCells { get; } = [CellKind.Gru, CellKind.Lstm];

    /// <summary>Builds a workload's model for one phase, warms it up and times it at <see cref="BenchmarkSettings.EffectiveThreads"/> threads.</summary>
    /// <param name="workload">The workload.</param>
    /// <param name="cell">The cell.</param>
    /// <param name="phase">The phase.</param>
    /// <param name="settings">The timing settings; null for the defaults.</param>
    /// <param name="cancellationToken">Checked between iterations.</param>
    /// <exception cref="InvalidOperationException">A training step produced a loss that is not finite.</exception>
    public static BenchmarkResult Run(Workload workload, CellKind cell, BenchmarkPhase phase, BenchmarkSettings? settings = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workload);
        settings ??= new BenchmarkSettings();
        settings.Validate();
        return AtThreads(settings.Threads, threads =>
        {
            var benchmark = new BenchmarkCase(workload, cell, phase, settings.Seed);
            var timing = phase == BenchmarkPhase.StreamStep
                ? MeasureEach(benchmark.Run, settings, cancellationToken)
                : Measure(benchmark.Run, settings, cancellationToken);
            if (phase == BenchmarkPhase.Training && !double.IsFinite(benchmark.LastLoss))
                throw new InvalidOperationException($"{workload.Name} {cell}: the training loss became {benchmark.LastLoss}; the measurement is not valid.");
            return new BenchmarkResult(workload, cell, phase, timing, threads);
        });
    }

    /// <summary>Every (workload, cell, phase) combination of the given workloads and cells, in report order.</summary>
    public static IEnumerable<(Workload Workload, CellKind Cell, BenchmarkPhase Phase)> Plan(IEnumerable<Workload> workloads, IEnumerable<CellKind> cells)
    {
        ArgumentNullException.ThrowIfNull(workloads);
        var cellList = cells?.ToArray() ?? throw new ArgumentNullException(nameof(cells));
        foreach (var workload in workloads)
            foreach (var cell in cellList)
                foreach (var phase in workload.Phases)
                    yield return (workload, cell, phase);
    }

    /// <summary>
    /// Times Gated's <c>Gemm.Multiply</c> on n×n float matrices for the three shapes the layers use
    /// (NN, NT, TN), at <see cref="BenchmarkSettings.EffectiveThreads"/> threads. The GEMM peak is the best of the three.
    /// </summary>
    /// <param name="size">n (default 2048).</param>
    /// <param name="settings">The timing settings; null for the defaults. At most 3 repetitions and 3 blocks are asked
    /// of each shape whatever the settings say (one product at n = 2048 can take a second or more).</param>
    /// <param name="cancellationToken">Checked between products.</param>
    public static IReadOnlyList<GemmResult> MeasureGemm(int size = DefaultGemmSize, BenchmarkSettings? settings = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, 16384);
        settings ??= new BenchmarkSettings();
        settings.Validate();
        settings = settings with { MinRepetitions = Math.Min(settings.MinRepetitions, 3), Blocks = Math.Min(settings.Blocks, 3) };
        var random = new Random(settings.Seed);
        float[] a = RandomMatrix(random, size), b = RandomMatrix(random, size), c = new float[size * size];
        return AtThreads(settings.Threads, threads =>
        {
            var results = new List<GemmResult>(3);
            foreach (var (shape, transA, transB) in new[] { ("NN", false, false), ("NT", false, true), ("TN", true, false) })
            {
                var timing = Measure(() => Gemm.Multiply(transA, transB, size, size, size, a, size, b, size, c, size, accumulate: false), settings, cancellationToken);
                results.Add(new GemmResult(shape, size, timing, threads));
            }
            return (IReadOnlyList<GemmResult>)results;
        });
    }

    /// <summary>
    /// Runs <paramref name="body"/> with <see cref="ComputeThreads.Count"/> set to <paramref name="threads"/> and
    /// restores the previous count after it, however it ends; null runs it at the current count without touching it.
    /// The body receives the count it runs at.
    /// </summary>
    internal static TResult AtThreads<TResult>(int? threads, Func<int, TResult> body)
    {
        if (threads is not int n) return body(ComputeThreads.Count);
        int saved = ComputeThreads.Count;
        ComputeThreads.Count = n;
        try
        {
            return body(n);
        }
        finally
        {
            ComputeThreads.Count = saved;
        }
    }

    /// <summary>The best GFLOP/s of <see cref="MeasureGemm"/>'s results, or NaN when there are none.</summary>
    public static double Peak(IEnumerable<GemmResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        double best = double.NaN;
        foreach (var r in results) if (!(r.Gflops <= best)) best = r.Gflops;
        return best;
    }

    /// <summary>
    /// Times an action in blocks of iterations after a warm-up, and reports the median seconds per
    /// iteration over the blocks (see <see cref="BenchmarkSettings"/>).
    /// </summary>
    /// <param name="iteration">One iteration.</param>
    /// <param name="settings">The timing settings.</param>
    /// <param name="cancellationToken">Checked between iterations.</param>
    public static Timing Measure(Action iteration, BenchmarkSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(iteration);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        var (warmup, lastSeconds) = WarmUp(iteration, settings, cancellationToken);

        long perBlock = (long)Math.Ceiling(settings.MinSeconds / settings.Blocks / Math.Max(lastSeconds, 1e-9));
        perBlock = Math.Clamp(perBlock, 1, 100_000_000);
        var samples = new List<double>();
        long iterations = 0;
        double timed = 0;
        const int MaxBlocks = 10_000;
        while ((samples.Count < settings.Blocks || iterations < settings.MinRepetitions || timed < settings.MinSeconds) && samples.Count < MaxBlocks)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long start = Stopwatch.GetTimestamp();
            for (long i = 0; i < perBlock; i++) iteration();
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            samples.Add(seconds / perBlock);
            iterations += perBlock;
            timed += seconds;
        }
        return Summarise(samples, iterations, warmup, timed);
    }

    /// <summary>
    /// Times every iteration on its own after a warm-up and reports the median over iterations: for
    /// latencies of microseconds, such as one streaming step.
    /// </summary>
    /// <param name="iteration">One iteration.</param>
    /// <param name="settings">The timing settings; at least 100 iterations are timed whatever <see cref="BenchmarkSettings.MinRepetitions"/> says.</param>
    /// <param name="cancellationToken">Checked every 1024 iterations.</param>
    public static Timing MeasureEach(Action iteration, BenchmarkSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(iteration);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        var (warmup, _) = WarmUp(iteration, settings, cancellationToken);
        int minimum = Math.Max(settings.MinRepetitions, 100);
        const int MaxSamples = 20_000_000;
        var samples = new List<double>();
        double timed = 0;
        while ((samples.Count < minimum || timed < settings.MinSeconds) && samples.Count < MaxSamples)
        {
            if ((samples.Count & 1023) == 0) cancellationToken.ThrowIfCancellationRequested();
            long start = Stopwatch.GetTimestamp();
            iteration();
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            samples.Add(seconds);
            timed += seconds;
        }
        return Summarise(samples, samples.Count, warmup, timed);
    }

    private static (int Iterations, double LastSeconds) WarmUp(Action iteration, BenchmarkSettings settings, CancellationToken cancellationToken)
    {
        double warmupSeconds = settings.EffectiveWarmupSeconds;
        long begin = Stopwatch.GetTimestamp();
        int count = 0;
        double last;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long start = Stopwatch.GetTimestamp();
            iteration();
            last = Stopwatch.GetElapsedTime(start).TotalSeconds;
            count++;
            double total = Stopwatch.GetElapsedTime(begin).TotalSeconds;
            if (total >= warmupSeconds && (count >= 2 || total >= settings.MinSeconds)) break;
        }
        return (count, last);
    }

    private static Timing Summarise(List<double> samples, long iterations, int warmup, double timed)
    {
        samples.Sort();
        int n = samples.Count;
        double median = n % 2 == 1 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
        return new Timing(median, samples[0], samples[^1], iterations, n, warmup, timed);
    }

    private static float[] RandomMatrix(Random random, int n)
    {
        var m = new float[n * n];
        for (int i = 0; i < m.Length; i++) m[i] = (float)(random.NextDouble() * 2 - 1);
        return m;
    }
}
