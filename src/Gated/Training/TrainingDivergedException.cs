namespace Gated.Training;

/// <summary>Thrown when a training step produces a loss or gradient that is not finite: the run has diverged.</summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception for an epoch and batch.</summary>
    public TrainingDivergedException(int epoch, int batch, string what)
        : base($"Training diverged in epoch {epoch}, batch {batch}: {what}. Try a smaller learning rate or resume from the last checkpoint.")
    {
        Epoch = epoch;
        Batch = batch;
        Reason = what;
    }

    /// <summary>What was not finite, e.g. "the loss is NaN".</summary>
    public string Reason { get; }

    /// <summary>The 1-based epoch in which it happened.</summary>
    public int Epoch { get; }

    /// <summary>The 1-based batch in which it happened.</summary>
    public int Batch { get; }
}
