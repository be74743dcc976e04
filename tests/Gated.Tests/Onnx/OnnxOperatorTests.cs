using Gated.IO;
using Gated.Onnx;
using DataType = Gated.Onnx.Proto.TensorProto.Types.DataType;

namespace Gated.Tests.Onnx;

/// <summary>The non-recurrent operators on small hand-made graphs, with values worked out by hand (numpy semantics).</summary>
public sealed class OnnxOperatorTests
{
    private const int F = (int)DataType.Float;
    private const int L = (int)DataType.Int64;

    private static Tensor<double> Run(OnnxTestGraphs g, int opset, string output, params (string Name, Tensor<double> Value)[] inputs) =>
        g.Load(opset).Run(inputs.ToDictionary(i => i.Name, i => i.Value))[output];

    private static Tensor<double> T(double[] data, params int[] shape) => new(data, shape);

    [Fact]
    public void Gemm_TransposesScalesAndBroadcastsC()
    {
        // A (3, 2) and B (2, 3), both transposed: op(A) is 2×3, op(B) is 3×2.
        var g = new OnnxTestGraphs().Input("a", F, 3, 2).Input("b", F, 2, 3).Input("c", F, 2)
            .Node("Gemm", ["a", "b", "c"], ["y"], ("transA", 1L), ("transB", 1L), ("alpha", 2f), ("beta", 0.5f)).Output("y");
        var y = Run(g, 14, "y", ("a", T([1, 2, 3, 4, 5, 6], 3, 2)), ("b", T([1, 0, 1, 0, 1, 0], 2, 3)), ("c", T([10, 20], 2)));
        // op(A) = [[1,3,5],[2,4,6]], op(B) = [[1,0],[0,1],[1,0]] → A·B = [[6,3],[8,4]]; 2·AB + 0.5·c
        Assert.Equal([2, 2], y.Shape.ToArray());
        Assert.Equal([17, 16, 21, 18], y.Data);
    }

    [Fact]
    public void MatMul_BroadcastsBatchesAndPromotesVectors()
    {
        var g = new OnnxTestGraphs().Input("a", F, 2, 1, 2).Input("b", F, 2).Node("MatMul", ["a", "b"], ["y"]).Output("y");
        var y = Run(g, 14, "y", ("a", T([1, 2, 3, 4], 2, 1, 2)), ("b", T([10, 1], 2)));
        Assert.Equal([2, 1], y.Shape.ToArray());
        Assert.Equal([12, 34], y.Data);
    }

    [Fact]
    public void Add_Sub_Mul_Broadcast()
    {
        var g = new OnnxTestGraphs().Input("a", F, 2, 3).Input("b", F, 3)
            .Node("Add", ["a", "b"], ["s"]).Node("Sub", ["s", "a"], ["d"]).Node("Mul", ["d", "a"], ["y"]).Output("y");
        var y = Run(g, 14, "y", ("a", T([1, 2, 3, 4, 5, 6], 2, 3)), ("b", T([1, 10, 100], 3)));
        Assert.Equal([1, 20, 300, 4, 50, 600], y.Data);
    }

    [Fact]
    public void Softmax_Opset13IsPerAxis_OlderFlattensToTwoDimensions()
    {
        var g = new OnnxTestGraphs().Input("x", F, 1, 2, 2).Node("Softmax", ["x"], ["y"], ("axis", 1L)).Output("y");
        var x = T([0, Math.Log(3), Math.Log(2), Math.Log(2)], 1, 2, 2);
        // opset 13: along axis 1 only: columns (0, log2) and (log3, log2).
        TensorAssert.Close("opset 13", [1.0 / 3, 3.0 / 5, 2.0 / 3, 2.0 / 5], Run(g, 13, "y", ("x", x)).Data, 1e-12, 0);
        // opset 11: rows of the (1, 4) flattening: exp = 1, 3, 2, 2 over 8.
        TensorAssert.Close("opset 11", [1.0 / 8, 3.0 / 8, 2.0 / 8, 2.0 / 8], Run(g, 11, "y", ("x", x)).Data, 1e-12, 0);
    }

    [Fact]
    public void Unsqueeze_Squeeze_AttributeFormAndInputForm()
    {
        var old = new OnnxTestGraphs().Input("x", F, 2, 3).Node("Unsqueeze", ["x"], ["u"], ("axes", new long[] { 0, -1 }))
            .Node("Squeeze", ["u"], ["y"], ("axes", new long[] { 0 })).Output("y").Output("u");
        var model = old.Load(11);
        var r = model.Run(new Dictionary<string, Tensor<double>> { ["x"] = new Tensor<double>(2, 3) });
        Assert.Equal([1, 2, 3, 1], r["u"].Shape.ToArray());
        Assert.Equal([2, 3, 1], r["y"].Shape.ToArray());

        var current = new OnnxTestGraphs().Input("x", F, 2, 3).Ints("axes", [0, -1], 2).Ints("first", [0], 1)
            .Node("Unsqueeze", ["x", "axes"], ["u"]).Node("Squeeze", ["u", "first"], ["y"]).Node("Squeeze", ["u"], ["all"])
            .Output("y").Output("all");
        r = current.Load(13).Run(new Dictionary<string, Tensor<double>> { ["x"] = new Tensor<double>(2, 3) });
        Assert.Equal([2, 3, 1], r["y"].Shape.ToArray());
        Assert.Equal([2, 3], r["all"].Shape.ToArray());
    }

