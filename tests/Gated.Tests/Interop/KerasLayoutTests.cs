using Gated.Interop;
using Gated.IO.Safetensors;
using Gated.Kernels;
using Gated.Layers;

namespace Gated.Tests.Interop;

/// <summary>
/// Keras layouts: random weights in Keras' layout run through an independent float64 implementation of
/// Keras' GRU and LSTM equations (written below from the Keras documentation: row vectors, kernel (I, G·u),
/// gate columns z | r | h and i | f | c | o) must give what Gated's layer gives after conversion, to 1e-12;
/// and Keras → Gated → Keras must be the identity, bit for bit.
/// </summary>
public sealed class KerasLayoutTests
{
    private const int T = 6, B = 3, I = 4, U = 5;

    // ------------------------------------------------------------------ the Keras reference

    private static double Sigmoid(double a) => 1 / (1 + Math.Exp(-a));
    private static double HardSigmoid3(double a) => Math.Clamp(a / 6 + 0.5, 0, 1);   // Keras 3
    private static double HardSigmoid2(double a) => Math.Clamp(0.2 * a + 0.5, 0, 1); // Keras 2

    /// <summary>x·M[:, column] for a row-major (rows, width) matrix M.</summary>
    private static double Dot(ReadOnlySpan<double> x, double[] m, int width, int column)
    {
        double s = 0;
        for (int i = 0; i < x.Length; i++) s += x[i] * m[i * width + column];
        return s;
    }

    /// <summary>Keras' GRU over (T, B, I) from h0 (B, u); returns the outputs (T, B, u).</summary>
    private static double[] KerasGru(KerasWeights<double> w, double[] x, double[] h0, Func<double, double> act, Func<double, double> recAct)
    {
        int u = w.Units, width = 3 * u;
        double[] inputBias = new double[width], recurrentBias = new double[width];
        if (w.Bias is not null)
        {
            Array.Copy(w.Bias, inputBias, width);
            if (w.ResetAfter) Array.Copy(w.Bias, width, recurrentBias, 0, width);
        }
        var outputs = new double[T * B * u];
        for (int b = 0; b < B; b++)
        {
            var h = h0.AsSpan(b * u, u).ToArray();
            for (int t = 0; t < T; t++)
            {
                var xt = x.AsSpan((t * B + b) * I, I);
                var z = new double[u];
                var r = new double[u];
                for (int k = 0; k < u; k++)
                {
                    double xz = Dot(xt, w.Kernel, width, k) + inputBias[k];
                    double xr = Dot(xt, w.Kernel, width, u + k) + inputBias[u + k];
                    double hz = Dot(h, w.RecurrentKernel, width, k) + recurrentBias[k];
                    double hr = Dot(h, w.RecurrentKernel, width, u + k) + recurrentBias[u + k];
                    z[k] = recAct(xz + hz);
                    r[k] = recAct(xr + hr);
                }
                var next = new double[u];
                var gated = new double[u];
                for (int j = 0; j < u; j++) gated[j] = r[j] * h[j];
                for (int k = 0; k < u; k++)
                {
                    double xh = Dot(xt, w.Kernel, width, 2 * u + k) + inputBias[2 * u + k];
                    double recurrentH = w.ResetAfter
                        ? r[k] * (Dot(h, w.RecurrentKernel, width, 2 * u + k) + recurrentBias[2 * u + k])   // reset after: r ⊙ (h U_h + b_rh)
                        : Dot(gated, w.RecurrentKernel, width, 2 * u + k);                                  // reset before: (r ⊙ h) U_h
                    double candidate = act(xh + recurrentH);
                    next[k] = z[k] * h[k] + (1 - z[k]) * candidate;
                }
                h = next;
                h.CopyTo(outputs.AsSpan((t * B + b) * u, u));
            }
        }
        return outputs;
    }

    /// <summary>Keras' LSTM over (T, B, I) from h0, c0 (B, u); returns the outputs (T, B, u) and c_T.</summary>
    private static (double[] Outputs, double[] Cell) KerasLstm(KerasWeights<double> w, double[] x, double[] h0, double[] c0, Func<double, double> act, Func<double, double> recAct)
    {
        int u = w.Units, width = 4 * u;
        var outputs = new double[T * B * u];
        var cells = new double[B * u];
        for (int b = 0; b < B; b++)
        {
            var h = h0.AsSpan(b * u, u).ToArray();
            var c = c0.AsSpan(b * u, u).ToArray();
            for (int t = 0; t < T; t++)
            {
                var xt = x.AsSpan((t * B + b) * I, I);
                var a = new double[width];
                for (int col = 0; col < width; col++)
                    a[col] = Dot(xt, w.Kernel, width, col) + Dot(h, w.RecurrentKernel, width, col) + (w.Bias?[col] ?? 0);
                var next = new double[u];
                for (int k = 0; k < u; k++)
                {
                    double i = recAct(a[k]), f = recAct(a[u + k]), g = act(a[2 * u + k]), o = recAct(a[3 * u + k]);
                    c[k] = f * c[k] + i * g;
                    next[k] = o * act(c[k]);
                }
                h = next;
                h.CopyTo(outputs.AsSpan((t * B + b) * u, u));
            }
            c.CopyTo(cells.AsSpan(b * u, u));
        }
        return (outputs, cells);
    }

