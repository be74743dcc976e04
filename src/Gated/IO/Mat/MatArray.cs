using System.Buffers.Binary;
using System.Collections.ObjectModel;

namespace Gated.IO.Mat;

/// <summary>
/// A MATLAB array read from a MAT-file: a numeric, logical or character array, or (as the
/// <see cref="MatCell"/> subclass) a cell array. Elements are in MATLAB's column-major order:
/// element (r, c) of an R×C array is at linear index <c>c·R + r</c> (0-based).
/// </summary>
/// <remarks>
/// The values are kept in the type they were stored in (<see cref="StorageType"/>), which may be
/// smaller than the class (MATLAB stores a double array of small integers as <c>miUINT8</c>), and
/// converted to <see cref="double"/> on access. A read array is immutable.
/// </remarks>
public class MatArray
{
    private readonly int[] _dimensions;
    private readonly ReadOnlyMemory<byte> _real;
    private readonly ReadOnlyMemory<byte> _imaginary;

    /// <summary>Creates an array (the reader validated sizes and types).</summary>
    private protected MatArray(MatClass matClass, int[] dimensions, string name, bool isLogical, bool isComplex,
        MatDataType storageType, ReadOnlyMemory<byte> real, MatDataType imaginaryStorageType, ReadOnlyMemory<byte> imaginary)
    {
        Class = matClass;
        ImaginaryStorageType = imaginaryStorageType;
        _dimensions = dimensions;
        Dimensions = new ReadOnlyCollection<int>(dimensions);
        Name = name;
        IsLogical = isLogical;
        IsComplex = isComplex;
        StorageType = storageType;
        _real = real;
        _imaginary = imaginary;
        long count = 1;
        foreach (int d in dimensions) count *= d;
        Count = (int)count;
    }

    /// <summary>Creates a numeric or character array over validated storage.</summary>
    internal static MatArray Create(MatClass matClass, int[] dimensions, string name, bool isLogical, bool isComplex,
        MatDataType storageType, ReadOnlyMemory<byte> real, MatDataType imaginaryStorageType, ReadOnlyMemory<byte> imaginary)
        => new(matClass, dimensions, name, isLogical, isComplex, storageType, real, imaginaryStorageType, imaginary);

    /// <summary>The MATLAB class.</summary>
    public MatClass Class { get; }

    /// <summary>The dimensions (at least two), e.g. [T, 88] for a T×88 matrix.</summary>
    public IReadOnlyList<int> Dimensions { get; }

    /// <summary>The number of dimensions (at least 2).</summary>
    public int Rank => _dimensions.Length;

    /// <summary>The first dimension (rows).</summary>
    public int Rows => _dimensions[0];

    /// <summary>The second dimension (columns).</summary>
    public int Columns => _dimensions[1];

    /// <summary>The number of elements: the product of the dimensions.</summary>
    public int Count { get; }

    /// <summary>The variable name; empty for the elements of a cell array.</summary>
    public string Name { get; }

    /// <summary>Whether the logical flag is set (MATLAB <c>logical</c> arrays are <see cref="MatClass.UInt8"/> with this flag).</summary>
    public bool IsLogical { get; }

    /// <summary>Whether the array has an imaginary part.</summary>
    public bool IsComplex { get; }

    /// <summary>Whether the class is numeric (<see cref="MatClass.Double"/> … <see cref="MatClass.UInt64"/>).</summary>
    public bool IsNumeric => Class is >= MatClass.Double and <= MatClass.UInt64;

    /// <summary>The type the (real) values are stored in; for a cell array, <see cref="MatDataType.Matrix"/>.</summary>
    public MatDataType StorageType { get; }

    /// <summary>The stored bytes of the real part (little-endian, <see cref="StorageType"/>, column-major).</summary>
    /// <exception cref="InvalidOperationException">This is a cell array.</exception>
    public ReadOnlySpan<byte> RealData
    {
        get
        {
            ThrowIfCell();
            return _real.Span;
        }
    }

