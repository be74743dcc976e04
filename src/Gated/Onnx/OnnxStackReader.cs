using System.Globalization;
using System.Numerics;
using Gated.Interop;
using Gated.IO;
using Gated.IO.Safetensors;
using Gated.Kernels;
using Gated.Layers;
using DataType = Gated.Onnx.Proto.TensorProto.Types.DataType;

namespace Gated.Onnx;

/// <summary>
/// An ONNX graph read as a Gated recurrent stack: the layer options, each layer's ONNX weights
/// (W, R, B as stored, widened to double exactly), and what the reader noticed.
/// </summary>
internal sealed class OnnxStack
{
    public required RecurrentOptions Options { get; init; }
    public required double[][] W { get; init; }
    public required double[][] R { get; init; }
    public required double[]?[] B { get; init; }
    public required SafetensorsDType StoredDType { get; init; }
    public required IReadOnlyList<string> Notes { get; init; }
    public string? Source { get; init; }

    /// <summary>The stack as a Gated model in precision <typeparamref name="T"/> (float32 weights are exact in either).</summary>
    public ImportedModel<T> ToImported<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        var layer = new RecurrentLayer<T>(Options, seed: 0);
        for (int k = 0; k < Options.NumLayers; k++)
            OnnxRecurrent.CopyWeights(layer, Convert<T>(W[k]), Convert<T>(R[k]), B[k] is { } b ? Convert<T>(b) : null, k);
        return new ImportedModel<T>(ModelFormat.Onnx, layer, "", StoredDType, Notes, Source);
    }

    private static T[] Convert<T>(double[] values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var result = new T[values.Length];
        for (int i = 0; i < values.Length; i++) result[i] = T.CreateChecked(values[i]);
        return result;
    }
}

/// <summary>
/// Decides whether an ONNX graph is a recurrent stack Gated can hold exactly — GRU, LSTM or RNN nodes, one per
/// layer, chained through nodes that only move data (as <see cref="OnnxExporter"/> and <c>torch.onnx.export</c>
/// write them) — and reads it as one; otherwise says why not.
/// </summary>
/// <remarks>
/// <para>The structure is checked first: every node is a recurrent node, a data-movement or shape node
/// (Transpose, Reshape, Squeeze, Unsqueeze, Concat, Slice, Gather, Identity, Expand, Cast, Shape, Constant,
/// ConstantOfShape), or arithmetic on constants only; the recurrent nodes are of one kind and form a chain
/// (the first reads a graph input, each next one the Y of the one before); their W, R, B are constants
/// (initializers or Constant nodes) and their attributes are ones a <see cref="RecurrentLayer{T}"/> has (no
/// clip, no reverse-only direction, no input_forget, no peepholes, Gated activations shared by both
/// directions and all layers); every graph input is the sequence, the initial states or the lengths, and
/// every graph output comes from the last Y or from the Y_h / Y_c of the nodes.</para>
/// <para>Then the nodes between the recurrent ones are checked by running: the graph and the Gated layer
/// built from its weights (time-major and batch-first) run in float64 on a seeded random input (with random
/// initial states and unequal lengths when the graph takes them); every graph output must equal the layer's
/// output sequence (or ONNX's Y layouts of it), its final states h_n or c_n, to 10⁻⁹ relative. The weights
/// themselves are copied, never computed, so the Gated layer holds exactly the graph's numbers.</para>
/// </remarks>
internal static class OnnxStackReader
{
    /// <summary>The start of every refusal.</summary>
    public const string NoForm = "this graph has no Gated form";

    private const string SequenceRole = "the input", HiddenRole = "the initial states h0", CellRole = "the initial cell states c0", LengthsRole = "the sequence lengths";

    private static readonly HashSet<string> Movement = new(StringComparer.Ordinal)
        { "Transpose", "Reshape", "Squeeze", "Unsqueeze", "Concat", "Slice", "Gather", "Identity", "Expand", "Cast", "ConstantOfShape" };

