namespace Gated.IO.Mat;

/// <summary>
/// The MATLAB array class of a MAT-file variable (the <c>mxCLASS</c> byte of the array flags).
/// </summary>
public enum MatClass : byte
{
    /// <summary><c>mxCELL_CLASS</c>: a cell array; see <see cref="MatCell"/>.</summary>
    Cell = 1,

    /// <summary><c>mxSTRUCT_CLASS</c>: a structure (not read; skipped at the top level).</summary>
    Struct = 2,

    /// <summary><c>mxOBJECT_CLASS</c>: an object (not read; skipped at the top level).</summary>
    Object = 3,

    /// <summary><c>mxCHAR_CLASS</c>: a character array.</summary>
    Char = 4,

    /// <summary><c>mxSPARSE_CLASS</c>: a sparse array (not read; skipped at the top level).</summary>
    Sparse = 5,

    /// <summary><c>mxDOUBLE_CLASS</c>: 64-bit floating point.</summary>
    Double = 6,

    /// <summary><c>mxSINGLE_CLASS</c>: 32-bit floating point.</summary>
    Single = 7,

    /// <summary><c>mxINT8_CLASS</c>.</summary>
    Int8 = 8,

    /// <summary><c>mxUINT8_CLASS</c> (also the class of MATLAB logical arrays).</summary>
    UInt8 = 9,

    /// <summary><c>mxINT16_CLASS</c>.</summary>
    Int16 = 10,

    /// <summary><c>mxUINT16_CLASS</c>.</summary>
    UInt16 = 11,

    /// <summary><c>mxINT32_CLASS</c>.</summary>
    Int32 = 12,

    /// <summary><c>mxUINT32_CLASS</c>.</summary>
    UInt32 = 13,

    /// <summary><c>mxINT64_CLASS</c>.</summary>
    Int64 = 14,

    /// <summary><c>mxUINT64_CLASS</c>.</summary>
    UInt64 = 15,

    /// <summary><c>mxFUNCTION_CLASS</c>: a function handle (not read; skipped at the top level).</summary>
    Function = 16,

    /// <summary><c>mxOPAQUE_CLASS</c>: a MATLAB object such as <c>string</c> (not read; skipped at the top level).</summary>
    Opaque = 17,
}

/// <summary>
/// The type of a MAT-file data element (<c>miINT8</c> … <c>miUTF32</c>): how the bytes of an
/// element are stored, which need not match the <see cref="MatClass"/> of the array they belong to.
/// </summary>
public enum MatDataType
{
    /// <summary><c>miINT8</c>: signed 8-bit integers.</summary>
    Int8 = 1,

    /// <summary><c>miUINT8</c>: unsigned 8-bit integers.</summary>
    UInt8 = 2,

    /// <summary><c>miINT16</c>: signed 16-bit integers.</summary>
    Int16 = 3,

    /// <summary><c>miUINT16</c>: unsigned 16-bit integers.</summary>
    UInt16 = 4,

    /// <summary><c>miINT32</c>: signed 32-bit integers.</summary>
    Int32 = 5,

    /// <summary><c>miUINT32</c>: unsigned 32-bit integers.</summary>
    UInt32 = 6,

    /// <summary><c>miSINGLE</c>: IEEE 754 single precision.</summary>
    Single = 7,

    /// <summary><c>miDOUBLE</c>: IEEE 754 double precision.</summary>
    Double = 9,

    /// <summary><c>miINT64</c>: signed 64-bit integers.</summary>
    Int64 = 12,

    /// <summary><c>miUINT64</c>: unsigned 64-bit integers.</summary>
    UInt64 = 13,

    /// <summary><c>miMATRIX</c>: a MATLAB array.</summary>
    Matrix = 14,

    /// <summary><c>miCOMPRESSED</c>: a zlib-compressed data element.</summary>
    Compressed = 15,

    /// <summary><c>miUTF8</c>: UTF-8 text.</summary>
    Utf8 = 16,

    /// <summary><c>miUTF16</c>: UTF-16 code units.</summary>
    Utf16 = 17,

    /// <summary><c>miUTF32</c>: UTF-32 code points.</summary>
    Utf32 = 18,
}
