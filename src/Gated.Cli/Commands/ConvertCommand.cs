using System.CommandLine;
using System.Numerics;
using Gated.Interop;
using Gated.IO.Safetensors;

namespace Gated.Cli.Commands;

/// <summary>
/// <c>gated convert IN OUT --to gated|pytorch|keras</c>: reads a model in any supported format and writes
/// it in another (<see cref="ModelFile.Load{T}(SafetensorsFile, ModelImportOptions?)"/>, <see cref="ModelFile.Export{T}"/>),
/// keeping the weights' dtype. Exact re-parameterisations and what the target cannot hold are printed as notes.
/// </summary>
internal static class ConvertCommand
{
    private const string Name = "convert";

    public static Command Create()
    {
        var input = CommonOptions.InputFile("IN", "The model: a Gated file, a PyTorch state_dict or Keras weights (safetensors).");
        var output = new Argument<string>("OUT") { Description = "Where to write the converted model (safetensors).", HelpName = "OUT" };
        output.Validators.Add(result =>
        {
            string? path = result.GetValueOrDefault<string>();
            if (path is not null && CommonOptions.CheckOutputPath("OUT", path) is string error) result.AddError(error);
        });
        var to = new Option<string>("--to")
        {
            Description = "The target format: gated (a Gated layer file, every option recorded), pytorch (a plain state_dict), keras (kernel, recurrent_kernel, bias) or onnx (not in this build).",
            HelpName = "gated|pytorch|keras|onnx",
            Required = true,
        };
        to.Validators.Add(result =>
        {
            if (CommonOptions.TryGetValue(result, out string? value) && value is not null && value.ToLowerInvariant() is not ("gated" or "pytorch" or "keras" or "onnx"))
                result.AddError($"--to must be gated, pytorch, keras or onnx, got '{value}'.");
        });
        var outPrefix = new Option<string>("--out-prefix") { Description = "A prefix for the written tensor names (pytorch: e.g. gru.; keras: e.g. gru/). Default: none.", HelpName = "PREFIX", DefaultValueFactory = _ => "" };
        var conventions = new InteropOptions();
        var json = CommonOptions.Json();
        var command = new Command(Name, "Convert a model between Gated, PyTorch state_dict and Keras safetensors files.")
        {
            input, output, to, outPrefix, json,
        };
        conventions.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => Task.FromResult(CommonOptions.Guard(Name, () => Run(
            parseResult.GetValue(input)!,
            parseResult.GetValue(output)!,
            parseResult.GetValue(to)!.ToLowerInvariant(),
            parseResult.GetValue(outPrefix) ?? "",
            conventions.Read(parseResult),
            parseResult.GetValue(json)), InteropOptions.Describe)));
        return command;
    }

    private static int Run(string inputPath, string outputPath, string to, string outPrefix, ModelImportOptions options, bool json)
    {
        RunCommand.CheckFile(inputPath, "model");
        if (to == "onnx" || ModelFile.IsOnnxPath(inputPath) || ModelFile.IsOnnxPath(outputPath))
            return CommonOptions.Fail(Name, ModelFile.OnnxUnavailable);
        var file = SafetensorsFile.Read(inputPath);
        var target = to switch { "gated" => ModelFormat.Gated, "pytorch" => ModelFormat.PyTorchStateDict, _ => ModelFormat.Keras };
        return ModelFile.StoredDType(file) == SafetensorsDType.F64
            ? Run<double>(file, outputPath, target, outPrefix, options, json)
            : Run<float>(file, outputPath, target, outPrefix, options, json);
    }

    private static int Run<T>(SafetensorsFile file, string outputPath, ModelFormat target, string outPrefix, ModelImportOptions options, bool json) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var model = ModelFile.Load<T>(file, options);
        var export = ModelFile.Export(model, target, outPrefix);
        export.File.Write(outputPath);
        var notes = model.Notes.Concat(export.Notes).ToList();
        if (json)
        {
            CommonOptions.WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("input", Path.GetFullPath(file.SourceName ?? ""));
                w.WriteString("from", InteropOptions.FormatName(model.Format));
                w.WriteString("to", InteropOptions.FormatName(target));
                w.WriteString("architecture", model.ToString());
                w.WriteString("dtype", typeof(T) == typeof(double) ? "float64" : "float32");
                w.WriteString("output", Path.GetFullPath(outputPath));
                InteropOptions.WriteStrings(w, "tensors", export.File.Tensors.Select(t => t.Name));
                InteropOptions.WriteStrings(w, "notes", notes);
                w.WriteEndObject();
            });
            return ExitCodes.Success;
        }
        InteropOptions.PrintNotes(Name, notes);
        CommonOptions.Line($"[bold]Read[/]   {file.SourceName} ({InteropOptions.FormatName(model.Format)}): {model}");
        var names = export.File.Tensors.Select(t => t.Name).ToList();
        string list = names.Count <= 6 ? string.Join(", ", names) : $"{names[0]}, {names[1]}, …, {names[^1]}";
        CommonOptions.Line($"[bold]Wrote[/]  {outputPath} ({InteropOptions.FormatName(target)}): {names.Count} tensors ({list})");
        return ExitCodes.Success;
    }
}
