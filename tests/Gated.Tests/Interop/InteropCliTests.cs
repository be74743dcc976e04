using System.Text.Json;
using Gated.Interop;
using Gated.IO.Safetensors;
using Gated.Layers;

namespace Gated.Tests.Interop;

/// <summary>
/// <c>gated run</c> and <c>gated convert</c> as a user meets them, run as the real tool in a child process:
/// conversions round-trip, and every bad file or flag gives one line on stderr naming the problem, exit
/// code 1 (2 for a usage error), and no stack trace.
/// </summary>
public sealed class InteropCliTests : IDisposable
{
    private static readonly string CaseFolder = Path.Combine(AppContext.BaseDirectory, "Cases", "interop");
    private readonly string root = Path.Combine(Path.GetTempPath(), "gated-interop-cli-" + Guid.NewGuid().ToString("N"));
    private readonly string gruModel, gruInput;

    public InteropCliTests()
    {
        Directory.CreateDirectory(root);
        gruModel = Case("gru_stacked_bidir_varlen_f64.model");
        gruInput = Case("gru_stacked_bidir_varlen_f64.in");
    }

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); }
        catch (IOException) { }
    }

    [Fact]
    public void ConvertRoundTripsThroughKerasAndGated()
    {
        // A one-layer GRU state_dict → Keras → Gated → PyTorch: the same weights at the end.
        var layer = new RecurrentLayer<float>(new RecurrentOptions { Cell = CellKind.Gru, InputSize = 4, HiddenSize = 3 }, seed: 4);
        string torch = Path.Combine(root, "gru.safetensors"), keras = Path.Combine(root, "keras.safetensors");
        string gated = Path.Combine(root, "gated.safetensors"), back = Path.Combine(root, "back.safetensors");
        PyTorchStateDict.ToSafetensors(layer, "gru.").File.Write(torch);

        var toKeras = Run("convert", torch, keras, "--to", "keras", "--out-prefix", "gru/", "--json");
        Assert.Equal(0, toKeras.ExitCode);
        using (var doc = JsonDocument.Parse(toKeras.Stdout))
        {
            Assert.Equal("pytorch", doc.RootElement.GetProperty("from").GetString());
            Assert.Equal(["gru/bias", "gru/kernel", "gru/recurrent_kernel"], doc.RootElement.GetProperty("tensors").EnumerateArray().Select(e => e.GetString()).Order());
            Assert.Contains(doc.RootElement.GetProperty("notes").EnumerateArray(), n => n.GetString()!.Contains("keras.layers.GRU(units=3"));
        }
        Assert.Equal([2, 9], SafetensorsFile.Read(keras)["gru/bias"].Shape);
        Assert.Equal(0, Run("convert", keras, gated, "--to", "gated").ExitCode);
        Assert.Equal(0, Run("convert", gated, back, "--to", "pytorch").ExitCode);
        var result = SafetensorsFile.Read(back);
        foreach (var p in layer.Parameters.Parameters)
            Assert.Equal(layer.Parameters.Value(p.Name).ToArray(), result[p.Name].ToSingleArray());
    }

    [Fact]
    public void RunWithoutGradientsWritesOutputsOnly()
    {
        var input = SafetensorsFile.Read(gruInput);
        string trimmed = Write("forward.safetensors", input.Tensors.Where(t => !t.Name.StartsWith("grad", StringComparison.Ordinal)));
        string output = Path.Combine(root, "out.safetensors");
        var r = Run("run", gruModel, "--input", trimmed, "--output", output);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(["h_n", "output"], SafetensorsFile.Read(output).Tensors.Select(t => t.Name).Order());
        Assert.Contains("no gradients", r.Stdout);
    }

    [Fact]
    public void BadInputFilesAreOneLineErrors()
    {
        var input = SafetensorsFile.Read(gruInput).Tensors;
        SafetensorsTensor Zeros(string name, SafetensorsDType dtype, params int[] shape)
        {
            long count = shape.Aggregate(1L, (a, b) => a * b);
            return new SafetensorsTensor(name, dtype, shape.Select(d => (long)d).ToList(), new byte[count * dtype.GetElementSize()]);
        }
        string Replace(string file, SafetensorsTensor t) => Write(file, input.Where(x => x.Name != t.Name).Append(t));

        AssertFails(RunGru(Write("no-input.safetensors", input.Where(t => t.Name != "input"))), 1, "tensor 'input' is missing");
        AssertFails(RunGru(Replace("features.safetensors", Zeros("input", SafetensorsDType.F64, 5, 3, 7))), 1, "7 features per step but the model");
        AssertFails(RunGru(Replace("rank.safetensors", Zeros("input", SafetensorsDType.F64, 5, 12))), 1, "expected [T, B, I]");
        AssertFails(RunGru(Replace("int.safetensors", Zeros("input", SafetensorsDType.I64, 5, 3, 4))), 1, "tensor 'input' is I64");
        AssertFails(RunGru(Replace("h0-dtype.safetensors", Zeros("h0", SafetensorsDType.F32, 4, 3, 3))), 1, "tensor 'h0' is F32 but 'input' is F64");
        AssertFails(RunGru(Replace("h0-shape.safetensors", Zeros("h0", SafetensorsDType.F64, 2, 3, 3))), 1, "tensor 'h0' has shape [2, 3, 3], expected [L·D, B, H] = [4, 3, 3]");
        AssertFails(RunGru(Replace("c0.safetensors", Zeros("c0", SafetensorsDType.F64, 4, 3, 3))), 1, "only an LSTM has a cell state");
        AssertFails(RunGru(Replace("grad.safetensors", Zeros("grad_output", SafetensorsDType.F64, 5, 3, 3))), 1, "tensor 'grad_output' has shape [5, 3, 3], expected [T, B, O] = [5, 3, 6]");
        AssertFails(RunGru(Replace("len.safetensors", SafetensorsTensor.FromArray("lengths", new long[] { 5, 0, 2 }))), 1, "lengths[1] = 0 is outside 1..T = 1..5");
        AssertFails(RunGru(Replace("len-dtype.safetensors", SafetensorsTensor.FromArray("lengths", new double[] { 5, 1, 2 }))), 1, "expected I64 or I32");
        string text = Path.Combine(root, "not.safetensors");
        File.WriteAllText(text, "hello");
        AssertFails(RunGru(text), 1, "not.safetensors");
    }

    [Fact]
    public void BadModelFilesAreOneLineErrors()
    {
        var model = SafetensorsFile.Read(gruModel).Tensors;
        string proj = Write("proj.safetensors", model.Append(SafetensorsTensor.FromArray("weight_hr_l0", new double[6], 2, 3)));
        AssertFails(Run("run", proj, "--input", gruInput, "--output", Path.Combine(root, "o.safetensors")), 1, "proj_size");
        string missing = Write("missing.safetensors", model.Where(t => t.Name != "weight_hh_l1_reverse"));
        AssertFails(Run("run", missing, "--input", gruInput, "--output", Path.Combine(root, "o.safetensors")), 1, "tensor 'weight_hh_l1_reverse' is missing");
        // The LSTM case's input does not fit the GRU model.
        AssertFails(Run("run", gruModel, "--input", Case("lstm_stacked_bidir_varlen_f64.in"), "--output", Path.Combine(root, "o.safetensors")), 1, "only an LSTM has a cell state");
        AssertFails(Run("run", Path.Combine(root, "absent.safetensors"), "--input", gruInput, "--output", Path.Combine(root, "o.safetensors")), 1, "model file not found");
        string onnx = Path.Combine(root, "model.onnx");
        File.WriteAllBytes(onnx, [8, 1]);
        AssertFails(Run("run", onnx, "--input", gruInput, "--output", Path.Combine(root, "o.safetensors")), 1, "model.onnx: the model has no graph.");
        AssertFails(Run("convert", gruModel, Path.Combine(root, "k.safetensors"), "--to", "keras"), 1, "a Keras recurrent layer is one layer in one direction");

        // A Gated file says how it computes; a contradicting flag is an error.
        string gated = Path.Combine(root, "gated.safetensors");
        Assert.Equal(0, Run("convert", gruModel, gated, "--to", "gated").ExitCode);
        AssertFails(Run("run", gated, "--input", gruInput, "--output", Path.Combine(root, "o.safetensors"), "--reset", "before"), 1, "records the reset position AfterProduct");
    }

    [Fact]
    public void UsageErrorsExitWithTwo()
    {
        AssertFails(Run("run", gruModel, "--input", gruInput, "--output", Path.Combine(root, "o.safetensors"), "--reset", "sideways"), 2, "--reset must be after or before");
        AssertFails(Run("run", gruModel, "--output", Path.Combine(root, "o.safetensors")), 2, "--input");
        AssertFails(Run("convert", gruModel, Path.Combine(root, "o.safetensors"), "--to", "tensorflow"), 2, "--to must be gated, pytorch, keras or onnx");
        AssertFails(Run("run", gruModel, "--input", gruInput, "--output", Path.Combine(root, "no-such-dir", "o.safetensors")), 2, "directory");
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

    private CliResult RunGru(string input) => Run("run", gruModel, "--input", input, "--output", Path.Combine(root, "o.safetensors"));

    private CliResult Run(params string[] args) => GatedProcess.Run(root, null, TimeSpan.FromSeconds(60), args);

    private string Write(string name, IEnumerable<SafetensorsTensor> tensors)
    {
        string path = Path.Combine(root, name);
        new SafetensorsFile(tensors).Write(path);
        return path;
    }

    private static string Case(string name) => Path.Combine(CaseFolder, name + ".safetensors");
}
