using BenchmarkDotNet.Attributes;
using Gated.Benchmarks;
using Gated.Layers;

namespace Gated.Benchmarks.Micro;

/// <summary>
/// One GRU training step of the music-batch workload (I 88, H 46, B 16, T 100, 88 sigmoid outputs):
/// exactly the iteration <c>gated bench</c> times (<see cref="BenchmarkCase"/>), with allocations counted.
/// </summary>
[MemoryDiagnoser]
public class TrainingStepBenchmarks
{
    private BenchmarkCase step = null!;

    /// <summary>Builds the model, data and optimiser.</summary>
    [GlobalSetup]
    public void Setup() => step = new BenchmarkCase(Workloads.MusicBatch, CellKind.Gru, BenchmarkPhase.Training);

    /// <summary>Forward, Bernoulli NLL, backward, clipping, RMSProp.</summary>
    [Benchmark]
    public void GruTrainingStepMusicBatch() => step.Run();
}
