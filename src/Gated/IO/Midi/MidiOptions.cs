namespace Gated.IO.Midi;

/// <summary>
/// How <see cref="MidiWriter"/> turns a piano roll into a Standard MIDI File: the note value of one
/// time step, the tempo, and the velocity, instrument and channel of every note.
/// </summary>
/// <remarks>
/// The benchmark piano rolls of Boulanger-Lewandowski et al. 2012 take one frame per eighth note
/// (<see cref="StepsPerQuarter"/> = 2: Nottingham, MuseData, Piano-midi.de) or per quarter note
/// (<see cref="StepsPerQuarter"/> = 1: JSB Chorales). Invalid values are reported by
/// <see cref="MidiWriter.Write"/> with an <see cref="ArgumentException"/>.
/// </remarks>
public sealed record MidiOptions
{
    /// <summary>Time steps per quarter note: 2 (the default) for eighth-note frames, 1 for quarter-note frames, 4 for sixteenths.
    /// Must divide <see cref="TicksPerQuarter"/>.</summary>
    public int StepsPerQuarter { get; init; } = 2;

    /// <summary>The tempo in quarter notes per minute (default 120), stored as whole microseconds per quarter note;
    /// between 4 and 60,000,000.</summary>
    public double TempoBpm { get; init; } = 120;

    /// <summary>The note-on velocity of every note, 1..127 (default 80).</summary>
    public int Velocity { get; init; } = 80;

    /// <summary>The General MIDI program (instrument) number, 0..127 (default 0, acoustic grand piano).</summary>
    public int Program { get; init; }

    /// <summary>The MIDI channel, 0..15 (default 0). Channel 9 is General MIDI percussion.</summary>
    public int Channel { get; init; }

    /// <summary>The time division of the file in ticks per quarter note, 1..32767 (default 480).</summary>
    public int TicksPerQuarter { get; init; } = 480;

    /// <summary>The track name meta event (default <c>"Gated"</c>); characters outside printable ASCII are written as
    /// <c>'?'</c>. Null or empty writes no track name.</summary>
    public string? TrackName { get; init; } = "Gated";

    /// <summary>The MIDI ticks per time step, <see cref="TicksPerQuarter"/> / <see cref="StepsPerQuarter"/> (rounded down;
    /// 0 when <see cref="StepsPerQuarter"/> is not positive). Exact once <see cref="Validate"/> has passed.</summary>
    public int TicksPerStep => StepsPerQuarter > 0 ? TicksPerQuarter / StepsPerQuarter : 0;

    /// <summary>Checks every value and throws when one is out of range.</summary>
    /// <exception cref="ArgumentException">A value is out of range, or <see cref="StepsPerQuarter"/> does not divide
    /// <see cref="TicksPerQuarter"/>; the message names the option.</exception>
    public void Validate()
    {
        if (TicksPerQuarter is < 1 or > 0x7FFF)
            throw new ArgumentException($"{nameof(TicksPerQuarter)} must be 1..32767, not {TicksPerQuarter}.");
        if (StepsPerQuarter < 1 || TicksPerQuarter % StepsPerQuarter != 0)
            throw new ArgumentException($"{nameof(StepsPerQuarter)} must be positive and divide {nameof(TicksPerQuarter)} = {TicksPerQuarter}, not {StepsPerQuarter}.");
        if (!double.IsFinite(TempoBpm) || TempoBpm < 4 || TempoBpm > 60_000_000)
            throw new ArgumentException($"{nameof(TempoBpm)} must be between 4 and 60,000,000, not {TempoBpm}.");
        if (Velocity is < 1 or > 127)
            throw new ArgumentException($"{nameof(Velocity)} must be 1..127, not {Velocity}.");
        if (Program is < 0 or > 127)
            throw new ArgumentException($"{nameof(Program)} must be 0..127, not {Program}.");
        if (Channel is < 0 or > 15)
            throw new ArgumentException($"{nameof(Channel)} must be 0..15, not {Channel}.");
    }

    /// <summary>The tempo as whole microseconds per quarter note, as the tempo meta event stores it.</summary>
    internal int MicrosecondsPerQuarter => (int)Math.Clamp(Math.Round(60_000_000.0 / TempoBpm), 1, 0xFFFFFF);
}
