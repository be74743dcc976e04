using System.CommandLine;
using System.Numerics;
using Gated.Interop;
using Gated.IO;
using Gated.IO.Safetensors;

namespace Gated.Cli.Commands;

/// <summary>
/// <c>gated run MODEL --input IN --output OUT</c>: runs a model (Gated, PyTorch state_dict or Keras
/// safetensors; ONNX through <see cref="ModelFile"/> once it is built in) on the raw tensors of IN and
/// writes the outputs, and the gradients when IN holds upstream gradients, to OUT. The work is
/// <see cref="ModelFile.Load{T}(string, ModelImportOptions?)"/> and <see cref="ModelRunner.Run{T}"/>; this class reads, writes and prints.
/// </summary>
internal static class RunCommand
{
    private const string Name = "run";

    public static Command Create()
    {
        var model = CommonOptions.InputFile("MODEL", "The model: a Gated file (a layer or a music model), a PyTorch state_dict or Keras weights as safetensors.");
        var input = new Option<string>("--input", "-i") { Description = "Safetensors with 'input' (T, B, I), optional 'h0', 'c0', 'lengths', and 'grad_output', 'grad_h_n', 'grad_c_n' for gradients.", HelpName = "PATH", Required = true };
        var output = CommonOptions.OutputFile("--output", "Where to write 'output', 'h_n', 'c_n' and the gradients 'grad.*' (safetensors).", required: true, aliases: "-o");
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
        if (ModelFile.IsOnnxPath(modelPath)) return CommonOptions.Fail(Name, $"{modelPath}: {ModelFile.OnnxUnavailable}");
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

    /// <summary>A clear message for a missing file or a folder, before any reader sees it.</summary>
    internal static void CheckFile(string path, string what)
    {
        if (Directory.Exists(path)) throw new GatedFormatException(path, $"this is a folder; give the {what} file.");
        if (!File.Exists(path)) throw new FileNotFoundException($"{what} file not found: {path}", path);
    }
}
