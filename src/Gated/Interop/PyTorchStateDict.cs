using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;
using Gated.IO;
using Gated.IO.Safetensors;
using Gated.Kernels;
using Gated.Layers;

namespace Gated.Interop;

/// <summary>
/// Reads and writes the <c>state_dict()</c> of a PyTorch <c>nn.GRU</c>, <c>nn.LSTM</c> or <c>nn.RNN</c>
/// stored as safetensors, with no other information: the cell, sizes, layer count, directions and
/// bias mode are read from the tensors' names and shapes.
/// </summary>
/// <remarks>
/// <para>Names: <c>{prefix}weight_ih_l{k}{sfx}</c>, <c>weight_hh_…</c>, <c>bias_ih_…</c>, <c>bias_hh_…</c>,
/// k = 0..L−1, sfx <c>""</c> or <c>_reverse</c> (D = 2 when any <c>_reverse</c> tensor exists). The prefix is
/// empty or a module path ending in '.', e.g. <c>gru.</c> or <c>module.encoder.</c>.</para>
/// <para>Shapes: <c>weight_hh_l0</c> is (G·H, H), which gives H and G: G = 3 is a GRU (rows r | z | n),
/// G = 4 an LSTM (i | f | g | o), G = 1 a plain RNN. <c>weight_ih_l0</c> is (G·H, I), <c>weight_ih_l{k&gt;0}</c>
/// (G·H, D·H), the biases (G·H). Both bias sets, none, or only <c>bias_ih</c> (Gated's one-bias mode).</para>
/// <para>Not in the weights, so taken from <see cref="ModelImportOptions"/>, else from the hints a file
/// written by <see cref="ToSafetensors{T}"/> carries in its metadata, else PyTorch's defaults: the GRU's
/// update-gate convention (keep-previous) and reset position (after the product), the RNN's non-linearity
/// (tanh), batch-first (false).</para>
/// <para>Tensors outside the recurrent module (names that do not start with the prefix, or that continue
/// with a '.' after it: <c>fc.weight</c>, <c>gru.sub.x</c>) are ignored and listed in
/// <see cref="ImportedModel{T}.Notes"/>, so the state_dict of a whole model loads its recurrent part.
/// Inside the module every tensor must be understood: an unknown name, <c>weight_hr_l{k}</c> (an LSTM
/// with <c>proj_size</c>, which Gated does not implement), a missing or misshapen tensor, a non-float
/// dtype or a non-finite value is a <see cref="GatedFormatException"/> naming the file and the tensor.</para>
/// </remarks>
public static partial class PyTorchStateDict
{
    /// <summary>The <c>format</c> metadata value the Python safetensors package writes for PyTorch files.</summary>
    public const string FormatHint = "pt";

    private const string HintPrefix = "gated.";
    private const int MaxLayers = 1000;

    [GeneratedRegex(@"^(?<prefix>(?:.*\.)?)(?<kind>weight|bias)_(?<side>ih|hh|hr)_l(?<layer>[0-9]{1,6})(?<reverse>_reverse)?$", RegexOptions.CultureInvariant)]
    private static partial Regex ParameterName();

    /// <summary>Reads a state_dict safetensors file into a layer computing in <typeparamref name="T"/>.</summary>
    /// <exception cref="GatedFormatException">The file is not a recurrent state_dict that Gated can run; the message names the file and the problem.</exception>
    /// <exception cref="InteropException">An option contradicts the file.</exception>
    public static ImportedModel<T> Read<T>(string path, ModelImportOptions? options = null) where T : unmanaged, IFloatingPointIeee754<T> =>
        Load<T>(SafetensorsFile.Read(path), options);

