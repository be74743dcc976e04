using System.Numerics;

namespace Gated.IO.Pickle;

/// <summary>
/// A numpy ndarray of a simple numeric dtype read from a pickle as data: its dtype, shape, memory
/// order and raw element bytes. numpy pickles arrays either as
/// <c>numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b')</c> followed by BUILD with the
/// state <c>(1, shape, dtype, is_fortran, rawdata)</c> (protocols 0–4) or as
/// <c>numpy.core.numeric._frombuffer(buffer, dtype, shape, order)</c> (protocol 5); both are read
/// without running numpy.
/// </summary>
public sealed class NumpyArray
{
    private int[] _shape;
    private byte[] _data;

    /// <summary>Creates an array (the caller has checked that the sizes agree).</summary>
    internal NumpyArray(NumpyDType dtype, int[] shape, bool fortranOrder, byte[] data)
    {
        DType = dtype;
        _shape = shape;
        IsFortranOrder = fortranOrder;
        _data = data;
    }

    /// <summary>The element type.</summary>
    public NumpyDType DType { get; private set; }

    /// <summary>The dimensions; empty for a 0-d array.</summary>
    public IReadOnlyList<int> Shape => _shape;

    /// <summary>Whether the elements are stored in Fortran (column-major) order rather than C (row-major) order.</summary>
    public bool IsFortranOrder { get; private set; }

    /// <summary>The number of elements (the product of <see cref="Shape"/>).</summary>
    public int Count => _data.Length / DType.ItemSize;

    /// <summary>The raw element bytes, in storage order and in the dtype's byte order.</summary>
    public ReadOnlyMemory<byte> Data => _data;

    /// <summary>The element at position <paramref name="index"/> of storage order (C order unless
    /// <see cref="IsFortranOrder"/>), decoded as <see cref="NumpyDType.Decode"/> does.</summary>
    /// <param name="index">0 ≤ index &lt; <see cref="Count"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is out of range.</exception>
    public object GetItem(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return DType.Decode(_data.AsSpan(index * DType.ItemSize, DType.ItemSize));
    }

    /// <summary>The elements in storage order as doubles (bool as 0/1; 64-bit integers rounded).</summary>
    public double[] ToDoubleArray()
    {
        var result = new double[Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = GetItem(i) switch
            {
                bool b => b ? 1 : 0,
                long l => l,
                BigInteger n => (double)n,
                double d => d,
                _ => double.NaN,
            };
        }
        return result;
    }

    /// <summary>The elements in storage order as 64-bit integers (bool as 0/1).</summary>
    /// <exception cref="InvalidOperationException">The dtype is a float type.</exception>
    /// <exception cref="OverflowException">A uint64 element exceeds <see cref="long.MaxValue"/>.</exception>
    public long[] ToInt64Array()
    {
        if (DType.Kind == 'f') throw new InvalidOperationException($"The array holds {DType.Name} values; use ToDoubleArray.");
        var result = new long[Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = GetItem(i) switch
            {
                bool b => b ? 1 : 0,
                long l => l,
                BigInteger n => (long)n,
                _ => 0,
            };
        }
        return result;
    }

    /// <summary>numpy-like summary, e.g. <c>array(shape=(2, 3), dtype=&lt;f8)</c>.</summary>
    public override string ToString() =>
        $"array(shape=({string.Join(", ", _shape)}{(_shape.Length == 1 ? "," : "")}), dtype={DType.Str}{(IsFortranOrder ? ", order='F'" : "")})";

    /// <summary>The empty int8 array <c>_reconstruct</c> makes before BUILD gives it its state.</summary>
    internal static NumpyArray Placeholder() => new(NumpyDType.Placeholder(), [0], false, []);

    /// <summary>Replaces the whole array (BUILD of an array made by <c>_reconstruct</c>).</summary>
    internal void SetState(NumpyDType dtype, int[] shape, bool fortranOrder, byte[] data)
    {
        DType = dtype;
        _shape = shape;
        IsFortranOrder = fortranOrder;
        _data = data;
    }
}
