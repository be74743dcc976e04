using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Gated.Benchmarks;
using Gated.Layers;

namespace Gated.Tests.Benchmarks;

/// <summary>
/// The benchmark workloads and runner: the FLOP formula, the workload table, and that every phase runs
/// on tiny sizes. Nothing here asserts a speed: timings only have to be positive and finite.
/// </summary>
public sealed class WorkloadTests
{
    private static readonly BenchmarkSettings Quick = new() { MinSeconds = 0, MinRepetitions = 2, Blocks = 2, WarmupSeconds = 0 };

    private static Workload Tiny(params BenchmarkPhase[] phases) => new("tiny", 5, 4, 3, 6, 7, phases, "a tiny test workload");

    [Fact]
    public void ForwardFlopsAreTwoGHTimesIPlusHTimesBT()
    {
        // chung-music GRU: 2·3·46·(88+46)·1·200
        Assert.Equal(2.0 * 3 * 46 * 134 * 1 * 200, Workloads.ChungMusic.Flops(CellKind.Gru, BenchmarkPhase.Inference));
        // medium LSTM: 2·4·256·(128+256)·32·100 = 2 516 582 400
        Assert.Equal(2_516_582_400.0, Workloads.Medium.Flops(CellKind.Lstm, BenchmarkPhase.Inference));
        Assert.Equal(Workloads.ForwardFlops(4, 512, 1024, 64, 50), Workloads.Large.Flops(CellKind.Lstm, BenchmarkPhase.Inference));
        Assert.Equal(2.0 * 1 * 4 * 9 * 3 * 6, Tiny().Flops(CellKind.Rnn, BenchmarkPhase.Inference));
    }

    [Theory]
    [InlineData(CellKind.Gru)]
    [InlineData(CellKind.Lstm)]
    public void TrainingCountsBackwardAsTwiceTheForward(CellKind cell)
    {
        foreach (var w in Workloads.All)
        {
            Assert.Equal(3 * w.Flops(cell, BenchmarkPhase.Inference), w.Flops(cell, BenchmarkPhase.Training));
            Assert.Equal(w.Flops(cell, BenchmarkPhase.Inference), w.Flops(cell, BenchmarkPhase.StreamStep));
        }
        Assert.Equal(3, Workloads.GateCount(CellKind.Gru));
        Assert.Equal(4, Workloads.GateCount(CellKind.Lstm));
        Assert.Equal(2.0 * 10 * 20 * 30, Workloads.GemmFlops(10, 20, 30));
    }

    [Fact]
    public void TheTableIsTheIssues()
    {
        Assert.Equal(["chung-music", "music-batch", "medium", "large", "stream-step"], Workloads.All.Select(w => w.Name));
        (int I, int H, int B, int T)[] expected = [(88, 46, 1, 200), (88, 46, 16, 100), (128, 256, 32, 100), (512, 1024, 64, 50), (88, 256, 1, 1)];
        for (int i = 0; i < expected.Length; i++)
        {
            var w = Workloads.All[i];
            Assert.Equal(expected[i], (w.InputSize, w.HiddenSize, w.BatchSize, w.Steps));
        }
        Assert.Equal(88, Workloads.ChungMusic.OutputSize);
        Assert.Equal(88, Workloads.MusicBatch.OutputSize);
        Assert.Equal(128, Workloads.Medium.OutputSize);
        Assert.Equal([BenchmarkPhase.Training, BenchmarkPhase.Inference], Workloads.Large.Phases);
        Assert.Equal([BenchmarkPhase.StreamStep], Workloads.StreamStep.Phases);
        Assert.Same(Workloads.Medium, Workloads.Find(" MEDIUM "));
        Assert.Null(Workloads.Find("huge"));
        Assert.Equal(1600, Workloads.MusicBatch.TimeStepsPerIteration);
    }

    [Fact]
    public void ThePlanCoversEveryPhaseOfEveryCell()
    {
        var plan = WorkloadRunner.Plan(Workloads.All, WorkloadRunner.DefaultCells).ToArray();
        Assert.Equal(2 * (1 + 1 + 2 + 2 + 1), plan.Length);
        Assert.Contains((Workloads.Large, CellKind.Lstm, BenchmarkPhase.Inference), plan);
        Assert.DoesNotContain(plan, p => p.Workload == Workloads.ChungMusic && p.Phase != BenchmarkPhase.Training);
    }