    /// <summary>Builds a layer from the tensors of a state_dict safetensors file.</summary>
    /// <exception cref="GatedFormatException">The tensors do not describe a recurrent layer Gated can run.</exception>
    /// <exception cref="InteropException">An option contradicts the file.</exception>
    public static ImportedModel<T> Load<T>(SafetensorsFile file, ModelImportOptions? options = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(file);
        options ??= new ModelImportOptions();
        string? source = file.SourceName;
        var notes = new List<string>();
        string prefix = ChoosePrefix(file, options.Prefix, source);

        // The module's tensors by (layer, direction); everything outside the module is ignored.
        var found = new Dictionary<(int Layer, int Direction, string Name), SafetensorsTensor>();
        var ignored = new List<string>();
        int layers = 0, directions = 1;
        foreach (var tensor in file.Tensors)
        {
            string name = tensor.Name;
            if (!name.StartsWith(prefix, StringComparison.Ordinal) || name.AsSpan(prefix.Length).Contains('.'))
            {
                ignored.Add(name);
                continue;
            }
            var m = ParameterName().Match(name);
            if (!m.Success || m.Groups["prefix"].Value != prefix)
                throw new GatedFormatException(source, $"tensor '{name}' is not a parameter of an nn.GRU, nn.LSTM or nn.RNN (expected weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, …{(prefix.Length > 0 ? $" after the prefix '{prefix}'" : "")}).");
            if (m.Groups["side"].Value == "hr")
                throw new GatedFormatException(source, $"tensor '{name}' is the output projection of an LSTM built with proj_size > 0, which Gated does not support.");
            int layer = int.Parse(m.Groups["layer"].Value, CultureInfo.InvariantCulture);
            if (layer >= MaxLayers) throw new GatedFormatException(source, $"tensor '{name}': layer {layer} is beyond the {MaxLayers}-layer limit.");
            int direction = m.Groups["reverse"].Success ? 1 : 0;
            layers = Math.Max(layers, layer + 1);
            if (direction == 1) directions = 2;
            found[(layer, direction, m.Groups["kind"].Value + "_" + m.Groups["side"].Value)] = tensor;
        }
        if (ignored.Count > 0)
            notes.Add($"ignored {ignored.Count} tensor(s) outside the recurrent module ({InteropTensors.Prefix(prefix)}): {InteropTensors.List(ignored)}.");

        string Name(string kind, int layer, int direction) => prefix + kind + RecurrentLayer<T>.Suffix(layer, direction);
        SafetensorsTensor Required(string kind, int layer, int direction) =>
            found.TryGetValue((layer, direction, kind), out var t) ? t
            : throw new GatedFormatException(source, $"tensor '{Name(kind, layer, direction)}' is missing{(directions == 2 ? " (the file holds _reverse tensors, so every layer needs both directions)" : "")}.");

        for (int l = 0; l < layers; l++)
            for (int d = 0; d < directions; d++)
            {
                Required("weight_ih", l, d);
                Required("weight_hh", l, d);
            }

        // H and the cell from weight_hh_l0 (G·H, H).
        var hh0 = Required("weight_hh", 0, 0);
        if (hh0.Rank != 2 || hh0.Shape[1] <= 0 || hh0.Shape[0] <= 0)
            throw new GatedFormatException(source, $"tensor '{hh0.Name}' has shape {InteropTensors.Shape(hh0.Shape)}; expected a matrix (G·H, H).");
        long hidden = hh0.Shape[1];
        long gates = hh0.Shape[0] / hidden;
        if (hh0.Shape[0] % hidden != 0 || gates is not (1 or 3 or 4))
            throw new GatedFormatException(source, $"tensor '{hh0.Name}' has shape {InteropTensors.Shape(hh0.Shape)}: {hh0.Shape[0]} rows for H = {hidden} fits no cell (GRU 3·H, LSTM 4·H, RNN H rows).");
        var cell = gates switch { 3 => CellKind.Gru, 4 => CellKind.Lstm, _ => CellKind.Rnn };
        var ih0 = Required("weight_ih", 0, 0);
        if (ih0.Rank != 2 || ih0.Shape[0] != hh0.Shape[0] || ih0.Shape[1] <= 0)
            throw new GatedFormatException(source, $"tensor '{ih0.Name}' has shape {InteropTensors.Shape(ih0.Shape)}, expected [{hh0.Shape[0]}, I] to match '{hh0.Name}' ({cell}, H = {hidden}).");
        if (hidden > int.MaxValue / 4 || ih0.Shape[1] > int.MaxValue)
            throw new GatedFormatException(source, $"tensor '{ih0.Name}' is too large.");

        // Bias mode: the same set of biases in every layer and direction.
        int withIh = 0, withHh = 0;
        for (int l = 0; l < layers; l++)
            for (int d = 0; d < directions; d++)
            {
                if (found.ContainsKey((l, d, "bias_ih"))) withIh++;
                if (found.ContainsKey((l, d, "bias_hh"))) withHh++;
            }
        int count = layers * directions;
        BiasMode bias;
        if (withIh == count && withHh == count) bias = BiasMode.InputAndHidden;
        else if (withIh == 0 && withHh == 0) bias = BiasMode.None;
        else if (withIh == count && withHh == 0) bias = BiasMode.InputOnly;
        else
        {
            string missing = "";
            for (int l = 0; l < layers && missing.Length == 0; l++)
                for (int d = 0; d < directions && missing.Length == 0; d++)
                    foreach (string kind in withHh > 0 ? new[] { "bias_ih", "bias_hh" } : ["bias_ih"])
                        if (!found.ContainsKey((l, d, kind))) { missing = Name(kind, l, d); break; }
            throw new GatedFormatException(source, $"tensor '{missing}' is missing (other layers have it; every layer and direction needs the same biases).");
        }
        if (bias == BiasMode.InputOnly)
            notes.Add("the file has bias_ih but no bias_hh tensors: read with Gated's one-bias mode.");

        var ro = new RecurrentOptions
        {
            Cell = cell,
            InputSize = (int)ih0.Shape[1],
            HiddenSize = (int)hidden,
            NumLayers = layers,
            Bidirectional = directions == 2,
            Bias = bias,
        };
        ro = ApplyConventions(ro, options, file.Metadata, notes, source);
        try { ro.Validate(); }
        catch (ArgumentException e) { throw new GatedFormatException(source, $"the tensors describe a layer Gated cannot build: {e.Message}"); }

        // Every tensor Gated's layout expects, with its shape; then nothing left over.
        var layer0 = new RecurrentLayer<T>(ro, seed: 0);
        int used = 0;
        foreach (var p in layer0.Parameters.Parameters)
        {
            var m = ParameterName().Match(p.Name);
            int l = int.Parse(m.Groups["layer"].Value, CultureInfo.InvariantCulture), d = m.Groups["reverse"].Success ? 1 : 0;
            var tensor = Required(m.Groups["kind"].Value + "_" + m.Groups["side"].Value, l, d);
            if (!InteropTensors.HasShape(tensor, p.Shape))
                throw new GatedFormatException(source, $"tensor '{tensor.Name}' has shape {InteropTensors.Shape(tensor.Shape)}, expected {InteropTensors.Shape(p.Shape)} ({Describe(ro, l)}).");
            InteropTensors.FiniteValues<T>(tensor, source).CopyTo(layer0.Parameters.Value(p.Name));
            used++;
        }
        if (used != found.Count)
        {
            var expected = layer0.Parameters.Parameters.Select(p => prefix + p.Name).ToHashSet(StringComparer.Ordinal);
            var extra = found.Values.Select(t => t.Name).Where(n => !expected.Contains(n)).Order(StringComparer.Ordinal);
            throw new GatedFormatException(source, $"tensor(s) {InteropTensors.List(extra)} do not fit the layer the other tensors describe ({ro}).");
        }
        return new ImportedModel<T>(ModelFormat.PyTorchStateDict, layer0, prefix, ih0.DType, notes, source);
    }

