using System.Numerics;
using Gated.Layers;
using Gated.Tests.Reference;

namespace Gated.Tests.Layers;

/// <summary>
/// Identities a recurrent stack must satisfy whatever its kernels do: a bidirectional layer is two
/// unidirectional ones, batch-first is a transpose, the batch order is irrelevant, padding is inert,
/// streaming equals the whole-sequence pass, gradients accumulate, dropout sits only between layers,
/// and bad arguments are refused with the documented exceptions.
/// </summary>
public sealed class EquivalenceTests
{
    private const int I = 3, H = 4;
    private const double Tol = 1e-12;

    private static RecurrentOptions Options(CellKind cell, ResetGatePosition reset = ResetGatePosition.AfterProduct) => new()
    {
        Cell = cell,
        InputSize = I,
        HiddenSize = H,
        Gru = new GruOptions { Reset = reset },
    };

    public static TheoryData<CellKind, ResetGatePosition> Cells() => new()
    {
        { CellKind.Gru, ResetGatePosition.AfterProduct },
        { CellKind.Gru, ResetGatePosition.BeforeProduct },
        { CellKind.Lstm, ResetGatePosition.AfterProduct },
        { CellKind.Rnn, ResetGatePosition.AfterProduct },
    };

    // ---------------------------------------------------------------- (a) bidirectional = two unidirectional

    [Theory]
    [MemberData(nameof(Cells))]
    public void BidirectionalEqualsTwoUnidirectionalLayers(CellKind cell, ResetGatePosition reset)
    {
        const int t = 6, b = 5;
        int[] lengths = [4, 6, 1, 6, 3];
        var uni = Options(cell, reset);
        bool lstm = cell == CellKind.Lstm;
        var bi = new RecurrentLayer<double>(uni with { Bidirectional = true }, seed: 1);
        var forward = new RecurrentLayer<double>(uni, seed: 2);
        var reverse = new RecurrentLayer<double>(uni, seed: 3);
        var rng = new Random(11);
        RecurrentTestData.Randomize(bi.Parameters, rng, 0.8);
        foreach (var p in forward.Parameters.Parameters)
        {
            bi.Parameters.Value(p.Name).CopyTo(forward.Parameters.Value(p.Name));
            bi.Parameters.Value(p.Name + "_reverse").CopyTo(reverse.Parameters.Value(p.Name));
        }

        var x = RecurrentTestData.RandomTensor<double>(rng, 1.5, t, b, I);
        var h0 = RecurrentTestData.RandomTensor<double>(rng, 0.8, 2, b, H);
        var c0 = lstm ? RecurrentTestData.RandomTensor<double>(rng, 0.8, 2, b, H) : null;
        var gy = RecurrentTestData.RandomTensor<double>(rng, 1.0, t, b, 2 * H);
        var ghn = RecurrentTestData.RandomTensor<double>(rng, 1.0, 2, b, H);
        var gcn = lstm ? RecurrentTestData.RandomTensor<double>(rng, 1.0, 2, b, H) : null;

        var rb = bi.Forward(x, h0, c0, lengths);
        var gb = bi.Backward(gy, ghn, gcn);

        var rf = forward.Forward(x, State(h0, 0), State(c0, 0), lengths);
        var gf = forward.Backward(Columns(gy, lengths, 0, H, flip: false), State(ghn, 0), State(gcn, 0));
        var rr = reverse.Forward(Columns(x, lengths, 0, I, flip: true), State(h0, 1), State(c0, 1), lengths);
        var gr = reverse.Backward(Columns(gy, lengths, H, H, flip: true), State(ghn, 1), State(gcn, 1));

        TensorAssert.Close("output", Concat(rf.Output, Columns(rr.Output, lengths, 0, H, flip: true)).Span, rb.Output.Span, Tol, Tol);
        TensorAssert.Close("h_n", Stack(rf.HiddenState, rr.HiddenState).Span, rb.HiddenState.Span, Tol, Tol);
        if (lstm) TensorAssert.Close("c_n", Stack(rf.CellState!, rr.CellState!).Span, rb.CellState!.Span, Tol, Tol);
        TensorAssert.Close("grad.input", Add(gf.Input!, Columns(gr.Input!, lengths, 0, I, flip: true)).Span, gb.Input!.Span, Tol, Tol);
        TensorAssert.Close("grad.h0", Stack(gf.InitialHidden, gr.InitialHidden).Span, gb.InitialHidden.Span, Tol, Tol);
        if (lstm) TensorAssert.Close("grad.c0", Stack(gf.InitialCell!, gr.InitialCell!).Span, gb.InitialCell!.Span, Tol, Tol);
        foreach (var p in forward.Parameters.Parameters)
        {
            TensorAssert.Close("grad." + p.Name, forward.Parameters.Gradient(p.Name), bi.Parameters.Gradient(p.Name), Tol, Tol);
            TensorAssert.Close("grad." + p.Name + "_reverse", reverse.Parameters.Gradient(p.Name), bi.Parameters.Gradient(p.Name + "_reverse"), Tol, Tol);
        }
        Assert.Contains(bi.Parameters.Gradients, g => g != 0);
    }