    /// <summary>Reads the graph as a Gated stack.</summary>
    /// <exception cref="GatedFormatException">The graph is no such stack: "this graph has no Gated form: &lt;reason&gt;".</exception>
    /// <exception cref="InteropException">An option contradicts the graph.</exception>
    public static OnnxStack Read(OnnxModel model, ModelImportOptions? options)
    {
        ArgumentNullException.ThrowIfNull(model);
        string? source = model.SourceName;
        GatedFormatException Fail(string reason) => new(source, $"{NoForm}: {reason}");

        // 1. Where every value comes from: graph inputs ("in:name") and recurrent outputs ("rec:k:i").
        var deps = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var input in model.Inputs) deps[input.Name] = ["in:" + input.Name];
        var constantNodes = new Dictionary<string, OnnxNode>(StringComparer.Ordinal);
        var recurrent = new List<OnnxNode>();
        HashSet<string> Of(string name) => name.Length == 0 ? [] : deps.TryGetValue(name, out var d) ? d : [];   // initializers: none

        foreach (var node in model.Nodes)
        {
            var union = new HashSet<string>(StringComparer.Ordinal);
            foreach (string name in node.Inputs) union.UnionWith(Of(name));
            switch (node.OpType)
            {
                case "GRU" or "LSTM" or "RNN":
                {
                    int k = recurrent.Count;
                    if (k > 0 && node.OpType != recurrent[0].OpType)
                        throw Fail($"it mixes {recurrent[0].OpType} and {node.OpType} nodes ({node.Label}); a Gated layer has one kind of cell.");
                    var x = Of(node.Inputs[0]);
                    if (k == 0 && (x.Count != 1 || !x.First().StartsWith("in:", StringComparison.Ordinal)))
                        throw Fail($"{node.Label}, the first recurrent node, reads X from {Describe(model, x)}, not from one graph input through data-movement nodes.");
                    if (k > 0 && !(x.Count == 1 && x.Contains($"rec:{k - 1}:0")))
                        throw Fail($"the recurrent nodes do not form one stack: {node.Label} reads X from {Describe(model, x)}, not from the Y of {recurrent[k - 1].Label}.");
                    recurrent.Add(node);
                    for (int i = 0; i < node.Outputs.Length; i++)
                        if (node.Outputs[i].Length > 0) deps[node.Outputs[i]] = [$"rec:{k}:{i}"];
                    continue;
                }
                case "Shape":
                    foreach (string value in node.Outputs) deps[value] = [];
                    continue;
                case "Constant":
                    foreach (string value in node.Outputs) { deps[value] = []; constantNodes[value] = node; }
                    continue;
                default:
                    if (!Movement.Contains(node.OpType) && union.Count > 0)
                        throw Fail($"{node.Label} computes on {Describe(model, union)}; Gated's form holds the recurrent layers only (no {Purpose(union)}).");
                    foreach (string value in node.Outputs) deps[value] = union;
                    continue;
            }
        }
        if (recurrent.Count == 0) throw Fail("it has no GRU, LSTM or RNN node.");