    /// <summary>
    /// Whether a file holds PyTorch recurrent parameter names (<c>weight_ih_l0</c>, optionally prefixed).
    /// </summary>
    public static bool LooksLikeStateDict(SafetensorsFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return file.Tensors.Any(t => ParameterName().IsMatch(t.Name));
    }

    /// <summary>
    /// Writes a layer as a plain PyTorch state_dict: tensors named <c>{prefix}weight_ih_l0</c>, … in
    /// <typeparamref name="T"/>'s dtype, loadable by <c>module.load_state_dict</c> of an <c>nn.GRU</c>/<c>nn.LSTM</c>/<c>nn.RNN</c>
    /// with the same sizes. The metadata holds <c>format = pt</c> and hints (<c>gated.reset</c>,
    /// <c>gated.nonlinearity</c>) that Gated reads back; PyTorch ignores them.
    /// </summary>
    /// <remarks>
    /// Exact changes, listed in the notes: a take-candidate GRU is written in the keep-previous convention
    /// (update-gate rows negated, <see cref="GruConversion"/>); a one-bias layer gets <c>bias_hh</c> = 0
    /// (adding zero changes nothing, in every cell and reset position). A reset-before-product GRU or a
    /// ReLU RNN is written as it is, with a note: PyTorch's <c>nn.GRU</c> has no reset-before form, and
    /// <c>nn.RNN</c> must be built with <c>nonlinearity='relu'</c>.
    /// </remarks>
    /// <exception cref="InteropException">The layer has no state_dict form: other gate or cell activations, or a GRU ablation.</exception>
    public static ModelExport ToSafetensors<T>(RecurrentLayer<T> layer, string prefix = "") where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(prefix);
        var o = layer.Options;
        var notes = new List<string>();
        switch (o.Cell)
        {
            case CellKind.Gru:
                if (o.Gru.Ablation != GruAblation.None)
                    throw new InteropException($"a GRU with the ablation {o.Gru.Ablation} has no PyTorch state_dict form; save it as a Gated file.");
                if (o.Gru.GateActivation != Activation.Sigmoid || o.Gru.CandidateActivation != Activation.Tanh)
                    throw new InteropException($"nn.GRU computes sigmoid gates and a tanh candidate; this GRU uses {RecurrentOptionsMetadata.Format(o.Gru.GateActivation)} and {RecurrentOptionsMetadata.Format(o.Gru.CandidateActivation)}. Save it as a Gated file.");
                if (o.Gru.UpdateGate == UpdateGateConvention.TakeCandidate)
                {
                    layer = GruConversion.SwitchUpdateGateConvention(layer);
                    notes.Add("the take-candidate GRU was written in PyTorch's keep-previous convention (update-gate rows negated; the same function).");
                }
                if (o.Gru.Reset == ResetGatePosition.BeforeProduct)
                    notes.Add("this GRU applies the reset gate before the recurrent product, which nn.GRU cannot compute; read the file back with --reset before (the file's metadata says so).");
                break;
            case CellKind.Lstm:
                if (o.Lstm.GateActivation != Activation.Sigmoid || o.Lstm.CellInputActivation != Activation.Tanh || o.Lstm.CellOutputActivation != Activation.Tanh)
                    throw new InteropException("nn.LSTM computes sigmoid gates and tanh cell activations; this LSTM uses others. Save it as a Gated file.");
                break;
            default:
                if (o.RnnNonlinearity == Activation.Relu)
                    notes.Add("ReLU RNN: build the PyTorch module with nn.RNN(..., nonlinearity='relu'); Gated reads the file's metadata hint.");
                break;
        }

