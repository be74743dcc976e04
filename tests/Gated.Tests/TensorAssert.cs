using System.Numerics;
using System.Text;
using Xunit.Sdk;

namespace Gated.Tests;

/// <summary>Compares tensors by name, llm.c style: reports the largest absolute and relative differences and the first values.</summary>
internal static class TensorAssert
{
    /// <summary>Passes when |actual − expected| ≤ atol + rtol·|expected| for every element.</summary>
    public static void Close<T>(string name, ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, double rtol, double atol)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (expected.Length != actual.Length)
            throw new XunitException($"{name}: length {actual.Length}, expected {expected.Length}.");
        double maxAbs = 0, maxRel = 0;
        int worst = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = double.CreateChecked(expected[i]), a = double.CreateChecked(actual[i]);
            double diff = Math.Abs(a - e);
            if (double.IsNaN(a) != double.IsNaN(e) || diff > atol + rtol * Math.Abs(e))
                if (worst < 0 || diff > Math.Abs(double.CreateChecked(actual[worst]) - double.CreateChecked(expected[worst]))) worst = i;
            maxAbs = Math.Max(maxAbs, diff);
            if (e != 0) maxRel = Math.Max(maxRel, diff / Math.Abs(e));
        }
        if (worst >= 0)
        {
            var s = new StringBuilder($"{name}: max |diff| {maxAbs:E3}, max rel {maxRel:E3} (rtol {rtol:E1}, atol {atol:E1}); worst at [{worst}]: {actual[worst]} vs {expected[worst]}.\n  first actual:   ");
            for (int i = 0; i < Math.Min(6, actual.Length); i++) s.Append($"{actual[i]} ");
            s.Append("\n  first expected: ");
            for (int i = 0; i < Math.Min(6, expected.Length); i++) s.Append($"{expected[i]} ");
            throw new XunitException(s.ToString());
        }
    }
}
