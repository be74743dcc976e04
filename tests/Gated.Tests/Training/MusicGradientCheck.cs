using Gated.Data;
using Gated.Memory;
using Gated.Models;
using Gated.Training;

namespace Gated.Tests.Training;

/// <summary>The check that a music model's training gradient is the gradient of its evaluated NLL, shared by the sigmoid and NADE tests.</summary>
internal static class MusicGradientCheck
{
    /// <summary>An optimiser that records the gradients it is given and changes nothing.</summary>
    private sealed class Recorder(IEnumerable<ParameterBlock<float>> blocks) : Optimizer<float>(blocks, 0)
    {
        public List<float> Gradient { get; } = [];

        protected override void Update(int block, Span<float> values, ReadOnlySpan<float> gradients) => Gradient.AddRange(gradients.ToArray());
    }

    /// <summary>
    /// One training batch holding every sequence records g; g must be ∇ of <see cref="MusicModel.Evaluate"/>'s NLL per
    /// step, checked along its own direction d = g/|g|: (L(θ + εd) − L(θ − εd)) / 2ε ≈ |g|. Leaves the weights moved.
    /// </summary>
    public static void AssertTrainingGradientIsTheGradientOfTheMeanNll(MusicModel model, IReadOnlyList<PianoRoll> data)
    {
        var recorder = new Recorder(model.ParameterBlocks);
        model.TrainEpoch(data, recorder, 1, new MusicModel.TrainingStep(BatchSize: 100, MaxGradientNorm: null));
        float[] g = [.. recorder.Gradient];
        Assert.Equal(model.ParameterCount, g.Length);
        double norm = Math.Sqrt(g.Sum(v => (double)v * v));
        Assert.True(norm > 1e-3, $"gradient norm {norm}");

        float[][] theta = [.. model.ParameterBlocks.Select(b => (float[])b.Values.Clone())];
        double LossAt(double epsilon)
        {
            int k = 0;
            for (int b = 0; b < theta.Length; b++)
                for (int i = 0; i < theta[b].Length; i++, k++)
                    model.ParameterBlocks[b].Values[i] = (float)(theta[b][i] + epsilon * g[k] / norm);
            return model.Evaluate(data, batchSize: 5).NllPerStep;
        }
        const double eps = 1e-2;
        double numeric = (LossAt(eps) - LossAt(-eps)) / (2 * eps);
        Assert.Equal(norm, numeric, norm * 2e-3);
    }
}
