using System.Numerics;

namespace Gated;

/// <summary>
/// A dense, contiguous, row-major array with a shape: the one data type that crosses Gated's public
/// API. It owns a plain <c>T[]</c> so callers can fill and read it with spans and no copies.
/// </summary>
/// <typeparam name="T">The element type: <see cref="float"/> for real work, <see cref="double"/> for checking.</typeparam>
public sealed class Tensor<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int[] shape;

    /// <summary>Creates a zero-filled tensor of the given shape.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative.</exception>
    public Tensor(params int[] shape) : this(new T[CheckedCount(shape)], shape) { }

    /// <summary>Wraps existing data (not copied) with a shape.</summary>
    /// <exception cref="ArgumentException">The data length is not the product of the shape.</exception>
    public Tensor(T[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        long count = CheckedCount(shape);
        if (data.Length != count)
            throw new ArgumentException($"data has {data.Length} elements but shape ({string.Join(", ", shape)}) needs {count}.", nameof(data));
        Data = data;
        this.shape = (int[])shape.Clone();
    }

    /// <summary>The elements in row-major order.</summary>
    public T[] Data { get; }

    /// <summary>The extent of each dimension.</summary>
    public ReadOnlySpan<int> Shape => shape;

    /// <summary>The number of dimensions.</summary>
    public int Rank => shape.Length;

    /// <summary>The number of elements.</summary>
    public int Length => Data.Length;

    /// <summary>The elements as a span.</summary>
    public Span<T> Span => Data;

    /// <summary>Gets the extent of dimension <paramref name="dimension"/>.</summary>
    public int Dim(int dimension) => shape[dimension];

    /// <summary>Gets or sets the element at a 3-D index.</summary>
    public ref T this[int i, int j, int k] => ref Data[((i * shape[1]) + j) * shape[2] + k];

    /// <summary>Gets or sets the element at a 2-D index.</summary>
    public ref T this[int i, int j] => ref Data[i * shape[1] + j];

    /// <summary>A deep copy.</summary>
    public Tensor<T> Clone() => new((T[])Data.Clone(), shape);

    /// <summary>True when both shapes are equal.</summary>
    public bool HasShape(params ReadOnlySpan<int> other) => shape.AsSpan().SequenceEqual(other);

    /// <summary>The shape as text, e.g. <c>(5, 3, 4)</c>.</summary>
    public string ShapeText => "(" + string.Join(", ", shape) + ")";

    /// <inheritdoc/>
    public override string ToString() => $"Tensor<{typeof(T).Name}>{ShapeText}";

    private static int CheckedCount(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (int d in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d, nameof(shape));
            count *= d;
            if (count > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(shape), "The tensor is too large for one array.");
        }
        return (int)count;
    }
}
