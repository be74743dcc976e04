using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

namespace Gated.Benchmarks.Micro;

/// <summary>
/// Entry point: BenchmarkDotNet's switcher, so <c>--filter</c>, <c>--list flat</c>, <c>--job short</c> and the
/// other BenchmarkDotNet options work. Benchmarks run in this process (the in-process toolchain): no
/// second project is generated and built, which matters on a small machine, and Gated's internals
/// (<c>Gemm.Multiply</c>, visible to this assembly) are called directly.
/// </summary>
public static class Program
{
    /// <summary>Runs the benchmarks chosen on the command line.</summary>
    public static void Main(string[] args)
    {
        // BenchmarkDotNet's own --inProcess switch, so that --job dry/short/long still choose the run lengths.
        bool inProcess = args.Any(a => a is "--inProcess" or "-i");
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(inProcess ? args : [.. args, "--inProcess"], DefaultConfig.Instance);
    }
}
