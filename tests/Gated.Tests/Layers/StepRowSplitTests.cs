using System.Numerics;
using Gated.Cells;
using Gated.Kernels;
using Gated.Layers;
using Gated.Tests.Kernels;

namespace Gated.Tests.Layers;

/// <summary>
/// A pass split over threads by batch rows (each part does its rows' recurrent products and gate
/// arithmetic) gives the same bits as the pass on one thread, for every cell and convention, float and
/// double, stacked, bidirectional, an uneven number of rows per part and a hidden size that leaves edge
/// columns; and for three patterns of lengths: all equal (every step runs in the split over whole
/// sequences, <see cref="RecurrentCell{T}.ForwardSteps"/>), all long but a few (the first steps in that
/// split, the rest split step by step) and ragged from the second step (split step by step only, the
/// parts changing as the live rows shrink). The thresholds are lowered so that these small layers split;
/// 3 threads on a 2-core machine still run three parts.
/// </summary>
[Collection(ComputeThreadsCollection.Name)]
public sealed class StepRowSplitTests
{
    public static TheoryData<string> Cases() => [.. CaseOptions.Keys];

    private static readonly Dictionary<string, Func<int, int, RecurrentOptions>> CaseOptions = new()
    {
        ["gru reset-after keep-previous"] = (i, h) => Options(CellKind.Gru, i, h, new GruOptions()),
        ["gru reset-after take-candidate"] = (i, h) => Options(CellKind.Gru, i, h, new GruOptions { UpdateGate = UpdateGateConvention.TakeCandidate }),
        ["gru reset-before keep-previous"] = (i, h) => Options(CellKind.Gru, i, h, new GruOptions { Reset = ResetGatePosition.BeforeProduct }),
        ["gru reset-before take-candidate"] = (i, h) => Options(CellKind.Gru, i, h,
            new GruOptions { Reset = ResetGatePosition.BeforeProduct, UpdateGate = UpdateGateConvention.TakeCandidate }),
        ["gru no gates"] = (i, h) => Options(CellKind.Gru, i, h, new GruOptions { Ablation = GruAblation.NoResetGate | GruAblation.NoUpdateGate }),
        ["lstm"] = (i, h) => Options(CellKind.Lstm, i, h, new GruOptions()),
        ["rnn tanh"] = (i, h) => Options(CellKind.Rnn, i, h, new GruOptions()),
        ["rnn relu"] = (i, h) => Options(CellKind.Rnn, i, h, new GruOptions()) with { RnnNonlinearity = Activation.Relu },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void SplittingAStepByRowsGivesTheSameBitsInDouble(string name) => Compare<double>(name);

    [Theory]
    [MemberData(nameof(Cases))]
    public void SplittingAStepByRowsGivesTheSameBitsInFloat(string name) => Compare<float>(name);

    [Fact]
    public void TheLoweredThresholdsDoSplitTheTestShapes()
    {
        var layer = new RecurrentLayer<double>(CaseOptions["lstm"](InputSize, 37), seed: 1);
        var cell = new LstmCell<double>(layer.Parameters, "_l0", InputSize, 37, new LstmOptions());
        using var _ = new SplitSettings(threads: 3, threshold: 0, minimumRows: 1);
        Assert.Equal(3, cell.RowParts(13));
        Assert.Equal(2, cell.RowParts(2));
        Assert.Equal(1, cell.RowParts(1));
    }

    [Fact]
    public void SmallStepsAreNotSplit()
    {
        // music-batch (H = 46, B = 16): a split would cost more than the step.
        var layer = new RecurrentLayer<float>(CaseOptions["gru reset-after keep-previous"](88, 46), seed: 1);
        var cell = new GruCell<float>(layer.Parameters, "_l0", 88, 46, new GruOptions());
        using var _ = new SplitSettings(threads: 2, threshold: RecurrentCell<float>.RowSplitThreshold, minimumRows: RecurrentCell<float>.MinimumRowsPerPart);
        Assert.Equal(1, cell.RowParts(16));
    }

    private const int InputSize = 11, Steps = 6;

    private static RecurrentOptions Options(CellKind cell, int inputSize, int hidden, GruOptions gru) => new()
    {
        Cell = cell,
        InputSize = inputSize,
        HiddenSize = hidden,
        NumLayers = 2,
        Bidirectional = true,
        Gru = gru,
    };

    private static void Compare<T>(string name) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // 37 hidden units leave edge columns in every panel width; 13 rows split unevenly over 2 and 3 parts.
        foreach (int hidden in new[] { 37, 40 })
        {
            var options = CaseOptions[name](InputSize, hidden);
            foreach (var (pattern, lengths) in LengthPatterns)
            {
                var one = Run<T>(options, lengths, threads: 1);
                foreach (int threads in new[] { 2, 3 })
                {
                    var split = Run<T>(options, lengths, threads);
                    for (int i = 0; i < one.Count; i++)
                        Assert.True(one[i].Values.AsSpan().SequenceEqual(split[i].Values),
                            $"{name}, H = {hidden}, {pattern}: {one[i].Name} differs between 1 thread and {threads} threads split by rows");
                }
            }
        }
    }

