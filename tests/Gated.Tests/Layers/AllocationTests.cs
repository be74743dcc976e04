using Gated.Layers;

namespace Gated.Tests.Layers;

/// <summary>After warm-up, a forward and backward pass allocate only the tensors they return, whatever the number of steps: nothing per step.</summary>
public sealed class AllocationTests
{
    [Theory]
    [InlineData(CellKind.Gru, ResetGatePosition.AfterProduct)]
    [InlineData(CellKind.Gru, ResetGatePosition.BeforeProduct)]
    [InlineData(CellKind.Lstm, ResetGatePosition.AfterProduct)]
    [InlineData(CellKind.Rnn, ResetGatePosition.AfterProduct)]
    public void ForwardAndBackwardAllocateNothingPerStep(CellKind cell, ResetGatePosition reset)
    {
        var layer = new RecurrentLayer<float>(new RecurrentOptions
        {
            Cell = cell, InputSize = 8, HiddenSize = 16, NumLayers = 2, Bidirectional = true,
            Gru = new GruOptions { Reset = reset },
        }, seed: 1);
        // The minimum of three measurements: an allocation made in every step shows in all three, while a
        // one-time event of the runtime (tiered JIT, on-stack replacement of a long loop) shows in one at most.
        long shortRun = Enumerable.Range(0, 3).Min(_ => Measure(layer, steps: 20));
        long longRun = Enumerable.Range(0, 3).Min(_ => Measure(layer, steps: 200));
        // Returned tensors grow with T: output (T·B·2H) and ∂input (T·B·I) floats, ×4 bytes; the rest must not.
        long returned = (200 - 20) * 4L * (2 * 16 + 8) * 4;
        Assert.True(longRun - shortRun <= returned + 1024, $"200 steps allocated {longRun} bytes, 20 steps {shortRun}: {longRun - shortRun - returned} bytes beyond the returned tensors");
    }

    private static long Measure(RecurrentLayer<float> layer, int steps)
    {
        var input = new Tensor<float>(steps, 4, 8);
        var gradOutput = new Tensor<float>(steps, 4, 32);
        int[] lengths = [steps, steps - 3, steps / 2, 1];
        layer.Forward(input, lengths: lengths);
        layer.Backward(gradOutput);  // warm-up: workspaces grow here
        long before = GC.GetAllocatedBytesForCurrentThread();
        layer.Forward(input, lengths: lengths);
        layer.Backward(gradOutput);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