        // 2. The recurrent nodes: attributes, constant weights, consistent sizes, one source per optional input.
        int layers = recurrent.Count;
        var first = (OnnxRecurrentSpec)recurrent[0].State!;
        CellKind cell = first.Cell;
        int d = first.Directions, g = first.Gates;
        var w = new double[layers][];
        var r = new double[layers][];
        var b = new double[]?[layers];
        int inputSize = 0, hidden = 0;
        bool anyDouble = false, anyHalf = false;
        string? hName = null, cName = null, sName = null;
        bool? hGiven = null, cGiven = null, sGiven = null;
        var zeroStates = new List<(OnnxNode Node, string Value, string What)>();
        var activations = first.Activations[0];
        for (int k = 0; k < layers; k++)
        {
            var node = recurrent[k];
            var spec = (OnnxRecurrentSpec)node.State!;
            if (spec.Clip is float clip) throw Fail($"{node.Label} clips its activations' inputs at {clip.ToString(CultureInfo.InvariantCulture)}; Gated's layers do not clip.");
            if (spec.Direction == OnnxDirection.Reverse) throw Fail($"{node.Label} runs in reverse only; a Gated layer runs forward or in both directions.");
            if (spec.InputForget) throw Fail($"{node.Label} couples the input and forget gates (input_forget = 1), which Gated's LSTM does not.");
            if (spec.Directions != d) throw Fail($"{node.Label} is {spec.Direction.ToString().ToLowerInvariant()} but {recurrent[0].Label} is {first.Direction.ToString().ToLowerInvariant()}; every layer of a Gated stack has the same directions.");
            if (spec.Directions == 2 && !spec.Activations[0].SequenceEqual(spec.Activations[1]))
                throw Fail($"{node.Label} uses different activations in its two directions ({string.Join(", ", spec.Activations[0])} and {string.Join(", ", spec.Activations[1])}).");
            foreach (var a in spec.Activations[0])
                if (!a.TryToGated(out _)) throw Fail($"{node.Label} uses the activation {a}, which Gated does not have.");
            if (!spec.Activations[0].SequenceEqual(activations))
                throw Fail($"{node.Label} uses the activations {string.Join(", ", spec.Activations[0])} but {recurrent[0].Label} uses {string.Join(", ", activations)}; every layer of a Gated stack has the same.");
            if (cell == CellKind.Gru && spec.LinearBeforeReset != first.LinearBeforeReset)
                throw Fail($"{node.Label} has linear_before_reset = {(spec.LinearBeforeReset ? 1 : 0)} but {recurrent[0].Label} has {(first.LinearBeforeReset ? 1 : 0)}; every layer of a Gated stack has the same.");

            var wc = Constant(model, constantNodes, node, 1, "W") ?? throw Fail($"{node.Label} has no W.");
            var rc = Constant(model, constantNodes, node, 2, "R") ?? throw Fail($"{node.Label} has no R.");
            var bc = Constant(model, constantNodes, node, 3, "B");
            if (k > 0 && (bc is null) != (b[0] is null)) throw Fail($"{node.Label} {(bc is null ? "has no" : "has a")} bias B but {recurrent[0].Label} {(b[0] is null ? "has none" : "has one")}; every layer of a Gated stack has the same.");
            if (rc.Shape.Length != 3 || rc.Shape[0] != d || rc.Shape[2] <= 0 || rc.Shape[1] != (long)g * rc.Shape[2])
                throw Fail($"{node.Label}: R has shape {OnnxTypes.ShapeText(rc.Shape)}, not (D, {g}·H, H) with D = {d}.");
            int h = rc.Shape[2];
            if (spec.HiddenSize is int declared && declared != h) throw Fail($"{node.Label} has hidden_size = {declared} but R has shape {OnnxTypes.ShapeText(rc.Shape)}.");
            if (k == 0) hidden = h;
            else if (h != hidden) throw Fail($"{node.Label} has H = {h} but {recurrent[0].Label} has H = {hidden}; every layer of a Gated stack has the same hidden size.");
            if (wc.Shape.Length != 3 || wc.Shape[0] != d || wc.Shape[1] != g * h || wc.Shape[2] <= 0)
                throw Fail($"{node.Label}: W has shape {OnnxTypes.ShapeText(wc.Shape)}, not (D, {g}·H, I) with D = {d}, H = {h}.");
            if (k == 0) inputSize = wc.Shape[2];
            else if (wc.Shape[2] != d * h) throw Fail($"{node.Label} takes {wc.Shape[2]} features, but the layer below gives D·H = {d * h}.");
            if (bc is not null && !bc.Shape.SequenceEqual([d, 2 * g * h])) throw Fail($"{node.Label}: B has shape {OnnxTypes.ShapeText(bc.Shape)}, not (D, 2·{g}·H) = ({d}, {2 * g * h}).");
            if (cell == CellKind.Lstm && Constant(model, constantNodes, node, 7, "P", allowComputed: true) is { } p && p.Floats!.Any(v => v != 0))
                throw Fail($"{node.Label} has peephole weights P, which Gated's LSTM does not have.");
            foreach (var (c, what) in new[] { (wc, "W"), (rc, "R"), (bc, "B") })
            {
                if (c is null) continue;
                if (c.Floats is null) throw Fail($"{node.Label}: {what} is {OnnxTypes.Name(c.ElementType)}, not floating-point.");
                if (c.Floats.Any(v => !double.IsFinite(v))) throw Fail($"{node.Label}: {what} holds NaN or infinite values.");
                anyDouble |= c.ElementType == (int)DataType.Double;
                anyHalf |= c.ElementType is (int)DataType.Float16 or (int)DataType.Bfloat16;
            }
            w[k] = wc.Floats!;
            r[k] = rc.Floats!;
            b[k] = bc?.Floats;

            Optional(node, 4, "sequence_lens", ref sName, ref sGiven, constantAllowed: false);
            Optional(node, 5, "initial_h", ref hName, ref hGiven, constantAllowed: true);
            if (cell == CellKind.Lstm) Optional(node, 6, "initial_c", ref cName, ref cGiven, constantAllowed: true);
        }

