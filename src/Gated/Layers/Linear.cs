using System.Numerics;
using Gated.Kernels;
using Gated.Memory;

namespace Gated.Layers;

/// <summary>
/// A dense (fully connected) layer y = W x + b, the equivalent of PyTorch's <c>nn.Linear</c>:
/// W is (O, I), b is (O), under the names <c>weight</c> and <c>bias</c>.
/// </summary>
/// <remarks>
/// <para>Input (…, I): any number of leading dimensions, read as N = their product rows of I
/// features; output (…, O) with the same leading dimensions.</para>
/// <para>Initialisation: every weight and bias U(−1/√I, 1/√I). PyTorch draws the bias from this
/// distribution and the weight from Kaiming-uniform with a = √5, whose bound is also 1/√I, so the
/// distributions are PyTorch's (the random streams are not).</para>
/// <para><see cref="Forward"/> keeps a reference to its input for <see cref="Backward"/>, which adds
/// (+=) into <see cref="ParameterBlock{T}.Gradients"/>. Not thread-safe.</para>
/// </remarks>
/// <typeparam name="T"><see cref="float"/> for real work, <see cref="double"/> for checking.</typeparam>
public sealed class Linear<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly ParameterInfo weight, bias;
    private Tensor<T>? lastInput;

    /// <summary>Creates a layer with freshly drawn weights.</summary>
    /// <param name="inputSize">I, the number of input features.</param>
    /// <param name="outputSize">O, the number of output features.</param>
    /// <param name="seed">Seed for the weights; null draws one.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive or the weight is too large.</exception>
    public Linear(int inputSize, int outputSize, int? seed = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputSize);
        if ((long)inputSize * outputSize + outputSize > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(outputSize), "The layer has more parameters than one array can hold.");
        InputSize = inputSize;
        OutputSize = outputSize;
        Parameters = new ParameterBlock<T>(ParameterLayout(inputSize, outputSize));
        weight = Parameters.Info("weight");
        bias = Parameters.Info("bias");
        var random = seed is int s ? new Random(s) : new Random();
        double bound = 1 / Math.Sqrt(inputSize);
        foreach (ref T v in Parameters.Values.AsSpan())
            v = T.CreateChecked((random.NextDouble() * 2 - 1) * bound);
    }

    /// <summary>I, the number of input features.</summary>
    public int InputSize { get; }

    /// <summary>O, the number of output features.</summary>
    public int OutputSize { get; }

    /// <summary><c>weight</c> (O, I) then <c>bias</c> (O), and their gradients.</summary>
    public ParameterBlock<T> Parameters { get; }

    /// <summary>The names and shapes of the parameters, in order: <c>weight</c> (O, I), <c>bias</c> (O).</summary>
    public static IEnumerable<(string Name, int[] Shape)> ParameterLayout(int inputSize, int outputSize)
    {
        yield return ("weight", [outputSize, inputSize]);
        yield return ("bias", [outputSize]);
    }

    /// <summary>Computes y = x Wᵀ + b for every row of the input.</summary>
    /// <param name="input">(…, I), rank ≥ 1.</param>
    /// <param name="reuse">A tensor of an earlier call to write into when it has the output's shape (so a training step allocates nothing); else a new tensor is made.</param>
    /// <returns>(…, O): <paramref name="reuse"/> or a new tensor.</returns>
    /// <exception cref="ArgumentException">The last dimension is not I.</exception>
    public Tensor<T> Forward(Tensor<T> input, Tensor<T>? reuse = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank < 1 || input.Dim(input.Rank - 1) != InputSize)
            throw new ArgumentException($"input must be (…, {InputSize}), got {input.ShapeText}.", nameof(input));
        int rows = input.Length / InputSize, i = InputSize, o = OutputSize;
        var output = reuse is not null && SameLeadingShape(reuse, input, o) ? reuse : new Tensor<T>(WithLastDimension(input, o));
        ReadOnlySpan<T> b = Parameters.Values.AsSpan(bias.Offset, o);
        for (int row = 0; row < rows; row++) b.CopyTo(output.Data.AsSpan(row * o, o));
        Gemm.Multiply(false, true, rows, o, i,
            input.Data, i, Parameters.Values.AsSpan(weight.Offset, weight.Length), i,
            output.Data, o, accumulate: true);
        lastInput = input;
        return output;
    }

    /// <summary>
    /// Backpropagates through the last <see cref="Forward"/>: adds ∂W += gᵀ x and ∂b += Σ_rows g into
    /// <see cref="ParameterBlock{T}.Gradients"/> and returns ∂x = g W.
    /// </summary>
    /// <param name="gradOutput">∂L/∂y, (…, O) with the forward input's leading dimensions.</param>
    /// <param name="reuse">A tensor of an earlier call to write ∂L/∂x into when it has the input's shape; else a new tensor is made.</param>
    /// <returns>∂L/∂x, shaped as the forward input.</returns>
    /// <exception cref="InvalidOperationException">No forward pass has been run.</exception>
    /// <exception cref="ArgumentException">The shape does not match the forward pass.</exception>
    public Tensor<T> Backward(Tensor<T> gradOutput, Tensor<T>? reuse = null)
    {
        ArgumentNullException.ThrowIfNull(gradOutput);
        var input = lastInput ?? throw new InvalidOperationException("Backward needs a Forward first.");
        int rows = input.Length / InputSize, i = InputSize, o = OutputSize;
        if (!SameLeadingShape(gradOutput, input, o))
            throw new ArgumentException($"gradOutput must be ({string.Join(", ", WithLastDimension(input, o))}), got {gradOutput.ShapeText}.", nameof(gradOutput));

        // ∂W (O, I) += gᵀ (O, N) · x (N, I)
        Gemm.Multiply(true, false, o, i, rows,
            gradOutput.Data, o, input.Data, i,
            Parameters.Gradients.AsSpan(weight.Offset, weight.Length), i, accumulate: true);
        // ∂b += column sums of g
        Span<T> db = Parameters.Gradients.AsSpan(bias.Offset, o);
        for (int row = 0; row < rows; row++)
        {
            ReadOnlySpan<T> g = gradOutput.Data.AsSpan(row * o, o);
            for (int j = 0; j < o; j++) db[j] += g[j];
        }
        // ∂x (N, I) = g (N, O) · W (O, I)
        var gradInput = reuse is not null && SameLeadingShape(reuse, input, i) ? reuse : new Tensor<T>(input.Shape.ToArray());
        Gemm.Multiply(false, false, rows, i, o,
            gradOutput.Data, o, Parameters.Values.AsSpan(weight.Offset, weight.Length), i,
            gradInput.Data, i, accumulate: false);
        return gradInput;
    }

    /// <summary>True when <paramref name="t"/> has <paramref name="like"/>'s shape with the last dimension <paramref name="last"/>.</summary>
    private static bool SameLeadingShape(Tensor<T> t, Tensor<T> like, int last)
    {
        if (t.Rank != like.Rank || t.Dim(t.Rank - 1) != last) return false;
        for (int d = 0; d < t.Rank - 1; d++) if (t.Dim(d) != like.Dim(d)) return false;
        return true;
    }

    private static int[] WithLastDimension(Tensor<T> like, int last)
    {
        int[] shape = like.Shape.ToArray();
        shape[^1] = last;
        return shape;
    }

    /// <inheritdoc/>
    public override string ToString() => $"Linear({InputSize}, {OutputSize})";
}
