using System.Buffers.Binary;
using System.Numerics;

namespace Gated.IO.Pickle;

/// <summary>
/// A numpy dtype read from a pickle as data (the pickle calls <c>numpy.dtype('i8', False, True)</c>
/// and then sets its byte order with BUILD; nothing of numpy is run). Only the simple numeric
/// types are supported: bool, int8..int64, uint8..uint64 and float16/32/64.
/// </summary>
public sealed class NumpyDType
{
    private NumpyDType(string typeString, char kind, int itemSize, char byteOrder)
    {
        TypeString = typeString;
        Kind = kind;
        ItemSize = itemSize;
        ByteOrder = itemSize == 1 ? '|' : byteOrder;
    }

    /// <summary>The type string the pickle gave, e.g. <c>i8</c>.</summary>
    public string TypeString { get; }

    /// <summary>The numpy kind: <c>'b'</c> (bool), <c>'i'</c> (signed), <c>'u'</c> (unsigned) or <c>'f'</c> (float).</summary>
    public char Kind { get; }

    /// <summary>The size of one element in bytes.</summary>
    public int ItemSize { get; }

    /// <summary>The byte order: <c>'&lt;'</c> little-endian, <c>'&gt;'</c> big-endian, <c>'|'</c> not
    /// applicable (one byte) or <c>'='</c> native, which is read as little-endian.</summary>
    public char ByteOrder { get; private set; }

    /// <summary>Whether multi-byte elements are stored big-endian.</summary>
    public bool IsBigEndian => ByteOrder == '>';

    /// <summary>The numpy name, e.g. <c>int64</c>, <c>uint8</c>, <c>float32</c> or <c>bool</c>.</summary>
    public string Name => Kind switch
    {
        'b' => "bool",
        'i' => $"int{8 * ItemSize}",
        'u' => $"uint{8 * ItemSize}",
        _ => $"float{8 * ItemSize}",
    };

    /// <summary>The numpy <c>dtype.str</c>, e.g. <c>&lt;i8</c> or <c>|b1</c>.</summary>
    public string Str => $"{ByteOrder}{Kind}{ItemSize}";

