using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using Gated.IO;
using Google.Protobuf;
using Gated.Onnx.Proto;
using DataType = Gated.Onnx.Proto.TensorProto.Types.DataType;

namespace Gated.Onnx;

/// <summary>
/// A constant tensor read from a file (an initializer or a tensor attribute), checked and decoded:
/// floating-point elements as <see cref="double"/> (exact for float16, float32 and float64),
/// integer and boolean ones as <see cref="long"/>.
/// </summary>
internal sealed class OnnxConstant
{
    private readonly Dictionary<Type, object> converted = [];

    public OnnxConstant(string name, int elementType, int[] shape, double[]? floats, long[]? ints)
    {
        Name = name;
        ElementType = elementType;
        Shape = shape;
        Floats = floats;
        Ints = ints;
    }

    public string Name { get; }
    public int ElementType { get; }
    public int[] Shape { get; }
    public double[]? Floats { get; }
    public long[]? Ints { get; }

    /// <summary>The constant as a run-time value in precision <typeparamref name="T"/>; converted once per type and cached.</summary>
    public OnnxValue<T> ToValue<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        lock (converted)
        {
            if (converted.TryGetValue(typeof(T), out object? cached)) return (OnnxValue<T>)cached;
            OnnxValue<T> value;
            if (Floats is not null)
            {
                var data = new T[Floats.Length];
                for (int i = 0; i < data.Length; i++) data[i] = T.CreateChecked(Floats[i]);
                value = OnnxValue<T>.Float(ElementType, Shape, data);
            }
            else value = OnnxValue<T>.Integer(ElementType, Shape, Ints!);
            converted[typeof(T)] = value;
            return value;
        }
    }
}

/// <summary>Reads and writes <c>TensorProto</c>, treating what it reads as hostile.</summary>
internal static class OnnxTensorCodec
{
    /// <summary>
    /// Checks and decodes a tensor: every dimension ≥ 0, at most <see cref="OnnxTypes.MaxElements"/>
    /// elements, a supported element type, data stored in the file (not external), and exactly as
    /// many elements (or raw bytes) as the dimensions need. The element count is compared with the
    /// data already read before anything is allocated, so a tensor claiming more elements than its
    /// file holds fails at once.
    /// </summary>
    /// <param name="tensor">The tensor as parsed.</param>
    /// <param name="source">The file, for messages.</param>
    /// <param name="what">What the tensor is, for messages: "initializer 'W'", "attribute 'value' of node 'c1'".</param>
    /// <exception cref="GatedFormatException">Any check fails; the message names the file and the tensor.</exception>
    public static OnnxConstant Decode(TensorProto tensor, string? source, string what)
    {
        int type = tensor.DataType;
        if (tensor.Dims.Count > OnnxTypes.MaxRank)
            throw new GatedFormatException(source, $"{what} has {tensor.Dims.Count} dimensions, more than {OnnxTypes.MaxRank}.");
        long[] dims = [.. tensor.Dims];
        long count = OnnxTypes.Count(dims);
        if (count < 0)
            throw new GatedFormatException(source, $"{what} has dimensions {OnnxTypes.ShapeText(dims)}: a negative dimension or more than {OnnxTypes.MaxElements} elements.");
        if (!OnnxTypes.IsSupported(type))
            throw new GatedFormatException(source, $"{what} has element type {OnnxTypes.Name(type)}, which Gated does not read (it reads floating-point, integer and bool tensors).");
        if (tensor.DataLocation == TensorProto.Types.DataLocation.External || tensor.ExternalData.Count > 0)
            throw new GatedFormatException(source, $"{what} keeps its data in an external file; Gated reads only models with the data inside the .onnx file.");
        if (tensor.Segment is not null)
            throw new GatedFormatException(source, $"{what} is a segment of a larger tensor; segmented tensors are not supported.");
        int[] shape = Array.ConvertAll(dims, d => (int)d);

        if (tensor.HasRawData)
        {
            ReadOnlySpan<byte> raw = tensor.RawData.Span;
            int size = OnnxTypes.Size(type);
            if (raw.Length != count * size)
                throw new GatedFormatException(source, $"{what} has {raw.Length} bytes of raw_data, but {OnnxTypes.Name(type)} dimensions {OnnxTypes.ShapeText(dims)} need {count * size}.");
            return DecodeRaw(tensor.Name, type, shape, raw, (int)count);
        }

        int stored = type switch
        {
            (int)DataType.Float => tensor.FloatData.Count,
            (int)DataType.Double => tensor.DoubleData.Count,
            (int)DataType.Int64 => tensor.Int64Data.Count,
            (int)DataType.Uint32 or (int)DataType.Uint64 => tensor.Uint64Data.Count,
            _ => tensor.Int32Data.Count,
        };
        if (stored != count)
            throw new GatedFormatException(source, $"{what} stores {stored} elements, but dimensions {OnnxTypes.ShapeText(dims)} need {count}.");
        switch (type)
        {
            case (int)DataType.Float:
            {
                var f = new double[count];
                for (int i = 0; i < f.Length; i++) f[i] = tensor.FloatData[i];
                return new OnnxConstant(tensor.Name, type, shape, f, null);
            }
            case (int)DataType.Double:
                return new OnnxConstant(tensor.Name, type, shape, [.. tensor.DoubleData], null);
            case (int)DataType.Float16:
            case (int)DataType.Bfloat16:
            {
                var f = new double[count];
                for (int i = 0; i < f.Length; i++) f[i] = HalfBits(type, (ushort)tensor.Int32Data[i]);
                return new OnnxConstant(tensor.Name, type, shape, f, null);
            }
            case (int)DataType.Int64:
                return new OnnxConstant(tensor.Name, type, shape, null, [.. tensor.Int64Data]);
            case (int)DataType.Uint32:
            case (int)DataType.Uint64:
            {
                var l = new long[count];
                for (int i = 0; i < l.Length; i++)
                {
                    ulong u = tensor.Uint64Data[i];
                    if (u > long.MaxValue) throw new GatedFormatException(source, $"{what} holds {u}, beyond the int64 range Gated computes in.");
                    l[i] = OnnxTypes.Wrap(type, (long)u);
                }
                return new OnnxConstant(tensor.Name, type, shape, null, l);
            }
            default:
            {
                var l = new long[count];
                for (int i = 0; i < l.Length; i++) l[i] = OnnxTypes.Wrap(type, tensor.Int32Data[i]);
                return new OnnxConstant(tensor.Name, type, shape, null, l);
            }
        }
    }

