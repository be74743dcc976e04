using Gated.Training;

namespace Gated.Models;

/// <summary>The optimisers <see cref="MusicTrainer"/> can use.</summary>
public enum OptimizerKind
{
    /// <summary>SGD with momentum (<see cref="Sgd{T}"/>).</summary>
    Sgd,
    /// <summary>RMSProp (<see cref="RmsProp{T}"/>), the optimiser of Chung et al. 2014.</summary>
    RmsProp,
    /// <summary>Adam (<see cref="Adam{T}"/>).</summary>
    Adam,
}

/// <summary>What <see cref="MusicTrainer"/> does when a step diverges (NaN or ∞ loss or gradient).</summary>
public enum DivergencePolicy
{
    /// <summary>Stop with <see cref="TrainingDivergedException"/>; the last checkpoint stays as it was.</summary>
    Stop,
    /// <summary>Go back to the start of the epoch (the state of the last checkpoint), halve the learning rate and try again,
    /// at most <see cref="MusicTrainer.MaxRollBacks"/> times in a row for one epoch.</summary>
    RollBackAndHalveLearningRate,
}

/// <summary>How a model is trained: optimiser, schedule, regularisation and stopping.</summary>
public sealed record TrainingOptions
{
    /// <summary>The optimiser. Default Adam.</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;
    /// <summary>The initial learning rate. Default 0.01.</summary>
    public double LearningRate { get; init; } = 0.01;
    /// <summary>Momentum for SGD and RMSProp. Default 0.9 for SGD, ignored by Adam; RMSProp uses it when &gt; 0.</summary>
    public double Momentum { get; init; }
    /// <summary>Sequences per mini-batch. Default 8.</summary>
    public int BatchSize { get; init; } = 8;
    /// <summary>Rescale the global gradient norm to this value when above it; null for no clipping. Default 1.</summary>
    public double? MaxGradientNorm { get; init; } = 1.0;
    /// <summary>Standard deviation of the weight noise of each batch (Chung et al. used 0.075); 0 for none.</summary>
    public double WeightNoise { get; init; }
    /// <summary>Truncated BPTT: update every this many steps, carrying the state; null for full BPTT.</summary>
    public int? TruncateSteps { get; init; }
    /// <summary>The largest number of epochs. Default 100.</summary>
    public int MaxEpochs { get; init; } = 100;
    /// <summary>Stop after this many epochs without a better validation NLL. Default 8.</summary>
    public int Patience { get; init; } = 8;
    /// <summary>Multiply the learning rate by this after <see cref="DecayPatience"/> epochs without improvement (1 for no decay). Default 0.5.</summary>
    public double LearningRateDecay { get; init; } = 0.5;
    /// <summary>Epochs without improvement before the learning rate decays. Default 3.</summary>
    public int DecayPatience { get; init; } = 3;
    /// <summary>Stop after the epoch during which this much wall-clock time has passed; null for no limit.</summary>
    public double? MaxSeconds { get; init; }
    /// <summary>What to do on divergence. Default <see cref="DivergencePolicy.Stop"/>.</summary>
    public DivergencePolicy OnDivergence { get; init; } = DivergencePolicy.Stop;
    /// <summary>Seed of the weights, the order of sequences, dropout and weight noise.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate)) throw new ArgumentException($"LearningRate must be a positive number, got {LearningRate}.", nameof(LearningRate));
        if (!(Momentum >= 0 && Momentum < 1)) throw new ArgumentException($"Momentum must be in [0, 1), got {Momentum}.", nameof(Momentum));
        if (BatchSize < 1) throw new ArgumentException($"BatchSize must be ≥ 1, got {BatchSize}.", nameof(BatchSize));
        if (MaxGradientNorm is double g && !(g > 0)) throw new ArgumentException($"MaxGradientNorm must be > 0, got {g}.", nameof(MaxGradientNorm));
        if (!(WeightNoise >= 0) || !double.IsFinite(WeightNoise)) throw new ArgumentException($"WeightNoise must be ≥ 0, got {WeightNoise}.", nameof(WeightNoise));
        if (TruncateSteps is int k && k < 1) throw new ArgumentException($"TruncateSteps must be ≥ 1, got {k}.", nameof(TruncateSteps));
        if (MaxEpochs < 1) throw new ArgumentException($"MaxEpochs must be ≥ 1, got {MaxEpochs}.", nameof(MaxEpochs));
        if (Patience < 1) throw new ArgumentException($"Patience must be ≥ 1, got {Patience}.", nameof(Patience));
        if (!(LearningRateDecay > 0 && LearningRateDecay <= 1)) throw new ArgumentException($"LearningRateDecay must be in (0, 1], got {LearningRateDecay}.", nameof(LearningRateDecay));
        if (DecayPatience < 1) throw new ArgumentException($"DecayPatience must be ≥ 1, got {DecayPatience}.", nameof(DecayPatience));
        if (MaxSeconds is double s && !(s > 0)) throw new ArgumentException($"MaxSeconds must be > 0, got {s}.", nameof(MaxSeconds));
    }
}

/// <summary>One epoch of a training run.</summary>
/// <param name="Epoch">1-based.</param>
/// <param name="TrainNll">Training NLL per predicted step (running figure over the epoch).</param>
/// <param name="ValidNll">Validation NLL per predicted step after the epoch.</param>
/// <param name="LearningRate">The learning rate used in the epoch.</param>
/// <param name="Seconds">Wall-clock seconds since the run started (summed over resumed sessions).</param>
/// <param name="IsBest">Whether this epoch gave the best validation NLL so far.</param>
public sealed record EpochRecord(int Epoch, double TrainNll, double ValidNll, double LearningRate, double Seconds, bool IsBest);

/// <summary>Why a run ended.</summary>
public enum StopReason
{
    /// <summary><see cref="TrainingOptions.MaxEpochs"/> reached.</summary>
    MaxEpochs,
    /// <summary>No improvement for <see cref="TrainingOptions.Patience"/> epochs.</summary>
    EarlyStopping,
    /// <summary><see cref="TrainingOptions.MaxSeconds"/> reached.</summary>
    TimeLimit,
}

/// <summary>What a finished run returns.</summary>
/// <param name="Best">The model of the best validation epoch.</param>
/// <param name="BestEpoch">Its epoch.</param>
/// <param name="BestValidNll">Its validation NLL per step.</param>
/// <param name="History">Every epoch.</param>
/// <param name="Stop">Why the run ended.</param>
public sealed record TrainingResult(MusicModel Best, int BestEpoch, double BestValidNll, IReadOnlyList<EpochRecord> History, StopReason Stop);

/// <summary>Reported by <see cref="MusicTrainer"/> after each batch and each epoch.</summary>
/// <param name="Epoch">The current epoch.</param>
/// <param name="Batch">Progress within the epoch, or null at the end of an epoch.</param>
/// <param name="Completed">The record of a finished epoch, or null during one.</param>
/// <param name="Message">A note (resumed, rolled back, learning rate lowered), or null.</param>
public sealed record TrainingProgress(int Epoch, MusicProgress? Batch, EpochRecord? Completed, string? Message);
