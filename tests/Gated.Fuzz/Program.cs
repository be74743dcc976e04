using System.Globalization;

namespace Gated.Fuzz;

/// <summary>
/// The fuzz console:
/// <c>dotnet run -c Release --project tests/Gated.Fuzz -- [--long | --cases N] [--parser NAME[,NAME…]] [--seed N] [--case N] [--save DIR] [--trace] [--list]</c>.
/// Prints cases run, loaded and rejected, the time and the worst case per parser, and every failure with the
/// command that reproduces it; failing inputs are written to <c>--save</c> (default <c>fuzz-failures/</c>).
/// Exit code 0 when every case kept the contract, 1 when one did not, 2 for a usage error.
/// </summary>
public static class Program
{
    /// <summary>Cases per parser of <c>--long</c>.</summary>
    public const int LongCases = 100_000;

    /// <summary>Cases per parser without <c>--long</c> or <c>--cases</c> (what <c>dotnet test</c> runs).</summary>
    public const int QuickCases = 3000;

    /// <summary>The entry point.</summary>
    public static int Main(string[] args)
    {
        int cases = QuickCases, seed = 1;
        int? onlyCase = null;
        string save = "fuzz-failures";
        bool trace = false;
        var parsers = new List<FuzzTarget>();
        try
        {
            for (int i = 0; i < args.Length; i++)
            {
                string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value.");
                int Int(int min) => int.TryParse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= min
                    ? v : throw new UsageException($"{args[i - 1]} needs an integer ≥ {min}, got '{args[i]}'.");
                switch (args[i])
                {
                    case "--long": cases = LongCases; break;
                    case "--cases": cases = Int(1); break;
                    case "--seed": seed = Int(0); break;
                    case "--case": onlyCase = Int(0); break;
                    case "--save": save = Value(); break;
                    case "--trace": trace = true; break;
                    case "--parser":
                        foreach (string name in Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                            parsers.Add(FuzzTargets.Find(name) ?? throw new UsageException($"unknown parser '{name}'; the parsers are {string.Join(", ", FuzzTargets.All.Select(t => t.Name))}."));
                        break;
                    case "--list":
                        foreach (var t in FuzzTargets.All) Console.WriteLine($"{t.Name,-12} {t.Description}");
                        return 0;
                    case "--help" or "-h":
                        Console.WriteLine("usage: dotnet run -c Release --project tests/Gated.Fuzz -- [--long | --cases N] [--parser NAME[,NAME...]] [--seed N] [--case N] [--save DIR] [--trace] [--list]");
                        Console.WriteLine($"  --long       {LongCases:N0} cases per parser (default {QuickCases:N0})");
                        Console.WriteLine("  --case N     run only case N of --seed (reproduce a failure; needs --parser)");
                        Console.WriteLine("  --trace      print every case before running it (to find one that crashes the process)");
                        return 0;
                    default:
                        throw new UsageException($"unknown argument '{args[i]}' (see --help).");
                }
            }
            if (onlyCase is not null && parsers.Count != 1) throw new UsageException("--case needs exactly one --parser.");
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"Gated.Fuzz: {e.Message}");
            return 2;
        }
        if (parsers.Count == 0) parsers.AddRange(FuzzTargets.All);

        Console.WriteLine(onlyCase is int one
            ? $"case {one} of seed {seed}"
            : $"{cases:N0} cases per parser, seed {seed}, {Environment.ProcessorCount} cores, .NET {Environment.Version}");
        Console.WriteLine($"{"parser",-12} {"cases",9} {"loaded",9} {"rejected",9} {"failures",8} {"time",9} {"slowest (case)",18} {"max alloc",12} {"alloc/byte",10}");
        var reports = new List<FuzzReport>();
        foreach (var target in parsers)
        {
            var report = FuzzRunner.Run(target, new FuzzOptions
            {
                Cases = cases,
                Seed = seed,
                OnlyCase = onlyCase,
                Trace = trace,
                Progress = cases >= 50_000 ? done => Console.Error.WriteLine($"  {target.Name}: {done:N0} cases") : null,
                OnFailure = f => Console.Error.WriteLine($"  FAIL {f}"),
            });
            reports.Add(report);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{report.Parser,-12} {report.Cases,9:N0} {report.Loaded,9:N0} {report.Rejected,9:N0} {report.FailureCount,8:N0} {report.Elapsed.TotalSeconds,8:F1}s {report.SlowestCase.TotalMilliseconds,7:F1}ms {"(" + report.SlowestCaseNumber.ToString(CultureInfo.InvariantCulture) + ")",-9} {report.MostAllocated,12:N0} {report.HighestAllocationRatio,10:F1}"));
            if (report.Hung) break; // the hung case still runs on its thread; later results would be skewed
        }

        var failures = reports.SelectMany(r => r.Failures).ToList();
        if (failures.Count == 0)
        {
            Console.WriteLine("no failures: every input loaded or was refused with the documented exception, within the time and allocation limits.");
            return 0;
        }
        Directory.CreateDirectory(save);
        Console.WriteLine();
        Console.WriteLine($"{reports.Sum(r => r.FailureCount)} failing cases; the first of each kind:");
        foreach (var f in failures)
        {
            string file = Path.Combine(save, $"{f.Parser}-seed{f.Seed}-case{f.Case}.bin");
            File.WriteAllBytes(file, f.Input);
            Console.WriteLine($"FAIL {f}\n  input: {file}");
        }
        // A hung case cannot be stopped; leave without waiting for it.
        Console.Out.Flush();
        if (reports.Any(r => r.Hung)) Environment.Exit(1);
        return 1;
    }

    private sealed class UsageException(string message) : Exception(message);
}
