using System.Buffers.Binary;
using Gated.Data;

namespace Gated.IO.Midi;

/// <summary>
/// Writes a <see cref="PianoRoll"/> as a Standard MIDI File (format 0: one track holding the tempo,
/// the time signature, the track name, a program change and the notes).
/// </summary>
/// <remarks>
/// <para>
/// Every time step lasts the same note value (<see cref="MidiOptions.StepsPerQuarter"/>). A key that
/// sounds over consecutive steps becomes <b>one</b> long note: a note-on at the start of its first
/// step and a note-off at the end of its last. A binary piano roll cannot tell a held note from a
/// note struck again on the next step, so repeated articulations of the same pitch are merged; a
/// roll read back from the file with <see cref="MidiSequence.ToPianoRoll"/> is nevertheless the
/// same roll.
/// </para>
/// <para>
/// The end-of-track event sits at the end of the last step, so trailing rests are kept. At any
/// tick, note-offs come before note-ons (so a note ending where another starts never cuts it
/// short), each group in ascending pitch order; the file is byte-for-byte deterministic. Note-offs
/// are written as status <c>0x8n</c> with release velocity 64, without running status. The file
/// begins with the 14-byte header chunk <c>MThd 00 00 00 06 | 00 00 | 00 01 | division</c>.
/// </para>
/// </remarks>
public static class MidiWriter
{
    /// <summary>The largest delta time a variable-length quantity can hold (four bytes): 0x0FFFFFFF.</summary>
    internal const int MaxVariableLength = 0x0FFFFFFF;

    /// <summary>Writes a piano roll to a stream as a Standard MIDI File.</summary>
    /// <param name="stream">A writable stream; left open.</param>
    /// <param name="roll">The notes.</param>
    /// <param name="options">Step length, tempo and instrument; null for the defaults (eighth-note steps, 120 bpm, piano).</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> or <paramref name="roll"/> is null.</exception>
    /// <exception cref="ArgumentException">An option is out of range, or the roll is longer than a MIDI track can time
    /// (more than 0x0FFFFFFF ticks).</exception>
    public static void Write(Stream stream, PianoRoll roll, MidiOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        stream.Write(ToBytes(roll, options));
    }

