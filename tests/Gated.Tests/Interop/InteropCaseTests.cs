using System.Numerics;
using Gated.Interop;
using Gated.IO.Safetensors;
using Gated.Kernels;
using Gated.Layers;

namespace Gated.Tests.Interop;

/// <summary>
/// <c>gated run</c> against PyTorch: every case in Cases/interop (written by
/// tests/reference/make_interop_cases.py with torch 1.13) is a state_dict saved from an nn.GRU, nn.LSTM or
/// nn.RNN (some inside a bigger module, under a prefix), an input file and the expected output file.
/// The model is read with no other information than the flags in the input's <c>gated.run_args</c>,
/// run in-process through <see cref="ModelRunner"/> and, for two cases, through the real CLI; every
/// expected tensor (outputs, final states, every gradient) must match, and nothing else may be written.
/// </summary>
public sealed class InteropCaseTests : IDisposable
{
    private static readonly string CaseFolder = Path.Combine(AppContext.BaseDirectory, "Cases", "interop");
    private readonly string root = Path.Combine(Path.GetTempPath(), "gated-interop-" + Guid.NewGuid().ToString("N"));

    public InteropCaseTests() => Directory.CreateDirectory(root);

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); }
        catch (IOException) { }
    }

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (string path in Directory.EnumerateFiles(CaseFolder, "*.in.safetensors").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(path)[..^".in.safetensors".Length]);
        return data;
    }

    [Fact]
    public void AllCasesArePresent() => Assert.True(Cases().Count >= 8, $"expected ≥ 8 cases in {CaseFolder}, found {Cases().Count}");

    [Theory]
    [MemberData(nameof(Cases))]
    public void RunMatchesTorch(string name)
    {
        var input = SafetensorsFile.Read(Path.Combine(CaseFolder, name + ".in.safetensors"));
        Assert.Equal("gated-interop-case", input.Metadata["format"]);
        var options = Options(input.Metadata["gated.run_args"]);
        string model = Path.Combine(CaseFolder, name + ".model.safetensors");
        var expected = SafetensorsFile.Read(Path.Combine(CaseFolder, name + ".out.safetensors"));
        if (input.Metadata["dtype"] == "float64")
            Compare(expected, ModelRunner.Run(ModelFile.Load<double>(model, options), input).Output, 1e-9, 1e-12);
        else
            Compare(expected, ModelRunner.Run(ModelFile.Load<float>(model, options), input).Output, 1e-5, 1e-6);
    }

    [Theory]
    [InlineData("gru_prefixed_batch_first_varlen_f64")]
    [InlineData("lstm_prefixed_batch_first_varlen_f32")]
    public void CliRunMatchesTorch(string name)
    {
        var input = SafetensorsFile.Read(Path.Combine(CaseFolder, name + ".in.safetensors"));
        string output = Path.Combine(root, "out.safetensors");
        string[] args = ["run", Path.Combine(CaseFolder, name + ".model.safetensors"), "--input", Path.Combine(CaseFolder, name + ".in.safetensors"), "--output", output,
            .. input.Metadata["gated.run_args"].Split(' ', StringSplitOptions.RemoveEmptyEntries)];
        var result = GatedProcess.Run(root, null, TimeSpan.FromSeconds(60), args);
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Stderr}");
        Assert.Contains("note: ignored", result.Stderr);  // the module's head tensors
        var expected = SafetensorsFile.Read(Path.Combine(CaseFolder, name + ".out.safetensors"));
        bool f64 = input.Metadata["dtype"] == "float64";
        Compare(expected, SafetensorsFile.Read(output), f64 ? 1e-9 : 1e-5, f64 ? 1e-12 : 1e-6);
    }

    [Fact]
    public void ConvertedModelsRunTheSame()
    {
        // PyTorch → Gated file → PyTorch, and a one-layer case → Keras → Gated: the same numbers every time.
        string name = "gru_reset_before_take_candidate_varlen_f64";
        var input = SafetensorsFile.Read(Path.Combine(CaseFolder, name + ".in.safetensors"));
        var expected = SafetensorsFile.Read(Path.Combine(CaseFolder, name + ".out.safetensors"));
        var model = ModelFile.Load<double>(Path.Combine(CaseFolder, name + ".model.safetensors"), Options(input.Metadata["gated.run_args"]));
        var gated = Reread(ModelFile.Export(model, ModelFormat.Gated).File);
        var fromGated = ModelFile.Load<double>(gated);
        Assert.Equal(ModelFormat.Gated, fromGated.Format);
        Assert.Equal(ResetGatePosition.BeforeProduct, fromGated.Recurrent.Options.Gru.Reset);
        Compare(expected, ModelRunner.Run(fromGated, input).Output, 1e-9, 1e-12);

        // Back to a state_dict: take-candidate becomes keep-previous (z rows negated), reset-before is a hint.
        var torch = ModelFile.Export(fromGated, ModelFormat.PyTorchStateDict);
        Assert.Contains(torch.Notes, n => n.Contains("keep-previous"));
        var fromTorch = ModelFile.Load<double>(Reread(torch.File));
        Assert.Equal(UpdateGateConvention.KeepPrevious, fromTorch.Recurrent.Options.Gru.UpdateGate);
        Assert.Equal(ResetGatePosition.BeforeProduct, fromTorch.Recurrent.Options.Gru.Reset);
        var outputs = ModelRunner.Run(fromTorch, input).Output;
        foreach (string n in new[] { "output", "h_n", "grad.input", "grad.h0", "grad.weight_hh_l0", "grad.bias_ih_l0_reverse" })
        {
            double[] e = expected[n].ToDoubleArray(), a = outputs[n].ToDoubleArray();
            if (n.StartsWith("grad.w", StringComparison.Ordinal) || n.StartsWith("grad.b", StringComparison.Ordinal))
                for (int i = 3; i < 6; i++) for (int j = 0; j < e.Length / 9; j++) e[i * (e.Length / 9) + j] *= -1;  // z rows (H = 3) negated
            TensorAssert.Close(n, e, a, 1e-9, 1e-12);
        }
    }

    internal static ModelImportOptions Options(string runArgs)
    {
        var options = new ModelImportOptions();
        string[] words = runArgs.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < words.Length; i++)
        {
            options = words[i] switch
            {
                "--batch-first" => options with { BatchFirst = true },
                "--nonlinearity" => options with { RnnNonlinearity = words[++i] == "relu" ? Activation.Relu : Activation.Tanh },
                "--reset" => options with { Reset = words[++i] == "before" ? ResetGatePosition.BeforeProduct : ResetGatePosition.AfterProduct },
                "--update-gate" => options with { UpdateGate = words[++i] == "take-candidate" ? UpdateGateConvention.TakeCandidate : UpdateGateConvention.KeepPrevious },
                var w => throw new ArgumentException($"unknown run argument '{w}' in a case file"),
            };
        }
        return options;
    }

    /// <summary>Every expected tensor matches; no tensor is missing or extra.</summary>
    internal static void Compare(SafetensorsFile expected, SafetensorsFile actual, double rtol, double atol)
    {
        Assert.Equal(expected.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal), actual.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var e in expected.Tensors)
        {
            var a = actual[e.Name];
            Assert.Equal(e.DType, a.DType);
            Assert.Equal(e.Shape, a.Shape);
            TensorAssert.Close(e.Name, e.ToDoubleArray(), a.ToDoubleArray(), rtol, atol);
        }
    }

    internal static SafetensorsFile Reread(SafetensorsFile file)
    {
        using var stream = new MemoryStream();
        file.Write(stream);
        return SafetensorsFile.Read(stream.ToArray(), "written.safetensors");
    }
}
