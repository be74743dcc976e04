using Gated.Fuzz;
using Xunit.Abstractions;

namespace Gated.Tests.IO;

/// <summary>
/// A short seeded pass of the fuzz harness (tests/Gated.Fuzz) over every registered parser: each input
/// loads or is refused with <see cref="Gated.IO.GatedFormatException"/> and a message, within the time
/// limit and the allocation bound. The long pass is <c>dotnet run -c Release --project tests/Gated.Fuzz -- --long</c>.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    /// <summary>Another seed than the console's default, so the two runs cover different cases.</summary>
    private const int Seed = 20261122;

    public static TheoryData<string> Parsers() => new(FuzzTargets.All.Select(t => t.Name));

    [Theory]
    [MemberData(nameof(Parsers))]
    public void ShortSeededRunKeepsTheContract(string parser)
    {
        var target = FuzzTargets.Find(parser)!;
        var report = FuzzRunner.Run(target, new FuzzOptions { Cases = Gated.Fuzz.Program.QuickCases, Seed = Seed });
        output.WriteLine($"{parser}: {report.Cases} cases, {report.Loaded} loaded, {report.Rejected} rejected in {report.Elapsed.TotalSeconds:F1} s; " +
            $"slowest {report.SlowestCase.TotalMilliseconds:F1} ms, most allocated {report.MostAllocated:N0} bytes");
        Assert.True(report.FailureCount == 0, $"{report.FailureCount} failing cases:\n" + string.Join("\n", report.Failures));
        Assert.Equal(Gated.Fuzz.Program.QuickCases, report.Cases);
        Assert.True(report.Loaded > 0 && report.Rejected > 0, $"loaded {report.Loaded}, rejected {report.Rejected}: the mutations are too weak or too strong");
    }

    [Fact]
    public void ACaseIsTheSameInputEveryTime()
    {
        foreach (var target in FuzzTargets.All.Where(t => t.Name is "json" or "midi"))
        {
            var seeds = target.Seeds();
            for (int c = 0; c < 50; c++)
            {
                var (a, logA) = FuzzRunner.Input(target, seeds, 7, c);
                var (b, logB) = FuzzRunner.Input(target, seeds, 7, c);
                Assert.Equal(a, b);
                Assert.Equal(logA, logB);
            }
        }
        Assert.NotEqual(FuzzRunner.CaseSeed(1, 0), FuzzRunner.CaseSeed(1, 1));
        Assert.NotEqual(FuzzRunner.CaseSeed(1, 0), FuzzRunner.CaseSeed(2, 0));
    }

    [Fact]
    public void TheRunnerCatchesEachKindOfBreach()
    {
        byte[][] seeds = [[1, 2, 3]];
        // The seed itself is parsed first and must load; the cases are new arrays.
        FuzzReport Run(Action<byte[]> parse, int cases = 20) =>
            FuzzRunner.Run(new FuzzTarget("probe", "", parse, () => seeds),
                new FuzzOptions { Cases = cases, CaseTimeLimit = TimeSpan.FromMilliseconds(50), HangLimit = TimeSpan.FromSeconds(2) });

        Assert.Equal(20, Run(_ => { }).Loaded);
        Assert.Equal(20, Run(b => { if (b != seeds[0]) throw new Gated.IO.GatedFormatException("bad"); }).Rejected);
        Assert.Contains("IndexOutOfRangeException", Run(b => { if (b != seeds[0]) _ = b[b.Length]; }).Failures[0].Problem);
        Assert.Contains("empty message", Run(b => { if (b != seeds[0]) throw new Gated.IO.GatedFormatException(" "); }).Failures[0].Problem);
        Assert.Contains("allocated", Run(b => { if (b != seeds[0]) GC.KeepAlive(new byte[4 << 20]); }, cases: 2).Failures[0].Problem);
        Assert.Contains("more than the limit", Run(b => { if (b != seeds[0]) Thread.Sleep(80); }, cases: 2).Failures[0].Problem);
        var hang = Run(b => { if (b != seeds[0]) Thread.Sleep(Timeout.Infinite); }, cases: 1);
        Assert.True(hang.Hung);
        Assert.Contains("hang", hang.Failures[0].Problem);
        Assert.Contains("--parser probe --seed 1 --case 0", hang.Failures[0].ReproduceCommand);
    }
}