    // ---------------------------------------------------------------- (b) batch-first = transpose

    [Theory]
    [MemberData(nameof(Cells))]
    public void BatchFirstEqualsTimeMajorOnTransposedInput(CellKind cell, ResetGatePosition reset)
    {
        const int t = 5, b = 4;
        int[] lengths = [2, 5, 1, 5];
        var options = Options(cell, reset) with { NumLayers = 2, Bidirectional = true };
        bool lstm = cell == CellKind.Lstm;
        var timeMajor = new RecurrentLayer<double>(options, seed: 5);
        var batchFirst = new RecurrentLayer<double>(options with { BatchFirst = true }, seed: 5);
        Assert.Equal(timeMajor.Parameters.Values, batchFirst.Parameters.Values);

        var rng = new Random(21);
        var x = RecurrentTestData.RandomTensor<double>(rng, 1.5, t, b, I);
        var h0 = RecurrentTestData.RandomTensor<double>(rng, 0.8, 4, b, H);
        var c0 = lstm ? RecurrentTestData.RandomTensor<double>(rng, 0.8, 4, b, H) : null;
        var gy = RecurrentTestData.RandomTensor<double>(rng, 1.0, t, b, 2 * H);
        var ghn = RecurrentTestData.RandomTensor<double>(rng, 1.0, 4, b, H);
        var gcn = lstm ? RecurrentTestData.RandomTensor<double>(rng, 1.0, 4, b, H) : null;

        var r1 = timeMajor.Forward(x, h0, c0, lengths);
        var g1 = timeMajor.Backward(gy, ghn, gcn);
        var r2 = batchFirst.Forward(Transpose01(x), h0, c0, lengths);
        var g2 = batchFirst.Backward(Transpose01(gy), ghn, gcn);

        Assert.Equal(new[] { b, t, 2 * H }, r2.Output.Shape.ToArray());
        Assert.Equal(new[] { b, t, I }, g2.Input!.Shape.ToArray());
        TensorAssert.Close("output", Transpose01(r1.Output).Span, r2.Output.Span, Tol, Tol);
        TensorAssert.Close("h_n", r1.HiddenState.Span, r2.HiddenState.Span, Tol, Tol);
        if (lstm) TensorAssert.Close("c_n", r1.CellState!.Span, r2.CellState!.Span, Tol, Tol);
        TensorAssert.Close("grad.input", Transpose01(g1.Input!).Span, g2.Input!.Span, Tol, Tol);
        TensorAssert.Close("grad.h0", g1.InitialHidden.Span, g2.InitialHidden.Span, Tol, Tol);
        if (lstm) TensorAssert.Close("grad.c0", g1.InitialCell!.Span, g2.InitialCell!.Span, Tol, Tol);
        TensorAssert.Close("grad.parameters", timeMajor.Parameters.Gradients, batchFirst.Parameters.Gradients, Tol, Tol);
    }

    // ---------------------------------------------------------------- (c) batch permutation

