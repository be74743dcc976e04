using System.Globalization;
using Gated.IO;
using Gated.IO.Safetensors;
using Gated.Onnx;

namespace Gated.Interop;

/// <summary>What <see cref="OnnxRunner.Run"/> did.</summary>
/// <param name="Output">The graph outputs by name: floating-point ones in <paramref name="DType"/>, integer and boolean ones as I64.</param>
/// <param name="DType">The precision the graph ran in: F32 or F64, the dtype of the input file's float tensors.</param>
/// <param name="BoundInputs">The tensors of the input file bound to graph inputs, in the graph's order.</param>
/// <param name="IgnoredInputs">Tensors of the input file that no graph input takes (gradient tensors included).</param>
/// <param name="Notes">What the user should know: ignored tensors, gradients not available, a precision other than the graph's.</param>
public sealed record OnnxRunResult(SafetensorsFile Output, SafetensorsDType DType, IReadOnlyList<string> BoundInputs,
    IReadOnlyList<string> IgnoredInputs, IReadOnlyList<string> Notes);

/// <summary>
/// Runs an ONNX model on the raw tensors of a safetensors file, as <c>gated run MODEL.onnx</c> does: tensors bind
/// to the graph inputs by name, the outputs are the graph outputs by name.
/// </summary>
/// <remarks>
/// <para>Every graph input (that has no initializer) must be in the file, with a floating-point dtype (F32 or F64)
/// where the graph declares a float type and an integer or bool dtype where it declares one, the declared rank, the
/// declared fixed dimensions, and one size per symbolic dimension name across inputs (<c>batch</c> in both
/// <c>input</c> and <c>h0</c>). The graph runs in the dtype of the file's float tensors (all F32 or all F64; a graph
/// declaring float32 runs in float64 on F64 inputs, its weights widened exactly) and its float outputs are written
/// in that dtype. Other tensors of the file are ignored, with a note.</para>
/// <para>ONNX graphs give no gradients: <c>grad_output</c>, <c>grad_h_n</c>, <c>grad_c_n</c> in the file (when the graph
/// has no input of that name) are ignored with a note that says so; no <c>grad.*</c> tensor is written. Converting the
/// model to a Gated file (<see cref="ModelFile.Load{T}(OnnxModel, ModelImportOptions?)"/>) and running that gives them.</para>
/// </remarks>
public static class OnnxRunner
{
    /// <summary>The upstream-gradient tensors <c>gated run</c> reads for a safetensors model.</summary>
    public static IReadOnlyList<string> GradientInputs { get; } = ["grad_output", "grad_h_n", "grad_c_n"];

    /// <summary>Runs <paramref name="model"/> on the tensors of <paramref name="input"/>.</summary>
    /// <exception cref="GatedFormatException">A graph input is missing from the file or does not fit its declaration (naming the
    /// file, the tensor and the declaration), or a node cannot be evaluated on these inputs (naming the model and the node).</exception>
    public static OnnxRunResult Run(OnnxModel model, SafetensorsFile input)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        string? source = input.SourceName;
        string declared = string.Join(", ", model.Inputs);
        var names = new HashSet<string>(model.Inputs.Select(i => i.Name), StringComparer.Ordinal);
        var bound = new List<SafetensorsTensor>();
        var symbols = new Dictionary<string, (long Size, string Tensor)>(StringComparer.Ordinal);
        foreach (var info in model.Inputs)
        {
            string name = info.Name;
            if (!input.TryGet(name, out var t))
            {
                string hint = name == "sequence_lens" && input.TryGet("lengths", out _) && !names.Contains("lengths") ? " (rename 'lengths' to 'sequence_lens')" : "";
                throw new GatedFormatException(source, $"the graph input '{name}' ({info.ElementType}{info.ShapeText}) is missing{hint}; tensors bind to the graph inputs by name ({declared}) and the file holds {(input.Tensors.Count == 0 ? "no tensors" : InteropTensors.List(input.Tensors.Select(x => x.Name)))}.");
            }
            bool declaredFloat = info.ElementType is "float32" or "float64" or "float16" or "bfloat16";
            bool givenFloat = t.DType.IsFloatingPoint();
            if (givenFloat && t.DType is not (SafetensorsDType.F32 or SafetensorsDType.F64))
                throw new GatedFormatException(source, $"tensor '{name}' is {t.DType.GetHeaderName()}; gated run computes in F32 or F64.");
            if (declaredFloat != givenFloat)
                throw new GatedFormatException(source, $"tensor '{name}' is {t.DType.GetHeaderName()} but the graph input is {info.ElementType}{info.ShapeText}; give {(declaredFloat ? "F32 or F64" : "an integer tensor (I64, I32, …)")}.");
            if (info.Dimensions is { } dims)
            {
                string expected = $"the graph input is {info.ElementType}{info.ShapeText}";
                if (t.Rank != dims.Count)
                    throw new GatedFormatException(source, $"tensor '{name}' has shape {InteropTensors.Shape(t.Shape)}; {expected} ({dims.Count} dimension{(dims.Count == 1 ? "" : "s")}).");
                for (int i = 0; i < dims.Count; i++)
                {
                    if (long.TryParse(dims[i], NumberStyles.None, CultureInfo.InvariantCulture, out long size))
                    {
                        if (t.Shape[i] != size)
                            throw new GatedFormatException(source, $"tensor '{name}' has shape {InteropTensors.Shape(t.Shape)}; {expected}: dimension {i} must be {size}.");
                    }
                    else if (dims[i] != "?")
                    {
                        if (symbols.TryGetValue(dims[i], out var seen) && seen.Size != t.Shape[i])
                            throw new GatedFormatException(source, $"tensor '{name}' has {dims[i]} = {t.Shape[i]} (dimension {i} of {InteropTensors.Shape(t.Shape)}) but '{seen.Tensor}' has {dims[i]} = {seen.Size}.");
                        symbols.TryAdd(dims[i], (t.Shape[i], name));
                    }
                }
            }
            bound.Add(t);
        }