    private static OnnxConstant DecodeRaw(string name, int type, int[] shape, ReadOnlySpan<byte> raw, int count)
    {
        if (OnnxTypes.IsFloat(type))
        {
            var f = new double[count];
            for (int i = 0; i < count; i++)
            {
                f[i] = type switch
                {
                    (int)DataType.Float => BinaryPrimitives.ReadSingleLittleEndian(raw[(4 * i)..]),
                    (int)DataType.Double => BinaryPrimitives.ReadDoubleLittleEndian(raw[(8 * i)..]),
                    _ => HalfBits(type, BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * i)..])),
                };
            }
            return new OnnxConstant(name, type, shape, f, null);
        }
        var l = new long[count];
        for (int i = 0; i < count; i++)
        {
            l[i] = type switch
            {
                (int)DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(raw[(8 * i)..]),
                (int)DataType.Uint64 => (long)BinaryPrimitives.ReadUInt64LittleEndian(raw[(8 * i)..]),
                (int)DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(raw[(4 * i)..]),
                (int)DataType.Uint32 => BinaryPrimitives.ReadUInt32LittleEndian(raw[(4 * i)..]),
                (int)DataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(raw[(2 * i)..]),
                (int)DataType.Uint16 => BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * i)..]),
                (int)DataType.Int8 => (sbyte)raw[i],
                (int)DataType.Bool => raw[i] != 0 ? 1 : 0,
                _ => raw[i],
            };
        }
        return new OnnxConstant(name, type, shape, null, l);
    }

    private static double HalfBits(int type, ushort bits) => type == (int)DataType.Bfloat16
        ? BitConverter.Int32BitsToSingle(bits << 16)
        : (double)BitConverter.UInt16BitsToHalf(bits);

    /// <summary>A float32 tensor with its elements in <c>raw_data</c> (little-endian), as exporters usually write it.</summary>
    public static TensorProto Float32(string name, ReadOnlySpan<float> data, params long[] dims)
    {
        var bytes = new byte[data.Length * 4];
        if (BitConverter.IsLittleEndian) MemoryMarshal.AsBytes(data).CopyTo(bytes);
        else for (int i = 0; i < data.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), data[i]);
        var t = new TensorProto { Name = name, DataType = (int)DataType.Float, RawData = ByteString.CopyFrom(bytes) };
        t.Dims.AddRange(dims);
        return t;
    }

    /// <summary>An int64 tensor in <c>int64_data</c>.</summary>
    public static TensorProto Int64(string name, ReadOnlySpan<long> data, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)DataType.Int64 };
        t.Dims.AddRange(dims);
        t.Int64Data.AddRange(data.ToArray());
        return t;
    }
}
