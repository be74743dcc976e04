using System.Numerics;
using Gated.IO;
using Gated.IO.Safetensors;
using Gated.Layers;
using Gated.Models;
using Gated.Onnx;

namespace Gated.Interop;

/// <summary>
/// The one entry point for model files of every format: detects the format, reads it into an
/// <see cref="ImportedModel{T}"/>, writes a model in another format. Commands such as
/// <c>gated run</c> and <c>gated convert</c> go through here, so a new format (ONNX) is added in this class.
/// </summary>
public static class ModelFile
{
    /// <summary>Whether a path names an ONNX model (by its extension).</summary>
    public static bool IsOnnxPath(string path) => Path.GetExtension(path).Equals(".onnx", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The format of a safetensors file: Gated's metadata first (<c>gated.format</c>), then Keras names
    /// (<c>recurrent_kernel</c>), then PyTorch names (<c>weight_ih_l0</c>).
    /// </summary>
    /// <exception cref="GatedFormatException">The file is none of these.</exception>
    public static ModelFormat Detect(SafetensorsFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (file.Metadata.TryGetValue("gated.format", out var format))
        {
            return format switch
            {
                GatedLayerFile.FormatName => ModelFormat.Gated,
                MusicModel.FormatName => ModelFormat.GatedMusicModel,
                _ => throw new GatedFormatException(file.SourceName, $"a Gated file of kind '{format}', not a model."),
            };
        }
        if (KerasFile.LooksLikeKeras(file)) return ModelFormat.Keras;
        if (PyTorchStateDict.LooksLikeStateDict(file)) return ModelFormat.PyTorchStateDict;
        throw new GatedFormatException(file.SourceName,
            $"not a model: no Gated metadata, no PyTorch recurrent tensors (weight_ih_l0, …) and no Keras recurrent_kernel; the file holds {InteropTensors.List(file.Tensors.Select(t => t.Name))}.");
    }

    /// <summary>
    /// Reads a model file of any supported format. An <c>.onnx</c> file (or <see cref="ModelImportOptions.Format"/> =
    /// <see cref="ModelFormat.Onnx"/>) is read as <see cref="Load{T}(OnnxModel, ModelImportOptions?)"/> does.
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="GatedFormatException">The file is not a model Gated can read (for ONNX: not a graph Gated can hold as a
    /// recurrent layer); the message names the file and the problem.</exception>
    /// <exception cref="InteropException">An option contradicts the file.</exception>
    public static ImportedModel<T> Load<T>(string path, ModelImportOptions? options = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (IsOnnxPath(path) || options?.Format == ModelFormat.Onnx) return Load<T>(OnnxModel.Load(path), options);
        return Load<T>(SafetensorsFile.Read(path), options);
    }

    /// <summary>
    /// Reads an ONNX graph as a Gated recurrent layer when it is one Gated can hold exactly: GRU, LSTM or RNN nodes,
    /// one per layer, chained through nodes that only move data (as Gated's <see cref="OnnxExporter"/> and
    /// <c>torch.onnx.export</c> write them), with fixed weights and attributes a <see cref="RecurrentLayer{T}"/> has.
    /// The weights are copied exactly (gate blocks reordered); that the nodes around them only move data is checked by
    /// running the graph and the layer side by side on a random input (docs/onnx.md, "ONNX to Gated").
    /// </summary>
    /// <exception cref="GatedFormatException">"this graph has no Gated form: &lt;reason&gt;", naming the file.</exception>
    /// <exception cref="InteropException">An option contradicts the graph (an ONNX graph says how it computes).</exception>
    public static ImportedModel<T> Load<T>(OnnxModel model, ModelImportOptions? options = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(model);
        return OnnxStackReader.Read(model, options).ToImported<T>();
    }

    /// <summary>The element type of an ONNX model's weights: F64 when an initializer or constant is float64, else F32.</summary>
    public static SafetensorsDType StoredDType(OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.HoldsFloat64 ? SafetensorsDType.F64 : SafetensorsDType.F32;
    }

    /// <summary>Reads a model from a safetensors file in memory.</summary>
    /// <exception cref="GatedFormatException">The file is not a model Gated can read.</exception>
    /// <exception cref="InteropException">An option contradicts the file.</exception>
    public static ImportedModel<T> Load<T>(SafetensorsFile file, ModelImportOptions? options = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(file);
        var format = options?.Format ?? Detect(file);
        return format switch
        {
            ModelFormat.Gated => GatedLayerFile.Load<T>(file, options),
            ModelFormat.GatedMusicModel => LoadMusicModel<T>(file, options),
            ModelFormat.PyTorchStateDict => PyTorchStateDict.Load<T>(file, options),
            ModelFormat.Keras => KerasFile.Load<T>(file, options),
            _ => throw new GatedFormatException(file.SourceName, "this is a safetensors file, not an ONNX model; leave the format to be detected."),
        };
    }

    /// <summary>The element type a model file stores its weights in: F64 when any floating-point tensor is F64, else F32.</summary>
    public static SafetensorsDType StoredDType(SafetensorsFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return file.Tensors.Any(t => t.DType == SafetensorsDType.F64) ? SafetensorsDType.F64 : SafetensorsDType.F32;
    }

    /// <summary>
    /// Writes a model in another format. A music model's dense head goes to a PyTorch state_dict as
    /// <c>head.weight</c>, <c>head.bias</c> (with the stack under <c>rnn.</c>) and is dropped, with a
    /// note, for the other formats, which hold one recurrent layer stack.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="target">Gated, PyTorchStateDict or Keras.</param>
    /// <param name="prefix">A prefix for the written tensor names (PyTorch, Keras); "" for none.</param>
    /// <exception cref="InteropException">The model has no form in <paramref name="target"/>, or the target is ONNX (written by <see cref="ExportOnnx{T}"/>).</exception>
    public static ModelExport Export<T>(ImportedModel<T> model, ModelFormat target, string prefix = "") where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prefix);
        var layer = model.Recurrent;
        string dropped = "the music model's dense head (head.weight, head.bias) was not written: the target holds a recurrent layer only.";
        switch (target)
        {
            case ModelFormat.Gated:
            {
                var export = GatedLayerFile.ToSafetensors(layer);
                return model.Head is null ? export : export with { Notes = [.. export.Notes, dropped] };
            }
            case ModelFormat.PyTorchStateDict:
            {
                if (model.Head is null) return PyTorchStateDict.ToSafetensors(layer, prefix);
                string stack = prefix.Length == 0 ? "rnn." : prefix;
                var export = PyTorchStateDict.ToSafetensors(layer, stack);
                var tensors = export.File.Tensors.ToList();
                var head = model.Head.Parameters;
                foreach (var p in head.Parameters)
                    tensors.Add(InteropTensors.Create<T>("head." + p.Name, head.Values.AsSpan(p.Offset, p.Length), p.Shape));
                return new ModelExport(new SafetensorsFile(tensors, export.File.Metadata),
                    [.. export.Notes, $"the recurrent stack is under '{stack}' and the dense head under 'head.' (an nn.Linear({head.Info("weight").Shape[1]}, {head.Info("weight").Shape[0]}))."]);
            }
            case ModelFormat.Keras:
            {
                var export = KerasFile.ToSafetensors(layer, prefix);
                return model.Head is null ? export : export with { Notes = [.. export.Notes, dropped] };
            }
            case ModelFormat.GatedMusicModel:
                throw new InteropException("a music model is written by 'gated train'; convert to a Gated layer file, a PyTorch state_dict or Keras weights.");
            default:
                throw new InteropException("an ONNX model is not a safetensors file; write it with ModelFile.ExportOnnx.");
        }
    }

