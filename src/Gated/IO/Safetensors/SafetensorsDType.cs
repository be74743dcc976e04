namespace Gated.IO.Safetensors;

/// <summary>
/// The element types a safetensors file can hold that this library reads and writes. Each value
/// is stored little-endian; <see cref="SafetensorsDTypeExtensions.GetHeaderName"/> gives the
/// string the file header uses for it.
/// </summary>
public enum SafetensorsDType
{
    /// <summary>IEEE 754 binary64 (<c>"F64"</c>), 8 bytes.</summary>
    F64,

    /// <summary>IEEE 754 binary32 (<c>"F32"</c>), 4 bytes.</summary>
    F32,

    /// <summary>IEEE 754 binary16 (<c>"F16"</c>), 2 bytes.</summary>
    F16,

    /// <summary>bfloat16, the upper half of a binary32 (<c>"BF16"</c>), 2 bytes.</summary>
    BF16,

    /// <summary>Signed 64-bit integer (<c>"I64"</c>).</summary>
    I64,

    /// <summary>Signed 32-bit integer (<c>"I32"</c>).</summary>
    I32,

    /// <summary>Signed 16-bit integer (<c>"I16"</c>).</summary>
    I16,

    /// <summary>Signed 8-bit integer (<c>"I8"</c>).</summary>
    I8,

    /// <summary>Unsigned 64-bit integer (<c>"U64"</c>).</summary>
    U64,

    /// <summary>Unsigned 32-bit integer (<c>"U32"</c>).</summary>
    U32,

    /// <summary>Unsigned 16-bit integer (<c>"U16"</c>).</summary>
    U16,

    /// <summary>Unsigned 8-bit integer (<c>"U8"</c>).</summary>
    U8,

    /// <summary>Boolean, one byte per element, zero is false (<c>"BOOL"</c>).</summary>
    Bool,
}

/// <summary>Element sizes, header names and classification of <see cref="SafetensorsDType"/> values.</summary>
public static class SafetensorsDTypeExtensions
{
    /// <summary>The size in bytes of one element of <paramref name="dtype"/>.</summary>
    /// <param name="dtype">The element type.</param>
    /// <returns>1, 2, 4 or 8.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dtype"/> is not a defined value.</exception>
    public static int GetElementSize(this SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F64 or SafetensorsDType.I64 or SafetensorsDType.U64 => 8,
        SafetensorsDType.F32 or SafetensorsDType.I32 or SafetensorsDType.U32 => 4,
        SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.I16 or SafetensorsDType.U16 => 2,
        SafetensorsDType.I8 or SafetensorsDType.U8 or SafetensorsDType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not a safetensors dtype."),
    };

    /// <summary>The string the safetensors header uses for <paramref name="dtype"/>, e.g. <c>"F32"</c> or <c>"BOOL"</c>.</summary>
    /// <param name="dtype">The element type.</param>
    /// <returns>The header name.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dtype"/> is not a defined value.</exception>
    public static string GetHeaderName(this SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F64 => "F64",
        SafetensorsDType.F32 => "F32",
        SafetensorsDType.F16 => "F16",
        SafetensorsDType.BF16 => "BF16",
        SafetensorsDType.I64 => "I64",
        SafetensorsDType.I32 => "I32",
        SafetensorsDType.I16 => "I16",
        SafetensorsDType.I8 => "I8",
        SafetensorsDType.U64 => "U64",
        SafetensorsDType.U32 => "U32",
        SafetensorsDType.U16 => "U16",
        SafetensorsDType.U8 => "U8",
        SafetensorsDType.Bool => "BOOL",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not a safetensors dtype."),
    };

    /// <summary>
    /// Parses a header dtype name (case-sensitive, exactly as the format spells it: <c>"F64"</c>,
    /// <c>"BF16"</c>, <c>"BOOL"</c>, ...).
    /// </summary>
    /// <param name="name">The header name.</param>
    /// <param name="dtype">The element type, when the name is known.</param>
    /// <returns><see langword="true"/> when <paramref name="name"/> is a dtype this library supports.</returns>
    public static bool TryParseHeaderName(ReadOnlySpan<char> name, out SafetensorsDType dtype)
    {
        switch (name)
        {
            case "F64": dtype = SafetensorsDType.F64; return true;
            case "F32": dtype = SafetensorsDType.F32; return true;
            case "F16": dtype = SafetensorsDType.F16; return true;
            case "BF16": dtype = SafetensorsDType.BF16; return true;
            case "I64": dtype = SafetensorsDType.I64; return true;
            case "I32": dtype = SafetensorsDType.I32; return true;
            case "I16": dtype = SafetensorsDType.I16; return true;
            case "I8": dtype = SafetensorsDType.I8; return true;
            case "U64": dtype = SafetensorsDType.U64; return true;
            case "U32": dtype = SafetensorsDType.U32; return true;
            case "U16": dtype = SafetensorsDType.U16; return true;
            case "U8": dtype = SafetensorsDType.U8; return true;
            case "BOOL": dtype = SafetensorsDType.Bool; return true;
            default: dtype = default; return false;
        }
    }

    /// <summary>Whether <paramref name="dtype"/> is a floating-point type (F64, F32, F16 or BF16).</summary>
    /// <param name="dtype">The element type.</param>
    /// <returns><see langword="true"/> for the floating-point types.</returns>
    public static bool IsFloatingPoint(this SafetensorsDType dtype) =>
        dtype is SafetensorsDType.F64 or SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16;

    internal static bool IsDefined(SafetensorsDType dtype) => dtype is >= SafetensorsDType.F64 and <= SafetensorsDType.Bool;
}
