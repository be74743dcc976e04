using System.Numerics;
using Gated.Kernels;
using DataType = Gated.Onnx.Proto.TensorProto.Types.DataType;

namespace Gated.Onnx;

/// <summary>
/// The operators other than GRU / LSTM / RNN: a checker that runs when a model is loaded (operator
/// known, input and output counts, attributes) and a plain evaluator for each, written from the
/// ONNX operator definitions. Shapes follow numpy: row-major, broadcasting aligned at the last
/// dimension. Floating-point values are computed in the run's precision T, integers as int64.
/// </summary>
internal static class OnnxOperators
{
    /// <summary>The operators Gated runs, in the order the documentation lists them.</summary>
    public static readonly string[] Supported =
    [
        "GRU", "LSTM", "RNN",
        "MatMul", "Gemm", "Add", "Sub", "Mul", "Sigmoid", "Tanh", "Relu", "Softmax",
        "Transpose", "Reshape", "Squeeze", "Unsqueeze", "Concat", "Slice", "Gather", "Shape",
        "Constant", "ConstantOfShape", "Expand", "Identity", "Cast",
    ];

    /// <summary>Checks a node when the model is loaded; throws a <see cref="IO.GatedFormatException"/> naming the node.</summary>
    public static void Check(OnnxNode node)
    {
        switch (node.OpType)
        {
            case "GRU": case "LSTM": case "RNN":
                node.State = OnnxRecurrentSpec.Parse(node);
                break;
            case "MatMul":
                node.AllowAttributes(); node.CountInputsOutputs(2, 2, 1, 1); break;
            case "Gemm":
                node.AllowAttributes("alpha", "beta", "transA", "transB");
                node.CountInputsOutputs(2, 3, 1, 1);
                break;
            case "Add": case "Sub": case "Mul":
                node.AllowAttributes(); node.CountInputsOutputs(2, 2, 1, 1); break;
            case "Sigmoid": case "Tanh": case "Relu": case "Identity":
                node.AllowAttributes(); node.CountInputsOutputs(1, 1, 1, 1); break;
            case "Softmax":
                node.AllowAttributes("axis"); node.CountInputsOutputs(1, 1, 1, 1); break;
            case "Transpose":
                node.AllowAttributes("perm"); node.CountInputsOutputs(1, 1, 1, 1); break;
            case "Reshape":
                node.AllowAttributes("allowzero"); node.CountInputsOutputs(2, 2, 1, 1); break;
            case "Squeeze":
                node.AllowAttributes("axes"); node.CountInputsOutputs(1, 2, 1, 1); break;
            case "Unsqueeze":
                node.AllowAttributes("axes"); node.CountInputsOutputs(1, 2, 1, 1);
                if (!node.Has("axes") && !node.HasInput(1)) throw node.Fail("needs axes (an input from opset 13, an attribute before).");
                break;
            case "Concat":
                node.AllowAttributes("axis"); node.CountInputsOutputs(1, int.MaxValue, 1, 1);
                if (!node.Has("axis")) throw node.Fail("the attribute 'axis' is required.");
                break;
            case "Slice":
                node.AllowAttributes("starts", "ends", "axes");
                node.CountInputsOutputs(node.Has("starts") ? 1 : 3, node.Has("starts") ? 1 : 5, 1, 1);
                if (node.Has("starts") != node.Has("ends")) throw node.Fail("the attributes 'starts' and 'ends' go together.");
                break;
            case "Gather":
                node.AllowAttributes("axis"); node.CountInputsOutputs(2, 2, 1, 1); break;
            case "Shape":
                node.AllowAttributes("start", "end"); node.CountInputsOutputs(1, 1, 1, 1); break;
            case "Constant":
                node.AllowAttributes("value", "value_float", "value_floats", "value_int", "value_ints");
                node.CountInputsOutputs(0, 0, 1, 1);
                if (node.AttributeNames.Count() != 1) throw node.Fail("needs exactly one of value, value_float, value_floats, value_int, value_ints.");
                _ = ConstantValue<double>(node);
                break;
            case "ConstantOfShape":
                node.AllowAttributes("value"); node.CountInputsOutputs(1, 1, 1, 1);
                if (node.Tensor("value") is { } v && v.Shape.Aggregate(1L, (a, d) => a * d) != 1)
                    throw node.Fail("the attribute 'value' must hold exactly one element.");
                break;
            case "Expand":
                node.AllowAttributes(); node.CountInputsOutputs(2, 2, 1, 1); break;
            case "Cast":
                node.AllowAttributes("to", "saturate"); node.CountInputsOutputs(1, 1, 1, 1);
                int to = (int)node.Int("to", -1);
                if (!OnnxTypes.IsSupported(to)) throw node.Fail($"casts to {OnnxTypes.Name(to)}; Gated casts only between floating-point, integer and bool types.");
                break;
            default:
                throw node.Fail($"the operator '{OnnxNode.Printable(node.OpType)}' is not supported. Gated runs {string.Join(", ", Supported)}.");
        }
    }

