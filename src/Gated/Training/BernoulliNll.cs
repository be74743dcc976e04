using System.Numerics;
using System.Numerics.Tensors;

namespace Gated.Training;

/// <summary>
/// The negative log-likelihood of binary targets under independent Bernoulli outputs given as logits
/// (PyTorch's <c>BCEWithLogitsLoss(reduction="sum")</c>): the loss of polyphonic-music models, where
/// each of the 88 keys at the next step is on with probability σ(a).
/// </summary>
/// <remarks>
/// <para>For a logit a and a target y ∈ {0, 1} (any y in [0, 1] works):
/// ℓ(a, y) = −y log σ(a) − (1 − y) log(1 − σ(a)), computed stably as
/// max(a, 0) − a·y + log(1 + e^{−|a|}), in natural log (nats), accumulated in double.
/// Its derivative is ∂ℓ/∂a = σ(a) − y.</para>
/// <para>"NLL per time step", the number reported for music models (Boulanger-Lewandowski et al.
/// 2012; Chung et al. 2014), is the sum of ℓ over the 88 keys of a predicted step, averaged over
/// predicted steps: a model predicts step t+1 from steps 0..t, so a sequence of length T
/// contributes T − 1 predicted steps (steps 1..T−1), and the NLL of a split is the total of ℓ over
/// all its predicted steps and keys divided by the number of predicted steps, Σ (T_s − 1).</para>
/// </remarks>
public static class BernoulliNll
{
    /// <summary>Σ ℓ(a_i, y_i) over all elements.</summary>
    /// <param name="logits">The logits a.</param>
    /// <param name="targets">The targets y, same length.</param>
    /// <returns>The summed loss, in nats.</returns>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static double Loss<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (logits.Length != targets.Length)
            throw new ArgumentException($"logits has {logits.Length} elements, targets {targets.Length}.", nameof(targets));
        return Vectorised(logits, targets, gradient: default, scale: 0, withGradient: false);
    }

    /// <summary>The scalar twin of <see cref="Loss{T}"/>: each element in double precision, one at a time.</summary>
    public static double LossScalar<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (logits.Length != targets.Length)
            throw new ArgumentException($"logits has {logits.Length} elements, targets {targets.Length}.", nameof(targets));
        double total = 0;
        for (int i = 0; i < logits.Length; i++)
            total += Element(double.CreateTruncating(logits[i]), double.CreateTruncating(targets[i]));
        return total;
    }

    /// <summary>
    /// Σ ℓ(a_i, y_i) over all elements, and writes scale·(σ(a_i) − y_i) into <paramref name="gradient"/>
    /// (pass scale = 1/(predicted steps) to get the gradient of the mean NLL per step).
    /// </summary>
    /// <param name="logits">The logits a.</param>
    /// <param name="targets">The targets y, same length.</param>
    /// <param name="gradient">Receives the scaled gradient, same length; may be the logits span itself.</param>
    /// <param name="scale">The factor applied to the gradient (not to the returned loss).</param>
    /// <returns>The summed loss, in nats, unscaled.</returns>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static double LossAndGradient<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> gradient, double scale = 1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (logits.Length != targets.Length || gradient.Length != logits.Length)
            throw new ArgumentException($"logits ({logits.Length}), targets ({targets.Length}) and gradient ({gradient.Length}) must have the same length.", nameof(gradient));
        return Vectorised(logits, targets, gradient, scale, withGradient: true);
    }

    /// <summary>The scalar twin of <see cref="LossAndGradient{T}"/>: each element in double precision, one at a time.</summary>
    public static double LossAndGradientScalar<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> gradient, double scale = 1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (logits.Length != targets.Length || gradient.Length != logits.Length)
            throw new ArgumentException($"logits ({logits.Length}), targets ({targets.Length}) and gradient ({gradient.Length}) must have the same length.", nameof(gradient));
        double total = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            double a = double.CreateTruncating(logits[i]), y = double.CreateTruncating(targets[i]);
            total += Element(a, y);
            gradient[i] = T.CreateTruncating(scale * (Sigmoid(a) - y));
        }
        return total;
    }

    // Chunks of this many elements go through TensorPrimitives in stack buffers.
    private const int Chunk = 128;

    /// <summary>
    /// The loss (and gradient) a chunk at a time with <see cref="TensorPrimitives"/>, in double precision
    /// whatever T: ℓ = max(a, 0) − a·y + log(1 + e^{−|a|}) per element, summed; gradient = scale·(σ(a) − y).
    /// </summary>
    private static double Vectorised<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> gradient, double scale, bool withGradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<double> a = stackalloc double[Chunk];
        Span<double> y = stackalloc double[Chunk];
        Span<double> work = stackalloc double[Chunk];
        double total = 0;
        for (int start = 0; start < logits.Length; start += Chunk)
        {
            int n = Math.Min(Chunk, logits.Length - start);
            Span<double> an = a[..n], yn = y[..n], w = work[..n];
            TensorPrimitives.ConvertTruncating(logits.Slice(start, n), an);
            TensorPrimitives.ConvertTruncating(targets.Slice(start, n), yn);
            // log(1 + e^{−|a|})
            TensorPrimitives.Abs(an, w);
            TensorPrimitives.Negate(w, w);
            TensorPrimitives.Exp(w, w);
            TensorPrimitives.Add(w, 1.0, w);
            TensorPrimitives.Log(w, w);
            // + max(a, 0) − a·y
            for (int i = 0; i < n; i++) total += Math.Max(an[i], 0) - an[i] * yn[i] + w[i];
            if (withGradient)
            {
                // The gradient may overwrite the logits: they were copied into a above.
                TensorPrimitives.Sigmoid(an, w);
                TensorPrimitives.Subtract(w, yn, w);
                TensorPrimitives.Multiply(w, scale, w);
                TensorPrimitives.ConvertTruncating(w, gradient.Slice(start, n));
            }
        }
        return total;
    }

    /// <summary>ℓ(a, y) = max(a, 0) − a·y + log(1 + e^{−|a|}).</summary>
    public static double Element(double logit, double target) =>
        Math.Max(logit, 0) - logit * target + Math.Log(1 + Math.Exp(-Math.Abs(logit)));

    /// <summary>σ(a) = 1 / (1 + e^{−a}), without overflow for large |a|.</summary>
    public static double Sigmoid(double logit)
    {
        if (logit >= 0) return 1 / (1 + Math.Exp(-logit));
        double e = Math.Exp(logit);
        return e / (1 + e);
    }
}
