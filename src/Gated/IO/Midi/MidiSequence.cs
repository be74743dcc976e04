using Gated.Data;

namespace Gated.IO.Midi;

/// <summary>
/// The notes of a Standard MIDI File as <see cref="MidiReader"/> returns them, with the time
/// division needed to turn ticks into note values, and a quantiser back to a <see cref="PianoRoll"/>.
/// </summary>
public sealed class MidiSequence
{
    /// <summary>The default limit of <see cref="ToPianoRoll"/>: 4,194,304 steps (64 MiB of piano roll).</summary>
    public const int DefaultMaxSteps = 1 << 22;

    /// <summary>Creates a sequence.</summary>
    /// <param name="format">The SMF format, 0..2.</param>
    /// <param name="ticksPerQuarter">The time division, 1..32767.</param>
    /// <param name="notes">The notes, in any order; they are sorted by start tick, then pitch.</param>
    /// <param name="endTick">The tick where the last track ends (at least the end of every note).</param>
    /// <param name="tempoBpm">The first tempo of the file in quarter notes per minute, or null when it sets none.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="notes"/> is null.</exception>
    public MidiSequence(int format, int ticksPerQuarter, IEnumerable<MidiNote> notes, long endTick, double? tempoBpm = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(format);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(format, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(ticksPerQuarter, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ticksPerQuarter, 0x7FFF);
        ArgumentNullException.ThrowIfNull(notes);
        ArgumentOutOfRangeException.ThrowIfNegative(endTick);
        MidiNote[] sorted = notes.ToArray();
        foreach (MidiNote n in sorted)
        {
            if (n.Pitch is < 0 or > 127 || n.StartTick < 0 || n.EndTick < n.StartTick || n.Channel is < 0 or > 15)
                throw new ArgumentOutOfRangeException(nameof(notes), $"Invalid note {n}.");
            endTick = Math.Max(endTick, n.EndTick);
        }
        Array.Sort(sorted, static (a, b) =>
            a.StartTick != b.StartTick ? a.StartTick.CompareTo(b.StartTick)
            : a.Pitch != b.Pitch ? a.Pitch.CompareTo(b.Pitch)
            : a.EndTick.CompareTo(b.EndTick));
        Format = format;
        TicksPerQuarter = ticksPerQuarter;
        Notes = Array.AsReadOnly(sorted);
        EndTick = endTick;
        TempoBpm = tempoBpm;
    }

    /// <summary>The SMF format: 0 (one track), 1 (simultaneous tracks) or 2 (independent tracks, read here as if simultaneous).</summary>
    public int Format { get; }

    /// <summary>The time division in ticks per quarter note.</summary>
    public int TicksPerQuarter { get; }

    /// <summary>The notes of every track and channel, sorted by start tick, then pitch.</summary>
    public IReadOnlyList<MidiNote> Notes { get; }

    /// <summary>The tick where the longest track ends: its end-of-track event, or its last event when it has none.</summary>
    public long EndTick { get; }

    /// <summary>The first tempo of the file in quarter notes per minute, or null when it sets none (MIDI then assumes 120).</summary>
    public double? TempoBpm { get; }

    /// <summary>
    /// Quantises the notes to a piano roll with a fixed number of steps per quarter note.
    /// </summary>
    /// <remarks>
    /// With <c>s</c> = ticks per step (<see cref="TicksPerQuarter"/> / <paramref name="stepsPerQuarter"/>), a note
    /// sounds on steps <c>round(start/s)</c> up to but excluding <c>round(end/s)</c>, and on at least one step. The
    /// roll has <c>round(EndTick/s)</c> steps, or more when a note needs them. Notes of the same pitch that
    /// overlap or touch merge; notes on channel 9 (General MIDI percussion) and pitches outside 21..108 are left
    /// out. For a file written by <see cref="MidiWriter"/> with the same steps per quarter, this gives back the
    /// written roll exactly.
    /// </remarks>
    /// <param name="stepsPerQuarter">Steps per quarter note: 2 for eighth-note frames, 1 for quarter-note frames.</param>
    /// <param name="maxSteps">The longest roll to build; a longer one is an error rather than a huge allocation.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="stepsPerQuarter"/> or <paramref name="maxSteps"/> is not positive.</exception>
    /// <exception cref="GatedFormatException">The roll would be longer than <paramref name="maxSteps"/>.</exception>
    public PianoRoll ToPianoRoll(int stepsPerQuarter, int maxSteps = DefaultMaxSteps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stepsPerQuarter, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSteps, 1);
        double ticksPerStep = (double)TicksPerQuarter / stepsPerQuarter;

        long length = ToStep(EndTick, ticksPerStep);
        foreach (MidiNote n in Notes)
        {
            if (!Included(n)) continue;
            length = Math.Max(length, NoteSteps(n, ticksPerStep).End);
        }
        if (length > maxSteps)
            throw new GatedFormatException($"The MIDI sequence is {length} steps long at {stepsPerQuarter} steps per quarter, more than the limit of {maxSteps}.");

        var bits = new ulong[length * PianoRoll.WordsPerStep];
        foreach (MidiNote n in Notes)
        {
            if (!Included(n)) continue;
            (long start, long end) = NoteSteps(n, ticksPerStep);
            int key = n.Pitch - PianoRoll.LowestPitch;
            for (long step = start; step < end; step++)
                bits[step * PianoRoll.WordsPerStep + (key >> 6)] |= 1UL << (key & 63);
        }
        return new PianoRoll(bits);
    }

    /// <inheritdoc/>
    public override string ToString() => $"MidiSequence(format {Format}, {TicksPerQuarter} ticks per quarter, {Notes.Count} notes, {EndTick} ticks)";

    private static bool Included(MidiNote n) =>
        n.Channel != 9 && n.Pitch >= PianoRoll.LowestPitch && n.Pitch <= PianoRoll.HighestPitch;

    private static (long Start, long End) NoteSteps(MidiNote n, double ticksPerStep)
    {
        long start = ToStep(n.StartTick, ticksPerStep);
        return (start, Math.Max(start + 1, ToStep(n.EndTick, ticksPerStep)));
    }

    private static long ToStep(long tick, double ticksPerStep) => (long)Math.Round(tick / ticksPerStep, MidpointRounding.AwayFromZero);
}
