using System.Numerics;
using System.Text.RegularExpressions;
using Gated.IO;
using Gated.IO.Safetensors;
using Gated.Kernels;
using Gated.Layers;

namespace Gated.Interop;

/// <summary>
/// One Keras GRU, LSTM or SimpleRNN layer stored as safetensors under Keras' variable names
/// <c>kernel</c>, <c>recurrent_kernel</c> and <c>bias</c>, optionally under a layer prefix
/// (<c>gru/</c>, <c>model/gru/gru_cell/</c>, <c>lstm.</c>; a TensorFlow <c>:0</c> suffix is accepted).
/// </summary>
/// <remarks>
/// <para>The cell and sizes come from the shapes (<c>recurrent_kernel</c> (u, G·u): G = 3 GRU, 4 LSTM,
/// 1 SimpleRNN); a GRU's <c>reset_after</c> from its bias, (2, 3u) or (3u). The activations are not in the
/// weights: they come from <see cref="ModelImportOptions.Activation"/> and
/// <see cref="ModelImportOptions.RecurrentActivation"/>, else from the hints a file written by
/// <see cref="ToSafetensors{T}"/> carries, else Keras' defaults (tanh, sigmoid), with a note.</para>
/// <para>Tensors outside the chosen prefix are ignored and listed in the notes. The layout conversion is
/// <see cref="KerasLayout"/>'s.</para>
/// </remarks>
public static partial class KerasFile
{
    private const string HintPrefix = "gated.keras.";

    [GeneratedRegex(@"^(?<prefix>(?:.*[/.])?)(?<name>kernel|recurrent_kernel|bias)(?::0)?$", RegexOptions.CultureInvariant)]
    private static partial Regex VariableName();

    /// <summary>Whether a file holds a Keras <c>recurrent_kernel</c> (optionally prefixed).</summary>
    public static bool LooksLikeKeras(SafetensorsFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return file.Tensors.Any(t => VariableName().Match(t.Name) is { Success: true } m && m.Groups["name"].Value == "recurrent_kernel");
    }

