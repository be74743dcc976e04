using System.Diagnostics;
using Gated.IO;
using Gated.Layers;
using Gated.Models;
using Gated.Onnx;
using Gated.Onnx.Proto;
using Google.Protobuf;
using Xunit.Abstractions;
using DataType = Gated.Onnx.Proto.TensorProto.Types.DataType;

namespace Gated.Tests.Onnx;

/// <summary>
/// The importer treats its input as hostile: every malformed file gives a <see cref="GatedFormatException"/>
/// naming the file and the problem, fast and without allocating from the file's claims, and never
/// any other exception.
/// </summary>
public sealed class OnnxHostileInputTests(ITestOutputHelper output)
{
    private const string Source = "hostile.onnx";

    [Fact]
    public void TensorClaimingATrillionElements_InAOneKilobyteFile_FailsFastWithoutAllocating()
    {
        var huge = new TensorProto { Name = "W", DataType = (int)DataType.Float, RawData = ByteString.CopyFrom(new byte[1000]) };
        huge.Dims.AddRange([1_000_000, 1_000_000]);
        var typed = new TensorProto { Name = "W", DataType = (int)DataType.Float };
        typed.Dims.AddRange([1_000_000, 1_000_000]);
        typed.FloatData.AddRange(new float[200]);
        var fits = new TensorProto { Name = "W", DataType = (int)DataType.Float, RawData = ByteString.CopyFrom(new byte[1000]) };
        fits.Dims.AddRange([100, 1_000_000]);
        string[] expected = ["more than 268435456 elements", "more than 268435456 elements", "1000 bytes of raw_data"];
        var tensors = new[] { huge, typed, fits };
        for (int i = 0; i < tensors.Length; i++)
        {
            byte[] bytes = new OnnxTestGraphs().Initializer(tensors[i]).Input("x", (int)DataType.Float, 2).Node("Add", ["x", "W"], ["y"]).Output("y").Bytes();
            Assert.Throws<GatedFormatException>(() => OnnxModel.Load(bytes, Source));   // JIT and first-use costs out of the measurement
            var watch = Stopwatch.StartNew();
            long before = GC.GetAllocatedBytesForCurrentThread();
            var ex = Assert.Throws<GatedFormatException>(() => OnnxModel.Load(bytes, Source));
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Contains(Source, ex.Message);
            Assert.Contains("initializer 'W'", ex.Message);
            Assert.Contains(expected[i], ex.Message);
            Assert.True(allocated < 1_000_000, $"allocated {allocated} bytes for a {bytes.Length}-byte file");
            Assert.True(watch.ElapsedMilliseconds < 1000, $"took {watch.ElapsedMilliseconds} ms");
        }
    }

