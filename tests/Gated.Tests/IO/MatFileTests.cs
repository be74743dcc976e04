using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Gated.Data;
using Gated.IO;
using Gated.IO.Mat;
using Xunit.Abstractions;

namespace Gated.Tests.IO;

public sealed class MatFileTests(ITestOutputHelper output)
{
    // ==========================================================================================
    // Real files
    // ==========================================================================================

    /// <summary>The shared data folder: <c>$GATED_DATA</c>, else <c>&lt;dir&gt;/../shared/data/polyphonic</c> for the first ancestor <c>dir</c> of the test binaries where it exists.</summary>
    private static readonly string? DataDirectory = FindData();

    private const string DataSkipReason =
        "The polyphonic .mat files were not found: set GATED_DATA or put them in shared/data/polyphonic beside the repository root.";

    private static string? FindData()
    {
        string[] needed = ["JSB_Chorales.mat", "Nottingham.mat", "MuseData.mat", "Piano_midi.mat", "jsb.json"];
        bool Complete(string dir) => needed.All(f => File.Exists(Path.Combine(dir, f)));
        string? env = Environment.GetEnvironmentVariable("GATED_DATA");
        if (!string.IsNullOrEmpty(env) && Complete(env)) return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data", "polyphonic"));
            if (Complete(candidate)) return candidate;
        }
        return null;
    }

    private sealed class MatDataFactAttribute : FactAttribute
    {
        public MatDataFactAttribute()
        {
            if (DataDirectory is null) Skip = DataSkipReason;
        }
    }

    private sealed class MatDataTheoryAttribute : TheoryAttribute
    {
        public MatDataTheoryAttribute()
        {
            if (DataDirectory is null) Skip = DataSkipReason;
        }
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<(IReadOnlyList<PianoRoll> Train, IReadOnlyList<PianoRoll> Valid, IReadOnlyList<PianoRoll> Test)>> Loaded = new();

    // README statistics: sequences, steps, notes, pitch min–max, length min–max per split.
    [MatDataTheory]
    [InlineData("JSB_Chorales.mat", "train", 229, 13807, 53824, 43, 96, 25, 129)]
    [InlineData("JSB_Chorales.mat", "valid", 76, 4602, 17811, 48, 96, 32, 144)]
    [InlineData("JSB_Chorales.mat", "test", 77, 4725, 18367, 45, 96, 32, 160)]
    [InlineData("Nottingham.mat", "train", 694, 176561, 699403, 31, 93, 40, 1788)]
    [InlineData("Nottingham.mat", "valid", 173, 45513, 180192, 34, 91, 96, 1473)]
    [InlineData("Nottingham.mat", "test", 170, 44463, 177421, 36, 89, 63, 1793)]
    [InlineData("MuseData.mat", "train", 524, 245202, 856543, 21, 96, 9, 3457)]
    [InlineData("MuseData.mat", "valid", 135, 82755, 287893, 21, 100, 63, 3723)]
    [InlineData("MuseData.mat", "test", 124, 64339, 211857, 21, 105, 45, 4273)]
    [InlineData("Piano_midi.mat", "train", 87, 75911, 231089, 21, 108, 111, 3857)]
    [InlineData("Piano_midi.mat", "valid", 12, 8540, 27623, 24, 104, 209, 1637)]
    [InlineData("Piano_midi.mat", "test", 25, 19036, 56067, 21, 108, 65, 2645)]
    public void RealFileStatisticsMatchTheReadme(string file, string split, int sequences, long steps, long notes,
        int minPitch, int maxPitch, int minLength, int maxLength)
    {
        var (train, valid, test) = Loaded.GetOrAdd(file, f => new Lazy<(IReadOnlyList<PianoRoll>, IReadOnlyList<PianoRoll>, IReadOnlyList<PianoRoll>)>(
            () => PianoRollMat.Load(Path.Combine(DataDirectory!, f)))).Value;
        IReadOnlyList<PianoRoll> rolls = split switch { "train" => train, "valid" => valid, _ => test };
        Assert.Equal(sequences, rolls.Count);
        Assert.Equal(steps, rolls.Sum(r => (long)r.Length));
        Assert.Equal(notes, rolls.Sum(r => (long)r.NoteCount));
        Assert.Equal(minLength, rolls.Min(r => r.Length));
        Assert.Equal(maxLength, rolls.Max(r => r.Length));
        int lo = int.MaxValue, hi = int.MinValue;
        foreach (PianoRoll r in rolls)
        {
            for (int t = 0; t < r.Length; t++)
            {
                foreach (int p in r.PitchesAt(t))
                {
                    lo = Math.Min(lo, p);
                    hi = Math.Max(hi, p);
                }
            }
        }
        Assert.Equal(minPitch, lo);
        Assert.Equal(maxPitch, hi);
    }

    [MatDataFact]
    public void RealFileStructure()
    {
        MatFile mat = MatFile.Read(Path.Combine(DataDirectory!, "JSB_Chorales.mat"));
        Assert.StartsWith("MATLAB 5.0 MAT-file, Platform: PCWIN64, Created on: Wed May 20", mat.HeaderText);
        Assert.Equal(["traindata", "validdata", "testdata"], mat.VariableNames);
        Assert.Empty(mat.SkippedVariables);
        var train = Assert.IsType<MatCell>(mat["traindata"]);
        Assert.Equal(MatClass.Cell, train.Class);
        Assert.Equal([1, 229], train.Dimensions);
        MatArray first = train.Elements[0];
        Assert.Equal(MatClass.Double, first.Class);        // class double ...
        Assert.Equal(MatDataType.UInt8, first.StorageType); // ... stored as miUINT8
        Assert.Equal(88, first.Columns);
        Assert.Equal(2, first.Rank);
        Assert.Equal(first.Count, first.ToDoubleColumnMajor().Length);
    }

    [MatDataFact]
    public void JsbMatEqualsJsbJson()
    {
        var (train, valid, test) = PianoRollMat.Load(Path.Combine(DataDirectory!, "JSB_Chorales.mat"));
        using JsonDocument json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(DataDirectory!, "jsb.json")));
        foreach (var (name, rolls) in new[] { ("train", train), ("valid", valid), ("test", test) })
        {
            JsonElement split = json.RootElement.GetProperty(name);
            Assert.Equal(split.GetArrayLength(), rolls.Count);
            int s = 0;
            foreach (JsonElement sequence in split.EnumerateArray())
            {
                PianoRoll roll = rolls[s];
                Assert.Equal(sequence.GetArrayLength(), roll.Length);
                int t = 0;
                foreach (JsonElement step in sequence.EnumerateArray())
                {
                    int[] expected = step.EnumerateArray().Select(p => p.GetInt32()).ToArray();
                    int[] actual = roll.PitchesAt(t);
                    if (!expected.SequenceEqual(actual))
                        Assert.Fail($"{name} sequence {s} step {t}: json [{string.Join(",", expected)}], mat [{string.Join(",", actual)}]");
                    t++;
                }
                s++;
            }
        }
    }

    [MatDataFact]
    public void MuseDataLoadTime()
    {
        string path = Path.Combine(DataDirectory!, "MuseData.mat");
        PianoRollMat.Load(path); // warm up
        var times = new List<double>();
        for (int i = 0; i < 3; i++)
        {
            var sw = Stopwatch.StartNew();
            var (train, _, _) = PianoRollMat.Load(path);
            times.Add(sw.Elapsed.TotalMilliseconds);
            Assert.Equal(524, train.Count);
        }
        var readSw = Stopwatch.StartNew();
        MatFile.Read(path);
        double readMs = readSw.Elapsed.TotalMilliseconds;
        output.WriteLine($"PianoRollMat.Load(MuseData.mat): {string.Join(", ", times.Select(t => $"{t:F1}"))} ms (MatFile.Read alone {readMs:F1} ms)");
    }

    // ==========================================================================================
    // Synthetic files: a tiny MAT v5 writer
    // ==========================================================================================

    private const uint MiInt8 = 1, MiUInt8 = 2, MiInt16 = 3, MiUInt16 = 4, MiInt32 = 5, MiUInt32 = 6, MiSingle = 7,
        MiDouble = 9, MiInt64 = 12, MiUInt64 = 13, MiMatrix = 14, MiCompressed = 15, MiUtf8 = 16;

    private static byte[] Header(string text = "MATLAB 5.0 MAT-file, Platform: test, Created on: today", ushort version = 0x0100, string endian = "IM")
    {
        var h = new byte[128];
        h.AsSpan(0, 116).Fill((byte)' ');
        Encoding.ASCII.GetBytes(text).CopyTo(h, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(124), version);
        h[126] = (byte)endian[0];
        h[127] = (byte)endian[1];
        return h;
    }

    /// <summary>A data element with an 8-byte tag, padded to 8 bytes.</summary>
    private static byte[] Element(uint type, ReadOnlySpan<byte> data, int? declaredSize = null)
    {
        int padded = (data.Length + 7) & ~7;
        var e = new byte[8 + padded];
        BinaryPrimitives.WriteUInt32LittleEndian(e, type);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(4), (uint)(declaredSize ?? data.Length));
        data.CopyTo(e.AsSpan(8));
        return e;
    }

    /// <summary>A small data element: type and size in one word, up to 4 bytes of data.</summary>
    private static byte[] Small(uint type, ReadOnlySpan<byte> data)
    {
        Assert.True(data.Length <= 4);
        var e = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(e, type | ((uint)data.Length << 16));
        data.CopyTo(e.AsSpan(4));
        return e;
    }

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

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

    /// <summary>An miMATRIX element: flags, dimensions, name (small when short), then the given data elements.</summary>
    private static byte[] Matrix(MatClass cls, int[] dims, string name, byte flagBits, params byte[][] data)
    {
        var flags = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(flags, (uint)cls | ((uint)flagBits << 8));
        byte[] nameBytes = Encoding.ASCII.GetBytes(name);
        byte[] nameElement = nameBytes.Length is > 0 and <= 4 ? Small(MiInt8, nameBytes) : Element(MiInt8, nameBytes);
        return Element(MiMatrix, Concat([Element(MiUInt32, flags), Element(MiInt32, Int32s(dims)), nameElement, .. data]));
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

    private static byte[] MatBytes(params byte[][] elements) => Concat([Header(), .. elements]);

    private static MatFile ReadBytes(byte[] bytes) => MatFile.Read(bytes, "test.mat");

    private static GatedFormatException Bad(byte[] bytes, params string[] fragments)
    {
        var ex = Assert.Throws<GatedFormatException>(() => ReadBytes(bytes));
        Assert.Equal("test.mat", ex.FileName);
        Assert.StartsWith("test.mat: ", ex.Message);
        foreach (string f in fragments) Assert.Contains(f, ex.Message);
        return ex;
    }

    /// <summary>A T×88 piano roll as a double-class cell element stored as miUINT8, like the real files.</summary>
    private static byte[] RollElement(int steps, Func<int, int, byte> value, uint storage = MiUInt8, int columns = 88)
    {
        var v = new byte[steps * columns];
        for (int c = 0; c < columns; c++)
            for (int t = 0; t < steps; t++) v[c * steps + t] = value(t, c);
        byte[] data = storage switch
        {
            MiUInt8 => v,
            MiDouble => Doubles(v.Select(x => (double)x).ToArray()),
            _ => throw new ArgumentOutOfRangeException(nameof(storage)),
        };
        return Matrix(MatClass.Double, [steps, columns], "", 0, Element(storage, data));
    }

    private static byte[] CellVariable(string name, params byte[][] cells) => Matrix(MatClass.Cell, [1, cells.Length], name, 0, cells);

    private static byte[] PianoRollFile(bool compressed, Func<byte[], byte[]>? mutateTrain = null)
    {
        byte[] train = CellVariable("traindata",
            RollElement(3, (t, c) => (byte)(c == t + 10 || c == 0 ? 1 : 0)),
            RollElement(2, (t, c) => (byte)(c == 87 && t == 1 ? 1 : 0), storage: MiDouble));
        if (mutateTrain is not null) train = mutateTrain(train);
        byte[] valid = CellVariable("validdata", RollElement(1, (t, c) => (byte)(c % 2)));
        byte[] test = CellVariable("testdata", RollElement(4, (t, c) => 0));
        return compressed ? MatBytes(Compress(train), Compress(valid), Compress(test)) : MatBytes(train, valid, test);
    }

    // ==========================================================================================
    // Synthetic: valid files
    // ==========================================================================================

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DoubleMatrixRoundTrips(bool compressed)
    {
        // 2×3 [1 2 3; 4 5 6] is stored column-major: 1 4 2 5 3 6.
        byte[] m = Matrix(MatClass.Double, [2, 3], "weights", 0, Element(MiDouble, Doubles(1, 4, 2, 5, 3, 6)));
        MatFile f = ReadBytes(MatBytes(compressed ? Compress(m) : m));
        Assert.Equal("MATLAB 5.0 MAT-file, Platform: test, Created on: today", f.HeaderText);
        MatArray a = f["weights"];
        Assert.Equal(MatClass.Double, a.Class);
        Assert.Equal([2, 3], a.Dimensions);
        Assert.Equal("weights", a.Name);
        Assert.Equal(6, a.Count);
        Assert.Equal(3, a[0, 2]);
        Assert.Equal(4, a[1, 0]);
        Assert.Equal(6, a[1, 2]);
        Assert.Equal([1, 4, 2, 5, 3, 6], a.ToDoubleColumnMajor());
        Assert.Throws<ArgumentOutOfRangeException>(() => a[2, 0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => a.GetDouble(6));
        Assert.Equal("test.mat", f.SourceName);
    }

    [Fact]
    public void SmallElementsAndNarrowStorage()
    {
        // Name "x" and an int16 pair both use the small-element format; a double array stored as miUINT8.
        var int16 = new byte[4];
        BinaryPrimitives.WriteInt16LittleEndian(int16, -7);
        BinaryPrimitives.WriteInt16LittleEndian(int16.AsSpan(2), 300);
        byte[] x = Matrix(MatClass.Double, [1, 2], "x", 0, Small(MiInt16, int16));
        byte[] y = Matrix(MatClass.Double, [3, 1], "y", 0, Element(MiUInt8, [0, 1, 255]));
        byte[] z = Matrix(MatClass.Double, [1, 1], "z", 0, Small(MiUInt8, [42]));
        MatFile f = ReadBytes(MatBytes(x, Compress(y), z));
        Assert.Equal(["x", "y", "z"], f.VariableNames);
        Assert.Equal(MatDataType.Int16, f["x"].StorageType);
        Assert.Equal([-7, 300], f["x"].ToDoubleColumnMajor());
        Assert.Equal(MatDataType.UInt8, f["y"].StorageType);
        Assert.Equal([0, 1, 255], f["y"].ToDoubleColumnMajor());
        Assert.Equal(42, f["z"][0, 0]);
    }

    [Fact]
    public void EveryNumericStorageTypeAndClass()
    {
        static byte[] Bytes<T>(T[] values, int size, Action<byte[], int, T> write)
        {
            var b = new byte[size * values.Length];
            for (int i = 0; i < values.Length; i++) write(b, size * i, values[i]);
            return b;
        }
        byte[][] vars =
        [
            Matrix(MatClass.Int8, [1, 2], "i8", 0, Element(MiInt8, [0x80, 0x7F])),
            Matrix(MatClass.UInt16, [1, 2], "u16", 0, Element(MiUInt16, Bytes<ushort>([65535, 1], 2, (b, o, v) => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(o), v)))),
            Matrix(MatClass.Int32, [1, 2], "i32", 0, Element(MiInt32, Int32s(int.MinValue, 5))),
            Matrix(MatClass.UInt32, [1, 2], "u32", 0, Element(MiUInt32, Bytes<uint>([uint.MaxValue, 2], 4, (b, o, v) => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(o), v)))),
            Matrix(MatClass.Single, [1, 2], "f32", 0, Element(MiSingle, Bytes<float>([1.5f, -0.25f], 4, (b, o, v) => BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(o), v)))),
            Matrix(MatClass.Int64, [1, 2], "i64", 0, Element(MiInt64, Bytes<long>([-(1L << 40), 3], 8, (b, o, v) => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(o), v)))),
            Matrix(MatClass.UInt64, [1, 2], "u64", 0, Element(MiUInt64, Bytes<ulong>([1UL << 63, 4], 8, (b, o, v) => BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(o), v)))),
            Matrix(MatClass.UInt8, [2, 2], "mask", 0x02, Element(MiUInt8, [1, 0, 0, 1])),
            Matrix(MatClass.Double, [1, 2], "c", 0x08, Element(MiDouble, Doubles(1, 2)), Element(MiInt8, [0xFF, 3])),
            Matrix(MatClass.Double, [2, 2, 2], "cube", 0, Element(MiUInt8, [0, 1, 2, 3, 4, 5, 6, 7])),
        ];
        MatFile f = ReadBytes(MatBytes(vars));
        Assert.Equal([-128, 127], f["i8"].ToDoubleColumnMajor());
        Assert.Equal([65535, 1], f["u16"].ToDoubleColumnMajor());
        Assert.Equal([int.MinValue, 5], f["i32"].ToDoubleColumnMajor());
        Assert.Equal([uint.MaxValue, 2], f["u32"].ToDoubleColumnMajor());
        Assert.Equal([1.5, -0.25], f["f32"].ToDoubleColumnMajor());
        Assert.Equal([-(double)(1L << 40), 3], f["i64"].ToDoubleColumnMajor());
        Assert.Equal([(double)(1UL << 63), 4], f["u64"].ToDoubleColumnMajor());
        Assert.True(f["mask"].IsLogical);
        Assert.Equal(MatClass.UInt8, f["mask"].Class);
        Assert.True(f["c"].IsComplex);
        Assert.Equal(-1, f["c"].GetImaginary(0));
        Assert.Equal(3, f["c"].GetImaginary(1));
        Assert.Equal(2, f["c"].GetDouble(1));
        Assert.Equal(3, f["cube"].Rank);
        Assert.Throws<InvalidOperationException>(() => f["cube"][0, 0]);
        Assert.Equal(7, f["cube"].GetDouble(7));
    }

    [Fact]
    public void CellsCharsEmptiesAndSkippedClasses()
    {
        var text = new byte[10];
        for (int i = 0; i < 5; i++) BinaryPrimitives.WriteUInt16LittleEndian(text.AsSpan(2 * i), "hello"[i]);
        byte[] chars = Matrix(MatClass.Char, [1, 5], "greeting", 0, Element(MiUInt16, text));
        byte[] utf8 = Matrix(MatClass.Char, [1, 2], "u", 0, Element(MiUtf8, Encoding.UTF8.GetBytes("é!")));
        byte[] emptyElement = Element(MiMatrix, []);
        byte[] inner = Matrix(MatClass.Cell, [1, 1], "", 0, Matrix(MatClass.Double, [1, 1], "", 0, Small(MiUInt8, [9])));
        byte[] cell = Matrix(MatClass.Cell, [2, 2], "stuff", 0,
            Matrix(MatClass.Char, [1, 2], "", 0, Element(MiUInt8, "ok"u8)),
            emptyElement,
            inner,
            Matrix(MatClass.Double, [0, 0], "", 0, Element(MiDouble, [])));
        byte[] structVar = Matrix(MatClass.Struct, [1, 1], "s", 0, Element(MiInt32, Int32s(32)), Element(MiInt8, "field"u8));
        byte[] nonArray = Element(MiDouble, Doubles(1)); // a non-array top-level element is skipped
        MatFile f = ReadBytes(MatBytes(chars, Compress(utf8), nonArray, structVar, Compress(cell)));

        Assert.Equal("hello", f["greeting"].GetString());
        Assert.Equal("é!", f["u"].GetString());
        Assert.Equal(["greeting", "u", "stuff"], f.VariableNames);
        Assert.Equal(MatClass.Struct, f.SkippedVariables["s"]);
        var c = Assert.IsType<MatCell>(f["stuff"]);
        Assert.Equal(4, c.Elements.Count);
        Assert.Equal("ok", c.Elements[0].GetString());
        Assert.Equal(0, c.Elements[1].Count);
        Assert.Equal(9, Assert.IsType<MatCell>(c.Elements[2]).Elements[0][0, 0]);
        Assert.Equal([0, 0], c.Elements[3].Dimensions);
        Assert.Throws<InvalidOperationException>(() => c.ToDoubleColumnMajor());
        Assert.Throws<KeyNotFoundException>(() => f["nope"]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SyntheticPianoRolls(bool compressed)
    {
        MatFile f = ReadBytes(PianoRollFile(compressed));
        var (train, valid, test) = PianoRollMat.Load(f);
        Assert.Equal(2, train.Count);
        Assert.Equal(3, train[0].Length);
        Assert.Equal([21, 31], train[0].PitchesAt(0));
        Assert.Equal([21, 33], train[0].PitchesAt(2));
        Assert.Empty(train[1].PitchesAt(0));
        Assert.Equal([108], train[1].PitchesAt(1));
        Assert.Equal(44, valid[0].NoteCount);
        Assert.Equal(22, valid[0].PitchesAt(0)[0]);
        Assert.Equal(4, test[0].Length);
        Assert.Equal(0, test[0].NoteCount);
    }

    // ==========================================================================================
    // Synthetic: malformed files
    // ==========================================================================================

    private static byte[] SimpleVar => Matrix(MatClass.Double, [1, 2], "v", 0, Element(MiDouble, Doubles(1, 2)));

    [Fact]
    public void HeaderProblems()
    {
        Bad(MatBytes()[..50], "50 bytes long", "128-byte header");
        Bad([], "0 bytes long");
        Bad(Concat(Header(endian: "MI"), SimpleVar), "big-endian");
        Bad(Concat(Header(endian: "XY"), SimpleVar), "endian indicator");
        Bad(Concat(Header(version: 0x0200), SimpleVar), "7.3", "HDF5");
        Bad(Concat(Header(version: 0x0101), SimpleVar), "version 0x0101");
        byte[] v4 = MatBytes(SimpleVar);
        v4[1] = 0;
        Bad(v4, "Level 4");
        Assert.Empty(ReadBytes(MatBytes()).Variables); // a header alone is an empty file
    }

    [Fact]
    public void ElementSizeBeyondTheFile()
    {
        byte[] v = SimpleVar;
        BinaryPrimitives.WriteUInt32LittleEndian(v.AsSpan(4), 1_000_000);
        Bad(MatBytes(v), "at byte 128", "declares 1000000 bytes");
        Bad(MatBytes(SimpleVar)[..^5], "variable 'v', at byte 128", "declares 64 bytes, but only 59 remain");
        Bad(Concat(MatBytes(SimpleVar), [1, 2, 3]), "only 3 bytes remain");
        byte[] c = Compress(SimpleVar);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(4), (uint)c.Length);
        Bad(MatBytes(c), "declares");
    }

    [Fact]
    public void BadZlib()
    {
        byte[] c = Compress(SimpleVar);
        for (int i = 12; i < c.Length; i++) c[i] ^= 0x5A;
        var ex = Bad(MatBytes(c), "the miCOMPRESSED element at byte 128");
        Assert.Contains("zlib", ex.Message);

        byte[] truncated = Compress(SimpleVar);
        truncated = truncated[..^10];
        BinaryPrimitives.WriteUInt32LittleEndian(truncated.AsSpan(4), (uint)(truncated.Length - 8));
        Bad(MatBytes(truncated), "variable 'v', at byte 52 of the data decompressed from the miCOMPRESSED element at byte 128", "ends after 52 bytes");

        byte[] checksum = Compress(SimpleVar);
        checksum[^1] ^= 1; // Adler-32 mismatch
        Bad(MatBytes(checksum), "the miCOMPRESSED element at byte 128", "not valid zlib data");
    }

    [Fact]
    public void ZipBombs()
    {
        // A tag declaring 100 MiB, followed by 100 MiB of zeros: ~100 KB compressed, over the budget.
        const int huge = 100 << 20;
        var bomb = new byte[8 + huge];
        BinaryPrimitives.WriteUInt32LittleEndian(bomb, MiMatrix);
        BinaryPrimitives.WriteUInt32LittleEndian(bomb.AsSpan(4), huge);
        var sw = Stopwatch.StartNew();
        byte[] compressed = Compress(bomb);
        output.WriteLine($"bomb: {compressed.Length} compressed bytes for {bomb.Length} ({sw.ElapsedMilliseconds} ms to build)");
        Bad(MatBytes(compressed), "decompression budget", "decompression bomb");

        // A tag declaring a small matrix, but the zlib stream goes on with megabytes of zeros.
        var liar = new byte[16 << 20];
        SimpleVar.CopyTo(liar, 0);
        Bad(MatBytes(Compress(liar)), "goes on past");

        // Many elements that are each within the budget, but not together.
        var zeros = new byte[1 << 20];
        byte[][] pieces = Enumerable.Range(0, 40).Select(i => Compress(Matrix(MatClass.UInt8, [1, zeros.Length], $"p{i}", 0, Element(MiUInt8, zeros)))).ToArray();
        Assert.Equal(15, ReadBytes(MatBytes(pieces[..15])).Variables.Count); // 15 MiB fit
        Bad(MatBytes(pieces), "variable 'p15'", "decompression budget");
    }

    [Fact]
    public void AbsurdDimensions()
    {
        Bad(MatBytes(Matrix(MatClass.Double, [100000, 100000, 100000], "big", 0, Element(MiDouble, Doubles(1)))),
            "variable 'big'", "100000 × 100000 × 100000", "more than 2147483647 elements");
        Bad(MatBytes(Matrix(MatClass.Double, [65536, 65536], "big", 0, Element(MiDouble, []))), "more than 2147483647 elements");
        Bad(MatBytes(Matrix(MatClass.Double, [-1, 2], "neg", 0, Element(MiDouble, []))), "variable 'neg'", "negative");
        Bad(MatBytes(Matrix(MatClass.Double, [3], "one", 0, Element(MiDouble, Doubles(1, 2, 3)))), "at least two");
        Bad(MatBytes(Matrix(MatClass.Double, [2, 3], "short", 0, Element(MiDouble, Doubles(1, 2)))), "variable 'short'", "6 values");
        Bad(MatBytes(Matrix(MatClass.Cell, [1, 1_000_000_000], "cells", 0, Matrix(MatClass.Double, [0, 0], "", 0))), "variable 'cells'", "room for at most");
        // Zero in any dimension makes an empty array, whatever the others say.
        Assert.Equal(0, ReadBytes(MatBytes(Matrix(MatClass.Double, [0, int.MaxValue, int.MaxValue], "e", 0, Element(MiDouble, []))))["e"].Count);
    }

    [Fact]
    public void OtherStructuralProblems()
    {
        Bad(MatBytes(Matrix((MatClass)42, [1, 1], "k", 0, Element(MiDouble, Doubles(1)))), "unknown array class 42");
        Bad(MatBytes(Element(99, [1, 2, 3])), "unknown data element type 99");
        Bad(MatBytes(Matrix(MatClass.Double, [1, 1], "t", 0, Element(MiDouble, Doubles(1)), Element(MiDouble, Doubles(2)))), "variable 't'", "unexpected bytes");
        Bad(MatBytes(Matrix(MatClass.Double, [1, 1], "m", 0, Element(MiMatrix, Doubles(1)))), "not a numeric type");
        Bad(MatBytes(SimpleVar, SimpleVar), "appears twice");
        Bad(MatBytes(Matrix(MatClass.Cell, [1, 1], "c", 0, Matrix(MatClass.Sparse, [1, 1], "", 0))), "variable 'c', cell 0", "not supported inside a cell");
        Bad(MatBytes(Matrix(MatClass.Cell, [1, 1], "c", 0, Element(MiDouble, Doubles(1)))), "cell element must be an miMATRIX");
        Bad(MatBytes(Matrix(MatClass.Double, [1, 1], "name\u0001", 0, Element(MiDouble, Doubles(1)))), "printable ASCII");
        byte[] smallLie = Matrix(MatClass.Double, [1, 1], "x", 0, Element(MiDouble, Doubles(1)));
        smallLie[8 + 16 + 16 + 2] = 9; // the small name tag now claims 9 bytes
        Bad(MatBytes(smallLie), "small-element tag claiming");
        Bad(MatBytes(Compress(Element(MiDouble, Doubles(1)))), "must hold an miMATRIX");
        Bad(MatBytes(Compress(Matrix(MatClass.Cell, [1, 1], "c", 0, Element(MiCompressed, Compress(SimpleVar)[8..])))), "variable 'c', cell 0 (0-based)", "cell element must be an miMATRIX");
    }

    [Fact]
    public void CellNestingTooDeep()
    {
        byte[] Nest(int levels)
        {
            byte[] e = Matrix(MatClass.Double, [1, 1], "", 0, Small(MiUInt8, [1]));
            for (int i = 0; i < levels; i++) e = Matrix(MatClass.Cell, [1, 1], i == levels - 1 ? "deep" : "", 0, e);
            return e;
        }
        Assert.IsType<MatCell>(ReadBytes(MatBytes(Nest(MatFile.MaxNestingDepth)))["deep"]);
        Bad(MatBytes(Compress(Nest(MatFile.MaxNestingDepth + 1))), "variable 'deep', cell 0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0 (0-based)", $"nested more than {MatFile.MaxNestingDepth} levels");
        Bad(MatBytes(Nest(1000)), "nested more than");
    }

    private static GatedFormatException BadRolls(byte[] bytes, params string[] fragments)
    {
        MatFile f = ReadBytes(bytes);
        var ex = Assert.Throws<GatedFormatException>(() => PianoRollMat.Load(f));
        Assert.Equal("test.mat", ex.FileName);
        foreach (string s in fragments) Assert.Contains(s, ex.Message);
        return ex;
    }

    [Fact]
    public void PianoRollProblems()
    {
        byte[] WithTrain(params byte[][] cells) => MatBytes(CellVariable("traindata", cells),
            CellVariable("validdata", RollElement(1, (t, c) => 0)), CellVariable("testdata", RollElement(1, (t, c) => 0)));

        BadRolls(WithTrain(RollElement(2, (t, c) => 0), RollElement(5, (t, c) => (byte)(t == 3 && c == 40 ? 2 : 0))),
            "variable 'traindata', cell 1", "row 3, column 40 (pitch 61)", "value 2 is not 0 or 1");
        BadRolls(WithTrain(Matrix(MatClass.Double, [1, 88], "", 0, Element(MiDouble, Doubles(Enumerable.Range(0, 88).Select(i => i == 5 ? 0.5 : 0.0).ToArray())))),
            "cell 0 (0-based), row 0, column 5 (pitch 26)", "value 0.5");
        BadRolls(WithTrain(RollElement(3, (t, c) => 0, columns: 87)), "variable 'traindata', cell 0", "3×87", "not T×88");
        BadRolls(WithTrain(RollElement(0, (t, c) => 0)), "no time steps");
        BadRolls(WithTrain(Matrix(MatClass.Char, [1, 2], "", 0, Element(MiUInt8, "no"u8))), "Char");
        BadRolls(MatBytes(CellVariable("traindata", RollElement(1, (t, c) => 0))), "no variable 'validdata'", "'traindata'");
        BadRolls(MatBytes(SimpleVar, Matrix(MatClass.Double, [1, 1], "traindata", 0, Small(MiUInt8, [1]))), "variable 'traindata' is a 1×1 Double array");
        BadRolls(WithTrain(), "empty cell array");
    }

    // ==========================================================================================
    // Fuzz
    // ==========================================================================================

    [Fact]
    public void MutationFuzzOnlyThrowsGatedFormatException()
    {
        byte[] plain = PianoRollFile(compressed: false);
        byte[] packed = PianoRollFile(compressed: true);
        byte[] payload = CellVariable("traindata", RollElement(3, (t, c) => (byte)(c == t ? 1 : 0)), Matrix(MatClass.Char, [1, 2], "", 0, Element(MiUInt8, "ab"u8)));
        var random = new Random(20150520);
        int accepted = 0, rejected = 0;
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < 3000; i++)
        {
            int mode = i % 3;
            byte[] mutated = mode switch
            {
                0 => Mutate(plain, random, HeaderLength: 128),
                1 => Mutate(packed, random, HeaderLength: 128),
                _ => MatBytes(Compress(Mutate(payload, random, HeaderLength: 0))), // valid zlib, corrupt structure
            };
            try
            {
                MatFile f = MatFile.Read(mutated, "fuzz.mat");
                accepted++;
                try
                {
                    PianoRollMat.Load(f);
                    foreach (MatArray a in f.Variables.Values) Touch(a);
                }
                catch (GatedFormatException) { }
            }
            catch (GatedFormatException ex)
            {
                rejected++;
                Assert.Equal("fuzz.mat", ex.FileName);
            }
            catch (Exception ex)
            {
                Assert.Fail($"Mutation {i} (mode {mode}) threw {ex.GetType().Name}: {ex}\nBytes: {Convert.ToHexString(mutated)}");
            }
        }
        output.WriteLine($"fuzz: {accepted} accepted, {rejected} rejected in {sw.ElapsedMilliseconds} ms");
        Assert.True(rejected > 1000);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"The fuzz took {sw.Elapsed}.");
    }

    private static void Touch(MatArray a)
    {
        if (a is MatCell c)
        {
            foreach (MatArray e in c.Elements) Touch(e);
            return;
        }
        if (a.Class == MatClass.Char) _ = a.GetString();
        _ = a.ToDoubleColumnMajor();
        for (int i = 0; i < a.Count; i++) _ = a.GetImaginary(i);
    }

    private static byte[] Mutate(byte[] original, Random random, int HeaderLength)
    {
        byte[] b = (byte[])original.Clone();
        int kind = random.Next(6);
        int Pos() => HeaderLength + random.Next(b.Length - HeaderLength);
        switch (kind)
        {
            case 0: // flip random bits
                for (int n = random.Next(1, 5); n > 0; n--) b[Pos()] ^= (byte)(1 << random.Next(8));
                break;
            case 1: // random bytes
                for (int n = random.Next(1, 4); n > 0; n--) b[Pos()] = (byte)random.Next(256);
                break;
            case 2: // an extreme 32-bit value at a 4-aligned position (sizes, types, dimensions)
            {
                int p = Pos() & ~3;
                if (p + 4 <= b.Length)
                {
                    uint[] extremes = [0, 1, 7, 8, 0xFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 14, 15, 1u << 20];
                    BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(p), extremes[random.Next(extremes.Length)]);
                }
                break;
            }
            case 3: // truncate
                return b[..Pos()];
            case 4: // delete a range
            {
                int p = Pos();
                int n = Math.Min(random.Next(1, 17), b.Length - p);
                return [.. b[..p], .. b[(p + n)..]];
            }
            default: // insert random bytes
            {
                int p = Pos();
                var extra = new byte[random.Next(1, 17)];
                random.NextBytes(extra);
                return [.. b[..p], .. extra, .. b[p..]];
            }
        }
        return b;
    }
}
