using System.Text;
using Gated.IO;
using Gated.Onnx.Proto;
using AttributeType = Gated.Onnx.Proto.AttributeProto.Types.AttributeType;

namespace Gated.Onnx;

/// <summary>
/// One node of a loaded graph: operator, inputs and outputs ("" for an absent optional one), and its
/// attributes checked for type, with typed accessors. Messages name the node as
/// <c>node 'name' (Op)</c>, or by its index when it has no name.
/// </summary>
internal sealed class OnnxNode
{
    private readonly Dictionary<string, AttributeProto> attributes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OnnxConstant> tensorAttributes = new(StringComparer.Ordinal);

    public OnnxNode(NodeProto node, int index, int opset, string? source)
    {
        OpType = node.OpType;
        Index = index;
        Opset = opset;
        Source = source;
        Label = node.Name.Length > 0 ? $"node '{Printable(node.Name)}' ({Printable(OpType)})" : $"node #{index} ({Printable(OpType)})";
        Inputs = [.. node.Input];
        Outputs = [.. node.Output];
        foreach (var a in node.Attribute)
        {
            if (a.HasRefAttrName) throw Fail($"attribute '{Printable(a.Name)}' refers to a function attribute; only plain graphs are supported.");
            if (!attributes.TryAdd(a.Name, a)) throw Fail($"attribute '{Printable(a.Name)}' appears twice.");
        }
    }

    /// <summary>The operator name, e.g. <c>GRU</c>.</summary>
    public string OpType { get; }

    /// <summary>The node's position in the graph.</summary>
    public int Index { get; }

    /// <summary>The opset version of the default domain the model imports.</summary>
    public int Opset { get; }

    /// <summary>The file, for messages.</summary>
    public string? Source { get; }

    /// <summary><c>node 'name' (Op)</c>, for messages.</summary>
    public string Label { get; }

    /// <summary>Input value names, "" for an absent optional input.</summary>
    public string[] Inputs { get; }

    /// <summary>Output value names, "" for an unused optional output.</summary>
    public string[] Outputs { get; }

    /// <summary>Set by the operator checks: state the operator keeps between runs (e.g. a recurrent node's spec).</summary>
    public object? State { get; set; }

    /// <summary>The names of the attributes present.</summary>
    public IEnumerable<string> AttributeNames => attributes.Keys;

    public bool Has(string name) => attributes.ContainsKey(name);

    /// <summary>True when input <paramref name="i"/> is given (present and not "").</summary>
    public bool HasInput(int i) => i < Inputs.Length && Inputs[i].Length > 0;

    /// <summary>True when output <paramref name="i"/> is wanted (present and not "").</summary>
    public bool HasOutput(int i) => i < Outputs.Length && Outputs[i].Length > 0;

    public GatedFormatException Fail(string message) => new(Source, $"{Label}: {message}");

    public long Int(string name, long defaultValue) => Get(name, AttributeType.Int) is { } a ? a.I : defaultValue;

    public float Float(string name, float defaultValue) => Get(name, AttributeType.Float) is { } a ? a.F : defaultValue;

    public string? String(string name) => Get(name, AttributeType.String) is { } a ? Decode(a.S.Span) : null;

    public long[]? Ints(string name) => Get(name, AttributeType.Ints) is { } a ? [.. a.Ints] : null;

    public float[]? Floats(string name) => Get(name, AttributeType.Floats) is { } a ? [.. a.Floats] : null;

    public string[]? Strings(string name) => Get(name, AttributeType.Strings) is { } a ? [.. a.Strings.Select(s => Decode(s.Span))] : null;

    /// <summary>A tensor attribute, checked and decoded once.</summary>
    public OnnxConstant? Tensor(string name)
    {
        if (tensorAttributes.TryGetValue(name, out var cached)) return cached;
        if (Get(name, AttributeType.Tensor) is not { } a) return null;
        if (a.T is null) throw Fail($"attribute '{name}' has type TENSOR but holds no tensor.");
        var c = OnnxTensorCodec.Decode(a.T, Source, $"{Label}, attribute '{name}',");
        tensorAttributes[name] = c;
        return c;
    }

    /// <summary>Rejects any attribute not in <paramref name="known"/>, so that no attribute is silently ignored.</summary>
    public void AllowAttributes(params string[] known)
    {
        foreach (string name in attributes.Keys)
            if (Array.IndexOf(known, name) < 0)
                throw Fail($"attribute '{Printable(name)}' is not supported for {OpType}" + (known.Length > 0 ? $" (Gated reads {string.Join(", ", known)})." : " (it takes none)."));
    }

    /// <summary>Checks the number of inputs and outputs (counting trailing absent ones as given).</summary>
    public void CountInputsOutputs(int minInputs, int maxInputs, int minOutputs, int maxOutputs)
    {
        if (Inputs.Length < minInputs || Inputs.Length > maxInputs)
            throw Fail($"has {Inputs.Length} inputs; {OpType} takes {(minInputs == maxInputs ? $"{minInputs}" : $"{minInputs} to {maxInputs}")}.");
        for (int i = 0; i < minInputs; i++)
            if (Inputs[i].Length == 0) throw Fail($"input {i} is required but empty.");
        if (Outputs.Length < minOutputs || Outputs.Length > maxOutputs)
            throw Fail($"has {Outputs.Length} outputs; {OpType} gives {(minOutputs == maxOutputs ? $"{minOutputs}" : $"{minOutputs} to {maxOutputs}")}.");
    }

    private AttributeProto? Get(string name, AttributeType expected)
    {
        if (!attributes.TryGetValue(name, out var a)) return null;
        AttributeType actual = a.Type != AttributeType.Undefined ? a.Type : Infer(a);
        if (actual != expected) throw Fail($"attribute '{name}' has type {actual}, expected {expected}.");
        return a;
    }

    /// <summary>The type of an attribute written without its <c>type</c> field (very old files), from the field that holds a value.</summary>
    private static AttributeType Infer(AttributeProto a) =>
        a.HasF ? AttributeType.Float : a.HasI ? AttributeType.Int : a.HasS ? AttributeType.String : a.T is not null ? AttributeType.Tensor
        : a.Floats.Count > 0 ? AttributeType.Floats : a.Ints.Count > 0 ? AttributeType.Ints : a.Strings.Count > 0 ? AttributeType.Strings
        : AttributeType.Undefined;

    private static string Decode(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    /// <summary>A name as it may appear in a message: at most 80 characters, control characters replaced.</summary>
    public static string Printable(string s)
    {
        var b = new StringBuilder(Math.Min(s.Length, 80));
        foreach (char c in s.Length > 80 ? s[..80] : s) b.Append(char.IsControl(c) ? '?' : c);
        if (s.Length > 80) b.Append('…');
        return b.ToString();
    }
}
