using Gated.Layers;
using Gated.Training;

namespace Gated.Tests.Training;

/// <summary>
/// The NADE output distribution (<see cref="Nade{T}"/>) on its own, in float64: exact gradients
/// (finite differences of every parameter, of the dense head that gives its visible biases and of the
/// conditioning input), a normalised distribution, agreement with the independent-sigmoid NLL when
/// w = 0, the vectorised code against the scalar reference, and sampling against the probabilities.
/// </summary>
public sealed class NadeTests
{
    private const double Epsilon = 1e-5;
    private const double Tolerance = 1e-6;

    /// <summary>Random weights of size ~1 (so that every term matters), a random input and random binary frames.</summary>
    private static (Linear<double> Head, Nade<double> Nade, double[] Input, double[] Frames) Case(int keys, int n, int inputSize, int rows, int seed)
    {
        var head = new Linear<double>(inputSize, keys, seed);
        var nade = new Nade<double>(keys, n, inputSize, seed + 1);
        var random = new Random(seed + 2);
        foreach (ref double v in nade.Parameters.Values.AsSpan()) v = random.NextDouble() * 2 - 1;
        foreach (ref double v in head.Parameters.Values.AsSpan()) v = random.NextDouble() * 2 - 1;
        var input = new double[rows * inputSize];
        for (int i = 0; i < input.Length; i++) input[i] = random.NextDouble() * 2 - 1;
        var frames = new double[rows * keys];
        for (int i = 0; i < frames.Length; i++) frames[i] = random.Next(3) == 0 ? 1 : 0;
        return (head, nade, input, frames);
    }

    /// <summary>L = scale · NLL of the frames, b from the head on the input.</summary>
    private static double Loss(Linear<double> head, Nade<double> nade, double[] input, double[] frames, double scale)
    {
        var b = head.Forward(new Tensor<double>(input, input.Length / head.InputSize, head.InputSize));
        return scale * nade.Loss(input, b.Data, frames);
    }

    private static double FourthOrder(Func<double> loss, ref double x)
    {
        double x0 = x;
        x = x0 + 2 * Epsilon; double p2 = loss();
        x = x0 + Epsilon; double p1 = loss();
        x = x0 - Epsilon; double m1 = loss();
        x = x0 - 2 * Epsilon; double m2 = loss();
        x = x0;
        return (-p2 + 8 * p1 - 8 * m1 + m2) / (12 * Epsilon);
    }