    private const int Batch = 13;

    private static readonly (string Pattern, int[] Lengths)[] LengthPatterns =
    [
        ("equal lengths", [.. Enumerable.Repeat(Steps, Batch)]),
        ("three short sequences", [.. Enumerable.Range(0, Batch).Select(i => i % 5 == 2 ? Steps - 3 : Steps)]),
        ("ragged", [Steps, .. Enumerable.Range(1, Batch - 1).Select(i => 1 + (i * 5) % Steps)]),
    ];

    [Theory]
    [InlineData(0, Steps)]       // equal lengths: every step in the split over whole sequences
    [InlineData(1, Steps - 3)]   // three short: the first Steps − 3 steps there, the rest step by step
    [InlineData(2, 0)]           // ragged: step by step only (the second step has fewer live rows)
    public void TheLengthPatternsReachBothKindsOfSplit(int pattern, int wholeSteps)
    {
        var layer = new RecurrentLayer<double>(CaseOptions["lstm"](InputSize, 37), seed: 1);
        var cell = new LstmCell<double>(layer.Parameters, "_l0", InputSize, 37, new LstmOptions());
        var ws = cell.CreateWorkspace();
        ws.Resize(Steps, Batch);
        int[] lengths = LengthPatterns[pattern].Lengths;
        for (int t = 0; t < Steps; t++) ws.BatchSizes[t] = lengths.Count(l => l > t);
        using var _ = new SplitSettings(threads: 2, threshold: 0, minimumRows: 1);
        Assert.Equal(wholeSteps, cell.SequenceSplit(ws, out int parts));
        Assert.Equal(2, parts);
    }

    private static List<(string Name, T[] Values)> Run<T>(RecurrentOptions options, int[] lengths, int threads) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int batch = Batch;
        var random = new Random(7);
        var input = Fill<T>(random, Steps, batch, options.InputSize);
        var gradOutput = Fill<T>(random, Steps, batch, options.OutputSize);
        var gradHidden = Fill<T>(random, options.NumLayers * 2, batch, options.HiddenSize);
        var gradCell = options.Cell == CellKind.Lstm ? Fill<T>(random, options.NumLayers * 2, batch, options.HiddenSize) : null;
        using var _ = new SplitSettings(threads, threshold: 0, minimumRows: 1);
        var layer = new RecurrentLayer<T>(options, seed: 5);
        var result = layer.Forward(input, null, null, lengths);
        layer.Parameters.ZeroGradients();
        var gradients = layer.Backward(gradOutput, gradHidden, gradCell);
        var values = new List<(string, T[])>
        {
            ("output", result.Output.Data.ToArray()),
            ("h_n", result.HiddenState.Data.ToArray()),
            ("grad input", gradients.Input!.Span.ToArray()),
            ("grad h0", gradients.InitialHidden.Span.ToArray()),
            ("grad parameters", layer.Parameters.Gradients.ToArray()),
        };
        if (result.CellState is not null) values.Add(("c_n", result.CellState.Data.ToArray()));
        if (gradients.InitialCell is not null) values.Add(("grad c0", gradients.InitialCell.Span.ToArray()));
        return values;
    }

    private static Tensor<T> Fill<T>(Random random, params int[] shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var t = new Tensor<T>(shape);
        for (int i = 0; i < t.Length; i++) t.Data[i] = T.CreateChecked(random.NextDouble() * 2 - 1);
        return t;
    }

    /// <summary>Sets the thread count and the row-split thresholds (both element types) and restores them.</summary>
    private sealed class SplitSettings : IDisposable
    {
        private readonly int savedThreads = ComputeThreads.Count;
        private readonly long savedThresholdF = RecurrentCell<float>.RowSplitThreshold, savedThresholdD = RecurrentCell<double>.RowSplitThreshold;
        private readonly int savedRowsF = RecurrentCell<float>.MinimumRowsPerPart, savedRowsD = RecurrentCell<double>.MinimumRowsPerPart;

        public SplitSettings(int threads, long threshold, int minimumRows)
        {
            ComputeThreads.Count = threads;
            RecurrentCell<float>.RowSplitThreshold = RecurrentCell<double>.RowSplitThreshold = threshold;
            RecurrentCell<float>.MinimumRowsPerPart = RecurrentCell<double>.MinimumRowsPerPart = minimumRows;
        }

        public void Dispose()
        {
            ComputeThreads.Count = savedThreads;
            RecurrentCell<float>.RowSplitThreshold = savedThresholdF;
            RecurrentCell<double>.RowSplitThreshold = savedThresholdD;
            RecurrentCell<float>.MinimumRowsPerPart = savedRowsF;
            RecurrentCell<double>.MinimumRowsPerPart = savedRowsD;
        }
    }
}
