using Gated.IO.Safetensors;
using Gated.Onnx;
using Xunit.Abstractions;

namespace Gated.Tests.Onnx;

/// <summary>
/// Runs every case of <c>Cases/onnx/</c> (written by <c>tests/reference/make_onnx_cases.py</c>: the
/// ONNX package's own GRU / LSTM / RNN node tests and reference helpers, a numpy reference for the
/// remaining attributes, and PyTorch 1.13 exports with PyTorch's outputs) through the importer and
/// compares every output: in float32 and in float64, on the Gated engine where a node allows it and
/// on the reference evaluator for every node.
/// </summary>
public sealed class OnnxConformanceTests(ITestOutputHelper output)
{
    private static readonly string CaseDir = Path.Combine(AppContext.BaseDirectory, "Cases", "onnx");

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (string f in Directory.GetFiles(CaseDir, "*.onnx").Order(StringComparer.Ordinal)) data.Add(Path.GetFileNameWithoutExtension(f));
        return data;
    }

    [Fact]
    public void TheCasesAreThere()
    {
        var names = Directory.GetFiles(CaseDir, "*.onnx").Select(f => Path.GetFileNameWithoutExtension(f)!).ToArray();
        Assert.Equal(35, names.Length);
        Assert.Equal(12, names.Count(n => n.StartsWith("node_", StringComparison.Ordinal)));
        Assert.Equal(4, names.Count(n => n.StartsWith("torch_", StringComparison.Ordinal)));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Case_MatchesItsReference(string name)
    {
        var data = SafetensorsFile.Read(Path.Combine(CaseDir, name + ".safetensors"));
        var inputs = data.Tensors.Where(t => t.Name.StartsWith("input.", StringComparison.Ordinal))
            .Select(t => new SafetensorsTensor(t.Name["input.".Length..], t.DType, t.Shape, t.Data)).ToArray();
        var expected = data.Tensors.Where(t => t.Name.StartsWith("expected.", StringComparison.Ordinal)).ToDictionary(t => t.Name["expected.".Length..]);
        Assert.NotEmpty(expected);

        foreach (bool reference in new[] { false, true })
        {
            foreach (bool dbl in new[] { false, true })
            {
                var model = OnnxModel.Load(Path.Combine(CaseDir, name + ".onnx"));
                foreach (var spec in model.RecurrentNodes) spec.AllowGatedEngine = !reference;
                var got = model.Run(inputs, doublePrecision: dbl).ToDictionary(t => t.Name);
                string how = $"{name} ({(dbl ? "float64" : "float32")}, {(reference ? "reference evaluator" : "engine: " + string.Join(",", model.RecurrentNodes.Select(s => s.LastEngine)))})";
                if (!reference && !dbl) output.WriteLine(how + $"; reference: {data.Metadata["reference"]}; operators: {string.Join(" ", model.Operators)}");
                foreach (var (outputName, want) in expected)
                {
                    Assert.True(got.ContainsKey(outputName), $"{how}: output '{outputName}' missing");
                    Assert.Equal(want.Shape, got[outputName].Shape);
                    // The expected values are float32 (rounded from float64 or computed by PyTorch in float32).
                    TensorAssert.Close($"{how} {outputName}", want.ToDoubleArray(), got[outputName].ToDoubleArray(), rtol: 1e-5, atol: 1e-6);
                }
            }
        }
    }
}
