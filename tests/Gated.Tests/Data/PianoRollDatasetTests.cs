using System.Text;
using Gated.Data;
using Gated.IO;

namespace Gated.Tests.Data;

/// <summary>
/// Finds the shared polyphonic data folder: <c>$GATED_DATA</c> when set, else <c>shared/data/polyphonic</c>
/// next to the repository root (the first ancestor of the test binaries holding <c>Gated.slnx</c>).
/// </summary>
internal static class PolyphonicData
{
    public static readonly string? Directory = Find();

    public static string SkipReason =>
        "The polyphonic data sets were not found: set GATED_DATA or put them in shared/data/polyphonic next to the repository root.";

    public static string PathOf(string file) => System.IO.Path.Combine(Directory!, file);

    private static string? Find()
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable("GATED_DATA");
        if (!string.IsNullOrEmpty(fromEnvironment) && File.Exists(System.IO.Path.Combine(fromEnvironment, "jsb.json"))) return fromEnvironment;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(System.IO.Path.Combine(dir.FullName, "Gated.slnx"))) continue;
            if (dir.Parent is null) return null;
            string candidate = System.IO.Path.Combine(dir.Parent.FullName, "shared", "data", "polyphonic");
            return File.Exists(System.IO.Path.Combine(candidate, "jsb.json")) ? candidate : null;
        }
        return null;
    }
}

/// <summary>A fact that is reported as skipped, with the reason, when the shared data sets are absent.</summary>
public sealed class PolyphonicDataFactAttribute : FactAttribute
{
    public PolyphonicDataFactAttribute()
    {
        if (PolyphonicData.Directory is null) Skip = PolyphonicData.SkipReason;
    }
}

/// <summary>A theory that is reported as skipped, with the reason, when the shared data sets are absent.</summary>
public sealed class PolyphonicDataTheoryAttribute : TheoryAttribute
{
    public PolyphonicDataTheoryAttribute()
    {
        if (PolyphonicData.Directory is null) Skip = PolyphonicData.SkipReason;
    }
}

public sealed class PianoRollDatasetTests
{
    // The README's statistics table: sequences, steps, notes, pitch min–max, empty steps, max notes/step, length min–max.
    [PolyphonicDataTheory]
    [InlineData("jsb.json", "train", 229, 13807, 53824, 43, 96, 18, 4, 25, 129)]
    [InlineData("jsb.json", "valid", 76, 4602, 17811, 48, 96, 29, 4, 32, 144)]
    [InlineData("jsb.json", "test", 77, 4725, 18367, 45, 96, 17, 4, 32, 160)]
    [InlineData("nottingham.json", "train", 694, 176561, 699403, 31, 93, 487, 9, 40, 1788)]
    [InlineData("nottingham.json", "valid", 173, 45513, 180192, 34, 91, 51, 8, 96, 1473)]
    [InlineData("nottingham.json", "test", 170, 44463, 177421, 36, 89, 19, 9, 63, 1793)]
    [InlineData("musedata.json", "train", 524, 245202, 856543, 21, 96, 12962, 14, 9, 3457)]
    [InlineData("musedata.json", "valid", 135, 82755, 287893, 21, 100, 4412, 15, 63, 3723)]
    [InlineData("musedata.json", "test", 124, 64339, 211857, 21, 105, 5042, 14, 45, 4273)]
    [InlineData("piano-midi.json", "train", 87, 75911, 231089, 21, 108, 4917, 12, 111, 3857)]
    [InlineData("piano-midi.json", "valid", 12, 8540, 27623, 24, 104, 251, 11, 209, 1637)]
    [InlineData("piano-midi.json", "test", 25, 19036, 56067, 21, 108, 652, 10, 65, 2645)]
    public void StatisticsMatchTheReadme(string file, string split, int sequences, long steps, long notes,
        int minPitch, int maxPitch, long emptySteps, int maxNotes, int minLength, int maxLength)
    {
        var dataset = Cached(file);
        var rolls = split switch { "train" => dataset.Train, "valid" => dataset.Valid, _ => dataset.Test };
        var stats = SplitStatistics.Of(rolls);
        Assert.Equal(new SplitStatistics(sequences, steps, notes, emptySteps, maxNotes, minLength, maxLength, minPitch, maxPitch), stats);
    }

