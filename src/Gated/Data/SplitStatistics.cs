namespace Gated.Data;

/// <summary>
/// Counts over a list of piano rolls, in the terms of the data README's statistics table: steps are
/// time steps, notes are (step, pitch) pairs.
/// </summary>
/// <param name="Sequences">The number of sequences.</param>
/// <param name="Steps">The total number of time steps.</param>
/// <param name="Notes">The total number of (step, pitch) pairs that sound.</param>
/// <param name="EmptySteps">Steps where no key sounds (rests).</param>
/// <param name="MaxNotesPerStep">The most keys sounding at one step; 0 for no steps.</param>
/// <param name="MinLength">The shortest sequence, in steps; 0 for no sequences.</param>
/// <param name="MaxLength">The longest sequence, in steps; 0 for no sequences.</param>
/// <param name="MinPitch">The lowest MIDI pitch that sounds; 0 when no note sounds.</param>
/// <param name="MaxPitch">The highest MIDI pitch that sounds; 0 when no note sounds.</param>
public sealed record SplitStatistics(
    int Sequences, long Steps, long Notes, long EmptySteps, int MaxNotesPerStep,
    int MinLength, int MaxLength, int MinPitch, int MaxPitch)
{
    /// <summary>Notes per step (the README's "mean"); 0 for no steps.</summary>
    public double MeanNotesPerStep => Steps == 0 ? 0 : (double)Notes / Steps;

    /// <summary>Computes the statistics of a split.</summary>
    /// <param name="sequences">The piano rolls.</param>
    public static SplitStatistics Of(IReadOnlyList<PianoRoll> sequences)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        long steps = 0, notes = 0, empty = 0;
        int maxNotes = 0, minLength = int.MaxValue, maxLength = 0, minPitch = int.MaxValue, maxPitch = 0;
        foreach (var roll in sequences)
        {
            steps += roll.Length;
            notes += roll.NoteCount;
            minLength = Math.Min(minLength, roll.Length);
            maxLength = Math.Max(maxLength, roll.Length);
            for (int step = 0; step < roll.Length; step++)
            {
                int n = roll.NotesAt(step);
                if (n == 0) { empty++; continue; }
                maxNotes = Math.Max(maxNotes, n);
                int[] pitches = roll.PitchesAt(step);
                minPitch = Math.Min(minPitch, pitches[0]);
                maxPitch = Math.Max(maxPitch, pitches[^1]);
            }
        }
        return new SplitStatistics(
            sequences.Count, steps, notes, empty, maxNotes,
            sequences.Count == 0 ? 0 : minLength, maxLength,
            notes == 0 ? 0 : minPitch, maxPitch);
    }
}
