using System.Numerics;
using Gated.Interop;
using Gated.IO;
using Gated.IO.Safetensors;
using Gated.Kernels;
using Gated.Layers;
using Gated.Models;
using Gated.Onnx;
using Gated.Onnx.Proto;
using Gated.Tests.Onnx;
using Google.Protobuf;

namespace Gated.Tests.Interop;

/// <summary>
/// ONNX in <c>gated run</c> and <c>gated convert</c>, in-process: Gated → ONNX → Gated gives the same weights bit
/// for bit; PyTorch state_dicts → ONNX run as PyTorch did (Cases/interop); ONNX graphs exported by torch.onnx.export
/// read as Gated layers; graphs with no Gated form are refused with the reason; <see cref="OnnxRunner"/> binds by name.
/// </summary>
public sealed class OnnxInteropTests : IDisposable
{
    private static readonly string InteropCases = Path.Combine(AppContext.BaseDirectory, "Cases", "interop");
    private static readonly string OnnxCases = Path.Combine(AppContext.BaseDirectory, "Cases", "onnx");
    private readonly string root = Path.Combine(Path.GetTempPath(), "gated-onnx-interop-" + Guid.NewGuid().ToString("N"));

    public OnnxInteropTests() => Directory.CreateDirectory(root);

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); }
        catch (IOException) { }
    }

    public static TheoryData<string, bool> LayerForms()
    {
        var data = new TheoryData<string, bool>();
        foreach (string name in OnnxExportTests.Layers.Keys) { data.Add(name, false); data.Add(name, true); }
        return data;
    }

    [Theory]
    [MemberData(nameof(LayerForms))]
    public void GatedToOnnxToGatedKeepsTheWeightsBitForBit(string form, bool float64)
    {
        if (float64) RoundTrip<double>(form);
        else RoundTrip<float>(form);
    }

    private void RoundTrip<T>(string form) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var options = OnnxExportTests.Layers[form];
        var layer = new RecurrentLayer<T>(options, seed: 7);
        string gated = Path.Combine(root, form + ".safetensors");
        GatedLayerFile.ToSafetensors(layer).File.Write(gated);
        var model = ModelFile.Load<T>(gated);

        // What ONNX holds: keep-previous (take-candidate converted exactly), both biases, no dropout.
        var expected = options.Cell == CellKind.Gru && options.Gru.UpdateGate == UpdateGateConvention.TakeCandidate
            ? GruConversion.SwitchUpdateGateConvention(layer) : layer;
        var expectedOptions = expected.Options with { Dropout = 0, Bias = options.Bias == BiasMode.InputOnly ? BiasMode.InputAndHidden : options.Bias };

        foreach (bool extras in new[] { false, true })
        {
            string onnx = Path.Combine(root, $"{form}-{extras}.onnx");
            var notes = ModelFile.ExportOnnx(model, onnx, new OnnxExportOptions { InitialStates = extras, SequenceLengths = extras });
            if (options.Gru.UpdateGate == UpdateGateConvention.TakeCandidate && options.Cell == CellKind.Gru) Assert.Contains(notes, n => n.Contains("keep-previous"));
            var onnxModel = OnnxModel.Load(onnx);
            Assert.Equal(typeof(T) == typeof(double) ? SafetensorsDType.F64 : SafetensorsDType.F32, ModelFile.StoredDType(onnxModel));
            var back = ModelFile.Load<T>(onnxModel);
            Assert.Equal(ModelFormat.Onnx, back.Format);
            Assert.Equal(expectedOptions, back.Recurrent.Options);
            foreach (var p in back.Recurrent.Parameters.Parameters)
            {
                T[] actual = back.Recurrent.Parameters.Value(p.Name).ToArray();
                T[] want = expected.Parameters.Parameters.Any(q => q.Name == p.Name) ? expected.Parameters.Value(p.Name).ToArray() : new T[actual.Length];
                Assert.True(want.AsSpan().SequenceEqual(actual), $"{form} ({typeof(T).Name}, extra inputs {extras}): {p.Name} differs");
            }
        }
    }

    public static TheoryData<string> InteropCaseNames() => InteropCaseTests.Cases();

    [Theory]
    [MemberData(nameof(InteropCaseNames))]
    public void PyTorchStateDictThroughOnnxRunsAsPyTorchDid(string name)
    {
        var input = SafetensorsFile.Read(Path.Combine(InteropCases, name + ".in.safetensors"));
        var expected = SafetensorsFile.Read(Path.Combine(InteropCases, name + ".out.safetensors"));
        var options = InteropCaseTests.Options(input.Metadata["gated.run_args"]);
        bool f64 = input.Metadata["dtype"] == "float64";
        double rtol = f64 ? 1e-9 : 1e-5, atol = f64 ? 1e-12 : 1e-6;
        string onnx = Path.Combine(root, name + ".onnx");
        var export = new OnnxExportOptions { InitialStates = input.TryGet("h0", out _), SequenceLengths = input.TryGet("lengths", out _) };
        string model = Path.Combine(InteropCases, name + ".model.safetensors");
        if (f64) ModelFile.ExportOnnx(ModelFile.Load<double>(model, options), onnx, export);
        else ModelFile.ExportOnnx(ModelFile.Load<float>(model, options), onnx, export);

        // gated run MODEL.onnx: the case's input file, lengths under the graph's name; the gradient tensors are noted, not used.
        var onnxInput = new SafetensorsFile(input.Tensors.Select(t => t.Name == "lengths" ? Renamed(t, "sequence_lens") : t));
        var run = OnnxRunner.Run(OnnxModel.Load(onnx), onnxInput);
        Assert.Equal(f64 ? SafetensorsDType.F64 : SafetensorsDType.F32, run.DType);
        Assert.Contains(run.Notes, n => n.StartsWith("gradients are not available for ONNX models", StringComparison.Ordinal));
        var outputs = run.Output.Tensors.Select(t => t.Name).ToList();
        string[] names = expected.TryGet("c_n", out _) ? ["output", "h_n", "c_n"] : ["output", "h_n"];
        Assert.Equal(names, outputs);
        foreach (string tensor in outputs)
        {
            Assert.Equal(expected[tensor].Shape, run.Output[tensor].Shape);
            TensorAssert.Close(name + " " + tensor, expected[tensor].ToDoubleArray(), run.Output[tensor].ToDoubleArray(), rtol, atol);
        }

        // gated convert MODEL.onnx MODEL.safetensors, then gated run on it: PyTorch's outputs and input gradients again.
        var back = f64 ? Rerun<double>(onnx, input) : Rerun<float>(onnx, input);
        foreach (string tensor in new[] { "output", "h_n", "c_n", "grad.input", "grad.h0", "grad.c0" })
            if (expected.TryGet(tensor, out var e))
                TensorAssert.Close(name + " via Gated " + tensor, e.ToDoubleArray(), back[tensor].ToDoubleArray(), rtol, atol);
    }

    private static SafetensorsFile Rerun<T>(string onnx, SafetensorsFile input) where T : unmanaged, IFloatingPointIeee754<T> =>
        ModelRunner.Run(ModelFile.Load<T>(onnx), input).Output;

    [Fact]
    public void TorchOnnxExportsReadAsGatedLayers()
    {
        // An LSTM with h0/c0 graph inputs (opset 11, attribute-form Squeeze).
        var lstm = ModelFile.Load<float>(Path.Combine(OnnxCases, "torch_lstm_initial_states_opset11.onnx"));
        Assert.Equal(new RecurrentOptions { Cell = CellKind.Lstm, InputSize = 4, HiddenSize = 5 }, lstm.Recurrent.Options);
        Assert.Contains(lstm.Notes, n => n.Contains("'x' is the input"));
        var lstmCase = SafetensorsFile.Read(Path.Combine(OnnxCases, "torch_lstm_initial_states_opset11.safetensors"));
        var lstmRun = ModelRunner.Run(lstm, new SafetensorsFile([Renamed(lstmCase["input.x"], "input"), Renamed(lstmCase["input.h0"], "h0"), Renamed(lstmCase["input.c0"], "c0")])).Output;
        TensorAssert.Close("y", lstmCase["expected.y"].ToSingleArray(), lstmRun["output"].ToSingleArray(), 1e-5, 1e-6);
        TensorAssert.Close("h_n", lstmCase["expected.h_n"].ToSingleArray(), lstmRun["h_n"].ToSingleArray(), 1e-5, 1e-6);
        TensorAssert.Close("c_n", lstmCase["expected.c_n"].ToSingleArray(), lstmRun["c_n"].ToSingleArray(), 1e-5, 1e-6);

        // The 2-layer bidirectional GRU (zero h0 built by Shape/Gather/ConstantOfShape/Slice) with its whole output
        // sequence as the graph output instead of y[-1].
        string twoLayers = Edit("torch_gru_bidirectional_2_layers.onnx", g => ReplaceOutput(g, "last", "/rnn/Reshape_1_output_0"));
        var gru = ModelFile.Load<float>(twoLayers);
        Assert.Equal(new RecurrentOptions { Cell = CellKind.Gru, InputSize = 4, HiddenSize = 5, NumLayers = 2, Bidirectional = true }, gru.Recurrent.Options);
        var gruCase = SafetensorsFile.Read(Path.Combine(OnnxCases, "torch_gru_bidirectional_2_layers.safetensors"));
        var x = gruCase["input.x"];
        var gruRun = ModelRunner.Run(gru, new SafetensorsFile([Renamed(x, "input")])).Output;
        TensorAssert.Close("h_n", gruCase["expected.h_n"].ToSingleArray(), gruRun["h_n"].ToSingleArray(), 1e-5, 1e-6);
        float[] output = gruRun["output"].ToSingleArray();
        int last = output.Length / (int)x.Shape[0];
        TensorAssert.Close("y[-1]", gruCase["expected.last"].ToSingleArray(), output.AsSpan(output.Length - last).ToArray(), 1e-5, 1e-6);

        // The batch-first GRU of the GRU + Linear + Sigmoid export, without the head.
        string stack = Edit("torch_gru_linear_sigmoid.onnx", g =>
        {
            foreach (var n in g.Node.Where(n => n.OpType is "MatMul" or "Add" or "Sigmoid").ToList()) g.Node.Remove(n);
            ReplaceOutput(g, "probabilities", "/rnn/Transpose_1_output_0");
        });
        var batchFirst = ModelFile.Load<float>(stack);
        Assert.True(batchFirst.Recurrent.Options.BatchFirst);
        var bfCase = SafetensorsFile.Read(Path.Combine(OnnxCases, "torch_gru_linear_sigmoid.safetensors"));
        var bfRun = ModelRunner.Run(batchFirst, new SafetensorsFile([Renamed(bfCase["input.x"], "input")])).Output;
        TensorAssert.Close("h_n", bfCase["expected.h_n"].ToSingleArray(), bfRun["h_n"].ToSingleArray(), 1e-5, 1e-6);
    }

    [Fact]
    public void GraphsWithoutAGatedFormAreRefusedWithTheReason()
    {
        void Refused(string path, string reason)
        {
            var ex = Assert.Throws<GatedFormatException>(() => ModelFile.Load<double>(path));
            Assert.Contains(OnnxStackReader.NoForm + ": ", ex.Message);
            Assert.Contains(reason, ex.Message);
        }
        string Case(string name) => Path.Combine(OnnxCases, name + ".onnx");

        Refused(Case("torch_gru_linear_sigmoid"), "node '/head/MatMul' (MatMul) computes on Y of node '/rnn/GRU' (GRU)");
        Refused(Case("torch_gru_bidirectional_2_layers"), "the graph output 'last' has shape (3, 10)");
        Refused(Case("numpy_gru_reverse_clip"), "clips its activations' inputs at");
        Refused(Case("node_gru_defaults"), "W is the graph input 'W'");
        Refused(Case("numpy_rnn_reverse_seq_lens_with_zero_length"), "runs in reverse only");

        // A Gated music model's graph has a head; the weights of a Gated stack whose h_n is concatenated in the wrong
        // order are still the weights of a stack, but the graph is not that stack.
        // (ModelFile.ExportOnnx of the music model file writes the graph OnnxExporter writes for the model.)
        var music = new MusicModel(new RecurrentOptions { Cell = CellKind.Gru, InputSize = MusicModel.Keys, HiddenSize = 4 }, seed: 3);
        string musicFile = Path.Combine(root, "music.safetensors"), musicOnnx = Path.Combine(root, "music.onnx");
        music.Save(musicFile);
        var notes = ModelFile.ExportOnnx(ModelFile.Load<float>(musicFile), musicOnnx);
        Assert.Contains(notes, n => n.Contains("'probabilities' (sigmoid) and 'logits'"));
        var direct = OnnxModel.Load(OnnxExporter.ToBytes(music), "direct.onnx");
        var viaFile = OnnxModel.Load(musicOnnx);
        Assert.Equal(direct.Inputs.Select(i => i.ToString()), viaFile.Inputs.Select(i => i.ToString()));
        Assert.Equal(direct.Outputs.Select(o => o.ToString()), viaFile.Outputs.Select(o => o.ToString()));
        var x = new Tensor<float>([.. Enumerable.Range(0, 5 * 2 * MusicModel.Keys).Select(i => (float)(i % 3 == 0 ? 1 : 0))], 5, 2, MusicModel.Keys);
        Assert.Equal(direct.Run(new Dictionary<string, Tensor<float>> { ["input"] = x })["probabilities"].Data, viaFile.Run(new Dictionary<string, Tensor<float>> { ["input"] = x })["probabilities"].Data);
        Refused(musicOnnx, "node 'head_matmul_matmul' (MatMul) computes on");

        var layer = new RecurrentLayer<double>(new RecurrentOptions { Cell = CellKind.Lstm, InputSize = 3, HiddenSize = 2, NumLayers = 2 }, seed: 5);
        string stack = Path.Combine(root, "stack.onnx");
        OnnxExporter.Export(layer, stack);
        string swapped = Edit(stack, g =>
        {
            var concat = g.Node.Single(n => n.Output[0] == "h_n_concat");
            (concat.Input[0], concat.Input[1]) = (concat.Input[1], concat.Input[0]);
        });
        Refused(swapped, "the graph output 'h_n' is not h_n of the recurrent layers");
    }

    [Fact]
    public void AnOnnxGraphSaysHowItComputes()
    {
        string path = Path.Combine(OnnxCases, "torch_lstm_initial_states_opset11.onnx");
        Assert.Contains("leave the option out", Assert.Throws<InteropException>(() => ModelFile.Load<float>(path, new ModelImportOptions { BatchFirst = true })).Message);
        Assert.Contains("--prefix does not apply", Assert.Throws<InteropException>(() => ModelFile.Load<float>(path, new ModelImportOptions { Prefix = "rnn." })).Message);
        var gru = new RecurrentLayer<float>(new RecurrentOptions { Cell = CellKind.Gru, InputSize = 3, HiddenSize = 2 }, seed: 1);
        string onnx = Path.Combine(root, "gru.onnx");
        OnnxExporter.Export(gru, onnx);
        Assert.Contains("reset position AfterProduct", Assert.Throws<InteropException>(() => ModelFile.Load<float>(onnx, new ModelImportOptions { Reset = ResetGatePosition.BeforeProduct })).Message);
        Assert.Equal(ResetGatePosition.AfterProduct, ModelFile.Load<float>(onnx, new ModelImportOptions { Reset = ResetGatePosition.AfterProduct }).Recurrent.Options.Gru.Reset);
    }

    [Fact]
    public void OnnxRunnerBindsTensorsToGraphInputsByName()
    {
        var gru = new RecurrentLayer<float>(new RecurrentOptions { Cell = CellKind.Gru, InputSize = 4, HiddenSize = 3, NumLayers = 2 }, seed: 2);
        var model = OnnxModel.Load(OnnxExporter.ToBytes(gru, new OnnxExportOptions { InitialStates = true, SequenceLengths = true }), "gru.onnx");
        var rng = new Random(9);
        SafetensorsTensor F64(string name, params int[] shape) => SafetensorsTensor.FromArray(name, [.. Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(_ => rng.NextDouble() - 0.5)], shape);
        SafetensorsTensor F32(string name, params int[] shape) => SafetensorsTensor.FromArray(name, [.. F64(name, shape).ToSingleArray()], shape);
        var lengths = SafetensorsTensor.FromArray("sequence_lens", new long[] { 5, 2, 4 });
        SafetensorsFile Tensors(params SafetensorsTensor[] tensors) => new(tensors);
        string Error(params SafetensorsTensor[] tensors) => Assert.Throws<GatedFormatException>(() => OnnxRunner.Run(model, Tensors(tensors))).Message;

        // float32 graph, float64 tensors: runs in float64, F64 outputs, a note; gradient tensors and strangers are noted.
        var run = OnnxRunner.Run(model, Tensors(F64("input", 5, 3, 4), F64("h0", 2, 3, 3), lengths, F64("grad_output", 5, 3, 3), F64("notes", 2)));
        Assert.Equal(SafetensorsDType.F64, run.DType);
        Assert.Equal(["input", "h0", "sequence_lens"], run.BoundInputs);
        Assert.Equal(["output", "h_n"], run.Output.Tensors.Select(t => t.Name));
        Assert.All(run.Output.Tensors, t => Assert.Equal(SafetensorsDType.F64, t.DType));
        Assert.Equal(3, run.Notes.Count);
        Assert.Contains("gradients are not available for ONNX models: 'grad_output' ignored", run.Notes[0]);
        Assert.Contains("'notes'", run.Notes[1]);
        Assert.Contains("the graph declares float32 for 'input', 'h0'; it ran in float64", run.Notes[2]);
        // The same numbers as Gated's own layer, in float64.
        var reference = new RecurrentLayer<double>(gru.Options, seed: 0);
        for (int i = 0; i < reference.Parameters.Values.Length; i++) reference.Parameters.Values[i] = gru.Parameters.Values[i];
        var input = Tensors(F64("input", 5, 3, 4), F64("h0", 2, 3, 3), lengths);
        var again = OnnxRunner.Run(model, input);
        var want = reference.Forward(new Tensor<double>(input["input"].ToDoubleArray(), 5, 3, 4), new Tensor<double>(input["h0"].ToDoubleArray(), 2, 3, 3), null, [5, 2, 4]);
        TensorAssert.Close("output", want.Output.Data, again.Output["output"].ToDoubleArray(), 1e-12, 1e-14);

        var f32 = OnnxRunner.Run(model, Tensors(F32("input", 5, 3, 4), F32("h0", 2, 3, 3), SafetensorsTensor.FromArray("sequence_lens", new long[] { 5, 5, 5 })));
        Assert.Equal(SafetensorsDType.F32, f32.DType);
        Assert.Empty(f32.Notes);

        Assert.Contains("the graph input 'sequence_lens' (int32(batch)) is missing", Error(F64("input", 5, 3, 4), F64("h0", 2, 3, 3)));
        Assert.Contains("tensor 'input' is F32 but 'h0' is F64", Error(F32("input", 5, 3, 4), F64("h0", 2, 3, 3), lengths));
        Assert.Contains("tensor 'sequence_lens' is F64 but the graph input is int32(batch)", Error(F64("input", 5, 3, 4), F64("h0", 2, 3, 3), F64("sequence_lens", 3)));
        Assert.Contains("tensor 'input' has shape [5, 3, 7]; the graph input is float32(steps, batch, 4): dimension 2 must be 4", Error(F64("input", 5, 3, 7), F64("h0", 2, 3, 3), lengths));
        Assert.Contains("tensor 'h0' has shape [3, 3]; the graph input is float32(2, batch, 3) (3 dimensions)", Error(F64("input", 5, 3, 4), F64("h0", 3, 3), lengths));
        Assert.Contains("tensor 'h0' has batch = 2 (dimension 1 of [2, 2, 3]) but 'input' has batch = 3", Error(F64("input", 5, 3, 4), F64("h0", 2, 2, 3), lengths));
        var half = new SafetensorsTensor("input", SafetensorsDType.F16, [5, 3, 4], new byte[120]);
        Assert.Contains("tensor 'input' is F16; gated run computes in F32 or F64", Error(half, F64("h0", 2, 3, 3), lengths));
        Assert.Contains("node 'Y_l0_gru' (GRU): sequence_lens[1] is 9", Error(F64("input", 5, 3, 4), F64("h0", 2, 3, 3), SafetensorsTensor.FromArray("sequence_lens", new long[] { 5, 9, 4 })));
    }

    private static SafetensorsTensor Renamed(SafetensorsTensor t, string name) => new(name, t.DType, t.Shape, t.Data);

    /// <summary>Makes a graph output name another value (declared with no type information but its name).</summary>
    private static void ReplaceOutput(GraphProto graph, string output, string value)
    {
        var info = graph.Output.Single(o => o.Name == output);
        var replacement = info.Clone();
        replacement.Name = value;
        replacement.Type.TensorType.Shape = null;
        graph.Output[graph.Output.IndexOf(info)] = replacement;
    }

    /// <summary>A copy of an ONNX file (a case name or a path) with its graph edited.</summary>
    private string Edit(string file, Action<GraphProto> edit)
    {
        string path = File.Exists(file) ? file : Path.Combine(OnnxCases, file);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        edit(model.Graph);
        string edited = Path.Combine(root, "edited-" + Guid.NewGuid().ToString("N")[..8] + ".onnx");
        File.WriteAllBytes(edited, model.ToByteArray());
        return edited;
    }
}