    /// <summary>
    /// Writes a model as an ONNX file with <see cref="OnnxExporter"/>: the recurrent stack (GRU / LSTM / RNN nodes) and,
    /// for a music model, its dense head and sigmoid (outputs <c>probabilities</c>, <c>logits</c>).
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="path">The <c>.onnx</c> file to write (atomically).</param>
    /// <param name="options">Extra graph inputs (<c>h0</c>/<c>c0</c>, <c>sequence_lens</c>); null for none.</param>
    /// <returns>Notes: exact re-parameterisations the export made, what the graph does not hold.</returns>
    /// <exception cref="InteropException">The model has no ONNX form (a GRU ablation, a take-candidate GRU whose gate activation has no exact conversion).</exception>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public static IReadOnlyList<string> ExportOnnx<T>(ImportedModel<T> model, string path, OnnxExportOptions? options = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var layer = model.Recurrent;
        var o = layer.Options;
        options ??= new OnnxExportOptions();
        Onnx.Proto.ModelProto proto;
        try
        {
            proto = model.Head is null ? OnnxExporter.ToModel(layer, options) : OnnxExporter.ToModel(layer, model.Head, options, $"Gated {model}");
        }
        catch (ArgumentException ex)
        {
            throw new InteropException(ex.Message);
        }
        OnnxExporter.Write(proto, path);

        var notes = new List<string>();
        if (o.Cell == CellKind.Gru && o.Gru.UpdateGate == UpdateGateConvention.TakeCandidate)
            notes.Add("the take-candidate GRU was written as ONNX's keep-previous GRU with its update-gate rows negated (the same function, docs/equations.md §2.2).");
        if (o.Bias == BiasMode.InputOnly)
            notes.Add("the one-bias layer was written with a zero recurrent bias (ONNX's B holds both); read back, it has both biases.");
        if (o.Dropout > 0)
            notes.Add($"dropout ({o.Dropout.ToString(System.Globalization.CultureInfo.InvariantCulture)}) is not in the graph (an inference graph).");
        if (model.Head is not null)
            notes.Add("the dense head is in the graph: outputs 'probabilities' (sigmoid) and 'logits', then 'h_n'" + (o.Cell == CellKind.Lstm ? " and 'c_n'." : "."));
        return notes;
    }

    /// <summary>A music model's stack and head in <typeparamref name="T"/> (its weights are float32).</summary>
    private static ImportedModel<T> LoadMusicModel<T>(SafetensorsFile file, ModelImportOptions? options) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var music = MusicModel.FromSafetensors(file);
        if (music.Nade is not null)
            throw new InteropException(NadeHasNoExport);
        var recurrent = new RecurrentLayer<T>(GatedLayerFile.CheckConventions(music.Recurrent.Options, options, file.SourceName), seed: 0);
        Copy(music.Recurrent.Parameters.Values, recurrent.Parameters.Values);
        var head = new Linear<T>(music.Head.InputSize, music.Head.OutputSize, seed: 0);
        Copy(music.Head.Parameters.Values, head.Parameters.Values);
        return new ImportedModel<T>(ModelFormat.GatedMusicModel, recurrent, "rnn.", SafetensorsDType.F32, [], file.SourceName, head);
    }

    /// <summary>Why a music model with a NADE output cannot be converted, exported or run by ModelFile.</summary>
    internal const string NadeHasNoExport =
        "this music model has a NADE output distribution (gated train --output nade), which ONNX, PyTorch state_dict, Keras and Gated layer files cannot hold: "
        + "its sampling and likelihood are a loop over the 88 keys, not a dense layer. Use it with 'gated eval' and 'gated sample', or train with --output sigmoid to export.";

    private static void Copy<T>(float[] from, T[] to) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < from.Length; i++) to[i] = T.CreateChecked(from[i]);
    }
}
