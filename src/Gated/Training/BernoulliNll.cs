using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Gated.Kernels;

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

    // From this many elements the chunks are split over threads (music-batch's 140,800 logits are; a
    // single music sequence's 17,600 are not).
    private const int ParallelMinimum = 1 << 15;

    /// <summary>
    /// The loss (and gradient) a chunk of <see cref="Chunk"/> elements at a time, in double precision
    /// whatever T: ℓ = max(a, 0) − a·y + log(1 + e^{−|a|}) per element; gradient = scale·(σ(a) − y).
    /// With 256-bit vectors each chunk is one fused pass (<see cref="FusedChunk{T}"/>), else a sequence of
    /// <see cref="TensorPrimitives"/> calls (<see cref="PrimitiveChunk{T}"/>). Either way a chunk's terms are
    /// summed into a chunk total in a fixed order and the chunk totals in chunk order. Large inputs split
    /// their chunks over threads (<see cref="ChunkJob{T}"/>): each part writes its chunks' totals into a
    /// buffer, and the calling thread sums the buffer in chunk order, so the total has the same bits as on one thread.
    /// </summary>
    private static unsafe double Vectorised<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> gradient, double scale, bool withGradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int length = logits.Length;
        int chunks = (length + Chunk - 1) / Chunk;
        int parts = Math.Min(ComputeThreads.AvailableHere, chunks);
        fixed (T* pLogits = logits)
        fixed (T* pTargets = targets)
        fixed (T* pGradient = gradient)
        {
            if (parts <= 1 || length < ParallelMinimum)
                return Chunks(pLogits, pTargets, pGradient, scale, withGradient, 0, length, chunkTotals: null);
            double[] totals = ChunkJob<T>.Totals(chunks);
            fixed (double* pTotals = totals)
            {
                ChunkJob<T>.Run(pLogits, pTargets, pGradient, scale, withGradient, length, pTotals, parts);
                double total = 0;
                for (int i = 0; i < chunks; i++) total += pTotals[i];
                return total;
            }
        }
    }

    /// <summary>
    /// Elements [start, end) (start a multiple of <see cref="Chunk"/>), a chunk at a time: returns the running
    /// sum of the chunk totals, or writes each chunk's total to <paramref name="chunkTotals"/>[chunk index]
    /// (and returns 0) when it is given; writes the gradient when asked.
    /// </summary>
    private static unsafe double Chunks<T>(T* logits, T* targets, T* gradient, double scale, bool withGradient, int start, int end, double* chunkTotals)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool fused = FusedKernelEnabled && Vector256.IsHardwareAccelerated && (typeof(T) == typeof(float) || typeof(T) == typeof(double));
        double total = 0;
        for (; start < end; start += Chunk)
        {
            int n = Math.Min(Chunk, end - start);
            double chunkTotal = fused
                ? FusedChunk(logits + start, targets + start, gradient + start, n, scale, withGradient)
                : PrimitiveChunk(logits + start, targets + start, gradient + start, n, scale, withGradient);
            if (chunkTotals is null) total += chunkTotal;
            else chunkTotals[start / Chunk] = chunkTotal;
        }
        return total;
    }

    /// <summary>Tests turn the fused kernel off to compare it with the <see cref="TensorPrimitives"/> chunks.</summary>
    internal static bool FusedKernelEnabled = true;

    /// <summary>
    /// One chunk of n ≤ <see cref="Chunk"/> elements with <see cref="TensorPrimitives"/> in stack buffers:
    /// the fall-back without 256-bit vectors. Returns the sum of the chunk's ℓ in element order.
    /// </summary>
    private static unsafe double PrimitiveChunk<T>(T* logits, T* targets, T* gradient, int n, double scale, bool withGradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<double> an = stackalloc double[n];
        Span<double> yn = stackalloc double[n];
        Span<double> w = stackalloc double[n];
        TensorPrimitives.ConvertTruncating(new ReadOnlySpan<T>(logits, n), an);
        TensorPrimitives.ConvertTruncating(new ReadOnlySpan<T>(targets, n), yn);
        // log(1 + e^{−|a|})
        TensorPrimitives.Abs(an, w);
        TensorPrimitives.Negate(w, w);
        TensorPrimitives.Exp(w, w);
        TensorPrimitives.Add(w, 1.0, w);
        TensorPrimitives.Log(w, w);
        // + max(a, 0) − a·y
        double total = 0;
        for (int i = 0; i < n; i++) total += Math.Max(an[i], 0) - an[i] * yn[i] + w[i];
        if (withGradient)
        {
            // The gradient may overwrite the logits: they were copied into an above.
            TensorPrimitives.Sigmoid(an, w);
            TensorPrimitives.Subtract(w, yn, w);
            TensorPrimitives.Multiply(w, scale, w);
            TensorPrimitives.ConvertTruncating(w, new Span<T>(gradient, n));
        }
        return total;
    }

    /// <summary>
    /// One chunk of n ≤ <see cref="Chunk"/> elements in one pass of <see cref="Vector256{T}"/> of double,
    /// four elements at a time: e = e^{−|a|} (one exponential serves the loss and the gradient),
    /// ℓ = max(a, 0) − a·y + log(1 + e), σ(a) = 1/(1 + e) for a ≥ 0 and e/(1 + e) below, gradient =
    /// scale·(σ(a) − y) rounded to T. The four lanes' terms are summed lane-wise, the lanes added in
    /// order 0..3, then the tail elements (n mod 4, in scalar code) in element order.
    /// <see cref="LossAndGradientScalar{T}"/> is its twin.
    /// </summary>
    private static unsafe double FusedChunk<T>(T* logits, T* targets, T* gradient, int n, double scale, bool withGradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var sum = Vector256<double>.Zero;
        var one = Vector256.Create(1.0);
        var scaleVector = Vector256.Create(scale);
        int i = 0;
        for (; i <= n - 4; i += 4)
        {
            Vector256<double> a, y;
            if (typeof(T) == typeof(float))
            {
                a = Vector256.WidenLower(Vector128.Load((float*)logits + i).ToVector256Unsafe());
                y = Vector256.WidenLower(Vector128.Load((float*)targets + i).ToVector256Unsafe());
            }
            else
            {
                a = Vector256.Load((double*)logits + i);
                y = Vector256.Load((double*)targets + i);
            }
            Vector256<double> e = Vector256.Exp(-Vector256.Abs(a));
            Vector256<double> onePlusE = one + e;
            sum += Vector256.Max(a, Vector256<double>.Zero) - a * y + Vector256.Log(onePlusE);
            if (withGradient)
            {
                Vector256<double> sigmoid = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(a, Vector256<double>.Zero), one, e) / onePlusE;
                Vector256<double> g = (sigmoid - y) * scaleVector;
                if (typeof(T) == typeof(float)) Vector256.Narrow(g, g).GetLower().Store((float*)gradient + i);
                else g.Store((double*)gradient + i);
            }
        }
        double total = sum.GetElement(0) + sum.GetElement(1) + sum.GetElement(2) + sum.GetElement(3);
        for (; i < n; i++)
        {
            double a = double.CreateTruncating(logits[i]), y = double.CreateTruncating(targets[i]);
            total += Element(a, y);
            if (withGradient) gradient[i] = T.CreateTruncating(scale * (Sigmoid(a) - y));
        }
        return total;
    }

    /// <summary>
    /// The chunks of one call split over the worker pool: part p of P takes whole chunks
    /// [chunks·p/P, chunks·(p+1)/P) and writes their totals and gradient. One instance (and one buffer of
    /// chunk totals, grown when a longer input arrives) per calling thread, so a call allocates nothing after the first.
    /// </summary>
    private sealed unsafe class ChunkJob<T> : IParallelJob where T : unmanaged, IFloatingPointIeee754<T>
    {
        [ThreadStatic] private static ChunkJob<T>? forThisThread;
        [ThreadStatic] private static double[]? totals;

        private T* logits, targets, gradient;
        private double* totalsPointer;
        private double scale;
        private bool withGradient;
        private int length;

        public static double[] Totals(int chunks)
        {
            if (totals is null || totals.Length < chunks) totals = new double[chunks];
            return totals;
        }

        public static void Run(T* logits, T* targets, T* gradient, double scale, bool withGradient, int length, double* chunkTotals, int parts)
        {
            var job = forThisThread ??= new ChunkJob<T>();
            job.logits = logits; job.targets = targets; job.gradient = gradient; job.totalsPointer = chunkTotals;
            job.scale = scale; job.withGradient = withGradient; job.length = length;
            try
            {
                WorkerPool.Run(job, parts, length);
            }
            finally
            {
                job.logits = job.targets = job.gradient = null;
                job.totalsPointer = null;
            }
        }

        public void Execute(int part, int parts)
        {
            int chunks = (length + Chunk - 1) / Chunk;
            int start = (int)((long)chunks * part / parts) * Chunk;
            int end = Math.Min(length, (int)((long)chunks * (part + 1) / parts) * Chunk);
            if (start < end) Chunks(logits, targets, gradient, scale, withGradient, start, end, totalsPointer);
        }
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