        void Optional(OnnxNode node, int index, string what, ref string? inputName, ref bool? given, bool constantAllowed)
        {
            bool has = node.HasInput(index);
            var from = has ? Of(node.Inputs[index]) : [];
            bool fromInput = from.Count > 0;
            if (has && fromInput && (from.Count != 1 || !from.First().StartsWith("in:", StringComparison.Ordinal)))
                throw Fail($"{node.Label} reads {what} from {Describe(model, from)}, not from one graph input.");
            if (has && !fromInput && !constantAllowed) throw Fail($"{node.Label} has constant {what}; a Gated layer takes them as an input.");
            if (has && !fromInput) zeroStates.Add((node, node.Inputs[index], what));
            if (given is bool before && before != fromInput)
                throw Fail($"{what} comes from a graph input for some recurrent nodes and not for others ({node.Label}); a Gated layer takes one for all layers or none.");
            given = fromInput;
            if (!fromInput) return;
            string name = from.First()[3..];
            if (inputName is not null && inputName != name)
                throw Fail($"{node.Label} reads {what} from the graph input '{OnnxNode.Printable(name)}' but {recurrent[0].Label} from '{OnnxNode.Printable(inputName)}'.");
            inputName = name;
        }

        string xName = Of(recurrent[0].Inputs[0]).First()[3..];
        var roles = new Dictionary<string, string>(StringComparer.Ordinal) { [xName] = SequenceRole };
        foreach (var (name, role) in new[] { (hName, HiddenRole), (cName, CellRole), (sName, LengthsRole) })
        {
            if (name is null) continue;
            if (!roles.TryAdd(name, role)) throw Fail($"the graph input '{OnnxNode.Printable(name)}' is both {roles[name]} and {role}.");
        }
        foreach (var input in model.Inputs)
            if (!roles.ContainsKey(input.Name))
                throw Fail($"the graph input '{OnnxNode.Printable(input.Name)}' is not the sequence, an initial state or the lengths of the recurrent nodes.");

        var outputKinds = new List<(OnnxValueInfo Info, int Kind)>();   // 0 sequence, 1 h_n, 2 c_n
        foreach (var output in model.Outputs)
        {
            var from = Of(output.Name);
            string name = OnnxNode.Printable(output.Name);
            if (from.Count == 0) throw Fail($"the graph output '{name}' is a constant.");
            if (from.Count == 1 && from.Contains($"rec:{layers - 1}:0")) { outputKinds.Add((output, 0)); continue; }
            if (from.All(s => s.StartsWith("rec:", StringComparison.Ordinal) && s.EndsWith(":1", StringComparison.Ordinal))) { outputKinds.Add((output, 1)); continue; }
            if (from.All(s => s.StartsWith("rec:", StringComparison.Ordinal) && s.EndsWith(":2", StringComparison.Ordinal))) { outputKinds.Add((output, 2)); continue; }
            throw Fail($"the graph output '{name}' comes from {Describe(model, from)}; a Gated layer returns the last layer's output sequence and the final states.");
        }

