using System.Buffers.Binary;
using System.IO.Compression;
using Gated.Data;
using Gated.IO;
using Gated.IO.Mat;

namespace Gated.Tests.IO;

/// <summary>
/// One regression test per bug the fuzz harness found (docs/reliability.md lists them with the case that
/// found each: <c>dotnet run -c Release --project tests/Gated.Fuzz -- --parser NAME --seed S --case C</c>).
/// </summary>
public sealed class FuzzFindingsTests
{
    /// <summary>
    /// mat, seed 1, cases 8567 and 13640: a compressed element of ~100 bytes whose miMATRIX tag declares
    /// 8–12 MB made the reader allocate the declared size (within the 16 MiB minimum budget) before the
    /// zlib data ran out. Deflate expands at most 1032:1, so such a size is now refused before allocating.
    /// </summary>
    [Fact]
    public void MatCompressedElementDeclaringMoreThanItsBytesCanHoldIsRefusedWithoutAllocating()
    {
        // An miMATRIX tag declaring 12,000,000 bytes, then a few bytes of array flags: compressed to ~30 bytes.
        var inner = new byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(inner, 14);
        BinaryPrimitives.WriteUInt32LittleEndian(inner.AsSpan(4), 12_000_000);
        BinaryPrimitives.WriteUInt32LittleEndian(inner.AsSpan(8), 6);
        BinaryPrimitives.WriteUInt32LittleEndian(inner.AsSpan(12), 8);
        byte[] file = [.. MatHeader(), .. Compressed(inner)];

        GatedFormatException? error = null;
        long allocated = long.MaxValue;
        for (int attempt = 0; attempt < 3; attempt++) // the first call also allocates one-time static data
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try { MatFile.Read(file, "bomb.mat"); }
            catch (GatedFormatException e) { error = e; }
            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.NotNull(error);
        Assert.StartsWith("bomb.mat: ", error.Message);
        Assert.Contains("declares 12000008 bytes of decompressed data, more than its", error.Message);
        Assert.Contains("1032:1", error.Message);
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes");

        static byte[] Compressed(byte[] data)
        {
            using var ms = new MemoryStream();
            using (var z = new ZLibStream(ms, CompressionLevel.Optimal, leaveOpen: true)) z.Write(data);
            byte[] c = ms.ToArray();
            var e = new byte[8 + c.Length];
            BinaryPrimitives.WriteUInt32LittleEndian(e, 15);
            BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(4), (uint)c.Length);
            c.CopyTo(e, 8);
            return e;
        }
    }

    /// <summary>
    /// json, seed 1, case 4946 (and 23 more): a key with an escaped lone surrogate (<c>"\ud800"</c>) passes
    /// Utf8JsonReader but makes ValueTextEquals throw InvalidOperationException; it is now a format error.
    /// </summary>
    [Fact]
    public void JsonKeyWithALoneSurrogateEscapeIsAFormatError()
    {
        var e = Assert.Throws<GatedFormatException>(() => PianoRollDataset.Parse("{\"tr\\ud800ain\": [[[60]]]}"u8, "x.json"));
        Assert.StartsWith("x.json: the key \"tr\\ud800ain\" is not valid text", e.Message);
    }

    private static byte[] MatHeader()
    {
        var h = new byte[128];
        h.AsSpan(0, 116).Fill((byte)' ');
        "MATLAB 5.0 MAT-file"u8.CopyTo(h);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(124), 0x0100);
        h[126] = (byte)'I';
        h[127] = (byte)'M';
        return h;
    }
}
