using System.Numerics;
using System.Numerics.Tensors;

namespace Gated.Kernels;

/// <summary>The element-wise functions a recurrent cell can use as gate or candidate activation.</summary>
public enum ActivationKind
{
    /// <summary>σ(x) = 1 / (1 + e^−x).</summary>
    Sigmoid,
    /// <summary>tanh(x).</summary>
    Tanh,
    /// <summary>max(0, x).</summary>
    Relu,
    /// <summary>clamp(α·x + β, 0, 1); ONNX's HardSigmoid, α = 0.2, β = 0.5 by default.</summary>
    HardSigmoid,
    /// <summary>x for x ≥ 0, α·x otherwise (α &gt; 0).</summary>
    LeakyRelu,
    /// <summary>x / (1 + |x|).</summary>
    Softsign,
    /// <summary>α·tanh(β·x).</summary>
    ScaledTanh,
    /// <summary>α·x + β.</summary>
    Affine,
    /// <summary>x for x &gt; 0, α·(e^x − 1) otherwise (α &gt; 0).</summary>
    Elu,
}

/// <summary>
/// An element-wise activation y = φ(x) whose derivative is computed from its output y alone, so the
/// backward pass needs only what the forward pass stored. For every kind below φ is monotone, hence
/// dφ/dx is a function of y:
/// <list type="bullet">
/// <item>Sigmoid: y(1 − y). Tanh: 1 − y². ReLU: [y &gt; 0].</item>
/// <item>HardSigmoid: α·[0 &lt; y &lt; 1] (0 on the flat parts, one-sided at the kinks).</item>
/// <item>LeakyRelu: [y &gt; 0] + α·[y ≤ 0]. Softsign: (1 − |y|)². ScaledTanh: αβ(1 − (y/α)²).</item>
/// <item>Affine: α. Elu: 1 if y &gt; 0, else y + α.</item>
/// </list>
/// At a kink (x = 0 for ReLU) the derivative used is the right-hand one for y &gt; 0 and 0 otherwise,
/// as PyTorch does.
/// </summary>
/// <param name="Kind">Which function.</param>
/// <param name="Alpha">α for the kinds that take it.</param>
/// <param name="Beta">β for the kinds that take it.</param>
public readonly record struct Activation(ActivationKind Kind, double Alpha = 0, double Beta = 0)
{
    /// <summary>The logistic sigmoid.</summary>
    public static Activation Sigmoid => new(ActivationKind.Sigmoid);
    /// <summary>The hyperbolic tangent.</summary>
    public static Activation Tanh => new(ActivationKind.Tanh);
    /// <summary>The rectifier.</summary>
    public static Activation Relu => new(ActivationKind.Relu);
    /// <summary>ONNX's hard sigmoid, clamp(0.2x + 0.5, 0, 1). Keras 3 and PyTorch use <c>HardSigmoidWith(1.0/6, 0.5)</c>.</summary>
    public static Activation HardSigmoid => new(ActivationKind.HardSigmoid, 0.2, 0.5);
    /// <summary>A hard sigmoid with a chosen slope and offset.</summary>
    public static Activation HardSigmoidWith(double alpha, double beta) => new(ActivationKind.HardSigmoid, alpha, beta);

    /// <summary>
    /// Applies the activation in place: values[i] = φ(values[i]). Sigmoid and tanh, the activations of
    /// every default cell, run vectorised (<see cref="TensorPrimitives"/>); the others run
    /// <see cref="ApplyScalar"/>.
    /// </summary>
    public void Apply<T>(Span<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (values.IsEmpty) return; // TensorPrimitives refuses empty spans
        switch (Kind)
        {
            case ActivationKind.Sigmoid: TensorPrimitives.Sigmoid<T>(values, values); break;
            case ActivationKind.Tanh: TensorPrimitives.Tanh<T>(values, values); break;
            default: ApplyScalar(values); break;
        }
    }

    /// <summary>The scalar twin of <see cref="Apply"/>: one element at a time, straight from the definitions.</summary>
    public void ApplyScalar<T>(Span<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T a = T.CreateChecked(Alpha), b = T.CreateChecked(Beta);
        switch (Kind)
        {
            case ActivationKind.Sigmoid:
                for (int i = 0; i < values.Length; i++) values[i] = T.One / (T.One + T.Exp(-values[i]));
                break;
            case ActivationKind.Tanh:
                for (int i = 0; i < values.Length; i++) values[i] = T.Tanh(values[i]);
                break;
            case ActivationKind.Relu:
                for (int i = 0; i < values.Length; i++) values[i] = values[i] > T.Zero ? values[i] : T.Zero;
                break;
            case ActivationKind.HardSigmoid:
                for (int i = 0; i < values.Length; i++) values[i] = T.Clamp(a * values[i] + b, T.Zero, T.One);
                break;
            case ActivationKind.LeakyRelu:
                for (int i = 0; i < values.Length; i++) values[i] = values[i] >= T.Zero ? values[i] : a * values[i];
                break;
            case ActivationKind.Softsign:
                for (int i = 0; i < values.Length; i++) values[i] = values[i] / (T.One + T.Abs(values[i]));
                break;
            case ActivationKind.ScaledTanh:
                for (int i = 0; i < values.Length; i++) values[i] = a * T.Tanh(b * values[i]);
                break;
            case ActivationKind.Affine:
                for (int i = 0; i < values.Length; i++) values[i] = a * values[i] + b;
                break;
            case ActivationKind.Elu:
                for (int i = 0; i < values.Length; i++) values[i] = values[i] > T.Zero ? values[i] : a * (T.Exp(values[i]) - T.One);
                break;
            default:
                throw new InvalidOperationException($"Unknown activation {Kind}.");
        }
    }

    /// <summary>
    /// Multiplies gradients by the derivative, in place: gradient[i] *= φ'(x_i), with φ'(x_i) computed
    /// from the stored output <paramref name="output"/>[i] = φ(x_i).
    /// </summary>
    public void MultiplyByDerivative<T>(ReadOnlySpan<T> output, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (Kind)
        {
            case ActivationKind.Sigmoid: DerivativeKernels.MultiplyBySigmoidDerivative(output, gradient); break;
            case ActivationKind.Tanh: DerivativeKernels.MultiplyByTanhDerivative(output, gradient); break;
            default: MultiplyByDerivativeScalar(output, gradient); break;
        }
    }

    /// <summary>The scalar twin of <see cref="MultiplyByDerivative"/>.</summary>
    public void MultiplyByDerivativeScalar<T>(ReadOnlySpan<T> output, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T a = T.CreateChecked(Alpha), b = T.CreateChecked(Beta);
        switch (Kind)
        {
            case ActivationKind.Sigmoid:
                for (int i = 0; i < gradient.Length; i++) gradient[i] *= output[i] * (T.One - output[i]);
                break;
            case ActivationKind.Tanh:
                for (int i = 0; i < gradient.Length; i++) gradient[i] *= T.One - output[i] * output[i];
                break;
            case ActivationKind.Relu:
                for (int i = 0; i < gradient.Length; i++) gradient[i] = output[i] > T.Zero ? gradient[i] : T.Zero;
                break;
            case ActivationKind.HardSigmoid:
                for (int i = 0; i < gradient.Length; i++) gradient[i] = output[i] > T.Zero && output[i] < T.One ? a * gradient[i] : T.Zero;
                break;
            case ActivationKind.LeakyRelu:
                for (int i = 0; i < gradient.Length; i++) gradient[i] = output[i] > T.Zero ? gradient[i] : a * gradient[i];
                break;
            case ActivationKind.Softsign:
                for (int i = 0; i < gradient.Length; i++) { T s = T.One - T.Abs(output[i]); gradient[i] *= s * s; }
                break;
            case ActivationKind.ScaledTanh:
                for (int i = 0; i < gradient.Length; i++) { T u = output[i] / a; gradient[i] *= a * b * (T.One - u * u); }
                break;
            case ActivationKind.Affine:
                for (int i = 0; i < gradient.Length; i++) gradient[i] *= a;
                break;
            case ActivationKind.Elu:
                for (int i = 0; i < gradient.Length; i++) gradient[i] = output[i] > T.Zero ? gradient[i] : (output[i] + a) * gradient[i];
                break;
            default:
                throw new InvalidOperationException($"Unknown activation {Kind}.");
        }
    }

    /// <summary>True when φ(−x) = 1 − φ(x) for all x, which makes the two update-gate conventions exact reparameterisations of each other.</summary>
    public bool IsPointSymmetricAboutHalf => Kind switch
    {
        ActivationKind.Sigmoid => true,
        ActivationKind.HardSigmoid => Beta == 0.5,
        _ => false,
    };

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        ActivationKind.HardSigmoid or ActivationKind.ScaledTanh or ActivationKind.Affine => $"{Kind}({Alpha}, {Beta})",
        ActivationKind.LeakyRelu or ActivationKind.Elu => $"{Kind}({Alpha})",
        _ => Kind.ToString(),
    };
}