        // 3. The layer options (the same conditions as the fast engine's).
        var gated = activations.Select(a => { a.TryToGated(out var x); return x; }).ToArray();
        var o = new RecurrentOptions
        {
            Cell = cell,
            InputSize = inputSize,
            HiddenSize = hidden,
            NumLayers = layers,
            Bidirectional = d == 2,
            Bias = b[0] is null ? BiasMode.None : BiasMode.InputAndHidden,
        };
        o = OnnxRecurrent.WithCellOptions(o, cell, first.LinearBeforeReset, gated)
            ?? throw Fail($"{recurrent[0].Label} is an RNN with the activation {activations[0]}; Gated's RNN uses tanh or ReLU.");
        try { o.Validate(); }
        catch (ArgumentException ex) { throw Fail(ex.Message); }

        // 4. Run the graph and the layer on the same random input; keep the layout under which they agree.
        var notes = new List<string>();
        var probe = new Probe(model, o, w, r, b, xName, hName, cName, sName, outputKinds);
        var timeMajor = probe.Try(batchFirst: false, zeroStates);
        var batchFirst = timeMajor.Failure is null ? null : probe.Try(batchFirst: true, zeroStates);
        var chosen = timeMajor.Failure is null ? timeMajor : batchFirst!.Failure is null ? batchFirst : null;
        if (chosen is null)
        {
            var best = batchFirst!.Matched > timeMajor.Matched ? batchFirst : timeMajor;
            throw Fail(best.Failure!);
        }
        o = o with { BatchFirst = chosen == batchFirst };
        notes.AddRange(chosen.Notes);

        var mapping = new List<string>();
        foreach (var (name, role, gatedName) in new[] { (xName, SequenceRole, "input"), (hName, HiddenRole, "h0"), (cName, CellRole, "c0"), (sName, LengthsRole, "lengths") })
            if (name is not null && name != gatedName && !(gatedName == "lengths" && name == "sequence_lens")) mapping.Add($"'{OnnxNode.Printable(name)}' is {role} ('{gatedName}' in gated run)");
        if (mapping.Count > 0) notes.Add($"graph inputs: {string.Join("; ", mapping)}.");
        if (anyHalf) notes.Add("the graph stores float16/bfloat16 weights; they are held as float32 (exactly).");