    [PolyphonicDataFact]
    public void JsbContentMatchesTheFile()
    {
        var jsb = Cached("jsb.json");
        Assert.Equal(PolyphonicData.PathOf("jsb.json"), jsb.SourceName);
        var first = jsb.Train[0];
        Assert.Equal(129, first.Length);
        Assert.Equal([60, 72, 79, 88], first.PitchesAt(0));
        Assert.Equal([72, 79, 88], first.PitchesAt(1));
        Assert.Equal([48, 67, 76, 84], first.PitchesAt(128));
        Assert.True(first[0, 60 - 21]);
        Assert.False(first[0, 61 - 21]);
        var last = jsb.Test[^1];
        Assert.Equal(73, last.Length);
        Assert.Equal([60, 79, 84, 87], last.PitchesAt(5));

        var row = new float[PianoRoll.Keys];
        first.CopyStepTo(0, row.AsSpan());
        for (int key = 0; key < PianoRoll.Keys; key++)
            Assert.Equal(key is 39 or 51 or 58 or 67 ? 1f : 0f, row[key]);
        Assert.Equal(3.898, SplitStatistics.Of(jsb.Train).MeanNotesPerStep, 3);
    }

    [Fact]
    public void ParsesASmallDocumentInAnyKeyOrder()
    {
        var d = Parse("""{"test":[[[21,108],[]]],"train":[[[60,64,67],[62]],[[40]]],"valid":[[[50]]]}""");
        Assert.Equal(2, d.Train.Count);
        Assert.Single(d.Valid);
        Assert.Single(d.Test);
        Assert.Equal([60, 64, 67], d.Train[0].PitchesAt(0));
        Assert.Equal([62], d.Train[0].PitchesAt(1));
        Assert.Equal([21, 108], d.Test[0].PitchesAt(0));
        Assert.Empty(d.Test[0].PitchesAt(1));
        Assert.Equal(2, d.Test[0].Length);
        Assert.Equal(new SplitStatistics(2, 3, 5, 0, 3, 1, 2, 40, 67), SplitStatistics.Of(d.Train));
        Assert.True(d.Test[0][0, 0]);
        Assert.True(d.Test[0][0, 87]);
        Assert.Throws<ArgumentOutOfRangeException>(() => d.Test[0][2, 0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => d.Test[0][0, 88]);
    }

    [Fact]
    public void AcceptsUnsortedPitchesWhitespaceAndAByteOrderMark()
    {
        byte[] bytes = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(" {\n \"train\" : [ [ [ 67 , 60 ] ] ],\"valid\":[[[60]]],\"test\":[[[60]]] }\n ")];
        var d = PianoRollDataset.Parse(bytes, "bom.json");
        Assert.Equal([60, 67], d.Train[0].PitchesAt(0));
    }

