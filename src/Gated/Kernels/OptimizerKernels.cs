using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Gated.Kernels;

/// <summary>
/// The flat loops of gradient clipping and the optimisers over a parameter block's values and gradients,
/// vectorised with <see cref="Vector{T}"/>, each with a scalar twin that the tests compare it against.
/// </summary>
internal static class OptimizerKernels
{
    /// <summary>
    /// Σ g_i² in double precision: with vectors, four accumulators of <see cref="Vector{T}"/> of double
    /// (elements i, i + W, i + 2W, i + 3W of each block of 4W go to accumulators 0..3, W the width),
    /// added as (0 + 1) + (2 + 3), their lanes summed in lane order, then the tail in element order.
    /// The order depends only on the length, never on the thread count.
    /// </summary>
    public static double SumOfSquares<T>(ReadOnlySpan<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!Vector.IsHardwareAccelerated || Vector<double>.Count < 2 || (typeof(T) != typeof(float) && typeof(T) != typeof(double)))
            return SumOfSquaresScalar(values);
        int width = Vector<double>.Count, block = 4 * width, i = 0;
        ReadOnlySpan<double> doubles = typeof(T) == typeof(double) ? MemoryMarshal.Cast<T, double>(values) : default;
        ReadOnlySpan<float> floats = typeof(T) == typeof(float) ? MemoryMarshal.Cast<T, float>(values) : default;
        Vector<double> s0 = default, s1 = default, s2 = default, s3 = default;
        for (; i <= values.Length - block; i += block)
        {
            Vector<double> v0, v1, v2, v3;
            if (typeof(T) == typeof(float))
            {
                // One Vector<float> widens into the first two blocks of W doubles, the next into the last two.
                Vector.Widen(new Vector<float>(floats[i..]), out v0, out v1);
                Vector.Widen(new Vector<float>(floats[(i + 2 * width)..]), out v2, out v3);
            }
            else
            {
                v0 = new Vector<double>(doubles[i..]);
                v1 = new Vector<double>(doubles[(i + width)..]);
                v2 = new Vector<double>(doubles[(i + 2 * width)..]);
                v3 = new Vector<double>(doubles[(i + 3 * width)..]);
            }
            s0 += v0 * v0;
            s1 += v1 * v1;
            s2 += v2 * v2;
            s3 += v3 * v3;
        }
        Vector<double> s = (s0 + s1) + (s2 + s3);
        double sum = 0;
        for (int lane = 0; lane < width; lane++) sum += s[lane];
        for (; i < values.Length; i++)
        {
            double d = double.CreateTruncating(values[i]);
            sum += d * d;
        }
        return sum;
    }

    /// <summary>The scalar twin of <see cref="SumOfSquares{T}"/>: Σ g_i² in double, in element order.</summary>
    public static double SumOfSquaresScalar<T>(ReadOnlySpan<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double sum = 0;
        foreach (T g in values)
        {
            double d = double.CreateTruncating(g);
            sum += d * d;
        }
        return sum;
    }

    /// <summary>
    /// The plain RMSProp step (no centring, no momentum), in place: v ← α v + (1 − α) g²,
    /// θ ← θ − lr · g / (√v + ε), each element with the same operations as
    /// <see cref="RmsPropScalar{T}"/> (no fused multiply-add), so both give the same bits.
    /// </summary>
    public static void RmsProp<T>(Span<T> values, ReadOnlySpan<T> gradients, Span<T> squareAverage, T alpha, T oneMinusAlpha, T learningRate, T epsilon)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(gradients.Length == values.Length && squareAverage.Length == values.Length);
        int i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.Count > 1)
        {
            int width = Vector<T>.Count;
            var a = new Vector<T>(alpha);
            var oneMinusA = new Vector<T>(oneMinusAlpha);
            var lr = new Vector<T>(learningRate);
            var eps = new Vector<T>(epsilon);
            for (; i <= values.Length - width; i += width)
            {
                var g = new Vector<T>(gradients[i..]);
                var v = a * new Vector<T>(squareAverage[i..]) + oneMinusA * g * g;
                v.CopyTo(squareAverage[i..]);
                var update = g / (Vector.SquareRoot(v) + eps);
                (new Vector<T>(values[i..]) - lr * update).CopyTo(values[i..]);
            }
        }
        RmsPropScalar(values[i..], gradients[i..], squareAverage[i..], alpha, oneMinusAlpha, learningRate, epsilon);
    }

    /// <summary>The scalar twin of <see cref="RmsProp{T}"/>.</summary>
    public static void RmsPropScalar<T>(Span<T> values, ReadOnlySpan<T> gradients, Span<T> squareAverage, T alpha, T oneMinusAlpha, T learningRate, T epsilon)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < values.Length; i++)
        {
            T g = gradients[i];
            T v = alpha * squareAverage[i] + oneMinusAlpha * g * g;
            squareAverage[i] = v;
            T update = g / (T.Sqrt(v) + epsilon);
            values[i] -= learningRate * update;
        }
    }
}