    /// <summary>Writes a piano roll to a file atomically (see <see cref="AtomicFile.Write"/>).</summary>
    /// <param name="path">The destination, conventionally ending in <c>.mid</c>; its directory must exist.</param>
    /// <param name="roll">The notes.</param>
    /// <param name="options">Step length, tempo and instrument; null for the defaults.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">An option is out of range or the roll is too long.</exception>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public static void WriteFile(string path, PianoRoll roll, MidiOptions? options = null)
    {
        byte[] bytes = ToBytes(roll, options);
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    /// <summary>The bytes of the Standard MIDI File for a piano roll.</summary>
    /// <param name="roll">The notes.</param>
    /// <param name="options">Step length, tempo and instrument; null for the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="roll"/> is null.</exception>
    /// <exception cref="ArgumentException">An option is out of range or the roll is too long.</exception>
    public static byte[] ToBytes(PianoRoll roll, MidiOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(roll);
        options ??= new MidiOptions();
        options.Validate();
        int ticksPerStep = options.TicksPerStep;
        long endTick = (long)roll.Length * ticksPerStep;
        if (endTick > MaxVariableLength)
            throw new ArgumentException($"The roll has {roll.Length} steps of {ticksPerStep} ticks, more than the {MaxVariableLength} ticks a MIDI delta time can hold.", nameof(roll));

        var track = new TrackBuilder();

        // Meta events and set-up, all at tick 0.
        if (!string.IsNullOrEmpty(options.TrackName))
        {
            string name = options.TrackName;
            var text = new byte[name.Length];
            for (int i = 0; i < name.Length; i++) text[i] = name[i] is >= ' ' and <= '~' ? (byte)name[i] : (byte)'?';
            track.Meta(0, 0x03, text);
        }
        int tempo = options.MicrosecondsPerQuarter;
        track.Meta(0, 0x51, [(byte)(tempo >> 16), (byte)(tempo >> 8), (byte)tempo]);
        track.Meta(0, 0x58, [4, 2, 24, 8]); // 4/4, a click every quarter (24 MIDI clocks), 8 32nds per quarter
        track.Event(0, (byte)(0xC0 | options.Channel), (byte)options.Program);

        // Notes: at each step boundary, the offs of runs that ended, then the ons of runs that begin.
        byte noteOff = (byte)(0x80 | options.Channel), noteOn = (byte)(0x90 | options.Channel);
        byte velocity = (byte)options.Velocity;
        for (int step = 0; step <= roll.Length; step++)
        {
            long tick = (long)step * ticksPerStep;
            for (int key = 0; key < PianoRoll.Keys; key++)
            {
                bool was = step > 0 && roll[step - 1, key], now = step < roll.Length && roll[step, key];
                if (was && !now) track.Event(tick, noteOff, (byte)(key + PianoRoll.LowestPitch), 64);
            }
            for (int key = 0; key < PianoRoll.Keys; key++)
            {
                bool was = step > 0 && roll[step - 1, key], now = step < roll.Length && roll[step, key];
                if (now && !was) track.Event(tick, noteOn, (byte)(key + PianoRoll.LowestPitch), velocity);
            }
        }
        track.Meta(endTick, 0x2F, []);

        ReadOnlySpan<byte> body = track.Bytes;
        var file = new byte[14 + 8 + body.Length];
        "MThd"u8.CopyTo(file);
        BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(4), 6);
        BinaryPrimitives.WriteUInt16BigEndian(file.AsSpan(8), 0);  // format 0
        BinaryPrimitives.WriteUInt16BigEndian(file.AsSpan(10), 1); // one track
        BinaryPrimitives.WriteUInt16BigEndian(file.AsSpan(12), (ushort)options.TicksPerQuarter);
        "MTrk"u8.CopyTo(file.AsSpan(14));
        BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(18), (uint)body.Length);
        body.CopyTo(file.AsSpan(22));
        return file;
    }

    /// <summary>Encodes a variable-length quantity: seven bits per byte, most significant group first, the high bit
    /// set on every byte but the last.</summary>
    /// <param name="value">0..0x0FFFFFFF.</param>
    /// <param name="destination">At least four bytes.</param>
    /// <returns>The number of bytes written, 1..4.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is out of range.</exception>
    internal static int EncodeVariableLength(int value, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxVariableLength);
        int count = 1;
        while (count < 4 && value >> (7 * count) != 0) count++;
        for (int i = 0; i < count; i++)
        {
            int shift = 7 * (count - 1 - i);
            destination[i] = (byte)(((value >> shift) & 0x7F) | (i < count - 1 ? 0x80 : 0));
        }
        return count;
    }

    /// <summary>Accumulates the events of one track with delta times.</summary>
    private sealed class TrackBuilder
    {
        private readonly MemoryStream _bytes = new();
        private long _tick;

        public ReadOnlySpan<byte> Bytes => _bytes.GetBuffer().AsSpan(0, (int)_bytes.Length);

        public void Event(long tick, byte status, byte data1)
        {
            Delta(tick);
            _bytes.WriteByte(status);
            _bytes.WriteByte(data1);
        }

        public void Event(long tick, byte status, byte data1, byte data2)
        {
            Event(tick, status, data1);
            _bytes.WriteByte(data2);
        }

        public void Meta(long tick, byte type, ReadOnlySpan<byte> data)
        {
            Delta(tick);
            _bytes.WriteByte(0xFF);
            _bytes.WriteByte(type);
            Span<byte> vlq = stackalloc byte[4];
            _bytes.Write(vlq[..EncodeVariableLength(data.Length, vlq)]);
            _bytes.Write(data);
        }

        private void Delta(long tick)
        {
            Span<byte> vlq = stackalloc byte[4];
            _bytes.Write(vlq[..EncodeVariableLength(checked((int)(tick - _tick)), vlq)]);
            _tick = tick;
        }
    }
}