    // ------------------------------------------------------------------ tests

    private static double[] Random(Random random, int n, double scale = 1)
    {
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = (random.NextDouble() * 2 - 1) * scale;
        return v;
    }

    private static KerasWeights<double> RandomWeights(CellKind cell, bool resetAfter, bool bias, int seed)
    {
        var random = new Random(seed);
        int g = cell switch { CellKind.Gru => 3, CellKind.Lstm => 4, _ => 1 };
        int biasLength = cell == CellKind.Gru && resetAfter ? 2 * 3 * U : g * U;
        return new KerasWeights<double>(cell, I, U, Random(random, I * g * U), Random(random, U * g * U), bias ? Random(random, biasLength) : null)
        {
            ResetAfter = resetAfter,
        };
    }

    public static TheoryData<bool, bool, string> GruCases() => new()
    {
        { true, true, "sigmoid" }, { false, true, "sigmoid" }, { true, false, "sigmoid" }, { false, false, "sigmoid" },
        { true, true, "hard_sigmoid" }, { false, true, "hard_sigmoid_keras2" },
    };

    [Theory]
    [MemberData(nameof(GruCases))]
    public void GruMatchesKerasEquations(bool resetAfter, bool bias, string recurrentActivation)
    {
        Assert.True(KerasLayout.TryParseActivation(recurrentActivation, out var gate));
        var keras = RandomWeights(CellKind.Gru, resetAfter, bias, seed: resetAfter ? 1 : 2) with { RecurrentActivation = gate };
        var random = new Random(7);
        double[] x = Random(random, T * B * I, 2), h0 = Random(random, B * U);
        Func<double, double> recAct = recurrentActivation switch { "sigmoid" => Sigmoid, "hard_sigmoid" => HardSigmoid3, _ => HardSigmoid2 };
        double[] expected = KerasGru(keras, x, h0, Math.Tanh, recAct);

        var layer = KerasLayout.ToLayer(keras);
        Assert.Equal(resetAfter ? ResetGatePosition.AfterProduct : ResetGatePosition.BeforeProduct, layer.Options.Gru.Reset);
        Assert.Equal(UpdateGateConvention.KeepPrevious, layer.Options.Gru.UpdateGate);
        Assert.Equal(!bias ? BiasMode.None : resetAfter ? BiasMode.InputAndHidden : BiasMode.InputOnly, layer.Options.Bias);
        var result = layer.Forward(new Tensor<double>(x, T, B, I), new Tensor<double>(h0, 1, B, U));
        TensorAssert.Close("output", expected, result.Output.Span, 1e-12, 1e-12);
        TensorAssert.Close("h_n", expected.AsSpan((T - 1) * B * U), result.HiddenState.Span, 1e-12, 1e-12);

        var back = KerasLayout.FromLayer(layer);
        Assert.Equal(keras.Kernel, back.Kernel);
        Assert.Equal(keras.RecurrentKernel, back.RecurrentKernel);
        Assert.Equal(keras.Bias, back.Bias);
        Assert.Equal(keras.ResetAfter, back.ResetAfter);
        Assert.Equal(keras.RecurrentActivation, back.RecurrentActivation);
    }

