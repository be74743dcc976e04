using System.Globalization;
using System.Numerics;
using Gated.IO;
using Gated.IO.Safetensors;
using Gated.Layers;

namespace Gated.Interop;

/// <summary>What <see cref="ModelRunner.Run{T}"/> did.</summary>
/// <param name="Output">The tensors to write: <c>output</c>, <c>h_n</c>, <c>c_n</c>, and with gradients <c>grad.*</c>.</param>
/// <param name="Steps">T, the padded number of steps.</param>
/// <param name="Batch">B, the number of sequences.</param>
/// <param name="BatchFirst">Whether the tensors were (B, T, ·).</param>
/// <param name="Gradients">Whether a backward pass ran (the input held <c>grad_output</c>, <c>grad_h_n</c> or <c>grad_c_n</c>).</param>
/// <param name="IgnoredInputs">Tensors of the input file that the run does not use.</param>
public sealed record RunResult(SafetensorsFile Output, int Steps, int Batch, bool BatchFirst, bool Gradients, IReadOnlyList<string> IgnoredInputs);

/// <summary>
/// Runs a model on raw tensors from a safetensors file, as <c>gated run</c> does: the forward pass and,
/// when upstream gradients are given, the backward pass, in the input's dtype.
/// </summary>
/// <remarks>
/// <para>Input tensors (T steps, B sequences, I features, H hidden, L layers, D directions, O = D·H, or
/// the head's outputs for a music model): <c>input</c> (T, B, I), or (B, T, I) batch-first, F32 or F64;
/// optional <c>h0</c> and, for an LSTM, <c>c0</c> (L·D, B, H) in the same dtype; optional <c>lengths</c> (B)
/// I64 or I32, each in 1..T (PyTorch's packed-sequence semantics: padded outputs are zero, h_n is each
/// sequence's state at its own last step); optional <c>grad_output</c> (shaped as the output),
/// <c>grad_h_n</c>, <c>grad_c_n</c>. Any other tensor is ignored and reported.</para>
/// <para>Outputs: <c>output</c>, <c>h_n</c>, <c>c_n</c> (LSTM). With any upstream gradient present, the
/// gradients of Σ output ⊙ grad_output + Σ h_n ⊙ grad_h_n + Σ c_n ⊙ grad_c_n (absent terms are zero):
/// <c>grad.input</c>, <c>grad.h0</c>, <c>grad.c0</c> (LSTM) and <c>grad.&lt;name&gt;</c> for every parameter
/// under its name (and layout) in the model file. Dropout is off.</para>
/// <para>A music model's head is applied to every step; its outputs at padded steps are set to zero, like the stack's.</para>
/// </remarks>
public static class ModelRunner
{
    /// <summary>The dtype of the <c>input</c> tensor, which the run computes in: F32 or F64.</summary>
    /// <exception cref="GatedFormatException"><c>input</c> is missing or not F32/F64.</exception>
    public static SafetensorsDType InputDType(SafetensorsFile input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!input.TryGet("input", out var x))
            throw new GatedFormatException(input.SourceName, $"tensor 'input' is missing (the file holds {(input.Tensors.Count == 0 ? "no tensors" : InteropTensors.List(input.Tensors.Select(t => t.Name)))}).");
        if (x.DType is not (SafetensorsDType.F32 or SafetensorsDType.F64))
            throw new GatedFormatException(input.SourceName, $"tensor 'input' is {x.DType.GetHeaderName()}; gated run computes in F32 or F64.");
        return x.DType;
    }

    /// <summary>Runs <paramref name="model"/> on the tensors of <paramref name="input"/>.</summary>
    /// <exception cref="GatedFormatException">A tensor of the input file is missing, misshapen, of the wrong dtype, or does not fit the model; the message names the file and the tensor.</exception>
    public static RunResult Run<T>(ImportedModel<T> model, SafetensorsFile input) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        string? source = input.SourceName;
        var o = model.Recurrent.Options;
        var dtype = InteropTensors.DTypeOf<T>();
        if (InputDType(input) != dtype)
            throw new GatedFormatException(source, $"tensor 'input' is {input["input"].DType.GetHeaderName()} but the model was loaded for {dtype.GetHeaderName()}.");

        var x = input["input"];
        if (x.Rank != 3)
            throw new GatedFormatException(source, $"tensor 'input' has shape {InteropTensors.Shape(x.Shape)}; expected {(o.BatchFirst ? "[B, T, I]" : "[T, B, I]")} (3 dimensions).");
        if (x.Shape[2] != o.InputSize)
            throw new GatedFormatException(source, $"tensor 'input' has {x.Shape[2]} features per step but the model ({model}) takes I = {o.InputSize}.");
        int[] xs = x.GetShapeInt32();
        int t = o.BatchFirst ? xs[1] : xs[0], b = o.BatchFirst ? xs[0] : xs[1];
        if (t == 0 || b == 0) throw new GatedFormatException(source, $"tensor 'input' has shape {InteropTensors.Shape(xs)}: no steps or no sequences.");
        int states = o.NumLayers * o.Directions, h = o.HiddenSize, width = model.OutputSize;
        int[] stateShape = [states, b, h];
        int[] outputShape = o.BatchFirst ? [b, t, width] : [t, b, width];
        string stateText = $"[L·D, B, H] = {InteropTensors.Shape(stateShape)}";
        bool lstm = o.Cell == Layers.CellKind.Lstm;

        var used = new HashSet<string>(StringComparer.Ordinal) { "input" };
        Tensor<T>? Optional(string name, int[] shape, string shapeText, bool allowed = true)
        {
            if (!input.TryGet(name, out var tensor)) return null;
            used.Add(name);
            if (!allowed) throw new GatedFormatException(source, $"tensor '{name}' is given but the model is a {o.Cell.ToString().ToUpperInvariant()}; only an LSTM has a cell state.");
            if (tensor.DType != dtype)
                throw new GatedFormatException(source, $"tensor '{name}' is {tensor.DType.GetHeaderName()} but 'input' is {dtype.GetHeaderName()}; give every float tensor the same dtype.");
            if (!InteropTensors.HasShape(tensor, shape))
                throw new GatedFormatException(source, $"tensor '{name}' has shape {InteropTensors.Shape(tensor.Shape)}, expected {shapeText} for this input and model ({model}).");
            return new Tensor<T>(tensor.ToArray<T>(), shape);
        }

        var inputTensor = new Tensor<T>(x.ToArray<T>(), xs);
        var h0 = Optional("h0", stateShape, stateText);
        var c0 = Optional("c0", stateShape, stateText, allowed: lstm);
        int[]? lengths = Lengths(input, t, b, used);
        string outputText = $"{(o.BatchFirst ? "[B, T, O]" : "[T, B, O]")} = {InteropTensors.Shape(outputShape)}";
        var gradOutput = Optional("grad_output", outputShape, outputText);
        var gradHidden = Optional("grad_h_n", stateShape, stateText);
        var gradCell = Optional("grad_c_n", stateShape, stateText, allowed: lstm);
        bool backward = gradOutput is not null || gradHidden is not null || gradCell is not null;
        var ignored = input.Tensors.Select(v => v.Name).Where(n => !used.Contains(n)).ToList();

        // Forward.
        var result = model.Recurrent.Forward(inputTensor, h0, c0, lengths);
        var output = result.Output;
        if (model.Head is not null)
        {
            output = model.Head.Forward(result.Output);
            ZeroPadded(output, lengths, t, b, o.BatchFirst);
        }
        var tensors = new List<SafetensorsTensor>
        {
            InteropTensors.Create<T>("output", output.Data, outputShape),
            InteropTensors.Create<T>("h_n", result.HiddenState.Data, stateShape),
        };
        if (lstm) tensors.Add(InteropTensors.Create<T>("c_n", result.CellState!.Data, stateShape));

        // Backward.
        if (backward)
        {
            model.Recurrent.Parameters.ZeroGradients();
            model.Head?.Parameters.ZeroGradients();
            var dOutput = gradOutput ?? new Tensor<T>(outputShape);
            if (model.Head is not null)
            {
                var dLogits = dOutput.Clone();
                ZeroPadded(dLogits, lengths, t, b, o.BatchFirst);
                dOutput = model.Head.Backward(dLogits);
            }
            // The layer computes ∂L/∂input by default (InputRequiresGradient): this runner reports it.
            var grads = model.Recurrent.Backward(dOutput, gradHidden, gradCell);
            tensors.Add(InteropTensors.Create<T>("grad.input", grads.Input!.Data, xs));
            tensors.Add(InteropTensors.Create<T>("grad.h0", grads.InitialHidden.Data, stateShape));
            if (lstm) tensors.Add(InteropTensors.Create<T>("grad.c0", grads.InitialCell!.Data, stateShape));
            foreach (var p in model.ToFileTensors(gradients: true))
                tensors.Add(new SafetensorsTensor("grad." + p.Name, p.DType, p.Shape, p.Data));
        }

        var metadata = new Dictionary<string, string>
        {
            ["gated.model"] = model.ToString(),
            ["gated.model_format"] = model.Format.ToString(),
            ["gated.batch_first"] = o.BatchFirst ? "true" : "false",
        };
        return new RunResult(new SafetensorsFile(tensors, metadata), t, b, o.BatchFirst, backward, ignored);
    }

    /// <summary>The <c>lengths</c> tensor: (B) I64 or I32, each in 1..T; null when absent.</summary>
    private static int[]? Lengths(SafetensorsFile input, int t, int b, HashSet<string> used)
    {
        if (!input.TryGet("lengths", out var tensor)) return null;
        used.Add("lengths");
        string? source = input.SourceName;
        if (tensor.DType is not (SafetensorsDType.I64 or SafetensorsDType.I32))
            throw new GatedFormatException(source, $"tensor 'lengths' is {tensor.DType.GetHeaderName()}; expected I64 or I32.");
        if (!InteropTensors.HasShape(tensor, b))
            throw new GatedFormatException(source, $"tensor 'lengths' has shape {InteropTensors.Shape(tensor.Shape)}, expected [B] = [{b}].");
        long[] values = tensor.ToInt64Array();
        var lengths = new int[b];
        for (int i = 0; i < b; i++)
        {
            if (values[i] < 1 || values[i] > t)
                throw new GatedFormatException(source, $"lengths[{i}] = {values[i].ToString(CultureInfo.InvariantCulture)} is outside 1..T = 1..{t}.");
            lengths[i] = (int)values[i];
        }
        return lengths;
    }

    /// <summary>Sets the rows of padded steps of a (T, B, n) or (B, T, n) tensor to zero.</summary>
    private static void ZeroPadded<T>(Tensor<T> tensor, int[]? lengths, int t, int b, bool batchFirst) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (lengths is null) return;
        int n = tensor.Dim(2);
        for (int row = 0; row < b; row++)
            for (int step = lengths[row]; step < t; step++)
                tensor.Data.AsSpan((batchFirst ? row * t + step : step * b + row) * n, n).Clear();
    }
}
