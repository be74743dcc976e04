using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using Gated.IO;
using Gated.IO.Safetensors;

namespace Gated.Interop;

/// <summary>Small helpers shared by the interop readers and writers.</summary>
internal static class InteropTensors
{
    /// <summary>A safetensors tensor holding a copy of <paramref name="data"/> as F64 (double) or F32 (float).</summary>
    public static SafetensorsTensor Create<T>(string name, ReadOnlySpan<T> data, int[] shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double)) return SafetensorsTensor.FromArray(name, MemoryMarshal.Cast<T, double>(data), shape);
        if (typeof(T) == typeof(float)) return SafetensorsTensor.FromArray(name, MemoryMarshal.Cast<T, float>(data), shape);
        throw new NotSupportedException($"Only float and double tensors can be written, not {typeof(T).Name}.");
    }

    /// <summary>The safetensors element type of <typeparamref name="T"/>: F64 or F32.</summary>
    public static SafetensorsDType DTypeOf<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
        typeof(T) == typeof(double) ? SafetensorsDType.F64
        : typeof(T) == typeof(float) ? SafetensorsDType.F32
        : throw new NotSupportedException($"Only float and double are supported, not {typeof(T).Name}.");

    /// <summary>A shape as the messages write it: <c>[9, 4]</c>.</summary>
    public static string Shape(IReadOnlyList<long> shape) =>
        "[" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";

    /// <summary>A shape as the messages write it: <c>[9, 4]</c>.</summary>
    public static string Shape(params int[] shape) =>
        "[" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";

    /// <summary>Whether a tensor has exactly this shape.</summary>
    public static bool HasShape(SafetensorsTensor tensor, params int[] shape)
    {
        if (tensor.Shape.Count != shape.Length) return false;
        for (int i = 0; i < shape.Length; i++) if (tensor.Shape[i] != shape[i]) return false;
        return true;
    }

    /// <summary>A parameter tensor's values as <typeparamref name="T"/>: any floating-point dtype, every value finite.</summary>
    /// <exception cref="GatedFormatException">The dtype is not floating-point, or a value is NaN or infinite.</exception>
    public static T[] FiniteValues<T>(SafetensorsTensor tensor, string? source) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!tensor.DType.IsFloatingPoint())
            throw new GatedFormatException(source, $"tensor '{tensor.Name}' is {tensor.DType.GetHeaderName()}; weights must be floating-point (F64, F32, F16 or BF16).");
        // Check in double, so that a large F64 weight that rounds to infinity in float is reported as such.
        double[] wide = tensor.ToDoubleArray();
        foreach (double v in wide)
            if (!double.IsFinite(v)) throw new GatedFormatException(source, $"tensor '{tensor.Name}' holds a NaN or infinite value.");
        T[] values = tensor.ToArray<T>();
        foreach (T v in values)
            if (!T.IsFinite(v)) throw new GatedFormatException(source, $"tensor '{tensor.Name}' holds a value too large for {typeof(T).Name}.");
        return values;
    }

    /// <summary>A list of names for a message, shortened after <paramref name="max"/> entries.</summary>
    public static string List(IEnumerable<string> names, int max = 8)
    {
        var all = names.ToList();
        string shown = string.Join(", ", all.Take(max).Select(n => $"'{n}'"));
        return all.Count > max ? $"{shown} and {all.Count - max} more" : shown;
    }

    /// <summary>A prefix as the messages write it.</summary>
    public static string Prefix(string prefix) => prefix.Length == 0 ? "no prefix" : $"prefix '{prefix}'";
}
