namespace Gated.Models;

/// <summary>The negative log-likelihood of a model over a list of sequences (see <see cref="Training.BernoulliNll"/>).</summary>
/// <param name="TotalNll">Σ of the per-key losses over all predicted steps, in nats.</param>
/// <param name="PredictedSteps">The number of predicted steps: Σ (T_s − 1) over the sequences used.</param>
/// <param name="Sequences">The number of sequences used (length ≥ 2).</param>
/// <param name="SkippedSequences">Sequences left out because they have fewer than two steps.</param>
public sealed record NllSummary(double TotalNll, long PredictedSteps, int Sequences, int SkippedSequences)
{
    /// <summary>NLL per time step: <see cref="TotalNll"/> / <see cref="PredictedSteps"/> (NaN when nothing was predicted).</summary>
    public double NllPerStep => PredictedSteps == 0 ? double.NaN : TotalNll / PredictedSteps;
}
