using Gated.IO;

namespace Gated.Fuzz;

/// <summary>
/// One reader of outside bytes under attack: how to parse an input, the valid inputs to mutate, and
/// what the mutator should know about the format. Registering a new parser is one entry in
/// <see cref="FuzzTargets.All"/>, e.g.
/// <c>new("onnx", "OnnxModel.Read", bytes => OnnxModel.Read(bytes, Source), FuzzTarget.Corpus("onnx"))</c>.
/// </summary>
/// <param name="Name">The name used by <c>--parser</c> and in reports, lower case.</param>
/// <param name="Description">What is called, for the report: e.g. <c>SafetensorsFile.Read + ToDoubleArray</c>.</param>
/// <param name="Parse">Reads one input completely. Returning means the input loaded; rejecting it must throw the documented exception (see <see cref="IsDocumented"/>).</param>
/// <param name="Seeds">Builds the valid inputs the mutator starts from (called once per run; every seed must load).</param>
public sealed record FuzzTarget(string Name, string Description, Action<byte[]> Parse, Func<IReadOnlyList<byte[]>> Seeds)
{
    /// <summary>The source name parsers are given, so messages can be checked to name the input.</summary>
    public const string Source = "fuzz-input";

    /// <summary>Which exceptions count as a clean rejection. Default: <see cref="GatedFormatException"/> only.</summary>
    public Func<Exception, bool> IsDocumented { get; init; } = static e => e is GatedFormatException;

    /// <summary>Byte strings that mean something in the format (magic numbers, keywords, opcodes), inserted and overwritten by the mutator.</summary>
    public IReadOnlyList<byte[]> Tokens { get; init; } = [];

    /// <summary>Opening and closing byte strings of nested structures (JSON <c>[</c>/<c>]</c>, pickle MARK/EMPTY_LIST …), repeated thousands of times by the mutator.</summary>
    public IReadOnlyList<(byte[] Open, byte[] Close)> Nesting { get; init; } = [];

    /// <summary>A format-aware mutation (e.g. mutate the data inside a zlib stream, then recompress), used for some cases; null for none.</summary>
    public Func<byte[], Random, byte[]>? StructuredMutation { get; init; }

    /// <summary>
    /// The allocation bound: a case may allocate at most <see cref="AllocationPerInputByte"/> × input length +
    /// <see cref="AllocationSlack"/> bytes on the parsing thread. Say in the registration why a factor is what it is.
    /// </summary>
    public double AllocationPerInputByte { get; init; } = 64;

    /// <summary>The fixed part of the allocation bound (buffers, tables and the exception itself): default 1 MiB.</summary>
    public long AllocationSlack { get; init; } = 1 << 20;

    /// <summary>The seed files of a parser embedded from <c>tests/Gated.Fuzz/Corpus/&lt;folder&gt;/</c>, in name order.</summary>
    /// <param name="folder">The folder under Corpus, e.g. <c>pickle</c>.</param>
    public static IReadOnlyList<byte[]> Corpus(string folder)
    {
        var assembly = typeof(FuzzTarget).Assembly;
        string prefix = $"Corpus/{folder}/";
        var seeds = new List<byte[]>();
        foreach (string name in assembly.GetManifestResourceNames().Order(StringComparer.Ordinal))
        {
            if (!name.Replace('\\', '/').StartsWith(prefix, StringComparison.Ordinal)) continue;
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            seeds.Add(copy.ToArray());
        }
        return seeds;
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
