using System.Numerics;
using System.Reflection;
using Gated.IO;
using Gated.Kernels;
using Gated.Layers;
using Gated.Models;
using Gated.Onnx.Proto;
using Google.Protobuf;
using AttributeType = Gated.Onnx.Proto.AttributeProto.Types.AttributeType;
using DataType = Gated.Onnx.Proto.TensorProto.Types.DataType;

namespace Gated.Onnx;

/// <summary>
/// Writes Gated models as ONNX files (opset <see cref="Opset"/>, IR version <see cref="IrVersion"/>)
/// made of the standard GRU / LSTM / RNN operators, one node per layer, so that any ONNX runtime
/// runs them.
/// </summary>
/// <remarks>
/// <para>Per layer k the weights become ONNX's W (D, G·H, I_k), R (D, G·H, H) and B (D, 2·G·H) with the
/// gate blocks reordered: Gated (PyTorch) r | z | n → ONNX z | r | h for the GRU, i | f | g | o →
/// i | o | f | c for the LSTM. B is [bias_ih | bias_hh] per direction (bias_hh zero under
/// <see cref="BiasMode.InputOnly"/>, no B under <see cref="BiasMode.None"/>).
/// <see cref="ResetGatePosition.AfterProduct"/> is <c>linear_before_reset = 1</c>,
/// <see cref="ResetGatePosition.BeforeProduct"/> is 0. Non-default activations are written with their
/// α and β. A GRU with <see cref="UpdateGateConvention.TakeCandidate"/> is first converted exactly with
/// <see cref="GruConversion.SwitchUpdateGateConvention{T}"/> (ONNX's GRU keeps the past with z).</para>
/// <para>A node's Y is (T, D, B, H); the next layer and the graph output need (T, B, D·H): a Squeeze of
/// axis 1 when D = 1, a Transpose (0, 2, 1, 3) and a Reshape (0, 0, −1) when D = 2. The final states
/// of all layers are concatenated into <c>h_n</c> (and <c>c_n</c>), (L·D, B, H), as Gated returns them.
/// Batch-first layers get a Transpose at the input and at the output. Dropout is not exported (inference).</para>
/// <para>Refused with an <see cref="ArgumentException"/>: GRU ablations (ONNX has no GRU without a gate), and
/// <see cref="UpdateGateConvention.TakeCandidate"/> with a gate activation for which no exact
/// conversion exists (tanh, ReLU, …; docs/equations.md §2.2).</para>
/// </remarks>
public static class OnnxExporter
{
    /// <summary>The opset version of the default domain the exported files import.</summary>
    public const int Opset = 14;

    /// <summary>The ONNX IR version of the exported files (IR 7 is the one of opsets 13 and 14).</summary>
    public const int IrVersion = 7;