    [Theory]
    [MemberData(nameof(Cells))]
    public void PermutingTheBatchPermutesEveryResult(CellKind cell, ResetGatePosition reset)
    {
        const int t = 6, b = 6;
        int[] lengths = [3, 6, 1, 4, 6, 3];
        int[] perm = [3, 0, 5, 1, 4, 2];   // new row j holds old row perm[j]
        var options = Options(cell, reset) with { NumLayers = 2, Bidirectional = true };
        bool lstm = cell == CellKind.Lstm;
        var a = new RecurrentLayer<double>(options, seed: 8);
        var p = new RecurrentLayer<double>(options, seed: 8);

        var rng = new Random(31);
        var x = RecurrentTestData.RandomTensor<double>(rng, 1.5, t, b, I);
        var h0 = RecurrentTestData.RandomTensor<double>(rng, 0.8, 4, b, H);
        var c0 = lstm ? RecurrentTestData.RandomTensor<double>(rng, 0.8, 4, b, H) : null;
        var gy = RecurrentTestData.RandomTensor<double>(rng, 1.0, t, b, 2 * H);
        var ghn = RecurrentTestData.RandomTensor<double>(rng, 1.0, 4, b, H);
        var gcn = lstm ? RecurrentTestData.RandomTensor<double>(rng, 1.0, 4, b, H) : null;

        var ra = a.Forward(x, h0, c0, lengths);
        var ga = a.Backward(gy, ghn, gcn);
        int[] permutedLengths = perm.Select(i => lengths[i]).ToArray();
        var rp = p.Forward(Permute(x, perm)!, Permute(h0, perm), Permute(c0, perm), permutedLengths);
        var gp = p.Backward(Permute(gy, perm)!, Permute(ghn, perm), Permute(gcn, perm));

        TensorAssert.Close("output", Permute(ra.Output, perm)!.Span, rp.Output.Span, Tol, Tol);
        TensorAssert.Close("h_n", Permute(ra.HiddenState, perm)!.Span, rp.HiddenState.Span, Tol, Tol);
        if (lstm) TensorAssert.Close("c_n", Permute(ra.CellState, perm)!.Span, rp.CellState!.Span, Tol, Tol);
        TensorAssert.Close("grad.input", Permute(ga.Input!, perm)!.Span, gp.Input!.Span, Tol, Tol);
        TensorAssert.Close("grad.h0", Permute(ga.InitialHidden, perm)!.Span, gp.InitialHidden.Span, Tol, Tol);
        if (lstm) TensorAssert.Close("grad.c0", Permute(ga.InitialCell, perm)!.Span, gp.InitialCell!.Span, Tol, Tol);
        foreach (var info in a.Parameters.Parameters)
            TensorAssert.Close("grad." + info.Name, a.Parameters.Gradient(info.Name), p.Parameters.Gradient(info.Name), Tol, Tol);
    }

    // ---------------------------------------------------------------- (d) padding is inert

