using System.Collections.ObjectModel;
using System.Numerics;
using Gated.IO;
using Gated.IO.Safetensors;
using Gated.Onnx.Proto;
using Google.Protobuf;
using DataType = Gated.Onnx.Proto.TensorProto.Types.DataType;

namespace Gated.Onnx;

/// <summary>
/// An ONNX model loaded for inference: GRU / LSTM / RNN nodes (every attribute and optional input
/// of the operators) and the common tensor operators around them, run on named tensors.
/// </summary>
/// <remarks>
/// <para>Loading treats the file as hostile and throws <see cref="GatedFormatException"/>, naming the
/// file and the problem, for anything it cannot run: a file above <see cref="MaxFileLength"/>, bytes
/// that are not an ONNX protobuf, an unsupported operator or attribute (named with its node), a
/// tensor whose data does not match its dimensions or that claims more than 2^28 elements (checked
/// before anything is allocated), external data, a graph that is not in topological order.</para>
/// <para>Running computes every floating-point tensor of the graph in the precision of the call
/// (<see cref="float"/> or <see cref="double"/>, whatever the file's float types) and integer
/// tensors as 64-bit integers. A GRU / LSTM / RNN node that Gated's <see cref="Layers.RecurrentLayer{T}"/>
/// can represent runs on it (so exported models run on the fast engine); any other runs on a plain
/// evaluator written from the ONNX equations. Operators and limits: <c>docs/onnx.md</c>.</para>
/// <para>Calls to <c>Run</c> are serialised by a lock (the recurrent nodes keep their layers between runs).</para>
/// </remarks>
public sealed class OnnxModel
{
    /// <summary>The largest file <see cref="Load(string)"/> accepts: 1 GiB.</summary>
    public const long MaxFileLength = 1L << 30;

    /// <summary>The oldest opset of the default domain Gated runs (the operators' semantics are those of opset 7 and later).</summary>
    public const int MinOpset = 7;

    private readonly OnnxNode[] nodes;
    private readonly Dictionary<string, OnnxConstant> initializers;
    private readonly Dictionary<string, (int Type, int?[]? Shape)> declaredInputs;
    private readonly object gate = new();

    private OnnxModel(string? source, ModelProto proto)
    {
        SourceName = source;
        var graph = proto.Graph ?? throw new GatedFormatException(source, "the model has no graph.");
        long opset = -1;
        foreach (var import in proto.OpsetImport)
            if (import.Domain is "" or "ai.onnx") opset = import.Version;
        if (opset < 0) throw new GatedFormatException(source, "the model imports no opset of the default ONNX domain.");
        if (opset < MinOpset || opset > 1000) throw new GatedFormatException(source, $"the model uses opset {opset}; Gated runs opset {MinOpset} and later.");
        OpsetVersion = (int)opset;
        IrVersion = proto.IrVersion;
        ProducerName = proto.ProducerName;

        initializers = new Dictionary<string, OnnxConstant>(StringComparer.Ordinal);
        foreach (var t in graph.Initializer)
        {
            var c = OnnxTensorCodec.Decode(t, source, $"initializer '{OnnxNode.Printable(t.Name)}'");
            if (t.Name.Length == 0) throw new GatedFormatException(source, "an initializer has no name.");
            if (!initializers.TryAdd(t.Name, c)) throw new GatedFormatException(source, $"two initializers are named '{OnnxNode.Printable(t.Name)}'.");
        }

        var available = new HashSet<string>(initializers.Keys, StringComparer.Ordinal);
        declaredInputs = new Dictionary<string, (int, int?[]?)>(StringComparer.Ordinal);
        var inputs = new List<OnnxValueInfo>();
        foreach (var vi in graph.Input)
        {
            var (info, type, shape) = Describe(vi, source, "graph input");
            if (initializers.ContainsKey(vi.Name)) continue;   // an initializer's default, not something to feed
            if (!declaredInputs.TryAdd(vi.Name, (type, shape))) throw new GatedFormatException(source, $"two graph inputs are named '{OnnxNode.Printable(vi.Name)}'.");
            available.Add(vi.Name);
            inputs.Add(info);
        }

        nodes = new OnnxNode[graph.Node.Count];
        for (int i = 0; i < nodes.Length; i++)
        {
            var proto1 = graph.Node[i];
            var node = new OnnxNode(proto1, i, OpsetVersion, source);
            if (proto1.Domain is not ("" or "ai.onnx"))
                throw node.Fail($"the operator '{OnnxNode.Printable(proto1.OpType)}' of domain '{OnnxNode.Printable(proto1.Domain)}' is not supported; Gated runs only the default ONNX domain.");
            OnnxOperators.Check(node);
            foreach (string name in node.Inputs)
                if (name.Length > 0 && !available.Contains(name))
                    throw node.Fail($"reads '{OnnxNode.Printable(name)}', which no graph input, initializer or earlier node provides (nodes must be in topological order).");
            foreach (string name in node.Outputs)
                if (name.Length > 0 && !available.Add(name))
                    throw node.Fail($"writes '{OnnxNode.Printable(name)}', which already exists.");
            nodes[i] = node;
        }

        var outputs = new List<OnnxValueInfo>();
        foreach (var vi in graph.Output)
        {
            var (info, _, _) = Describe(vi, source, "graph output");
            if (!available.Contains(vi.Name)) throw new GatedFormatException(source, $"the graph output '{OnnxNode.Printable(vi.Name)}' is not computed by any node.");
            outputs.Add(info);
        }
        if (outputs.Count == 0) throw new GatedFormatException(source, "the graph has no outputs.");
        Inputs = new ReadOnlyCollection<OnnxValueInfo>(inputs);
        Outputs = new ReadOnlyCollection<OnnxValueInfo>(outputs);
        Operators = new ReadOnlyCollection<string>([.. nodes.Select(n => n.OpType).Distinct()]);
    }

