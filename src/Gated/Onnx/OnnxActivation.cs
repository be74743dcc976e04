using System.Numerics;
using Gated.Kernels;

namespace Gated.Onnx;

/// <summary>
/// An activation function of the ONNX recurrent operators, by its ONNX name, with its α and β:
/// <code>
/// Sigmoid(x) = 1 / (1 + e^−x)          Tanh(x) = tanh x              Relu(x) = max(0, x)
/// HardSigmoid(x) = min(max(αx + β, 0), 1)     (α = 0.2, β = 0.5)
/// LeakyRelu(x) = x if x ≥ 0 else αx            (α = 0.01)
/// ThresholdedRelu(x) = x if x ≥ α else 0       (α = 1)
/// ScaledTanh(x) = α tanh(βx)                   (α = 1, β = 1)
/// Affine(x) = αx + β                           (α = 1, β = 0)
/// Elu(x) = x if x ≥ 0 else α(e^x − 1)          (α = 1)
/// Softsign(x) = x / (1 + |x|)                  Softplus(x) = log(1 + e^x)
/// </code>
/// (defaults in brackets, used when the node's <c>activation_alpha</c> / <c>activation_beta</c>
/// lists run out). Names are matched without regard to case, as ONNX Runtime does. ONNX stores α
/// and β as float32; they are read as the shortest decimal that rounds to that float (0.2f is 0.2),
/// so a float64 run uses the value the file's author wrote.
/// </summary>
internal readonly record struct OnnxActivation(string Name, double Alpha, double Beta)
{
    private static readonly string[] Names =
        ["Sigmoid", "Tanh", "Relu", "HardSigmoid", "LeakyRelu", "ThresholdedRelu", "ScaledTanh", "Affine", "Elu", "Softsign", "Softplus"];

    public static OnnxActivation Sigmoid => new("Sigmoid", 0, 0);
    public static OnnxActivation Tanh => new("Tanh", 0, 0);

    /// <summary>The canonical spelling of a name, or null when it is not an ONNX activation.</summary>
    public static string? Canonical(string name) => Array.Find(Names, n => n.Equals(name, StringComparison.OrdinalIgnoreCase));

    public static bool TakesAlpha(string name) => name is "HardSigmoid" or "LeakyRelu" or "ThresholdedRelu" or "ScaledTanh" or "Affine" or "Elu";

    public static bool TakesBeta(string name) => name is "HardSigmoid" or "ScaledTanh" or "Affine";

    public static double DefaultAlpha(string name) => name switch { "HardSigmoid" => 0.2, "LeakyRelu" => 0.01, _ => 1 };

    public static double DefaultBeta(string name) => name switch { "HardSigmoid" => 0.5, "ScaledTanh" => 1, _ => 0 };

    /// <summary>A float attribute as the shortest decimal that rounds to it: 0.2f → 0.2.</summary>
    public static double FromFloat(float value) =>
        double.Parse(value.ToString("R", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>φ(x).</summary>
    public T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T a = T.CreateChecked(Alpha), b = T.CreateChecked(Beta);
        return Name switch
        {
            "Sigmoid" => T.One / (T.One + T.Exp(-x)),
            "Tanh" => T.Tanh(x),
            "Relu" => x > T.Zero ? x : T.Zero,
            "HardSigmoid" => T.Min(T.Max(a * x + b, T.Zero), T.One),
            "LeakyRelu" => x >= T.Zero ? x : a * x,
            "ThresholdedRelu" => x >= a ? x : T.Zero,
            "ScaledTanh" => a * T.Tanh(b * x),
            "Affine" => a * x + b,
            "Elu" => x >= T.Zero ? x : a * (T.Exp(x) - T.One),
            "Softsign" => x / (T.One + T.Abs(x)),
            "Softplus" => x > T.CreateChecked(30) ? x + T.Log(T.One + T.Exp(-x)) : T.Log(T.One + T.Exp(x)),
            _ => throw new InvalidOperationException($"Unknown activation {Name}."),
        };
    }

    /// <summary>The same function as a Gated <see cref="Activation"/>, when Gated has it (all but ThresholdedRelu and Softplus).</summary>
    public bool TryToGated(out Activation activation)
    {
        activation = Name switch
        {
            "Sigmoid" => Activation.Sigmoid,
            "Tanh" => Activation.Tanh,
            "Relu" => Activation.Relu,
            "HardSigmoid" => new Activation(ActivationKind.HardSigmoid, Alpha, Beta),
            "LeakyRelu" => new Activation(ActivationKind.LeakyRelu, Alpha),
            "ScaledTanh" => new Activation(ActivationKind.ScaledTanh, Alpha, Beta),
            "Affine" => new Activation(ActivationKind.Affine, Alpha, Beta),
            "Elu" => new Activation(ActivationKind.Elu, Alpha),
            "Softsign" => new Activation(ActivationKind.Softsign),
            _ => default,
        };
        return Name is not ("ThresholdedRelu" or "Softplus");
    }

    /// <summary>The ONNX name, α and β of a Gated activation (every Gated activation has one).</summary>
    public static OnnxActivation FromGated(Activation activation) => activation.Kind switch
    {
        ActivationKind.Sigmoid => new("Sigmoid", 0, 0),
        ActivationKind.Tanh => new("Tanh", 0, 0),
        ActivationKind.Relu => new("Relu", 0, 0),
        ActivationKind.HardSigmoid => new("HardSigmoid", activation.Alpha, activation.Beta),
        ActivationKind.LeakyRelu => new("LeakyRelu", activation.Alpha, 0),
        ActivationKind.Softsign => new("Softsign", 0, 0),
        ActivationKind.ScaledTanh => new("ScaledTanh", activation.Alpha, activation.Beta),
        ActivationKind.Affine => new("Affine", activation.Alpha, activation.Beta),
        ActivationKind.Elu => new("Elu", activation.Alpha, 0),
        _ => throw new ArgumentException($"Activation {activation} has no ONNX form.", nameof(activation)),
    };

    /// <inheritdoc/>
    public override string ToString() => TakesBeta(Name) ? $"{Name}({Alpha}, {Beta})" : TakesAlpha(Name) ? $"{Name}({Alpha})" : Name;
}
