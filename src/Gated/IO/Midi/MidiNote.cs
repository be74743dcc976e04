namespace Gated.IO.Midi;

/// <summary>One note read from a MIDI file: a pitch sounding on a channel from a start tick to an end tick.</summary>
/// <param name="Pitch">The MIDI pitch, 0..127 (60 is middle C, C4).</param>
/// <param name="StartTick">The tick of the note-on, from the start of the file.</param>
/// <param name="EndTick">The tick of the matching note-off (or of the end of the track when none came), at least <paramref name="StartTick"/>.</param>
/// <param name="Velocity">The note-on velocity, 1..127.</param>
/// <param name="Channel">The MIDI channel, 0..15 (9 is General MIDI percussion).</param>
/// <param name="Track">The index of the track chunk it was read from, from 0.</param>
public readonly record struct MidiNote(int Pitch, long StartTick, long EndTick, int Velocity, int Channel, int Track)
{
    /// <summary>The length in ticks, <see cref="EndTick"/> − <see cref="StartTick"/>.</summary>
    public long DurationTicks => EndTick - StartTick;
}