    [Theory]
    [InlineData(true, "sigmoid")]
    [InlineData(false, "sigmoid")]
    [InlineData(true, "hard_sigmoid")]
    public void LstmMatchesKerasEquations(bool bias, string recurrentActivation)
    {
        Assert.True(KerasLayout.TryParseActivation(recurrentActivation, out var gate));
        var keras = RandomWeights(CellKind.Lstm, true, bias, seed: 3) with { RecurrentActivation = gate };
        var random = new Random(8);
        double[] x = Random(random, T * B * I, 2), h0 = Random(random, B * U), c0 = Random(random, B * U);
        var (expected, cell) = KerasLstm(keras, x, h0, c0, Math.Tanh, recurrentActivation == "sigmoid" ? Sigmoid : HardSigmoid3);

        var layer = KerasLayout.ToLayer(keras);
        var result = layer.Forward(new Tensor<double>(x, T, B, I), new Tensor<double>(h0, 1, B, U), new Tensor<double>(c0, 1, B, U));
        TensorAssert.Close("output", expected, result.Output.Span, 1e-12, 1e-12);
        TensorAssert.Close("c_n", cell, result.CellState!.Span, 1e-12, 1e-12);

        var back = KerasLayout.FromLayer(layer);
        Assert.Equal(keras.Kernel, back.Kernel);
        Assert.Equal(keras.RecurrentKernel, back.RecurrentKernel);
        Assert.Equal(keras.Bias, back.Bias);
    }

    [Fact]
    public void RoundTripIsExactInFloat32()
    {
        var random = new Random(4);
        float[] F(int n) => [.. Random(random, n).Select(v => (float)v)];
        foreach (var (cell, resetAfter) in new[] { (CellKind.Gru, true), (CellKind.Gru, false), (CellKind.Lstm, true), (CellKind.Rnn, true) })
        {
            int g = cell switch { CellKind.Gru => 3, CellKind.Lstm => 4, _ => 1 };
            var keras = new KerasWeights<float>(cell, I, U, F(I * g * U), F(U * g * U), F(cell == CellKind.Gru && resetAfter ? 6 * U : g * U)) { ResetAfter = resetAfter };
            var back = KerasLayout.FromLayer(KerasLayout.ToLayer(keras));
            Assert.Equal(keras.Kernel, back.Kernel);
            Assert.Equal(keras.RecurrentKernel, back.RecurrentKernel);
            Assert.Equal(keras.Bias, back.Bias);
            Assert.Equal(keras.BiasShape, back.BiasShape);
        }
    }

    [Fact]
    public void GatedToKerasFoldsBiasesAndConvertsTakeCandidateExactly()
    {
        // A PyTorch-style GRU with reset before the product and two biases, take-candidate: Keras has one bias
        // and keep-previous; the converted layer must compute the same function.
        var options = new RecurrentOptions
        {
            Cell = CellKind.Gru, InputSize = I, HiddenSize = U,
            Gru = new GruOptions { Reset = ResetGatePosition.BeforeProduct, UpdateGate = UpdateGateConvention.TakeCandidate },
        };
        var gated = new RecurrentLayer<double>(options, seed: 5);
        var keras = KerasLayout.FromLayer(gated);
        Assert.False(keras.ResetAfter);
        Assert.Equal([3 * U], keras.BiasShape);
        var random = new Random(9);
        double[] x = Random(random, T * B * I, 2), h0 = Random(random, B * U);
        var expected = gated.Forward(new Tensor<double>(x, T, B, I), new Tensor<double>(h0, 1, B, U)).Output;
        TensorAssert.Close("output", expected.Span, KerasGru(keras, x, h0, Math.Tanh, Sigmoid), 1e-12, 1e-12);
    }

    [Fact]
    public void StacksAndAblationsHaveNoKerasForm()
    {
        var stacked = new RecurrentLayer<double>(new RecurrentOptions { Cell = CellKind.Gru, InputSize = I, HiddenSize = U, NumLayers = 2 }, seed: 1);
        Assert.Contains("one layer in one direction", Assert.Throws<InteropException>(() => KerasLayout.FromLayer(stacked)).Message);
        var ablated = new RecurrentLayer<double>(new RecurrentOptions { Cell = CellKind.Gru, InputSize = I, HiddenSize = U, Gru = new GruOptions { Ablation = GruAblation.NoResetGate } }, seed: 1);
        Assert.Throws<InteropException>(() => KerasLayout.FromLayer(ablated));
    }