    /// <summary>Decodes one element: a long (or <see cref="BigInteger"/> for uint64 values above
    /// <see cref="long.MaxValue"/>) for integers, a double for floats, a bool for bool.</summary>
    /// <param name="bytes">Exactly <see cref="ItemSize"/> bytes in this dtype's byte order.</param>
    /// <returns>The value as <see cref="PickleReader"/> represents Python numbers.</returns>
    /// <exception cref="ArgumentException"><paramref name="bytes"/> does not have <see cref="ItemSize"/> bytes.</exception>
    public object Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != ItemSize)
            throw new ArgumentException($"A {Name} element has {ItemSize} bytes, not {bytes.Length}.", nameof(bytes));
        bool big = IsBigEndian;
        switch (Kind)
        {
            case 'b':
                return PickleValues.Box(bytes[0] != 0);
            case 'i':
                return PickleValues.Box(ItemSize switch
                {
                    1 => (sbyte)bytes[0],
                    2 => big ? BinaryPrimitives.ReadInt16BigEndian(bytes) : BinaryPrimitives.ReadInt16LittleEndian(bytes),
                    4 => big ? BinaryPrimitives.ReadInt32BigEndian(bytes) : BinaryPrimitives.ReadInt32LittleEndian(bytes),
                    _ => big ? BinaryPrimitives.ReadInt64BigEndian(bytes) : BinaryPrimitives.ReadInt64LittleEndian(bytes),
                });
            case 'u':
                ulong u = ItemSize switch
                {
                    1 => bytes[0],
                    2 => big ? BinaryPrimitives.ReadUInt16BigEndian(bytes) : BinaryPrimitives.ReadUInt16LittleEndian(bytes),
                    4 => big ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : BinaryPrimitives.ReadUInt32LittleEndian(bytes),
                    _ => big ? BinaryPrimitives.ReadUInt64BigEndian(bytes) : BinaryPrimitives.ReadUInt64LittleEndian(bytes),
                };
                return u <= long.MaxValue ? PickleValues.Box((long)u) : new BigInteger(u);
            default:
                return ItemSize switch
                {
                    2 => (double)(big ? BinaryPrimitives.ReadHalfBigEndian(bytes) : BinaryPrimitives.ReadHalfLittleEndian(bytes)),
                    4 => (double)(big ? BinaryPrimitives.ReadSingleBigEndian(bytes) : BinaryPrimitives.ReadSingleLittleEndian(bytes)),
                    _ => big ? BinaryPrimitives.ReadDoubleBigEndian(bytes) : BinaryPrimitives.ReadDoubleLittleEndian(bytes),
                };
        }
    }

    /// <summary>numpy's notation, e.g. <c>dtype('&lt;i8')</c>.</summary>
    public override string ToString() => $"dtype('{Str}')";

    /// <summary>A copy (for <c>numpy.dtype(dtype)</c>).</summary>
    internal NumpyDType Clone() => new(TypeString, Kind, ItemSize, ByteOrder);

    /// <summary>The int8 placeholder dtype <c>_reconstruct</c> gives an array before BUILD sets its real dtype.</summary>
    internal static NumpyDType Placeholder() => new("b", 'i', 1, '|');

    /// <summary>Parses a type string such as <c>i8</c>, <c>&lt;f4</c>, <c>b1</c>, <c>?</c> or <c>float64</c>.</summary>
    /// <exception cref="PickleDataException">The string names no supported dtype.</exception>
    internal static NumpyDType Parse(string spec)
    {
        ReadOnlySpan<char> s = spec;
        char order = '=';
        if (s.Length > 0 && s[0] is '<' or '>' or '|' or '=')
        {
            order = s[0];
            s = s[1..];
        }
        char kind;
        int size;
        switch (s)
        {
            case "?" or "bool" or "b1": kind = 'b'; size = 1; break;
            case "i1" or "int8": kind = 'i'; size = 1; break;
            case "i2" or "int16": kind = 'i'; size = 2; break;
            case "i4" or "int32": kind = 'i'; size = 4; break;
            case "i8" or "int64": kind = 'i'; size = 8; break;
            case "u1" or "uint8": kind = 'u'; size = 1; break;
            case "u2" or "uint16": kind = 'u'; size = 2; break;
            case "u4" or "uint32": kind = 'u'; size = 4; break;
            case "u8" or "uint64": kind = 'u'; size = 8; break;
            case "f2" or "float16": kind = 'f'; size = 2; break;
            case "f4" or "float32": kind = 'f'; size = 4; break;
            case "f8" or "float64": kind = 'f'; size = 8; break;
            default:
                throw new PickleDataException($"numpy dtype {PickleText.Quote(spec)} is not supported; only bool, int8..int64, uint8..uint64 and float16/32/64 are read.");
        }
        return new NumpyDType(spec, kind, size, order);
    }

    /// <summary>Applies a dtype state tuple <c>(version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])</c>.</summary>
    /// <exception cref="PickleDataException">The state is not that of a simple numeric dtype.</exception>
    internal void SetState(object? state)
    {
        if (state is not PickleTuple t || t.Count < 5 || t.Count > 9)
            throw new PickleDataException($"the state of a numpy dtype must be a tuple (version, byteorder, subarray, names, fields, ...), got {PickleText.Describe(state)}.");
        if (t[0] is not long)
            throw new PickleDataException($"the dtype state version must be an int, got {PickleText.Describe(t[0])}.");
        if (t[1] is not string { Length: 1 } order || order[0] is not ('<' or '>' or '|' or '='))
            throw new PickleDataException($"the dtype byte order must be one of '<', '>', '|', '=', got {PickleText.Describe(t[1])}.");
        if (t[2] is not null || t[3] is not null || t[4] is not null)
            throw new PickleDataException("structured and sub-array numpy dtypes (with subarray, names or fields) are not supported.");
        if (t.Count > 5 && t[5] is long elsize && elsize > 0 && elsize != ItemSize)
            throw new PickleDataException($"the dtype state gives element size {elsize} for {Name}, which has {ItemSize}.");
        if (ItemSize > 1) ByteOrder = order[0];
    }
}
