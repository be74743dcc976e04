namespace Gated.Models;

/// <summary>What a <see cref="MusicModel"/> is doing when it reports progress.</summary>
public enum MusicPhase
{
    /// <summary>An optimisation step was taken (<see cref="MusicModel.TrainEpoch"/>).</summary>
    Training,
    /// <summary>A batch was evaluated without training (<see cref="MusicModel.Evaluate"/>).</summary>
    Evaluation,
}

/// <summary>Progress after one mini-batch, reported through <see cref="IProgress{T}"/>.</summary>
/// <param name="Phase">Training or evaluation.</param>
/// <param name="Batch">The 1-based number of the batch just finished.</param>
/// <param name="BatchCount">The number of batches in this pass.</param>
/// <param name="SequencesDone">Sequences processed so far in this pass.</param>
/// <param name="SequenceCount">Sequences in this pass (those with at least two steps).</param>
/// <param name="BatchNllPerStep">The NLL per predicted step of this batch (before the update, when training).</param>
/// <param name="RunningNllPerStep">The NLL per predicted step over the batches so far in this pass.</param>
/// <param name="GradientNorm">The global gradient norm before clipping; null when evaluating.</param>
public sealed record MusicProgress(
    MusicPhase Phase, int Batch, int BatchCount, int SequencesDone, int SequenceCount,
    double BatchNllPerStep, double RunningNllPerStep, double? GradientNorm);
