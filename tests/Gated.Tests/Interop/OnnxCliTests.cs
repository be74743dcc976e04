using System.Text.Json;
using Gated.Interop;
using Gated.IO.Safetensors;

namespace Gated.Tests.Interop;

/// <summary>
/// <c>gated convert … --to onnx</c>, <c>gated run MODEL.onnx</c> and <c>gated convert MODEL.onnx</c> as the real tool
/// in child processes (few: each costs a process start): a PyTorch state_dict goes to ONNX, runs as PyTorch did and comes
/// back with the same weights; mistakes are one line on stderr with exit code 1 (2 for a usage error).
/// </summary>
public sealed class OnnxCliTests : IDisposable
{
    private static readonly string CaseFolder = Path.Combine(AppContext.BaseDirectory, "Cases", "interop");
    private readonly string root = Path.Combine(Path.GetTempPath(), "gated-onnx-cli-" + Guid.NewGuid().ToString("N"));

    public OnnxCliTests() => Directory.CreateDirectory(root);

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); }
        catch (IOException) { }
    }

    [Fact]
    public void StateDictToOnnxRunsAsPyTorchAndComesBack()
    {
        // nn.LSTM inside a module (prefix 'lstm.', a head beside it), batch-first, with h0, c0 and int32 lengths.
        const string Name = "lstm_prefixed_batch_first_varlen_f32";
        string model = Path.Combine(CaseFolder, Name + ".model.safetensors");
        var input = SafetensorsFile.Read(Path.Combine(CaseFolder, Name + ".in.safetensors"));
        var expected = SafetensorsFile.Read(Path.Combine(CaseFolder, Name + ".out.safetensors"));
        string onnx = Path.Combine(root, "lstm.onnx");

        var convert = Run("convert", model, onnx, "--batch-first", "--initial-states", "--sequence-lengths", "--json");
        Assert.True(convert.ExitCode == 0, convert.Stderr);
        using (var doc = JsonDocument.Parse(convert.Stdout))
        {
            Assert.Equal("pytorch", doc.RootElement.GetProperty("from").GetString());
            Assert.Equal("onnx", doc.RootElement.GetProperty("to").GetString());
            Assert.Equal(
                ["input: float32(batch, steps, 4)", "h0: float32(1, batch, 3)", "c0: float32(1, batch, 3)", "sequence_lens: int32(batch)",
                 "output: float32(batch, steps, 3)", "h_n: float32(1, batch, 3)", "c_n: float32(1, batch, 3)"],
                doc.RootElement.GetProperty("graph").EnumerateArray().Select(e => e.GetString()));
            Assert.Contains(doc.RootElement.GetProperty("notes").EnumerateArray(), n => n.GetString()!.Contains("outside the recurrent module"));
        }

        // The case's input file, lengths under the graph's name; its gradient tensors are noted, not an error.
        string onnxInput = Path.Combine(root, "in.safetensors"), output = Path.Combine(root, "out.safetensors");
        new SafetensorsFile(input.Tensors.Select(t => t.Name == "lengths" ? new SafetensorsTensor("sequence_lens", t.DType, t.Shape, t.Data) : t)).Write(onnxInput);
        var run = Run("run", onnx, "--input", onnxInput, "--output", output, "--json");
        Assert.True(run.ExitCode == 0, run.Stderr);
        using (var doc = JsonDocument.Parse(run.Stdout))
        {
            Assert.Equal("onnx", doc.RootElement.GetProperty("format").GetString());
            Assert.Equal("float32", doc.RootElement.GetProperty("dtype").GetString());
            Assert.False(doc.RootElement.GetProperty("gradients").GetBoolean());
            Assert.Contains(doc.RootElement.GetProperty("notes").EnumerateArray(), n => n.GetString()!.StartsWith("gradients are not available for ONNX models", StringComparison.Ordinal));
        }
        var actual = SafetensorsFile.Read(output);
        Assert.Equal(["c_n", "h_n", "output"], actual.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (string tensor in new[] { "output", "h_n", "c_n" })
            TensorAssert.Close(tensor, expected[tensor].ToSingleArray(), actual[tensor].ToSingleArray(), 1e-5, 1e-6);

        // Back to safetensors (a Gated file by default): the state_dict's weights, bit for bit.
        string back = Path.Combine(root, "back.safetensors");
        var convertBack = Run("convert", onnx, back);
        Assert.True(convertBack.ExitCode == 0, convertBack.Stderr);
        Assert.Contains("Read   " + onnx + " (onnx): Lstm(4, 3, batch_first=True)", convertBack.Stdout);
        var original = SafetensorsFile.Read(model);
        var gated = SafetensorsFile.Read(back);
        Assert.Equal(GatedLayerFile.FormatName, gated.Metadata["gated.format"]);
        foreach (var t in gated.Tensors)
            Assert.Equal(original["lstm." + t.Name].ToSingleArray(), t.ToSingleArray());
    }

    [Fact]
    public void OnnxMistakesAreOneLineErrors()
    {
        string torchHead = Path.Combine(AppContext.BaseDirectory, "Cases", "onnx", "torch_gru_linear_sigmoid.onnx");
        AssertFails(Run("convert", torchHead, Path.Combine(root, "g.safetensors")), 1,
            "this graph has no Gated form: node '/head/MatMul' (MatMul) computes on Y of node '/rnn/GRU' (GRU)");

        string onnxInput = Path.Combine(root, "x.safetensors");
        new SafetensorsFile([SafetensorsTensor.FromArray("input", new float[2 * 7 * 5], 2, 7, 5)]).Write(onnxInput);
        AssertFails(Run("run", torchHead, "--input", onnxInput, "--output", Path.Combine(root, "o.safetensors")), 1,
            "the graph input 'x' (float32(batch, steps, 5)) is missing; tensors bind to the graph inputs by name");
        AssertFails(Run("run", torchHead, "--input", onnxInput, "--output", Path.Combine(root, "o.safetensors"), "--batch-first"), 1,
            "do not apply to an ONNX model");

        string model = Path.Combine(CaseFolder, "gru_no_bias_f32.model.safetensors");
        AssertFails(Run("convert", model, Path.Combine(root, "o.safetensors")), 2, "give the target format with --to");
    }

    private static void AssertFails(CliResult r, int exitCode, string fragment)
    {
        string stderr = r.Stderr.TrimEnd();
        Assert.True(r.ExitCode == exitCode, $"exit {r.ExitCode}, expected {exitCode}: {r.Stderr}");
        Assert.Contains(fragment, stderr);
        Assert.DoesNotContain('\n', stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.StartsWith("gated ", stderr);
    }

    private CliResult Run(params string[] args) => GatedProcess.Run(root, null, TimeSpan.FromSeconds(120), args);
}
