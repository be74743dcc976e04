using Gated.IO.Safetensors;
using Gated.Layers;
using Gated.Models;

namespace Gated.Fuzz.Seeds;

/// <summary>Valid safetensors files: every dtype, scalars and empty tensors, metadata, and a saved model.</summary>
public static class SafetensorsSeeds
{
    /// <summary>The seeds.</summary>
    public static IReadOnlyList<byte[]> All() =>
    [
        Bytes(new SafetensorsFile(
        [
            SafetensorsTensor.FromArray("gru.weight_ih", [0.5f, -1f, 2f, 3f, 4f, 5f], 2, 3),
            SafetensorsTensor.FromArray("gru.bias", [1.0, 2.0]),
            SafetensorsTensor.FromArray("steps", [7L]),
            new SafetensorsTensor("mask", SafetensorsDType.Bool, [3], new byte[] { 1, 0, 1 }),
            new SafetensorsTensor("half", SafetensorsDType.F16, [2], new byte[] { 0x00, 0x3C, 0x00, 0xC0 }),
        ], new Dictionary<string, string> { ["format"] = "pt", ["gated"] = "1" })),
        Bytes(new SafetensorsFile(Enum.GetValues<SafetensorsDType>().Select((dtype, i) =>
            new SafetensorsTensor($"t{i}_{dtype}", dtype, [2, 1], Pattern(2 * dtype.GetElementSize(), i))))),
        Bytes(new SafetensorsFile(
        [
            new SafetensorsTensor("scalar", SafetensorsDType.F64, [], BitConverter.GetBytes(3.25)),
            new SafetensorsTensor("empty", SafetensorsDType.F32, [0, 4], ReadOnlyMemory<byte>.Empty),
            new SafetensorsTensor("bf16", SafetensorsDType.BF16, [1, 1, 2], new byte[] { 0x80, 0x3F, 0x00, 0xC0 }),
        ], new Dictionary<string, string> { ["note"] = "ünïcode \"quoted\" \\ and\nnewline" })),
        Bytes(new SafetensorsFile([], new Dictionary<string, string> { ["only"] = "metadata" })),
        ModelSeeds.Model(CellKind.Gru, hidden: 2, layers: 1),
    ];

    /// <summary>A file's bytes.</summary>
    public static byte[] Bytes(SafetensorsFile file)
    {
        using var stream = new MemoryStream();
        file.Write(stream);
        return stream.ToArray();
    }

    private static byte[] Pattern(int length, int seed)
    {
        var b = new byte[length];
        for (int i = 0; i < length; i++) b[i] = (byte)(0x3C + 17 * (i + seed));
        return b;
    }
}
