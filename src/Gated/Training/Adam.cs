using System.Numerics;
using Gated.Memory;

namespace Gated.Training;

/// <summary>
/// Adam (Kingma &amp; Ba 2015) with PyTorch's <c>torch.optim.Adam</c> update (no weight decay, no AMSGrad):
/// m ← β₁ m + (1 − β₁) g;  v ← β₂ v + (1 − β₂) g²;  θ ← θ − lr · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε).
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Adam<T> : Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[][] m, v;

    /// <summary>Creates the optimiser; the moment estimates start at zero.</summary>
    /// <param name="blocks">The parameter blocks to optimise.</param>
    /// <param name="learningRate">lr, default 1e-3.</param>
    /// <param name="beta1">β₁ in [0, 1), default 0.9.</param>
    /// <param name="beta2">β₂ in [0, 1), default 0.999.</param>
    /// <param name="epsilon">ε &gt; 0, default 1e-8.</param>
    /// <exception cref="ArgumentException">An argument is out of range.</exception>
    public Adam(IEnumerable<ParameterBlock<T>> blocks, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
        : base(blocks, learningRate)
    {
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "β₁ must be in [0, 1).");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "β₂ must be in [0, 1).");
        if (!(epsilon > 0 && double.IsFinite(epsilon))) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "ε must be finite and > 0.");
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        m = AllocateState();
        v = AllocateState();
    }

    /// <summary>β₁, the decay of the first-moment estimate.</summary>
    public double Beta1 { get; }

    /// <summary>β₂, the decay of the second-moment estimate.</summary>
    public double Beta2 { get; }

    /// <summary>ε, added to the denominator.</summary>
    public double Epsilon { get; }

    /// <inheritdoc/>
    protected override void Update(int block, Span<T> values, ReadOnlySpan<T> gradients)
    {
        double t = StepCount;
        T b1 = T.CreateChecked(Beta1), oneMinusB1 = T.CreateChecked(1 - Beta1);
        T b2 = T.CreateChecked(Beta2), oneMinusB2 = T.CreateChecked(1 - Beta2);
        // lr / (1 − β₁ᵗ) and √(1 − β₂ᵗ) folded as PyTorch does: θ −= (lr/bc1) · m / (√v / √bc2 + ε).
        T stepSize = T.CreateChecked(LearningRate / (1 - Math.Pow(Beta1, t)));
        T sqrtBc2 = T.CreateChecked(Math.Sqrt(1 - Math.Pow(Beta2, t)));
        T eps = T.CreateChecked(Epsilon);
        Span<T> mb = m[block], vb = v[block];
        for (int i = 0; i < values.Length; i++)
        {
            T g = gradients[i];
            T mi = b1 * mb[i] + oneMinusB1 * g;
            T vi = b2 * vb[i] + oneMinusB2 * g * g;
            mb[i] = mi;
            vb[i] = vi;
            values[i] -= stepSize * mi / (T.Sqrt(vi) / sqrtBc2 + eps);
        }
    }
}
