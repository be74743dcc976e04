using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Gated.IO;
using Gated.IO.Safetensors;

namespace Gated.Tests.IO;

public sealed class SafetensorsTests : IDisposable
{
    private const string Source = "case.safetensors";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "gated-safetensors-" + Guid.NewGuid().ToString("N"));

    public SafetensorsTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    /// <summary>Builds a file from a header string and data bytes, padding the header with spaces to 8 bytes.</summary>
    private static byte[] Build(string header, byte[]? data = null, bool pad = true)
    {
        data ??= [];
        byte[] h = Encoding.UTF8.GetBytes(header);
        int n = pad ? (h.Length + 7) / 8 * 8 : h.Length;
        var bytes = new byte[8 + n + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)n);
        h.CopyTo(bytes, 8);
        bytes.AsSpan(8 + h.Length, n - h.Length).Fill((byte)' ');
        data.CopyTo(bytes, 8 + n);
        return bytes;
    }

    private static byte[] BuildRawHeader(byte[] header, byte[]? data = null)
    {
        data ??= [];
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    private static byte[] Prefix(ulong n, int extra)
    {
        var bytes = new byte[8 + extra];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, n);
        bytes.AsSpan(8).Fill((byte)' ');
        return bytes;
    }

    private static byte[] ToBytes(SafetensorsFile file)
    {
        using var ms = new MemoryStream();
        file.Write(ms);
        return ms.ToArray();
    }

    private static string T(string dtype, string shape, decimal begin, decimal end) =>
        $"{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":[{begin},{end}]}}";

    /// <summary>A stream that cannot seek, to exercise the buffering path.</summary>
    private sealed class ForwardOnlyStream(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 7));
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A seekable stream whose Length claims more bytes than it delivers (a file that shrank).</summary>
    private sealed class LyingLengthStream(byte[] bytes, long claimedLength) : Stream
    {
        private readonly MemoryStream _inner = new(bytes);
        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => claimedLength;
        public override long Position { get => _inner.Position; set => _inner.Position = value; }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => _inner.Seek(offset, origin);
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    // ------------------------------------------------------------------------------------------
    // Round trips
    // ------------------------------------------------------------------------------------------

    public static TheoryData<SafetensorsDType> AllDTypes()
    {
        var data = new TheoryData<SafetensorsDType>();
        foreach (SafetensorsDType d in Enum.GetValues<SafetensorsDType>()) data.Add(d);
        return data;
    }

    [Theory]
    [MemberData(nameof(AllDTypes))]
    public void RoundTrip_EveryDType_PreservesBytesShapeAndMetadata(SafetensorsDType dtype)
    {
        var rng = new Random(42 + (int)dtype);
        long[] shape = [2, 3];
        var raw = new byte[6 * dtype.GetElementSize()];
        rng.NextBytes(raw);
        var tensor = new SafetensorsTensor("layer.0/w", dtype, shape, raw);
        var scalar = new SafetensorsTensor("scalar", dtype, [], raw.AsMemory(0, dtype.GetElementSize()));
        var empty = new SafetensorsTensor("empty", dtype, [0, 4], ReadOnlyMemory<byte>.Empty);
        var file = new SafetensorsFile([tensor, scalar, empty], new Dictionary<string, string> { ["format"] = "pt", ["note"] = "é ✓" });

        byte[] bytes = ToBytes(file);
        Assert.Equal(0UL, (8 + BinaryPrimitives.ReadUInt64LittleEndian(bytes)) % 8);

        string path = Path.Combine(_dir, $"{dtype}.safetensors");
        file.Write(path);
        Assert.Equal(bytes, File.ReadAllBytes(path));

        foreach (SafetensorsFile back in new[]
                 {
                     SafetensorsFile.Read(bytes, Source),
                     SafetensorsFile.Read(path),
                     SafetensorsFile.Read(new MemoryStream(bytes), Source),
                     SafetensorsFile.Read(new ForwardOnlyStream(bytes), Source),
                 })
        {
            Assert.Equal(3, back.Tensors.Count);
            Assert.Equal("pt", back.Metadata["format"]);
            Assert.Equal("é ✓", back.Metadata["note"]);

            SafetensorsTensor t = back["layer.0/w"];
            Assert.Equal(dtype, t.DType);
            Assert.Equal(shape, t.Shape);
            Assert.Equal(6, t.ElementCount);
            Assert.Equal(raw, t.Data.ToArray());

            SafetensorsTensor s = back["scalar"];
            Assert.Empty(s.Shape);
            Assert.Equal(1, s.ElementCount);
            Assert.Equal(raw.AsSpan(0, dtype.GetElementSize()).ToArray(), s.Data.ToArray());

            SafetensorsTensor e = back["empty"];
            Assert.Equal([0L, 4L], e.Shape);
            Assert.Equal(0, e.ElementCount);
            Assert.Empty(e.ToDoubleArray());

            // Writing what was read gives the same bytes.
            Assert.Equal(bytes, ToBytes(back));
        }
    }

    [Fact]
    public void RoundTrip_FromArray_ConvertsBack()
    {
        double[] d = [1.5, -2.25, double.MaxValue, double.Epsilon, 0.0, -0.0];
        float[] f = [1.5f, -2.25f, float.MinValue, 3.0f];
        long[] l = [long.MinValue, -1, 0, long.MaxValue];
        var file = new SafetensorsFile(
        [
            SafetensorsTensor.FromArray("d", d, 2, 3),
            SafetensorsTensor.FromArray("f", f),
            SafetensorsTensor.FromArray("l", l, 4, 1),
        ]);
        SafetensorsFile back = SafetensorsFile.Read(ToBytes(file));

        Assert.Equal(d, back["d"].ToDoubleArray());
        Assert.Equal([2, 3], back["d"].GetShapeInt32());
        Assert.Equal(f, back["f"].ToSingleArray());
        Assert.Equal([4L], back["f"].Shape);
        Assert.Equal(l, back["l"].ToInt64Array());
        Assert.Equal(f, back["f"].ToArray<float>());
        Assert.Equal(f.Select(x => (double)x), back["f"].ToArray<double>());
        Assert.Equal(d.Select(x => (float)x), back["d"].ToSingleArray());
        Assert.Equal([(Half)1.5, (Half)(-2.25)], back["f"].ToArray<Half>().Take(2));
        Assert.Equal([-9.223372036854775808e18, -1, 0, 9.223372036854775807e18], back["l"].ToDoubleArray());
    }

    [Fact]
    public void Conversions_FromEveryNumericDType()
    {
        static SafetensorsTensor Make(SafetensorsDType dtype, Action<Span<byte>, int> write, int count)
        {
            var raw = new byte[count * dtype.GetElementSize()];
            for (int i = 0; i < count; i++) write(raw.AsSpan(i * dtype.GetElementSize()), i);
            return new SafetensorsTensor(dtype.ToString(), dtype, [count], raw);
        }

        double[] expected = [1, -2, 3];
        int[] ints = [1, -2, 3];
        var tensors = new[]
        {
            Make(SafetensorsDType.F64, (s, i) => BinaryPrimitives.WriteDoubleLittleEndian(s, expected[i]), 3),
            Make(SafetensorsDType.F32, (s, i) => BinaryPrimitives.WriteSingleLittleEndian(s, (float)expected[i]), 3),
            Make(SafetensorsDType.F16, (s, i) => BinaryPrimitives.WriteHalfLittleEndian(s, (Half)expected[i]), 3),
            // bfloat16 is the upper 16 bits of a float32.
            Make(SafetensorsDType.BF16, (s, i) => BinaryPrimitives.WriteUInt16LittleEndian(s, (ushort)(BitConverter.SingleToUInt32Bits((float)expected[i]) >> 16)), 3),
            Make(SafetensorsDType.I64, (s, i) => BinaryPrimitives.WriteInt64LittleEndian(s, ints[i]), 3),
            Make(SafetensorsDType.I32, (s, i) => BinaryPrimitives.WriteInt32LittleEndian(s, ints[i]), 3),
            Make(SafetensorsDType.I16, (s, i) => BinaryPrimitives.WriteInt16LittleEndian(s, (short)ints[i]), 3),
            Make(SafetensorsDType.I8, (s, i) => s[0] = (byte)(sbyte)ints[i], 3),
        };
        SafetensorsFile back = SafetensorsFile.Read(ToBytes(new SafetensorsFile(tensors)));
        foreach (SafetensorsTensor t in back.Tensors)
        {
            Assert.Equal(expected, t.ToDoubleArray());
            Assert.Equal(expected.Select(x => (float)x), t.ToSingleArray());
            Assert.Equal(ints.Select(x => (long)x), t.ToInt64Array());
        }

        var unsigned = new[]
        {
            Make(SafetensorsDType.U64, (s, i) => BinaryPrimitives.WriteUInt64LittleEndian(s, (ulong)(i + 1) * 100), 3),
            Make(SafetensorsDType.U32, (s, i) => BinaryPrimitives.WriteUInt32LittleEndian(s, (uint)(i + 1) * 100), 3),
            Make(SafetensorsDType.U16, (s, i) => BinaryPrimitives.WriteUInt16LittleEndian(s, (ushort)((i + 1) * 100)), 3),
            Make(SafetensorsDType.U8, (s, i) => s[0] = (byte)((i + 1) * 100 % 256), 3),
        };
        Assert.Equal([100.0, 200.0, 300.0], unsigned[0].ToDoubleArray());
        Assert.Equal([100L, 200L, 300L], unsigned[1].ToInt64Array());
        Assert.Equal([100f, 200f, 300f], unsigned[2].ToSingleArray());
        Assert.Equal([100L, 200L, 44L], unsigned[3].ToInt64Array());

        var bools = new SafetensorsTensor("b", SafetensorsDType.Bool, [3], new byte[] { 0, 1, 7 });
        Assert.Equal([0.0, 1.0, 1.0], bools.ToDoubleArray());
        Assert.Equal([0L, 1L, 1L], bools.ToInt64Array());

        // Known bit patterns: F16 0x3E00 = 1.5, BF16 0xC040 = -3.0.
        Assert.Equal([1.5], new SafetensorsTensor("h", SafetensorsDType.F16, [1], new byte[] { 0x00, 0x3E }).ToDoubleArray());
        Assert.Equal([-3.0f], new SafetensorsTensor("bf", SafetensorsDType.BF16, [1], new byte[] { 0x40, 0xC0 }).ToSingleArray());
    }

    [Fact]
    public void ToInt64Array_RejectsFractionalAndOutOfRange()
    {
        var frac = SafetensorsTensor.FromArray("frac", [1.0, 2.5]);
        var ex = Assert.Throws<GatedFormatException>(() => frac.ToInt64Array());
        Assert.Contains("frac", ex.Message);
        Assert.Contains("element 1", ex.Message);

        Assert.Throws<GatedFormatException>(() => SafetensorsTensor.FromArray("nan", [float.NaN]).ToInt64Array());
        Assert.Throws<GatedFormatException>(() => SafetensorsTensor.FromArray("big", [9.3e18]).ToInt64Array());
        Assert.Equal([long.MinValue], SafetensorsTensor.FromArray("min", [-9.223372036854775808e18]).ToInt64Array());

        var u = new SafetensorsTensor("u", SafetensorsDType.U64, [1], BitConverter.GetBytes(ulong.MaxValue));
        Assert.Throws<GatedFormatException>(() => u.ToInt64Array());
    }

    // ------------------------------------------------------------------------------------------
    // Compatibility with the reference (Python) writer
    // ------------------------------------------------------------------------------------------

    [Fact]
    public void Read_FileLaidOutAsPythonSafetensorsWritesIt()
    {
        // save_file({"a": F32 [2], "b": I64 [1]}, metadata={"format": "pt"}): the reference writer
        // orders tensors by descending dtype alignment, then name, so I64 "b" comes first; compact
        // JSON; spaces pad the header to a multiple of 8.
        const string json = "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"b\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
            + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}";
        Assert.Equal(139, json.Length);
        var expected = new List<byte>();
        expected.AddRange([144, 0, 0, 0, 0, 0, 0, 0]);            // N = 139 + 5 spaces = 144
        expected.AddRange(Encoding.ASCII.GetBytes(json));
        expected.AddRange(Encoding.ASCII.GetBytes("     "));
        expected.AddRange([0x07, 0, 0, 0, 0, 0, 0, 0]);            // b = [7]
        expected.AddRange([0x00, 0x00, 0xC0, 0x3F]);               // a[0] = 1.5f
        expected.AddRange([0x00, 0x00, 0x20, 0xC0]);               // a[1] = -2.5f
        byte[] bytes = expected.ToArray();
        Assert.Equal(0, bytes.Length % 8);

        SafetensorsFile file = SafetensorsFile.Read(bytes, Source);
        Assert.Equal(["b", "a"], file.Tensors.Select(t => t.Name));
        Assert.Equal("pt", Assert.Single(file.Metadata).Value);
        Assert.Equal([7L], file["b"].ToInt64Array());
        Assert.Equal([1.5f, -2.5f], file["a"].ToSingleArray());
        Assert.Equal([2L], file["a"].Shape);
    }

    [Fact]
    public void Write_MatchesPythonSafetensorsBytes_WhenOrdersAgree()
    {
        // With one dtype the reference order (dtype, then name) is the name order this writer uses,
        // so the bytes must be identical to what save_file produces.
        const string json = "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"weight\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[8,16]}}";
        int pad = (8 - json.Length % 8) % 8;
        var expected = new List<byte>();
        var prefix = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)(json.Length + pad));
        expected.AddRange(prefix);
        expected.AddRange(Encoding.ASCII.GetBytes(json + new string(' ', pad)));
        expected.AddRange([0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x40]); // 1, 2
        expected.AddRange([0x00, 0x00, 0x40, 0x40, 0x00, 0x00, 0x80, 0x40]); // 3, 4

        var file = new SafetensorsFile(
            [SafetensorsTensor.FromArray("weight", [3f, 4f], 2, 1), SafetensorsTensor.FromArray("bias", [1f, 2f])],
            new Dictionary<string, string> { ["format"] = "pt" });
        Assert.Equal(expected.ToArray(), ToBytes(file));
    }

    [Fact]
    public void Write_EmptyFile_IsReadable()
    {
        byte[] bytes = ToBytes(new SafetensorsFile([]));
        Assert.Equal(Build("{}"), bytes);
        SafetensorsFile back = SafetensorsFile.Read(bytes);
        Assert.Empty(back.Tensors);
        Assert.Empty(back.Metadata);
    }

    [Fact]
    public void Read_AcceptsUnpaddedHeaderAndNullMetadataAndAnyOrder()
    {
        byte[] data = new byte[12];
        byte[] bytes = Build("{\"z\":" + T("F32", "[2]", 4, 12) + ",\"__metadata__\":null,\"y\":" + T("I32", "[]", 0, 4) + "}", data, pad: false);
        SafetensorsFile file = SafetensorsFile.Read(bytes, Source);
        Assert.Equal(["z", "y"], file.Tensors.Select(t => t.Name));
        Assert.Empty(file.Metadata);
    }

    // ------------------------------------------------------------------------------------------
    // API behaviour
    // ------------------------------------------------------------------------------------------

    [Fact]
    public void Lookup_MissingTensor_NamesTensorAndFile()
    {
        SafetensorsFile file = SafetensorsFile.Read(ToBytes(new SafetensorsFile([SafetensorsTensor.FromArray("secret.weight", [1.0])])), "model.safetensors");
        var ex = Assert.Throws<KeyNotFoundException>(() => file["missing.bias"]);
        Assert.Contains("missing.bias", ex.Message);
        Assert.Contains("model.safetensors", ex.Message);
        Assert.DoesNotContain("secret", ex.Message);

        Assert.True(file.Contains("secret.weight"));
        Assert.False(file.Contains("missing.bias"));
        Assert.True(file.TryGet("secret.weight", out SafetensorsTensor? t));
        Assert.Equal("secret.weight", t.Name);
        Assert.False(file.TryGet("missing.bias", out t));
        Assert.Null(t);
    }

    [Fact]
    public void Constructors_RejectInvalidArguments()
    {
        var a = SafetensorsTensor.FromArray("a", [1.0]);
        Assert.Throws<ArgumentException>(() => new SafetensorsFile([a, SafetensorsTensor.FromArray("a", [2.0])]));
        Assert.Throws<ArgumentException>(() => new SafetensorsFile([SafetensorsTensor.FromArray("__metadata__", [2.0])]));
        Assert.Throws<ArgumentException>(() => SafetensorsTensor.FromArray("x", [1.0, 2.0, 3.0], 2, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => SafetensorsTensor.FromArray("x", [1.0], -1));
        Assert.Throws<ArgumentException>(() => new SafetensorsTensor("x", SafetensorsDType.F32, [3], new byte[8]));
        Assert.Throws<ArgumentException>(() => new SafetensorsTensor("bad\ud800", SafetensorsDType.U8, [1], new byte[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SafetensorsTensor("x", (SafetensorsDType)99, [1], new byte[1]));
        Assert.Throws<ArgumentException>(() => new SafetensorsTensor("x", SafetensorsDType.F64, [long.MaxValue, 2], new byte[8]));
    }

    [Fact]
    public void DTypeHelpers_AgreeWithHeaderNames()
    {
        foreach (SafetensorsDType d in Enum.GetValues<SafetensorsDType>())
        {
            Assert.True(SafetensorsDTypeExtensions.TryParseHeaderName(d.GetHeaderName(), out SafetensorsDType parsed));
            Assert.Equal(d, parsed);
        }
        Assert.Equal("BOOL", SafetensorsDType.Bool.GetHeaderName());
        Assert.Equal(2, SafetensorsDType.BF16.GetElementSize());
        Assert.False(SafetensorsDTypeExtensions.TryParseHeaderName("f32", out _));
        Assert.True(SafetensorsDType.F16.IsFloatingPoint());
        Assert.False(SafetensorsDType.I8.IsFloatingPoint());
    }

    [Fact]
    public void Read_MissingFile_ThrowsFileNotFoundNamingPath()
    {
        string path = Path.Combine(_dir, "nope.safetensors");
        var ex = Assert.Throws<FileNotFoundException>(() => SafetensorsFile.Read(path));
        Assert.Contains(path, ex.Message);
        Assert.Equal(path, ex.FileName);

        string inMissingDir = Path.Combine(_dir, "no-such-dir", "x.safetensors");
        ex = Assert.Throws<FileNotFoundException>(() => SafetensorsFile.Read(inMissingDir));
        Assert.Contains(inMissingDir, ex.Message);
    }

    [Fact]
    public void Read_StreamShorterThanItsLength_ThrowsFormatException()
    {
        byte[] bytes = ToBytes(new SafetensorsFile([SafetensorsTensor.FromArray("w", new double[16])]));
        var ex = Assert.Throws<GatedFormatException>(() => SafetensorsFile.Read(new LyingLengthStream(bytes[..^5], bytes.Length), Source));
        Assert.Contains("ended early", ex.Message);
        Assert.Contains("'w'", ex.Message);
        Assert.Contains(Source, ex.Message);
    }

    [Fact]
    public void Read_TruncatedFileOnDisk_ThrowsFormatExceptionNamingPath()
    {
        byte[] bytes = ToBytes(new SafetensorsFile([SafetensorsTensor.FromArray("w", new double[16])]));
        string path = Path.Combine(_dir, "truncated.safetensors");
        File.WriteAllBytes(path, bytes[..^3]);
        var ex = Assert.Throws<GatedFormatException>(() => SafetensorsFile.Read(path));
        Assert.Contains(path, ex.Message);
        Assert.Equal(path, ex.FileName);
        Assert.Contains("'w'", ex.Message);
    }

    // ------------------------------------------------------------------------------------------
    // Malformed input
    // ------------------------------------------------------------------------------------------

    private static readonly Dictionary<string, (Func<byte[]> Make, string[] Expected)> Malformed = new()
    {
        ["empty"] = (() => [], ["shorter than the 8-byte"]),
        ["7 bytes"] = (() => new byte[7], ["7 bytes", "shorter than the 8-byte"]),
        ["header past end"] = (() => Prefix(1000, 10), ["header length 1000", "past the end"]),
        ["header above cap"] = (() => Prefix(200_000_000, 10), ["header length 200000000", "limit"]),
        ["header length u64 max"] = (() => Prefix(ulong.MaxValue, 10), ["limit"]),
        ["header length zero"] = (() => Prefix(0, 0), ["not valid JSON"]),
        ["invalid utf8"] = (() => BuildRawHeader([(byte)'{', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)':', (byte)'1', (byte)'}']), ["UTF-8"]),
        ["overlong utf8"] = (() => BuildRawHeader([(byte)'{', (byte)'"', 0xC0, 0xAF, (byte)'"', (byte)':', (byte)'1', (byte)'}']), ["UTF-8"]),
        ["not json"] = (() => Build("{abc"), ["not valid JSON"]),
        ["truncated json"] = (() => Build("{\"a\":{\"dtype\":\"F32\""), ["not valid JSON"]),
        ["trailing garbage"] = (() => Build("{} x"), ["not valid JSON"]),
        ["trailing nul padding"] = (() => BuildRawHeader([(byte)'{', (byte)'}', 0, 0, 0, 0, 0, 0]), ["not valid JSON"]),
        ["comment"] = (() => Build("{/*x*/}"), ["not valid JSON"]),
        ["array root"] = (() => Build("[1,2]"), ["not a JSON object"]),
        ["string root"] = (() => Build("\"hello\""), ["not a JSON object"]),
        ["too deep"] = (() => Build("{\"__metadata__\":{\"a\":[[[[1]]]]}}"), ["nested deeper than 3"]),
        ["very deep"] = (() => Build("{\"a\":" + new string('[', 5000) + new string(']', 5000) + "}"), ["nested deeper than 3"]),
        ["entry not object"] = (() => Build("{\"w\":[1,2]}"), ["'w'", "not a JSON object"]),
        ["missing dtype"] = (() => Build("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]), ["'w'", "no 'dtype'"]),
        ["missing shape"] = (() => Build("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", new byte[4]), ["'w'", "no 'shape'"]),
        ["missing offsets"] = (() => Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", new byte[4]), ["'w'", "no 'data_offsets'"]),
        ["unknown dtype"] = (() => Build("{\"w\":" + T("F8_E4M3", "[1]", 0, 1) + "}", new byte[1]), ["'w'", "unknown or unsupported dtype 'F8_E4M3'"]),
        ["lowercase dtype"] = (() => Build("{\"w\":" + T("f32", "[1]", 0, 4) + "}", new byte[4]), ["'w'", "dtype 'f32'"]),
        ["dtype not string"] = (() => Build("{\"w\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]), ["'w'", "'dtype' is not a string"]),
        ["unknown field"] = (() => Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}", new byte[4]), ["'w'", "unknown field 'extra'"]),
        ["duplicate field"] = (() => Build("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]), ["'w'", "duplicate field"]),
        ["negative dim"] = (() => Build("{\"w\":" + T("F32", "[-1]", 0, 4) + "}", new byte[4]), ["'w'", "negative"]),
        ["fractional dim"] = (() => Build("{\"w\":" + T("F32", "[1.5]", 0, 4) + "}", new byte[4]), ["'w'", "not a whole number"]),
        ["exponent dim"] = (() => Build("{\"w\":" + T("F32", "[1e0]", 0, 4) + "}", new byte[4]), ["'w'", "not a whole number"]),
        ["huge dim"] = (() => Build("{\"w\":" + T("F32", "[99999999999999999999999]", 0, 4) + "}", new byte[4]), ["'w'", "too large"]),
        ["dim above i64"] = (() => Build("{\"w\":" + T("F32", "[18446744073709551615]", 0, 4) + "}", new byte[4]), ["'w'", "too large"]),
        ["shape not array"] = (() => Build("{\"w\":" + T("F32", "4", 0, 4) + "}", new byte[4]), ["'w'", "'shape' is not an array"]),
        ["shape of strings"] = (() => Build("{\"w\":" + T("F32", "[\"1\"]", 0, 4) + "}", new byte[4]), ["'w'", "not a number"]),
        ["element count overflow"] = (() => Build("{\"w\":" + T("F32", "[4294967296,4294967296]", 0, 4) + "}", new byte[4]), ["'w'", "overflows"]),
        ["byte size overflow"] = (() => Build("{\"w\":" + T("F64", "[2305843009213693952]", 0, 4) + "}", new byte[4]), ["'w'", "overflows"]),
        ["size mismatch"] = (() => Build("{\"w\":" + T("F32", "[2]", 0, 4) + "}", new byte[4]), ["'w'", "needs 8 bytes", "span 4 bytes"]),
        ["offsets count"] = (() => Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", new byte[8]), ["'w'", "3 numbers instead of 2"]),
        ["negative offset"] = (() => Build("{\"w\":" + T("F32", "[1]", -4, 0) + "}", new byte[4]), ["'w'", "negative"]),
        ["begin after end"] = (() => Build("{\"w\":" + T("U8", "[0]", 4, 0) + "}", new byte[4]), ["'w'", "begin after"]),
        ["offsets out of range"] = (() => Build("{\"w\":" + T("F32", "[1]", 4, 8) + "}", new byte[4]), ["'w'", "out of range", "only 4 bytes"]),
        ["offsets far out of range"] = (() => Build("{\"w\":" + T("U8", "[4]", 18446744073709551611, 18446744073709551615) + "}", new byte[4]), ["'w'", "out of range"]),
        ["overlap"] = (() => Build("{\"a\":" + T("F32", "[2]", 0, 8) + ",\"b\":" + T("F32", "[1]", 4, 8) + "}", new byte[8]), ["'b'", "overlaps tensor 'a'"]),
        ["identical offsets"] = (() => Build("{\"a\":" + T("F32", "[1]", 0, 4) + ",\"b\":" + T("F32", "[1]", 0, 4) + "}", new byte[4]), ["overlaps"]),
        ["gap"] = (() => Build("{\"a\":" + T("F32", "[1]", 0, 4) + ",\"b\":" + T("F32", "[1]", 8, 12) + "}", new byte[12]), ["'b'", "gap", "[4, 8)"]),
        ["hole at start"] = (() => Build("{\"a\":" + T("F32", "[1]", 4, 8) + "}", new byte[8]), ["'a'", "gap"]),
        ["trailing bytes"] = (() => Build("{\"a\":" + T("F32", "[1]", 0, 4) + "}", new byte[9]), ["gap", "last 5 bytes", "not covered"]),
        ["data but no tensors"] = (() => Build("{}", new byte[3]), ["not covered"]),
        ["duplicate name"] = (() => Build("{\"a\":" + T("F32", "[1]", 0, 4) + ",\"a\":" + T("F32", "[1]", 4, 8) + "}", new byte[8]), ["'a'", "duplicate name"]),
        ["duplicate metadata"] = (() => Build("{\"__metadata__\":{},\"__metadata__\":{}}"), ["'__metadata__' twice"]),
        ["duplicate metadata key"] = (() => Build("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}"), ["'k'", "duplicate key"]),
        ["metadata number"] = (() => Build("{\"__metadata__\":{\"epoch\":3}}"), ["'epoch'", "not a string"]),
        ["metadata nested"] = (() => Build("{\"__metadata__\":{\"cfg\":{\"a\":\"b\"}}}"), ["'cfg'", "not a string"]),
        ["metadata not object"] = (() => Build("{\"__metadata__\":\"pt\"}"), ["'__metadata__' is not a JSON object"]),
        ["lone surrogate escape"] = (() => Build("{\"\\ud800\":" + T("U8", "[1]", 0, 1) + "}", new byte[1]), []),
    };

    public static TheoryData<string> MalformedCases()
    {
        var data = new TheoryData<string>();
        foreach (string key in Malformed.Keys) data.Add(key);
        return data;
    }

    [Theory]
    [MemberData(nameof(MalformedCases))]
    public void Read_MalformedInput_ThrowsGatedFormatException(string caseName)
    {
        (Func<byte[]> make, string[] expected) = Malformed[caseName];
        byte[] bytes = make();

        void Check(Func<SafetensorsFile> read, string source)
        {
            GatedFormatException ex = Assert.Throws<GatedFormatException>(() => read());
            Assert.StartsWith(source + ": ", ex.Message);
            Assert.Equal(source, ex.FileName);
            foreach (string part in expected) Assert.Contains(part, ex.Message);
        }

        Check(() => SafetensorsFile.Read(bytes, Source), Source);
        Check(() => SafetensorsFile.Read(new MemoryStream(bytes), Source), Source);
        Check(() => SafetensorsFile.Read(new ForwardOnlyStream(bytes), Source), Source);

        string path = Path.Combine(_dir, "bad.safetensors");
        File.WriteAllBytes(path, bytes);
        Check(() => SafetensorsFile.Read(path), path);
    }

    [Fact]
    public void Read_HugeHeaderLengthInSmallStream_DoesNotAllocateFromTheLengthField()
    {
        // A 16-byte stream claiming a 99 MB header must fail before a 99 MB buffer is allocated.
        byte[] bytes = Prefix(99_000_000, 8);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<GatedFormatException>(() => SafetensorsFile.Read(new MemoryStream(bytes), Source));
        Assert.Throws<GatedFormatException>(() => SafetensorsFile.Read(bytes, Source));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1_000_000, $"allocated {allocated} bytes");
    }

    // ------------------------------------------------------------------------------------------
    // Fuzz
    // ------------------------------------------------------------------------------------------

    [Fact]
    public void Read_MutatedFiles_EitherLoadOrThrowGatedFormatException()
    {
        var seedFile = new SafetensorsFile(
        [
            SafetensorsTensor.FromArray("gru.weight_ih", [0.5f, -1f, 2f, 3f, 4f, 5f], 2, 3),
            SafetensorsTensor.FromArray("gru.bias", [1.0, 2.0]),
            SafetensorsTensor.FromArray("steps", [7L]),
            new SafetensorsTensor("mask", SafetensorsDType.Bool, [3], new byte[] { 1, 0, 1 }),
            new SafetensorsTensor("half", SafetensorsDType.F16, [2], new byte[] { 0x00, 0x3C, 0x00, 0xC0 }),
        ], new Dictionary<string, string> { ["format"] = "pt", ["gated"] = "1" });
        byte[] valid = ToBytes(seedFile);
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(valid);
        byte[] jsonChars = Encoding.ASCII.GetBytes("{}[]\",:-.0123456789eE \\u\0\"F32\"");

        var rng = new Random(20240611);
        var watch = Stopwatch.StartNew();
        int loaded = 0, rejected = 0;
        const int Iterations = 5000;
        for (int iteration = 0; iteration < Iterations; iteration++)
        {
            byte[] mutated = Mutate(valid, headerEnd, jsonChars, rng);
            try
            {
                SafetensorsFile file = iteration % 8 == 0
                    ? SafetensorsFile.Read(new MemoryStream(mutated), Source)
                    : SafetensorsFile.Read(mutated, Source);
                foreach (SafetensorsTensor t in file.Tensors)
                {
                    _ = t.ToDoubleArray();
                    _ = t.ToSingleArray();
                    try { _ = t.ToInt64Array(); } catch (GatedFormatException) { }
                }
                // Whatever loads must write and read back to the same content.
                SafetensorsFile again = SafetensorsFile.Read(ToBytes(file));
                Assert.Equal(file.Tensors.Count, again.Tensors.Count);
                loaded++;
            }
            catch (GatedFormatException)
            {
                rejected++;
            }
            catch (Exception ex)
            {
                Assert.Fail($"iteration {iteration}: {ex.GetType().Name}: {ex.Message}\ninput: {Convert.ToHexString(mutated)}");
            }
        }
        watch.Stop();
        Assert.True(loaded > 0 && rejected > 0, $"loaded {loaded}, rejected {rejected}");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"fuzzing took {watch.Elapsed}");
    }

    private static byte[] Mutate(byte[] valid, int headerEnd, byte[] jsonChars, Random rng)
    {
        byte[] b = (byte[])valid.Clone();
        switch (rng.Next(8))
        {
            case 0: // a few bit flips anywhere
                for (int k = rng.Next(1, 4); k > 0; k--)
                {
                    int i = rng.Next(b.Length);
                    b[i] ^= (byte)(1 << rng.Next(8));
                }
                return b;
            case 1: // bit flips in the header only
                for (int k = rng.Next(1, 3); k > 0; k--)
                {
                    int i = rng.Next(8, headerEnd);
                    b[i] ^= (byte)(1 << rng.Next(8));
                }
                return b;
            case 2: // truncation
                return b[..rng.Next(b.Length)];
            case 3: // random bytes overwritten
                for (int k = rng.Next(1, 6); k > 0; k--) b[rng.Next(b.Length)] = (byte)rng.Next(256);
                return b;
            case 4: // JSON-ish characters in the header
                for (int k = rng.Next(1, 4); k > 0; k--) b[rng.Next(8, headerEnd)] = jsonChars[rng.Next(jsonChars.Length)];
                return b;
            case 5: // random header length
            {
                ulong n = rng.Next(4) switch
                {
                    0 => (ulong)rng.Next(b.Length + 16),
                    1 => (ulong)rng.NextInt64(),
                    2 => ulong.MaxValue - (ulong)rng.Next(16),
                    _ => (ulong)(headerEnd - 8 + rng.Next(-9, 9)),
                };
                BinaryPrimitives.WriteUInt64LittleEndian(b, n);
                return b;
            }
            case 6: // insert or delete a run of bytes
            {
                int at = rng.Next(b.Length);
                int len = rng.Next(1, 9);
                if (rng.Next(2) == 0)
                {
                    var extra = new byte[len];
                    rng.NextBytes(extra);
                    return [.. b[..at], .. extra, .. b[at..]];
                }
                return [.. b[..at], .. b[Math.Min(b.Length, at + len)..]];
            }
            default: // change a digit in the header (shapes and offsets)
            {
                var digits = new List<int>();
                for (int i = 8; i < headerEnd; i++) if (b[i] is >= (byte)'0' and <= (byte)'9') digits.Add(i);
                if (digits.Count == 0) return b;
                int at = digits[rng.Next(digits.Count)];
                b[at] = (byte)('0' + rng.Next(10));
                return b;
            }
        }
    }
}