    [Theory]
    [InlineData(CellKind.Gru)]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.Rnn)]
    public void ATrainingIterationLearnsSomething(CellKind cell)
    {
        var step = new BenchmarkCase(Tiny(BenchmarkPhase.Training), cell, BenchmarkPhase.Training);
        float[] before = (float[])step.Recurrent.Parameters.Values.Clone();
        Assert.True(double.IsNaN(step.LastLoss));
        step.Run();
        double first = step.LastLoss;
        Assert.True(double.IsFinite(first) && first > 0, $"loss {first}");
        Assert.True(double.IsFinite(step.LastGradientNorm) && step.LastGradientNorm > 0);
        Assert.NotEqual(before, step.Recurrent.Parameters.Values);
        for (int i = 0; i < 50; i++) step.Run();
        Assert.True(step.LastLoss < first, $"the loss went from {first} to {step.LastLoss} on fixed data");
    }

    [Theory]
    [InlineData(CellKind.Gru, BenchmarkPhase.Inference)]
    [InlineData(CellKind.Lstm, BenchmarkPhase.Inference)]
    [InlineData(CellKind.Gru, BenchmarkPhase.StreamStep)]
    [InlineData(CellKind.Lstm, BenchmarkPhase.StreamStep)]
    public void ForwardPhasesRunAndLeaveTheWeightsAlone(CellKind cell, BenchmarkPhase phase)
    {
        var step = new BenchmarkCase(Tiny(phase), cell, phase);
        float[] before = (float[])step.Recurrent.Parameters.Values.Clone();
        step.Run();
        step.Run();
        Assert.Equal(before, step.Recurrent.Parameters.Values);
        Assert.True(double.IsNaN(step.LastLoss));
    }

    [Theory]
    [InlineData(CellKind.Gru, BenchmarkPhase.Training)]
    [InlineData(CellKind.Lstm, BenchmarkPhase.Training)]
    [InlineData(CellKind.Gru, BenchmarkPhase.Inference)]
    [InlineData(CellKind.Lstm, BenchmarkPhase.StreamStep)]
    public void TheRunnerReportsConsistentNumbers(CellKind cell, BenchmarkPhase phase)
    {
        var workload = Tiny(phase);
        var result = WorkloadRunner.Run(workload, cell, phase, Quick);
        var t = result.Timing;
        Assert.True(t.SecondsPerIteration > 0 && double.IsFinite(t.SecondsPerIteration));
        Assert.InRange(t.SecondsPerIteration, t.MinSecondsPerIteration, t.MaxSecondsPerIteration);
        Assert.True(t.Iterations >= Quick.MinRepetitions && t.Samples >= Quick.Blocks && t.WarmupIterations >= 1);
        Assert.Equal(workload.TimeStepsPerIteration / t.SecondsPerIteration, result.StepsPerSecond, 1e-9);
        Assert.Equal(workload.Flops(cell, phase) / 1e9 / t.SecondsPerIteration, result.Gflops, 1e-9);
        Assert.Equal(t.SecondsPerIteration * 1e6, result.LatencyMicroseconds, 1e-9);
    }

    [Fact]
    public void MeasureCountsEveryIterationOnce()
    {
        int calls = 0;
        var settings = new BenchmarkSettings { MinSeconds = 0, MinRepetitions = 7, Blocks = 3, WarmupSeconds = 0 };
        var timing = WorkloadRunner.Measure(() => calls++, settings);
        Assert.Equal(calls, timing.Iterations + timing.WarmupIterations);
        Assert.True(timing.Iterations >= 7 && timing.Samples >= 3);

        calls = 0;
        var each = WorkloadRunner.MeasureEach(() => calls++, settings);
        Assert.Equal(calls, each.Iterations + each.WarmupIterations);
        Assert.Equal(each.Samples, each.Iterations);
        Assert.True(each.Samples >= 100);
    }

    [Fact]
    public void GemmPeakIsTheBestOfThreeShapes()
    {
        var results = WorkloadRunner.MeasureGemm(16, Quick);
        Assert.Equal(["NN", "NT", "TN"], results.Select(r => r.Shape));
        Assert.All(results, r => Assert.True(r.Gflops > 0 && double.IsFinite(r.Gflops) && r.Size == 16));
        Assert.Equal(results.Max(r => r.Gflops), WorkloadRunner.Peak(results));
        Assert.True(double.IsNaN(WorkloadRunner.Peak([])));
    }

    [Fact]
    public void SettingsAreChecked()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BenchmarkSettings { MinSeconds = double.NaN }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new BenchmarkSettings { Blocks = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => WorkloadRunner.Run(Tiny(BenchmarkPhase.Training), CellKind.Gru, BenchmarkPhase.Training, new BenchmarkSettings { MinRepetitions = 0 }));
    }

    [Fact]
    public void TheBenchCommandWritesJson()
    {
        var (exitCode, stdout, stderr) = RunCli("bench", "--workload", "stream-step", "--cell", "gru", "--min-seconds", "0.01", "--gemm-size", "16", "--threads", "2", "--json");
        Assert.True(exitCode == 0, $"exit code {exitCode}\n{stdout}\n{stderr}");
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.Equal("gated", root.GetProperty("tool").GetString());
        Assert.Equal(2, root.GetProperty("threads").GetInt32());
        Assert.Contains("ComputeThreads.Count = 2", root.GetProperty("threads_note").GetString(), StringComparison.Ordinal);
        var gemm = root.GetProperty("gemm");
        Assert.Equal(2, gemm.GetProperty("threads").GetInt32());
        Assert.Equal(3, gemm.GetProperty("results").GetArrayLength());
        Assert.All(gemm.GetProperty("results").EnumerateArray(), g => Assert.Equal(2, g.GetProperty("threads").GetInt32()));
        var row = Assert.Single(root.GetProperty("results").EnumerateArray());
        Assert.Equal(2, row.GetProperty("threads").GetInt32());
        Assert.Equal("stream-step", row.GetProperty("workload").GetString());
        Assert.Equal("stream-step", row.GetProperty("phase").GetString());
        Assert.True(row.GetProperty("latency_us").GetDouble() > 0);
    }

    [Fact]
    public void AnUnknownWorkloadIsAUsageError()
    {
        var (exitCode, stdout, stderr) = RunCli("bench", "--workload", "huge");
        Assert.Equal(2, exitCode);
        Assert.Equal("", stdout);
        Assert.Contains("--workload", stderr, StringComparison.Ordinal);
    }

    private static (int ExitCode, string Stdout, string Stderr) RunCli(params string[] args)
    {
        var r = GatedProcess.Run(null, null, TimeSpan.FromSeconds(90), args);
        return (r.ExitCode, r.Stdout, r.Stderr);
    }
}