    /// <summary>The file the model was read from (or the name given), for messages.</summary>
    public string? SourceName { get; }

    /// <summary>The opset version of the default ONNX domain the model imports.</summary>
    public int OpsetVersion { get; }

    /// <summary>The ONNX IR version of the file.</summary>
    public long IrVersion { get; }

    /// <summary>The tool that wrote the file (its <c>producer_name</c>), possibly empty.</summary>
    public string ProducerName { get; }

    /// <summary>The inputs to feed: graph inputs that have no initializer.</summary>
    public IReadOnlyList<OnnxValueInfo> Inputs { get; }

    /// <summary>The graph outputs, in the file's order.</summary>
    public IReadOnlyList<OnnxValueInfo> Outputs { get; }

    /// <summary>The distinct operators of the graph, in order of first use.</summary>
    public IReadOnlyList<string> Operators { get; }

    /// <summary>The recurrent nodes' attributes, in graph order (for tests).</summary>
    internal IEnumerable<OnnxRecurrentSpec> RecurrentNodes => nodes.Select(n => n.State).OfType<OnnxRecurrentSpec>();

    /// <summary>Reads a model file.</summary>
    /// <param name="path">An <c>.onnx</c> file (data inside the file, not external).</param>
    /// <exception cref="GatedFormatException">The file is not a model Gated can run; the message names the file and the problem.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static OnnxModel Load(string path)
    {
        byte[] bytes = BoundedFile.ReadAllBytes(path, MaxFileLength, "an ONNX model");
        return Load(bytes, path);
    }

