using System.Buffers.Binary;

namespace Gated.IO.Midi;

/// <summary>
/// Reads the notes of a Standard MIDI File (formats 0, 1 and 2, ticks-per-quarter time division),
/// treating the input as hostile.
/// </summary>
/// <remarks>
/// <para>
/// The reader understands the header chunk, <c>MTrk</c> chunks (other chunk types are skipped),
/// variable-length delta times, running status (also across meta and system-exclusive events, as
/// many files in the wild need), note-on/note-off pairs (a note-on with velocity 0 is a note-off),
/// and the tempo and end-of-track meta events. Other channel messages, other meta events and
/// system-exclusive messages are skipped. A note-on for a pitch already sounding on the same channel
/// ends the sounding note and starts a new one; a note still sounding when its track ends ends
/// there; a note-off without a note-on is ignored.
/// </para>
/// <para>
/// Every malformed input raises <see cref="GatedFormatException"/>, and no other exception type,
/// with the input's name and the byte offset: a missing or short header, SMPTE time division, a
/// chunk longer than the bytes that remain, fewer track chunks than the header declares, a
/// variable-length quantity longer than four bytes, a data byte without a status, a status byte
/// where a data byte belongs, a system message other than sysex or meta, and an event cut off by
/// the end of its chunk. Every length is checked against the bytes that remain before anything is
/// allocated, and inputs above <see cref="MaxFileLength"/> are refused.
/// </para>
/// </remarks>
public static class MidiReader
{
    /// <summary>The largest file read: 64 MiB (typical MIDI files are a few kilobytes).</summary>
    public const int MaxFileLength = 64 << 20;