    /// <summary>Reads one Keras layer's weights from a safetensors file into a Gated layer computing in <typeparamref name="T"/>.</summary>
    /// <exception cref="GatedFormatException">The tensors do not describe a Keras recurrent layer; the message names the file and the tensor.</exception>
    /// <exception cref="InteropException">An option contradicts the file (e.g. <c>--reset before</c> with a (2, 3u) bias).</exception>
    public static ImportedModel<T> Load<T>(SafetensorsFile file, ModelImportOptions? options = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(file);
        options ??= new ModelImportOptions();
        string? source = file.SourceName;
        var notes = new List<string>();

        var groups = new Dictionary<string, Dictionary<string, SafetensorsTensor>>(StringComparer.Ordinal);
        foreach (var t in file.Tensors)
        {
            var m = VariableName().Match(t.Name);
            if (!m.Success) continue;
            string prefix = m.Groups["prefix"].Value;
            if (!groups.TryGetValue(prefix, out var group)) groups[prefix] = group = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
            if (!group.TryAdd(m.Groups["name"].Value, t))
                throw new GatedFormatException(source, $"two tensors are Keras' '{m.Groups["name"].Value}' under {InteropTensors.Prefix(prefix)} ('{group[m.Groups["name"].Value].Name}' and '{t.Name}').");
        }
        var layers = groups.Where(g => g.Value.ContainsKey("recurrent_kernel")).Select(g => g.Key).Order(StringComparer.Ordinal).ToList();
        string chosen;
        if (options.Prefix is string requested)
        {
            chosen = new[] { requested, requested + "/", requested + "." }.FirstOrDefault(p => layers.Contains(p, StringComparer.Ordinal))
                ?? throw new GatedFormatException(source, layers.Count == 0
                    ? $"no Keras recurrent_kernel at all, so none with the prefix '{requested}'."
                    : $"no Keras recurrent_kernel with the prefix '{requested}'; the file has one under {string.Join(", ", layers.Select(InteropTensors.Prefix))}.");
        }
        else if (layers.Count == 1) chosen = layers[0];
        else if (layers.Count == 0)
            throw new GatedFormatException(source, $"no Keras recurrent layer weights (kernel, recurrent_kernel, bias); the file holds {InteropTensors.List(file.Tensors.Select(t => t.Name))}.");
        else
            throw new GatedFormatException(source, $"the file holds several Keras recurrent layers ({string.Join(", ", layers.Select(p => $"'{p}'"))}); choose one with --prefix.");

        var tensors = groups[chosen];
        var ignored = file.Tensors.Select(t => t.Name).Where(n => !tensors.Values.Any(t => t.Name == n)).ToList();
        if (ignored.Count > 0) notes.Add($"ignored {ignored.Count} tensor(s) outside the Keras layer ({InteropTensors.Prefix(chosen)}): {InteropTensors.List(ignored)}.");
        if (!tensors.TryGetValue("kernel", out var kernel))
            throw new GatedFormatException(source, $"tensor '{chosen}kernel' is missing (the layer has a recurrent_kernel).");
        var recurrent = tensors["recurrent_kernel"];
        tensors.TryGetValue("bias", out var bias);

        if (recurrent.Rank != 2 || recurrent.Shape[0] <= 0 || recurrent.Shape[1] % recurrent.Shape[0] != 0 || (recurrent.Shape[1] / recurrent.Shape[0]) is not (1 or 3 or 4))
            throw new GatedFormatException(source, $"tensor '{recurrent.Name}' has shape {InteropTensors.Shape(recurrent.Shape)}; expected (u, G·u) with G = 3 (GRU), 4 (LSTM) or 1 (SimpleRNN).");
        long units = recurrent.Shape[0], gates = recurrent.Shape[1] / units;
        var cell = gates switch { 3 => CellKind.Gru, 4 => CellKind.Lstm, _ => CellKind.Rnn };
        if (kernel.Rank != 2 || kernel.Shape[1] != recurrent.Shape[1] || kernel.Shape[0] <= 0)
            throw new GatedFormatException(source, $"tensor '{kernel.Name}' has shape {InteropTensors.Shape(kernel.Shape)}, expected [I, {recurrent.Shape[1]}] to match '{recurrent.Name}'.");
        if (units > int.MaxValue / 4 || kernel.Shape[0] > int.MaxValue)
            throw new GatedFormatException(source, $"tensor '{kernel.Name}' is too large.");

        bool resetAfter = true;
        if (cell == CellKind.Gru)
        {
            bool? fromBias = bias is null ? null
                : InteropTensors.HasShape(bias, 2, (int)(3 * units)) ? true
                : InteropTensors.HasShape(bias, (int)(3 * units)) ? false
                : throw new GatedFormatException(source, $"tensor '{bias.Name}' has shape {InteropTensors.Shape(bias.Shape)}; a Keras GRU's bias is [2, {3 * units}] (reset_after=True) or [{3 * units}] (reset_after=False).");
            bool? fromOption = options.Reset is ResetGatePosition r ? r == ResetGatePosition.AfterProduct : null;
            bool? fromHint = file.Metadata.TryGetValue(HintPrefix + "reset_after", out var h) ? h == "true" : null;
            if (fromBias is bool b && fromOption is bool o && b != o)
                throw new InteropException($"{source ?? "the file"}: the bias shape {InteropTensors.Shape(bias!.Shape)} says reset_after={(b ? "True" : "False")}, which contradicts --reset {(o ? "after" : "before")}.");
            resetAfter = fromBias ?? fromOption ?? fromHint ?? true;
            if (options.UpdateGate == UpdateGateConvention.TakeCandidate)
                throw new InteropException("Keras GRUs keep the past with z (keep-previous); --update-gate take-candidate does not apply to Keras weights.");
        }
        else if (bias is not null && !InteropTensors.HasShape(bias, (int)(gates * units)))
        {
            throw new GatedFormatException(source, $"tensor '{bias.Name}' has shape {InteropTensors.Shape(bias.Shape)}, expected [{gates * units}].");
        }

        Activation Pick(Activation? given, string key, Activation fallback, string kerasName)
        {
            if (given is Activation a) return a;
            if (file.Metadata.TryGetValue(HintPrefix + key, out var text))
                return RecurrentOptionsMetadata.TryParse(text, out var hinted) ? hinted
                    : throw new GatedFormatException(source, $"metadata '{HintPrefix + key}' = '{text}' is not an activation.");
            notes.Add($"assumed Keras' default {kerasName}={RecurrentOptionsMetadata.Format(fallback)}.");
            return fallback;
        }
        var activation = Pick(options.Activation ?? (cell == CellKind.Rnn ? options.RnnNonlinearity : null), "activation", Activation.Tanh, "activation");
        var recurrentActivation = cell == CellKind.Rnn ? Activation.Sigmoid : Pick(options.RecurrentActivation, "recurrent_activation", Activation.Sigmoid, "recurrent_activation");

        var weights = new KerasWeights<T>(cell, (int)kernel.Shape[0], (int)units,
            InteropTensors.FiniteValues<T>(kernel, source), InteropTensors.FiniteValues<T>(recurrent, source),
            bias is null ? null : InteropTensors.FiniteValues<T>(bias, source))
        {
            ResetAfter = resetAfter,
            Activation = activation,
            RecurrentActivation = recurrentActivation,
        };
        RecurrentLayer<T> layer;
        try { layer = KerasLayout.ToLayer(weights, options.BatchFirst ?? false); }
        catch (ArgumentException e) { throw new InteropException($"the Keras layer cannot be built: {e.Message}"); }
        return new ImportedModel<T>(ModelFormat.Keras, layer, chosen, kernel.DType, notes, source);
    }

