using System.Numerics;
using Gated.Memory;

namespace Gated.Training;

/// <summary>
/// A first-order optimiser over one or more <see cref="ParameterBlock{T}"/>s: each <see cref="Step"/>
/// reads <see cref="ParameterBlock{T}.Gradients"/> and updates <see cref="ParameterBlock{T}.Values"/>
/// in flat loops, with per-parameter state arrays allocated once in the constructor.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public abstract class Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly ParameterBlock<T>[] blocks;
    private readonly List<T[]> stateArrays = [];
    private double learningRate;

    /// <summary>Registers the blocks to optimise.</summary>
    /// <param name="blocks">The parameter blocks; at least one, no repeats.</param>
    /// <param name="learningRate">The step size, finite and ≥ 0.</param>
    /// <exception cref="ArgumentException">No block, a repeated block, or a bad learning rate.</exception>
    protected Optimizer(IEnumerable<ParameterBlock<T>> blocks, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        this.blocks = blocks.ToArray();
        if (this.blocks.Length == 0) throw new ArgumentException("At least one parameter block is needed.", nameof(blocks));
        for (int i = 0; i < this.blocks.Length; i++)
        {
            if (this.blocks[i] is null) throw new ArgumentNullException(nameof(blocks), "A parameter block is null.");
            for (int j = 0; j < i; j++)
                if (ReferenceEquals(this.blocks[i], this.blocks[j])) throw new ArgumentException("A parameter block is listed twice.", nameof(blocks));
        }
        LearningRate = learningRate;
    }

    /// <summary>The parameter blocks, in the order given.</summary>
    public IReadOnlyList<ParameterBlock<T>> Blocks => blocks;

    /// <summary>The step size; may be changed between steps (schedules).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not finite or negative.</exception>
    public double LearningRate
    {
        get => learningRate;
        set
        {
            if (!double.IsFinite(value) || value < 0) throw new ArgumentOutOfRangeException(nameof(value), value, "The learning rate must be finite and ≥ 0.");
            learningRate = value;
        }
    }

    /// <summary>The number of steps taken so far.</summary>
    public long StepCount { get; private set; }

    /// <summary>Updates every parameter from its gradient (gradients are left as they are).</summary>
    public void Step()
    {
        StepCount++;
        for (int i = 0; i < blocks.Length; i++) Update(i, blocks[i].Values, blocks[i].Gradients);
    }

    /// <summary>Sets the gradients of every block to zero.</summary>
    public void ZeroGradients()
    {
        foreach (var block in blocks) block.ZeroGradients();
    }

    /// <summary>Updates one block; <see cref="StepCount"/> is already the number of this step (1 for the first).</summary>
    /// <param name="block">The index of the block in <see cref="Blocks"/>, to find its state.</param>
    /// <param name="values">The block's values, updated in place.</param>
    /// <param name="gradients">The block's gradients.</param>
    protected abstract void Update(int block, Span<T> values, ReadOnlySpan<T> gradients);

    /// <summary>Allocates one zero-filled state array per block, of the block's size, and registers it for checkpoints.</summary>
    protected T[][] AllocateState()
    {
        var state = new T[blocks.Length][];
        for (int i = 0; i < blocks.Length; i++) state[i] = new T[blocks[i].Count];
        stateArrays.AddRange(state);
        return state;
    }

    /// <summary>Every state array (moments, momentum buffers), in a fixed order: what a checkpoint must keep to resume exactly.</summary>
    public IReadOnlyList<T[]> StateArrays => stateArrays;

    /// <summary>Restores <see cref="StepCount"/> and the contents of <see cref="StateArrays"/> from a checkpoint.</summary>
    /// <exception cref="ArgumentException">The arrays do not match this optimiser's state in number or length.</exception>
    public void RestoreState(long stepCount, IReadOnlyList<T[]> arrays)
    {
        ArgumentNullException.ThrowIfNull(arrays);
        ArgumentOutOfRangeException.ThrowIfNegative(stepCount);
        if (arrays.Count != stateArrays.Count) throw new ArgumentException($"Expected {stateArrays.Count} state arrays, got {arrays.Count}.", nameof(arrays));
        for (int i = 0; i < arrays.Count; i++)
            if (arrays[i].Length != stateArrays[i].Length) throw new ArgumentException($"State array {i} has {arrays[i].Length} values, expected {stateArrays[i].Length}.", nameof(arrays));
        for (int i = 0; i < arrays.Count; i++) arrays[i].CopyTo(stateArrays[i], 0);
        StepCount = stepCount;
    }
}
