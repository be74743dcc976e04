using System.CommandLine;
using System.Numerics;
using Gated.Interop;
using Gated.IO;
using Gated.IO.Safetensors;
using Gated.Onnx;

namespace Gated.Cli.Commands;

/// <summary>
/// <c>gated run MODEL --input IN --output OUT</c>: runs a model (Gated, PyTorch state_dict or Keras
/// safetensors, or an ONNX graph) on the raw tensors of IN and writes the outputs, and for a safetensors
/// model the gradients when IN holds upstream gradients, to OUT. The work is
/// <see cref="ModelFile.Load{T}(string, ModelImportOptions?)"/> and <see cref="ModelRunner.Run{T}"/>, or
/// <see cref="OnnxModel.Load(string)"/> and <see cref="OnnxRunner.Run"/>; this class reads, writes and prints.
/// </summary>
internal static class RunCommand
{
    private const string Name = "run";

    public static Command Create()
    {
        var model = CommonOptions.InputFile("MODEL", "The model: a Gated file (a layer or a music model), a PyTorch state_dict or Keras weights as safetensors, or an ONNX graph (.onnx).");
        var input = new Option<string>("--input", "-i") { Description = "Safetensors with 'input' (T, B, I), optional 'h0', 'c0', 'lengths', and 'grad_output', 'grad_h_n', 'grad_c_n' for gradients; for an ONNX model, one tensor per graph input, by name.", HelpName = "PATH", Required = true };
        var output = CommonOptions.OutputFile("--output", "Where to write 'output', 'h_n', 'c_n' and the gradients 'grad.*' (safetensors); for an ONNX model, the graph outputs by name.", required: true, aliases: "-o");
        var conventions = new InteropOptions();
        var json = CommonOptions.Json();
        var command = new Command(Name, "Run a model on raw tensors from a safetensors file: outputs, final states and, given upstream gradients, every gradient.")
        {
            model, input, output, json,
        };
        conventions.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => Task.FromResult(CommonOptions.Guard(Name, () => Run(
            parseResult.GetValue(model)!,
            parseResult.GetValue(input)!,
            parseResult.GetValue(output)!,
            conventions.Read(parseResult),
            parseResult.GetValue(json)), InteropOptions.Describe)));
        return command;
    }

    private static int Run(string modelPath, string inputPath, string outputPath, ModelImportOptions options, bool json)
    {
        CheckFile(modelPath, "model");
        if (ModelFile.IsOnnxPath(modelPath)) return RunOnnx(modelPath, inputPath, outputPath, options, json);
        CheckFile(inputPath, "input");
        var input = SafetensorsFile.Read(inputPath);
        return ModelRunner.InputDType(input) == SafetensorsDType.F64
            ? Run<double>(modelPath, input, outputPath, options, json)
            : Run<float>(modelPath, input, outputPath, options, json);
    }

    private static int Run<T>(string modelPath, SafetensorsFile input, string outputPath, ModelImportOptions options, bool json) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var model = ModelFile.Load<T>(modelPath, options);
        var result = ModelRunner.Run(model, input);
        result.Output.Write(outputPath);
        var notes = model.Notes.ToList();
        if (result.IgnoredInputs.Count > 0) notes.Add($"ignored {result.IgnoredInputs.Count} tensor(s) of the input file: {string.Join(", ", result.IgnoredInputs)}.");

        if (json)
        {
            CommonOptions.WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("model", Path.GetFullPath(modelPath));
                w.WriteString("format", InteropOptions.FormatName(model.Format));
                w.WriteString("architecture", model.ToString());
                w.WriteString("dtype", typeof(T) == typeof(double) ? "float64" : "float32");
                w.WriteNumber("steps", result.Steps);
                w.WriteNumber("batch", result.Batch);
                w.WriteBoolean("batch_first", result.BatchFirst);
                w.WriteBoolean("gradients", result.Gradients);
                w.WriteString("output", Path.GetFullPath(outputPath));
                InteropOptions.WriteStrings(w, "tensors", result.Output.Tensors.Select(t => t.Name));
                InteropOptions.WriteStrings(w, "notes", notes);
                w.WriteEndObject();
            });
            return ExitCodes.Success;
        }
        InteropOptions.PrintNotes(Name, notes);
        CommonOptions.Line($"[bold]Model[/]   {modelPath} ({InteropOptions.FormatName(model.Format)}): {model}");
        CommonOptions.Line($"[bold]Input[/]   {input.SourceName ?? "input"}: T = {result.Steps}, B = {result.Batch}{(result.BatchFirst ? ", batch-first" : "")}, {(typeof(T) == typeof(double) ? "float64" : "float32")}");
        CommonOptions.Line($"[bold]Output[/]  {outputPath}: {result.Output.Tensors.Count} tensors ({(result.Gradients ? "outputs and gradients" : "outputs; no grad_output in the input, so no gradients")})");
        return ExitCodes.Success;
    }

    /// <summary>An ONNX graph on tensors bound by name; no gradients (a note says so when IN asks for them).</summary>
    private static int RunOnnx(string modelPath, string inputPath, string outputPath, ModelImportOptions options, bool json)
    {
        if (options != new ModelImportOptions())
            return CommonOptions.Fail(Name, $"{modelPath}: the convention options (--batch-first, --update-gate, --reset, --nonlinearity, --prefix, --activation, --recurrent-activation) do not apply to an ONNX model; the graph says how it computes and its inputs are bound by name. Leave them out.");
        var model = OnnxModel.Load(modelPath);
        CheckFile(inputPath, "input");
        var input = SafetensorsFile.Read(inputPath);
        var result = OnnxRunner.Run(model, input);
        result.Output.Write(outputPath);
        string dtype = result.DType == SafetensorsDType.F64 ? "float64" : "float32";
        if (json)
        {
            CommonOptions.WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("model", Path.GetFullPath(modelPath));
                w.WriteString("format", "onnx");
                w.WriteNumber("opset", model.OpsetVersion);
                w.WriteString("producer", model.ProducerName);
                w.WriteString("dtype", dtype);
                InteropOptions.WriteStrings(w, "inputs", result.BoundInputs);
                w.WriteBoolean("gradients", false);
                w.WriteString("output", Path.GetFullPath(outputPath));
                InteropOptions.WriteStrings(w, "tensors", result.Output.Tensors.Select(t => t.Name));
                InteropOptions.WriteStrings(w, "notes", result.Notes);
                w.WriteEndObject();
            });
            return ExitCodes.Success;
        }
        InteropOptions.PrintNotes(Name, result.Notes);
        CommonOptions.Line($"[bold]Model[/]   {modelPath} (onnx, opset {model.OpsetVersion}{(model.ProducerName.Length > 0 ? $", from {model.ProducerName}" : "")}): {string.Join(", ", model.Operators)}");
        CommonOptions.Line($"[bold]Input[/]   {input.SourceName ?? "input"}: {string.Join(", ", result.BoundInputs.Select(n => Describe(input[n])))}; ran in {dtype}");
        CommonOptions.Line($"[bold]Output[/]  {outputPath}: {string.Join(", ", result.Output.Tensors.Select(Describe))}");
        return ExitCodes.Success;
    }

    /// <summary><c>name F32[5, 3, 4]</c>.</summary>
    private static string Describe(SafetensorsTensor t) => $"{t.Name} {t.DType.GetHeaderName()}[{string.Join(", ", t.Shape)}]";

    /// <summary>A clear message for a missing file or a folder, before any reader sees it.</summary>
    internal static void CheckFile(string path, string what)
    {
        if (Directory.Exists(path)) throw new GatedFormatException(path, $"this is a folder; give the {what} file.");
        if (!File.Exists(path)) throw new FileNotFoundException($"{what} file not found: {path}", path);
    }
}
