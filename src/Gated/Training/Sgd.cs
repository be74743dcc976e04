using System.Numerics;
using Gated.Memory;

namespace Gated.Training;

/// <summary>
/// Stochastic gradient descent with optional (Nesterov) momentum, as PyTorch's <c>torch.optim.SGD</c>:
/// v ← μ·v + g (v = g on the first step), then θ ← θ − η·v, or θ ← θ − η·(g + μ·v) with Nesterov.
/// </summary>
public sealed class Sgd<T> : Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[][]? velocity;

    /// <summary>Creates the optimiser.</summary>
    /// <param name="blocks">The parameters to update.</param>
    /// <param name="learningRate">η.</param>
    /// <param name="momentum">μ in [0, 1); 0 for plain SGD.</param>
    /// <param name="nesterov">Use Nesterov's form (needs μ &gt; 0).</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range.</exception>
    public Sgd(IEnumerable<ParameterBlock<T>> blocks, double learningRate = 1e-2, double momentum = 0, bool nesterov = false)
        : base(blocks, learningRate)
    {
        if (!(momentum >= 0 && momentum < 1)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "Momentum must be in [0, 1).");
        if (nesterov && momentum == 0) throw new ArgumentOutOfRangeException(nameof(nesterov), "Nesterov momentum needs momentum > 0.");
        Momentum = momentum;
        Nesterov = nesterov;
        if (momentum > 0) velocity = AllocateState();
    }

    /// <summary>μ.</summary>
    public double Momentum { get; }

    /// <summary>Whether Nesterov's form is used.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc/>
    protected override void Update(int block, Span<T> values, ReadOnlySpan<T> gradients)
    {
        T lr = T.CreateChecked(LearningRate);
        if (velocity is null)
        {
            for (int i = 0; i < values.Length; i++) values[i] -= lr * gradients[i];
            return;
        }
        T mu = T.CreateChecked(Momentum);
        Span<T> v = velocity[block];
        bool first = StepCount == 1;
        for (int i = 0; i < values.Length; i++)
        {
            v[i] = first ? gradients[i] : mu * v[i] + gradients[i];
            values[i] -= lr * (Nesterov ? gradients[i] + mu * v[i] : v[i]);
        }
    }
}