    /// <summary>Reads a MIDI file.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="GatedFormatException">The file is not a valid MIDI file or is too large; the message names the file and the byte offset.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static MidiSequence ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return Read(stream, path);
    }

    /// <summary>Reads a MIDI file from a stream, up to its end.</summary>
    /// <param name="stream">A readable stream; left open.</param>
    /// <param name="source">The name of the input for error messages, or null.</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="GatedFormatException">The content is not a valid MIDI file or is longer than <see cref="MaxFileLength"/>.</exception>
    /// <exception cref="IOException">Reading the stream fails.</exception>
    public static MidiSequence Read(Stream stream, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (stream.CanSeek && stream.Length - stream.Position > MaxFileLength)
            throw new GatedFormatException(source, $"The MIDI file is {stream.Length - stream.Position} bytes long, more than the limit of {MaxFileLength} bytes.");
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (buffer.Length + read > MaxFileLength)
                throw new GatedFormatException(source, $"The MIDI file is larger than the limit of {MaxFileLength} bytes.");
            buffer.Write(chunk, 0, read);
        }
        return Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), source);
    }

    /// <summary>Reads a MIDI file held in memory.</summary>
    /// <param name="bytes">The whole file.</param>
    /// <param name="source">The name of the input for error messages, or null.</param>
    /// <exception cref="GatedFormatException">The bytes are not a valid MIDI file or are longer than <see cref="MaxFileLength"/>.</exception>
    public static MidiSequence Parse(ReadOnlySpan<byte> bytes, string? source = null)
    {
        if (bytes.Length > MaxFileLength)
            throw new GatedFormatException(source, $"The MIDI file is larger than the limit of {MaxFileLength} bytes.");
        var reader = new Reader(bytes, source);

        // Header chunk.
        if (bytes.Length < 4 || !bytes[..4].SequenceEqual("MThd"u8))
            throw reader.Error(0, "Not a Standard MIDI File: it does not start with 'MThd'.");
        if (bytes.Length < 14)
            throw reader.Error(bytes.Length, $"The file ends inside the header chunk ({bytes.Length} of 14 bytes).");
        int headerLength = reader.ChunkLength(4);
        if (headerLength < 6)
            throw reader.Error(4, $"The header chunk is {headerLength} bytes long; it needs at least 6.");
        int format = BinaryPrimitives.ReadUInt16BigEndian(bytes[8..]);
        int trackCount = BinaryPrimitives.ReadUInt16BigEndian(bytes[10..]);
        int division = BinaryPrimitives.ReadUInt16BigEndian(bytes[12..]);
        if (format > 2)
            throw reader.Error(8, $"Unknown MIDI file format {format}; only 0, 1 and 2 exist.");
        if ((division & 0x8000) != 0)
            throw reader.Error(12, "SMPTE time division is not supported; only ticks per quarter note.");
        if (division == 0)
            throw reader.Error(12, "The time division is 0 ticks per quarter note.");

        var notes = new List<MidiNote>();
        long endTick = 0;
        double? tempo = null;
        int position = 8 + headerLength;
        int tracksRead = 0;
        // (channel·128 + pitch) → start tick + 1 of the sounding note (0 when silent) and its velocity; shared by all tracks.
        var soundingSince = new long[16 * 128];
        var soundingVelocity = new byte[16 * 128];
        while (tracksRead < trackCount)
        {
            if (bytes.Length - position < 8)
                throw reader.Error(position, $"The header declares {trackCount} tracks but the file ends after {tracksRead}.");
            int length = reader.ChunkLength(position + 4);
            int body = position + 8;
            if (bytes.Slice(position, 4).SequenceEqual("MTrk"u8))
            {
                long trackEnd = reader.ReadTrack(body, body + length, tracksRead, notes, ref tempo, soundingSince, soundingVelocity);
                endTick = Math.Max(endTick, trackEnd);
                tracksRead++;
            }
            position = body + length;
        }
        return new MidiSequence(format, division, notes, endTick, tempo);
    }

    /// <summary>Decodes a variable-length quantity of at most four bytes.</summary>
    /// <param name="bytes">The bytes, starting at the quantity.</param>
    /// <param name="value">The value, 0..0x0FFFFFFF.</param>
    /// <param name="length">The bytes it takes, 1..4.</param>
    /// <returns>False when the bytes end before the quantity does or it runs past four bytes.</returns>
    internal static bool TryDecodeVariableLength(ReadOnlySpan<byte> bytes, out int value, out int length)
    {
        value = 0;
        for (length = 1; length <= 4 && length <= bytes.Length; length++)
        {
            byte b = bytes[length - 1];
            value = (value << 7) | (b & 0x7F);
            if ((b & 0x80) == 0) return true;
        }
        return false;
    }

    private readonly ref struct Reader(ReadOnlySpan<byte> bytes, string? source)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;

        public GatedFormatException Error(long offset, string message) =>
            new(source, $"At byte {offset}: {message}");

        /// <summary>The 32-bit big-endian chunk length at an offset, checked against the bytes that follow it.</summary>
        public int ChunkLength(int offset)
        {
            uint length = BinaryPrimitives.ReadUInt32BigEndian(_bytes[offset..]);
            long remaining = _bytes.Length - (offset + 4L);
            if (length > remaining)
                throw Error(offset, $"The chunk claims {length} bytes but only {remaining} remain.");
            return (int)length;
        }

        /// <summary>Reads the events of one track chunk, adding its notes; returns the tick where it ends.</summary>
        public long ReadTrack(int start, int end, int track, List<MidiNote> notes, ref double? tempo, long[] soundingSince, byte[] soundingVelocity)
        {
            // soundingSince is all zero here: the last track that started a note cleared it on the way out.
            // An empty track (a file may hold 65,535) then costs nothing beyond its header.
            bool anyNoteOn = false;
            long tick = 0;
            int status = 0;
            int p = start;
            while (p < end)
            {
                if (!TryDecodeVariableLength(_bytes[p..end], out int delta, out int vlqLength))
                    throw Error(p, vlqLength > 4 ? "A delta time is longer than four bytes." : "The track ends inside a delta time.");
                p += vlqLength;
                tick += delta;
                if (p >= end) throw Error(p, "The track ends after a delta time, before its event.");

                int eventOffset = p;
                byte first = _bytes[p];
                if (first >= 0x80)
                {
                    p++;
                    if (first < 0xF0) status = first;
                }
                else if (status == 0)
                    throw Error(p, $"Data byte 0x{first:X2} without a status byte (no running status yet).");

                if (first is 0xFF)
                {
                    if (end - p < 1) throw Error(eventOffset, "The track ends inside a meta event.");
                    byte type = _bytes[p++];
                    int length = Length(ref p, end, eventOffset, "meta event");
                    if (type == 0x51 && length == 3 && tempo is null)
                    {
                        int microseconds = (_bytes[p] << 16) | (_bytes[p + 1] << 8) | _bytes[p + 2];
                        if (microseconds > 0) tempo = 60_000_000.0 / microseconds;
                    }
                    p += length;
                    if (type == 0x2F) break; // end of track; anything after it in the chunk is ignored
                    continue;
                }
                if (first is 0xF0 or 0xF7)
                {
                    int length = Length(ref p, end, eventOffset, "system-exclusive message"); // advances p past the length
                    p += length;
                    continue;
                }
                if (first >= 0xF0)
                    throw Error(eventOffset, $"Status 0x{first:X2} cannot appear in a MIDI file.");

                int kind = status & 0xF0, channel = status & 0x0F;
                int dataBytes = kind is 0xC0 or 0xD0 ? 1 : 2;
                if (end - p < dataBytes) throw Error(eventOffset, "The track ends inside a channel message.");
                for (int i = 0; i < dataBytes; i++)
                    if (_bytes[p + i] >= 0x80)
                        throw Error(p + i, $"Status byte 0x{_bytes[p + i]:X2} where a data byte of a 0x{status:X2} message belongs.");
                int data1 = _bytes[p], data2 = dataBytes == 2 ? _bytes[p + 1] : 0;
                p += dataBytes;

                if (kind is 0x80 or 0x90)
                {
                    int slot = channel * 128 + data1;
                    if (soundingSince[slot] != 0)
                    {
                        notes.Add(new MidiNote(data1, soundingSince[slot] - 1, tick, soundingVelocity[slot], channel, track));
                        soundingSince[slot] = 0;
                    }
                    if (kind == 0x90 && data2 > 0)
                    {
                        soundingSince[slot] = tick + 1;
                        soundingVelocity[slot] = (byte)data2;
                        anyNoteOn = true;
                    }
                }
            }

            if (anyNoteOn)
            {
                // Notes still sounding at the end of the track end there.
                for (int slot = 0; slot < soundingSince.Length; slot++)
                    if (soundingSince[slot] != 0)
                        notes.Add(new MidiNote(slot % 128, soundingSince[slot] - 1, tick, soundingVelocity[slot], slot / 128, track));
                Array.Clear(soundingSince);
            }
            return tick;
        }

        /// <summary>Reads the length of a meta or sysex event and checks it against the bytes left in the track.</summary>
        private int Length(ref int p, int end, int eventOffset, string what)
        {
            if (!TryDecodeVariableLength(_bytes[p..end], out int length, out int vlqLength))
                throw Error(p, vlqLength > 4 ? $"The length of a {what} is longer than four bytes." : $"The track ends inside the length of a {what}.");
            p += vlqLength;
            if (length > end - p)
                throw Error(eventOffset, $"A {what} claims {length} bytes but only {end - p} remain in the track.");
            return length;
        }
    }
}
