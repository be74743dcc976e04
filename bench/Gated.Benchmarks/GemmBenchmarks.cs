using BenchmarkDotNet.Attributes;
using Gated.Benchmarks;
using Gated.Kernels;

namespace Gated.Benchmarks.Micro;

/// <summary>
/// <c>Gemm.Multiply</c> at the shapes a GRU layer (G = 3, so 3H gate columns) computes for each benchmark
/// workload (I, H, B, T of <see cref="Workloads"/>), at 1 and 2 <see cref="ComputeThreads"/>:
/// <list type="bullet">
/// <item><see cref="InputProjection"/>: the input projection of all steps at once, X (T·B×I) · W_ihᵀ (3H×I).</item>
/// <item><see cref="StepForward"/>: the recurrent product of one forward step, h (B×H) · W_hhᵀ, from W_hh packed once
/// per pass when the packed kernel takes the shape (as the layer does), else straight from the weights.</item>
/// <item><see cref="StepBackward"/>: the hidden-state gradient of one backward step, δgates (B×3H) · W_hh (3H×H), likewise.</item>
/// <item><see cref="RecurrentWeightGradient"/>: ∂W_hh += δgatesᵀ (3H×T·B) · h (T·B×H) over the whole sequence.</item>
/// <item><see cref="InputGradient"/>: ∂X = δgates (T·B×3H) · W_ih (3H×I).</item>
/// </list>
/// Allocations are counted (<c>[MemoryDiagnoser]</c>): a product allocates nothing once its thread's packing
/// buffers exist.
/// </summary>
[MemoryDiagnoser]
public class GemmBenchmarks
{
    private float[] input = [], inputWeights = [], hidden = [], weights = [], gates = [], sequenceGates = [], sequenceHidden = [],
        projection = [], stepOutput = [], stepGradient = [], weightGradient = [], inputGradient = [];
    private readonly PackedMatrix<float> forwardPack = new(), backwardPack = new();
    private int i, b, h, g, rows, savedThreads;

    /// <summary>The workload whose shapes are used.</summary>
    [Params("chung-music", "music-batch", "medium", "large")]
    public string Workload { get; set; } = "chung-music";

    /// <summary><see cref="ComputeThreads.Count"/> during the benchmark.</summary>
    [Params(1, 2)]
    public int Threads { get; set; } = 1;

    /// <summary>Sets the thread count, allocates random operands and packs W_hh as a layer does once per pass.</summary>
    [GlobalSetup]
    public void Setup()
    {
        savedThreads = ComputeThreads.Count;
        ComputeThreads.Count = Threads;
        var w = Workloads.Find(Workload) ?? throw new InvalidOperationException($"No workload {Workload}.");
        i = w.InputSize;
        b = w.BatchSize;
        h = w.HiddenSize;
        g = 3 * h;
        rows = w.Steps * w.BatchSize;
        var random = new Random(1);
        input = Random(random, rows * i);
        inputWeights = Random(random, g * i);
        hidden = Random(random, b * h);
        weights = Random(random, g * h);
        gates = Random(random, b * g);
        sequenceGates = Random(random, rows * g);
        sequenceHidden = Random(random, rows * h);
        projection = new float[rows * g];
        stepOutput = new float[b * g];
        stepGradient = new float[b * h];
        weightGradient = new float[g * h];
        inputGradient = new float[rows * i];
        if (Gemm.UsePacked<float>(b, g, h)) forwardPack.Pack(true, h, g, weights, h);
        if (Gemm.UsePacked<float>(b, h, g)) backwardPack.Pack(false, g, h, weights, h);
    }

    /// <summary>Restores <see cref="ComputeThreads.Count"/> (the benchmarks run in one process).</summary>
    [GlobalCleanup]
    public void Cleanup() => ComputeThreads.Count = savedThreads;

    /// <summary>X (T·B×I) · W_ihᵀ (3H×I): NT.</summary>
    [Benchmark]
    public void InputProjection() => Gemm.Multiply(false, true, rows, g, i, input, i, inputWeights, i, projection, g, accumulate: false);

    /// <summary>h (B×H) · W_hhᵀ (3H×H): NT, or the prepacked kernel.</summary>
    [Benchmark]
    public void StepForward()
    {
        if (forwardPack.IsReady) Gemm.MultiplyPacked(false, b, hidden, h, forwardPack, stepOutput, g, accumulate: false);
        else Gemm.Multiply(false, true, b, g, h, hidden, h, weights, h, stepOutput, g, accumulate: false);
    }

    /// <summary>δgates (B×3H) · W_hh (3H×H): NN, or the prepacked kernel.</summary>
    [Benchmark]
    public void StepBackward()
    {
        if (backwardPack.IsReady) Gemm.MultiplyPacked(false, b, gates, g, backwardPack, stepGradient, h, accumulate: false);
        else Gemm.Multiply(false, false, b, h, g, gates, g, weights, h, stepGradient, h, accumulate: false);
    }

    /// <summary>∂W_hh (3H×H) += δgatesᵀ (3H×T·B) · h (T·B×H): TN, accumulated.</summary>
    [Benchmark]
    public void RecurrentWeightGradient() => Gemm.Multiply(true, false, g, h, rows, sequenceGates, g, sequenceHidden, h, weightGradient, h, accumulate: true);

    /// <summary>∂X (T·B×I) = δgates (T·B×3H) · W_ih (3H×I): NN.</summary>
    [Benchmark]
    public void InputGradient() => Gemm.Multiply(false, false, rows, i, g, sequenceGates, g, inputWeights, i, inputGradient, i, accumulate: false);

    private static float[] Random(Random random, int n)
    {
        var a = new float[n];
        for (int k = 0; k < n; k++) a[k] = (float)(random.NextDouble() * 2 - 1);
        return a;
    }
}