    /// <summary>Reads a model from its bytes.</summary>
    /// <param name="bytes">The whole file.</param>
    /// <param name="sourceName">A name for messages, e.g. the path.</param>
    /// <exception cref="GatedFormatException">The bytes are not a model Gated can run.</exception>
    public static OnnxModel Load(ReadOnlySpan<byte> bytes, string? sourceName = null)
    {
        if (bytes.Length > MaxFileLength)
            throw new GatedFormatException(sourceName, $"the model is {bytes.Length} bytes, more than the {MaxFileLength} bytes Gated reads.");
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new GatedFormatException(sourceName, $"not a valid ONNX model file (protobuf): {ex.Message}");
        }
        return new OnnxModel(sourceName, proto);
    }

    /// <summary>
    /// Runs the model on named inputs, computing every floating-point tensor in precision <typeparamref name="T"/>.
    /// </summary>
    /// <param name="inputs">One tensor per entry of <see cref="Inputs"/>, by name (an input backed by an
    /// initializer may also be given, overriding it). An input the file declares as an integer type takes
    /// whole numbers, converted exactly.</param>
    /// <returns>Every graph output by name; integer outputs converted to <typeparamref name="T"/>.</returns>
    /// <exception cref="ArgumentException">An input is missing or unknown, has a shape the file's fixed dimensions
    /// rule out, or holds a non-integer value for an integer input.</exception>
    /// <exception cref="GatedFormatException">A node cannot be evaluated (shapes that do not fit its operator, an index
    /// out of range, a result above 2^28 elements); the message names the node.</exception>
    public IReadOnlyDictionary<string, Tensor<T>> Run<T>(IReadOnlyDictionary<string, Tensor<T>> inputs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var values = new Dictionary<string, OnnxValue<T>>(StringComparer.Ordinal);
        foreach (var (name, tensor) in inputs)
        {
            ArgumentNullException.ThrowIfNull(tensor, nameof(inputs));
            int type = ExpectedType(name, (int)(typeof(T) == typeof(double) ? DataType.Double : DataType.Float));
            int[] shape = tensor.Shape.ToArray();
            if (OnnxTypes.IsFloat(type)) values[name] = OnnxValue<T>.Float(type, shape, tensor.Data);
            else
            {
                var ints = new long[tensor.Length];
                for (int i = 0; i < ints.Length; i++)
                {
                    T v = tensor.Data[i];
                    if (!T.IsInteger(v) || T.Abs(v) > T.CreateChecked(9.007199254740992e15))
                        throw new ArgumentException($"Input '{name}' is {OnnxTypes.Name(type)} in the model, but element {i} is {v}, not a whole number.", nameof(inputs));
                    ints[i] = long.CreateChecked(v);
                }
                values[name] = OnnxValue<T>.Integer(type, shape, ints);
            }
        }
        var results = Evaluate(values);
        var outputs = new Dictionary<string, Tensor<T>>(StringComparer.Ordinal);
        foreach (var (name, v) in results)
            outputs[name] = new Tensor<T>(v.Floats ?? [.. v.Ints!.Select(T.CreateChecked)], v.Shape);
        return outputs;
    }

    /// <summary>
    /// Runs the model on named tensors of any element type (safetensors dtypes F32, F64, F16, BF16,
    /// integers, BOOL), for tools that read inputs from and write outputs to files.
    /// </summary>
    /// <param name="inputs">The inputs, named as <see cref="Inputs"/>; floating-point and integer dtypes convert to what the model declares.</param>
    /// <param name="doublePrecision">Compute floating-point tensors in <see cref="double"/> instead of <see cref="float"/>.</param>
    /// <returns>Every graph output: F32 when the graph declares float32 (or float16/bfloat16), F64 for float64, I64 for integer and bool types.</returns>
    /// <exception cref="ArgumentException">As for <see cref="Run{T}(IReadOnlyDictionary{string, Tensor{T}})"/>.</exception>
    /// <exception cref="GatedFormatException">A node cannot be evaluated, or an integer input holds a fractional value.</exception>
    public IReadOnlyList<SafetensorsTensor> Run(IEnumerable<SafetensorsTensor> inputs, bool doublePrecision = false)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return doublePrecision ? RunTensors<double>(inputs, declaredTypes: true) : RunTensors<float>(inputs, declaredTypes: true);
    }

    /// <summary>
    /// As <see cref="Run(IEnumerable{SafetensorsTensor}, bool)"/>, but every floating-point output is written in
    /// the precision of the run (F64 when <paramref name="doublePrecision"/>, else F32) whatever the graph declares
    /// (<c>gated run</c>: the computation, and its results, are in the inputs' dtype).
    /// </summary>
    internal IReadOnlyList<SafetensorsTensor> RunInPrecision(IEnumerable<SafetensorsTensor> inputs, bool doublePrecision)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return doublePrecision ? RunTensors<double>(inputs, declaredTypes: false) : RunTensors<float>(inputs, declaredTypes: false);
    }

    /// <summary>Whether an initializer or a Constant node holds float64 data (the model's weights are then float64).</summary>
    internal bool HoldsFloat64 =>
        initializers.Values.Any(c => c.ElementType == (int)DataType.Double)
        || nodes.Any(n => n.OpType == "Constant" && n.Has("value") && n.Tensor("value")!.ElementType == (int)DataType.Double);

    /// <summary>The nodes in graph order (for the importer that maps a graph to a Gated layer).</summary>
    internal IReadOnlyList<OnnxNode> Nodes => nodes;

    /// <summary>The constant an initializer holds, else null.</summary>
    internal OnnxConstant? Initializer(string name) => initializers.GetValueOrDefault(name);

    /// <summary>
    /// Every value of the graph (initializers, inputs, each node's outputs) after a run on <paramref name="given"/>,
    /// for the importer's probes. Inputs are checked as in <see cref="Run{T}(IReadOnlyDictionary{string, Tensor{T}})"/>.
    /// </summary>
    internal Dictionary<string, OnnxValue<T>> EvaluateAll<T>(Dictionary<string, OnnxValue<T>> given) where T : unmanaged, IFloatingPointIeee754<T> =>
        EvaluateValues(given);

    private List<SafetensorsTensor> RunTensors<T>(IEnumerable<SafetensorsTensor> inputs, bool declaredTypes) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var values = new Dictionary<string, OnnxValue<T>>(StringComparer.Ordinal);
        foreach (var t in inputs)
        {
            ArgumentNullException.ThrowIfNull(t, nameof(inputs));
            int given = OnnxTypes.FromSafetensors(t.DType);
            int type = ExpectedType(t.Name, given);
            int[] shape = t.GetShapeInt32();
            values[t.Name] = OnnxTypes.IsFloat(type) ? OnnxValue<T>.Float(type, shape, t.ToArray<T>()) : OnnxValue<T>.Integer(type, shape, t.ToInt64Array());
        }
        var list = new List<SafetensorsTensor>();
        foreach (var (name, v) in Evaluate(values))
        {
            if (v.Ints is not null) list.Add(SafetensorsTensor.FromArray(name, v.Ints, v.Shape));
            else if (declaredTypes ? v.ElementType == (int)DataType.Double : typeof(T) == typeof(double)) list.Add(SafetensorsTensor.FromArray(name, [.. v.Floats!.Select(double.CreateChecked)], v.Shape));
            else list.Add(SafetensorsTensor.FromArray(name, [.. v.Floats!.Select(float.CreateChecked)], v.Shape));
        }
        return list;
    }

    /// <summary>The element type the model declares for an input; <paramref name="fallback"/> for an initializer override.</summary>
    private int ExpectedType(string name, int fallback)
    {
        if (declaredInputs.TryGetValue(name, out var declared)) return declared.Type;
        if (initializers.TryGetValue(name, out var init)) return init.ElementType;
        throw new ArgumentException($"The model has no input '{name}'; its inputs are {string.Join(", ", Inputs)}.", nameof(name));
    }

    private List<(string Name, OnnxValue<T> Value)> Evaluate<T>(Dictionary<string, OnnxValue<T>> given) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var env = EvaluateValues(given);
        return [.. Outputs.Select(o => (o.Name, env[o.Name]))];
    }

    private Dictionary<string, OnnxValue<T>> EvaluateValues<T>(Dictionary<string, OnnxValue<T>> given) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var env = new Dictionary<string, OnnxValue<T>>(StringComparer.Ordinal);
        foreach (var (name, c) in initializers) env[name] = c.ToValue<T>();
        foreach (var (name, (type, shape)) in declaredInputs)
        {
            if (!given.TryGetValue(name, out var v))
                throw new ArgumentException($"The input '{name}' ({Inputs.First(i => i.Name == name).ShapeText}) is missing.", nameof(given));
            if (shape is not null)
            {
                bool fits = v.Rank == shape.Length;
                for (int d = 0; fits && d < shape.Length; d++) fits = shape[d] is not int s || s == v.Shape[d];
                if (!fits) throw new ArgumentException($"The input '{name}' has shape {v.ShapeText}; the model declares {Inputs.First(i => i.Name == name).ShapeText}.", nameof(given));
            }
        }
        foreach (var (name, v) in given) env[name] = v;

        lock (gate)
        {
            foreach (var node in nodes)
            {
                var x = new OnnxValue<T>?[node.Inputs.Length];
                for (int i = 0; i < x.Length; i++) x[i] = node.Inputs[i].Length > 0 ? env[node.Inputs[i]] : null;
                var y = OnnxOperators.Run(node, x);
                for (int i = 0; i < node.Outputs.Length; i++)
                {
                    if (node.Outputs[i].Length == 0) continue;
                    var v = i < y.Length ? y[i] : null;
                    env[node.Outputs[i]] = v ?? throw node.Fail($"output {i} ('{node.Outputs[i]}') is not produced by {node.OpType}.");
                }
            }
        }
        return env;
    }

    private static (OnnxValueInfo Info, int Type, int?[]? Shape) Describe(ValueInfoProto vi, string? source, string what)
    {
        if (vi.Name.Length == 0) throw new GatedFormatException(source, $"a {what} has no name.");
        var tensorType = vi.Type?.TensorType;
        if (vi.Type is not null && vi.Type.ValueCase != TypeProto.ValueOneofCase.TensorType)
            throw new GatedFormatException(source, $"the {what} '{OnnxNode.Printable(vi.Name)}' is not a tensor; Gated runs only tensor graphs.");
        int type = tensorType?.ElemType ?? (int)DataType.Float;
        if (!OnnxTypes.IsSupported(type))
            throw new GatedFormatException(source, $"the {what} '{OnnxNode.Printable(vi.Name)}' has element type {OnnxTypes.Name(type)}, which Gated does not run.");
        int?[]? shape = null;
        List<string>? dims = null;
        if (tensorType?.Shape is { } s)
        {
            if (s.Dim.Count > OnnxTypes.MaxRank) throw new GatedFormatException(source, $"the {what} '{OnnxNode.Printable(vi.Name)}' has rank {s.Dim.Count}.");
            shape = new int?[s.Dim.Count];
            dims = [];
            for (int i = 0; i < shape.Length; i++)
            {
                var d = s.Dim[i];
                if (d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue >= 0 && d.DimValue <= int.MaxValue)
                {
                    shape[i] = (int)d.DimValue;
                    dims.Add(d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
                else dims.Add(d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam ? OnnxNode.Printable(d.DimParam) : "?");
            }
        }
        return (new OnnxValueInfo(vi.Name, OnnxTypes.Name(type), dims), type, shape);
    }
}