    public static TheoryData<string, string> Malformed() => new()
    {
        { "", "the file is empty" },
        { "   ", "the file is empty" },
        { "[]", "the top level must be a JSON object" },
        { "42", "the top level must be a JSON object" },
        { """{"train":[[[60]]],"valid":[[[60]]]}""", "the key \"test\" is missing" },
        { """{"train":[[[60]]],"valid":[[[60]]],"test":[[[60]]],"extra":[]}""", "unknown key \"extra\"" },
        { """{"train":[[[60]]],"train":[[[60]]],"valid":[[[60]]],"test":[[[60]]]}""", "the key \"train\" appears twice" },
        { """{"train":[[[60]]],"valid":[],"test":[[[60]]]}""", "the split \"valid\" has no sequences" },
        { """{"train":{},"valid":[[[60]]],"test":[[[60]]]}""", "\"train\" must be a list of sequences, got an object" },
        { """{"train":[[[60]]],"valid":[[[60]]],"test":[[[60]],[[61],[109]]]}""", "test, sequence 1, step 1: 109 is not a MIDI pitch (an integer in 21..108)" },
        { """{"train":[[[20]]],"valid":[[[60]]],"test":[[[60]]]}""", "train, sequence 0, step 0: 20 is not a MIDI pitch" },
        { """{"train":[[[60],[60.5]]],"valid":[[[60]]],"test":[[[60]]]}""", "train, sequence 0, step 1: 60.5 is not a MIDI pitch" },
        { """{"train":[[[6e1]]],"valid":[[[60]]],"test":[[[60]]]}""", "6e1 is not a MIDI pitch" },
        { """{"train":[[[99999999999999999999]]],"valid":[[[60]]],"test":[[[60]]]}""", "99999999999999999999 is not a MIDI pitch" },
        { """{"train":[[[-60]]],"valid":[[[60]]],"test":[[[60]]]}""", "-60 is not a MIDI pitch" },
        { """{"train":[[["60"]]],"valid":[[[60]]],"test":[[[60]]]}""", "the string \"60\" is not a MIDI pitch" },
        { """{"train":[[[null]]],"valid":[[[60]]],"test":[[[60]]]}""", "null is not a MIDI pitch" },
        { """{"train":[[[true]]],"valid":[[[60]]],"test":[[[60]]]}""", "true is not a MIDI pitch" },
        { """{"train":[[[60,60]]],"valid":[[[60]]],"test":[[[60]]]}""", "train, sequence 0, step 0: pitch 60 appears twice" },
        { """{"train":[[60]],"valid":[[[60]]],"test":[[[60]]]}""", "train, sequence 0, step 0: a time step must be a list of MIDI pitches, got 60" },
        { """{"train":[60],"valid":[[[60]]],"test":[[[60]]]}""", "train, sequence 0: a sequence must be a list of time steps, got 60" },
        { """{"train":[[[60]],[]],"valid":[[[60]]],"test":[[[60]]]}""", "train, sequence 1: the sequence has no time steps" },
        { """{"train":[[[[60]]]],"valid":[[[60]]],"test":[[[60]]]}""", "not valid JSON" },
        { """{"train":[[[60]]],"valid":[[[60]]],"test":[[[60]]""", "not valid JSON" },
        { """{"train":[[[60]]],"valid":[[[60]]],"test":[[[60]]]} x""", "not valid JSON" },
        { """{"train":[[[60]]],"valid":[[[60]]],"test":[[[60]]]}{}""", "not valid JSON" },
        { """{"train":[[[60,]]],"valid":[[[60]]],"test":[[[60]]]}""", "not valid JSON" },
        { """{"train":[[[60]]],/* c */"valid":[[[60]]],"test":[[[60]]]}""", "not valid JSON" },
        { """{'train':[[[60]]]}""", "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedInputThrowsAClearFormatException(string json, string expected)
    {
        var ex = Assert.Throws<GatedFormatException>(() => PianoRollDataset.Parse(Encoding.UTF8.GetBytes(json), "bad.json"));
        Assert.StartsWith("bad.json: ", ex.Message);
        Assert.Contains(expected, ex.Message);
        Assert.Equal("bad.json", ex.FileName);
    }

    [Fact]
    public void DeepNestingIsRefusedWithoutRecursion()
    {
        string json = "{\"train\":" + new string('[', 100_000) + new string(']', 100_000) + "}";
        var ex = Assert.Throws<GatedFormatException>(() => PianoRollDataset.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.Contains("depth", ex.Message);
    }

    [Fact]
    public void InvalidUtf8InAKeyIsAFormatError()
    {
        byte[] bytes = [.. "{\""u8, 0xC3, 0x28, .. "\":[]}"u8];
        Assert.Throws<GatedFormatException>(() => PianoRollDataset.Parse(bytes));
    }

    [Fact]
    public void LongValuesAreShortenedInMessages()
    {
        string json = "{\"train\":[[[\"" + new string('x', 10_000) + "\"]]],\"valid\":[[[60]]],\"test\":[[[60]]]}";
        var ex = Assert.Throws<GatedFormatException>(() => PianoRollDataset.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.True(ex.Message.Length < 300, ex.Message);
        Assert.Contains("…", ex.Message);
    }

    [Fact]
    public void RandomCorruptionsOnlyEverThrowFormatExceptions()
    {
        byte[] valid = Encoding.UTF8.GetBytes("""{"train":[[[60,64,67],[62],[]],[[40,41]]],"valid":[[[50],[51]]],"test":[[[21,108]]]}""");
        var random = new Random(7);
        byte[] alphabet = "{}[],:\"0123456789-.e trainvalidtest"u8.ToArray();
        for (int trial = 0; trial < 5000; trial++)
        {
            byte[] bytes = (byte[])valid.Clone();
            int edits = 1 + random.Next(3);
            for (int e = 0; e < edits; e++)
            {
                int at = random.Next(bytes.Length);
                bytes[at] = random.Next(4) == 0 ? (byte)random.Next(256) : alphabet[random.Next(alphabet.Length)];
            }
            if (random.Next(5) == 0) bytes = bytes[..random.Next(bytes.Length)];
            try
            {
                var d = PianoRollDataset.Parse(bytes);
                Assert.NotEmpty(d.Train);
                Assert.NotEmpty(d.Valid);
                Assert.NotEmpty(d.Test);
            }
            catch (GatedFormatException)
            {
            }
        }
    }

    [Fact]
    public void LoadNamesTheFileAndRefusesHugeFiles()
    {
        string dir = Directory.CreateTempSubdirectory("gated-data-").FullName;
        try
        {
            string bad = Path.Combine(dir, "bad.json");
            File.WriteAllText(bad, """{"train":[[[60]]],"valid":[[[60]]],"test":[[[200]]]}""");
            var ex = Assert.Throws<GatedFormatException>(() => PianoRollDataset.Load(bad));
            Assert.StartsWith(bad + ": test, sequence 0, step 0: 200 is not a MIDI pitch", ex.Message);

            string huge = Path.Combine(dir, "huge.json");
            using (var f = File.Create(huge)) f.SetLength(PianoRollDataset.MaxFileLength + 1);
            var tooBig = Assert.Throws<GatedFormatException>(() => PianoRollDataset.Load(huge));
            Assert.Contains("more than", tooBig.Message);

            Assert.Throws<FileNotFoundException>(() => PianoRollDataset.Load(Path.Combine(dir, "missing.json")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void FromPitchesValidates()
    {
        var roll = PianoRoll.FromPitches([[60, 64], [], [108]]);
        Assert.Equal(3, roll.Length);
        Assert.Equal(3, roll.NoteCount);
        Assert.Equal(0, roll.NotesAt(1));
        Assert.Throws<ArgumentException>(() => PianoRoll.FromPitches([[60, 60]]));
        Assert.Throws<ArgumentException>(() => PianoRoll.FromPitches([[109]]));
        Assert.Throws<ArgumentException>(() => PianoRoll.FromPitches([[20]]));
    }

    private static PianoRollDataset Parse(string json) => PianoRollDataset.Parse(Encoding.UTF8.GetBytes(json), "test.json");

    private static readonly Dictionary<string, PianoRollDataset> cache = [];

    private static PianoRollDataset Cached(string file)
    {
        lock (cache)
        {
            if (!cache.TryGetValue(file, out var d)) cache[file] = d = PianoRollDataset.Load(PolyphonicData.PathOf(file));
            return d;
        }
    }
}
