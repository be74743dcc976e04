using System.CommandLine;
using System.Numerics;
using Gated.Interop;
using Gated.IO.Safetensors;
using Gated.Onnx;

namespace Gated.Cli.Commands;

/// <summary>
/// <c>gated convert IN OUT [--to gated|pytorch|keras|onnx]</c>: reads a model in any supported format and writes
/// it in another (<see cref="ModelFile.Load{T}(SafetensorsFile, ModelImportOptions?)"/>, <see cref="ModelFile.Export{T}"/>,
/// <see cref="ModelFile.Load{T}(OnnxModel, ModelImportOptions?)"/>, <see cref="ModelFile.ExportOnnx{T}"/>), keeping the
/// weights' dtype. Without <c>--to</c>, an OUT ending in <c>.onnx</c> means ONNX and an IN ending in <c>.onnx</c> means
/// a Gated file. Exact re-parameterisations and what the target cannot hold are printed as notes.
/// </summary>
internal static class ConvertCommand
{
    private const string Name = "convert";

    public static Command Create()
    {
        var input = CommonOptions.InputFile("IN", "The model: a Gated file, a PyTorch state_dict or Keras weights (safetensors), or an ONNX graph of GRU/LSTM/RNN nodes (.onnx).");
        var output = new Argument<string>("OUT") { Description = "Where to write the converted model (safetensors, or .onnx for ONNX).", HelpName = "OUT" };
        output.Validators.Add(result =>
        {
            string? path = result.GetValueOrDefault<string>();
            if (path is not null && CommonOptions.CheckOutputPath("OUT", path) is string error) result.AddError(error);
        });
        var to = new Option<string?>("--to")
        {
            Description = "The target format: gated (a Gated layer file, every option recorded), pytorch (a plain state_dict), keras (kernel, recurrent_kernel, bias) or onnx (GRU/LSTM/RNN nodes, opset 14). Default: onnx when OUT ends in .onnx, gated when IN does.",
            HelpName = "gated|pytorch|keras|onnx",
        };
        to.Validators.Add(result =>
        {
            if (CommonOptions.TryGetValue(result, out string? value) && value is not null && value.ToLowerInvariant() is not ("gated" or "pytorch" or "keras" or "onnx"))
                result.AddError($"--to must be gated, pytorch, keras or onnx, got '{value}'.");
        });
        var outPrefix = new Option<string>("--out-prefix") { Description = "A prefix for the written tensor names (pytorch: e.g. gru.; keras: e.g. gru/). Default: none.", HelpName = "PREFIX", DefaultValueFactory = _ => "" };
        var initialStates = new Option<bool>("--initial-states") { Description = "ONNX: add graph inputs h0 (and c0 for an LSTM), (L·D, B, H). Default: the graph starts from zero states." };
        var sequenceLengths = new Option<bool>("--sequence-lengths") { Description = "ONNX: add a graph input sequence_lens, int32 (B), for batches of sequences of different lengths." };
        var conventions = new InteropOptions();
        var json = CommonOptions.Json();
        var command = new Command(Name, "Convert a model between Gated, PyTorch state_dict and Keras safetensors files and ONNX.")
        {
            input, output, to, outPrefix, initialStates, sequenceLengths, json,
        };
        conventions.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => Task.FromResult(CommonOptions.Guard(Name, () => Run(
            parseResult.GetValue(input)!,
            parseResult.GetValue(output)!,
            parseResult.GetValue(to)?.ToLowerInvariant(),
            parseResult.GetValue(outPrefix) ?? "",
            new OnnxExportOptions { InitialStates = parseResult.GetValue(initialStates), SequenceLengths = parseResult.GetValue(sequenceLengths) },
            conventions.Read(parseResult),
            parseResult.GetValue(json)), InteropOptions.Describe)));
        return command;
    }

    private static int Run(string inputPath, string outputPath, string? to, string outPrefix, OnnxExportOptions onnxOptions, ModelImportOptions options, bool json)
    {
        bool fromOnnx = ModelFile.IsOnnxPath(inputPath), outOnnx = ModelFile.IsOnnxPath(outputPath);
        to ??= outOnnx ? "onnx" : fromOnnx ? "gated" : null;
        if (to is null)
            return CommonOptions.Fail(Name, "give the target format with --to gated, pytorch, keras or onnx (or name OUT *.onnx for ONNX).", ExitCodes.Usage);
        if ((to == "onnx") != outOnnx)
            return CommonOptions.Fail(Name, to == "onnx"
                ? $"--to onnx writes an ONNX model; name OUT with the extension .onnx (got {outputPath})."
                : $"OUT ends in .onnx but --to {to} writes safetensors; give --to onnx or another name.", ExitCodes.Usage);
        if (to != "onnx" && (onnxOptions.InitialStates || onnxOptions.SequenceLengths))
            return CommonOptions.Fail(Name, "--initial-states and --sequence-lengths add ONNX graph inputs; they apply to --to onnx only.", ExitCodes.Usage);
        var target = to switch { "gated" => ModelFormat.Gated, "pytorch" => ModelFormat.PyTorchStateDict, "keras" => ModelFormat.Keras, _ => ModelFormat.Onnx };
        RunCommand.CheckFile(inputPath, "model");
        if (fromOnnx)
        {
            var onnx = OnnxModel.Load(inputPath);
            return ModelFile.StoredDType(onnx) == SafetensorsDType.F64
                ? Write(ModelFile.Load<double>(onnx, options), inputPath, outputPath, target, outPrefix, onnxOptions, json)
                : Write(ModelFile.Load<float>(onnx, options), inputPath, outputPath, target, outPrefix, onnxOptions, json);
        }
        var file = SafetensorsFile.Read(inputPath);
        return ModelFile.StoredDType(file) == SafetensorsDType.F64
            ? Write(ModelFile.Load<double>(file, options), inputPath, outputPath, target, outPrefix, onnxOptions, json)
            : Write(ModelFile.Load<float>(file, options), inputPath, outputPath, target, outPrefix, onnxOptions, json);
    }

    private static int Write<T>(ImportedModel<T> model, string inputPath, string outputPath, ModelFormat target, string outPrefix, OnnxExportOptions onnxOptions, bool json)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        List<string> notes = [.. model.Notes];
        List<string> written;
        string summary;
        if (target == ModelFormat.Onnx)
        {
            if (outPrefix.Length > 0) notes.Add("--out-prefix does not apply to ONNX (the graph's names are fixed: W_l0, R_l0, B_l0, …); ignored.");
            notes.AddRange(ModelFile.ExportOnnx(model, outputPath, onnxOptions));
            var check = OnnxModel.Load(outputPath);
            written = [.. check.Inputs.Select(i => i.ToString()), .. check.Outputs.Select(o => o.ToString())];
            summary = $"inputs {string.Join(", ", check.Inputs)}; outputs {string.Join(", ", check.Outputs)}";
        }
        else
        {
            var export = ModelFile.Export(model, target, outPrefix);
            export.File.Write(outputPath);
            notes.AddRange(export.Notes);
            written = [.. export.File.Tensors.Select(t => t.Name)];
            summary = $"{written.Count} tensors ({(written.Count <= 6 ? string.Join(", ", written) : $"{written[0]}, {written[1]}, …, {written[^1]}")})";
        }
        if (json)
        {
            CommonOptions.WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("input", Path.GetFullPath(inputPath));
                w.WriteString("from", InteropOptions.FormatName(model.Format));
                w.WriteString("to", InteropOptions.FormatName(target));
                w.WriteString("architecture", model.ToString());
                w.WriteString("dtype", typeof(T) == typeof(double) ? "float64" : "float32");
                w.WriteString("output", Path.GetFullPath(outputPath));
                InteropOptions.WriteStrings(w, target == ModelFormat.Onnx ? "graph" : "tensors", written);
                InteropOptions.WriteStrings(w, "notes", notes);
                w.WriteEndObject();
            });
            return ExitCodes.Success;
        }
        InteropOptions.PrintNotes(Name, notes);
        CommonOptions.Line($"[bold]Read[/]   {inputPath} ({InteropOptions.FormatName(model.Format)}): {model}");
        CommonOptions.Line($"[bold]Wrote[/]  {outputPath} ({InteropOptions.FormatName(target)}): {summary}");
        return ExitCodes.Success;
    }
}
