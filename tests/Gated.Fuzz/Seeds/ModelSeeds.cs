using Gated.Data;
using Gated.Layers;
using Gated.Models;

namespace Gated.Fuzz.Seeds;

/// <summary>Saved music models and training checkpoints, as <c>gated train</c> writes them.</summary>
public static class ModelSeeds
{
    /// <summary>The model options and training options the checkpoint seeds were made with (the checkpoint target reads them back with these).</summary>
    public static readonly RecurrentOptions CheckpointModel = new() { Cell = CellKind.Gru, InputSize = MusicModel.Keys, HiddenSize = 3 };

    /// <summary>The training options of the checkpoint seeds.</summary>
    public static readonly TrainingOptions CheckpointTraining = new() { LearningRate = 0.01, BatchSize = 2, MaxEpochs = 2, Patience = 5, Seed = 4 };

    /// <summary>Small models of every cell kind.</summary>
    public static IReadOnlyList<byte[]> Models() =>
    [
        Model(CellKind.Gru, hidden: 2, layers: 1),
        Model(CellKind.Lstm, hidden: 2, layers: 2),
        Model(CellKind.Rnn, hidden: 3, layers: 1),
        SafetensorsSeeds.Bytes(new MusicModel(new RecurrentOptions
        {
            Cell = CellKind.Gru, InputSize = MusicModel.Keys, HiddenSize = 2,
            Gru = new GruOptions { Reset = ResetGatePosition.BeforeProduct, UpdateGate = UpdateGateConvention.TakeCandidate },
        }, seed: 2).ToSafetensors()),
    ];

    /// <summary>One model's safetensors bytes.</summary>
    public static byte[] Model(CellKind cell, int hidden, int layers) =>
        SafetensorsSeeds.Bytes(MusicModel.Create(cell, hidden, layers, seed: 1).ToSafetensors());

    /// <summary>The checkpoints after epochs 1 and 2 of a tiny run with <see cref="CheckpointModel"/> and <see cref="CheckpointTraining"/>.</summary>
    public static IReadOnlyList<byte[]> Checkpoints()
    {
        string folder = Directory.CreateTempSubdirectory("gated-fuzz-checkpoint-").FullName;
        try
        {
            var seeds = new List<byte[]>();
            for (int epochs = 1; epochs <= 2; epochs++)
            {
                new MusicTrainer(CheckpointModel, CheckpointTraining with { MaxEpochs = epochs }).Run(TinyData(), folder, resume: true);
                seeds.Add(File.ReadAllBytes(Path.Combine(folder, MusicTrainer.CheckpointFileName)));
            }
            return seeds;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static PianoRollDataset TinyData()
    {
        PianoRoll Roll(int offset, int length) => PianoRoll.FromPitches(Enumerable.Range(0, length).Select(t => new[] { 60 + (t + offset) % 5, 72 }));
        return new PianoRollDataset([Roll(0, 6), Roll(1, 5), Roll(2, 7)], [Roll(3, 4)], [Roll(4, 4)]);
    }
}
