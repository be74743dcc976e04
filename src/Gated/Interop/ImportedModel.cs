using System.Numerics;
using Gated.IO.Safetensors;
using Gated.Layers;

namespace Gated.Interop;

/// <summary>
/// A model read from a file of any supported format, ready to run: the recurrent stack, for a music
/// model also its dense head, and how its parameters are named in the file, so that results and
/// gradients can be written back under the file's own names.
/// </summary>
/// <typeparam name="T">The element type the model computes in: <see cref="float"/> or <see cref="double"/>
/// (the stored weights are converted to it).</typeparam>
public sealed class ImportedModel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal ImportedModel(ModelFormat format, RecurrentLayer<T> recurrent, string prefix, SafetensorsDType storedDType,
        IReadOnlyList<string> notes, string? sourceName, Linear<T>? head = null)
    {
        Format = format;
        Recurrent = recurrent;
        Prefix = prefix;
        StoredDType = storedDType;
        Notes = notes;
        SourceName = sourceName;
        Head = head;
        recurrent.Training = false;
    }

    /// <summary>The format the model was read from.</summary>
    public ModelFormat Format { get; }

    /// <summary>The recurrent stack, in evaluation mode (no dropout).</summary>
    public RecurrentLayer<T> Recurrent { get; }

    /// <summary>The dense head of a music model (applied to every step's output), else null.</summary>
    public Linear<T>? Head { get; }

    /// <summary>The prefix of the recurrent parameters' names in the file: <c>""</c>, <c>gru.</c>, <c>rnn.</c>, <c>gru/</c>, …</summary>
    public string Prefix { get; }

    /// <summary>The element type of the weights in the file (they were converted to <typeparamref name="T"/>).</summary>
    public SafetensorsDType StoredDType { get; }

    /// <summary>What the reader decided that the user should know: tensors it ignored, defaults it assumed.</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>The file the model was read from, when known.</summary>
    public string? SourceName { get; }

    /// <summary>Features of every output step: the head's outputs for a music model, else D·H.</summary>
    public int OutputSize => Head?.OutputSize ?? Recurrent.Options.OutputSize;

    /// <summary>
    /// The parameters (or, with <paramref name="gradients"/>, their gradients) as tensors named and laid
    /// out as in the file: PyTorch state_dict names with the file's prefix, or Keras' <c>kernel</c>,
    /// <c>recurrent_kernel</c>, <c>bias</c> in Keras' layout.
    /// </summary>
    public IReadOnlyList<SafetensorsTensor> ToFileTensors(bool gradients)
    {
        var tensors = new List<SafetensorsTensor>();
        if (Format == ModelFormat.Keras)
        {
            tensors.AddRange(KerasFile.LayerTensors(Recurrent, gradients ? Recurrent.Parameters.Gradients : Recurrent.Parameters.Values, Prefix));
        }
        else
        {
            AddBlock(tensors, Recurrent.Parameters, Prefix, gradients);
            if (Head is not null) AddBlock(tensors, Head.Parameters, "head.", gradients);
        }
        return tensors;
    }

    /// <inheritdoc/>
    public override string ToString() => Head is null ? Recurrent.Options.ToString() : $"{Recurrent.Options} → {Head}";

    private static void AddBlock(List<SafetensorsTensor> tensors, Memory.ParameterBlock<T> block, string prefix, bool gradients)
    {
        T[] source = gradients ? block.Gradients : block.Values;
        foreach (var p in block.Parameters)
            tensors.Add(InteropTensors.Create<T>(prefix + p.Name, source.AsSpan(p.Offset, p.Length), p.Shape));
    }
}

/// <summary>A model written to another format, with what the writer had to change or could not record.</summary>
/// <param name="File">The file to write.</param>
/// <param name="Notes">Exact re-parameterisations made (e.g. take-candidate → keep-previous), dropped parts, options a reader must be told.</param>
public sealed record ModelExport(SafetensorsFile File, IReadOnlyList<string> Notes);
