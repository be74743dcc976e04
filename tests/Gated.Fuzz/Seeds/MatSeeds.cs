using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Gated.IO.Mat;

namespace Gated.Fuzz.Seeds;

/// <summary>
/// Level 5 MAT-files written by a tiny writer: the piano-roll layout of the original data sets
/// (cell arrays <c>traindata</c>, <c>validdata</c>, <c>testdata</c> of T×88 double matrices) plain and
/// compressed, and a file with every numeric storage type, complex, logical, char and nested cells.
/// </summary>
public static class MatSeeds
{
    private const uint MiInt8 = 1, MiUInt8 = 2, MiInt16 = 3, MiUInt16 = 4, MiInt32 = 5, MiUInt32 = 6, MiSingle = 7,
        MiDouble = 9, MiInt64 = 12, MiUInt64 = 13, MiMatrix = 14, MiCompressed = 15, MiUtf8 = 16;

    /// <summary>The seeds.</summary>
    public static IReadOnlyList<byte[]> All() =>
    [
        PianoRollFile(compressed: false),
        PianoRollFile(compressed: true),
        File(
            Matrix(MatClass.Double, [1, 2], "d", 0, Element(MiDouble, Doubles(1.5, -2))),
            Matrix(MatClass.Single, [2, 1], "s", 0x08, Element(MiSingle, new byte[8]), Element(MiSingle, new byte[8])),
            Matrix(MatClass.Int16, [1, 3], "i16", 0, Element(MiInt16, [1, 0, 2, 0, 0xFF, 0xFF])),
            Matrix(MatClass.UInt64, [1, 1], "u64", 0, Element(MiUInt64, [1, 2, 3, 4, 5, 6, 7, 8])),
            Matrix(MatClass.Int64, [1, 1], "i64", 0, Element(MiInt64, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])),
            Matrix(MatClass.UInt8, [1, 2], "flag", 0x02, Element(MiUInt8, [1, 0])),
            Matrix(MatClass.Double, [1, 1], "small", 0, Small(MiInt32, Int32s(7))),
            Matrix(MatClass.Double, [1, 2], "i32", 0, Element(MiInt32, Int32s(7, -7))),
            Matrix(MatClass.Char, [1, 3], "text", 0, Element(MiUInt16, Encoding.Unicode.GetBytes("abc"))),
            Matrix(MatClass.Char, [1, 2], "utf8", 0, Element(MiUtf8, "é!"u8)),
            Matrix(MatClass.Cell, [1, 2], "nested", 0,
                Matrix(MatClass.Cell, [1, 1], "", 0, Matrix(MatClass.Double, [0, 0], "", 0, Element(MiDouble, []))),
                Matrix(MatClass.UInt32, [1, 1], "", 0, Element(MiUInt32, Int32s(5)))),
            Compress(Matrix(MatClass.Int8, [2, 2], "packed", 0, Element(MiInt8, [1, 2, 3, 4])))),
    ];

    /// <summary>
    /// A format-aware mutation: when the input holds an <c>miCOMPRESSED</c> element, mutate the bytes inside
    /// its zlib stream and compress them again, so the damage reaches the array parser instead of the zlib checksum.
    /// </summary>
    public static byte[] MutateInsideCompression(byte[] file, Random random)
    {
        // Find the compressed elements by walking the top-level tags.
        var compressed = new List<(int At, int Length)>();
        int p = MatFile.HeaderLength;
        while (p + 8 <= file.Length)
        {
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(p));
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(p + 4));
            if (type >> 16 != 0 || size > file.Length - p - 8) break;
            if (type == MiCompressed) compressed.Add((p, (int)size));
            p += 8 + (int)(type == MiCompressed ? size : (size + 7) & ~7u);
        }
        if (compressed.Count == 0) return file;
        var (at, length) = compressed[random.Next(compressed.Count)];
        byte[] inner;
        try
        {
            using var input = new MemoryStream(file, at + 8, length, writable: false);
            using var zlib = new ZLibStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream();
            zlib.CopyTo(output);
            inner = output.ToArray();
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            return file; // not valid zlib (ZLibException is an IOException): nothing to mutate inside
        }
        var log = new List<string>();
        byte[] damaged = Mutator.Mutate(random, PlainTarget, [inner], log);
        return [.. file.AsSpan(0, at), .. Compress(damaged), .. file.AsSpan(at + 8 + length)];
    }

    /// <summary>A target with no format knowledge, for mutating decompressed data.</summary>
    private static readonly FuzzTarget PlainTarget = new("mat-inner", "", _ => { }, () => []);

    private static byte[] PianoRollFile(bool compressed)
    {
        byte[] train = CellVariable("traindata",
            RollElement(3, (t, c) => (byte)(c == t + 10 || c == 0 ? 1 : 0), MiUInt8),
            RollElement(2, (t, c) => (byte)(c == 87 && t == 1 ? 1 : 0), MiDouble));
        byte[] valid = CellVariable("validdata", RollElement(1, (t, c) => (byte)(c % 2), MiUInt8));
        byte[] test = CellVariable("testdata", RollElement(4, (t, c) => (byte)(c == 40 ? 1 : 0), MiUInt8));
        return compressed ? File(Compress(train), Compress(valid), Compress(test)) : File(train, valid, test);
    }

    private static byte[] Header()
    {
        var h = new byte[MatFile.HeaderLength];
        h.AsSpan(0, 116).Fill((byte)' ');
        Encoding.ASCII.GetBytes("MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Sat Nov 22 05:00:00 2025").CopyTo(h, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(124), 0x0100);
        h[126] = (byte)'I';
        h[127] = (byte)'M';
        return h;
    }

    private static byte[] File(params byte[][] elements) => [.. Header(), .. elements.SelectMany(e => e)];

    private static byte[] Element(uint type, ReadOnlySpan<byte> data)
    {
        var e = new byte[8 + ((data.Length + 7) & ~7)];
        BinaryPrimitives.WriteUInt32LittleEndian(e, type);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(4), (uint)data.Length);
        data.CopyTo(e.AsSpan(8));
        return e;
    }

    private static byte[] Small(uint type, ReadOnlySpan<byte> data)
    {
        var e = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(e, type | ((uint)data.Length << 16));
        data.CopyTo(e.AsSpan(4));
        return e;
    }

    private static byte[] Int32s(params int[] values)
    {
        var b = new byte[4 * values.Length];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4 * i), values[i]);
        return b;
    }

    private static byte[] Doubles(params double[] values)
    {
        var b = new byte[8 * values.Length];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(b.AsSpan(8 * i), values[i]);
        return b;
    }

    private static byte[] Matrix(MatClass cls, int[] dims, string name, byte flagBits, params byte[][] data)
    {
        var flags = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(flags, (uint)cls | ((uint)flagBits << 8));
        byte[] nameBytes = Encoding.ASCII.GetBytes(name);
        byte[] nameElement = nameBytes.Length is > 0 and <= 4 ? Small(MiInt8, nameBytes) : Element(MiInt8, nameBytes);
        return Element(MiMatrix, [.. Element(MiUInt32, flags), .. Element(MiInt32, Int32s(dims)), .. nameElement, .. data.SelectMany(d => d)]);
    }

    private static byte[] Compress(byte[] element)
    {
        using var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, CompressionLevel.Optimal, leaveOpen: true)) z.Write(element);
        byte[] c = ms.ToArray();
        var e = new byte[8 + c.Length]; // compressed elements are not padded
        BinaryPrimitives.WriteUInt32LittleEndian(e, MiCompressed);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(4), (uint)c.Length);
        c.CopyTo(e, 8);
        return e;
    }

    private static byte[] CellVariable(string name, params byte[][] cells) => Matrix(MatClass.Cell, [1, cells.Length], name, 0, cells);

    /// <summary>A T×88 piano roll as a double-class cell element, stored as <paramref name="storage"/>, like the real files.</summary>
    private static byte[] RollElement(int steps, Func<int, int, byte> value, uint storage)
    {
        var v = new byte[steps * 88];
        for (int c = 0; c < 88; c++)
            for (int t = 0; t < steps; t++) v[c * steps + t] = value(t, c);
        byte[] data = storage == MiDouble ? Doubles(v.Select(x => (double)x).ToArray()) : v;
        return Matrix(MatClass.Double, [steps, 88], "", 0, Element(storage, data));
    }
}