    private static void AssertClose(double expected, double actual, string what)
    {
        double error = Math.Abs(expected - actual) / Math.Max(1, Math.Abs(expected) + Math.Abs(actual));
        Assert.True(error < Tolerance, $"{what}: analytic {actual}, numeric {expected} (relative error {error:E2})");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void GradientsMatchFiniteDifferences(bool scalar)
    {
        const int keys = 7, n = 5, inputSize = 4, rows = 3;
        const double scale = 0.37;
        var (head, nade, input, frames) = Case(keys, n, inputSize, rows, seed: 11);

        nade.Parameters.ZeroGradients();
        head.Parameters.ZeroGradients();
        var b = head.Forward(new Tensor<double>(input, rows, inputSize));
        var db = new double[rows * keys];
        var dInputC = new double[rows * inputSize];
        double nll = scalar
            ? nade.LossAndGradientScalar(input, b.Data, frames, scale, db, dInputC)
            : nade.LossAndGradient(input, b.Data, frames, scale, db, dInputC);
        var dInputB = head.Backward(new Tensor<double>(db, rows, keys));
        Assert.Equal(Loss(head, nade, input, frames, 1), nll, 12);

        double L() => Loss(head, nade, input, frames, scale);
        foreach (var (block, owner) in new[] { (nade.Parameters, "nade"), (head.Parameters, "head") })
        {
            foreach (var p in block.Parameters)
                for (int i = 0; i < p.Length; i++)
                    AssertClose(FourthOrder(L, ref block.Values[p.Offset + i]), block.Gradients[p.Offset + i], $"{owner}.{p.Name}[{i}]");
        }
        for (int i = 0; i < input.Length; i++)
            AssertClose(FourthOrder(L, ref input[i]), dInputC[i] + dInputB.Data[i], $"input[{i}]");
    }

    [Fact]
    public void TheVisibleBiasGradientMayOverwriteTheBiases()
    {
        var (head, nade, input, frames) = Case(6, 4, 3, 2, seed: 5);
        var b = head.Forward(new Tensor<double>(input, 2, 3)).Data;
        var separate = new double[b.Length];
        nade.LossAndGradient(input, b, frames, 1, separate, new double[input.Length]);
        nade.LossAndGradient(input, b, frames, 1, b, new double[input.Length]);
        Assert.Equal(separate, b);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(9)]
    public void ProbabilitiesOfAllFramesSumToOne(int keys)
    {
        var (head, nade, input, _) = Case(keys, 6, 3, 1, seed: 3 + keys);
        var b = head.Forward(new Tensor<double>(input, 1, 3)).Data;
        var frame = new double[keys];
        double total = 0;
        for (int bits = 0; bits < 1 << keys; bits++)
        {
            for (int i = 0; i < keys; i++) frame[i] = (bits >> i) & 1;
            total += Math.Exp(-nade.Loss(input, b, frame));
        }
        Assert.Equal(1.0, total, 12);
    }

    [Fact]
    public void WithZeroWTheNllIsTheIndependentSigmoidNll()
    {
        const int keys = 10, n = 6, inputSize = 4, rows = 5;
        var (head, nade, input, frames) = Case(keys, n, inputSize, rows, seed: 21);
        nade.Parameters.Value("w").Clear();
        var b = head.Forward(new Tensor<double>(input, rows, inputSize)).Data;

        // Every h_i is σ(c), c = c0 + W_c x: logits b_i + V_i·σ(c).
        var cWeight = nade.Parameters.Value("c_weight").ToArray();
        var cBias = nade.Parameters.Value("c_bias").ToArray();
        var v = nade.Parameters.Value("v").ToArray();
        var logits = new double[rows * keys];
        for (int r = 0; r < rows; r++)
        {
            var h = new double[n];
            for (int j = 0; j < n; j++)
            {
                double c = cBias[j];
                for (int q = 0; q < inputSize; q++) c += cWeight[j * inputSize + q] * input[r * inputSize + q];
                h[j] = 1 / (1 + Math.Exp(-c));
            }
            for (int i = 0; i < keys; i++)
            {
                double l = b[r * keys + i];
                for (int j = 0; j < n; j++) l += v[i * n + j] * h[j];
                logits[r * keys + i] = l;
            }
        }
        double expected = BernoulliNll.LossScalar<double>(logits, frames);
        Assert.Equal(expected, nade.Loss(input, b, frames), 10);
        Assert.Equal(expected, nade.LossScalar(input, b, frames), 10);

        // And with V = 0 too, the NADE is the dense head's sigmoid output exactly.
        nade.Parameters.Value("v").Clear();
        Assert.Equal(BernoulliNll.LossScalar<double>(b, frames), nade.Loss(input, b, frames), 10);
    }

    [Fact]
    public void VectorisedFloatMatchesTheScalarReference()
    {
        const int keys = 88, n = 37, inputSize = 19, rows = 6;
        var nade = new Nade<float>(keys, n, inputSize, seed: 7);
        var random = new Random(8);
        var input = new float[rows * inputSize];
        var b = new float[rows * keys];
        var frames = new float[rows * keys];
        for (int i = 0; i < input.Length; i++) input[i] = (float)(random.NextDouble() * 2 - 1);
        for (int i = 0; i < b.Length; i++) b[i] = (float)(random.NextDouble() * 4 - 3);
        for (int i = 0; i < frames.Length; i++) frames[i] = random.Next(8) == 0 ? 1 : 0;

        var pFast = new float[rows * keys];
        var pSlow = new float[rows * keys];
        double fast = nade.Loss(input, b, frames, pFast);
        double slow = nade.LossScalar(input, b, frames, pSlow);
        Assert.Equal(slow, fast, 3);
        for (int i = 0; i < pFast.Length; i++) Assert.Equal(pSlow[i], pFast[i], 4);

        var dbFast = new float[b.Length];
        var dxFast = new float[input.Length];
        nade.Parameters.ZeroGradients();
        nade.LossAndGradient(input, b, frames, 0.5, dbFast, dxFast);
        float[] gradFast = (float[])nade.Parameters.Gradients.Clone();
        var dbSlow = new float[b.Length];
        var dxSlow = new float[input.Length];
        nade.Parameters.ZeroGradients();
        nade.LossAndGradientScalar(input, b, frames, 0.5, dbSlow, dxSlow);
        float[] gradSlow = nade.Parameters.Gradients;
        for (int i = 0; i < dbFast.Length; i++) Assert.Equal(dbSlow[i], dbFast[i], 4);
        for (int i = 0; i < dxFast.Length; i++) Assert.Equal(dxSlow[i], dxFast[i], 4);
        for (int i = 0; i < gradFast.Length; i++) Assert.Equal(gradSlow[i], gradFast[i], 4);
    }

    [Fact]
    public void SamplesFollowTheDistribution()
    {
        const int keys = 3;
        var (head, nade, input, _) = Case(keys, 4, 2, 1, seed: 31);
        var b = head.Forward(new Tensor<double>(input, 1, 2)).Data;
        var counts = new int[1 << keys];
        var frame = new double[keys];
        var probabilities = new double[keys];
        var random = new Random(1);
        const int draws = 40_000;
        for (int d = 0; d < draws; d++)
        {
            nade.Sample(input, b, random, frame, probabilities);
            int bits = 0;
            for (int i = 0; i < keys; i++) bits |= (int)frame[i] << i;
            counts[bits]++;
            // The reported probabilities are the conditionals of the drawn frame.
            var expected = new double[keys];
            nade.Loss(input, b, frame, expected);
            for (int i = 0; i < keys; i++) Assert.Equal(expected[i], probabilities[i], 12);
        }
        for (int bits = 0; bits < 1 << keys; bits++)
        {
            for (int i = 0; i < keys; i++) frame[i] = (bits >> i) & 1;
            double p = Math.Exp(-nade.Loss(input, b, frame));
            double sd = Math.Sqrt(p * (1 - p) / draws);
            Assert.InRange((double)counts[bits] / draws, p - 5 * sd, p + 5 * sd);
        }
    }
}
