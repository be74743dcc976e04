using System.Numerics;

namespace Gated.Onnx;

/// <summary>
/// A tensor while a graph runs: its ONNX element type, its shape, and its elements, floating-point
/// ones in the run's precision <typeparamref name="T"/>, integer and boolean ones as <see cref="long"/>.
/// </summary>
/// <remarks>Values are never changed after they are made, so one array may be shared by several values.</remarks>
internal sealed class OnnxValue<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private OnnxValue(int elementType, int[] shape, T[]? floats, long[]? ints)
    {
        ElementType = elementType;
        Shape = shape;
        Floats = floats;
        Ints = ints;
    }

    /// <summary>A floating-point value; <paramref name="data"/> is not copied.</summary>
    public static OnnxValue<T> Float(int elementType, int[] shape, T[] data) => new(elementType, shape, data, null);

    /// <summary>An integer or boolean value; <paramref name="data"/> is not copied.</summary>
    public static OnnxValue<T> Integer(int elementType, int[] shape, long[] data) => new(elementType, shape, null, data);

    /// <summary>The ONNX element type (<c>TensorProto.DataType</c>).</summary>
    public int ElementType { get; }

    /// <summary>The dimensions.</summary>
    public int[] Shape { get; }

    /// <summary>The elements of a floating-point value, else null.</summary>
    public T[]? Floats { get; }

    /// <summary>The elements of an integer or boolean value, else null.</summary>
    public long[]? Ints { get; }

    /// <summary>True for a floating-point value.</summary>
    public bool IsFloat => Floats is not null;

    /// <summary>The number of elements.</summary>
    public int Length => Floats?.Length ?? Ints!.Length;

    /// <summary>The number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>The elements as an array of either kind (for operators that only move elements).</summary>
    public Array Data => (Array?)Floats ?? Ints!;

    /// <summary>The same elements under another shape of the same size.</summary>
    public OnnxValue<T> WithShape(int[] shape) => new(ElementType, shape, Floats, Ints);

    /// <summary>A value of this one's kind and type holding other elements (an array of the same kind).</summary>
    public OnnxValue<T> With(int[] shape, Array data) =>
        data is T[] f ? new(ElementType, shape, f, null) : new(ElementType, shape, null, (long[])data);

    /// <summary>The shape as text.</summary>
    public string ShapeText => OnnxTypes.ShapeText(Shape);
}
