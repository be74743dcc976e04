using Gated.Layers;

namespace Gated.Benchmarks;

/// <summary>What a benchmark times.</summary>
public enum BenchmarkPhase
{
    /// <summary>
    /// One training step: zero the gradients, forward through the recurrent layer and the sigmoid
    /// output layer, Bernoulli NLL (summed over the outputs, averaged over the B·T predicted steps),
    /// backward, clipping of the global gradient norm at 1, and an RMSProp update.
    /// </summary>
    Training,

    /// <summary>Forward-only inference over the whole (T, B, I) input: the recurrent layer, then the output layer.</summary>
    Inference,

    /// <summary>The latency of one streaming step (<see cref="RecurrentStream{T}.Step"/>) of the recurrent layer alone, carrying the state.</summary>
    StreamStep,
}

/// <summary>
/// One benchmark workload: the sizes of a recurrent layer and its input, the output layer, and which
/// phases are timed. All arithmetic is float32.
/// </summary>
/// <param name="Name">The name used on the command line, e.g. <c>medium</c>.</param>
/// <param name="InputSize">I, the input features per step.</param>
/// <param name="HiddenSize">H, the hidden units.</param>
/// <param name="BatchSize">B, the sequences per batch.</param>
/// <param name="Steps">T, the time steps per sequence.</param>
/// <param name="OutputSize">O, the sigmoid outputs of the linear output layer (88 keys for the music workloads, I for the others).</param>
/// <param name="Phases">The phases timed for this workload.</param>
/// <param name="Description">One line saying what the workload stands for.</param>
public sealed record Workload(string Name, int InputSize, int HiddenSize, int BatchSize, int Steps, int OutputSize,
    IReadOnlyList<BenchmarkPhase> Phases, string Description)
{
    /// <summary>B·T, the time steps one iteration processes (1 for a streaming step with B = 1).</summary>
    public long TimeStepsPerIteration => (long)BatchSize * Steps;

    /// <summary>
    /// The floating-point operations of the recurrent layer's matrix products in one iteration of a phase:
    /// 2·G·H·(I+H)·B·T for a forward pass (<see cref="BenchmarkPhase.Inference"/>, <see cref="BenchmarkPhase.StreamStep"/>),
    /// three times that for a training step (the backward pass counts twice the forward).
    /// The output layer, the elementwise gate arithmetic, the loss, clipping and the optimiser are not counted.
    /// </summary>
    /// <param name="cell">The cell, which fixes G (GRU 3, LSTM 4, tanh RNN 1).</param>
    /// <param name="phase">The phase.</param>
    public double Flops(CellKind cell, BenchmarkPhase phase) =>
        Workloads.ForwardFlops(Workloads.GateCount(cell), InputSize, HiddenSize, BatchSize, Steps) * (phase == BenchmarkPhase.Training ? 3 : 1);

    /// <summary>Whether this workload times <paramref name="phase"/>.</summary>
    public bool Has(BenchmarkPhase phase) => Phases.Contains(phase);

    /// <inheritdoc/>
    public override string ToString() => $"{Name} (I={InputSize}, H={HiddenSize}, B={BatchSize}, T={Steps}, O={OutputSize})";
}

/// <summary>
/// The benchmark workloads, as data: the same table drives <c>gated bench</c>, the BenchmarkDotNet
/// project and <c>bench/torch_bench.py</c> (which repeats it; keep the two in step).
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>name</term><description>I, H, B, T, O: phases</description></listheader>
/// <item><term>chung-music</term><description>88, 46, 1, 200, 88: training (the model size of Chung et al. 2014, one sequence at a time)</description></item>
/// <item><term>music-batch</term><description>88, 46, 16, 100, 88: training</description></item>
/// <item><term>medium</term><description>128, 256, 32, 100, 128: training and inference</description></item>
/// <item><term>large</term><description>512, 1024, 64, 50, 512: training and inference</description></item>
/// <item><term>stream-step</term><description>88, 256, 1, 1, 88: the latency of one streaming step (the output layer is not run)</description></item>
/// </list>
/// The music workloads end in the 88-unit sigmoid output of a piano-roll model; medium and large
/// have no natural output, so theirs has I units (predict the next input).
/// </remarks>
public static class Workloads
{
    /// <summary>chung-music: I 88, H 46, B 1, T 200, 88 outputs; training.</summary>
    public static Workload ChungMusic { get; } = new("chung-music", 88, 46, 1, 200, 88, [BenchmarkPhase.Training],
        "the polyphonic-music model of Chung et al. 2014, one sequence per update");

    /// <summary>music-batch: I 88, H 46, B 16, T 100, 88 outputs; training.</summary>
    public static Workload MusicBatch { get; } = new("music-batch", 88, 46, 16, 100, 88, [BenchmarkPhase.Training],
        "the same model trained on mini-batches of 16");

    /// <summary>medium: I 128, H 256, B 32, T 100, 128 outputs; training and inference.</summary>
    public static Workload Medium { get; } = new("medium", 128, 256, 32, 100, 128, [BenchmarkPhase.Training, BenchmarkPhase.Inference],
        "a mid-sized sequence model");

    /// <summary>large: I 512, H 1024, B 64, T 50, 512 outputs; training and inference.</summary>
    public static Workload Large { get; } = new("large", 512, 1024, 64, 50, 512, [BenchmarkPhase.Training, BenchmarkPhase.Inference],
        "a large layer, where the matrix products dominate");

    /// <summary>stream-step: I 88, H 256, B 1, T 1; the latency of one streaming inference step.</summary>
    public static Workload StreamStep { get; } = new("stream-step", 88, 256, 1, 1, 88, [BenchmarkPhase.StreamStep],
        "one step of online generation");

    /// <summary>All workloads, in the order they are reported.</summary>
    public static IReadOnlyList<Workload> All { get; } = [ChungMusic, MusicBatch, Medium, Large, StreamStep];

    /// <summary>The workload of a name (ignoring case), or null.</summary>
    public static Workload? Find(string? name) =>
        All.FirstOrDefault(w => string.Equals(w.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase));

    /// <summary>G, the gate blocks of a cell's weight matrices: GRU 3, LSTM 4, tanh RNN 1.</summary>
    public static int GateCount(CellKind cell) => cell switch
    {
        CellKind.Gru => 3,
        CellKind.Lstm => 4,
        _ => 1,
    };

    /// <summary>2·G·H·(I+H)·B·T: the operations of the matrix products of one forward pass of a recurrent layer.</summary>
    public static double ForwardFlops(int gates, int inputSize, int hiddenSize, int batchSize, int steps) =>
        2.0 * gates * hiddenSize * ((double)inputSize + hiddenSize) * batchSize * steps;

    /// <summary>2·m·n·k: the operations of one m×k by k×n matrix product.</summary>
    public static double GemmFlops(int m, int n, int k) => 2.0 * m * n * k;
}
