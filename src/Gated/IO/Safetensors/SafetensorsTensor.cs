using System.Buffers.Binary;
using System.Collections.ObjectModel;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;

namespace Gated.IO.Safetensors;

/// <summary>
/// One named tensor of a safetensors file: its element type, its shape and its raw little-endian
/// bytes, with helpers that convert the elements to <see cref="double"/>, <see cref="float"/> or
/// <see cref="long"/> arrays.
/// </summary>
/// <remarks>
/// The tensor does not copy the bytes it is given; tensors read from a file own their bytes, and
/// the <c>FromArray</c> factories copy the caller's data. Instances are immutable as long as
/// whoever supplied <see cref="Data"/> does not change it.
/// </remarks>
public sealed class SafetensorsTensor
{
    private readonly long[] _shape;

    /// <summary>
    /// Creates a tensor from raw little-endian bytes. The bytes are not copied.
    /// </summary>
    /// <param name="name">The tensor name (any well-formed string).</param>
    /// <param name="dtype">The element type.</param>
    /// <param name="shape">The dimensions, outermost first; empty for a scalar.</param>
    /// <param name="data">The elements, little-endian, row-major; exactly
    /// <c>product(shape) * dtype.GetElementSize()</c> bytes.</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> or <paramref name="shape"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dtype"/> is not defined or a dimension is negative.</exception>
    /// <exception cref="ArgumentException">The name is not well-formed UTF-16 or the byte count does not match the shape.</exception>
    public SafetensorsTensor(string name, SafetensorsDType dtype, IReadOnlyList<long> shape, ReadOnlyMemory<byte> data)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        if (!SafetensorsDTypeExtensions.IsDefined(dtype))
            throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not a safetensors dtype.");
        if (!IsWellFormed(name))
            throw new ArgumentException("The tensor name is not well-formed UTF-16 (it has an unpaired surrogate).", nameof(name));

        var dims = new long[shape.Count];
        for (int i = 0; i < dims.Length; i++)
        {
            dims[i] = shape[i];
            if (dims[i] < 0)
                throw new ArgumentOutOfRangeException(nameof(shape), $"Dimension {i} of tensor '{name}' is negative ({dims[i]}).");
        }

        int size = dtype.GetElementSize();
        if (!TryGetElementCount(dims, out long count) || count > long.MaxValue / size || count * size != data.Length)
        {
            throw new ArgumentException(
                $"Tensor '{name}' of dtype {dtype.GetHeaderName()} and shape {FormatShape(dims)} does not match the {data.Length} bytes given.",
                nameof(data));
        }

