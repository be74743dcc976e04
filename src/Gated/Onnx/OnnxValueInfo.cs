namespace Gated.Onnx;

/// <summary>A graph input or output of an ONNX model, as the file declares it.</summary>
/// <param name="Name">The value's name, the key of <see cref="OnnxModel.Run{T}(IReadOnlyDictionary{string, Tensor{T}})"/>'s dictionaries.</param>
/// <param name="ElementType">The element type: <c>float32</c>, <c>float64</c>, <c>int64</c>, <c>int32</c>, <c>bool</c>, …</param>
/// <param name="Dimensions">Each dimension as written: a size (<c>"88"</c>), a symbolic name (<c>"batch"</c>) or <c>"?"</c>;
/// null when the file gives no shape.</param>
public sealed record OnnxValueInfo(string Name, string ElementType, IReadOnlyList<string>? Dimensions)
{
    /// <summary>The shape as text, e.g. <c>(steps, batch, 88)</c>, or <c>(?)</c> when unknown.</summary>
    public string ShapeText => Dimensions is null ? "(?)" : "(" + string.Join(", ", Dimensions) + ")";

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {ElementType}{ShapeText}";
}
