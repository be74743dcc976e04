using Gated.IO.Safetensors;
using Gated.Onnx.Proto;
using DataType = Gated.Onnx.Proto.TensorProto.Types.DataType;

namespace Gated.Onnx;

/// <summary>ONNX element types (<c>TensorProto.DataType</c>): names, sizes, and which ones Gated computes with.</summary>
internal static class OnnxTypes
{
    /// <summary>The largest tensor the importer creates, in elements (2^28: 1 GiB of float32).</summary>
    public const long MaxElements = 1L << 28;

    /// <summary>The highest rank a tensor may have.</summary>
    public const int MaxRank = 32;

    public static string Name(int type) => type switch
    {
        (int)DataType.Float => "float32",
        (int)DataType.Double => "float64",
        (int)DataType.Float16 => "float16",
        (int)DataType.Bfloat16 => "bfloat16",
        (int)DataType.Int8 => "int8",
        (int)DataType.Uint8 => "uint8",
        (int)DataType.Int16 => "int16",
        (int)DataType.Uint16 => "uint16",
        (int)DataType.Int32 => "int32",
        (int)DataType.Uint32 => "uint32",
        (int)DataType.Int64 => "int64",
        (int)DataType.Uint64 => "uint64",
        (int)DataType.Bool => "bool",
        (int)DataType.String => "string",
        (int)DataType.Complex64 => "complex64",
        (int)DataType.Complex128 => "complex128",
        _ => $"type {type}",
    };

    /// <summary>True for the floating-point types, which Gated computes in the precision of the run (float or double).</summary>
    public static bool IsFloat(int type) => type is (int)DataType.Float or (int)DataType.Double or (int)DataType.Float16 or (int)DataType.Bfloat16;

    /// <summary>True for the integer and boolean types, which Gated computes as 64-bit integers.</summary>
    public static bool IsInteger(int type) => type is (int)DataType.Int8 or (int)DataType.Uint8 or (int)DataType.Int16 or (int)DataType.Uint16
        or (int)DataType.Int32 or (int)DataType.Uint32 or (int)DataType.Int64 or (int)DataType.Uint64 or (int)DataType.Bool;

    /// <summary>True when a tensor of this type can be read.</summary>
    public static bool IsSupported(int type) => IsFloat(type) || IsInteger(type);

    /// <summary>Bytes per element in <c>raw_data</c>.</summary>
    public static int Size(int type) => type switch
    {
        (int)DataType.Double or (int)DataType.Int64 or (int)DataType.Uint64 => 8,
        (int)DataType.Float or (int)DataType.Int32 or (int)DataType.Uint32 => 4,
        (int)DataType.Float16 or (int)DataType.Bfloat16 or (int)DataType.Int16 or (int)DataType.Uint16 => 2,
        _ => 1,
    };

    /// <summary>The ONNX type of a safetensors dtype, or −1 when ONNX has none Gated reads.</summary>
    public static int FromSafetensors(SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F32 => (int)DataType.Float,
        SafetensorsDType.F64 => (int)DataType.Double,
        SafetensorsDType.F16 => (int)DataType.Float16,
        SafetensorsDType.BF16 => (int)DataType.Bfloat16,
        SafetensorsDType.I8 => (int)DataType.Int8,
        SafetensorsDType.U8 => (int)DataType.Uint8,
        SafetensorsDType.I16 => (int)DataType.Int16,
        SafetensorsDType.U16 => (int)DataType.Uint16,
        SafetensorsDType.I32 => (int)DataType.Int32,
        SafetensorsDType.U32 => (int)DataType.Uint32,
        SafetensorsDType.I64 => (int)DataType.Int64,
        SafetensorsDType.U64 => (int)DataType.Uint64,
        SafetensorsDType.Bool => (int)DataType.Bool,
        _ => -1,
    };

    /// <summary>Folds a value into the range of an integer type, as a cast to it does (two's complement wrap; bool: non-zero is 1).</summary>
    public static long Wrap(int type, long value) => type switch
    {
        (int)DataType.Int8 => (sbyte)value,
        (int)DataType.Uint8 => (byte)value,
        (int)DataType.Int16 => (short)value,
        (int)DataType.Uint16 => (ushort)value,
        (int)DataType.Int32 => (int)value,
        (int)DataType.Uint32 => (uint)value,
        (int)DataType.Bool => value != 0 ? 1 : 0,
        _ => value,
    };

    /// <summary>The number of elements of a shape, or −1 when it is above <see cref="MaxElements"/> (or a dimension is negative).</summary>
    public static long Count(ReadOnlySpan<long> dims)
    {
        long count = 1;
        foreach (long d in dims)
        {
            if (d < 0) return -1;
            if (d == 0) count = 0;
            else if (count != 0 && (count > MaxElements / d)) return -1;
            else count *= d;
        }
        // A zero dimension anywhere makes the count 0 even if others are huge; reject huge dimensions anyway.
        foreach (long d in dims) if (d > MaxElements) return -1;
        return count;
    }

    /// <summary>The shape as text, e.g. <c>(5, 3, 4)</c>.</summary>
    public static string ShapeText(ReadOnlySpan<int> shape) => "(" + string.Join(", ", shape.ToArray()) + ")";

    /// <summary>The shape as text, e.g. <c>(5, 3, 4)</c>.</summary>
    public static string ShapeText(ReadOnlySpan<long> shape) => "(" + string.Join(", ", shape.ToArray()) + ")";
}