    [Fact]
    public void PackedFieldClaimingHugeLength_IsRejectedByTheParser()
    {
        // An initializer whose float_data claims 2^31 bytes of packed floats, in a 40-byte file.
        byte[] bytes = new OnnxTestGraphs().Input("x", (int)DataType.Float, 2).Node("Relu", ["x"], ["y"]).Output("y").Bytes();
        // GraphProto.initializer (field 5) holding TensorProto { float_data (field 4, packed): length 0x7FFFFFFF }.
        byte[] tensor = [0x22, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0, 0, 0, 0];
        byte[] initializer = [0x2A, (byte)tensor.Length, .. tensor];
        var model = ModelProto.Parser.ParseFrom(bytes);
        byte[] graph = [.. model.Graph.ToByteArray(), .. initializer];
        model.Graph = null;
        byte[] withGraph = [.. model.ToByteArray(), 0x3A, .. Varint(graph.Length), .. graph];
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<GatedFormatException>(() => OnnxModel.Load(withGraph, Source));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1_000_000);
        Assert.Contains("not a valid ONNX model file", ex.Message);
    }

    private static byte[] Varint(int value)
    {
        var b = new List<byte>();
        uint v = (uint)value;
        while (v >= 0x80) { b.Add((byte)(v | 0x80)); v >>= 7; }
        b.Add((byte)v);
        return [.. b];
    }

    [Theory]
    [InlineData("FancyOp", "", "operator 'FancyOp' is not supported")]
    [InlineData("Relu", "com.example", "domain 'com.example'")]
    public void UnknownOperator_NamesTheOperatorAndTheNode(string op, string domain, string expected)
    {
        var g = new OnnxTestGraphs().Input("x", (int)DataType.Float, 2).Node(op, ["x"], ["y"]).Output("y");
        var m = g.Model();
        m.Graph.Node[0].Domain = domain;
        var ex = Assert.Throws<GatedFormatException>(() => OnnxModel.Load(m.ToByteArray(), Source));
        Assert.Contains(expected, ex.Message);
        Assert.Contains("node 'y_node'", ex.Message);
        Assert.Contains(Source, ex.Message);
    }

    [Fact]
    public void StructuralProblems_GiveClearMessages()
    {
        void Expect(byte[] bytes, string part)
        {
            var ex = Assert.Throws<GatedFormatException>(() => OnnxModel.Load(bytes, Source));
            Assert.Contains(part, ex.Message);
            Assert.Contains(Source, ex.Message);
        }
        Expect("this is not a protobuf file at all"u8.ToArray(), "not a valid ONNX model file");
        Expect([], "no graph");
        Expect(new OnnxTestGraphs().Input("x", 1, 2).Node("Relu", ["later"], ["y"]).Node("Relu", ["x"], ["later"]).Output("y").Bytes(), "topological order");
        Expect(new OnnxTestGraphs().Input("x", 1, 2).Node("Relu", ["x"], ["y"], ("alpha", 1f)).Output("y").Bytes(), "attribute 'alpha' is not supported for Relu");
        Expect(new OnnxTestGraphs().Input("x", 1, 2).Node("GRU", ["x", "x", "x"], ["y"], ("direction", "sideways")).Output("y").Bytes(), "direction 'sideways'");
        Expect(new OnnxTestGraphs().Input("x", 1, 2).Node("LSTM", ["x", "x", "x"], ["y"], ("activations", new[] { "Sigmoid", "Tanh", "Swish" })).Output("y").Bytes(), "activation 'Swish'");
        Expect(new OnnxTestGraphs().Input("x", 1, 2).Node("Relu", ["x"], ["y"]).Output("nothing").Bytes(), "'nothing' is not computed");
        Expect(new OnnxTestGraphs().Input("x", 1, 2).Node("Relu", ["x"], ["y"]).Output("y").Bytes(opset: 6), "opset 6");
        var external = new TensorProto { Name = "W", DataType = 1, DataLocation = TensorProto.Types.DataLocation.External };
        external.Dims.Add(2);
        Expect(new OnnxTestGraphs().Initializer(external).Input("x", 1, 2).Node("Add", ["x", "W"], ["y"]).Output("y").Bytes(), "external file");
        var strings = new TensorProto { Name = "S", DataType = (int)DataType.String };
        Expect(new OnnxTestGraphs().Initializer(strings).Input("x", 1, 2).Node("Relu", ["x"], ["y"]).Output("y").Bytes(), "string");
        byte[] valid = OnnxExporter.ToBytes(new RecurrentLayer<float>(new RecurrentOptions { Cell = CellKind.Gru, InputSize = 3, HiddenSize = 2 }, seed: 1));
        Expect(valid[..(valid.Length / 2)], "not a valid ONNX model file");
    }

    [Fact]
    public void RecurrentNode_WithWeightsOfTheWrongShape_FailsAtRunNamingTheNode()
    {
        var g = new OnnxTestGraphs().Input("x", 1, 2, 1, 3)
            .Floats("W", new float[3 * 4 * 3], 1, 12, 3).Floats("R", new float[3 * 4 * 4], 1, 12, 4)
            .Node("GRU", ["x", "W", "R"], ["y"], ("hidden_size", 5L)).Output("y");
        var ex = Assert.Throws<GatedFormatException>(() => g.Load().Run(new Dictionary<string, Tensor<float>> { ["x"] = new Tensor<float>(2, 1, 3) }));
        Assert.Contains("node 'y_node' (GRU)", ex.Message);
        Assert.Contains("W must be (1, 15, 3)", ex.Message);
    }

    // ------------------------------------------------------------------------------------------
    // Mutation fuzz
    // ------------------------------------------------------------------------------------------

    /// <summary>Valid files to mutate, each with inputs that run it.</summary>
    private static List<(string Name, byte[] Bytes, Dictionary<string, Tensor<float>> Inputs)> Seeds()
    {
        var seeds = new List<(string, byte[], Dictionary<string, Tensor<float>>)>();
        var gru = new RecurrentLayer<float>(new RecurrentOptions { Cell = CellKind.Gru, InputSize = 3, HiddenSize = 2, NumLayers = 2, Bidirectional = true }, seed: 1);
        seeds.Add(("gru", OnnxExporter.ToBytes(gru, new OnnxExportOptions { InitialStates = true, SequenceLengths = true }), new()
        {
            ["input"] = new Tensor<float>([.. Enumerable.Range(0, 12).Select(i => i * 0.1f)], 2, 2, 3),
            ["h0"] = new Tensor<float>(4, 2, 2),
            ["sequence_lens"] = new Tensor<float>([2, 1], 2),
        }));
        var lstm = new RecurrentLayer<float>(new RecurrentOptions { Cell = CellKind.Lstm, InputSize = 2, HiddenSize = 2, BatchFirst = true }, seed: 2);
        seeds.Add(("lstm", OnnxExporter.ToBytes(lstm), new() { ["input"] = new Tensor<float>([1, 2, 3, 4], 1, 2, 2) }));
        var music = MusicModel.Create(CellKind.Rnn, hiddenSize: 2, seed: 3);
        seeds.Add(("music", OnnxExporter.ToBytes(music), new() { ["input"] = new Tensor<float>(2, 1, 88) }));
        string cases = Path.Combine(AppContext.BaseDirectory, "Cases", "onnx");
        seeds.Add(("torch_gru", File.ReadAllBytes(Path.Combine(cases, "torch_gru_linear_sigmoid.onnx")), new() { ["x"] = new Tensor<float>(1, 3, 5) }));
        seeds.Add(("peepholes", File.ReadAllBytes(Path.Combine(cases, "node_lstm_with_peepholes.onnx")), []));
        return seeds;
    }

    [Fact]
    public void MutatedFiles_EitherLoadAndRunOrThrowGatedFormatException()
    {
        var seeds = Seeds();
        var rng = new Random(20240614);
        int loaded = 0, ran = 0, rejected = 0;
        long worstTicks = 0, worstAllocated = 0;
        var total = Stopwatch.StartNew();
        const int Cases = 10000;
        for (int c = 0; c < Cases; c++)
        {
            var (name, seed, inputs) = seeds[c % seeds.Count];
            byte[] mutated = Mutate(seed, rng);
            long start = Stopwatch.GetTimestamp(), before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                var model = OnnxModel.Load(mutated, Source);
                loaded++;
                if (inputs.Count > 0)
                {
                    try
                    {
                        model.Run(inputs);
                        ran++;
                    }
                    catch (ArgumentException)
                    {
                        // The mutation changed the declared inputs (a name or a fixed dimension): a usage error, reported as such.
                    }
                }
            }
            catch (GatedFormatException ex)
            {
                Assert.False(string.IsNullOrWhiteSpace(ex.Message));
                Assert.Contains(Source, ex.Message);
                rejected++;
            }
            catch (Exception ex)
            {
                Assert.Fail($"case {c} (seed {name}): {ex.GetType().Name}: {ex}\ninput: {Convert.ToHexString(mutated)}");
            }
            worstTicks = Math.Max(worstTicks, Stopwatch.GetTimestamp() - start);
            worstAllocated = Math.Max(worstAllocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        double worstMs = worstTicks * 1000.0 / Stopwatch.Frequency;
        output.WriteLine($"{Cases} mutations in {total.ElapsedMilliseconds} ms: {loaded} loaded ({ran} ran), {rejected} rejected; slowest {worstMs:F1} ms, most allocated {worstAllocated / 1024} KiB");
        Assert.True(loaded > 0 && rejected > 0, $"loaded {loaded}, rejected {rejected}");
        Assert.True(total.Elapsed < TimeSpan.FromSeconds(60), $"fuzzing took {total.Elapsed}");
        Assert.True(worstAllocated < 64 << 20, $"one case allocated {worstAllocated} bytes");
    }

    private static readonly byte[] Interesting = [0x00, 0x01, 0x02, 0x07, 0x08, 0x0A, 0x12, 0x1A, 0x22, 0x2A, 0x3A, 0x7F, 0x80, 0xFF];

    private static byte[] Mutate(byte[] seed, Random rng)
    {
        var b = new List<byte>(seed);
        int mutations = 1 + rng.Next(3);
        for (int m = 0; m < mutations; m++)
        {
            int at = b.Count == 0 ? 0 : rng.Next(b.Count);
            switch (rng.Next(9))
            {
                case 0 when b.Count > 0: b[at] ^= (byte)(1 << rng.Next(8)); break;                      // bit flip
                case 1 when b.Count > 0: b[at] = (byte)rng.Next(256); break;                             // random byte
                case 2 when b.Count > 0: b[at] = Interesting[rng.Next(Interesting.Length)]; break;        // tags and small lengths
                case 3: b.Insert(at, Interesting[rng.Next(Interesting.Length)]); break;
                case 4 when b.Count > 0: b.RemoveRange(at, Math.Min(b.Count - at, 1 + rng.Next(16))); break;
                case 5 when b.Count > 0: b.RemoveRange(at, b.Count - at); break;                          // truncation
                case 6 when b.Count > 5:                                                                  // a huge varint (length or dimension)
                {
                    int pos = rng.Next(b.Count - 5);
                    ulong v = rng.Next(3) switch { 0 => uint.MaxValue, 1 => (ulong)rng.NextInt64(), _ => (ulong)rng.Next(1 << 24) };
                    var varint = new List<byte>();
                    while (v >= 0x80) { varint.Add((byte)(v | 0x80)); v >>= 7; }
                    varint.Add((byte)v);
                    b.RemoveRange(pos, Math.Min(varint.Count, b.Count - pos));
                    b.InsertRange(pos, varint);
                    break;
                }
                case 7 when b.Count > 0:                                                                  // duplicate a run
                {
                    int len = Math.Min(b.Count - at, 1 + rng.Next(32));
                    b.InsertRange(rng.Next(b.Count), b.GetRange(at, len));
                    break;
                }
                case 8 when b.Count > 1: (b[at], b[rng.Next(b.Count)]) = (b[rng.Next(b.Count)], b[at]); break;
            }
        }
        return [.. b];
    }
}