    /// <summary>The element at a row and column of a 2-D array, converted to <see cref="double"/>.</summary>
    /// <param name="row">0-based row.</param>
    /// <param name="column">0-based column.</param>
    /// <exception cref="InvalidOperationException">This is a cell array or not 2-D.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The row or column is out of range.</exception>
    public double this[int row, int column]
    {
        get
        {
            ThrowIfCell();
            if (Rank != 2)
                throw new InvalidOperationException($"The array '{Name}' has {Rank} dimensions; the [row, column] indexer needs 2.");
            ArgumentOutOfRangeException.ThrowIfNegative(row);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, Rows);
            ArgumentOutOfRangeException.ThrowIfNegative(column);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(column, Columns);
            return Read(_real.Span, StorageType, column * Rows + row);
        }
    }

    /// <summary>The real part of the element at a column-major linear index, converted to <see cref="double"/>.</summary>
    /// <param name="index">0-based linear index, below <see cref="Count"/>.</param>
    /// <exception cref="InvalidOperationException">This is a cell array.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The index is out of range.</exception>
    public double GetDouble(int index)
    {
        ThrowIfCell();
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return Read(_real.Span, StorageType, index);
    }

    /// <summary>The imaginary part of the element at a column-major linear index (0 for a real array).</summary>
    /// <param name="index">0-based linear index, below <see cref="Count"/>.</param>
    /// <exception cref="InvalidOperationException">This is a cell array.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The index is out of range.</exception>
    public double GetImaginary(int index)
    {
        ThrowIfCell();
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        if (!IsComplex) return 0;
        return Read(_imaginary.Span, ImaginaryStorageType, index);
    }

    /// <summary>The storage type of the imaginary part (equal to <see cref="StorageType"/> for a real array).</summary>
    internal MatDataType ImaginaryStorageType { get; }

    /// <summary>Copies the real parts, converted to <see cref="double"/>, in column-major order.</summary>
    /// <param name="destination">At least <see cref="Count"/> elements; the first <see cref="Count"/> are overwritten.</param>
    /// <exception cref="InvalidOperationException">This is a cell array.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public void CopyTo(Span<double> destination)
    {
        ThrowIfCell();
        if (destination.Length < Count)
            throw new ArgumentException($"The destination needs {Count} elements, it has {destination.Length}.", nameof(destination));
        ReadOnlySpan<byte> data = _real.Span;
        Span<double> d = destination[..Count];
        switch (StorageType)
        {
            case MatDataType.UInt8:
                for (int i = 0; i < d.Length; i++) d[i] = data[i];
                break;
            case MatDataType.Int8:
                for (int i = 0; i < d.Length; i++) d[i] = (sbyte)data[i];
                break;
            case MatDataType.Double:
                for (int i = 0; i < d.Length; i++) d[i] = BinaryPrimitives.ReadDoubleLittleEndian(data[(8 * i)..]);
                break;
            default:
                for (int i = 0; i < d.Length; i++) d[i] = Read(data, StorageType, i);
                break;
        }
    }

    /// <summary>The real parts, converted to <see cref="double"/>, in column-major order.</summary>
    /// <exception cref="InvalidOperationException">This is a cell array.</exception>
    public double[] ToDoubleColumnMajor()
    {
        ThrowIfCell();
        var result = new double[Count];
        CopyTo(result);
        return result;
    }

    /// <summary>The characters of a character array, in column-major order (for a 1×N array, its text).</summary>
    /// <exception cref="InvalidOperationException">The array is not of class <see cref="MatClass.Char"/>.</exception>
    public string GetString()
    {
        if (Class != MatClass.Char)
            throw new InvalidOperationException($"The array '{Name}' is of class {Class}, not Char.");
        ReadOnlySpan<byte> data = _real.Span;
        var chars = new char[Count];
        for (int i = 0; i < chars.Length; i++) chars[i] = (char)(ushort)Read(data, StorageType, i);
        return new string(chars);
    }

    /// <inheritdoc/>
    public override string ToString()
        => $"{(Name.Length == 0 ? "(unnamed)" : Name)}: {DescribeDimensions(_dimensions)} {Class}{(IsLogical ? " (logical)" : "")}{(IsComplex ? " (complex)" : "")}";

    /// <summary>The dimensions as text for messages, e.g. "3×88"; at most 8 are listed.</summary>
    internal static string DescribeDimensions(IReadOnlyList<int> dimensions, string separator = "×")
        => dimensions.Count <= 8
            ? string.Join(separator, dimensions)
            : string.Join(separator, dimensions.Take(8)) + $"{separator}… ({dimensions.Count} dimensions)";

    /// <summary>The size in bytes of one value of a numeric storage type, or 0 for a non-numeric type.</summary>
    internal static int SizeOf(MatDataType type) => type switch
    {
        MatDataType.Int8 or MatDataType.UInt8 => 1,
        MatDataType.Int16 or MatDataType.UInt16 => 2,
        MatDataType.Int32 or MatDataType.UInt32 or MatDataType.Single => 4,
        MatDataType.Double or MatDataType.Int64 or MatDataType.UInt64 => 8,
        _ => 0,
    };

    private static double Read(ReadOnlySpan<byte> data, MatDataType type, int index) => type switch
    {
        MatDataType.UInt8 => data[index],
        MatDataType.Int8 => (sbyte)data[index],
        MatDataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(data[(2 * index)..]),
        MatDataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(data[(2 * index)..]),
        MatDataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(data[(4 * index)..]),
        MatDataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(data[(4 * index)..]),
        MatDataType.Single => BinaryPrimitives.ReadSingleLittleEndian(data[(4 * index)..]),
        MatDataType.Double => BinaryPrimitives.ReadDoubleLittleEndian(data[(8 * index)..]),
        MatDataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(data[(8 * index)..]),
        MatDataType.UInt64 => BinaryPrimitives.ReadUInt64LittleEndian(data[(8 * index)..]),
        _ => throw new InvalidOperationException($"Storage type {type} holds no numbers."),
    };

    private void ThrowIfCell()
    {
        if (Class == MatClass.Cell)
            throw new InvalidOperationException($"The array '{Name}' is a cell array; read its elements through MatCell.Elements.");
    }
}
