using BenchmarkDotNet.Attributes;
using Gated.Benchmarks;
using Gated.Kernels;

namespace Gated.Benchmarks.Micro;

/// <summary>
/// <c>Gemm.Multiply</c> at the shapes a GRU layer (G = 3) uses, for the hidden sizes and batches of
/// the chung-music (H 46, B 1, T 200) and medium (H 256, B 32, T 100) workloads:
/// NT = the hidden projection of one forward step, h (B×H) · W_hhᵀ (H×3H);
/// NN = the hidden-state gradient of one backward step, δgates (B×3H) · W_hh (3H×H);
/// TN = the recurrent weight gradient over the whole sequence, δgatesᵀ (3H×T·B) · h (T·B×H).
/// </summary>
[MemoryDiagnoser]
public class GemmBenchmarks
{
    private float[] hidden = [], weights = [], gates = [], sequenceGates = [], sequenceHidden = [], output = [], weightGradient = [];
    private int b, h, g, rows;

    /// <summary>The workload whose shapes are used.</summary>
    [Params("chung-music", "medium")]
    public string Workload { get; set; } = "chung-music";

    /// <summary>Allocates random operands.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var w = Workloads.Find(Workload) ?? throw new InvalidOperationException($"No workload {Workload}.");
        b = w.BatchSize;
        h = w.HiddenSize;
        g = 3 * h;
        rows = w.Steps * w.BatchSize;
        var random = new Random(1);
        hidden = Random(random, b * h);
        weights = Random(random, g * h);
        gates = Random(random, b * g);
        sequenceGates = Random(random, rows * g);
        sequenceHidden = Random(random, rows * h);
        output = new float[Math.Max(b * g, b * h)];
        weightGradient = new float[g * h];
    }

    /// <summary>Forward step: (B×H)·(3H×H)ᵀ.</summary>
    [Benchmark]
    public void NT() => Gemm.Multiply(false, true, b, g, h, hidden, h, weights, h, output, g, accumulate: false);

    /// <summary>Backward step: (B×3H)·(3H×H).</summary>
    [Benchmark]
    public void NN() => Gemm.Multiply(false, false, b, h, g, gates, g, weights, h, output, h, accumulate: false);

    /// <summary>Weight gradient over the sequence: (T·B×3H)ᵀ·(T·B×H), accumulated.</summary>
    [Benchmark]
    public void TN() => Gemm.Multiply(true, false, g, h, rows, sequenceGates, g, sequenceHidden, h, weightGradient, h, accumulate: true);

    private static float[] Random(Random random, int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(random.NextDouble() * 2 - 1);
        return a;
    }
}
