using System.Diagnostics;
using Gated.Data;
using Gated.IO;
using Gated.IO.Midi;

namespace Gated.Tests.IO;

public sealed class MidiTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "gated-midi-" + Guid.NewGuid().ToString("N"));

    public MidiTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    private static PianoRoll Roll(params int[][] steps) => PianoRoll.FromPitches(steps);

    private static void AssertSameRoll(PianoRoll expected, PianoRoll actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int t = 0; t < expected.Length; t++)
            Assert.Equal(expected.PitchesAt(t), actual.PitchesAt(t));
    }

    /// <summary>A file from a header (format, division) and raw track bodies.</summary>
    private static byte[] File(int format, int division, params byte[][] tracks) => FileWithCount(format, tracks.Length, division, tracks);

    private static byte[] FileWithCount(int format, int declaredTracks, int division, params byte[][] tracks)
    {
        var bytes = new List<byte>();
        bytes.AddRange("MThd"u8.ToArray());
        bytes.AddRange([0, 0, 0, 6, 0, (byte)format, (byte)(declaredTracks >> 8), (byte)declaredTracks, (byte)(division >> 8), (byte)division]);
        foreach (byte[] track in tracks)
        {
            bytes.AddRange("MTrk"u8.ToArray());
            bytes.AddRange([(byte)(track.Length >> 24), (byte)(track.Length >> 16), (byte)(track.Length >> 8), (byte)track.Length]);
            bytes.AddRange(track);
        }
        return bytes.ToArray();
    }

    private static readonly PianoRoll Chorale = Roll(
        [60, 64, 67], [60, 64, 67], [62, 65, 69], [], [59, 62, 67, 74], [59, 62, 67, 74], [60, 64, 67, 72], [21, 108], [], []);

    // ------------------------------------------------------------------------------------------
    // Writer: exact bytes
    // ------------------------------------------------------------------------------------------

    [Fact]
    public void HeaderChunkIsExactlyAsTheSpecificationSays()
    {
        byte[] bytes = MidiWriter.ToBytes(Chorale);
        byte[] header = [(byte)'M', (byte)'T', (byte)'h', (byte)'d', 0, 0, 0, 6, 0, 0, 0, 1, 0x01, 0xE0];
        Assert.Equal(header, bytes[..14]);
        Assert.Equal("MTrk"u8.ToArray(), bytes[14..18]);
        int length = (bytes[18] << 24) | (bytes[19] << 16) | (bytes[20] << 8) | bytes[21];
        Assert.Equal(bytes.Length - 22, length);
        Assert.Equal(new byte[] { 0x83, 0x60, 0xFF, 0x2F, 0x00 }, bytes[^5..]); // end of track after the two trailing rests
    }

    [Fact]
    public void DivisionFollowsTheOptions()
    {
        byte[] bytes = MidiWriter.ToBytes(Chorale, new MidiOptions { TicksPerQuarter = 96, StepsPerQuarter = 4 });
        Assert.Equal(new byte[] { 0x00, 0x60 }, bytes[12..14]);
    }

    [Fact]
    public void TrackHasExactEventsDeltasAndOffsBeforeOns()
    {
        // Pitch 60 on step 0, pitch 62 on step 1: at tick 240 the note-off of 60 must precede the note-on of 62.
        PianoRoll roll = Roll([60], [62]);
        byte[] bytes = MidiWriter.ToBytes(roll, new MidiOptions { TrackName = null });
        byte[] track =
        [
            0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20,     // tempo 500000 µs per quarter (120 bpm)
            0x00, 0xFF, 0x58, 0x04, 0x04, 0x02, 0x18, 0x08, // 4/4
            0x00, 0xC0, 0x00,                             // program 0
            0x00, 0x90, 0x3C, 0x50,                       // note-on 60, velocity 80
            0x81, 0x70, 0x80, 0x3C, 0x40,                 // +240: note-off 60
            0x00, 0x90, 0x3E, 0x50,                       // +0: note-on 62
            0x81, 0x70, 0x80, 0x3E, 0x40,                 // +240: note-off 62
            0x00, 0xFF, 0x2F, 0x00,                       // end of track
        ];
        Assert.Equal(File(0, 480, track), bytes);
    }

    [Fact]
    public void TrackNameTempoProgramAndVelocityAreWritten()
    {
        var options = new MidiOptions { TrackName = "Bach ü", TempoBpm = 90, Program = 19, Velocity = 100, Channel = 3, StepsPerQuarter = 1 };
        byte[] bytes = MidiWriter.ToBytes(Roll([60]), options);
        byte[] name = [0x00, 0xFF, 0x03, 0x06, (byte)'B', (byte)'a', (byte)'c', (byte)'h', (byte)' ', (byte)'?'];
        Assert.Equal(name, bytes[22..32]);
        // 60e6 / 90 = 666667 = 0x0A2C2B
        Assert.Equal(new byte[] { 0x00, 0xFF, 0x51, 0x03, 0x0A, 0x2C, 0x2B }, bytes[32..39]);
        Assert.Equal(new byte[] { 0x00, 0xC3, 19 }, bytes[47..50]);
        Assert.Equal(new byte[] { 0x00, 0x93, 60, 100 }, bytes[50..54]);
        Assert.Equal(new byte[] { 0x83, 0x60, 0x83, 60, 64 }, bytes[54..59]); // +480 note-off on channel 3
        MidiSequence read = MidiReader.Parse(bytes);
        Assert.Equal(90, read.TempoBpm!.Value, 3);
        Assert.Equal(new MidiNote(60, 0, 480, 100, 3, 0), Assert.Single(read.Notes));
    }

    [Theory]
    [InlineData(0, new byte[] { 0x00 })]
    [InlineData(127, new byte[] { 0x7F })]
    [InlineData(128, new byte[] { 0x81, 0x00 })]
    [InlineData(0x3FFF, new byte[] { 0xFF, 0x7F })]
    [InlineData(0x4000, new byte[] { 0x81, 0x80, 0x00 })]
    [InlineData(0x1FFFFF, new byte[] { 0xFF, 0xFF, 0x7F })]
    [InlineData(0x200000, new byte[] { 0x81, 0x80, 0x80, 0x00 })]
    [InlineData(0x0FFFFFFF, new byte[] { 0xFF, 0xFF, 0xFF, 0x7F })]
    public void VariableLengthQuantitiesMatchTheSpecification(int value, byte[] expected)
    {
        Span<byte> buffer = stackalloc byte[4];
        int n = MidiWriter.EncodeVariableLength(value, buffer);
        Assert.Equal(expected, buffer[..n].ToArray());

        byte[] padded = [.. expected, 0x55];
        Assert.True(MidiReader.TryDecodeVariableLength(padded, out int decoded, out int length));
        Assert.Equal(value, decoded);
        Assert.Equal(expected.Length, length);
    }

    [Fact]
    public void VariableLengthQuantityRejectsOutOfRangeAndOverlongInput()
    {
        var buffer = new byte[4];
        Assert.Throws<ArgumentOutOfRangeException>(() => MidiWriter.EncodeVariableLength(-1, buffer));
        Assert.Throws<ArgumentOutOfRangeException>(() => MidiWriter.EncodeVariableLength(0x10000000, buffer));
        Assert.False(MidiReader.TryDecodeVariableLength([0x80, 0x80, 0x80, 0x80, 0x00], out _, out int overlong));
        Assert.Equal(5, overlong);
        Assert.False(MidiReader.TryDecodeVariableLength([0x81, 0x80], out _, out int truncated));
        Assert.True(truncated <= 4);
        Assert.False(MidiReader.TryDecodeVariableLength([], out _, out _));
    }

    // ------------------------------------------------------------------------------------------
    // Round trips
    // ------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(3)]
    public void RollRoundTripsThroughMidi(int stepsPerQuarter)
    {
        var options = new MidiOptions { StepsPerQuarter = stepsPerQuarter };
        MidiSequence read = MidiReader.Parse(MidiWriter.ToBytes(Chorale, options));
        Assert.Equal(0, read.Format);
        Assert.Equal(480, read.TicksPerQuarter);
        Assert.Equal(Chorale.Length * (480 / stepsPerQuarter), read.EndTick);
        AssertSameRoll(Chorale, read.ToPianoRoll(stepsPerQuarter)); // trailing rests included
    }

    [Fact]
    public void RandomRollsRoundTrip()
    {
        var rng = new Random(20240611);
        for (int trial = 0; trial < 20; trial++)
        {
            int length = rng.Next(0, 60);
            var steps = new int[length][];
            for (int t = 0; t < length; t++)
                steps[t] = Enumerable.Range(PianoRoll.LowestPitch, PianoRoll.Keys).Where(_ => rng.NextDouble() < 0.06).ToArray();
            PianoRoll roll = PianoRoll.FromPitches(steps);
            var options = new MidiOptions { StepsPerQuarter = 2, TicksPerQuarter = 96 };
            AssertSameRoll(roll, MidiReader.Parse(MidiWriter.ToBytes(roll, options)).ToPianoRoll(2));
        }
    }

    [Fact]
    public void EmptyRollWritesAValidFile()
    {
        MidiSequence read = MidiReader.Parse(MidiWriter.ToBytes(Roll()));
        Assert.Empty(read.Notes);
        Assert.Equal(0, read.EndTick);
        Assert.Equal(0, read.ToPianoRoll(2).Length);
    }

    [Fact]
    public void HeldNoteBecomesOneNote()
    {
        // 60 held over four steps; 64 struck on steps 0-1 and again on step 3 (a rest between).
        PianoRoll roll = Roll([60, 64], [60, 64], [60], [60, 64]);
        MidiSequence read = MidiReader.Parse(MidiWriter.ToBytes(roll, new MidiOptions { StepsPerQuarter = 2 }));
        Assert.Equal(
            [new MidiNote(60, 0, 960, 80, 0, 0), new MidiNote(64, 0, 480, 80, 0, 0), new MidiNote(64, 720, 960, 80, 0, 0)],
            read.Notes);
    }

    [Fact]
    public void FileRoundTripIsAtomicAndNamed()
    {
        string path = Path.Combine(_dir, "chorale.mid");
        MidiWriter.WriteFile(path, Chorale, new MidiOptions { StepsPerQuarter = 1 });
        AssertSameRoll(Chorale, MidiReader.ReadFile(path).ToPianoRoll(1));
        Assert.Single(Directory.GetFiles(_dir));

        System.IO.File.WriteAllBytes(path, [1, 2, 3]);
        GatedFormatException ex = Assert.Throws<GatedFormatException>(() => MidiReader.ReadFile(path));
        Assert.Equal(path, ex.FileName);
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void StreamRoundTrip()
    {
        using var stream = new MemoryStream();
        MidiWriter.Write(stream, Chorale);
        stream.Position = 0;
        AssertSameRoll(Chorale, MidiReader.Read(stream, "memory").ToPianoRoll(2));
    }

    [Fact]
    public void InvalidOptionsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => MidiWriter.ToBytes(Chorale, new MidiOptions { StepsPerQuarter = 7 }));
        Assert.Throws<ArgumentException>(() => MidiWriter.ToBytes(Chorale, new MidiOptions { StepsPerQuarter = 0 }));
        Assert.Throws<ArgumentException>(() => MidiWriter.ToBytes(Chorale, new MidiOptions { Velocity = 0 }));
        Assert.Throws<ArgumentException>(() => MidiWriter.ToBytes(Chorale, new MidiOptions { Velocity = 128 }));
        Assert.Throws<ArgumentException>(() => MidiWriter.ToBytes(Chorale, new MidiOptions { Program = 128 }));
        Assert.Throws<ArgumentException>(() => MidiWriter.ToBytes(Chorale, new MidiOptions { Channel = 16 }));
        Assert.Throws<ArgumentException>(() => MidiWriter.ToBytes(Chorale, new MidiOptions { TempoBpm = double.NaN }));
        Assert.Throws<ArgumentException>(() => MidiWriter.ToBytes(Chorale, new MidiOptions { TicksPerQuarter = 0x8000 }));
        Assert.Throws<ArgumentNullException>(() => MidiWriter.ToBytes(null!));
    }

    // ------------------------------------------------------------------------------------------
    // Reader: typical SMF features
    // ------------------------------------------------------------------------------------------

    [Fact]
    public void ReadsFormat1WithRunningStatusVelocityZeroOffsSysexAndUnknownChunks()
    {
        byte[] conductor =
        [
            0x00, 0xFF, 0x51, 0x03, 0x09, 0x27, 0xC0, // 600000 µs = 100 bpm
            0x00, 0xF0, 0x03, 0x7E, 0x7F, 0xF7,       // sysex, skipped
            0x00, 0xFF, 0x2F, 0x00,
        ];
        byte[] melody =
        [
            0x00, 0x91, 60, 90,        // channel 1 note-on 60
            0x00, 64, 70,              // running status: note-on 64
            0x60, 60, 0,               // +96: velocity 0 = note-off 60
            0x00, 0xB1, 7, 100,        // controller, skipped
            0x00, 0xFF, 0x01, 0x02, (byte)'h', (byte)'i', // text meta, running status kept across it
            0x60, 64, 0,               // +96: running status is now 0xB1: controller 64 = 0, skipped
            0x00, 0x81, 64, 0,         // note-off 64
            0x00, 0xC1, 5,             // program change: one data byte
            0x30, 0x99, 36, 100,       // +48: percussion on channel 9, never ended: ends with the track
            0x30, 0xFF, 0x2F, 0x00,    // +48: end of track at 288
            0x12, 0x34,                // junk after the end of track is ignored
        ];
        byte[] bytes = File(1, 96, conductor, melody);
        // An unknown chunk between the tracks is skipped.
        byte[] withAlien = [.. bytes[..(14 + 8 + conductor.Length)], .. "XYZW"u8.ToArray(), 0, 0, 0, 2, 9, 9, .. bytes[(14 + 8 + conductor.Length)..]];

        foreach (byte[] file in new[] { bytes, withAlien })
        {
            MidiSequence read = MidiReader.Parse(file, "format1.mid");
            Assert.Equal(1, read.Format);
            Assert.Equal(96, read.TicksPerQuarter);
            Assert.Equal(100, read.TempoBpm!.Value, 6);
            Assert.Equal(288, read.EndTick);
            Assert.Equal(
                [new MidiNote(60, 0, 96, 90, 1, 1), new MidiNote(64, 0, 192, 70, 1, 1), new MidiNote(36, 240, 288, 100, 9, 1)],
                read.Notes);

            PianoRoll roll = read.ToPianoRoll(1); // percussion left out
            Assert.Equal(3, roll.Length);
            Assert.Equal(new[] { 60, 64 }, roll.PitchesAt(0));
            Assert.Equal(new[] { 64 }, roll.PitchesAt(1));
            Assert.Empty(roll.PitchesAt(2));
        }
    }

    [Fact]
    public void QuantisationRoundsToTheNearestStepAndKeepsShortNotes()
    {
        var seq = new MidiSequence(0, 480,
        [
            new MidiNote(60, 230, 490, 80, 0, 0),  // ≈ steps 1..2 at 240 ticks per step
            new MidiNote(62, 700, 710, 80, 0, 0),  // very short: still one step
            new MidiNote(10, 0, 480, 80, 0, 0),    // below the piano: left out
            new MidiNote(64, 0, 0, 80, 0, 0),      // zero length at 0: one step
        ], endTick: 1000);
        PianoRoll roll = seq.ToPianoRoll(2);
        Assert.Equal(4, roll.Length);               // round(1000/240) = 4
        Assert.Equal(new[] { 64 }, roll.PitchesAt(0));
        Assert.Equal(new[] { 60 }, roll.PitchesAt(1));
        Assert.Empty(roll.PitchesAt(2));
        Assert.Equal(new[] { 62 }, roll.PitchesAt(3));
    }

    [Fact]
    public void RepeatedNoteOnEndsTheSoundingNote()
    {
        byte[] track = [0x00, 0x90, 60, 80, 0x10, 0x90, 60, 81, 0x10, 0x80, 60, 0, 0x00, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0x00];
        MidiSequence read = MidiReader.Parse(File(0, 96, track));
        Assert.Equal([new MidiNote(60, 0, 16, 80, 0, 0), new MidiNote(60, 16, 32, 81, 0, 0)], read.Notes);
    }

    [Fact]
    public void TrackWithoutEndOfTrackEndsAtItsLastEvent()
    {
        byte[] track = [0x00, 0x90, 60, 80, 0x20, 0x80, 60, 0];
        MidiSequence read = MidiReader.Parse(File(0, 96, track));
        Assert.Equal(32, read.EndTick);
        Assert.Single(read.Notes);
    }

    [Fact]
    public void HugeSequenceIsRefusedBeforeAllocating()
    {
        byte[] track = [0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0x2F, 0x00];
        MidiSequence read = MidiReader.Parse(File(0, 1, track));
        Assert.Equal(0x0FFFFFFF, read.EndTick);
        Assert.Throws<GatedFormatException>(() => read.ToPianoRoll(4));
        Assert.Throws<GatedFormatException>(() => read.ToPianoRoll(1, maxSteps: 1000));
    }

    // ------------------------------------------------------------------------------------------
    // Reader: malformed input
    // ------------------------------------------------------------------------------------------

    public static TheoryData<string, byte[]> Malformed()
    {
        byte[] eot = [0x00, 0xFF, 0x2F, 0x00];
        byte[] Valid(params byte[] track) => File(0, 96, track);
        var data = new TheoryData<string, byte[]>
        {
            { "empty", [] },
            { "not MThd", "RIFF\0\0\0\x06\0\0\0\x01\0\x60"u8.ToArray() },
            { "short header", "MThd\0\0\0\x06\0\0"u8.ToArray() },
            { "header length 5", [.. "MThd"u8.ToArray(), 0, 0, 0, 5, 0, 0, 0, 1, 0, 96] },
            { "header length beyond file", [.. "MThd"u8.ToArray(), 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1, 0, 96] },
            { "format 3", FileWithCount(3, 1, 96, eot) },
            { "SMPTE division", FileWithCount(0, 1, 0xE728, eot) },
            { "division 0", FileWithCount(0, 1, 0, eot) },
            { "missing track", FileWithCount(1, 2, 96, eot) },
            { "second track header cut", [.. FileWithCount(1, 2, 96, eot), .. "MTr"u8.ToArray()] },
            { "track length beyond file", [.. Valid(eot)[..18], 0x7F, 0xFF, 0xFF, 0xFF, .. eot] },
            { "delta of five bytes", Valid(0x80, 0x80, 0x80, 0x80, 0x00, 0x90, 60, 80) },
            { "track ends inside delta", Valid(0x00, 0x90, 60, 80, 0x81) },
            { "track ends after delta", Valid(0x00, 0x90, 60, 80, 0x00) },
            { "data byte without status", Valid(0x00, 60, 80) },
            { "status F1", Valid(0x00, 0xF1, 0x00) },
            { "realtime FE", Valid(0x00, 0xFE) },
            { "channel message cut", Valid(0x00, 0x90, 60) },
            { "status in data", Valid(0x00, 0x90, 0x90, 80) },
            { "meta type cut", Valid(0x00, 0xFF) },
            { "meta length beyond track", Valid(0x00, 0xFF, 0x01, 0x10, 0x41) },
            { "meta length of five bytes", Valid(0x00, 0xFF, 0x01, 0x80, 0x80, 0x80, 0x80, 0x00) },
            { "sysex length beyond track", Valid(0x00, 0xF0, 0x7F, 0x00) },
        };
        return data;
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedInputThrowsGatedFormatExceptionWithAnOffset(string name, byte[] bytes)
    {
        GatedFormatException ex = Assert.Throws<GatedFormatException>(() => MidiReader.Parse(bytes, name));
        Assert.StartsWith(name + ": At byte ", ex.Message);
        Assert.Equal(name, ex.FileName);
    }

    [Fact]
    public void ManyEmptyTracksAreReadQuickly()
    {
        byte[][] tracks = Enumerable.Range(0, 65535).Select(_ => Array.Empty<byte>()).ToArray();
        var stopwatch = Stopwatch.StartNew();
        MidiSequence read = MidiReader.Parse(File(1, 96, tracks));
        Assert.Empty(read.Notes);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(2), $"{stopwatch.Elapsed}");
    }

    [Fact]
    public void InvalidOptionsStillPrint()
    {
        var options = new MidiOptions { StepsPerQuarter = 0 };
        Assert.Contains("StepsPerQuarter = 0", options.ToString());
        Assert.Equal(0, options.TicksPerStep);
        Assert.Equal(240, new MidiOptions().TicksPerStep);
    }

    [Fact]
    public void OversizedStreamIsRefused()
    {
        using var stream = new EndlessZeros(MidiReader.MaxFileLength + 1L);
        Assert.Throws<GatedFormatException>(() => MidiReader.Read(stream));
        Assert.Equal(0, stream.Position); // refused from its length, before reading
        Assert.Throws<GatedFormatException>(() => MidiReader.Parse(new byte[MidiReader.MaxFileLength + 1]));
    }

    /// <summary>A seekable stream of zeros that claims a length without holding the bytes.</summary>
    private sealed class EndlessZeros(long length) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get; set; }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = (int)Math.Min(count, length - Position);
            Array.Clear(buffer, offset, n);
            Position += n;
            return n;
        }
    }

    [Fact]
    public void MutationFuzzOnlyEverThrowsGatedFormatException()
    {
        byte[] written = MidiWriter.ToBytes(Roll([60, 64], [60, 64, 67], [], [62], [62, 65]), new MidiOptions { TicksPerQuarter = 96 });
        byte[] handMade = File(1, 96,
            [0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20, 0x00, 0xF0, 0x02, 0x7E, 0xF7, 0x00, 0xFF, 0x2F, 0x00],
            [0x00, 0x91, 60, 90, 0x00, 64, 70, 0x60, 60, 0, 0x00, 0xC1, 5, 0x81, 0x00, 0x81, 64, 0, 0x00, 0xFF, 0x2F, 0x00]);
        byte[][] seeds = [written, handMade];
        var rng = new Random(1234567);
        var stopwatch = Stopwatch.StartNew();
        int parsed = 0, rejected = 0;
        for (int i = 0; i < 4000; i++)
        {
            byte[] seed = seeds[i % seeds.Length];
            var bytes = new List<byte>(seed);
            int mutations = 1 + rng.Next(4);
            for (int m = 0; m < mutations; m++)
            {
                int pos = bytes.Count == 0 ? 0 : rng.Next(bytes.Count);
                switch (rng.Next(6))
                {
                    case 0 when bytes.Count > 0: bytes[pos] = (byte)rng.Next(256); break;
                    case 1 when bytes.Count > 0: bytes[pos] ^= (byte)(1 << rng.Next(8)); break;
                    case 2: bytes.Insert(pos, (byte)rng.Next(256)); break;
                    case 3 when bytes.Count > 0: bytes.RemoveAt(pos); break;
                    case 4: bytes.RemoveRange(pos, bytes.Count - pos); break;
                    default:
                        byte[] interesting = [0x00, 0x7F, 0x80, 0xFF, 0xF0, 0xF7, 0x2F];
                        if (bytes.Count > 0) bytes[pos] = interesting[rng.Next(interesting.Length)];
                        break;
                }
            }
            try
            {
                MidiSequence seq = MidiReader.Parse(bytes.ToArray(), "fuzz");
                seq.ToPianoRoll(1 + rng.Next(4), maxSteps: 100_000);
                parsed++;
            }
            catch (GatedFormatException)
            {
                rejected++;
            }
        }
        Assert.True(parsed > 0 && rejected > 0, $"parsed {parsed}, rejected {rejected}");
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"The fuzz took {stopwatch.Elapsed}.");
    }
}