/// <summary>
/// Vectorised derivative-from-output kernels for the two default activations (Reduce with
/// <see cref="Vector{T}"/>, Remainder in scalar code); <see cref="Activation.MultiplyByDerivativeScalar"/>
/// is their twin.
/// </summary>
internal static class DerivativeKernels
{
    /// <summary>gradient[i] *= y_i·(1 − y_i), y = σ(x) the stored output.</summary>
    public static void MultiplyBySigmoidDerivative<T>(ReadOnlySpan<T> output, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.Count > 1)
        {
            var one = Vector<T>.One;
            for (; i <= gradient.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var y = new Vector<T>(output[i..]);
                (new Vector<T>(gradient[i..]) * (y * (one - y))).CopyTo(gradient[i..]);
            }
        }
        for (; i < gradient.Length; i++) gradient[i] *= output[i] * (T.One - output[i]);
    }

    /// <summary>gradient[i] *= 1 − y_i², y = tanh(x) the stored output.</summary>
    public static void MultiplyByTanhDerivative<T>(ReadOnlySpan<T> output, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.Count > 1)
        {
            var one = Vector<T>.One;
            for (; i <= gradient.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var y = new Vector<T>(output[i..]);
                (new Vector<T>(gradient[i..]) * (one - y * y)).CopyTo(gradient[i..]);
            }
        }
        for (; i < gradient.Length; i++) gradient[i] *= T.One - output[i] * output[i];
    }
}
