using System.Diagnostics;
using System.Globalization;

namespace Gated.Fuzz;

/// <summary>How a fuzz run is done.</summary>
public sealed record FuzzOptions
{
    /// <summary>Cases to run (case numbers 0 … Cases − 1). Default 3000.</summary>
    public int Cases { get; init; } = 3000;

    /// <summary>The run's seed; case <c>i</c> of seed <c>s</c> is always the same input (<see cref="FuzzRunner.CaseSeed"/>).</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Run only this case (to reproduce a failure); null for all.</summary>
    public int? OnlyCase { get; init; }

    /// <summary>A case that takes longer than this (in its fastest of three tries) fails. Default 2 s.</summary>
    public TimeSpan CaseTimeLimit { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>A case still running after this is reported as a hang and the run ends. Default 30 s.</summary>
    public TimeSpan HangLimit { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Distinct failures kept with their input (more are only counted). Default 20.</summary>
    public int MaxFailuresKept { get; init; } = 20;

    /// <summary>Called about every 10,000 cases with the number done, from the fuzzing thread; null for none.</summary>
    public Action<int>? Progress { get; init; }

    /// <summary>Called with each failure as it is found (also those not kept), from the fuzzing thread; null for none.</summary>
    public Action<FuzzFailure>? OnFailure { get; init; }

    /// <summary>Write each case number to stderr before running it (to find the case that crashes the process).</summary>
    public bool Trace { get; init; }
}

/// <summary>One case that broke the contract.</summary>
/// <param name="Parser">The target's name.</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="Case">The case number (-1 for a seed file that does not load).</param>
/// <param name="Problem">What went wrong: the exception type, message and top frames, the allocation or the time.</param>
/// <param name="Mutations">The mutations that made the input.</param>
/// <param name="Input">The input.</param>
public sealed record FuzzFailure(string Parser, int Seed, int Case, string Problem, string Mutations, byte[] Input)
{
    /// <summary>The command that runs this case again.</summary>
    public string ReproduceCommand => Case < 0
        ? $"dotnet run -c Release --project tests/Gated.Fuzz -- --parser {Parser} --cases 1"
        : string.Create(CultureInfo.InvariantCulture, $"dotnet run -c Release --project tests/Gated.Fuzz -- --parser {Parser} --seed {Seed} --case {Case}");

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Parser} case {Case} (seed {Seed}, {Input.Length} bytes; {Mutations}): {Problem}\n  reproduce: {ReproduceCommand}");
}

/// <summary>What a fuzz run of one target found.</summary>
/// <param name="Parser">The target's name.</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="Cases">Cases run.</param>
/// <param name="Loaded">Inputs that loaded.</param>
/// <param name="Rejected">Inputs refused with the documented exception.</param>
/// <param name="FailureCount">Cases that broke the contract (all of them, not only those in <paramref name="Failures"/>).</param>
/// <param name="Elapsed">Wall-clock time of the run.</param>
/// <param name="SlowestCase">The slowest case's time.</param>
/// <param name="SlowestCaseNumber">Its case number (-1 when no case ran).</param>
/// <param name="MostAllocated">The most bytes one case allocated.</param>
/// <param name="MostAllocatedInputLength">The input length of that case.</param>
/// <param name="HighestAllocationRatio">The highest (allocated − slack) / input length over all cases (0 when all stayed within the slack).</param>
/// <param name="Failures">The first distinct failures (by exception type and place, or kind of limit).</param>
/// <param name="Hung">Whether the run ended on a case that did not finish.</param>
public sealed record FuzzReport(string Parser, int Seed, int Cases, int Loaded, int Rejected, int FailureCount, TimeSpan Elapsed, TimeSpan SlowestCase,
    int SlowestCaseNumber, long MostAllocated, int MostAllocatedInputLength, double HighestAllocationRatio, IReadOnlyList<FuzzFailure> Failures, bool Hung);

/// <summary>
/// Runs a target's cases and checks each: the input either loads or is refused with the documented
/// exception carrying a non-empty message; no case takes longer than the time limit or hangs; no case
/// allocates more than the target's bound (bytes allocated on the parsing thread, measured with
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/>).
/// </summary>
/// <remarks>
/// Cases run on one dedicated thread (1 MiB stack, so deep recursion shows early) watched by the calling
/// thread; a hang is reported with its case number and the run ends (the thread cannot be stopped and is
/// left running in the background). A case over the time or allocation limit is run twice more and judged
/// by its best try, so a garbage collection or a busy machine does not fail it. Every seed is parsed
/// before the cases, which also warms up the code (first calls allocate for static data).
/// </remarks>
public static class FuzzRunner
{
    /// <summary>The seed of case <paramref name="caseNumber"/> of a run with <paramref name="runSeed"/> (SplitMix64; the same on every machine).</summary>
    public static int CaseSeed(int runSeed, int caseNumber)
    {
        ulong z = ((ulong)(uint)runSeed << 32 | (uint)caseNumber) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)((z ^ (z >> 31)) & 0x7FFFFFFF);
    }

    /// <summary>The input of one case, and the mutations that made it.</summary>
    public static (byte[] Input, string Mutations) Input(FuzzTarget target, IReadOnlyList<byte[]> seeds, int runSeed, int caseNumber)
    {
        var log = new List<string>();
        byte[] input = Mutator.Mutate(new Random(CaseSeed(runSeed, caseNumber)), target, seeds, log);
        return (input, string.Join(", ", log));
    }

    /// <summary>Fuzzes one target.</summary>
    public static FuzzReport Run(FuzzTarget target, FuzzOptions options)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(options);
        var state = new RunState(target, options);
        var worker = new Thread(state.Work, maxStackSize: 1 << 20) { IsBackground = true, Name = "fuzz " + target.Name };
        var watch = Stopwatch.StartNew();
        worker.Start();
        bool hung = false;
        while (!worker.Join(50))
        {
            long started = Volatile.Read(ref state.CaseStarted);
            if (started != 0 && Stopwatch.GetElapsedTime(started) > options.HangLimit)
            {
                hung = true;
                int c = Volatile.Read(ref state.CurrentCase);
                var (input, mutations) = state.CurrentInput;
                state.AddFailure(new FuzzFailure(target.Name, options.Seed, c,
                    $"hang: still running after {options.HangLimit.TotalSeconds:F0} s", mutations, input), "hang");
                break;
            }
        }
        watch.Stop();
        lock (state)
        {
            return new FuzzReport(target.Name, options.Seed, state.Done, state.Loaded, state.Rejected, state.FailureCount, watch.Elapsed,
                Stopwatch.GetElapsedTime(0, state.SlowestTicks), state.SlowestCase, state.MostAllocated, state.MostAllocatedInputLength, state.HighestRatio,
                [.. state.Failures], hung);
        }
    }

    private sealed class RunState(FuzzTarget target, FuzzOptions options)
    {
        public long CaseStarted;
        public int CurrentCase;
        public (byte[] Input, string Mutations) CurrentInput = ([], "");
        public int Done, Loaded, Rejected, FailureCount, MostAllocatedInputLength, SlowestCase = -1;
        public long SlowestTicks, MostAllocated;
        public double HighestRatio;
        public readonly List<FuzzFailure> Failures = [];
        private readonly HashSet<string> _signatures = [];

        public void AddFailure(FuzzFailure failure, string signature)
        {
            options.OnFailure?.Invoke(failure);
            lock (this)
            {
                FailureCount++;
                if (Failures.Count < options.MaxFailuresKept && _signatures.Add(signature)) Failures.Add(failure);
            }
        }

        public void Work()
        {
            IReadOnlyList<byte[]> seeds;
            try
            {
                seeds = target.Seeds();
            }
            catch (Exception e)
            {
                AddFailure(new FuzzFailure(target.Name, options.Seed, -1, $"building the seeds failed: {e}", "", []), "seeds");
                return;
            }
            if (seeds.Count == 0)
            {
                AddFailure(new FuzzFailure(target.Name, options.Seed, -1, "the target has no seeds", "", []), "seeds");
                return;
            }
            for (int i = 0; i < seeds.Count; i++)
            {
                var (error, _, _) = Once(seeds[i]);
                if (error is not null)
                    AddFailure(new FuzzFailure(target.Name, options.Seed, -1, $"seed {i} does not load: {Describe(error)}", $"seed {i}", seeds[i]), "seed " + i);
            }

            int first = options.OnlyCase ?? 0, end = options.OnlyCase is int only ? only + 1 : options.Cases;
            for (int c = first; c < end; c++)
            {
                byte[] input;
                string mutations;
                try
                {
                    (input, mutations) = Input(target, seeds, options.Seed, c);
                }
                catch (Exception e)
                {
                    // A bug of the harness itself (a target's structured mutation): report it, do not die.
                    AddFailure(new FuzzFailure(target.Name, options.Seed, c, $"the mutator failed: {Describe(e)}", "", []), "mutator " + Signature(e));
                    continue;
                }
                CurrentInput = (input, mutations);
                Volatile.Write(ref CurrentCase, c);
                if (options.Trace) Console.Error.WriteLine($"{target.Name} case {c}: {input.Length} bytes; {mutations}");
                Volatile.Write(ref CaseStarted, Stopwatch.GetTimestamp());
                var (error, allocated, ticks) = Once(input);
                Volatile.Write(ref CaseStarted, 0);

                long bound = (long)(target.AllocationPerInputByte * input.Length) + target.AllocationSlack;
                TimeSpan limit = options.CaseTimeLimit;
                if (allocated > bound || Stopwatch.GetElapsedTime(0, ticks) > limit)
                {
                    // Judge a case over a limit by its best of three tries.
                    for (int retry = 0; retry < 2; retry++)
                    {
                        var (_, a, t) = Once(input);
                        allocated = Math.Min(allocated, a);
                        ticks = Math.Min(ticks, t);
                    }
                }

                lock (this)
                {
                    Done++;
                    if (ticks > SlowestTicks) { SlowestTicks = ticks; SlowestCase = c; }
                    if (allocated > MostAllocated) { MostAllocated = allocated; MostAllocatedInputLength = input.Length; }
                    if (input.Length > 0) HighestRatio = Math.Max(HighestRatio, (double)(allocated - target.AllocationSlack) / input.Length);
                    if (error is null) Loaded++;
                    else if (target.IsDocumented(error) && !string.IsNullOrWhiteSpace(error.Message)) Rejected++;
                }

                if (error is not null && !(target.IsDocumented(error) && !string.IsNullOrWhiteSpace(error.Message)))
                    AddFailure(new FuzzFailure(target.Name, options.Seed, c, Describe(error), mutations, input), Signature(error));
                if (allocated > bound)
                    AddFailure(new FuzzFailure(target.Name, options.Seed, c,
                        string.Create(CultureInfo.InvariantCulture, $"allocated {allocated:N0} bytes for an input of {input.Length:N0} bytes, more than the bound of {bound:N0} ({target.AllocationPerInputByte} per byte + {target.AllocationSlack:N0}){(error is null ? "" : "; then " + Describe(error))}"),
                        mutations, input), "allocation " + (error is null ? "" : Signature(error)));
                if (Stopwatch.GetElapsedTime(0, ticks) > limit)
                    AddFailure(new FuzzFailure(target.Name, options.Seed, c,
                        string.Create(CultureInfo.InvariantCulture, $"took {Stopwatch.GetElapsedTime(0, ticks).TotalMilliseconds:F0} ms, more than the limit of {limit.TotalMilliseconds:F0} ms"),
                        mutations, input), "time");
                if (options.Progress is not null && (c + 1) % 10_000 == 0) options.Progress(c + 1);
            }
        }

        private (Exception? Error, long Allocated, long Ticks) Once(byte[] input)
        {
            Exception? error = null;
            long before = GC.GetAllocatedBytesForCurrentThread();
            long start = Stopwatch.GetTimestamp();
            try
            {
                target.Parse(input);
            }
            catch (Exception e)
            {
                error = e;
            }
            long ticks = Stopwatch.GetTimestamp() - start;
            return (error, GC.GetAllocatedBytesForCurrentThread() - before, ticks);
        }
    }

    /// <summary>An exception for a report: type, message, and where it was thrown.</summary>
    private static string Describe(Exception e)
    {
        string frames = string.Join(" ← ", (e.StackTrace ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Take(3));
        string inner = e.InnerException is null ? "" : $" (inner {e.InnerException.GetType().Name}: {e.InnerException.Message})";
        return $"{e.GetType().Name}: {(string.IsNullOrWhiteSpace(e.Message) ? "(empty message)" : e.Message)}{inner} [{frames}]";
    }

    /// <summary>Failures with the same exception type thrown from the same place count as one bug.</summary>
    private static string Signature(Exception e) =>
        e.GetType().FullName + "@" + (e.StackTrace ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim();
}
