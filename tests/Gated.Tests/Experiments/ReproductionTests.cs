using Gated.Experiments;
using Gated.Layers;

namespace Gated.Tests.Experiments;

/// <summary>The reproduction's per-data-set protocol defaults and its overrides, on tiny stand-in data sets.</summary>
public sealed class ReproductionTests
{
    [Theory]
    [InlineData("jsb", 1, null)]
    [InlineData("nottingham", 1, null)]
    [InlineData("musedata", 4, 100)]
    [InlineData("piano-midi", 4, 100)]
    public void EachDataSetHasItsBatchSizeAndWindow(string dataSet, int batchSize, int? window)
    {
        var defaults = new ReproductionOptions();
        Assert.Equal(batchSize, Reproduction.BatchSize(defaults, dataSet));
        Assert.Equal(window, Reproduction.TruncateSteps(defaults, dataSet));
        Assert.Equal(7, Reproduction.BatchSize(defaults with { BatchSize = 7 }, dataSet));
    }

    [Fact]
    public void TheProtocolCarriesBatchSizeAndWeightNoise()
    {
        var protocol = Chung2014.Protocol(0.003, seed: 5, maxSeconds: null, maxEpochs: 9, truncateSteps: 100, batchSize: 1, weightNoise: 0.05);
        Assert.Equal(1, protocol.BatchSize);
        Assert.Equal(0.05, protocol.WeightNoise);
        Assert.Equal(100, protocol.TruncateSteps);
        // The gate ablation calls it without the new arguments and keeps its protocol: batches of 4, no noise.
        var plain = Chung2014.Protocol(0.003, seed: 5, maxSeconds: null, maxEpochs: 9);
        Assert.Equal(4, plain.BatchSize);
        Assert.Equal(0, plain.WeightNoise);
    }

    [Fact]
    public void TheResultsStateTheProtocolAndNoiseChangesTheRun()
    {
        using var folder = new TinyDataFolder();
        ReproductionOptions Options(string name, double? noise) => new()
        {
            DataSets = ["jsb"], Cells = [CellKind.Gru], EpochsPerRun = 3, Jobs = 1, Seed = 3, WeightNoise = noise,
            OutputDirectory = Path.Combine(folder.Root, name), Data = folder.Resolve,
        };

        var noisy = Reproduction.Run(Options("noisy", null));
        var again = Reproduction.Run(Options("again", null));
        var clean = Reproduction.Run(Options("clean", 0));

        string md = File.ReadAllText(Path.Combine(folder.Root, "noisy", "chung2014.md"));
        Assert.Contains("mini-batches of 1 sequence on jsb", md);
        Assert.Contains("weight noise σ = 0.05", md);
        Assert.Contains("weight noise 0.05", File.ReadAllText(Path.Combine(folder.Root, "noisy", "chung2014.json")));
        Assert.Contains("weight noise σ = 0 ", File.ReadAllText(Path.Combine(folder.Root, "clean", "chung2014.md")));
        // Seeded: the same options give the same run; the noise is really applied.
        Assert.Equal(noisy[0].ValidNll, again[0].ValidNll);
        Assert.NotEqual(noisy[0].ValidNll, clean[0].ValidNll);
    }

    [Fact]
    public void BadOverridesAreRefused()
    {
        using var folder = new TinyDataFolder();
        var options = new ReproductionOptions { DataSets = ["jsb"], Cells = [CellKind.Gru], Data = folder.Resolve, OutputDirectory = folder.Root };
        Assert.Contains("BatchSize must be ≥ 1", Assert.Throws<ArgumentException>(() => Reproduction.Run(options with { BatchSize = 0 })).Message);
        Assert.Contains("WeightNoise must be", Assert.Throws<ArgumentException>(() => Reproduction.Run(options with { WeightNoise = double.NaN })).Message);
    }
}
