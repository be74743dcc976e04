using System.Numerics;
using Gated.Memory;

namespace Gated.Layers;

/// <summary>Draws the initial weights of a <see cref="RecurrentLayer{T}"/> (see <see cref="WeightInitialization"/>).</summary>
internal static class Initializer
{
    public static void Initialize<T>(ParameterBlock<T> parameters, RecurrentOptions options, Random random)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int h = options.HiddenSize, gates = options.GateCount;
        foreach (var p in parameters.Parameters)
        {
            Span<T> values = parameters.Values.AsSpan(p.Offset, p.Length);
            bool isBias = p.Name.StartsWith("bias", StringComparison.Ordinal);
            if (options.Initialization == WeightInitialization.PyTorchUniform)
            {
                double bound = 1 / Math.Sqrt(h);
                Uniform(values, bound, random);
            }
            else if (isBias)
            {
                values.Clear();
            }
            else
            {
                int columns = p.Shape[1];
                bool recurrent = p.Name.StartsWith("weight_hh", StringComparison.Ordinal);
                for (int gate = 0; gate < gates; gate++)
                {
                    Span<T> block = values.Slice(gate * h * columns, h * columns);
                    if (recurrent && options.Initialization == WeightInitialization.Orthogonal) Orthogonal(block, h, random);
                    else Uniform(block, Math.Sqrt(6.0 / (h + columns)), random);
                }
            }
            // LSTM: the forget gate (rows H..2H) starts biased toward remembering.
            if (isBias && options.Cell == CellKind.Lstm && options.Lstm.ForgetGateBiasInit != 0 && p.Name.StartsWith("bias_ih", StringComparison.Ordinal))
            {
                T add = T.CreateChecked(options.Lstm.ForgetGateBiasInit);
                foreach (ref T v in values.Slice(h, h)) v += add;
            }
        }
    }

    private static void Uniform<T>(Span<T> values, double bound, Random random) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < values.Length; i++) values[i] = T.CreateChecked((random.NextDouble() * 2 - 1) * bound);
    }

    /// <summary>A random n×n orthogonal matrix: Gram–Schmidt (twice, for stability) on Gaussian rows, in double.</summary>
    private static void Orthogonal<T>(Span<T> block, int n, Random random) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var q = new double[n * n];
        for (int i = 0; i < q.Length; i++) q[i] = Gaussian(random);
        for (int i = 0; i < n; i++)
        {
            Span<double> row = q.AsSpan(i * n, n);
            for (int pass = 0; pass < 2; pass++)
            {
                for (int j = 0; j < i; j++)
                {
                    ReadOnlySpan<double> other = q.AsSpan(j * n, n);
                    double dot = 0;
                    for (int k = 0; k < n; k++) dot += row[k] * other[k];
                    for (int k = 0; k < n; k++) row[k] -= dot * other[k];
                }
            }
            double norm = 0;
            for (int k = 0; k < n; k++) norm += row[k] * row[k];
            norm = Math.Sqrt(norm);
            for (int k = 0; k < n; k++) row[k] /= norm;
        }
        for (int i = 0; i < q.Length; i++) block[i] = T.CreateChecked(q[i]);
    }

    internal static double Gaussian(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
