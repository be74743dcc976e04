using Gated.Kernels;
using Gated.Tests.Kernels;
using Gated.Training;

namespace Gated.Tests.Training;

/// <summary>
/// A long input's chunks are split over threads; the loss and the gradient keep the bits of one thread
/// (each element's term is computed by one thread, the terms are summed in element order).
/// </summary>
[Collection(ComputeThreadsCollection.Name)]
public sealed class BernoulliNllThreadsTests
{
    [Theory]
    [InlineData(40_000)]
    [InlineData(140_800)]
    [InlineData(100_001)]
    public void LossAndGradientAreIdenticalWhateverTheThreadCount(int length)
    {
        var random = new Random(length);
        var logits = new float[length];
        var targets = new float[length];
        for (int i = 0; i < length; i++)
        {
            logits[i] = (float)(random.NextDouble() * 20 - 10);
            targets[i] = random.NextDouble() < 0.1 ? 1 : 0;
        }
        int saved = ComputeThreads.Count;
        try
        {
            double? firstLoss = null, firstLossOnly = null;
            float[]? firstGradient = null;
            foreach (int threads in new[] { 1, 2, 3 })
            {
                ComputeThreads.Count = threads;
                var gradient = new float[length];
                double loss = BernoulliNll.LossAndGradient<float>(logits, targets, gradient, 1.0 / 3200);
                double lossOnly = BernoulliNll.Loss<float>(logits, targets);
                if (firstGradient is null)
                {
                    (firstLoss, firstLossOnly, firstGradient) = (loss, lossOnly, gradient);
                    Assert.Equal(loss, lossOnly);
                    continue;
                }
                Assert.Equal(BitConverter.DoubleToInt64Bits(firstLoss!.Value), BitConverter.DoubleToInt64Bits(loss));
                Assert.Equal(BitConverter.DoubleToInt64Bits(firstLossOnly!.Value), BitConverter.DoubleToInt64Bits(lossOnly));
                Assert.True(firstGradient.AsSpan().SequenceEqual(gradient), $"the gradient differs between 1 and {threads} threads");
            }
        }
        finally
        {
            ComputeThreads.Count = saved;
        }
    }

    [Fact]
    public void TheGradientMayOverwriteTheLogitsOnTwoThreads()
    {
        const int length = 70_000;
        var random = new Random(2);
        var logits = new float[length];
        var targets = new float[length];
        for (int i = 0; i < length; i++) { logits[i] = (float)(random.NextDouble() * 8 - 4); targets[i] = random.NextDouble() < 0.5 ? 1 : 0; }
        int saved = ComputeThreads.Count;
        try
        {
            ComputeThreads.Count = 2;
            var gradient = new float[length];
            double expected = BernoulliNll.LossAndGradient<float>(logits, targets, gradient);
            double inPlace = BernoulliNll.LossAndGradient<float>(logits, targets, logits);
            Assert.Equal(expected, inPlace);
            Assert.True(gradient.AsSpan().SequenceEqual(logits));
        }
        finally
        {
            ComputeThreads.Count = saved;
        }
    }
}
