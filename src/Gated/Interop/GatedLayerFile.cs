using System.Numerics;
using Gated.IO;
using Gated.IO.Safetensors;
using Gated.Kernels;
using Gated.Layers;

namespace Gated.Interop;

/// <summary>
/// Gated's own file for a bare recurrent layer stack: safetensors whose tensors are the PyTorch
/// state_dict (<c>weight_ih_l0</c>, …, no prefix) in the layer's element type, and whose metadata holds
/// <c>gated.format = gated.recurrent-layer</c> and every option (<see cref="RecurrentOptionsMetadata"/>,
/// keys <c>rnn.*</c>), so nothing has to be told when it is read back. PyTorch can load the tensors
/// directly when the options are PyTorch's.
/// </summary>
public static class GatedLayerFile
{
    /// <summary>The value of the <c>gated.format</c> metadata entry.</summary>
    public const string FormatName = "gated.recurrent-layer";

    private const string OptionsPrefix = "rnn.";

    /// <summary>The layer as a safetensors file (tensors in <typeparamref name="T"/>'s dtype).</summary>
    public static ModelExport ToSafetensors<T>(RecurrentLayer<T> layer) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        var block = layer.Parameters;
        var tensors = block.Parameters.Select(p => InteropTensors.Create<T>(p.Name, block.Values.AsSpan(p.Offset, p.Length), p.Shape)).ToList();
        var metadata = new List<KeyValuePair<string, string>>
        {
            new("gated.format", FormatName),
            new("gated.format_version", "1"),
            new("format", PyTorchStateDict.FormatHint),
        };
        metadata.AddRange(RecurrentOptionsMetadata.ToMetadata(layer.Options, OptionsPrefix));
        return new ModelExport(new SafetensorsFile(tensors, metadata), []);
    }

    /// <summary>Reads a file written by <see cref="ToSafetensors{T}"/>.</summary>
    /// <exception cref="GatedFormatException">Not such a file, or a tensor is missing, misshapen or not finite.</exception>
    /// <exception cref="InteropException">An option contradicts what the file records.</exception>
    public static ImportedModel<T> Load<T>(SafetensorsFile file, ModelImportOptions? options = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(file);
        string? source = file.SourceName;
        if (!file.Metadata.TryGetValue("gated.format", out var format) || format != FormatName)
            throw new GatedFormatException(source, $"not a Gated recurrent layer file (metadata 'gated.format' is {(format is null ? "missing" : $"'{format}'")}, expected '{FormatName}').");
        var recorded = RecurrentOptionsMetadata.FromMetadata(file.Metadata, OptionsPrefix, source);
        var layer = new RecurrentLayer<T>(CheckConventions(recorded, options, source), seed: 0);
        var notes = new List<string>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        SafetensorsDType dtype = SafetensorsDType.F32;
        foreach (var p in layer.Parameters.Parameters)
        {
            if (!file.TryGet(p.Name, out var tensor)) throw new GatedFormatException(source, $"tensor '{p.Name}' is missing ({recorded}).");
            if (!InteropTensors.HasShape(tensor, p.Shape))
                throw new GatedFormatException(source, $"tensor '{p.Name}' has shape {InteropTensors.Shape(tensor.Shape)}, expected {InteropTensors.Shape(p.Shape)} ({recorded}).");
            InteropTensors.FiniteValues<T>(tensor, source).CopyTo(layer.Parameters.Value(p.Name));
            used.Add(p.Name);
            dtype = tensor.DType;
        }
        var extra = file.Tensors.Select(t => t.Name).Where(n => !used.Contains(n)).ToList();
        if (extra.Count > 0) notes.Add($"ignored {extra.Count} tensor(s) that are not parameters of the layer: {InteropTensors.List(extra)}.");
        return new ImportedModel<T>(ModelFormat.Gated, layer, "", dtype, notes, source);
    }

    /// <summary>
    /// The recorded options with the layout option applied; an explicit convention that differs from the
    /// recorded one is an error (a Gated file says how it computes).
    /// </summary>
    internal static RecurrentOptions CheckConventions(RecurrentOptions recorded, ModelImportOptions? options, string? source)
    {
        if (options is null) return recorded;
        string where = source ?? "the model file";
        if (recorded.Cell == CellKind.Gru)
        {
            if (options.UpdateGate is UpdateGateConvention u && u != recorded.Gru.UpdateGate)
                throw new InteropException($"{where} records the update-gate convention {recorded.Gru.UpdateGate}; the option asks for {u}. A Gated file says how it computes: leave the option out.");
            if (options.Reset is ResetGatePosition r && r != recorded.Gru.Reset)
                throw new InteropException($"{where} records the reset position {recorded.Gru.Reset}; the option asks for {r}. A Gated file says how it computes: leave the option out.");
        }
        if (recorded.Cell == CellKind.Rnn && options.RnnNonlinearity is Activation a && a != recorded.RnnNonlinearity)
            throw new InteropException($"{where} records the non-linearity {RecurrentOptionsMetadata.Format(recorded.RnnNonlinearity)}; the option asks for {RecurrentOptionsMetadata.Format(a)}.");
        return options.BatchFirst is bool b ? recorded with { BatchFirst = b } : recorded;
    }
}
