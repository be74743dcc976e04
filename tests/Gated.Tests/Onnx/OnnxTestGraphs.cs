using Gated.Onnx;
using Gated.Onnx.Proto;
using Google.Protobuf;
using AttributeType = Gated.Onnx.Proto.AttributeProto.Types.AttributeType;
using DataType = Gated.Onnx.Proto.TensorProto.Types.DataType;

namespace Gated.Tests.Onnx;

/// <summary>Builds small ONNX models by hand for the operator and hostile-input tests.</summary>
internal sealed class OnnxTestGraphs
{
    private readonly GraphProto graph = new() { Name = "test" };

    public OnnxTestGraphs Input(string name, int type, params long[] dims)
    {
        graph.Input.Add(ValueInfo(name, type, dims));
        return this;
    }

    public OnnxTestGraphs Output(string name, int type = (int)DataType.Float)
    {
        graph.Output.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = type } } });
        return this;
    }

    public OnnxTestGraphs Initializer(TensorProto t)
    {
        graph.Initializer.Add(t);
        return this;
    }

    public OnnxTestGraphs Floats(string name, float[] data, params long[] dims) => Initializer(OnnxTensorCodec.Float32(name, data, dims));

    public OnnxTestGraphs Ints(string name, long[] data, params long[] dims) => Initializer(OnnxTensorCodec.Int64(name, data, dims));

    public OnnxTestGraphs Node(string op, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        var n = new NodeProto { OpType = op, Name = outputs[0] + "_node" };
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        foreach (var (name, value) in attributes) n.Attribute.Add(Attribute(name, value));
        graph.Node.Add(n);
        return this;
    }

    public ModelProto Model(int opset = 14)
    {
        var m = new ModelProto { IrVersion = 7, ProducerName = "test", Graph = graph };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return m;
    }

    public byte[] Bytes(int opset = 14) => Model(opset).ToByteArray();

    public OnnxModel Load(int opset = 14) => OnnxModel.Load(Bytes(opset), "test.onnx");

    public static ValueInfoProto ValueInfo(string name, int type, long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (long d in dims) shape.Dim.Add(d < 0 ? new TensorShapeProto.Types.Dimension { DimParam = "n" } : new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = type, Shape = shape } } };
    }

    public static AttributeProto Attribute(string name, object value)
    {
        var a = new AttributeProto { Name = name };
        switch (value)
        {
            case long i: a.Type = AttributeType.Int; a.I = i; break;
            case int i: a.Type = AttributeType.Int; a.I = i; break;
            case float f: a.Type = AttributeType.Float; a.F = f; break;
            case string s: a.Type = AttributeType.String; a.S = ByteString.CopyFromUtf8(s); break;
            case long[] ints: a.Type = AttributeType.Ints; a.Ints.AddRange(ints); break;
            case float[] floats: a.Type = AttributeType.Floats; a.Floats.AddRange(floats); break;
            case string[] strings: a.Type = AttributeType.Strings; a.Strings.AddRange(strings.Select(ByteString.CopyFromUtf8)); break;
            case TensorProto t: a.Type = AttributeType.Tensor; a.T = t; break;
            default: throw new ArgumentException($"attribute value {value.GetType()}");
        }
        return a;
    }
}
