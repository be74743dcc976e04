using Gated.Data;
using Gated.Training;

namespace Gated.Models;

/// <summary>
/// Frame-level counts of a <see cref="MusicModel"/>'s thresholded next-step predictions against the
/// true piano roll, summed over every predicted step of a list of sequences.
/// </summary>
/// <param name="TruePositives">(step, key) pairs predicted on that sound.</param>
/// <param name="FalsePositives">(step, key) pairs predicted on that do not sound.</param>
/// <param name="FalseNegatives">(step, key) pairs that sound but were predicted off.</param>
/// <param name="PredictedSteps">The number of predicted steps: Σ (T_s − 1) over the sequences used.</param>
/// <param name="Sequences">The number of sequences used (length ≥ 2).</param>
/// <param name="Threshold">A key is predicted on when its probability is at least this.</param>
public sealed record FrameMetrics(long TruePositives, long FalsePositives, long FalseNegatives, long PredictedSteps, int Sequences, double Threshold)
{
    /// <summary>
    /// The frame-level accuracy of Bay, Ehmann and Downie (2009), TP / (TP + FP + FN) over all
    /// predicted steps, as reported by Boulanger-Lewandowski et al. (2012); NaN when the denominator is 0.
    /// </summary>
    public double Accuracy
    {
        get
        {
            long denominator = TruePositives + FalsePositives + FalseNegatives;
            return denominator == 0 ? double.NaN : (double)TruePositives / denominator;
        }
    }
}

/// <summary>
/// Measures of a <see cref="MusicModel"/> beyond its NLL, computed from its public
/// <see cref="MusicModel.Recurrent"/> and <see cref="MusicModel.Head"/> one sequence at a time.
/// </summary>
public static class MusicModelMetrics
{
    /// <summary>The usual decision threshold on the predicted probability of a key: 0.5.</summary>
    public const double DefaultThreshold = 0.5;

    /// <summary>
    /// The model's predicted probability of every key at steps 1..T−1 of a sequence, each step predicted
    /// from the true steps before it (teacher forcing, dropout off): a (T − 1) × 88 array, step-major
    /// (<c>p[(t − 1)·88 + key]</c> is the probability that key sounds at step t). For a NADE output it is
    /// the conditional probability given the true keys below it at step t (teacher forcing inside the
    /// frame too): the marginal of a NADE has no closed form.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="roll">The sequence; one with fewer than two steps gives an empty array.</param>
    public static float[] PredictProbabilities(MusicModel model, PianoRoll roll)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(roll);
        int steps = roll.Length - 1;
        if (steps <= 0) return [];
        const int keys = MusicModel.Keys;
        var input = new Tensor<float>(steps, 1, keys);
        for (int t = 0; t < steps; t++) roll.CopyStepTo(t, input.Data.AsSpan(t * keys, keys));

        bool wasTraining = model.Recurrent.Training;
        model.Recurrent.Training = false;
        Tensor<float> output;
        try
        {
            output = model.Recurrent.Forward(input).Output; // (T − 1, 1, H)
        }
        finally
        {
            model.Recurrent.Training = wasTraining;
        }
        var frames = new float[steps * keys];
        for (int t = 0; t < steps; t++) roll.CopyStepTo(t + 1, frames.AsSpan(t * keys, keys));
        var probabilities = new float[steps * keys];
        model.PredictRows(new Tensor<float>(output.Data, steps, model.Recurrent.Options.OutputSize), frames, probabilities, new double[steps]);
        return probabilities;
    }

    /// <summary>
    /// Thresholds the predicted probabilities of every key at every predicted step and counts true
    /// positives, false positives and false negatives against the true next step (see
    /// <see cref="FrameMetrics.Accuracy"/>). Sequences with fewer than two steps are skipped.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="sequences">The split to measure.</param>
    /// <param name="threshold">A key is predicted on when its probability is at least this; default 0.5.</param>
    /// <param name="cancellationToken">Checked between sequences.</param>
    /// <exception cref="ArgumentOutOfRangeException">The threshold is not in (0, 1].</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static FrameMetrics FrameAccuracy(MusicModel model, IReadOnlyList<PianoRoll> sequences, double threshold = DefaultThreshold,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sequences);
        if (!(threshold > 0 && threshold <= 1))
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The threshold must be in (0, 1].");
        const int keys = MusicModel.Keys;
        long truePositives = 0, falsePositives = 0, falseNegatives = 0, steps = 0;
        int used = 0;
        var target = new float[keys];
        foreach (var roll in sequences)
        {
            ArgumentNullException.ThrowIfNull(roll, nameof(sequences));
            cancellationToken.ThrowIfCancellationRequested();
            if (roll.Length < 2) continue;
            float[] p = PredictProbabilities(model, roll);
            for (int t = 1; t < roll.Length; t++)
            {
                roll.CopyStepTo(t, target.AsSpan());
                int row = (t - 1) * keys;
                for (int key = 0; key < keys; key++)
                {
                    bool on = p[row + key] >= threshold;
                    bool sounds = target[key] != 0;
                    if (on && sounds) truePositives++;
                    else if (on) falsePositives++;
                    else if (sounds) falseNegatives++;
                }
            }
            steps += roll.Length - 1;
            used++;
        }
        return new FrameMetrics(truePositives, falsePositives, falseNegatives, steps, used, threshold);
    }
}