    /// <summary>
    /// Writes a recurrent stack as an ONNX model: input <c>input</c> (T, B, I) — (B, T, I) when
    /// batch-first — and outputs <c>output</c> (T, B, D·H), <c>h_n</c> (L·D, B, H), and for the LSTM
    /// <c>c_n</c>. T and B are symbolic (<c>steps</c>, <c>batch</c>). Float layers write float32
    /// tensors, double layers float64.
    /// </summary>
    /// <param name="layer">The stack to export; it is not changed.</param>
    /// <param name="path">The file to write (atomically).</param>
    /// <param name="options">Extra inputs; null for none.</param>
    /// <exception cref="ArgumentException">The layer has no ONNX form (see the class remarks); the message says why.</exception>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public static void Export<T>(RecurrentLayer<T> layer, string path, OnnxExportOptions? options = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        var model = ToModel(layer, options ?? new OnnxExportOptions());
        Write(model, path);
    }

    /// <summary>
    /// Writes a music model: input <c>input</c> (T, B, 88), the recurrent stack, the linear head and a
    /// sigmoid; outputs <c>probabilities</c> (T, B, 88) — P(key k sounds at step t+1) — , <c>logits</c>
    /// (T, B, 88), <c>h_n</c> and, for the LSTM, <c>c_n</c>.
    /// </summary>
    /// <param name="model">The model to export; it is not changed.</param>
    /// <param name="path">The file to write (atomically).</param>
    /// <param name="options">Extra inputs; null for none.</param>
    /// <exception cref="ArgumentException">The recurrent stack has no ONNX form, or the model has a NADE output (which has none).</exception>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public static void Export(MusicModel model, string path, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Write(ToModel(model, options ?? new OnnxExportOptions()), path);
    }

    /// <summary>The bytes <see cref="Export{T}(RecurrentLayer{T}, string, OnnxExportOptions?)"/> writes.</summary>
    /// <exception cref="ArgumentException">The layer has no ONNX form.</exception>
    public static byte[] ToBytes<T>(RecurrentLayer<T> layer, OnnxExportOptions? options = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        return ToModel(layer, options ?? new OnnxExportOptions()).ToByteArray();
    }

    /// <summary>The bytes <see cref="Export(MusicModel, string, OnnxExportOptions?)"/> writes.</summary>
    /// <exception cref="ArgumentException">The recurrent stack has no ONNX form.</exception>
    public static byte[] ToBytes(MusicModel model, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return ToModel(model, options ?? new OnnxExportOptions()).ToByteArray();
    }

    internal static void Write(ModelProto model, string path) => AtomicFile.Write(path, stream => model.WriteTo(stream));

    internal static ModelProto ToModel<T>(RecurrentLayer<T> layer, OnnxExportOptions options) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var b = new GraphBuilder<T>(options);
        var o = layer.Options;
        string x = b.Input("input", o.BatchFirst ? ["batch", "steps", o.InputSize.ToString()] : ["steps", "batch", o.InputSize.ToString()]);
        if (o.BatchFirst) x = b.Node("Transpose", [x], "input_time_major", ("perm", new long[] { 1, 0, 2 }));
        var (y, hn, cn) = b.Recurrent(layer, x);
        if (o.BatchFirst) y = b.Node("Transpose", [y], "output_batch_first", ("perm", new long[] { 1, 0, 2 }));
        b.Output(b.Rename(y, "output"), o.BatchFirst ? ["batch", "steps", o.OutputSize.ToString()] : ["steps", "batch", o.OutputSize.ToString()]);
        b.Output(b.Rename(hn, "h_n"), [(o.NumLayers * o.Directions).ToString(), "batch", o.HiddenSize.ToString()]);
        if (cn is not null) b.Output(b.Rename(cn, "c_n"), [(o.NumLayers * o.Directions).ToString(), "batch", o.HiddenSize.ToString()]);
        return b.Build($"Gated {o}");
    }

    internal static ModelProto ToModel(MusicModel model, OnnxExportOptions options) =>
        model.Nade is null
            ? ToModel(model.Recurrent, model.Head, options, $"Gated {model}")
            : throw new ArgumentException(Interop.ModelFile.NadeHasNoExport, nameof(model));

    /// <summary>
    /// A stack with a dense head on every step's output and a sigmoid, as a music model computes:
    /// outputs <c>probabilities</c> and <c>logits</c> (T, B, K) — (B, T, K) when batch-first — , <c>h_n</c>, <c>c_n</c>.
    /// </summary>
    internal static ModelProto ToModel<T>(RecurrentLayer<T> layer, Linear<T> head, OnnxExportOptions options, string doc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var b = new GraphBuilder<T>(options);
        var o = layer.Options;
        string x = b.Input("input", o.BatchFirst ? ["batch", "steps", o.InputSize.ToString()] : ["steps", "batch", o.InputSize.ToString()]);
        if (o.BatchFirst) x = b.Node("Transpose", [x], "input_time_major", ("perm", new long[] { 1, 0, 2 }));
        var (y, hn, cn) = b.Recurrent(layer, x);
        // Head: logits = y · Wᵀ + b, with Wᵀ stored as (D·H, K) for MatMul.
        var weight = head.Parameters.Value("weight");
        var transposed = new T[weight.Length];
        for (int r = 0; r < head.OutputSize; r++)
            for (int c = 0; c < head.InputSize; c++) transposed[c * head.OutputSize + r] = weight[r * head.InputSize + c];
        string wt = b.Initializer("head.weight_t", transposed, head.InputSize, head.OutputSize);
        string bias = b.Initializer("head.bias", head.Parameters.Value("bias"), head.OutputSize);
        string projected = b.Node("MatMul", [y, wt], "head_matmul");
        string logits = b.Node("Add", [projected, bias], o.BatchFirst ? "logits_time_major" : "logits");
        string probabilities = b.Node("Sigmoid", [logits], o.BatchFirst ? "probabilities_time_major" : "probabilities");
        if (o.BatchFirst)
        {
            probabilities = b.Node("Transpose", [probabilities], "probabilities", ("perm", new long[] { 1, 0, 2 }));
            logits = b.Node("Transpose", [logits], "logits", ("perm", new long[] { 1, 0, 2 }));
        }
        string[] keys = o.BatchFirst ? ["batch", "steps", head.OutputSize.ToString()] : ["steps", "batch", head.OutputSize.ToString()];
        b.Output(probabilities, keys);
        b.Output(logits, keys);
        b.Output(b.Rename(hn, "h_n"), [(o.NumLayers * o.Directions).ToString(), "batch", o.HiddenSize.ToString()]);
        if (cn is not null) b.Output(b.Rename(cn, "c_n"), [(o.NumLayers * o.Directions).ToString(), "batch", o.HiddenSize.ToString()]);
        return b.Build(doc);
    }

    /// <summary>Collects nodes, initializers, inputs and outputs of one graph; names values uniquely.</summary>
    private sealed class GraphBuilder<T>(OnnxExportOptions options) where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly GraphProto graph = new() { Name = options.GraphName };
        private readonly int elementType = typeof(T) == typeof(double) ? (int)DataType.Double : (int)DataType.Float;
        private string? h0, c0, lengths;

        public string Input(string name, string[] dims)
        {
            graph.Input.Add(ValueInfo(name, elementType, dims));
            return name;
        }

        public void Output(string name, string[] dims) => graph.Output.Add(ValueInfo(name, elementType, dims));

        public string Initializer(string name, ReadOnlySpan<T> data, params long[] dims)
        {
            TensorProto t;
            if (typeof(T) == typeof(double))
            {
                t = new TensorProto { Name = name, DataType = (int)DataType.Double };
                t.Dims.AddRange(dims);
                foreach (T v in data) t.DoubleData.Add(double.CreateChecked(v));
            }
            else
            {
                var f = new float[data.Length];
                for (int i = 0; i < f.Length; i++) f[i] = float.CreateChecked(data[i]);
                t = OnnxTensorCodec.Float32(name, f, dims);
            }
            graph.Initializer.Add(t);
            return name;
        }

        public string Initializer(string name, float[] data, params long[] dims)
        {
            graph.Initializer.Add(OnnxTensorCodec.Float32(name, data, dims));
            return name;
        }

        public string Ints(string name, params long[] data)
        {
            graph.Initializer.Add(OnnxTensorCodec.Int64(name, data, data.Length));
            return name;
        }

        /// <summary>Adds a node with one output named <paramref name="output"/>; returns the output.</summary>
        public string Node(string op, string[] inputs, string output, params (string Name, object Value)[] attributes) =>
            NodeMulti(op, inputs, [output], attributes)[0];

        public string[] NodeMulti(string op, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
        {
            var n = new NodeProto { OpType = op, Name = outputs[0] + "_" + op.ToLowerInvariant() };
            n.Input.AddRange(inputs);
            n.Output.AddRange(outputs);
            foreach (var (name, value) in attributes) n.Attribute.Add(Attribute(name, value));
            graph.Node.Add(n);
            return outputs;
        }

        /// <summary>Gives a value its final graph name with an Identity node (or returns it when it already has it).</summary>
        public string Rename(string value, string name) => value == name ? value : Node("Identity", [value], name);

        /// <summary>The stack, layer by layer; returns the last layer's output (T, B, D·H) and the concatenated final states.</summary>
        public (string Output, string HiddenState, string? CellState) Recurrent(RecurrentLayer<T> layer, string x)
        {
            var o = layer.Options;
            if (o.Cell == CellKind.Gru)
            {
                if (o.Gru.Ablation != GruAblation.None)
                    throw new ArgumentException($"Cannot export {o} to ONNX: ONNX's GRU has no form without a gate ({o.Gru.Ablation}).", nameof(layer));
                if (o.Gru.UpdateGate == UpdateGateConvention.TakeCandidate)
                {
                    try
                    {
                        layer = GruConversion.SwitchUpdateGateConvention(layer);
                    }
                    catch (ArgumentException ex)
                    {
                        throw new ArgumentException($"Cannot export {o} to ONNX: ONNX's GRU computes h = (1 − z) ⊙ ĥ + z ⊙ h_prev (z keeps the past) and this layer takes the candidate with z; {ex.Message}", nameof(layer), ex);
                    }
                    o = layer.Options;
                }
            }
            int d = o.Directions, h = o.HiddenSize, g = o.GateCount;
            string batchDim = "batch";
            if (options.InitialStates)
            {
                h0 = Input("h0", [(o.NumLayers * d).ToString(), batchDim, h.ToString()]);
                if (o.Cell == CellKind.Lstm) c0 = Input("c0", [(o.NumLayers * d).ToString(), batchDim, h.ToString()]);
            }
            if (options.SequenceLengths)
            {
                lengths = "sequence_lens";
                graph.Input.Add(ValueInfo(lengths, (int)DataType.Int32, [batchDim]));
            }
            int[] onnxFromGated = OnnxFromGated(o.Cell);
            var hs = new List<string>();
            var cs = new List<string>();
            for (int k = 0; k < o.NumLayers; k++)
            {
                int inputSize = k == 0 ? o.InputSize : o.OutputSize;
                var w = new T[d * g * h * inputSize];
                var r = new T[d * g * h * h];
                var bias = new T[d * 2 * g * h];
                for (int dir = 0; dir < d; dir++)
                {
                    string suffix = RecurrentLayer<T>.Suffix(k, dir);
                    ReadOnlySpan<T> wih = layer.Parameters.Value("weight_ih" + suffix), whh = layer.Parameters.Value("weight_hh" + suffix);
                    for (int block = 0; block < g; block++)
                    {
                        int j = onnxFromGated[block];   // the Gated block that ONNX block `block` holds
                        wih.Slice(j * h * inputSize, h * inputSize).CopyTo(w.AsSpan((dir * g + block) * h * inputSize));
                        whh.Slice(j * h * h, h * h).CopyTo(r.AsSpan((dir * g + block) * h * h));
                        if (o.Bias != BiasMode.None)
                            layer.Parameters.Value("bias_ih" + suffix).Slice(j * h, h).CopyTo(bias.AsSpan(dir * 2 * g * h + block * h));
                        if (o.Bias == BiasMode.InputAndHidden)
                            layer.Parameters.Value("bias_hh" + suffix).Slice(j * h, h).CopyTo(bias.AsSpan(dir * 2 * g * h + g * h + block * h));
                    }
                }
                string l = $"_l{k}";
                string wName = Initializer("W" + l, w, d, g * h, inputSize);
                string rName = Initializer("R" + l, r, d, g * h, h);
                string bName = o.Bias == BiasMode.None ? "" : Initializer("B" + l, bias, d, 2 * g * h);
                var inputs = new List<string> { x, wName, rName, bName, lengths ?? "" };
                if (h0 is not null) inputs.Add(SliceStates(h0, k, d, "h0" + l));
                if (o.Cell == CellKind.Lstm && c0 is not null)
                {
                    if (h0 is null) inputs.Add("");
                    inputs.Add(SliceStates(c0, k, d, "c0" + l));
                }
                while (inputs.Count > 3 && inputs[^1].Length == 0) inputs.RemoveAt(inputs.Count - 1);

                var attributes = new List<(string, object)> { ("hidden_size", (long)h) };
                if (d == 2) attributes.Add(("direction", "bidirectional"));
                string op = o.Cell switch { CellKind.Gru => "GRU", CellKind.Lstm => "LSTM", _ => "RNN" };
                Activation[] acts = o.Cell switch
                {
                    CellKind.Gru => [o.Gru.GateActivation, o.Gru.CandidateActivation],
                    CellKind.Lstm => [o.Lstm.GateActivation, o.Lstm.CellInputActivation, o.Lstm.CellOutputActivation],
                    _ => [o.RnnNonlinearity],
                };
                Activation[] defaults = o.Cell switch
                {
                    CellKind.Gru => [Activation.Sigmoid, Activation.Tanh],
                    CellKind.Lstm => [Activation.Sigmoid, Activation.Tanh, Activation.Tanh],
                    _ => [Activation.Tanh],
                };
                if (!acts.SequenceEqual(defaults))
                {
                    var names = new List<string>();
                    var alphas = new List<float>();
                    var betas = new List<float>();
                    for (int dir = 0; dir < d; dir++)
                    {
                        foreach (var a in acts)
                        {
                            var onnx = OnnxActivation.FromGated(a);
                            names.Add(onnx.Name);
                            if (OnnxActivation.TakesAlpha(onnx.Name)) alphas.Add((float)onnx.Alpha);
                            if (OnnxActivation.TakesBeta(onnx.Name)) betas.Add((float)onnx.Beta);
                        }
                    }
                    attributes.Add(("activations", names.ToArray()));
                    if (alphas.Count > 0) attributes.Add(("activation_alpha", alphas.ToArray()));
                    if (betas.Count > 0) attributes.Add(("activation_beta", betas.ToArray()));
                }
                if (o.Cell == CellKind.Gru)
                    attributes.Add(("linear_before_reset", o.Gru.Reset == ResetGatePosition.AfterProduct ? 1L : 0L));
                string[] outputs = o.Cell == CellKind.Lstm ? ["Y" + l, "Y_h" + l, "Y_c" + l] : ["Y" + l, "Y_h" + l];
                NodeMulti(op, [.. inputs], outputs, [.. attributes]);
                hs.Add(outputs[1]);
                if (o.Cell == CellKind.Lstm) cs.Add(outputs[2]);

                // (T, D, B, H) → (T, B, D·H)
                if (d == 1) x = Node("Squeeze", [outputs[0], Ints("axes_1", 1)], "y" + l);
                else
                {
                    string transposed = Node("Transpose", [outputs[0]], "y_tbdh" + l, ("perm", new long[] { 0, 2, 1, 3 }));
                    x = Node("Reshape", [transposed, Ints("shape_t_b_dh" + l, 0, 0, -1)], "y" + l);
                }
            }
            string hn = hs.Count == 1 ? hs[0] : Node("Concat", [.. hs], "h_n_concat", ("axis", 0L));
            string? cn = cs.Count == 0 ? null : cs.Count == 1 ? cs[0] : Node("Concat", [.. cs], "c_n_concat", ("axis", 0L));
            return (x, hn, cn);
        }

        /// <summary>States of layer k, entries [k·D, (k+1)·D) of (L·D, B, H).</summary>
        private string SliceStates(string states, int k, int d, string name) =>
            Node("Slice", [states, Ints(name + "_start", k * d), Ints(name + "_end", (k + 1) * d), Ints(name + "_axes", 0)], name);

        public ModelProto Build(string doc)
        {
            // Initializers named the same by several layers (the shared constants) are written once.
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var unique = graph.Initializer.Where(t => seen.Add(t.Name)).ToList();
            graph.Initializer.Clear();
            graph.Initializer.AddRange(unique);
            var model = new ModelProto
            {
                IrVersion = IrVersion,
                ProducerName = "Gated",
                ProducerVersion = typeof(OnnxExporter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "",
                DocString = doc,
                Graph = graph,
            };
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
            return model;
        }

        private static ValueInfoProto ValueInfo(string name, int type, string[] dims)
        {
            var shape = new TensorShapeProto();
            foreach (string d in dims)
                shape.Dim.Add(long.TryParse(d, out long v) ? new TensorShapeProto.Types.Dimension { DimValue = v } : new TensorShapeProto.Types.Dimension { DimParam = d });
            return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = type, Shape = shape } } };
        }

        private static AttributeProto Attribute(string name, object value)
        {
            var a = new AttributeProto { Name = name };
            switch (value)
            {
                case long i: a.Type = AttributeType.Int; a.I = i; break;
                case float f: a.Type = AttributeType.Float; a.F = f; break;
                case string s: a.Type = AttributeType.String; a.S = ByteString.CopyFromUtf8(s); break;
                case long[] ints: a.Type = AttributeType.Ints; a.Ints.AddRange(ints); break;
                case float[] floats: a.Type = AttributeType.Floats; a.Floats.AddRange(floats); break;
                case string[] strings: a.Type = AttributeType.Strings; a.Strings.AddRange(strings.Select(ByteString.CopyFromUtf8)); break;
                default: throw new InvalidOperationException($"Unsupported attribute value {value.GetType()}.");
            }
            return a;
        }
    }

    /// <summary>For ONNX block k, the Gated block it holds: GRU z | r | h ← r, z, n; LSTM i | o | f | c ← i, f, g, o.</summary>
    private static int[] OnnxFromGated(CellKind cell) => cell switch
    {
        CellKind.Gru => [1, 0, 2],
        CellKind.Lstm => [0, 3, 1, 2],
        _ => [0],
    };
}
