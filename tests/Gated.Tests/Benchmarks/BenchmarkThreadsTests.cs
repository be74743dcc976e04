using System.Text.Json;
using Gated.Benchmarks;
using Gated.Kernels;
using Gated.Layers;
using Gated.Memory;
using Gated.Tests.Kernels;
using Gated.Training;

namespace Gated.Tests.Benchmarks;

/// <summary>
/// <c>gated bench --threads</c> and <see cref="BenchmarkSettings.Threads"/> set <see cref="ComputeThreads.Count"/> for
/// the measurements and restore it; and what a training step allocates after warm-up. In the ComputeThreads
/// collection: these tests change, or depend on nobody else changing, the process-wide thread count.
/// </summary>
[Collection(ComputeThreadsCollection.Name)]
public sealed class BenchmarkThreadsTests
{
    private static readonly BenchmarkSettings Quick = new() { MinSeconds = 0, MinRepetitions = 2, Blocks = 2, WarmupSeconds = 0 };

    [Fact]
    public void TheRunnerMeasuresAtTheAskedThreadsAndRestoresTheCount()
    {
        int saved = ComputeThreads.Count;
        try
        {
            ComputeThreads.Count = 3;
            var workload = new Workload("tiny", 5, 4, 3, 6, 7, [BenchmarkPhase.Training], "a tiny test workload");
            var result = WorkloadRunner.Run(workload, CellKind.Gru, BenchmarkPhase.Training, Quick with { Threads = 2 });
            Assert.Equal(2, result.Threads);
            Assert.Equal(3, ComputeThreads.Count);

            var gemm = WorkloadRunner.MeasureGemm(16, Quick with { Threads = 1 });
            Assert.All(gemm, g => Assert.Equal(1, g.Threads));
            Assert.Equal(3, ComputeThreads.Count);

            // No Threads: the current count, left alone.
            Assert.Equal(3, WorkloadRunner.Run(workload, CellKind.Lstm, BenchmarkPhase.Inference, Quick).Threads);
            Assert.Equal(3, ComputeThreads.Count);
            Assert.Equal(3, Quick.EffectiveThreads);
            Assert.Equal(5, BenchmarkEnvironment.Current(5).Threads);
            Assert.Equal(3, BenchmarkEnvironment.Current().Threads);
        }
        finally
        {
            ComputeThreads.Count = saved;
        }
    }

    [Fact]
    public void AtThreadsSetsTheCountInsideAndRestoresItEvenOnFailure()
    {
        int saved = ComputeThreads.Count;
        try
        {
            ComputeThreads.Count = 1;
            Assert.Equal((2, 2), WorkloadRunner.AtThreads(2, n => (n, ComputeThreads.Count)));
            Assert.Equal(1, ComputeThreads.Count);
            Assert.Throws<InvalidOperationException>(() => WorkloadRunner.AtThreads<int>(4, _ => throw new InvalidOperationException()));
            Assert.Equal(1, ComputeThreads.Count);
            Assert.Equal(1, WorkloadRunner.AtThreads(null, n => n));
        }
        finally
        {
            ComputeThreads.Count = saved;
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65)]
    public void ThreadsOutsideOneTo64AreRejected(int threads)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BenchmarkSettings { Threads = threads }.Validate());
    }

    [Fact]
    public void TheBenchCommandDefaultsToOneThreadAndSaysSo()
    {
        var r = GatedProcess.Run(null, null, TimeSpan.FromSeconds(90), "bench", "--workload", "stream-step", "--cell", "lstm", "--min-seconds", "0.01", "--gemm-size", "0", "--json");
        Assert.True(r.ExitCode == 0, $"exit code {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
        using var json = JsonDocument.Parse(r.Stdout);
        Assert.Equal(1, json.RootElement.GetProperty("threads").GetInt32());
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("gemm").ValueKind);
        Assert.Equal(1, Assert.Single(json.RootElement.GetProperty("results").EnumerateArray()).GetProperty("threads").GetInt32());

        var help = GatedProcess.Run(null, null, TimeSpan.FromSeconds(90), "bench", "--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("ComputeThreads.Count", help.Stdout, StringComparison.Ordinal);
        Assert.Contains("Default 1", help.Stdout, StringComparison.Ordinal);

        var tooMany = GatedProcess.Run(null, null, TimeSpan.FromSeconds(90), "bench", "--threads", "65");
        Assert.Equal(2, tooMany.ExitCode);
        Assert.Contains("--threads", tooMany.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ClippingTheGlobalNormAllocatesNothing()
    {
        var block = new ParameterBlock<float>(new[] { ("w", new[] { 50 }) });
        for (int i = 0; i < block.Gradients.Length; i++) block.Gradients[i] = i;
        ParameterBlock<float>[] blocks = [block, block];
        GradientClipping.ClipByGlobalNorm(blocks, 1);
        long least = long.MaxValue;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            GradientClipping.ClipByGlobalNorm(blocks, 1);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.Equal(0, least);
    }

    /// <summary>
    /// Issue #4: zero bytes allocated per training step after warm-up. Measured on the calling thread (the worker
    /// threads of a split product allocate their packing buffers once, on first use), the least of 3 steps.
    /// </summary>
    [Theory]
    [InlineData("music-batch", CellKind.Gru, 1)]
    [InlineData("music-batch", CellKind.Lstm, 1)]
    [InlineData("medium", CellKind.Gru, 1)]
    [InlineData("medium", CellKind.Lstm, 1)]
    [InlineData("music-batch", CellKind.Gru, 2)]
    [InlineData("medium", CellKind.Gru, 2)]
    [InlineData("medium", CellKind.Lstm, 2)]
    public void ATrainingStepAllocatesNothingAfterWarmUp(string workload, CellKind cell, int threads)
    {
        int saved = ComputeThreads.Count;
        try
        {
            ComputeThreads.Count = threads;
            var step = new BenchmarkCase(Workloads.Find(workload)!, cell, BenchmarkPhase.Training);
            for (int i = 0; i < 3; i++) step.Run();
            long least = long.MaxValue;
            for (int attempt = 0; attempt < 3; attempt++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                step.Run();
                least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
            }
            Assert.Equal(0, least);
        }
        finally
        {
            ComputeThreads.Count = saved;
        }
    }
}