        CheckOptions(o, options, source);
        return new OnnxStack
        {
            Options = o,
            W = w,
            R = r,
            B = b,
            StoredDType = anyDouble ? SafetensorsDType.F64 : SafetensorsDType.F32,
            Notes = notes,
            Source = source,
        };
    }

    /// <summary>An ONNX graph says how it computes: a convention option that differs from it is an error, a Keras option or a prefix does not apply.</summary>
    private static void CheckOptions(RecurrentOptions o, ModelImportOptions? options, string? source)
    {
        if (options is null) return;
        string where = source ?? "the ONNX model";
        const string Leave = "An ONNX graph says how it computes: leave the option out.";
        if (options.Prefix is not null) throw new InteropException($"--prefix does not apply to an ONNX model ({where}). {Leave}");
        if (options.Activation is not null || options.RecurrentActivation is not null)
            throw new InteropException($"--activation and --recurrent-activation are for Keras weights, not an ONNX model ({where}). {Leave}");
        if (o.Cell == CellKind.Gru)
        {
            if (options.UpdateGate is UpdateGateConvention u && u != o.Gru.UpdateGate)
                throw new InteropException($"{where} computes with the update-gate convention {o.Gru.UpdateGate} (ONNX's GRU has no other); the option asks for {u}. {Leave}");
            if (options.Reset is ResetGatePosition p && p != o.Gru.Reset)
                throw new InteropException($"{where} computes with the reset position {o.Gru.Reset} (linear_before_reset = {(o.Gru.Reset == ResetGatePosition.AfterProduct ? 1 : 0)}); the option asks for {p}. {Leave}");
        }
        if (o.Cell == CellKind.Rnn && options.RnnNonlinearity is Activation a && a != o.RnnNonlinearity)
            throw new InteropException($"{where} computes with the non-linearity {RecurrentOptionsMetadata.Format(o.RnnNonlinearity)}; the option asks for {RecurrentOptionsMetadata.Format(a)}. {Leave}");
        if (options.BatchFirst is bool bf && bf != o.BatchFirst)
            throw new InteropException($"{where} takes its input {(o.BatchFirst ? "batch-first (B, T, I)" : "time-major (T, B, I)")}; the option asks for {(bf ? "batch-first" : "time-major")}. {Leave}");
    }

    /// <summary>The constant behind input <paramref name="index"/> of a node: an initializer or a Constant node's value; null when the input is absent.</summary>
    private static OnnxConstant? Constant(OnnxModel model, Dictionary<string, OnnxNode> constantNodes, OnnxNode node, int index, string what, bool allowComputed = false)
    {
        if (!node.HasInput(index)) return null;
        string name = node.Inputs[index];
        if (model.Initializer(name) is { } init) return init;
        if (constantNodes.TryGetValue(name, out var c) && c.Tensor("value") is { } value) return value;
        if (allowComputed) return null;
        if (model.Inputs.Any(i => i.Name == name))
            throw new GatedFormatException(model.SourceName, $"{NoForm}: {node.Label}: {what} is the graph input '{OnnxNode.Printable(name)}'; Gated reads fixed weights (initializers or Constant nodes) only.");
        throw new GatedFormatException(model.SourceName, $"{NoForm}: {node.Label}: {what} ('{OnnxNode.Printable(name)}') is not an initializer or a Constant node's tensor; Gated reads fixed weights only.");
    }

    private static string Describe(OnnxModel model, HashSet<string> sources)
    {
        if (sources.Count == 0) return "constants only";
        var parts = new List<string>();
        foreach (string s in sources.Order(StringComparer.Ordinal))
        {
            if (s.StartsWith("in:", StringComparison.Ordinal)) parts.Add($"the graph input '{OnnxNode.Printable(s[3..])}'");
            else
            {
                string[] p = s.Split(':');
                int k = int.Parse(p[1], CultureInfo.InvariantCulture);
                var node = model.Nodes.Where(n => n.OpType is "GRU" or "LSTM" or "RNN").ElementAt(k);
                parts.Add($"{(p[2] switch { "0" => "Y", "1" => "Y_h", _ => "Y_c" })} of {node.Label}");
            }
        }
        return string.Join(" and ", parts);
    }

    private static string Purpose(HashSet<string> sources) =>
        sources.Any(s => s.StartsWith("rec:", StringComparison.Ordinal)) ? "head or other computation after the recurrent layers" : "computation before the recurrent layers";

    /// <summary>The graph and the candidate layer, run side by side.</summary>
    private sealed class Probe(OnnxModel model, RecurrentOptions options, double[][] w, double[][] r, double[]?[] b,
        string xName, string? hName, string? cName, string? sName, List<(OnnxValueInfo Info, int Kind)> outputs)
    {
        public sealed record Outcome(string? Failure, int Matched, IReadOnlyList<string> Notes);

        public Outcome Try(bool batchFirst, List<(OnnxNode Node, string Value, string What)> zeroStates)
        {
            var o = options with { BatchFirst = batchFirst };
            var xInfo = model.Inputs.First(i => i.Name == xName);
            int? d0 = Fixed(xInfo, 0), d1 = Fixed(xInfo, 1);
            int steps = batchFirst ? d1 ?? 5 : d0 ?? 5, batch = batchFirst ? d0 ?? 3 : d1 ?? 3;
            if (steps <= 0 || batch <= 0) return new($"the graph input '{OnnxNode.Printable(xName)}' has a fixed shape {xInfo.ShapeText} with no steps or no sequences.", 0, []);
            int[] xShape = batchFirst ? [batch, steps, o.InputSize] : [steps, batch, o.InputSize];
            int states = o.NumLayers * o.Directions, h = o.HiddenSize;
            var random = new Random(20240917);
            double[] Draw(int n, double scale) { var v = new double[n]; for (int i = 0; i < n; i++) v[i] = scale * (2 * random.NextDouble() - 1); return v; }

            var given = new Dictionary<string, OnnxValue<double>>(StringComparer.Ordinal);
            double[] x = Draw(xShape.Aggregate(1, (a, c) => a * c), 1);
            given[xName] = OnnxValue<double>.Float(TypeOf(xName, (int)DataType.Float), xShape, x);
            double[]? h0 = null, c0 = null;
            if (hName is not null) given[hName] = OnnxValue<double>.Float(TypeOf(hName, (int)DataType.Float), [states, batch, h], h0 = Draw(states * batch * h, 0.5));
            if (cName is not null) given[cName] = OnnxValue<double>.Float(TypeOf(cName, (int)DataType.Float), [states, batch, h], c0 = Draw(states * batch * h, 0.5));
            int[]? lengths = null;
            if (sName is not null)
            {
                lengths = [.. Enumerable.Range(0, batch).Select(i => steps - i % steps)];
                given[sName] = OnnxValue<double>.Integer(TypeOf(sName, (int)DataType.Int32), [batch], [.. lengths.Select(l => (long)l)]);
            }
            string layout = batchFirst ? "batch-first (B, T, I)" : "time-major (T, B, I)";
            Dictionary<string, OnnxValue<double>> env;
            try
            {
                env = model.EvaluateAll(given);
            }
            catch (Exception ex) when (ex is GatedFormatException or ArgumentException)
            {
                return new($"the graph does not run on a {layout} input of shape {OnnxTypes.ShapeText(xShape)}{(hName is null ? "" : $" with h0 {OnnxTypes.ShapeText([states, batch, h])}")}: {ex.Message}", 0, []);
            }
            foreach (var (node, value, what) in zeroStates)
                if (env[value].Floats is { } f && f.Any(v => v != 0))
                    return new($"{node.Label} starts from a constant {what} that is not zero; a Gated layer starts from zeros or from a given state.", 0, []);

            var layer = new RecurrentLayer<double>(o, seed: 0) { Training = false };
            for (int k = 0; k < o.NumLayers; k++) OnnxRecurrent.CopyWeights(layer, w[k], r[k], b[k], k);
            var result = layer.Forward(new Tensor<double>(x, xShape),
                h0 is null ? null : new Tensor<double>(h0, states, batch, h),
                c0 is null ? null : new Tensor<double>(c0, states, batch, h),
                lengths);

            int d = o.Directions;
            double[] output = result.Output.Data;
            // ONNX's Y layouts of the last layer's output: (T, D, B, H) and, for layout 1, (B, T, D, H).
            var y0 = new double[output.Length];
            var y1 = new double[output.Length];
            for (int t = 0; t < steps; t++)
                for (int row = 0; row < batch; row++)
                    for (int dir = 0; dir < d; dir++)
                        for (int j = 0; j < h; j++)
                        {
                            double v = output[(batchFirst ? row * steps + t : t * batch + row) * d * h + dir * h + j];
                            y0[((t * d + dir) * batch + row) * h + j] = v;
                            y1[((row * steps + t) * d + dir) * h + j] = v;
                        }
            var forms = new List<(string Name, int Kind, int[] Shape, double[] Data, string? Note)>
            {
                ("the output sequence", 0, xShape[..2].Append(d * h).ToArray(), output, null),
                ("the output sequence", 0, [steps, d, batch, h], y0, "in ONNX's Y layout (T, D, B, H); a Gated layer returns it as " + (batchFirst ? "(B, T, D·H)" : "(T, B, D·H)")),
                ("the output sequence", 0, [batch, steps, d, h], y1, "in ONNX's layout-1 Y layout (B, T, D, H); a Gated layer returns it as " + (batchFirst ? "(B, T, D·H)" : "(T, B, D·H)")),
                ("h_n", 1, [states, batch, h], result.HiddenState.Data, null),
                ("h_n", 1, [batch, states, h], Swap01(result.HiddenState.Data, states, batch, h), "in ONNX's layout-1 state layout (B, L·D, H); a Gated layer returns (L·D, B, H)"),
            };
            if (result.CellState is { } cn)
            {
                forms.Add(("c_n", 2, [states, batch, h], cn.Data, null));
                forms.Add(("c_n", 2, [batch, states, h], Swap01(cn.Data, states, batch, h), "in ONNX's layout-1 state layout (B, L·D, H); a Gated layer returns (L·D, B, H)"));
            }

            var notes = new List<string>();
            int matched = 0;
            foreach (var (info, kind) in outputs)
            {
                var actual = env[info.Name];
                string name = OnnxNode.Printable(info.Name);
                if (actual.Floats is null) return new($"the graph output '{name}' is {OnnxTypes.Name(actual.ElementType)}, not floating-point.", matched, []);
                var candidates = forms.Where(f => f.Kind == kind).ToList();
                var sameShape = candidates.Where(f => f.Shape.SequenceEqual(actual.Shape)).ToList();
                string what = candidates[0].Name;
                if (sameShape.Count == 0)
                    return new($"the graph output '{name}' has shape {actual.ShapeText} for a {layout} input of shape {OnnxTypes.ShapeText(xShape)}; {what} of the stack would be {string.Join(" or ", candidates.Select(f => OnnxTypes.ShapeText(f.Shape)))}.", matched, []);
                double worst = double.PositiveInfinity;
                (string Name, int Kind, int[] Shape, double[] Data, string? Note)? hit = null;
                foreach (var f in sameShape)
                {
                    double diff = MaxRelativeDifference(f.Data, actual.Floats);
                    if (diff <= 1e-9) { hit = f; break; }
                    worst = Math.Min(worst, diff);
                }
                if (hit is null)
                    return new($"the graph output '{name}' is not {what} of the recurrent layers read as a Gated stack ({layout}): they differ by {worst.ToString("G3", CultureInfo.InvariantCulture)} (relative), so the nodes around the recurrent ones do more than move data.", matched, []);
                matched++;
                if (hit.Value.Note is string note) notes.Add($"the graph output '{name}' is {what} {note}.");
            }
            return new(null, matched, notes);
        }

        private int TypeOf(string name, int fallback)
        {
            var info = model.Inputs.First(i => i.Name == name);
            return info.ElementType switch
            {
                "float64" => (int)DataType.Double,
                "float32" or "float16" or "bfloat16" => (int)DataType.Float,
                "int64" => (int)DataType.Int64,
                "int32" => (int)DataType.Int32,
                _ => fallback,
            };
        }

        private static int? Fixed(OnnxValueInfo info, int axis) =>
            info.Dimensions is { } dims && axis < dims.Count && int.TryParse(dims[axis], NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : null;

        private static double[] Swap01(double[] data, int a, int b, int c)
        {
            var result = new double[data.Length];
            for (int i = 0; i < a; i++)
                for (int j = 0; j < b; j++)
                    Array.Copy(data, (i * b + j) * c, result, (j * a + i) * c, c);
            return result;
        }

        private static double MaxRelativeDifference(double[] expected, double[] actual)
        {
            double worst = 0;
            for (int i = 0; i < expected.Length; i++)
            {
                double e = expected[i], a = actual[i];
                if (e == a) continue;
                double diff = Math.Abs(e - a) / (Math.Max(Math.Abs(e), Math.Abs(a)) + 1e-3);
                if (!(diff <= worst)) worst = double.IsNaN(diff) ? double.PositiveInfinity : diff;
            }
            return worst;
        }
    }
}
