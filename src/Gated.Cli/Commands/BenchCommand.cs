using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Gated.Benchmarks;
using Gated.Layers;
using Spectre.Console;

namespace Gated.Cli.Commands;

/// <summary>
/// <c>gated bench</c>: times the benchmark workloads (<see cref="Workloads"/>) — training steps,
/// forward-only inference and streaming-step latency of GRU and LSTM layers — and Gated's own
/// matrix multiply, and reports time steps per second, GFLOP/s and the fraction of that GEMM peak.
/// <c>--threads N</c> sets <see cref="Gated.Kernels.ComputeThreads.Count"/> for every measurement (default 1, not the
/// library's one per processor, so that numbers compare across machines and runs).
/// </summary>
internal static class BenchCommand
{
    private const string Name = "bench";

    private sealed record Settings(string Workload, string Cell, double MinSeconds, int Threads, int GemmSize, bool Json);

    public static Command Create()
    {
        string[] workloadChoices = [.. Workloads.All.Select(w => w.Name), "all"];
        var workload = CommonOptions.Choice("--workload", $"The workload to time: {string.Join(", ", Workloads.All.Select(w => w.Name))}, or all.", "all", workloadChoices);
        var cell = CommonOptions.Choice("--cell", "The cell: gru, lstm, or all (both).", "all", "gru", "lstm", "all");
        var minSeconds = CommonOptions.PositiveDouble("--min-seconds", "The least timed seconds per measurement (after warm-up); each is also at least 5 repetitions, reported as the median of 5 or more timed blocks.", 1, max: 3600);
        var threads = CommonOptions.PositiveInt("--threads",
            $"Threads Gated's matrix products are split over during every measurement, GEMM peak included (ComputeThreads.Count, 1–{BenchmarkSettings.MaxThreads}). "
            + "Default 1, set explicitly rather than the library's default of one per logical processor, so that numbers compare across machines and runs; results are identical bit for bit at every count.",
            1, max: BenchmarkSettings.MaxThreads);
        var gemmSize = CommonOptions.NonNegativeInt("--gemm-size", "n of the n×n matrix product that measures Gated's GEMM peak; 0 skips it.", WorkloadRunner.DefaultGemmSize, max: 8192);
        var json = CommonOptions.Json();

        var command = new Command(Name, "Time training steps, inference and streaming latency of GRU/LSTM layers on fixed workloads, and Gated's GEMM peak.")
        {
            workload, cell, minSeconds, threads, gemmSize, json,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var settings = new Settings(
                parseResult.GetValue(workload)!.ToLowerInvariant(),
                parseResult.GetValue(cell)!.ToLowerInvariant(),
                parseResult.GetValue(minSeconds),
                parseResult.GetValue(threads),
                parseResult.GetValue(gemmSize),
                parseResult.GetValue(json));
            return Task.FromResult(CommonOptions.Guard(Name, () => Run(settings, cancellationToken)));
        });
        return command;
    }

    private static int Run(Settings s, CancellationToken cancellationToken)
    {
        var workloads = s.Workload == "all" ? Workloads.All : [Workloads.Find(s.Workload)!];
        CellKind[] cells = s.Cell == "all" ? [.. WorkloadRunner.DefaultCells] : [CommonOptions.ParseCell(s.Cell)!.Value];
        var timing = new BenchmarkSettings { MinSeconds = s.MinSeconds, Threads = s.Threads };
        var environment = BenchmarkEnvironment.Current(s.Threads);
        string threadsNote = $"ComputeThreads.Count = {s.Threads} during every measurement and the GEMM peak (the library's default is one per logical processor: {Math.Min(environment.ProcessorCount, BenchmarkSettings.MaxThreads)} here); products too small to split run on the calling thread alone.";
        string? oversubscribed = s.Threads > environment.ProcessorCount
            ? $"--threads {s.Threads} is more than the {environment.ProcessorCount} logical processors: threads share cores, and the numbers say little."
            : null;

        if (!s.Json)
        {
            CommonOptions.Line($"[bold]Machine[/]  {environment.CpuModel ?? "unknown CPU"}, {environment.ProcessorCount} logical processors, {environment.Framework}, Vector<float> {environment.VectorBits} bits");
            CommonOptions.Line($"[bold]Threads[/]  {s.Threads}: ComputeThreads.Count for every measurement and the GEMM peak (--threads; the library's default would be {Math.Min(environment.ProcessorCount, BenchmarkSettings.MaxThreads)} here)");
            if (oversubscribed is not null) CommonOptions.Line($"[yellow]{oversubscribed}[/]");
        }

        IReadOnlyList<GemmResult> gemm = [];
        if (s.GemmSize > 0)
        {
            if (!s.Json) Console.Error.WriteLine($"measuring Gemm.Multiply at n = {s.GemmSize} (NN, NT, TN) on {s.Threads} thread(s)…");
            gemm = WorkloadRunner.MeasureGemm(s.GemmSize, timing, cancellationToken);
        }
        double peak = WorkloadRunner.Peak(gemm);

        var plan = WorkloadRunner.Plan(workloads, cells).ToArray();
        var results = new List<BenchmarkResult>(plan.Length);
        for (int i = 0; i < plan.Length; i++)
        {
            var (w, c, phase) = plan[i];
            if (!s.Json) Console.Error.WriteLine($"[{i + 1}/{plan.Length}] {w.Name} {CellName(c)} {PhaseName(phase)}…");
            results.Add(WorkloadRunner.Run(w, c, phase, timing, cancellationToken));
        }

        if (s.Json)
        {
            WriteJson(s, environment, oversubscribed is null ? threadsNote : threadsNote + " " + oversubscribed, timing, gemm, peak, results);
            return ExitCodes.Success;
        }

        if (gemm.Count > 0)
        {
            foreach (var g in gemm)
                CommonOptions.Line($"[bold]GEMM[/]     {g.Shape} n = {g.Size}, {g.Threads} thread(s): {CommonOptions.Fixed(g.Gflops, 2)} GFLOP/s ({CommonOptions.Fixed(g.Timing.SecondsPerIteration, 3)} s per product)");
            CommonOptions.Line($"[bold]Peak[/]     {CommonOptions.Fixed(peak, 2)} GFLOP/s: Gated's GEMM peak on {s.Threads} thread(s), the best of the three shapes");
        }

        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("workload")
            .AddColumn("cell")
            .AddColumn("phase")
            .AddColumn(new TableColumn("threads").RightAligned())
            .AddColumn(new TableColumn("time/iter").RightAligned())
            .AddColumn(new TableColumn("steps/s").RightAligned())
            .AddColumn(new TableColumn("GFLOP/s").RightAligned())
            .AddColumn(new TableColumn("% GEMM peak").RightAligned());
        foreach (var r in results)
        {
            table.AddRow(
                Markup.Escape(r.Workload.Name),
                CellName(r.Cell),
                PhaseName(r.Phase),
                r.Threads.ToString(CultureInfo.InvariantCulture),
                Duration(r.Timing.SecondsPerIteration),
                Count(r.StepsPerSecond),
                CommonOptions.Fixed(r.Gflops, 2),
                double.IsFinite(peak) ? (r.Gflops / peak).ToString("P0", CultureInfo.InvariantCulture) : "n/a");
        }
        AnsiConsole.Write(table);
        CommonOptions.Line($"[grey]steps/s: time steps (B·T per iteration) per second. GFLOP/s counts the recurrent matrix products only: 2·G·H·(I+H)·B·T forward, twice that backward (G = 3 GRU, 4 LSTM). Times are medians over timed blocks of at least {CommonOptions.Fixed(s.MinSeconds, 2)} s in all; stream-step is the median latency of single steps. % GEMM peak compares with the best of Gated's own n×n products (n = {(s.GemmSize > 0 ? s.GemmSize.ToString(CultureInfo.InvariantCulture) : "-")}) at the same thread count; products small enough to stay in cache can exceed 100%.[/]");
        return ExitCodes.Success;
    }

    private static void WriteJson(Settings s, BenchmarkEnvironment environment, string threadsNote, BenchmarkSettings timing,
        IReadOnlyList<GemmResult> gemm, double peak, List<BenchmarkResult> results)
    {
        CommonOptions.WriteJson(w =>
        {
            w.WriteStartObject();
            w.WriteString("tool", "gated");
            w.WriteStartObject("environment");
            w.WriteString("framework", environment.Framework);
            w.WriteString("os", environment.OperatingSystem);
            w.WriteString("architecture", environment.Architecture);
            w.WriteNumber("processor_count", environment.ProcessorCount);
            if (environment.CpuModel is null) w.WriteNull("cpu_model"); else w.WriteString("cpu_model", environment.CpuModel);
            w.WriteNumber("vector_bits", environment.VectorBits);
            w.WriteEndObject();
            w.WriteNumber("threads", environment.Threads);
            w.WriteString("threads_note", threadsNote);
            w.WriteStartObject("settings");
            w.WriteNumber("min_seconds", timing.MinSeconds);
            w.WriteNumber("min_repetitions", timing.MinRepetitions);
            w.WriteNumber("blocks", timing.Blocks);
            w.WriteString("statistic", "median over timed blocks of seconds per iteration (stream-step: median over single steps)");
            w.WriteEndObject();
            if (gemm.Count == 0) w.WriteNull("gemm");
            else
            {
                w.WriteStartObject("gemm");
                w.WriteString("kernel", $"Gated.Kernels.Gemm.Multiply (float32, {gemm[0].Threads} thread(s))");
                w.WriteNumber("size", gemm[0].Size);
                w.WriteNumber("threads", gemm[0].Threads);
                w.WriteStartArray("results");
                foreach (var g in gemm)
                {
                    w.WriteStartObject();
                    w.WriteString("shape", g.Shape);
                    w.WriteNumber("threads", g.Threads);
                    w.WriteNumber("seconds", g.Timing.SecondsPerIteration);
                    CommonOptions.WriteNumberOrNull(w, "gflops", g.Gflops);
                    w.WriteNumber("repetitions", g.Timing.Iterations);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                CommonOptions.WriteNumberOrNull(w, "peak_gflops", peak);
                w.WriteEndObject();
            }
            w.WriteStartArray("results");
            foreach (var r in results)
            {
                var wl = r.Workload;
                w.WriteStartObject();
                w.WriteString("workload", wl.Name);
                w.WriteString("cell", CellName(r.Cell));
                w.WriteString("phase", PhaseName(r.Phase));
                w.WriteNumber("threads", r.Threads);
                w.WriteNumber("input_size", wl.InputSize);
                w.WriteNumber("hidden_size", wl.HiddenSize);
                w.WriteNumber("batch_size", wl.BatchSize);
                w.WriteNumber("steps", wl.Steps);
                w.WriteNumber("output_size", wl.OutputSize);
                w.WriteNumber("seconds_per_iteration", r.Timing.SecondsPerIteration);
                w.WriteNumber("min_seconds_per_iteration", r.Timing.MinSecondsPerIteration);
                w.WriteNumber("max_seconds_per_iteration", r.Timing.MaxSecondsPerIteration);
                w.WriteNumber("iterations", r.Timing.Iterations);
                w.WriteNumber("samples", r.Timing.Samples);
                w.WriteNumber("warmup_iterations", r.Timing.WarmupIterations);
                CommonOptions.WriteNumberOrNull(w, "steps_per_second", r.StepsPerSecond);
                w.WriteNumber("gflop_per_iteration", r.GflopPerIteration);
                CommonOptions.WriteNumberOrNull(w, "gflops", r.Gflops);
                CommonOptions.WriteNumberOrNull(w, "percent_of_gemm_peak", double.IsFinite(peak) ? 100 * r.Gflops / peak : double.NaN);
                CommonOptions.WriteNumberOrNull(w, "latency_us", r.LatencyMicroseconds);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static string CellName(CellKind cell) => cell.ToString().ToLowerInvariant();

    private static string PhaseName(BenchmarkPhase phase) => phase switch
    {
        BenchmarkPhase.Training => "training",
        BenchmarkPhase.Inference => "inference",
        _ => "stream-step",
    };

    private static string Duration(double seconds) => seconds switch
    {
        < 1e-3 => (seconds * 1e6).ToString("F1", CultureInfo.InvariantCulture) + " µs",
        < 1 => (seconds * 1e3).ToString("F2", CultureInfo.InvariantCulture) + " ms",
        _ => seconds.ToString("F3", CultureInfo.InvariantCulture) + " s",
    };

    private static string Count(double value) => double.IsFinite(value)
        ? value.ToString(value >= 100 ? "N0" : "N1", CultureInfo.InvariantCulture)
        : "n/a";
}