        var floats = bound.Where(t => t.DType.IsFloatingPoint()).ToList();
        var f32 = floats.FirstOrDefault(t => t.DType == SafetensorsDType.F32);
        var f64 = floats.FirstOrDefault(t => t.DType == SafetensorsDType.F64);
        if (f32 is not null && f64 is not null)
            throw new GatedFormatException(source, $"tensor '{f32.Name}' is F32 but '{f64.Name}' is F64; give every float tensor the same dtype (the graph runs in it).");
        bool doublePrecision = f64 is not null || (f32 is null && model.Outputs.Any(o => o.ElementType == "float64"));
        string precision = doublePrecision ? "float64" : "float32";

        var notes = new List<string>();
        var ignored = input.Tensors.Select(t => t.Name).Where(n => !names.Contains(n)).ToList();
        var gradients = ignored.Where(n => GradientInputs.Contains(n)).ToList();
        var others = ignored.Where(n => !GradientInputs.Contains(n)).ToList();
        if (gradients.Count > 0)
            notes.Add($"gradients are not available for ONNX models: {InteropTensors.List(gradients)} ignored and no grad.* tensors written. When the graph has a Gated form, convert it (gated convert MODEL.onnx MODEL.safetensors) and run that for gradients.");
        if (others.Count > 0)
            notes.Add($"ignored {others.Count} tensor(s) that are not graph inputs: {InteropTensors.List(others)}.");
        var differing = model.Inputs.Where(i => i.ElementType is "float32" or "float64" or "float16" or "bfloat16" && i.ElementType != precision).Select(i => i.Name).ToList();
        if (differing.Count > 0)
            notes.Add($"the graph declares {model.Inputs.First(i => i.Name == differing[0]).ElementType} for {InteropTensors.List(differing)}; it ran in {precision}, the dtype of the input file's tensors, and its float outputs are written as {(doublePrecision ? "F64" : "F32")}.");

        IReadOnlyList<SafetensorsTensor> outputs;
        try
        {
            outputs = model.RunInPrecision(bound, doublePrecision);
        }
        catch (ArgumentException ex)
        {
            throw new GatedFormatException(source, ex.Message);
        }
        var metadata = new Dictionary<string, string>
        {
            ["gated.model"] = Path.GetFileName(model.SourceName ?? "model.onnx"),
            ["gated.model_format"] = ModelFormat.Onnx.ToString(),
        };
        return new OnnxRunResult(new SafetensorsFile(outputs, metadata), doublePrecision ? SafetensorsDType.F64 : SafetensorsDType.F32,
            [.. bound.Select(t => t.Name)], ignored, notes);
    }
}