    /// <summary>
    /// Writes a single-layer, one-direction Gated layer as Keras weights named <c>{prefix}kernel</c>,
    /// <c>{prefix}recurrent_kernel</c>, <c>{prefix}bias</c> in <typeparamref name="T"/>'s dtype, with hints
    /// (cell, <c>reset_after</c>, activations) in the metadata. The notes list exact changes (take-candidate
    /// → keep-previous, biases folded) and the Keras arguments to build the layer with.
    /// </summary>
    /// <exception cref="InteropException">The layer has no Keras form (see <see cref="KerasLayout.FromLayer{T}"/>).</exception>
    public static ModelExport ToSafetensors<T>(RecurrentLayer<T> layer, string prefix = "") where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(prefix);
        var o = layer.Options;
        var weights = KerasLayout.FromLayer(layer);
        var notes = new List<string>();
        if (o.Cell == CellKind.Gru && o.Gru.UpdateGate == UpdateGateConvention.TakeCandidate)
            notes.Add("the take-candidate GRU was written in Keras' keep-previous convention (update gate negated; the same function).");
        if (o.Bias == BiasMode.InputAndHidden && !(o.Cell == CellKind.Gru && weights.ResetAfter))
            notes.Add("Keras has one bias here: bias_ih + bias_hh was stored.");
        string kerasClass = o.Cell switch { CellKind.Gru => "GRU", CellKind.Lstm => "LSTM", _ => "SimpleRNN" };
        string args = $"units={o.HiddenSize}, activation='{KerasName(weights.Activation)}'"
            + (o.Cell == CellKind.Rnn ? "" : $", recurrent_activation='{KerasName(weights.RecurrentActivation)}'")
            + (weights.Bias is null ? ", use_bias=False" : "")
            + (o.Cell == CellKind.Gru ? $", reset_after={(weights.ResetAfter ? "True" : "False")}" : "");
        notes.Add($"build the Keras layer as keras.layers.{kerasClass}({args}).");
        if (weights.RecurrentActivation == Activation.HardSigmoid && o.Cell != CellKind.Rnn)
            notes.Add("'hard_sigmoid' here is Keras 2's clamp(0.2·x + 0.5, 0, 1); Keras 3's hard_sigmoid is clamp(x/6 + 0.5, 0, 1).");
        var metadata = new List<KeyValuePair<string, string>>
        {
            new(HintPrefix + "cell", o.Cell == CellKind.Rnn ? "simple_rnn" : o.Cell.ToString().ToLowerInvariant()),
            new(HintPrefix + "activation", RecurrentOptionsMetadata.Format(weights.Activation)),
        };
        if (o.Cell != CellKind.Rnn) metadata.Add(new(HintPrefix + "recurrent_activation", RecurrentOptionsMetadata.Format(weights.RecurrentActivation)));
        if (o.Cell == CellKind.Gru) metadata.Add(new(HintPrefix + "reset_after", weights.ResetAfter ? "true" : "false"));
        return new ModelExport(new SafetensorsFile(Tensors(weights, prefix), metadata), notes);
    }

    /// <summary>The Keras tensors of a Gated layer's parameters, or of an array in the same layout (its gradients).</summary>
    internal static IEnumerable<SafetensorsTensor> LayerTensors<T>(RecurrentLayer<T> layer, T[] source, string prefix) where T : unmanaged, IFloatingPointIeee754<T> =>
        Tensors(KerasLayout.FromParameters(layer.Options, layer.Parameters, source), prefix);

    private static List<SafetensorsTensor> Tensors<T>(KerasWeights<T> w, string prefix) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var list = new List<SafetensorsTensor>
        {
            InteropTensors.Create<T>(prefix + "kernel", w.Kernel, w.KernelShape),
            InteropTensors.Create<T>(prefix + "recurrent_kernel", w.RecurrentKernel, w.RecurrentKernelShape),
        };
        if (w.Bias is not null) list.Add(InteropTensors.Create<T>(prefix + "bias", w.Bias, w.BiasShape));
        return list;
    }

    /// <summary>Keras' name of an activation where it has one, else Gated's spelling.</summary>
    private static string KerasName(Activation a) =>
        a == Activation.HardSigmoidWith(1.0 / 6, 0.5) ? "hard_sigmoid"
        : a == new Activation(ActivationKind.Affine, 1, 0) ? "linear"
        : a == Activation.HardSigmoid ? "hard_sigmoid"
        : RecurrentOptionsMetadata.Format(a);
}
