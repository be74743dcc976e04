using Gated.Interop;
using Gated.IO;
using Gated.IO.Safetensors;
using Gated.Layers;
using Gated.Models;

namespace Gated.Tests.Interop;

/// <summary>
/// <see cref="ModelFile"/> and <see cref="ModelRunner"/> beyond PyTorch files: a music model runs as stack
/// plus head (its gradients checked by float64 finite differences, padded steps included), and files that
/// are not models are named as such.
/// </summary>
public sealed class ModelFileTests
{
    [Fact]
    public void MusicModelRunsWithItsHeadAndExactGradients()
    {
        var music = new MusicModel(new RecurrentOptions { Cell = CellKind.Lstm, InputSize = MusicModel.Keys, HiddenSize = 5 }, seed: 3);
        var file = Reread(music.ToSafetensors());
        Assert.Equal(ModelFormat.GatedMusicModel, ModelFile.Detect(file));
        var model = ModelFile.Load<double>(file, new ModelImportOptions { BatchFirst = true });
        Assert.NotNull(model.Head);

        const int b = 2, t = 4, keys = MusicModel.Keys;
        var random = new Random(5);
        double[] R(int n) => [.. Enumerable.Range(0, n).Select(_ => random.NextDouble() * 2 - 1)];
        double[] x = R(b * t * keys), gOut = R(b * t * keys), gH = R(b * 5), gC = R(b * 5);
        SafetensorsFile Input() => new(
        [
            SafetensorsTensor.FromArray("input", x, b, t, keys),
            SafetensorsTensor.FromArray("lengths", new long[] { 4, 2 }),
            SafetensorsTensor.FromArray("grad_output", gOut, b, t, keys),
            SafetensorsTensor.FromArray("grad_h_n", gH, 1, b, 5),
            SafetensorsTensor.FromArray("grad_c_n", gC, 1, b, 5),
        ]);
        var result = ModelRunner.Run(model, Input()).Output;
        double[] output = result["output"].ToDoubleArray();
        Assert.All(output.AsSpan((1 * t + 2) * keys, 2 * keys).ToArray(), v => Assert.Equal(0.0, v));   // padded steps of sequence 1
        Assert.Contains(result.Tensors, v => v.Name == "grad.head.weight");
        Assert.Contains(result.Tensors, v => v.Name == "grad.rnn.weight_hh_l0");

        double Loss()
        {
            var o = ModelRunner.Run(model, Input()).Output;   // rebuilt: the input may be perturbed
            double s = 0;
            foreach (var (name, g) in new[] { ("output", gOut), ("h_n", gH), ("c_n", gC) })
            {
                double[] v = o[name].ToDoubleArray();
                for (int i = 0; i < v.Length; i++) s += v[i] * g[i];
            }
            return s;
        }
        void Check(string name, double[] values, int index, double analytic)
        {
            const double eps = 1e-6;
            double keep = values[index];
            values[index] = keep + eps;
            double plus = Loss();
            values[index] = keep - eps;
            double minus = Loss();
            values[index] = keep;
            double numeric = (plus - minus) / (2 * eps);
            Assert.True(Math.Abs(numeric - analytic) <= 1e-6 * (1 + Math.Abs(numeric)), $"{name}[{index}]: numeric {numeric}, analytic {analytic}");
        }
        var head = model.Head!.Parameters;
        var rnn = model.Recurrent.Parameters;
        foreach (int i in new[] { 3, 100, 400 })
            Check("head.weight", head.Values, head.Info("weight").Offset + i, result["grad.head.weight"].ToDoubleArray()[i]);
        Check("head.bias", head.Values, head.Info("bias").Offset + 7, result["grad.head.bias"].ToDoubleArray()[7]);
        foreach (int i in new[] { 0, 37, 99 })
            Check("rnn.weight_hh_l0", rnn.Values, rnn.Info("weight_hh_l0").Offset + i, result["grad.rnn.weight_hh_l0"].ToDoubleArray()[i]);
        foreach (int i in new[] { 5, (1 * t + 1) * keys + 3, (1 * t + 3) * keys + 3 })   // the last one is a padded step: gradient 0
            Check("input", x, i, result["grad.input"].ToDoubleArray()[i]);
    }

    [Fact]
    public void FilesThatAreNotModelsAreNamed()
    {
        var data = Reread(new SafetensorsFile([SafetensorsTensor.FromArray("x", new double[3])]));
        Assert.Contains("not a model", Assert.Throws<GatedFormatException>(() => ModelFile.Detect(data)).Message);
        var checkpoint = Reread(new SafetensorsFile([SafetensorsTensor.FromArray("x", new double[3])], [new("gated.format", "gated.something-else")]));
        Assert.Contains("a Gated file of kind 'gated.something-else', not a model", Assert.Throws<GatedFormatException>(() => ModelFile.Detect(checkpoint)).Message);
        Assert.Contains("not an ONNX model", Assert.Throws<GatedFormatException>(() => ModelFile.Load<float>(data, new ModelImportOptions { Format = ModelFormat.Onnx })).Message);
        Assert.Throws<FileNotFoundException>(() => ModelFile.Load<float>("no-such-model.onnx"));
    }

    private static SafetensorsFile Reread(SafetensorsFile file)
    {
        using var stream = new MemoryStream();
        file.Write(stream);
        return SafetensorsFile.Read(stream.ToArray(), "file.safetensors");
    }
}