    [Theory]
    [InlineData("", true)]
    [InlineData("model/gru/gru_cell/", true)]
    [InlineData("gru/", false)]
    public void KerasNamedFileRoundTrips(string prefix, bool resetAfter)
    {
        var keras = RandomWeights(CellKind.Gru, resetAfter, bias: true, seed: 6) with { RecurrentActivation = Activation.HardSigmoidWith(1.0 / 6, 0.5) };
        var tensors = new List<SafetensorsTensor>
        {
            SafetensorsTensor.FromArray(prefix + "kernel", keras.Kernel, keras.KernelShape),
            SafetensorsTensor.FromArray(prefix + "recurrent_kernel", keras.RecurrentKernel, keras.RecurrentKernelShape),
            SafetensorsTensor.FromArray(prefix + "bias", keras.Bias!, keras.BiasShape),
            SafetensorsTensor.FromArray("dense/kernel", new double[10], 5, 2),  // another layer's kernel, ignored
        };
        var file = new SafetensorsFile(tensors);
        Assert.Equal(ModelFormat.Keras, ModelFile.Detect(file));
        var imported = ModelFile.Load<double>(file, new ModelImportOptions { RecurrentActivation = keras.RecurrentActivation });
        Assert.Equal(prefix, imported.Prefix);
        Assert.Contains(imported.Notes, n => n.Contains("dense/kernel"));
        Assert.Equal(resetAfter ? ResetGatePosition.AfterProduct : ResetGatePosition.BeforeProduct, imported.Recurrent.Options.Gru.Reset);

        var written = ModelFile.Export(imported, ModelFormat.Keras, prefix).File;
        Assert.Equal(keras.Kernel, written[prefix + "kernel"].ToDoubleArray());
        Assert.Equal(keras.RecurrentKernel, written[prefix + "recurrent_kernel"].ToDoubleArray());
        Assert.Equal(keras.Bias, written[prefix + "bias"].ToDoubleArray());
        Assert.Equal(keras.BiasShape.Select(d => (long)d), written[prefix + "bias"].Shape);

        // The hints in the written file bring the activation back without the option.
        var again = ModelFile.Load<double>(Reread(written));
        Assert.Equal(keras.RecurrentActivation, again.Recurrent.Options.Gru.GateActivation);
        Assert.Equal(imported.Recurrent.Parameters.Values, again.Recurrent.Parameters.Values);
    }

    [Fact]
    public void KerasResetOptionMustAgreeWithTheBias()
    {
        var keras = RandomWeights(CellKind.Gru, resetAfter: true, bias: true, seed: 6);
        var file = KerasFile.ToSafetensors(KerasLayout.ToLayer(keras)).File;
        var e = Assert.Throws<InteropException>(() => ModelFile.Load<double>(file, new ModelImportOptions { Reset = ResetGatePosition.BeforeProduct }));
        Assert.Contains("reset_after=True", e.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void RunOnKerasFileGivesGradientsInKerasLayout(bool resetAfter)
    {
        // The same layer as Keras weights and as a state_dict, run on the same tensors: the Keras file's
        // gradients are the state_dict's, moved into Keras' layout by the same (linear) conversion.
        var keras = RandomWeights(CellKind.Gru, resetAfter, bias: true, seed: 11);
        var layer = KerasLayout.ToLayer(keras);
        var kerasModel = ModelFile.Load<double>(Reread(KerasFile.ToSafetensors(layer, "gru/").File));
        var torchModel = ModelFile.Load<double>(Reread(PyTorchStateDict.ToSafetensors(layer).File),
            new ModelImportOptions { Reset = layer.Options.Gru.Reset });
        var random = new Random(12);
        var input = new SafetensorsFile(
        [
            SafetensorsTensor.FromArray("input", Random(random, T * B * I), T, B, I),
            SafetensorsTensor.FromArray("grad_output", Random(random, T * B * U), T, B, U),
            SafetensorsTensor.FromArray("lengths", new long[] { 6, 2, 5 }),
        ]);
        var fromKeras = ModelRunner.Run(kerasModel, input).Output;
        var fromTorch = ModelRunner.Run(torchModel, input).Output;
        Assert.Equal(fromTorch["output"].ToDoubleArray(), fromKeras["output"].ToDoubleArray());
        double[]? G(string name) => fromTorch.TryGet(name, out var t) ? t.ToDoubleArray() : null;
        var expected = KerasLayout.FromPyTorch(CellKind.Gru, I, U,
            new PyTorchWeights<double>(G("grad.weight_ih_l0")!, G("grad.weight_hh_l0")!, G("grad.bias_ih_l0"), resetAfter ? G("grad.bias_hh_l0") : null), resetAfter);
        Assert.Equal(expected.Kernel, fromKeras["grad.gru/kernel"].ToDoubleArray());
        Assert.Equal(expected.RecurrentKernel, fromKeras["grad.gru/recurrent_kernel"].ToDoubleArray());
        Assert.Equal(expected.Bias, fromKeras["grad.gru/bias"].ToDoubleArray());
        Assert.Equal(expected.BiasShape.Select(d => (long)d), fromKeras["grad.gru/bias"].Shape);
    }

    private static SafetensorsFile Reread(SafetensorsFile file)
    {
        using var stream = new MemoryStream();
        file.Write(stream);
        return SafetensorsFile.Read(stream.ToArray(), "written.safetensors");
    }
}
