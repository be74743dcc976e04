using Gated.Interop;
using Gated.IO;
using Gated.IO.Safetensors;
using Gated.Kernels;
using Gated.Layers;

namespace Gated.Tests.Interop;

/// <summary>
/// Reading a PyTorch state_dict with nothing but its names and shapes, and writing one back: the cell,
/// layers, directions and biases are found; prefixes are detected or chosen; every malformed file is a
/// <see cref="GatedFormatException"/> naming the file and the tensor.
/// </summary>
public sealed class PyTorchStateDictTests
{
    private const string Source = "model.safetensors";

    public static TheoryData<CellKind, int, bool, BiasMode> Layouts() => new()
    {
        { CellKind.Gru, 1, false, BiasMode.InputAndHidden },
        { CellKind.Gru, 3, true, BiasMode.None },
        { CellKind.Lstm, 2, true, BiasMode.InputAndHidden },
        { CellKind.Lstm, 1, false, BiasMode.None },
        { CellKind.Rnn, 2, false, BiasMode.InputAndHidden },
        { CellKind.Gru, 2, true, BiasMode.InputOnly },
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void LayoutIsReadFromNamesAndShapes(CellKind cell, int layers, bool bidirectional, BiasMode bias)
    {
        var layer = new RecurrentLayer<double>(new RecurrentOptions { Cell = cell, InputSize = 5, HiddenSize = 4, NumLayers = layers, Bidirectional = bidirectional, Bias = bias }, seed: 3);
        var export = PyTorchStateDict.ToSafetensors(layer, "net.rnn.");
        var model = PyTorchStateDict.Load<double>(Reread(export.File));
        var o = model.Recurrent.Options;
        Assert.Equal((cell, 5, 4, layers, bidirectional), (o.Cell, o.InputSize, o.HiddenSize, o.NumLayers, o.Bidirectional));
        Assert.Equal("net.rnn.", model.Prefix);
        Assert.Equal(SafetensorsDType.F64, model.StoredDType);
        if (bias == BiasMode.InputOnly)
        {
            // Written with bias_hh = 0, read back with two biases: the same function.
            Assert.Equal(BiasMode.InputAndHidden, o.Bias);
            Assert.All(model.Recurrent.Parameters.Value("bias_hh_l1_reverse").ToArray(), v => Assert.Equal(0.0, v));
            Assert.Equal(layer.Parameters.Value("bias_ih_l1").ToArray(), model.Recurrent.Parameters.Value("bias_ih_l1").ToArray());
        }
        else
        {
            Assert.Equal(bias, o.Bias);
            Assert.Equal(layer.Parameters.Values, model.Recurrent.Parameters.Values);
        }
    }

    [Fact]
    public void ConventionsComeFromOptionsThenHintsThenDefaults()
    {
        var relu = new RecurrentLayer<float>(new RecurrentOptions { Cell = CellKind.Rnn, InputSize = 2, HiddenSize = 3, RnnNonlinearity = Activation.Relu }, seed: 1);
        var written = Reread(PyTorchStateDict.ToSafetensors(relu).File);
        Assert.Equal(Activation.Relu, PyTorchStateDict.Load<float>(written).Recurrent.Options.RnnNonlinearity);           // the hint
        Assert.Equal(Activation.Tanh, PyTorchStateDict.Load<float>(written, new ModelImportOptions { RnnNonlinearity = Activation.Tanh }).Recurrent.Options.RnnNonlinearity);
        var bare = new SafetensorsFile(written.Tensors);                                                                 // no metadata: PyTorch's default
        Assert.Equal(Activation.Tanh, PyTorchStateDict.Load<float>(bare).Recurrent.Options.RnnNonlinearity);
        var gru = PyTorchStateDict.Load<float>(StateDict(CellKind.Gru, 1, false), new ModelImportOptions { Reset = ResetGatePosition.BeforeProduct, BatchFirst = true });
        Assert.Equal(ResetGatePosition.BeforeProduct, gru.Recurrent.Options.Gru.Reset);
        Assert.True(gru.Recurrent.Options.BatchFirst);
    }

    [Fact]
    public void WholeModelStateDictLoadsItsRecurrentPart()
    {
        var tensors = StateDict(CellKind.Lstm, 1, false, "lstm.").Tensors.ToList();
        tensors.Add(SafetensorsTensor.FromArray("head.weight", new double[6], 2, 3));
        tensors.Add(SafetensorsTensor.FromArray("lstm.sub.extra", new double[1], 1));
        var model = PyTorchStateDict.Load<double>(new SafetensorsFile(tensors));
        Assert.Equal("lstm.", model.Prefix);
        Assert.Contains(model.Notes, n => n.Contains("'head.weight'") && n.Contains("'lstm.sub.extra'"));
    }

    [Fact]
    public void PrefixIsChosenWhenSeveralModulesHaveRecurrentWeights()
    {
        var tensors = StateDict(CellKind.Gru, 1, false, "encoder.").Tensors.Concat(StateDict(CellKind.Lstm, 2, false, "decoder.").Tensors).ToList();
        var file = new SafetensorsFile(tensors);
        Assert.Contains("several prefixes ('decoder.', 'encoder.'); choose one with --prefix", Error(file, null));
        Assert.Equal(CellKind.Lstm, PyTorchStateDict.Load<double>(file, new ModelImportOptions { Prefix = "decoder" }).Recurrent.Options.Cell);
        Assert.Equal(CellKind.Gru, PyTorchStateDict.Load<double>(file, new ModelImportOptions { Prefix = "encoder." }).Recurrent.Options.Cell);
        Assert.Contains("no recurrent tensors with the prefix 'gru.'", Error(file, "gru"));
    }

    [Fact]
    public void MalformedStateDictsAreRejectedByName()
    {
        var good = StateDict(CellKind.Gru, 2, true).Tensors;
        SafetensorsFile Without(string name) => new(good.Where(t => t.Name != name));
        SafetensorsFile With(params SafetensorsTensor[] extra) => new(good.Concat(extra));
        SafetensorsFile Replace(SafetensorsTensor t) => new(good.Where(g => g.Name != t.Name).Append(t));

        Assert.Contains("tensor 'weight_hh_l1' is missing", Error(Without("weight_hh_l1")));
        Assert.Contains("tensor 'weight_ih_l0_reverse' is missing", Error(Without("weight_ih_l0_reverse")));
        Assert.Contains("tensor 'bias_hh_l1_reverse' is missing", Error(Without("bias_hh_l1_reverse")));
        Assert.Contains("'weight_ih_l1' has shape [9, 5], expected [9, 6]", Error(Replace(SafetensorsTensor.FromArray("weight_ih_l1", new double[45], 9, 5))));
        Assert.Contains("'bias_ih_l0' has shape [8], expected [9]", Error(Replace(SafetensorsTensor.FromArray("bias_ih_l0", new double[8], 8))));
        Assert.Contains("proj_size", Error(With(SafetensorsTensor.FromArray("weight_hr_l0", new double[6], 3, 2))));
        Assert.Contains("'weight_ih_l0_extra' is not a parameter", Error(With(SafetensorsTensor.FromArray("weight_ih_l0_extra", new double[1], 1))));
        Assert.Contains("'weight_hh_l2' is missing", Error(With(SafetensorsTensor.FromArray("weight_ih_l2", new double[54], 9, 6))));
        Assert.Contains("fits no cell", Error(new SafetensorsFile([SafetensorsTensor.FromArray("weight_ih_l0", new double[24], 6, 4), SafetensorsTensor.FromArray("weight_hh_l0", new double[18], 6, 3)])));
        Assert.Contains("weights must be floating-point", Error(Replace(SafetensorsTensor.FromArray("weight_hh_l0", new long[27], 9, 3))));
        var nan = new double[27];
        nan[4] = double.NaN;
        Assert.Contains("'weight_hh_l0' holds a NaN", Error(Replace(SafetensorsTensor.FromArray("weight_hh_l0", nan, 9, 3))));
        Assert.Contains("no PyTorch recurrent tensors", Error(new SafetensorsFile([SafetensorsTensor.FromArray("fc.weight", new double[2], 2)])));
    }

    [Fact]
    public void LayersWithoutAStateDictFormAreRefused()
    {
        var hard = new RecurrentLayer<double>(new RecurrentOptions { Cell = CellKind.Gru, InputSize = 2, HiddenSize = 2, Gru = new GruOptions { GateActivation = Activation.HardSigmoid } }, seed: 1);
        Assert.Contains("sigmoid gates", Assert.Throws<InteropException>(() => PyTorchStateDict.ToSafetensors(hard)).Message);
        var ablated = new RecurrentLayer<double>(new RecurrentOptions { Cell = CellKind.Gru, InputSize = 2, HiddenSize = 2, Gru = new GruOptions { Ablation = GruAblation.NoUpdateGate } }, seed: 1);
        Assert.Throws<InteropException>(() => PyTorchStateDict.ToSafetensors(ablated));
    }

    private static string Error(SafetensorsFile file, string? prefix = null)
    {
        var e = Assert.Throws<GatedFormatException>(() => PyTorchStateDict.Load<double>(Reread(file), new ModelImportOptions { Prefix = prefix }));
        Assert.StartsWith(Source + ": ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        return e.Message;
    }

    /// <summary>A float64 state_dict of a layer with I = 5, H = 3.</summary>
    private static SafetensorsFile StateDict(CellKind cell, int layers, bool bidirectional, string prefix = "") =>
        PyTorchStateDict.ToSafetensors(new RecurrentLayer<double>(new RecurrentOptions { Cell = cell, InputSize = 5, HiddenSize = 3, NumLayers = layers, Bidirectional = bidirectional }, seed: 2), prefix).File;

    private static SafetensorsFile Reread(SafetensorsFile file)
    {
        using var stream = new MemoryStream();
        file.Write(stream);
        return SafetensorsFile.Read(stream.ToArray(), Source);
    }
}