    [Fact]
    public void Slice_InputFormWithNegativeStep_AndAttributeForm()
    {
        var x = T([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 3, 4);
        var g = new OnnxTestGraphs().Input("x", F, 3, 4).Ints("s", [-1, 0], 2).Ints("e", [-100, 4], 2).Ints("a", [1, 0], 2).Ints("st", [-2, 2], 2)
            .Node("Slice", ["x", "s", "e", "a", "st"], ["y"]).Output("y");
        var y = Run(g, 13, "y", ("x", x));
        Assert.Equal([2, 2], y.Shape.ToArray());      // rows 0, 2; columns 3, 1
        Assert.Equal([3, 1, 11, 9], y.Data);
        var old = new OnnxTestGraphs().Input("x", F, 3, 4).Node("Slice", ["x"], ["y"], ("starts", new long[] { 1 }), ("ends", new long[] { long.MaxValue }), ("axes", new long[] { 0 })).Output("y");
        y = Run(old, 9, "y", ("x", x));
        Assert.Equal([2, 4], y.Shape.ToArray());
        Assert.Equal(4, y.Data[0]);
    }

    [Fact]
    public void Shape_Gather_Concat_ConstantOfShape_Expand_Reshape_Cast()
    {
        var g = new OnnxTestGraphs().Input("x", F, 2, 3)
            .Node("Shape", ["x"], ["shape"])
            .Ints("idx", [-1], 1).Node("Gather", ["shape", "idx"], ["last"], ("axis", 0L))
            .Ints("two", [2], 1).Node("Concat", ["two", "last"], ["dims"], ("axis", 0L))
            .Node("ConstantOfShape", ["dims"], ["fill"], ("value", OnnxTensorCodec.Float32("v", [1.5f], 1)))
            .Ints("e", [2, 2, 3], 3).Node("Expand", ["x", "e"], ["big"])
            .Ints("flat", [0, -1], 2).Node("Reshape", ["big", "flat"], ["r"])
            .Node("Cast", ["r"], ["ints"], ("to", (long)DataType.Int64))
            .Node("Transpose", ["fill"], ["fillT"], ("perm", new long[] { 1, 0 }))
            .Output("dims", L).Output("fillT").Output("ints", L).Output("r");
        var r = g.Load(14).Run(new Dictionary<string, Tensor<double>> { ["x"] = T([1.9, -1.9, 3, 4, 5, 6], 2, 3) });
        Assert.Equal([2, 3], r["dims"].Data);
        Assert.Equal([3, 2], r["fillT"].Shape.ToArray());
        Assert.All(r["fillT"].Data, v => Assert.Equal(1.5, v));
        Assert.Equal([2, 6], r["r"].Shape.ToArray());
        Assert.Equal([1, -1, 3, 4, 5, 6, 1, -1, 3, 4, 5, 6], r["ints"].Data);   // Cast truncates toward zero
    }

    [Fact]
    public void Constant_Identity_Relu_Tanh_Sigmoid()
    {
        var g = new OnnxTestGraphs().Input("x", F, 3)
            .Node("Constant", [], ["c"], ("value_floats", new float[] { -1, 0, 2 }))
            .Node("Add", ["x", "c"], ["s"]).Node("Relu", ["s"], ["r"]).Node("Identity", ["r"], ["i"])
            .Node("Tanh", ["i"], ["t"]).Node("Sigmoid", ["t"], ["y"]).Output("y");
        var y = Run(g, 14, "y", ("x", T([0, 0.5, 1], 3)));
        double[] expected = [0.0, 0.5, 3.0];
        TensorAssert.Close("y", expected.Select(v => 1 / (1 + Math.Exp(-Math.Tanh(v)))).ToArray(), y.Data, 1e-12, 0);
    }

    [Fact]
    public void RunTimeErrors_NameTheNode()
    {
        var g = new OnnxTestGraphs().Input("x", F, -1).Ints("shape", [5], 1).Node("Reshape", ["x", "shape"], ["y"]).Output("y");
        var ex = Assert.Throws<GatedFormatException>(() => Run(g, 14, "y", ("x", T([1, 2, 3], 3))));
        Assert.Contains("node 'y_node' (Reshape)", ex.Message);
        Assert.Contains("test.onnx", ex.Message);

        var m = g.Load(14);
        var missing = Assert.Throws<ArgumentException>(() => m.Run(new Dictionary<string, Tensor<double>>()));
        Assert.Contains("'x'", missing.Message);
        var unknown = Assert.Throws<ArgumentException>(() => m.Run(new Dictionary<string, Tensor<double>> { ["x"] = T([1], 1), ["z"] = T([1], 1) }));
        Assert.Contains("no input 'z'", unknown.Message);
    }
}
