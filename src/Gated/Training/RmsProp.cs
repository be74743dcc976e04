using System.Numerics;
using Gated.Kernels;
using Gated.Memory;

namespace Gated.Training;

/// <summary>
/// RMSProp (Tieleman &amp; Hinton 2012) with PyTorch's <c>torch.optim.RMSprop</c> update (no weight decay):
/// v ← α v + (1 − α) g²; with <see cref="Centered"/> (Graves 2013) also ḡ ← α ḡ + (1 − α) g and
/// ṽ = v − ḡ², else ṽ = v; then without momentum θ ← θ − lr · g / (√ṽ + ε), with momentum μ &gt; 0
/// b ← μ b + g / (√ṽ + ε) and θ ← θ − lr · b.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class RmsProp<T> : Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[][] squareAverage;
    private readonly T[][]? gradientAverage, momentumBuffer;

    /// <summary>Creates the optimiser; the running averages start at zero.</summary>
    /// <param name="blocks">The parameter blocks to optimise.</param>
    /// <param name="learningRate">lr, default 1e-2 (PyTorch's).</param>
    /// <param name="alpha">α in [0, 1), the decay of the running averages, default 0.99.</param>
    /// <param name="epsilon">ε &gt; 0, default 1e-8.</param>
    /// <param name="momentum">μ in [0, 1), default 0.</param>
    /// <param name="centered">Divide by the running variance rather than the running mean square.</param>
    /// <exception cref="ArgumentException">An argument is out of range.</exception>
    public RmsProp(IEnumerable<ParameterBlock<T>> blocks, double learningRate = 1e-2, double alpha = 0.99, double epsilon = 1e-8, double momentum = 0, bool centered = false)
        : base(blocks, learningRate)
    {
        if (!(alpha >= 0 && alpha < 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "α must be in [0, 1).");
        if (!(epsilon > 0 && double.IsFinite(epsilon))) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "ε must be finite and > 0.");
        if (!(momentum >= 0 && momentum < 1)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "The momentum must be in [0, 1).");
        Alpha = alpha;
        Epsilon = epsilon;
        Momentum = momentum;
        Centered = centered;
        squareAverage = AllocateState();
        if (centered) gradientAverage = AllocateState();
        if (momentum > 0) momentumBuffer = AllocateState();
    }

    /// <summary>α, the decay of the running averages.</summary>
    public double Alpha { get; }

    /// <summary>ε, added to the denominator.</summary>
    public double Epsilon { get; }

    /// <summary>μ, the momentum; 0 for none.</summary>
    public double Momentum { get; }

    /// <summary>Whether the denominator uses the running variance (v − ḡ²) instead of v.</summary>
    public bool Centered { get; }

    /// <inheritdoc/>
    protected override void Update(int block, Span<T> values, ReadOnlySpan<T> gradients)
    {
        T a = T.CreateChecked(Alpha), oneMinusA = T.CreateChecked(1 - Alpha);
        T lr = T.CreateChecked(LearningRate), eps = T.CreateChecked(Epsilon), mu = T.CreateChecked(Momentum);
        Span<T> sq = squareAverage[block];
        Span<T> ga = gradientAverage is null ? default : gradientAverage[block];
        Span<T> buf = momentumBuffer is null ? default : momentumBuffer[block];
        if (!Centered && momentumBuffer is null)
        {
            // The plain update, vectorised (same operations, same bits as the loop below).
            OptimizerKernels.RmsProp(values, gradients, sq, a, oneMinusA, lr, eps);
            return;
        }
        for (int i = 0; i < values.Length; i++)
        {
            T g = gradients[i];
            T vi = a * sq[i] + oneMinusA * g * g;
            sq[i] = vi;
            if (Centered)
            {
                T gi = a * ga[i] + oneMinusA * g;
                ga[i] = gi;
                vi -= gi * gi;
            }
            T update = g / (T.Sqrt(vi) + eps);
            if (momentumBuffer is not null)
            {
                update = mu * buf[i] + update;
                buf[i] = update;
            }
            values[i] -= lr * update;
        }
    }
}
