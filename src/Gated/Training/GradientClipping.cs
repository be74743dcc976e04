using System.Numerics;
using System.Numerics.Tensors;
using Gated.Kernels;
using Gated.Memory;

namespace Gated.Training;

/// <summary>Gradient-norm clipping over several parameter blocks, as one vector.</summary>
public static class GradientClipping
{
    /// <summary>The global L2 norm √(Σ g²) of the gradients of all blocks, accumulated in double (each block's sum vectorised in a fixed order, then the blocks in order).</summary>
    /// <param name="blocks">The parameter blocks.</param>
    public static double GlobalNorm<T>(IEnumerable<ParameterBlock<T>> blocks) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(blocks);
        double sum = 0;
        if (blocks is IReadOnlyList<ParameterBlock<T>> list)
        {
            // By index: a foreach over an interface allocates an enumerator, once per training step.
            for (int i = 0; i < list.Count; i++) sum += SumOfSquares(list[i], nameof(blocks));
        }
        else
        {
            foreach (var block in blocks) sum += SumOfSquares(block, nameof(blocks));
        }
        return Math.Sqrt(sum);
    }

    private static double SumOfSquares<T>(ParameterBlock<T> block, string parameterName) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(block, parameterName);
        return OptimizerKernels.SumOfSquares<T>(block.Gradients);
    }

    /// <summary>
    /// Computes the global L2 norm of the gradients of all blocks and, when it is above
    /// <paramref name="maxNorm"/>, multiplies every gradient by maxNorm / norm so that the norm
    /// becomes <paramref name="maxNorm"/> (PyTorch's <c>clip_grad_norm_</c> divides by norm + 1e-6 instead).
    /// A norm that is not finite (NaN or ∞) leaves the gradients unchanged; check the returned value.
    /// </summary>
    /// <param name="blocks">The parameter blocks, clipped together as one vector.</param>
    /// <param name="maxNorm">The largest norm allowed, &gt; 0.</param>
    /// <returns>The norm before clipping.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxNorm"/> is not positive.</exception>
    public static double ClipByGlobalNorm<T>(IEnumerable<ParameterBlock<T>> blocks, double maxNorm) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(blocks);
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "The maximum norm must be > 0.");
        // Indexed, not enumerated through the interface: no enumerator is allocated per call.
        var list = blocks as IReadOnlyList<ParameterBlock<T>> ?? blocks.ToArray();
        double norm = GlobalNorm(list);
        if (double.IsFinite(norm) && norm > maxNorm)
        {
            T scale = T.CreateChecked(maxNorm / norm);
            for (int i = 0; i < list.Count; i++)
                if (list[i].Count > 0) TensorPrimitives.Multiply(list[i].Gradients, scale, list[i].Gradients);
        }
        return norm;
    }
}
