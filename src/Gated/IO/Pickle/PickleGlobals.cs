namespace Gated.IO.Pickle;

/// <summary>The data constructors a pickle may name; each is evaluated by the reader itself, as data.</summary>
internal enum PickleGlobalKind
{
    /// <summary><c>numpy.dtype(spec, align, copy)</c>.</summary>
    NumpyDType = 1,

    /// <summary><c>numpy.core.multiarray.scalar(dtype, bytes)</c>.</summary>
    NumpyScalar,

    /// <summary><c>numpy.core.multiarray._reconstruct(numpy.ndarray, shape, typecode)</c>, completed by BUILD.</summary>
    NumpyReconstruct,

    /// <summary><c>numpy.ndarray</c>, only as the first argument of <see cref="NumpyReconstruct"/>.</summary>
    NumpyNdarray,

    /// <summary><c>numpy.core.numeric._frombuffer(buffer, dtype, shape, order)</c>.</summary>
    NumpyFromBuffer,

    /// <summary><c>_codecs.encode(str, encoding)</c>: how Python 3 writes bytes at protocols 0–2.</summary>
    CodecsEncode,

    /// <summary><c>builtins.set(iterable)</c>: how sets are written at protocols 0–3.</summary>
    Set,

    /// <summary><c>builtins.frozenset(iterable)</c>.</summary>
    FrozenSet,

    /// <summary><c>builtins.bytearray(...)</c>.</summary>
    ByteArray,

    /// <summary><c>builtins.bytes(...)</c>: how empty bytes are written at protocols 0–2.</summary>
    Bytes,
}

/// <summary>The allow-list of globals: everything else a pickle names is refused.</summary>
internal static class PickleGlobals
{
    private static readonly Dictionary<(string Module, string Name), PickleGlobalKind> Allowed = new()
    {
        [("numpy", "dtype")] = PickleGlobalKind.NumpyDType,
        [("numpy.core.multiarray", "scalar")] = PickleGlobalKind.NumpyScalar,
        [("numpy._core.multiarray", "scalar")] = PickleGlobalKind.NumpyScalar,
        [("numpy.core.multiarray", "_reconstruct")] = PickleGlobalKind.NumpyReconstruct,
        [("numpy._core.multiarray", "_reconstruct")] = PickleGlobalKind.NumpyReconstruct,
        [("numpy", "ndarray")] = PickleGlobalKind.NumpyNdarray,
        [("numpy.core.numeric", "_frombuffer")] = PickleGlobalKind.NumpyFromBuffer,
        [("numpy._core.numeric", "_frombuffer")] = PickleGlobalKind.NumpyFromBuffer,
        [("_codecs", "encode")] = PickleGlobalKind.CodecsEncode,
        [("builtins", "set")] = PickleGlobalKind.Set,
        [("__builtin__", "set")] = PickleGlobalKind.Set,
        [("builtins", "frozenset")] = PickleGlobalKind.FrozenSet,
        [("__builtin__", "frozenset")] = PickleGlobalKind.FrozenSet,
        [("builtins", "bytearray")] = PickleGlobalKind.ByteArray,
        [("__builtin__", "bytearray")] = PickleGlobalKind.ByteArray,
        [("builtins", "bytes")] = PickleGlobalKind.Bytes,
        [("__builtin__", "bytes")] = PickleGlobalKind.Bytes,
    };

    /// <summary>The names of the allowed globals, for messages.</summary>
    public static string AllowedNames { get; } = string.Join(", ", Allowed.Keys.Select(k => $"{k.Module}.{k.Name}"));

    /// <summary>The allowed global of that name, or null when the name is not on the allow-list.</summary>
    public static PickleGlobal? Find(string module, string name) =>
        Allowed.TryGetValue((module, name), out PickleGlobalKind kind) ? new PickleGlobal(module, name) { Kind = kind } : null;
}
