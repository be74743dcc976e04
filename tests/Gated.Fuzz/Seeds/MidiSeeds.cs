using Gated.Data;
using Gated.IO.Midi;

namespace Gated.Fuzz.Seeds;

/// <summary>Standard MIDI Files: what <see cref="MidiWriter"/> writes, and hand-made files with running status, sysex, tempo, several tracks and an unknown chunk.</summary>
public static class MidiSeeds
{
    /// <summary>The seeds.</summary>
    public static IReadOnlyList<byte[]> All()
    {
        var chorale = PianoRoll.FromPitches([[60, 64, 67], [60, 64, 67], [62, 65, 69], [], [59, 62, 67, 74], [21, 108], []]);
        return
        [
            MidiWriter.ToBytes(chorale),
            MidiWriter.ToBytes(chorale, new MidiOptions { TicksPerQuarter = 96, StepsPerQuarter = 4, TempoBpm = 90, TrackName = null, Channel = 3, Program = 19 }),
            File(1, 480,
                // Tempo, time signature, a note with running status, a sysex, a controller, end of track.
                [0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20, 0x00, 0xFF, 0x58, 0x04, 0x04, 0x02, 0x18, 0x08,
                 0x00, 0x90, 0x3C, 0x40, 0x00, 0x40, 0x40, 0x83, 0x60, 0x3C, 0x00, 0x00, 0x40, 0x00,
                 0x00, 0xF0, 0x03, 0x7E, 0x09, 0xF7, 0x10, 0xB0, 0x07, 0x64, 0x00, 0xFF, 0x2F, 0x00],
                // A second track: note-on/note-off pairs on channel 9 (percussion) and channel 1, a pitch bend.
                [0x00, 0x99, 0x24, 0x64, 0x60, 0x89, 0x24, 0x00, 0x00, 0x91, 0x15, 0x30, 0x81, 0x40, 0xE1, 0x00, 0x40,
                 0x00, 0x81, 0x15, 0x00, 0x00, 0xFF, 0x2F, 0x00]),
            [.. File(0, 96, [0x00, 0x90, 0x6C, 0x7F, 0x81, 0x80, 0x00, 0x80, 0x6C, 0x00, 0x00, 0xFF, 0x2F, 0x00]),
             .. "XFIH"u8, 0, 0, 0, 3, 1, 2, 3],
        ];
    }

    /// <summary>A file from a header (format, division) and raw track bodies.</summary>
    private static byte[] File(int format, int division, params byte[][] tracks)
    {
        var bytes = new List<byte>();
        bytes.AddRange("MThd"u8.ToArray());
        bytes.AddRange([0, 0, 0, 6, 0, (byte)format, 0, (byte)tracks.Length, (byte)(division >> 8), (byte)division]);
        foreach (byte[] track in tracks)
        {
            bytes.AddRange("MTrk"u8.ToArray());
            bytes.AddRange(Mutator.BigEndian((uint)track.Length));
            bytes.AddRange(track);
        }
        return bytes.ToArray();
    }
}
