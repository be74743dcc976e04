using System.Numerics;
using Gated.IO.Safetensors;
using Gated.Kernels;
using Gated.Layers;

namespace Gated.Tests.Layers;

/// <summary>
/// Parity with PyTorch: every case file in Cases/torch (written by tests/reference/make_torch_cases.py
/// with torch 1.13) is loaded into Gated's real <see cref="RecurrentLayer{T}"/>, run forward and
/// backward, and compared tensor by tensor: output, h_n, c_n, ∂input, ∂h_0, ∂c_0 and every parameter's gradient.
/// </summary>
public sealed class TorchParityTests
{
    private static readonly string CaseFolder = Path.Combine(AppContext.BaseDirectory, "Cases", "torch");

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (string path in Directory.EnumerateFiles(CaseFolder, "*.safetensors").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileNameWithoutExtension(path));
        return data;
    }

    [Fact]
    public void AllCasesArePresent() => Assert.True(Cases().Count >= 24, $"expected ≥ 24 case files in {CaseFolder}, found {Cases().Count}");

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesTorch(string caseName)
    {
        var file = SafetensorsFile.Read(Path.Combine(CaseFolder, caseName + ".safetensors"));
        Assert.Equal("gated-torch-case", file.Metadata["format"]);
        Assert.Equal("1", file.Metadata["format_version"]);
        if (file.Metadata["dtype"] == "float64") Run<double>(file, rtol: 1e-9, atol: 1e-12);
        else Run<float>(file, rtol: 1e-5, atol: 1e-6);
    }

    private static void Run<T>(SafetensorsFile file, double rtol, double atol) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var options = TorchCase.Options(file.Metadata);
        var layer = new RecurrentLayer<T>(options, seed: 1);
        foreach (var p in layer.Parameters.Parameters)
        {
            var t = file[p.Name];
            Assert.Equal(p.Shape, t.GetShapeInt32());
            t.ToArray<T>().CopyTo(layer.Parameters.Value(p.Name));
        }
        Assert.Equal(layer.Parameters.Parameters.Count, file.Tensors.Count(t => !t.Name.StartsWith("grad", StringComparison.Ordinal) && t.Name.Contains("_l", StringComparison.Ordinal)));

        var input = Load<T>(file, "input");
        var h0 = Load<T>(file, "h0");
        var c0 = file.Contains("c0") ? Load<T>(file, "c0") : null;
        int[]? lengths = file.Contains("lengths") ? file["lengths"].ToInt64Array().Select(v => (int)v).ToArray() : null;

        var result = layer.Forward(input, h0, c0, lengths);
        Close("output", Load<T>(file, "output").Span, result.Output.Span, rtol, atol);
        Close("h_n", Load<T>(file, "h_n").Span, result.HiddenState.Span, rtol, atol);
        if (c0 is not null) Close("c_n", Load<T>(file, "c_n").Span, result.CellState!.Span, rtol, atol);

        var grads = layer.Backward(Load<T>(file, "grad_output"), Load<T>(file, "grad_h_n"), c0 is null ? null : Load<T>(file, "grad_c_n"));
        Close("grad.input", Load<T>(file, "grad.input").Span, grads.Input!.Span, rtol, atol);
        Close("grad.h0", Load<T>(file, "grad.h0").Span, grads.InitialHidden.Span, rtol, atol);
        if (c0 is not null) Close("grad.c0", Load<T>(file, "grad.c0").Span, grads.InitialCell!.Span, rtol, atol);
        foreach (var p in layer.Parameters.Parameters)
            Close("grad." + p.Name, file["grad." + p.Name].ToArray<T>(), layer.Parameters.Gradient(p.Name), rtol, atol);
    }

    /// <summary>
    /// <see cref="TensorAssert.Close"/> with, in float32, the absolute tolerance scaled by the tensor's
    /// largest value: a weight gradient is a sum over every step and row, and float32 round-off in such
    /// a sum grows with its terms, so an element that nearly cancels (−0.0097 from terms near 2, say)
    /// carries an absolute error of a few ulps of the terms, not of itself.
    /// </summary>
    private static void Close<T>(string name, ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, double rtol, double atol)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            double largest = 1;
            foreach (T e in expected) largest = Math.Max(largest, Math.Abs(double.CreateChecked(e)));
            atol *= largest;
        }
        TensorAssert.Close(name, expected, actual, rtol, atol);
    }

    private static Tensor<T> Load<T>(SafetensorsFile file, string name) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var t = file[name];
        return new Tensor<T>(t.ToArray<T>(), t.GetShapeInt32());
    }
}

/// <summary>Maps a case file's metadata to Gated's options.</summary>
internal static class TorchCase
{
    public static RecurrentOptions Options(IReadOnlyDictionary<string, string> m)
    {
        string cell = m["cell"];
        return new RecurrentOptions
        {
            Cell = cell switch { "gru" => CellKind.Gru, "lstm" => CellKind.Lstm, _ => CellKind.Rnn },
            RnnNonlinearity = cell == "rnn_relu" ? Activation.Relu : Activation.Tanh,
            InputSize = int.Parse(m["input_size"]),
            HiddenSize = int.Parse(m["hidden_size"]),
            NumLayers = int.Parse(m["num_layers"]),
            Bidirectional = m["bidirectional"] == "true",
            BatchFirst = m["batch_first"] == "true",
            Bias = m["bias"] switch { "two" => BiasMode.InputAndHidden, "one" => BiasMode.InputOnly, _ => BiasMode.None },
            Gru = cell != "gru" ? new GruOptions() : new GruOptions
            {
                UpdateGate = m["update_gate"] == "keep_previous" ? UpdateGateConvention.KeepPrevious : UpdateGateConvention.TakeCandidate,
                Reset = m["reset"] == "after_product" ? ResetGatePosition.AfterProduct : ResetGatePosition.BeforeProduct,
                GateActivation = ParseActivation(m["gate_activation"]),
                CandidateActivation = ParseActivation(m["candidate_activation"]),
                Ablation = m["ablation"] switch { "no_reset_gate" => GruAblation.NoResetGate, "no_update_gate" => GruAblation.NoUpdateGate, _ => GruAblation.None },
            },
        };
    }

    private static Activation ParseActivation(string name) => name switch
    {
        "sigmoid" => Activation.Sigmoid,
        "tanh" => Activation.Tanh,
        "relu" => Activation.Relu,
        "hard_sigmoid" => Activation.HardSigmoid,
        _ => throw new ArgumentException($"unknown activation '{name}' in case metadata"),
    };
}