    /// <summary>Evaluates a node on its inputs (null for an absent optional one); returns one value per output (null when not computed).</summary>
    public static OnnxValue<T>?[] Run<T>(OnnxNode node, OnnxValue<T>?[] x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        return node.OpType switch
        {
            "GRU" or "LSTM" or "RNN" => OnnxRecurrent.Run(node, x),
            "MatMul" => [MatMul(node, x[0]!, x[1]!)],
            "Gemm" => [Gemm(node, x[0]!, x[1]!, x.Length > 2 ? x[2] : null)],
            "Add" => [Binary(node, x[0]!, x[1]!, static (a, b) => a + b, static (a, b) => a + b)],
            "Sub" => [Binary(node, x[0]!, x[1]!, static (a, b) => a - b, static (a, b) => a - b)],
            "Mul" => [Binary(node, x[0]!, x[1]!, static (a, b) => a * b, static (a, b) => a * b)],
            "Sigmoid" => [Unary(node, x[0]!, static v => T.One / (T.One + T.Exp(-v)))],
            "Tanh" => [Unary(node, x[0]!, T.Tanh)],
            "Relu" => [Unary(node, x[0]!, static v => v > T.Zero ? v : T.Zero)],
            "Identity" => [x[0]],
            "Softmax" => [Softmax(node, x[0]!)],
            "Transpose" => [Transpose(node, x[0]!, node.Ints("perm"))],
            "Reshape" => [Reshape(node, x[0]!, x[1]!)],
            "Squeeze" => [Squeeze(node, x[0]!, x.Length > 1 ? x[1] : null)],
            "Unsqueeze" => [Unsqueeze(node, x[0]!, x.Length > 1 ? x[1] : null)],
            "Concat" => [Concat(node, x)],
            "Slice" => [Slice(node, x)],
            "Gather" => [Gather(node, x[0]!, x[1]!)],
            "Shape" => [Shape(node, x[0]!)],
            "Constant" => [ConstantValue<T>(node)],
            "ConstantOfShape" => [ConstantOfShape(node, x[0]!)],
            "Expand" => [Expand(node, x[0]!, x[1]!)],
            "Cast" => [Cast(node, x[0]!)],
            _ => throw node.Fail($"the operator '{node.OpType}' is not supported."),
        };
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    /// <summary>The element count of a shape; fails when it exceeds <see cref="OnnxTypes.MaxElements"/>.</summary>
    public static int Count(OnnxNode node, ReadOnlySpan<int> shape)
    {
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw node.Fail($"a dimension of {OnnxTypes.ShapeText(shape)} is negative.");
            count *= d;
            if (count > OnnxTypes.MaxElements) throw node.Fail($"the result {OnnxTypes.ShapeText(shape)} would have more than {OnnxTypes.MaxElements} elements.");
        }
        return (int)count;
    }

    /// <summary>An empty array of the same element kind as <paramref name="like"/>.</summary>
    private static Array NewLike(Array like, int count) => like is long[] ? new long[count] : Array.CreateInstance(like.GetType().GetElementType()!, count);

    private static int Axis(OnnxNode node, long axis, int rank, string what = "axis")
    {
        if (axis < -rank || axis >= rank) throw node.Fail($"{what} {axis} is out of range for rank {rank}.");
        return (int)(axis < 0 ? axis + rank : axis);
    }

    private static T[] Floats<T>(OnnxNode node, OnnxValue<T> v, string what) where T : unmanaged, IFloatingPointIeee754<T> =>
        v.Floats ?? throw node.Fail($"{what} must be floating-point, got {OnnxTypes.Name(v.ElementType)}.");

