using Gated.Kernels;
using Gated.Layers;
using Gated.Tests.Kernels;

namespace Gated.Tests.Layers;

/// <summary>
/// A layer big enough for the packed GEMM (weights packed once per pass, per-step products from the
/// pack) gives the same outputs and gradients as with the packed kernel turned off, for every cell and
/// both GRU reset positions, stacked, bidirectional and with variable lengths (so the live rows shrink
/// below the packed kernel's minimum on the last steps) — and the same bits on 1 and 2 threads.
/// </summary>
[Collection(ComputeThreadsCollection.Name)]
public sealed class PackedKernelEquivalenceTests
{
    public static TheoryData<CellKind, ResetGatePosition> Cells() => new()
    {
        { CellKind.Gru, ResetGatePosition.AfterProduct },
        { CellKind.Gru, ResetGatePosition.BeforeProduct },
        { CellKind.Lstm, ResetGatePosition.AfterProduct },
        { CellKind.Rnn, ResetGatePosition.AfterProduct },
    };

    [Theory]
    [MemberData(nameof(Cells))]
    public void PackedAndUnpackedKernelsAgree(CellKind cell, ResetGatePosition reset)
    {
        if (!PackedGemm.IsSupported) return; // without AVX2 and FMA both runs would take the same path
        var packed = Run(cell, reset, packedKernel: true, threads: 1);
        var unpacked = Run(cell, reset, packedKernel: false, threads: 1);
        Assert.True(Gemm.UsePacked<double>(12, 3 * 24, 24), "the test shape must reach the packed kernel");
        for (int i = 0; i < packed.Count; i++)
            TensorAssert.Close(packed[i].Name, unpacked[i].Values, packed[i].Values, 1e-11, 1e-12);
    }

    /// <summary>
    /// A batch of 1 to 3 sequences: the recurrent weights are packed once per pass and every step's product
    /// goes through the one-row kernel; the results agree with the unpacked kernels (dot products of rows).
    /// </summary>
    [Theory]
    [MemberData(nameof(Cells))]
    public void SmallBatchesThroughTheOneRowKernelAgreeWithTheUnpackedKernels(CellKind cell, ResetGatePosition reset)
    {
        if (!PackedGemm.IsSupported) return;
        Assert.False(Gemm.UsePacked<double>(3, 3 * 46, 46), "a batch of 3 must be below the packed micro-kernels");
        Assert.True(Gemm.UsePackedWeights<double>(1, 46, 46), "the test shape must reach the one-row kernel");
        foreach (int batch in new[] { 1, 3 })
        {
            var packed = Run(cell, reset, packedKernel: true, threads: 1, hidden: 46, batch: batch);
            var unpacked = Run(cell, reset, packedKernel: false, threads: 1, hidden: 46, batch: batch);
            for (int i = 0; i < packed.Count; i++)
                TensorAssert.Close($"B={batch} {packed[i].Name}", unpacked[i].Values, packed[i].Values, 1e-11, 1e-12);
        }
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public void OneAndTwoThreadsGiveTheSameBits(CellKind cell, ResetGatePosition reset)
    {
        var one = Run(cell, reset, packedKernel: true, threads: 1, hidden: 96, batch: 32);
        var two = Run(cell, reset, packedKernel: true, threads: 2, hidden: 96, batch: 32);
        for (int i = 0; i < one.Count; i++)
            Assert.True(one[i].Values.AsSpan().SequenceEqual(two[i].Values), $"{one[i].Name} differs between 1 and 2 threads");
    }

    private static List<(string Name, double[] Values)> Run(CellKind cell, ResetGatePosition reset, bool packedKernel, int threads, int hidden = 24, int batch = 12)
    {
        const int steps = 7, inputSize = 20;
        var options = new RecurrentOptions
        {
            Cell = cell,
            InputSize = inputSize,
            HiddenSize = hidden,
            NumLayers = 2,
            Bidirectional = true,
            Gru = new GruOptions { Reset = reset },
        };
        int[] lengths = [.. Enumerable.Range(0, batch).Select(i => 1 + (i * 5) % steps)];
        lengths[0] = steps;
        var random = new Random(3);
        var input = Fill(random, steps, batch, inputSize);
        var gradOutput = Fill(random, steps, batch, options.OutputSize);
        var gradHidden = Fill(random, options.NumLayers * 2, batch, hidden);

        bool savedPacked = Gemm.PackedKernelEnabled;
        int savedThreads = ComputeThreads.Count;
        try
        {
            Gemm.PackedKernelEnabled = packedKernel;
            ComputeThreads.Count = threads;
            var layer = new RecurrentLayer<double>(options, seed: 5);
            var result = layer.Forward(input, null, null, lengths);
            layer.Parameters.ZeroGradients();
            var gradients = layer.Backward(gradOutput, gradHidden, null);
            return
            [
                ("output", result.Output.Data.ToArray()),
                ("h_n", result.HiddenState.Data.ToArray()),
                ("grad input", gradients.Input!.Span.ToArray()),
                ("grad h0", gradients.InitialHidden.Span.ToArray()),
                ("grad parameters", layer.Parameters.Gradients.ToArray()),
            ];
        }
        finally
        {
            Gemm.PackedKernelEnabled = savedPacked;
            ComputeThreads.Count = savedThreads;
        }
    }

    private static Tensor<double> Fill(Random random, params int[] shape)
    {
        var t = new Tensor<double>(shape);
        for (int i = 0; i < t.Length; i++) t.Data[i] = random.NextDouble() * 2 - 1;
        return t;
    }
}