        Name = name;
        DType = dtype;
        _shape = dims;
        Shape = new ReadOnlyCollection<long>(dims);
        ElementCount = count;
        Data = data;
    }

    /// <summary>Creates a tensor from values the reader has already validated.</summary>
    internal SafetensorsTensor(string name, SafetensorsDType dtype, long[] shape, long elementCount, byte[] data, string? sourceName)
    {
        Name = name;
        DType = dtype;
        _shape = shape;
        Shape = new ReadOnlyCollection<long>(shape);
        ElementCount = elementCount;
        Data = data;
        SourceName = sourceName;
    }

    /// <summary>The tensor name, the key of the tensor in the file header.</summary>
    public string Name { get; }

    /// <summary>The element type.</summary>
    public SafetensorsDType DType { get; }

    /// <summary>The dimensions, outermost first (row-major); empty for a scalar.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>The number of dimensions (<c>Shape.Count</c>).</summary>
    public int Rank => _shape.Length;

    /// <summary>The number of elements, the product of <see cref="Shape"/> (1 for a scalar).</summary>
    public long ElementCount { get; }

    /// <summary>The raw elements, little-endian, row-major, <c>ElementCount * DType.GetElementSize()</c> bytes.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>The file (or other input name) the tensor was read from, for error messages.</summary>
    internal string? SourceName { get; }

    /// <summary>The shape as 32-bit integers, the form the layers of this library use.</summary>
    /// <returns>A new array with the dimensions.</returns>
    /// <exception cref="GatedFormatException">A dimension is larger than <see cref="int.MaxValue"/>.</exception>
    public int[] GetShapeInt32()
    {
        var result = new int[_shape.Length];
        for (int i = 0; i < result.Length; i++)
        {
            if (_shape[i] > int.MaxValue)
                throw new GatedFormatException(SourceName, $"tensor '{Describe(Name)}': dimension {i} ({_shape[i]}) does not fit in a 32-bit integer.");
            result[i] = (int)_shape[i];
        }
        return result;
    }

    /// <summary>
    /// The elements converted to <see cref="double"/>. Every dtype converts: floating-point values
    /// exactly, 64-bit integers beyond 2^53 rounded to nearest, booleans to 0 and 1.
    /// </summary>
    /// <returns>A new array of <see cref="ElementCount"/> values.</returns>
    public double[] ToDoubleArray() => ToArray<double>();

    /// <summary>
    /// The elements converted to <see cref="float"/>, rounding to nearest (F64 values beyond the
    /// <see cref="float"/> range become infinities, as a C# cast does).
    /// </summary>
    /// <returns>A new array of <see cref="ElementCount"/> values.</returns>
    public float[] ToSingleArray() => ToArray<float>();

    /// <summary>
    /// The elements converted to a floating-point type such as <see cref="float"/>,
    /// <see cref="double"/> or <see cref="Half"/>, each rounded to nearest from its stored value.
    /// </summary>
    /// <typeparam name="T">The element type of the result.</typeparam>
    /// <returns>A new array of <see cref="ElementCount"/> values.</returns>
    public T[] ToArray<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        var result = new T[checked((int)ElementCount)];
        ReadOnlySpan<byte> s = Data.Span;
        Span<T> d = result;

        if (BitConverter.IsLittleEndian &&
            ((typeof(T) == typeof(double) && DType == SafetensorsDType.F64) ||
             (typeof(T) == typeof(float) && DType == SafetensorsDType.F32)))
        {
            MemoryMarshal.Cast<byte, T>(s).CopyTo(d);
            return result;
        }

        switch (DType)
        {
            case SafetensorsDType.F64:
                for (int i = 0; i < d.Length; i++) d[i] = T.CreateChecked(BinaryPrimitives.ReadDoubleLittleEndian(s[(8 * i)..]));
                break;
            case SafetensorsDType.F32:
                for (int i = 0; i < d.Length; i++) d[i] = T.CreateChecked(BinaryPrimitives.ReadSingleLittleEndian(s[(4 * i)..]));
                break;
            case SafetensorsDType.F16:
                for (int i = 0; i < d.Length; i++) d[i] = T.CreateChecked((float)BinaryPrimitives.ReadHalfLittleEndian(s[(2 * i)..]));
                break;
            case SafetensorsDType.BF16:
                for (int i = 0; i < d.Length; i++) d[i] = T.CreateChecked(BFloat16ToSingle(BinaryPrimitives.ReadUInt16LittleEndian(s[(2 * i)..])));
                break;
            case SafetensorsDType.I64:
                for (int i = 0; i < d.Length; i++) d[i] = T.CreateChecked(BinaryPrimitives.ReadInt64LittleEndian(s[(8 * i)..]));
                break;
            case SafetensorsDType.I32:
                for (int i = 0; i < d.Length; i++) d[i] = T.CreateChecked(BinaryPrimitives.ReadInt32LittleEndian(s[(4 * i)..]));
                break;
            case SafetensorsDType.I16:
                for (int i = 0; i < d.Length; i++) d[i] = T.CreateChecked(BinaryPrimitives.ReadInt16LittleEndian(s[(2 * i)..]));
                break;
            case SafetensorsDType.I8:
                for (int i = 0; i < d.Length; i++) d[i] = T.CreateChecked((sbyte)s[i]);
                break;
            case SafetensorsDType.U64:
                for (int i = 0; i < d.Length; i++) d[i] = T.CreateChecked(BinaryPrimitives.ReadUInt64LittleEndian(s[(8 * i)..]));
                break;
            case SafetensorsDType.U32:
                for (int i = 0; i < d.Length; i++) d[i] = T.CreateChecked(BinaryPrimitives.ReadUInt32LittleEndian(s[(4 * i)..]));
                break;
            case SafetensorsDType.U16:
                for (int i = 0; i < d.Length; i++) d[i] = T.CreateChecked(BinaryPrimitives.ReadUInt16LittleEndian(s[(2 * i)..]));
                break;
            case SafetensorsDType.U8:
                for (int i = 0; i < d.Length; i++) d[i] = T.CreateChecked(s[i]);
                break;
            case SafetensorsDType.Bool:
                for (int i = 0; i < d.Length; i++) d[i] = s[i] != 0 ? T.One : T.Zero;
                break;
            default:
                throw new InvalidOperationException($"Unexpected dtype {DType}.");
        }
        return result;
    }

    /// <summary>
    /// The elements converted to <see cref="long"/>. Integer and boolean dtypes convert directly;
    /// floating-point elements must hold whole numbers within the <see cref="long"/> range.
    /// </summary>
    /// <returns>A new array of <see cref="ElementCount"/> values.</returns>
    /// <exception cref="GatedFormatException">An element is fractional, not finite, or out of the
    /// <see cref="long"/> range (the message names the tensor and the element index).</exception>
    public long[] ToInt64Array()
    {
        var result = new long[checked((int)ElementCount)];
        ReadOnlySpan<byte> s = Data.Span;
        Span<long> d = result;
        switch (DType)
        {
            case SafetensorsDType.I64:
                if (BitConverter.IsLittleEndian) MemoryMarshal.Cast<byte, long>(s).CopyTo(d);
                else for (int i = 0; i < d.Length; i++) d[i] = BinaryPrimitives.ReadInt64LittleEndian(s[(8 * i)..]);
                break;
            case SafetensorsDType.I32:
                for (int i = 0; i < d.Length; i++) d[i] = BinaryPrimitives.ReadInt32LittleEndian(s[(4 * i)..]);
                break;
            case SafetensorsDType.I16:
                for (int i = 0; i < d.Length; i++) d[i] = BinaryPrimitives.ReadInt16LittleEndian(s[(2 * i)..]);
                break;
            case SafetensorsDType.I8:
                for (int i = 0; i < d.Length; i++) d[i] = (sbyte)s[i];
                break;
            case SafetensorsDType.U64:
                for (int i = 0; i < d.Length; i++)
                {
                    ulong v = BinaryPrimitives.ReadUInt64LittleEndian(s[(8 * i)..]);
                    if (v > long.MaxValue) throw NotAnInt64(i, v.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    d[i] = (long)v;
                }
                break;
            case SafetensorsDType.U32:
                for (int i = 0; i < d.Length; i++) d[i] = BinaryPrimitives.ReadUInt32LittleEndian(s[(4 * i)..]);
                break;
            case SafetensorsDType.U16:
                for (int i = 0; i < d.Length; i++) d[i] = BinaryPrimitives.ReadUInt16LittleEndian(s[(2 * i)..]);
                break;
            case SafetensorsDType.U8:
                for (int i = 0; i < d.Length; i++) d[i] = s[i];
                break;
            case SafetensorsDType.Bool:
                for (int i = 0; i < d.Length; i++) d[i] = s[i] != 0 ? 1 : 0;
                break;
            default:
                double[] values = ToDoubleArray();
                for (int i = 0; i < d.Length; i++)
                {
                    double v = values[i];
                    // 2^63 is exactly representable; long covers [-2^63, 2^63).
                    if (!double.IsInteger(v) || v < -9223372036854775808.0 || v >= 9223372036854775808.0)
                        throw NotAnInt64(i, v.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
                    d[i] = (long)v;
                }
                break;
        }
        return result;
    }

    /// <summary>
    /// Creates an F64 tensor holding a copy of <paramref name="data"/>.
    /// </summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="data">The elements, row-major.</param>
    /// <param name="shape">The dimensions; when none are given the tensor is one-dimensional with
    /// <c>data.Length</c> elements (use the constructor for a scalar).</param>
    /// <returns>The new tensor.</returns>
    /// <exception cref="ArgumentException">The shape does not describe <c>data.Length</c> elements.</exception>
    public static SafetensorsTensor FromArray(string name, ReadOnlySpan<double> data, params int[] shape) =>
        Create(name, SafetensorsDType.F64, data, shape);

    /// <summary>
    /// Creates an F32 tensor holding a copy of <paramref name="data"/>.
    /// </summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="data">The elements, row-major.</param>
    /// <param name="shape">The dimensions; when none are given the tensor is one-dimensional with
    /// <c>data.Length</c> elements (use the constructor for a scalar).</param>
    /// <returns>The new tensor.</returns>
    /// <exception cref="ArgumentException">The shape does not describe <c>data.Length</c> elements.</exception>
    public static SafetensorsTensor FromArray(string name, ReadOnlySpan<float> data, params int[] shape) =>
        Create(name, SafetensorsDType.F32, data, shape);

    /// <summary>
    /// Creates an I64 tensor holding a copy of <paramref name="data"/>.
    /// </summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="data">The elements, row-major.</param>
    /// <param name="shape">The dimensions; when none are given the tensor is one-dimensional with
    /// <c>data.Length</c> elements (use the constructor for a scalar).</param>
    /// <returns>The new tensor.</returns>
    /// <exception cref="ArgumentException">The shape does not describe <c>data.Length</c> elements.</exception>
    public static SafetensorsTensor FromArray(string name, ReadOnlySpan<long> data, params int[] shape) =>
        Create(name, SafetensorsDType.I64, data, shape);

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {DType.GetHeaderName()}{FormatShape(_shape)}";

    private static SafetensorsTensor Create<T>(string name, SafetensorsDType dtype, ReadOnlySpan<T> data, int[] shape)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        long[] dims;
        if (shape.Length == 0)
        {
            dims = [data.Length];
        }
        else
        {
            dims = new long[shape.Length];
            for (int i = 0; i < shape.Length; i++)
            {
                if (shape[i] < 0)
                    throw new ArgumentOutOfRangeException(nameof(shape), $"Dimension {i} of tensor '{name}' is negative ({shape[i]}).");
                dims[i] = shape[i];
            }
            if (!TryGetElementCount(dims, out long count) || count != data.Length)
                throw new ArgumentException($"Tensor '{name}' has shape {FormatShape(dims)} but {data.Length} values were given.", nameof(shape));
        }

        var bytes = new byte[checked(data.Length * dtype.GetElementSize())];
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(data).CopyTo(bytes);
        }
        else
        {
            for (int i = 0; i < data.Length; i++)
            {
                switch (data[i])
                {
                    case double v: BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(8 * i), v); break;
                    case float v: BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), v); break;
                    case long v: BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8 * i), v); break;
                }
            }
        }
        return new SafetensorsTensor(name, dtype, dims, bytes);
    }

    private static float BFloat16ToSingle(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    private GatedFormatException NotAnInt64(int index, string value) =>
        new(SourceName, $"tensor '{Describe(Name)}' ({DType.GetHeaderName()}): element {index} ({value}) is not a whole number in the 64-bit integer range.");

    internal static string FormatShape(IReadOnlyList<long> shape) =>
        "[" + string.Join(", ", shape.Select(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]";

    /// <summary>A tensor name made safe for an error message: control characters escaped, long names shortened.</summary>
    internal static string Describe(string name)
    {
        const int MaxLength = 120;
        var sb = new StringBuilder(Math.Min(name.Length, MaxLength) + 8);
        foreach (char c in name)
        {
            if (sb.Length >= MaxLength && !char.IsLowSurrogate(c))
            {
                sb.Append("...");
                break;
            }
            if (char.IsControl(c) || c is '\u2028' or '\u2029')
                sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            else
                sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>
    /// The product of <paramref name="shape"/> (non-negative dimensions), 0 when any dimension is 0;
    /// <see langword="false"/> when the product exceeds <see cref="long.MaxValue"/>.
    /// </summary>
    internal static bool TryGetElementCount(ReadOnlySpan<long> shape, out long count)
    {
        count = 1;
        if (shape.Contains(0L))
        {
            count = 0;
            return true;
        }
        foreach (long d in shape)
        {
            if (count > long.MaxValue / d)
            {
                count = 0;
                return false;
            }
            count *= d;
        }
        return true;
    }

    internal static bool IsWellFormed(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1])) return false;
                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return false;
            }
        }
        return true;
    }
}
