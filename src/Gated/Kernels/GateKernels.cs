using System.Diagnostics;
using System.Numerics;

namespace Gated.Kernels;

/// <summary>
/// Fused element-wise kernels of the gate equations that no single <see cref="System.Numerics.Tensors.TensorPrimitives"/>
/// call covers: vectorised with <see cref="Vector{T}"/> (Reduce), the tail and the
/// no-SIMD machine through the scalar twin (Remainder). Tests compare each with its twin.
/// </summary>
internal static class GateKernels
{
    /// <summary>
    /// Backward of the GRU interpolation, for one row of H values. KeepPrevious
    /// (h = z ⊙ h_prev + (1 − z) ⊙ ĥ): δĥ = δh ⊙ (1 − z), δz = δh ⊙ (h_prev − ĥ), δh_prev = δh ⊙ z.
    /// TakeCandidate (h = (1 − z) ⊙ h_prev + z ⊙ ĥ): δĥ = δh ⊙ z, δz = δh ⊙ (ĥ − h_prev), δh_prev = δh ⊙ (1 − z).
    /// δh_prev is overwritten (the direct path is the first term of its sum).
    /// </summary>
    public static void InterpolationBackward<T>(bool keepPrevious, ReadOnlySpan<T> dh, ReadOnlySpan<T> z, ReadOnlySpan<T> hPrev, ReadOnlySpan<T> candidate,
        Span<T> dCandidate, Span<T> dz, Span<T> dhPrev) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = dh.Length;
        Debug.Assert(z.Length == n && hPrev.Length == n && candidate.Length == n && dCandidate.Length == n && dz.Length == n && dhPrev.Length == n);
        int i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.Count > 1)
        {
            int width = Vector<T>.Count;
            var one = Vector<T>.One;
            for (; i <= n - width; i += width)
            {
                var vdh = new Vector<T>(dh[i..]);
                var vz = new Vector<T>(z[i..]);
                var vPrev = new Vector<T>(hPrev[i..]);
                var vCandidate = new Vector<T>(candidate[i..]);
                if (keepPrevious)
                {
                    (vdh * (one - vz)).CopyTo(dCandidate[i..]);
                    (vdh * (vPrev - vCandidate)).CopyTo(dz[i..]);
                    (vdh * vz).CopyTo(dhPrev[i..]);
                }
                else
                {
                    (vdh * vz).CopyTo(dCandidate[i..]);
                    (vdh * (vCandidate - vPrev)).CopyTo(dz[i..]);
                    (vdh * (one - vz)).CopyTo(dhPrev[i..]);
                }
            }
        }
        InterpolationBackwardScalar(keepPrevious, dh[i..], z[i..], hPrev[i..], candidate[i..], dCandidate[i..], dz[i..], dhPrev[i..]);
    }

    /// <summary>The scalar twin of <see cref="InterpolationBackward{T}"/>.</summary>
    public static void InterpolationBackwardScalar<T>(bool keepPrevious, ReadOnlySpan<T> dh, ReadOnlySpan<T> z, ReadOnlySpan<T> hPrev, ReadOnlySpan<T> candidate,
        Span<T> dCandidate, Span<T> dz, Span<T> dhPrev) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int j = 0; j < dh.Length; j++)
        {
            if (keepPrevious)
            {
                dCandidate[j] = dh[j] * (T.One - z[j]);
                dz[j] = dh[j] * (hPrev[j] - candidate[j]);
                dhPrev[j] = dh[j] * z[j];
            }
            else
            {
                dCandidate[j] = dh[j] * z[j];
                dz[j] = dh[j] * (candidate[j] - hPrev[j]);
                dhPrev[j] = dh[j] * (T.One - z[j]);
            }
        }
    }
}
