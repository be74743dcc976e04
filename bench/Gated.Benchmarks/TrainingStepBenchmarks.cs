using BenchmarkDotNet.Attributes;
using Gated.Benchmarks;
using Gated.Kernels;
using Gated.Layers;

namespace Gated.Benchmarks.Micro;

/// <summary>
/// One training step of the music-batch (I 88, H 46, B 16, T 100) and medium (I 128, H 256, B 32, T 100)
/// workloads, GRU and LSTM, at 1 and 2 <see cref="ComputeThreads"/>: exactly the iteration <c>gated bench</c>
/// times (<see cref="BenchmarkCase"/>: forward, Bernoulli NLL, backward, clipping, RMSProp). The memory
/// diagnoser's "Allocated" column is the bytes allocated per training step after BenchmarkDotNet's warm-up;
/// issue #4 asks for 0 B.
/// </summary>
[MemoryDiagnoser]
public class TrainingStepBenchmarks
{
    private BenchmarkCase step = null!;
    private int savedThreads;

    /// <summary>The workload.</summary>
    [Params("music-batch", "medium")]
    public string Workload { get; set; } = "music-batch";

    /// <summary>The cell.</summary>
    [Params(CellKind.Gru, CellKind.Lstm)]
    public CellKind Cell { get; set; } = CellKind.Gru;

    /// <summary><see cref="ComputeThreads.Count"/> during the benchmark.</summary>
    [Params(1, 2)]
    public int Threads { get; set; } = 1;

    /// <summary>Sets the thread count and builds the model, data and optimiser.</summary>
    [GlobalSetup]
    public void Setup()
    {
        savedThreads = ComputeThreads.Count;
        ComputeThreads.Count = Threads;
        step = new BenchmarkCase(Workloads.Find(Workload) ?? throw new InvalidOperationException($"No workload {Workload}."), Cell, BenchmarkPhase.Training);
    }

    /// <summary>Restores <see cref="ComputeThreads.Count"/> (the benchmarks run in one process).</summary>
    [GlobalCleanup]
    public void Cleanup() => ComputeThreads.Count = savedThreads;

    /// <summary>Forward, Bernoulli NLL, backward, clipping, RMSProp.</summary>
    [Benchmark]
    public void TrainingStep() => step.Run();
}