        var block = layer.Parameters;
        var tensors = new List<SafetensorsTensor>();
        foreach (var p in block.Parameters)
        {
            tensors.Add(InteropTensors.Create<T>(prefix + p.Name, block.Values.AsSpan(p.Offset, p.Length), p.Shape));
            if (o.Bias == BiasMode.InputOnly && p.Name.StartsWith("bias_ih", StringComparison.Ordinal))
                tensors.Add(InteropTensors.Create<T>(prefix + "bias_hh" + p.Name["bias_ih".Length..], new T[p.Length], p.Shape));
        }
        if (o.Bias == BiasMode.InputOnly) notes.Add("the one-bias layer was written with bias_hh = 0, as PyTorch expects both biases (the same function).");

        var metadata = new List<KeyValuePair<string, string>> { new("format", FormatHint), new(HintPrefix + "cell", o.Cell.ToString().ToLowerInvariant()) };
        if (o.Cell == CellKind.Gru)
            metadata.Add(new(HintPrefix + "reset", o.Gru.Reset == ResetGatePosition.AfterProduct ? "after_product" : "before_product"));
        if (o.Cell == CellKind.Rnn)
            metadata.Add(new(HintPrefix + "nonlinearity", RecurrentOptionsMetadata.Format(o.RnnNonlinearity)));
        return new ModelExport(new SafetensorsFile(tensors, metadata), notes);
    }

    /// <summary>The prefix to read: the one given (with '.' appended when missing), else the single prefix under which recurrent tensors exist.</summary>
    private static string ChoosePrefix(SafetensorsFile file, string? requested, string? source)
    {
        var prefixes = file.Tensors.Select(t => ParameterName().Match(t.Name)).Where(m => m.Success)
            .Select(m => m.Groups["prefix"].Value).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (requested is not null)
        {
            string p = requested.Length == 0 || requested.EndsWith('.') ? requested : requested + ".";
            if (prefixes.Contains(p, StringComparer.Ordinal)) return p;
            throw new GatedFormatException(source, prefixes.Count == 0
                ? $"no PyTorch recurrent tensors (weight_ih_l0, …) at all, so none with the prefix '{p}'."
                : $"no recurrent tensors with the prefix '{p}'; the file has them with {string.Join(", ", prefixes.Select(InteropTensors.Prefix))}.");
        }
        if (prefixes.Count == 1) return prefixes[0];
        if (prefixes.Count == 0)
            throw new GatedFormatException(source, $"no PyTorch recurrent tensors (weight_ih_l0, weight_hh_l0, … of an nn.GRU, nn.LSTM or nn.RNN state_dict); the file holds {InteropTensors.List(file.Tensors.Select(t => t.Name))}.");
        throw new GatedFormatException(source, $"the file holds recurrent tensors under several prefixes ({string.Join(", ", prefixes.Select(p => $"'{p}'"))}); choose one with --prefix.");
    }

    /// <summary>The conventions the weights cannot show: options first, then the file's hints, then PyTorch's defaults.</summary>
    internal static RecurrentOptions ApplyConventions(RecurrentOptions ro, ModelImportOptions options, IReadOnlyDictionary<string, string> metadata, List<string> notes, string? source)
    {
        string? Hint(string key) => metadata.TryGetValue(HintPrefix + key, out var v) ? v : null;
        if (ro.Cell == CellKind.Gru)
        {
            var reset = options.Reset ?? Hint("reset") switch
            {
                null or "after_product" => ResetGatePosition.AfterProduct,
                "before_product" => ResetGatePosition.BeforeProduct,
                var v => throw new GatedFormatException(source, $"metadata 'gated.reset' = '{v}' is not after_product or before_product."),
            };
            ro = ro with { Gru = ro.Gru with { UpdateGate = options.UpdateGate ?? UpdateGateConvention.KeepPrevious, Reset = reset } };
        }
        else if (options.UpdateGate is not null || options.Reset is not null)
        {
            notes.Add($"the update-gate and reset options apply to a GRU; this file holds an {ro.Cell.ToString().ToUpperInvariant()}, so they were ignored.");
        }
        if (ro.Cell == CellKind.Rnn)
        {
            Activation nonlinearity = Activation.Tanh;
            if (options.RnnNonlinearity is Activation given) nonlinearity = given;
            else if (Hint("nonlinearity") is string h && !RecurrentOptionsMetadata.TryParse(h, out nonlinearity))
                throw new GatedFormatException(source, $"metadata 'gated.nonlinearity' = '{h}' is not an activation.");
            if (nonlinearity != Activation.Tanh && nonlinearity != Activation.Relu)
                throw new InteropException($"an RNN's non-linearity must be tanh or relu, not {RecurrentOptionsMetadata.Format(nonlinearity)}.");
            ro = ro with { RnnNonlinearity = nonlinearity };
        }
        else if (options.RnnNonlinearity is not null)
        {
            notes.Add($"the non-linearity option applies to a plain RNN; this file holds a {ro.Cell.ToString().ToUpperInvariant()}, so it was ignored.");
        }
        return ro with { BatchFirst = options.BatchFirst ?? false };
    }

    private static string Describe(RecurrentOptions o, int layer) =>
        $"{o.Cell.ToString().ToUpperInvariant()}, H = {o.HiddenSize}, layer {layer} reads {(layer == 0 ? $"I = {o.InputSize}" : $"D·H = {o.OutputSize}")} features";
}