    /// <summary>The elements of a 1-D (or scalar) integer input such as a shape or axes list.</summary>
    private static long[] IntList<T>(OnnxNode node, OnnxValue<T> v, string what) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (v.Ints is null) throw node.Fail($"{what} must be an integer tensor, got {OnnxTypes.Name(v.ElementType)}.");
        if (v.Rank > 1) throw node.Fail($"{what} must be 1-D, got {v.ShapeText}.");
        return v.Ints;
    }

    private static int[] Strides(int[] shape)
    {
        var s = new int[shape.Length];
        int acc = 1;
        for (int d = shape.Length - 1; d >= 0; d--) { s[d] = acc; acc *= shape[d]; }
        return s;
    }

    /// <summary>The numpy broadcast of two shapes.</summary>
    private static int[] BroadcastShape(OnnxNode node, int[] a, int[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var s = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
            int db = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            if (da != db && da != 1 && db != 1)
                throw node.Fail($"shapes {OnnxTypes.ShapeText(a)} and {OnnxTypes.ShapeText(b)} do not broadcast.");
            s[i] = da == 1 ? db : da;
        }
        return s;
    }

    /// <summary>Strides of <paramref name="shape"/> read as <paramref name="outShape"/> (right-aligned; 0 along broadcast dimensions).</summary>
    private static int[] BroadcastStrides(int[] shape, int[] outShape)
    {
        var s = new int[outShape.Length];
        int[] own = Strides(shape);
        int shift = outShape.Length - shape.Length;
        for (int i = 0; i < shape.Length; i++) s[i + shift] = shape[i] == 1 ? 0 : own[i];
        return s;
    }

    /// <summary>For every element of <paramref name="outShape"/> in order, the offsets in two broadcast inputs.</summary>
    private static void Walk(int[] outShape, int[] strideA, int[] strideB, int count, Action<int, int, int> visit)
    {
        int rank = outShape.Length;
        var index = new int[rank];
        int a = 0, b = 0;
        for (int i = 0; i < count; i++)
        {
            visit(i, a, b);
            for (int d = rank - 1; d >= 0; d--)
            {
                index[d]++;
                a += strideA[d];
                b += strideB[d];
                if (index[d] < outShape[d]) break;
                a -= strideA[d] * outShape[d];
                b -= strideB[d] * outShape[d];
                index[d] = 0;
            }
        }
    }

    /// <summary>Materialises <paramref name="v"/> broadcast to <paramref name="shape"/>.</summary>
    private static Array BroadcastTo<T>(OnnxNode node, OnnxValue<T> v, int[] shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int count = Count(node, shape);
        Array src = v.Data, dst = NewLike(src, count);
        int[] stride = BroadcastStrides(v.Shape, shape);
        if (src is T[] fs) { var fd = (T[])dst; Walk(shape, stride, stride, count, (i, a, _) => fd[i] = fs[a]); }
        else { var ls = (long[])src; var ld = (long[])dst; Walk(shape, stride, stride, count, (i, a, _) => ld[i] = ls[a]); }
        return dst;
    }

    // ------------------------------------------------------------------------------------------
    // Element-wise
    // ------------------------------------------------------------------------------------------

    private static OnnxValue<T> Unary<T>(OnnxNode node, OnnxValue<T> x, Func<T, T> f) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] src = Floats(node, x, "the input");
        var dst = new T[src.Length];
        for (int i = 0; i < src.Length; i++) dst[i] = f(src[i]);
        return OnnxValue<T>.Float(x.ElementType, x.Shape, dst);
    }

    private static OnnxValue<T> Binary<T>(OnnxNode node, OnnxValue<T> a, OnnxValue<T> b, Func<T, T, T> f, Func<long, long, long> g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (a.IsFloat != b.IsFloat)
            throw node.Fail($"the inputs have different element types ({OnnxTypes.Name(a.ElementType)}, {OnnxTypes.Name(b.ElementType)}).");
        int[] shape = BroadcastShape(node, a.Shape, b.Shape);
        int count = Count(node, shape);
        int[] sa = BroadcastStrides(a.Shape, shape), sb = BroadcastStrides(b.Shape, shape);
        if (a.IsFloat)
        {
            T[] x = a.Floats!, y = b.Floats!;
            var r = new T[count];
            if (a.Shape.AsSpan().SequenceEqual(b.Shape)) for (int i = 0; i < count; i++) r[i] = f(x[i], y[i]);
            else Walk(shape, sa, sb, count, (i, p, q) => r[i] = f(x[p], y[q]));
            return OnnxValue<T>.Float(a.ElementType, shape, r);
        }
        long[] u = a.Ints!, w = b.Ints!;
        var l = new long[count];
        int type = a.ElementType;
        Walk(shape, sa, sb, count, (i, p, q) => l[i] = OnnxTypes.Wrap(type, g(u[p], w[q])));
        return OnnxValue<T>.Integer(type, shape, l);
    }

    private static OnnxValue<T> Softmax<T>(OnnxNode node, OnnxValue<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] src = Floats(node, x, "the input");
        int rank = x.Rank;
        if (rank == 0) throw node.Fail("the input must have at least one dimension.");
        // Opset 13 and later: along one axis (default −1). Before: the input flattened to 2-D at axis (default 1), along the rows.
        bool perAxis = node.Opset >= 13;
        int axis = Axis(node, node.Int("axis", perAxis ? -1 : 1), rank);
        int outer = 1, n = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= x.Shape[d];
        if (perAxis)
        {
            n = x.Shape[axis];
            for (int d = axis + 1; d < rank; d++) inner *= x.Shape[d];
        }
        else for (int d = axis; d < rank; d++) n *= x.Shape[d];
        var dst = new T[src.Length];
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                int start = o * n * inner + i;
                T max = T.NegativeInfinity;
                for (int k = 0; k < n; k++) max = T.Max(max, src[start + k * inner]);
                T sum = T.Zero;
                for (int k = 0; k < n; k++) { T e = T.Exp(src[start + k * inner] - max); dst[start + k * inner] = e; sum += e; }
                for (int k = 0; k < n; k++) dst[start + k * inner] /= sum;
            }
        }
        return OnnxValue<T>.Float(x.ElementType, x.Shape, dst);
    }

    // ------------------------------------------------------------------------------------------
    // Matrix products
    // ------------------------------------------------------------------------------------------

    /// <summary>numpy.matmul: 1-D operands promoted to a row (left) or column (right) and the extra dimension dropped; batch dimensions broadcast.</summary>
    private static OnnxValue<T> MatMul<T>(OnnxNode node, OnnxValue<T> a, OnnxValue<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] x = Floats(node, a, "A"), y = Floats(node, b, "B");
        if (a.Rank == 0 || b.Rank == 0) throw node.Fail("MatMul needs operands of rank ≥ 1.");
        int[] sa = a.Rank == 1 ? [1, a.Shape[0]] : a.Shape, sb = b.Rank == 1 ? [b.Shape[0], 1] : b.Shape;
        int m = sa[^2], k = sa[^1], n = sb[^1];
        if (sb[^2] != k) throw node.Fail($"cannot multiply {a.ShapeText} by {b.ShapeText}: inner dimensions {k} and {sb[^2]} differ.");
        int[] batch = BroadcastShape(node, sa[..^2], sb[..^2]);
        int batches = Count(node, batch);
        int[] outShape = [.. batch, m, n];
        var r = new T[Count(node, outShape)];
        int[] strideA = BroadcastStrides(sa[..^2], batch), strideB = BroadcastStrides(sb[..^2], batch);
        Walk(batch, strideA, strideB, batches, (i, p, q) =>
            Kernels.Gemm.Multiply(false, false, m, n, k, x.AsSpan(p * m * k, m * k), k, y.AsSpan(q * k * n, k * n), n, r.AsSpan(i * m * n, m * n), n, accumulate: false));
        List<int> shape = [.. batch];
        if (a.Rank > 1) shape.Add(m);
        if (b.Rank > 1) shape.Add(n);
        return OnnxValue<T>.Float(a.ElementType, [.. shape], r);
    }

    /// <summary>Y = alpha · op(A) · op(B) + beta · C, op = transpose when transA / transB is 1, C broadcast to (M, N).</summary>
    private static OnnxValue<T> Gemm<T>(OnnxNode node, OnnxValue<T> a, OnnxValue<T> b, OnnxValue<T>? c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] x = Floats(node, a, "A"), y = Floats(node, b, "B");
        if (a.Rank != 2 || b.Rank != 2) throw node.Fail($"A and B must be 2-D, got {a.ShapeText} and {b.ShapeText}.");
        bool ta = node.Int("transA", 0) != 0, tb = node.Int("transB", 0) != 0;
        int m = ta ? a.Shape[1] : a.Shape[0], k = ta ? a.Shape[0] : a.Shape[1];
        int kb = tb ? b.Shape[1] : b.Shape[0], n = tb ? b.Shape[0] : b.Shape[1];
        if (k != kb) throw node.Fail($"inner dimensions differ: op(A) is {m}×{k}, op(B) is {kb}×{n}.");
        T alpha = T.CreateChecked(node.Float("alpha", 1f)), beta = T.CreateChecked(node.Float("beta", 1f));
        int[] shape = [m, n];
        var r = new T[Count(node, shape)];
        Kernels.Gemm.Multiply(ta, tb, m, n, k, x, a.Shape[1], y, b.Shape[1], r, n, accumulate: false);
        if (alpha != T.One) for (int i = 0; i < r.Length; i++) r[i] *= alpha;
        if (c is not null)
        {
            Floats(node, c, "C");
            int[] joint = BroadcastShape(node, c.Shape, shape);
            if (!joint.AsSpan().SequenceEqual(shape)) throw node.Fail($"C {c.ShapeText} does not broadcast to ({m}, {n}).");
            var cb = (T[])BroadcastTo(node, c, shape);
            for (int i = 0; i < r.Length; i++) r[i] += beta * cb[i];
        }
        return OnnxValue<T>.Float(a.ElementType, shape, r);
    }

    // ------------------------------------------------------------------------------------------
    // Shapes and element movement
    // ------------------------------------------------------------------------------------------

    private static OnnxValue<T> Transpose<T>(OnnxNode node, OnnxValue<T> x, long[]? permAttr) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rank = x.Rank;
        int[] perm = permAttr is null ? [.. Enumerable.Range(0, rank).Reverse()] : new int[permAttr.Length];
        if (permAttr is not null)
        {
            if (permAttr.Length != rank) throw node.Fail($"perm has {permAttr.Length} entries for an input of rank {rank}.");
            var seen = new bool[rank];
            for (int i = 0; i < rank; i++)
            {
                int p = Axis(node, permAttr[i], rank, "perm entry");
                if (seen[p]) throw node.Fail($"perm repeats axis {p}.");
                seen[p] = true;
                perm[i] = p;
            }
        }
        return TransposeBy(node, x, perm);
    }

    /// <summary>Output dimension i is input dimension perm[i].</summary>
    public static OnnxValue<T> TransposeBy<T>(OnnxNode node, OnnxValue<T> x, int[] perm) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rank = x.Rank;
        int[] inStrides = Strides(x.Shape);
        var shape = new int[rank];
        var stride = new int[rank];
        for (int i = 0; i < rank; i++) { shape[i] = x.Shape[perm[i]]; stride[i] = inStrides[perm[i]]; }
        int count = x.Length;
        Array src = x.Data, dst = NewLike(src, count);
        if (src is T[] fs) { var fd = (T[])dst; Walk(shape, stride, stride, count, (i, a, _) => fd[i] = fs[a]); }
        else { var ls = (long[])src; var ld = (long[])dst; Walk(shape, stride, stride, count, (i, a, _) => ld[i] = ls[a]); }
        return x.With(shape, dst);
    }

    private static OnnxValue<T> Reshape<T>(OnnxNode node, OnnxValue<T> x, OnnxValue<T> shapeValue) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long[] requested = IntList(node, shapeValue, "the shape");
        if (requested.Length > OnnxTypes.MaxRank) throw node.Fail($"the shape has {requested.Length} dimensions.");
        bool allowZero = node.Int("allowzero", 0) != 0;
        var shape = new int[requested.Length];
        int infer = -1;
        long known = 1;
        for (int i = 0; i < requested.Length; i++)
        {
            long d = requested[i];
            if (d == 0 && !allowZero)
            {
                if (i >= x.Rank) throw node.Fail($"shape entry {i} is 0 (copy the input's dimension), but the input {x.ShapeText} has no dimension {i}.");
                d = x.Shape[i];
            }
            if (d == -1)
            {
                if (infer >= 0) throw node.Fail("the shape has more than one −1.");
                infer = i;
                continue;
            }
            if (d < 0 || d > OnnxTypes.MaxElements) throw node.Fail($"shape entry {i} is {requested[i]}.");
            shape[i] = (int)d;
            known *= d;
            if (known > OnnxTypes.MaxElements) throw node.Fail($"the shape {OnnxTypes.ShapeText(requested)} is too large.");
        }
        if (infer >= 0)
        {
            if (known == 0 || x.Length % known != 0) throw node.Fail($"cannot reshape {x.ShapeText} to {OnnxTypes.ShapeText(requested)}.");
            shape[infer] = (int)(x.Length / known);
        }
        else if (known != x.Length) throw node.Fail($"cannot reshape {x.ShapeText} ({x.Length} elements) to {OnnxTypes.ShapeText(requested)}.");
        return x.WithShape(shape);
    }

    private static long[]? AxesFrom<T>(OnnxNode node, OnnxValue<T>? input) where T : unmanaged, IFloatingPointIeee754<T> =>
        node.Ints("axes") ?? (input is null ? null : IntList(node, input, "axes"));

    private static OnnxValue<T> Squeeze<T>(OnnxNode node, OnnxValue<T> x, OnnxValue<T>? axesValue) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long[]? axes = AxesFrom(node, axesValue);
        var drop = new bool[x.Rank];
        if (axes is null) for (int d = 0; d < x.Rank; d++) drop[d] = x.Shape[d] == 1;
        else
        {
            foreach (long a in axes)
            {
                int d = Axis(node, a, x.Rank);
                if (x.Shape[d] != 1) throw node.Fail($"cannot squeeze axis {a} of {x.ShapeText}: its size is not 1.");
                drop[d] = true;
            }
        }
        return x.WithShape([.. x.Shape.Where((_, d) => !drop[d])]);
    }

    private static OnnxValue<T> Unsqueeze<T>(OnnxNode node, OnnxValue<T> x, OnnxValue<T>? axesValue) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long[] axes = AxesFrom(node, axesValue) ?? throw node.Fail("axes are missing.");
        int rank = x.Rank + axes.Length;
        if (rank > OnnxTypes.MaxRank) throw node.Fail($"the result would have rank {rank}.");
        var insert = new bool[rank];
        foreach (long a in axes)
        {
            int d = Axis(node, a, rank);
            if (insert[d]) throw node.Fail($"axis {a} appears twice.");
            insert[d] = true;
        }
        var shape = new int[rank];
        for (int d = 0, j = 0; d < rank; d++) shape[d] = insert[d] ? 1 : x.Shape[j++];
        return x.WithShape(shape);
    }

    private static OnnxValue<T> Concat<T>(OnnxNode node, OnnxValue<T>?[] inputs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var parts = inputs.Where(v => v is not null).Select(v => v!).ToArray();
        if (parts.Length == 0) throw node.Fail("has no inputs.");
        var first = parts[0];
        int rank = first.Rank;
        if (rank == 0) throw node.Fail("cannot concatenate scalars.");
        int axis = Axis(node, node.Int("axis", 0), rank);
        long total = 0;
        foreach (var p in parts)
        {
            if (p.IsFloat != first.IsFloat || p.Rank != rank) throw node.Fail($"inputs {first.ShapeText} and {p.ShapeText} cannot be concatenated.");
            for (int d = 0; d < rank; d++)
                if (d != axis && p.Shape[d] != first.Shape[d]) throw node.Fail($"inputs {first.ShapeText} and {p.ShapeText} differ outside axis {axis}.");
            total += p.Shape[axis];
        }
        if (total > OnnxTypes.MaxElements) throw node.Fail("the result is too large.");
        int[] shape = (int[])first.Shape.Clone();
        shape[axis] = (int)total;
        int count = Count(node, shape), outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= shape[d];
        for (int d = axis + 1; d < rank; d++) inner *= shape[d];
        Array dst = NewLike(first.Data, count);
        int offset = 0;
        foreach (var p in parts)
        {
            int block = p.Shape[axis] * inner;
            for (int o = 0; o < outer; o++) Array.Copy(p.Data, o * block, dst, o * shape[axis] * inner + offset, block);
            offset += block;
        }
        return first.With(shape, dst);
    }

    private static OnnxValue<T> Slice<T>(OnnxNode node, OnnxValue<T>?[] x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var data = x[0]!;
        int rank = data.Rank;
        long[] starts, ends;
        long[]? axes, steps = null;
        if (node.Has("starts"))
        {
            starts = node.Ints("starts")!;
            ends = node.Ints("ends")!;
            axes = node.Ints("axes");
        }
        else
        {
            starts = IntList(node, x[1]!, "starts");
            ends = IntList(node, x[2]!, "ends");
            axes = x.Length > 3 && x[3] is { } a ? IntList(node, a, "axes") : null;
            steps = x.Length > 4 && x[4] is { } s ? IntList(node, s, "steps") : null;
        }
        if (ends.Length != starts.Length || (axes is not null && axes.Length != starts.Length) || (steps is not null && steps.Length != starts.Length))
            throw node.Fail("starts, ends, axes and steps must have the same length.");
        int[] begin = new int[rank], step = new int[rank], shape = (int[])data.Shape.Clone();
        for (int d = 0; d < rank; d++) step[d] = 1;
        var seen = new bool[rank];
        for (int i = 0; i < starts.Length; i++)
        {
            int d = Axis(node, axes is null ? i : axes[i], rank);
            if (seen[d]) throw node.Fail($"axis {d} is sliced twice.");
            seen[d] = true;
            long dim = data.Shape[d], st = steps is null ? 1 : steps[i];
            if (st == 0) throw node.Fail("a step is 0.");
            if (dim == 0) { shape[d] = 0; continue; }
            long s0 = starts[i], e0 = ends[i];
            if (s0 < 0) s0 += dim;
            if (e0 < 0) e0 += dim;
            long s1, e1;
            if (st > 0) { s1 = Math.Clamp(s0, 0, dim); e1 = Math.Clamp(e0, 0, dim); }
            else { s1 = Math.Clamp(s0, 0, dim - 1); e1 = Math.Clamp(e0, -1, dim - 1); }
            long n = st > 0 ? (e1 > s1 ? (e1 - s1 + st - 1) / st : 0) : (s1 > e1 ? (s1 - e1 + (-st) - 1) / (-st) : 0);
            begin[d] = (int)Math.Max(s1, 0);
            step[d] = (int)Math.Clamp(st, -OnnxTypes.MaxElements, OnnxTypes.MaxElements);
            shape[d] = (int)n;
        }
        int count = Count(node, shape);
        int[] inStrides = Strides(data.Shape), stride = new int[rank];
        int start = 0;
        for (int d = 0; d < rank; d++) { stride[d] = inStrides[d] * step[d]; if (shape[d] > 0) start += begin[d] * inStrides[d]; }
        Array src = data.Data, dst = NewLike(src, count);
        if (src is T[] fs) { var fd = (T[])dst; Walk(shape, stride, stride, count, (i, a, _) => fd[i] = fs[start + a]); }
        else { var ls = (long[])src; var ld = (long[])dst; Walk(shape, stride, stride, count, (i, a, _) => ld[i] = ls[start + a]); }
        return data.With(shape, dst);
    }

    private static OnnxValue<T> Gather<T>(OnnxNode node, OnnxValue<T> data, OnnxValue<T> indices) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (indices.Ints is null) throw node.Fail("the indices must be integers.");
        if (data.Rank == 0) throw node.Fail("cannot gather from a scalar.");
        int axis = Axis(node, node.Int("axis", 0), data.Rank);
        int[] shape = [.. data.Shape[..axis], .. indices.Shape, .. data.Shape[(axis + 1)..]];
        if (shape.Length > OnnxTypes.MaxRank) throw node.Fail("the result has too many dimensions.");
        int count = Count(node, shape), dim = data.Shape[axis], outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= data.Shape[d];
        for (int d = axis + 1; d < data.Rank; d++) inner *= data.Shape[d];
        Array dst = NewLike(data.Data, count);
        long[] idx = indices.Ints;
        for (int o = 0; o < outer; o++)
        {
            for (int j = 0; j < idx.Length; j++)
            {
                long i = idx[j];
                if (i < -dim || i >= dim) throw node.Fail($"index {i} is out of range for axis {axis} of size {dim}.");
                if (i < 0) i += dim;
                Array.Copy(data.Data, (o * dim + (int)i) * inner, dst, (o * idx.Length + j) * inner, inner);
            }
        }
        return data.With(shape, dst);
    }

    private static OnnxValue<T> Shape<T>(OnnxNode node, OnnxValue<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rank = x.Rank;
        long start = node.Int("start", 0), end = node.Int("end", rank);
        if (start < 0) start += rank;
        if (end < 0) end += rank;
        start = Math.Clamp(start, 0, rank);
        end = Math.Clamp(end, 0, rank);
        long[] dims = [.. x.Shape.Skip((int)start).Take((int)Math.Max(0, end - start)).Select(d => (long)d)];
        return OnnxValue<T>.Integer((int)DataType.Int64, [dims.Length], dims);
    }

    private static OnnxValue<T> ConstantValue<T>(OnnxNode node) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (node.Tensor("value") is { } c) return c.ToValue<T>();
        if (node.Has("value_float")) return OnnxValue<T>.Float((int)DataType.Float, [], [T.CreateChecked(node.Float("value_float", 0))]);
        if (node.Floats("value_floats") is { } fs) return OnnxValue<T>.Float((int)DataType.Float, [fs.Length], [.. fs.Select(T.CreateChecked)]);
        if (node.Has("value_int")) return OnnxValue<T>.Integer((int)DataType.Int64, [], [node.Int("value_int", 0)]);
        if (node.Ints("value_ints") is { } ls) return OnnxValue<T>.Integer((int)DataType.Int64, [ls.Length], ls);
        throw node.Fail("has no value.");
    }

    private static int[] ShapeFrom<T>(OnnxNode node, OnnxValue<T> v) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long[] dims = IntList(node, v, "the shape");
        if (dims.Length > OnnxTypes.MaxRank) throw node.Fail($"the shape has {dims.Length} dimensions.");
        foreach (long d in dims) if (d < 0 || d > OnnxTypes.MaxElements) throw node.Fail($"the shape {OnnxTypes.ShapeText(dims)} has an invalid dimension.");
        return Array.ConvertAll(dims, d => (int)d);
    }

    private static OnnxValue<T> ConstantOfShape<T>(OnnxNode node, OnnxValue<T> shapeValue) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int[] shape = ShapeFrom(node, shapeValue);
        int count = Count(node, shape);
        var value = node.Tensor("value")?.ToValue<T>() ?? OnnxValue<T>.Float((int)DataType.Float, [1], [T.Zero]);
        if (value.IsFloat)
        {
            var f = new T[count];
            Array.Fill(f, value.Floats![0]);
            return OnnxValue<T>.Float(value.ElementType, shape, f);
        }
        var l = new long[count];
        Array.Fill(l, value.Ints![0]);
        return OnnxValue<T>.Integer(value.ElementType, shape, l);
    }

    private static OnnxValue<T> Expand<T>(OnnxNode node, OnnxValue<T> x, OnnxValue<T> shapeValue) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int[] shape = BroadcastShape(node, x.Shape, ShapeFrom(node, shapeValue));
        return x.With(shape, BroadcastTo(node, x, shape));
    }

    private static OnnxValue<T> Cast<T>(OnnxNode node, OnnxValue<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int to = (int)node.Int("to", -1);
        if (OnnxTypes.IsFloat(to))
        {
            var f = new T[x.Length];
            for (int i = 0; i < f.Length; i++)
            {
                T v = x.Floats is { } xs ? xs[i] : T.CreateChecked(x.Ints![i]);
                f[i] = to switch
                {
                    (int)DataType.Float => T.CreateChecked(float.CreateChecked(v)),
                    (int)DataType.Float16 => T.CreateChecked((float)(Half)float.CreateChecked(v)),
                    (int)DataType.Bfloat16 => T.CreateChecked(RoundToBfloat16(float.CreateChecked(v))),
                    _ => v,
                };
            }
            return OnnxValue<T>.Float(to, x.Shape, f);
        }
        var l = new long[x.Length];
        for (int i = 0; i < l.Length; i++)
        {
            if (x.Ints is { } xi) { l[i] = OnnxTypes.Wrap(to, xi[i]); continue; }
            T v = x.Floats![i];
            if (to == (int)DataType.Bool) { l[i] = v != T.Zero ? 1 : 0; continue; }
            if (!T.IsFinite(v) || T.Abs(v) >= T.CreateChecked(9.2e18)) throw node.Fail($"cannot cast {v} to {OnnxTypes.Name(to)}.");
            l[i] = OnnxTypes.Wrap(to, long.CreateTruncating(v));
        }
        return OnnxValue<T>.Integer(to, x.Shape, l);
    }

    /// <summary>Rounds to the nearest bfloat16 (ties to even), returned as a float.</summary>
    private static float RoundToBfloat16(float v)
    {
        if (float.IsNaN(v)) return v;
        uint bits = BitConverter.SingleToUInt32Bits(v);
        bits += 0x7FFFu + ((bits >> 16) & 1);
        return BitConverter.UInt32BitsToSingle(bits & 0xFFFF0000u);
    }
}