    [Theory]
    [InlineData(CellKind.Gru, ResetGatePosition.AfterProduct, false)]
    [InlineData(CellKind.Gru, ResetGatePosition.BeforeProduct, true)]
    [InlineData(CellKind.Lstm, ResetGatePosition.AfterProduct, false)]
    [InlineData(CellKind.Lstm, ResetGatePosition.AfterProduct, true)]
    [InlineData(CellKind.Rnn, ResetGatePosition.AfterProduct, false)]
    public void NaNAtPaddedStepsChangesNothing(CellKind cell, ResetGatePosition reset, bool batchFirst)
    {
        const int t = 6, b = 5;
        int[] lengths = [4, 6, 1, 6, 2];
        var options = Options(cell, reset) with { NumLayers = 2, Bidirectional = true, BatchFirst = batchFirst };
        bool lstm = cell == CellKind.Lstm;
        var clean = new RecurrentLayer<double>(options, seed: 13);
        var dirty = new RecurrentLayer<double>(options, seed: 13);

        var rng = new Random(41);
        int[] inputShape = batchFirst ? [b, t, I] : [t, b, I], outputShape = batchFirst ? [b, t, 2 * H] : [t, b, 2 * H];
        var x = RecurrentTestData.RandomTensor<double>(rng, 1.5, inputShape);
        var h0 = RecurrentTestData.RandomTensor<double>(rng, 0.8, 4, b, H);
        var c0 = lstm ? RecurrentTestData.RandomTensor<double>(rng, 0.8, 4, b, H) : null;
        var gy = RecurrentTestData.RandomTensor<double>(rng, 1.0, outputShape);
        var ghn = RecurrentTestData.RandomTensor<double>(rng, 1.0, 4, b, H);
        var gcn = lstm ? RecurrentTestData.RandomTensor<double>(rng, 1.0, 4, b, H) : null;
        RecurrentTestData.FillPadding(x, lengths, batchFirst, 0.0);
        RecurrentTestData.FillPadding(gy, lengths, batchFirst, 0.0);
        var xNaN = x.Clone();
        var gyNaN = gy.Clone();
        RecurrentTestData.FillPadding(xNaN, lengths, batchFirst, double.NaN);
        RecurrentTestData.FillPadding(gyNaN, lengths, batchFirst, double.NaN);

        var r1 = clean.Forward(x, h0, c0, lengths);
        var g1 = clean.Backward(gy, ghn, gcn);
        var r2 = dirty.Forward(xNaN, h0, c0, lengths);
        var g2 = dirty.Backward(gyNaN, ghn, gcn);

        Identical("output", r1.Output.Data, r2.Output.Data);
        Identical("h_n", r1.HiddenState.Data, r2.HiddenState.Data);
        if (lstm) Identical("c_n", r1.CellState!.Data, r2.CellState!.Data);
        Identical("grad.input", g1.Input!.Data, g2.Input!.Data);
        Identical("grad.h0", g1.InitialHidden.Data, g2.InitialHidden.Data);
        if (lstm) Identical("grad.c0", g1.InitialCell!.Data, g2.InitialCell!.Data);
        Identical("grad.parameters", clean.Parameters.Gradients, dirty.Parameters.Gradients);

        // Padded steps of the output and of ∂input are zero.
        var zeroOutput = r2.Output.Clone();
        var zeroInput = g2.Input!.Clone();
        RecurrentTestData.FillPadding(zeroOutput, lengths, batchFirst, 0.0);
        RecurrentTestData.FillPadding(zeroInput, lengths, batchFirst, 0.0);
        Identical("output at padded steps", zeroOutput.Data, r2.Output.Data);
        Identical("grad.input at padded steps", zeroInput.Data, g2.Input!.Data);
        Assert.DoesNotContain(clean.Parameters.Gradients, double.IsNaN);
    }

    // ---------------------------------------------------------------- (e) streaming = whole-sequence forward

    [Theory]
    [InlineData(CellKind.Gru, ResetGatePosition.AfterProduct)]
    [InlineData(CellKind.Gru, ResetGatePosition.BeforeProduct)]
    [InlineData(CellKind.Lstm, ResetGatePosition.AfterProduct)]
    [InlineData(CellKind.Rnn, ResetGatePosition.AfterProduct)]
    public void StreamMatchesForwardDouble(CellKind cell, ResetGatePosition reset) => StreamMatchesForward<double>(cell, reset, 1e-12, 1e-12);

    [Theory]
    [InlineData(CellKind.Gru, ResetGatePosition.AfterProduct)]
    [InlineData(CellKind.Gru, ResetGatePosition.BeforeProduct)]
    [InlineData(CellKind.Lstm, ResetGatePosition.AfterProduct)]
    [InlineData(CellKind.Rnn, ResetGatePosition.AfterProduct)]
    public void StreamMatchesForwardFloat(CellKind cell, ResetGatePosition reset) => StreamMatchesForward<float>(cell, reset, 1e-5, 1e-6);

    private static void StreamMatchesForward<T>(CellKind cell, ResetGatePosition reset, double rtol, double atol) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int t = 5, b = 3, layers = 3;
        var options = Options(cell, reset) with { NumLayers = layers, Dropout = 0.3 };   // the stream never drops out
        bool lstm = cell == CellKind.Lstm;
        var layer = new RecurrentLayer<T>(options, seed: 17) { Training = false };
        var rng = new Random(51);
        var x = RecurrentTestData.RandomTensor<T>(rng, 1.5, t, b, I);
        var h0 = RecurrentTestData.RandomTensor<T>(rng, 0.8, layers, b, H);
        var c0 = lstm ? RecurrentTestData.RandomTensor<T>(rng, 0.8, layers, b, H) : null;
        var stream = layer.CreateStream(b);
        Assert.Equal(b, stream.BatchSize);
        var y = new T[b * H];
        var hidden = new T[layers * b * H];
        var cellState = new T[layers * b * H];

