using System.Numerics;

namespace Gated.Data;

/// <summary>
/// One piece of music as a binary piano roll: at each time step, which of the 88 piano keys
/// (MIDI pitches 21..108) sound. Stored compactly as a bit set of two 64-bit words per step, so
/// even the largest benchmark (MuseData, ~400k steps) takes a few megabytes.
/// </summary>
/// <remarks>
/// Key <c>k</c> (0-based, 0..87) is MIDI pitch <c>k + 21</c>, the usual 88-unit input vector of
/// Boulanger-Lewandowski et al. 2012. A piano roll is immutable.
/// </remarks>
public sealed class PianoRoll
{
    /// <summary>The number of keys (columns): 88.</summary>
    public const int Keys = 88;

    /// <summary>The MIDI pitch of key 0 (A0): 21.</summary>
    public const int LowestPitch = 21;

    /// <summary>The MIDI pitch of key 87 (C8): 108.</summary>
    public const int HighestPitch = LowestPitch + Keys - 1;

    /// <summary>The 64-bit words per step: keys 0..63 in the first, 64..87 in the low bits of the second.</summary>
    internal const int WordsPerStep = 2;

    private readonly ulong[] bits; // [step·2 + word]

    /// <summary>Wraps a bit set of <see cref="WordsPerStep"/> words per step (not copied; the caller gives it up).</summary>
    internal PianoRoll(ulong[] bits)
    {
        if (bits.Length % WordsPerStep != 0) throw new ArgumentException("The bit set must hold whole steps.", nameof(bits));
        this.bits = bits;
        Length = bits.Length / WordsPerStep;
        int notes = 0;
        for (int i = 0; i < bits.Length; i++)
        {
            if (i % WordsPerStep == 1 && (bits[i] >> (Keys - 64)) != 0) throw new ArgumentException("Bits above key 87 are set.", nameof(bits));
            notes += BitOperations.PopCount(bits[i]);
        }
        NoteCount = notes;
    }

    /// <summary>The number of time steps, T.</summary>
    public int Length { get; }

    /// <summary>The number of (step, key) pairs that sound.</summary>
    public int NoteCount { get; }

    /// <summary>Whether key <paramref name="key"/> (0..87, pitch − 21) sounds at step <paramref name="step"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The step or key is out of range.</exception>
    public bool this[int step, int key]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(step);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(step, Length);
            ArgumentOutOfRangeException.ThrowIfNegative(key);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(key, Keys);
            return (bits[step * WordsPerStep + (key >> 6)] >> (key & 63) & 1) != 0;
        }
    }

    /// <summary>The number of keys sounding at a step.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The step is out of range.</exception>
    public int NotesAt(int step)
    {
        CheckStep(step);
        return BitOperations.PopCount(bits[step * WordsPerStep]) + BitOperations.PopCount(bits[step * WordsPerStep + 1]);
    }

    /// <summary>The MIDI pitches (21..108) sounding at a step, in ascending order.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The step is out of range.</exception>
    public int[] PitchesAt(int step)
    {
        var pitches = new int[NotesAt(step)];
        int n = 0;
        for (int word = 0; word < WordsPerStep; word++)
        {
            ulong w = bits[step * WordsPerStep + word];
            while (w != 0)
            {
                pitches[n++] = LowestPitch + word * 64 + BitOperations.TrailingZeroCount(w);
                w &= w - 1;
            }
        }
        return pitches;
    }

    /// <summary>Writes the 88-unit binary vector of a step: 1 where a key sounds, 0 elsewhere.</summary>
    /// <param name="step">The step, 0..T−1.</param>
    /// <param name="destination">At least 88 elements; the first 88 are overwritten.</param>
    /// <exception cref="ArgumentOutOfRangeException">The step is out of range.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than 88.</exception>
    public void CopyStepTo<T>(int step, Span<T> destination) where T : INumberBase<T>
    {
        CheckStep(step);
        if (destination.Length < Keys) throw new ArgumentException($"The destination needs {Keys} elements, it has {destination.Length}.", nameof(destination));
        ulong low = bits[step * WordsPerStep], high = bits[step * WordsPerStep + 1];
        for (int key = 0; key < 64; key++) destination[key] = ((low >> key) & 1) != 0 ? T.One : T.Zero;
        for (int key = 64; key < Keys; key++) destination[key] = ((high >> (key - 64)) & 1) != 0 ? T.One : T.Zero;
    }

    /// <summary>Builds a piano roll from the MIDI pitches sounding at each step.</summary>
    /// <param name="steps">One list of pitches (21..108, no repeats within a step) per step; an empty list is a rest.</param>
    /// <exception cref="ArgumentException">A pitch is out of range or repeated within a step.</exception>
    public static PianoRoll FromPitches(IEnumerable<IEnumerable<int>> steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        var words = new List<ulong>();
        int index = 0;
        foreach (var pitches in steps)
        {
            ArgumentNullException.ThrowIfNull(pitches, nameof(steps));
            ulong low = 0, high = 0;
            foreach (int pitch in pitches)
            {
                if (pitch < LowestPitch || pitch > HighestPitch)
                    throw new ArgumentException($"Step {index}: pitch {pitch} is outside {LowestPitch}..{HighestPitch}.", nameof(steps));
                if (!TrySet(ref low, ref high, pitch - LowestPitch))
                    throw new ArgumentException($"Step {index}: pitch {pitch} appears twice.", nameof(steps));
            }
            words.Add(low);
            words.Add(high);
            index++;
        }
        return new PianoRoll(words.ToArray());
    }

    /// <summary>Sets a key's bit; false when it was already set.</summary>
    internal static bool TrySet(ref ulong low, ref ulong high, int key)
    {
        ref ulong word = ref key < 64 ? ref low : ref high;
        ulong mask = 1UL << (key & 63);
        if ((word & mask) != 0) return false;
        word |= mask;
        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => $"PianoRoll({Length} steps, {NoteCount} notes)";

    private void CheckStep(int step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(step, Length);
    }
}
