using System.Numerics;
using Gated.Kernels;
using Gated.Layers;
using Gated.Models;
using Gated.Onnx;

namespace Gated.Tests.Onnx;

/// <summary>
/// Export to ONNX: every exported file passes <c>onnx.checker</c>, and the importer, run on it,
/// reproduces Gated's own forward pass (on the Gated engine and on the reference evaluator).
/// </summary>
public sealed class OnnxExportTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "gated-onnx-export-" + Guid.NewGuid().ToString("N"));

    public OnnxExportTests() => Directory.CreateDirectory(dir);

    public void Dispose()
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }

    private const int I = 4, H = 3, T = 5, B = 3;

    /// <summary>Layer configurations that have an ONNX form, by name.</summary>
    public static readonly Dictionary<string, RecurrentOptions> Layers = new()
    {
        ["gru"] = new() { Cell = CellKind.Gru, InputSize = I, HiddenSize = H },
        ["gru_reset_before"] = new() { Cell = CellKind.Gru, InputSize = I, HiddenSize = H, Gru = new() { Reset = ResetGatePosition.BeforeProduct } },
        ["gru_take_candidate"] = new() { Cell = CellKind.Gru, InputSize = I, HiddenSize = H, Gru = new() { UpdateGate = UpdateGateConvention.TakeCandidate } },
        ["gru_hard_sigmoid_take_candidate_relu"] = new()
        {
            Cell = CellKind.Gru, InputSize = I, HiddenSize = H,
            Gru = new() { UpdateGate = UpdateGateConvention.TakeCandidate, GateActivation = Activation.HardSigmoid, CandidateActivation = Activation.Relu },
        },
        ["gru_one_bias"] = new() { Cell = CellKind.Gru, InputSize = I, HiddenSize = H, Bias = BiasMode.InputOnly },
        ["gru_no_bias"] = new() { Cell = CellKind.Gru, InputSize = I, HiddenSize = H, Bias = BiasMode.None },
        ["gru_stacked_bidir"] = new() { Cell = CellKind.Gru, InputSize = I, HiddenSize = H, NumLayers = 2, Bidirectional = true },
        ["gru_batch_first_3_layers"] = new() { Cell = CellKind.Gru, InputSize = I, HiddenSize = H, NumLayers = 3, BatchFirst = true, Dropout = 0.3 },
        ["lstm"] = new() { Cell = CellKind.Lstm, InputSize = I, HiddenSize = H },
        ["lstm_stacked_bidir"] = new() { Cell = CellKind.Lstm, InputSize = I, HiddenSize = H, NumLayers = 2, Bidirectional = true },
        ["lstm_softsign_elu"] = new()
        {
            Cell = CellKind.Lstm, InputSize = I, HiddenSize = H,
            Lstm = new() { CellInputActivation = new Activation(ActivationKind.Softsign), CellOutputActivation = new Activation(ActivationKind.Elu, 0.7) },
        },
        ["rnn_tanh_bidir"] = new() { Cell = CellKind.Rnn, InputSize = I, HiddenSize = H, Bidirectional = true },
        ["rnn_relu_stacked"] = new() { Cell = CellKind.Rnn, InputSize = I, HiddenSize = H, NumLayers = 2, RnnNonlinearity = Activation.Relu },
    };

    public static TheoryData<string> LayerNames() => [.. Layers.Keys];

    private static Tensor<TT> Random<TT>(Random rng, params int[] shape) where TT : unmanaged, IFloatingPointIeee754<TT>
    {
        var t = new Tensor<TT>(shape);
        for (int i = 0; i < t.Length; i++) t.Data[i] = TT.CreateChecked(rng.NextDouble() * 2 - 1);
        return t;
    }

    [Theory]
    [MemberData(nameof(LayerNames))]
    public void ExportedLayer_ImporterReproducesGated_Float(string name) => RoundTrip<float>(name, 1e-5, 1e-6);

    [Theory]
    [InlineData("gru_stacked_bidir")]
    [InlineData("gru_hard_sigmoid_take_candidate_relu")]
    [InlineData("lstm_stacked_bidir")]
    public void ExportedLayer_ImporterReproducesGated_Double(string name) => RoundTrip<double>(name, 1e-12, 1e-13);

    private void RoundTrip<TT>(string name, double rtol, double atol) where TT : unmanaged, IFloatingPointIeee754<TT>
    {
        var layer = new RecurrentLayer<TT>(Layers[name], seed: 7) { Training = false };
        var o = layer.Options;
        var rng = new Random(11);
        var input = o.BatchFirst ? Random<TT>(rng, B, T, I) : Random<TT>(rng, T, B, I);
        var h0 = Random<TT>(rng, o.NumLayers * o.Directions, B, H);
        var c0 = o.Cell == CellKind.Lstm ? Random<TT>(rng, o.NumLayers * o.Directions, B, H) : null;
        int[] lengths = [T, 2, 4];

        // Plain export: zero initial states, full lengths.
        string path = Path.Combine(dir, name + ".onnx");
        OnnxExporter.Export(layer, path);
        var expected = layer.Forward(input);
        foreach (bool reference in new[] { false, true })
        {
            var model = OnnxModel.Load(path);
            foreach (var spec in model.RecurrentNodes) spec.AllowGatedEngine = !reference;
            var got = model.Run(new Dictionary<string, Tensor<TT>> { ["input"] = input });
            Assert.All(model.RecurrentNodes, s => Assert.Equal(reference ? "reference" : "gated", s.LastEngine));
            string where = $"{name} ({(reference ? "reference evaluator" : "Gated engine")})";
            TensorAssert.Close($"{where} output", expected.Output.Data, got["output"].Data, rtol, atol);
            Assert.True(got["output"].HasShape(expected.Output.Shape.ToArray()), $"{where}: output shape {got["output"].ShapeText}");
            TensorAssert.Close($"{where} h_n", expected.HiddenState.Data, got["h_n"].Data, rtol, atol);
            if (c0 is not null) TensorAssert.Close($"{where} c_n", expected.CellState!.Data, got["c_n"].Data, rtol, atol);
        }

        // With initial states and sequence lengths as inputs.
        string full = Path.Combine(dir, name + "_states_lengths.onnx");
        OnnxExporter.Export(layer, full, new OnnxExportOptions { InitialStates = true, SequenceLengths = true });
        expected = layer.Forward(input, h0, c0, lengths);
        var feeds = new Dictionary<string, Tensor<TT>>
        {
            ["input"] = input,
            ["h0"] = h0,
            ["sequence_lens"] = new Tensor<TT>([.. lengths.Select(TT.CreateChecked)], B),
        };
        if (c0 is not null) feeds["c0"] = c0;
        foreach (bool reference in new[] { false, true })
        {
            var model = OnnxModel.Load(full);
            foreach (var spec in model.RecurrentNodes) spec.AllowGatedEngine = !reference;
            var got = model.Run(feeds);
            string where = $"{name} with h0 and lengths ({(reference ? "reference evaluator" : "Gated engine")})";
            TensorAssert.Close($"{where} output", expected.Output.Data, got["output"].Data, rtol, atol);
            TensorAssert.Close($"{where} h_n", expected.HiddenState.Data, got["h_n"].Data, rtol, atol);
            if (c0 is not null) TensorAssert.Close($"{where} c_n", expected.CellState!.Data, got["c_n"].Data, rtol, atol);
        }
    }

    [Theory]
    [InlineData(CellKind.Gru, 2)]
    [InlineData(CellKind.Lstm, 1)]
    [InlineData(CellKind.Rnn, 1)]
    public void ExportedMusicModel_GivesGatedsProbabilities(CellKind cell, int layers)
    {
        var music = MusicModel.Create(cell, hiddenSize: 6, numLayers: layers, seed: 3);
        music.Recurrent.Training = false;
        string path = Path.Combine(dir, $"music_{cell}.onnx");
        OnnxExporter.Export(music, path);
        var rng = new Random(5);
        var input = new Tensor<float>(7, 2, MusicModel.Keys);
        for (int i = 0; i < input.Length; i++) input.Data[i] = rng.Next(5) == 0 ? 1 : 0;
        var y = music.Recurrent.Forward(input);
        var logits = music.Head.Forward(y.Output);
        var probabilities = logits.Data.Select(v => (float)(1 / (1 + Math.Exp(-v)))).ToArray();

        var model = OnnxModel.Load(path);
        Assert.Equal(["input"], model.Inputs.Select(i => i.Name));
        Assert.Equal("(steps, batch, 88)", model.Inputs[0].ShapeText);
        var got = model.Run(new Dictionary<string, Tensor<float>> { ["input"] = input });
        TensorAssert.Close("logits", logits.Data, got["logits"].Data, 1e-5, 1e-6);
        TensorAssert.Close("probabilities", probabilities, got["probabilities"].Data, 1e-5, 1e-6);
        TensorAssert.Close("h_n", y.HiddenState.Data, got["h_n"].Data, 1e-5, 1e-6);
        Assert.Equal([7, 2, 88], got["probabilities"].Shape.ToArray());
    }

    [Fact]
    public void Export_RefusesWhatOnnxCannotExpress_WithTheReason()
    {
        var tanhGates = new RecurrentLayer<float>(new RecurrentOptions
        {
            Cell = CellKind.Gru, InputSize = I, HiddenSize = H,
            Gru = new() { UpdateGate = UpdateGateConvention.TakeCandidate, GateActivation = Activation.Tanh },
        }, seed: 1);
        var ex = Assert.Throws<ArgumentException>(() => OnnxExporter.ToBytes(tanhGates));
        Assert.Contains("ONNX", ex.Message);
        Assert.Contains("f(−a) = 1 − f(a)", ex.Message);

        var ablated = new RecurrentLayer<float>(new RecurrentOptions
        {
            Cell = CellKind.Gru, InputSize = I, HiddenSize = H, Gru = new() { Ablation = GruAblation.NoResetGate },
        }, seed: 1);
        ex = Assert.Throws<ArgumentException>(() => OnnxExporter.ToBytes(ablated));
        Assert.Contains("NoResetGate", ex.Message);
    }

    [Fact]
    public void Export_TakeCandidate_WritesKeepPreviousWeights_AndLeavesTheLayerAlone()
    {
        var layer = new RecurrentLayer<float>(Layers["gru_take_candidate"], seed: 2);
        float[] before = (float[])layer.Parameters.Values.Clone();
        var model = OnnxModel.Load(OnnxExporter.ToBytes(layer), "memory");
        Assert.Equal(before, layer.Parameters.Values);
        Assert.Equal(["GRU", "Squeeze", "Identity"], model.Operators);
    }

    /// <summary>Every exported form passes the ONNX checker (full check, with shape inference).</summary>
    [OnnxCheckerFact]
    public void EveryExportedFile_PassesOnnxChecker()
    {
        var files = new List<string>();
        foreach (var (name, options) in Layers)
        {
            var layer = new RecurrentLayer<float>(options, seed: 1);
            foreach (var (suffix, export) in new[] { ("", new OnnxExportOptions()), ("_full", new OnnxExportOptions { InitialStates = true, SequenceLengths = true }) })
            {
                string path = Path.Combine(dir, name + suffix + ".onnx");
                OnnxExporter.Export(layer, path, export);
                files.Add(path);
            }
        }
        var dbl = new RecurrentLayer<double>(Layers["lstm_stacked_bidir"], seed: 1);
        files.Add(Path.Combine(dir, "lstm_double.onnx"));
        OnnxExporter.Export(dbl, files[^1]);
        foreach (var cell in new[] { CellKind.Gru, CellKind.Lstm, CellKind.Rnn })
        {
            files.Add(Path.Combine(dir, $"music_{cell}.onnx"));
            OnnxExporter.Export(MusicModel.Create(cell, 5, numLayers: 2), files[^1]);
        }

        const string Script = """
            import sys, onnx
            from onnx import checker, shape_inference
            failed = 0
            for path in sys.argv[1:]:
                try:
                    m = onnx.load(path)
                    checker.check_model(m, full_check=True)
                    shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
                    print("ok", path)
                except Exception as e:
                    failed += 1
                    print("FAIL", path, type(e).__name__, e)
            sys.exit(1 if failed else 0)
            """;
        var (code, stdout, stderr) = OnnxPython.Run(Script, files, TimeSpan.FromMinutes(3));
        Assert.True(code == 0, $"onnx.checker rejected files:\n{stdout}\n{stderr}");
        Assert.Equal(files.Count, stdout.Split('\n').Count(l => l.StartsWith("ok ", StringComparison.Ordinal)));
    }
}