        // From a given state.
        var full = layer.Forward(x, h0, c0);
        stream.SetState(h0.Data, c0 is null ? default : c0.Data);
        for (int step = 0; step < t; step++)
        {
            stream.Step(x.Data.AsSpan(step * b * I, b * I), y);
            TensorAssert.Close($"output[{step}]", full.Output.Data.AsSpan(step * b * H, b * H), y, rtol, atol);
        }
        stream.GetState(hidden, cellState);
        TensorAssert.Close("h_n", full.HiddenState.Span, hidden, rtol, atol);
        if (lstm) TensorAssert.Close("c_n", full.CellState!.Span, cellState, rtol, atol);

        // After Reset, from zeros.
        var fromZero = layer.Forward(x);
        stream.Reset();
        for (int step = 0; step < t; step++)
        {
            stream.Step(x.Data.AsSpan(step * b * I, b * I), y);
            TensorAssert.Close($"output from zero[{step}]", fromZero.Output.Data.AsSpan(step * b * H, b * H), y, rtol, atol);
        }
        stream.GetState(hidden, cellState);
        TensorAssert.Close("h_n from zero", fromZero.HiddenState.Span, hidden, rtol, atol);
        if (lstm) TensorAssert.Close("c_n from zero", fromZero.CellState!.Span, cellState, rtol, atol);
    }

    [Fact]
    public void BidirectionalStackCannotStream()
    {
        var layer = new RecurrentLayer<float>(Options(CellKind.Gru) with { Bidirectional = true }, seed: 1);
        Assert.Throws<NotSupportedException>(() => layer.CreateStream(2));
    }

    // ---------------------------------------------------------------- (f) streaming allocates nothing

    [Theory]
    [InlineData(CellKind.Gru, ResetGatePosition.AfterProduct)]
    [InlineData(CellKind.Gru, ResetGatePosition.BeforeProduct)]
    [InlineData(CellKind.Lstm, ResetGatePosition.AfterProduct)]
    [InlineData(CellKind.Rnn, ResetGatePosition.AfterProduct)]
    public void StreamStepAllocatesNothing(CellKind cell, ResetGatePosition reset)
    {
        const int b = 4, inputSize = 8, hiddenSize = 16;
        var options = new RecurrentOptions { Cell = cell, InputSize = inputSize, HiddenSize = hiddenSize, NumLayers = 2, Gru = new GruOptions { Reset = reset } };
        var layer = new RecurrentLayer<float>(options, seed: 2);
        var stream = layer.CreateStream(b);
        var x = RecurrentTestData.RandomTensor<float>(new Random(3), 1.0, b, inputSize).Data;
        var y = new float[b * hiddenSize];
        for (int i = 0; i < 20; i++) stream.Step(x, y);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) stream.Step(x, y);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0L, allocated);
        Assert.All(y, v => Assert.True(float.IsFinite(v)));
    }

    // ---------------------------------------------------------------- (g) gradients accumulate

    [Theory]
    [MemberData(nameof(Cells))]
    public void BackwardAccumulatesAndZeroGradientsClears(CellKind cell, ResetGatePosition reset)
    {
        const int t = 5, b = 3;
        int[] lengths = [5, 2, 4];
        var options = Options(cell, reset) with { NumLayers = 2, Bidirectional = true };
        bool lstm = cell == CellKind.Lstm;
        var layer = new RecurrentLayer<double>(options, seed: 23);
        var rng = new Random(61);
        var x = RecurrentTestData.RandomTensor<double>(rng, 1.5, t, b, I);
        var gy = RecurrentTestData.RandomTensor<double>(rng, 1.0, t, b, 2 * H);
        var ghn = RecurrentTestData.RandomTensor<double>(rng, 1.0, 4, b, H);
        var gcn = lstm ? RecurrentTestData.RandomTensor<double>(rng, 1.0, 4, b, H) : null;

        layer.Forward(x, lengths: lengths);
        var first = layer.Backward(gy, ghn, gcn);
        var once = (double[])layer.Parameters.Gradients.Clone();
        Assert.Contains(once, g => g != 0);

        layer.Forward(x, lengths: lengths);
        var second = layer.Backward(gy, ghn, gcn);
        TensorAssert.Close("grad.parameters after two passes", once.Select(g => 2 * g).ToArray(), layer.Parameters.Gradients, Tol, Tol);
        // The input and state gradients are returned, not accumulated.
        TensorAssert.Close("grad.input", first.Input!.Span, second.Input!.Span, Tol, Tol);
        TensorAssert.Close("grad.h0", first.InitialHidden.Span, second.InitialHidden.Span, Tol, Tol);

        layer.Parameters.ZeroGradients();
        Assert.All(layer.Parameters.Gradients, g => Assert.Equal(0.0, g));
        layer.Forward(x, lengths: lengths);
        layer.Backward(gy, ghn, gcn);
        TensorAssert.Close("grad.parameters after ZeroGradients", once, layer.Parameters.Gradients, Tol, Tol);
    }

    // ---------------------------------------------------------------- (h) dropout

    [Fact]
    public void DropoutActsBetweenLayersOnlyInTrainingAndIsReproducible()
    {
        const int t = 6, b = 4;
        var options = Options(CellKind.Gru) with { NumLayers = 3, Dropout = 0.5 };
        var layer = new RecurrentLayer<double>(options, seed: 29);
        var x = RecurrentTestData.RandomTensor<double>(new Random(71), 1.5, t, b, I);

        layer.Training = false;
        var eval = layer.Forward(x);
        layer.Training = true;
        layer.DropoutRandom = new Random(5);
        var train1 = layer.Forward(x);
        layer.DropoutRandom = new Random(5);
        var train2 = layer.Forward(x);
        layer.DropoutRandom = new Random(6);
        var train3 = layer.Forward(x);

        Assert.NotEqual(eval.Output.Data, train1.Output.Data);
        Identical("output with the same dropout seed", train1.Output.Data, train2.Output.Data);
        Identical("h_n with the same dropout seed", train1.HiddenState.Data, train2.HiddenState.Data);
        Assert.NotEqual(train1.Output.Data, train3.Output.Data);
        // Layer 0 reads the input, which is never dropped: its final state is the same in training.
        Identical("h_n of layer 0", eval.HiddenState.Data.AsSpan(0, b * H).ToArray(), train1.HiddenState.Data.AsSpan(0, b * H).ToArray());
        // No dropout after the last layer: with p = 0.5 a dropped output would be exactly zero about half the time.
        Assert.DoesNotContain(train1.Output.Data, v => v == 0);

        // Backward through dropout works and is reproducible with the same mask.
        var gy = RecurrentTestData.RandomTensor<double>(new Random(72), 1.0, t, b, H);
        layer.DropoutRandom = new Random(5);
        layer.Forward(x);
        var g1 = layer.Backward(gy);
        var grads1 = (double[])layer.Parameters.Gradients.Clone();
        layer.Parameters.ZeroGradients();
        layer.DropoutRandom = new Random(5);
        layer.Forward(x);
        var g2 = layer.Backward(gy);
        Identical("grad.input with the same dropout seed", g1.Input!.Data, g2.Input!.Data);
        Identical("grad.parameters with the same dropout seed", grads1, layer.Parameters.Gradients);
    }

    [Theory]
    [InlineData(CellKind.Gru)]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.Rnn)]
    public void OneLayerStackIgnoresDropout(CellKind cell)
    {
        var options = Options(cell) with { Dropout = 0.5, Bidirectional = true };
        var layer = new RecurrentLayer<double>(options, seed: 31);
        var x = RecurrentTestData.RandomTensor<double>(new Random(81), 1.5, 5, 3, I);
        layer.Training = false;
        var eval = layer.Forward(x);
        layer.Training = true;
        var train = layer.Forward(x);
        Identical("output", eval.Output.Data, train.Output.Data);
        Identical("h_n", eval.HiddenState.Data, train.HiddenState.Data);
    }

    [Fact]
    public void DropoutZeroOrEvaluationEqualsTheReference()
    {
        var options = Options(CellKind.Lstm) with { NumLayers = 3, Bidirectional = true, Dropout = 0.4 };
        var layer = new RecurrentLayer<double>(options, seed: 37) { Training = false };
        var x = RecurrentTestData.RandomTensor<double>(new Random(91), 1.5, 4, 2, I);
        var expected = ReferenceRecurrent.Forward(options, layer.Parameters, x);
        TensorAssert.Close("output", expected.Output, layer.Forward(x).Output.Span, Tol, Tol);
    }

    // ---------------------------------------------------------------- (i) bad arguments

    [Fact]
    public void BadArgumentsAreRefusedNamingTheArgument()
    {
        var gru = new RecurrentLayer<double>(Options(CellKind.Gru) with { NumLayers = 2 }, seed: 1);
        var x = new Tensor<double>(5, 3, I);

        Assert.Throws<InvalidOperationException>(() => gru.Backward(new Tensor<double>(5, 3, H)));
        Assert.Throws<ArgumentNullException>(() => gru.Forward(null!));

        Refused("input", () => gru.Forward(new Tensor<double>(5, 3)));
        Refused("input", () => gru.Forward(new Tensor<double>(5, 3, I, 1)));
        Refused("input", () => gru.Forward(new Tensor<double>(5, 3, I + 1)));
        Refused("input", () => gru.Forward(new Tensor<double>(0, 3, I)));
        Refused("lengths", () => gru.Forward(x, lengths: [5, 0, 3]));
        Refused("lengths", () => gru.Forward(x, lengths: [5, 6, 3]));
        Refused("lengths", () => gru.Forward(x, lengths: [-1, 2, 3]));
        Refused("lengths", () => gru.Forward(x, lengths: [5, 2]));
        Refused("initialHidden", () => gru.Forward(x, new Tensor<double>(1, 3, H)));
        Refused("initialHidden", () => gru.Forward(x, new Tensor<double>(2, 4, H)));
        Refused("initialHidden", () => gru.Forward(x, new Tensor<double>(2, 3, H + 1)));
        Refused("initialHidden", () => gru.Forward(x, new Tensor<double>(2 * 3 * H)));
        Refused("initialCell", () => gru.Forward(x, null, new Tensor<double>(2, 3, H)));

        gru.Forward(x);
        Refused("gradOutput", () => gru.Backward(new Tensor<double>(5, 3, H + 1)));
        Refused("gradOutput", () => gru.Backward(new Tensor<double>(3, 5, H)));
        Refused("gradOutput", () => gru.Backward(new Tensor<double>(5 * 3 * H)));
        Refused("gradHidden", () => gru.Backward(new Tensor<double>(5, 3, H), new Tensor<double>(1, 3, H)));
        Refused("gradCell", () => gru.Backward(new Tensor<double>(5, 3, H), null, new Tensor<double>(2, 3, H)));
        Assert.Throws<ArgumentNullException>(() => gru.Backward(null!));

        var lstm = new RecurrentLayer<double>(Options(CellKind.Lstm) with { BatchFirst = true }, seed: 1);
        var xb = new Tensor<double>(3, 5, I);
        Refused("initialCell", () => lstm.Forward(xb, null, new Tensor<double>(1, 5, H)));
        Refused("lengths", () => lstm.Forward(xb, lengths: [5, 5, 6]));   // batch-first: T is the second dimension
        lstm.Forward(xb, lengths: [2, 5, 1]);
        Refused("gradOutput", () => lstm.Backward(new Tensor<double>(5, 3, H)));
        Refused("gradCell", () => lstm.Backward(new Tensor<double>(3, 5, H), null, new Tensor<double>(1, 5, H + 1)));

        var stream = gru.CreateStream(2);
        Refused("input", () => stream.Step(new double[2 * I + 1], new double[2 * H]));
        Refused("output", () => stream.Step(new double[2 * I], new double[H]));
        Assert.Throws<ArgumentOutOfRangeException>(() => gru.CreateStream(0));
    }

    private static void Refused(string parameter, Action action)
    {
        var e = Assert.Throws<ArgumentException>(action);
        Assert.Equal(parameter, e.ParamName);
        Assert.Contains(parameter, e.Message, StringComparison.Ordinal);
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>Bit-for-bit equality (NaN payloads and signed zeros included).</summary>
    private static void Identical(string name, double[] expected, double[] actual)
    {
        Assert.True(expected.Length == actual.Length, $"{name}: length {actual.Length}, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.DoubleToInt64Bits(expected[i]) != BitConverter.DoubleToInt64Bits(actual[i]))
                Assert.Fail($"{name}: differs at [{i}]: {actual[i]:R} vs {expected[i]:R}");
    }

    /// <summary>State <paramref name="index"/> of an (S, B, H) tensor as (1, B, H).</summary>
    private static Tensor<double>? State(Tensor<double>? states, int index)
    {
        if (states is null) return null;
        int b = states.Dim(1), h = states.Dim(2);
        return new Tensor<double>(states.Data.AsSpan(index * b * h, b * h).ToArray(), 1, b, h);
    }

    /// <summary>Two (1, B, H) tensors stacked into (2, B, H).</summary>
    private static Tensor<double> Stack(Tensor<double> a, Tensor<double> b) => new(a.Data.Concat(b.Data).ToArray(), 2, a.Dim(1), a.Dim(2));

    /// <summary>
    /// Columns [offset, offset + count) of a time-major (T, B, n) tensor, as (T, B, count); with
    /// <paramref name="flip"/> each sequence reversed within its length (padded steps zero).
    /// </summary>
    private static Tensor<double> Columns(Tensor<double> source, int[] lengths, int offset, int count, bool flip)
    {
        int t = source.Dim(0), b = source.Dim(1), n = source.Dim(2);
        var result = new Tensor<double>(t, b, count);
        for (int row = 0; row < b; row++)
        {
            for (int step = 0; step < (flip ? lengths[row] : t); step++)
            {
                int from = flip ? lengths[row] - 1 - step : step;
                source.Data.AsSpan((from * b + row) * n + offset, count).CopyTo(result.Data.AsSpan((step * b + row) * count, count));
            }
        }
        return result;
    }

    /// <summary>(T, B, n) ⧺ (T, B, m) along the feature axis.</summary>
    private static Tensor<double> Concat(Tensor<double> a, Tensor<double> c)
    {
        int t = a.Dim(0), b = a.Dim(1), n = a.Dim(2), m = c.Dim(2);
        var result = new Tensor<double>(t, b, n + m);
        for (int i = 0; i < t * b; i++)
        {
            a.Data.AsSpan(i * n, n).CopyTo(result.Data.AsSpan(i * (n + m), n));
            c.Data.AsSpan(i * m, m).CopyTo(result.Data.AsSpan(i * (n + m) + n, m));
        }
        return result;
    }

    private static Tensor<double> Add(Tensor<double> a, Tensor<double> c)
    {
        var result = a.Clone();
        for (int i = 0; i < result.Length; i++) result.Data[i] += c.Data[i];
        return result;
    }

    /// <summary>Swaps the first two axes of a 3-D tensor.</summary>
    private static Tensor<double> Transpose01(Tensor<double> source)
    {
        int d0 = source.Dim(0), d1 = source.Dim(1), n = source.Dim(2);
        var result = new Tensor<double>(d1, d0, n);
        for (int i = 0; i < d0; i++)
            for (int j = 0; j < d1; j++)
                source.Data.AsSpan((i * d1 + j) * n, n).CopyTo(result.Data.AsSpan((j * d0 + i) * n, n));
        return result;
    }

    /// <summary>Permutes axis 1 (the batch of (T, B, n) and of (S, B, H)): result[:, j] = source[:, perm[j]].</summary>
    private static Tensor<double>? Permute(Tensor<double>? source, int[] perm)
    {
        if (source is null) return null;
        int d0 = source.Dim(0), b = source.Dim(1), n = source.Dim(2);
        var result = new Tensor<double>(d0, b, n);
        for (int i = 0; i < d0; i++)
            for (int j = 0; j < b; j++)
                source.Data.AsSpan((i * b + perm[j]) * n, n).CopyTo(result.Data.AsSpan((i * b + j) * n, n));
        return result;
    }
}
