using System.Text;
using System.Text.Json;
using Gated.IO;

namespace Gated.Data;

/// <summary>
/// A polyphonic-music benchmark (JSB Chorales, Nottingham, MuseData, Piano-midi.de; Boulanger-Lewandowski
/// et al. 2012) as three lists of <see cref="PianoRoll"/>s: train, valid and test.
/// </summary>
/// <remarks>
/// <para>The JSON format is <c>{"train":[seq,…],"valid":[…],"test":[…]}</c>: a sequence is a list
/// of time steps, a time step a list of the MIDI pitches (integers 21..108) sounding at it, <c>[]</c>
/// for a rest. Any key order is accepted.</para>
/// <para>The reader treats its input as hostile and throws <see cref="GatedFormatException"/>, and no
/// other exception type, for anything else: not UTF-8 JSON, trailing data, nesting deeper than
/// four levels, a missing, repeated or unknown key, an empty split, a sequence with no steps, a
/// value that is not a list where a list belongs, a pitch that is not an integer in 21..108, or a
/// pitch repeated within a step. The message names the file, the split, the sequence and step
/// indices (0-based) and the offending value. Files larger than <see cref="MaxFileLength"/> are
/// refused before they are read.</para>
/// </remarks>
public sealed class PianoRollDataset
{
    /// <summary>The largest file <see cref="Load"/> accepts: 64 MiB (the largest benchmark is under 5 MB).</summary>
    public const long MaxFileLength = 64L << 20;

    /// <summary>Root object, split list, sequence list, step list.</summary>
    private const int MaxDepth = 4;

    private const int MaxValueTextLength = 40;

    private static readonly string[] SplitNames = ["train", "valid", "test"];

    /// <summary>Creates a dataset from given splits (for synthetic data and tests).</summary>
    /// <param name="train">The training sequences.</param>
    /// <param name="valid">The validation sequences.</param>
    /// <param name="test">The test sequences.</param>
    /// <param name="sourceName">Where the data came from, for messages; null when unknown.</param>
    public PianoRollDataset(IReadOnlyList<PianoRoll> train, IReadOnlyList<PianoRoll> valid, IReadOnlyList<PianoRoll> test, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(valid);
        ArgumentNullException.ThrowIfNull(test);
        Train = train;
        Valid = valid;
        Test = test;
        SourceName = sourceName;
    }

    /// <summary>The training sequences, in file order.</summary>
    public IReadOnlyList<PianoRoll> Train { get; }

    /// <summary>The validation sequences, in file order.</summary>
    public IReadOnlyList<PianoRoll> Valid { get; }

    /// <summary>The test sequences, in file order.</summary>
    public IReadOnlyList<PianoRoll> Test { get; }

    /// <summary>The file path (or other name) the data was read from, when known.</summary>
    public string? SourceName { get; }

    /// <summary>Reads a dataset from a JSON file.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="GatedFormatException">The file is not a valid dataset; the message says where and why.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    public static PianoRollDataset Load(string path)
    {
        byte[] bytes = BoundedFile.ReadAllBytes(path, MaxFileLength, "a dataset");
        return Parse(bytes, path);
    }

    /// <summary>Reads a dataset from UTF-8 JSON bytes.</summary>
    /// <param name="utf8Json">The content of a dataset file (a UTF-8 byte-order mark is skipped).</param>
    /// <param name="sourceName">A name for the input in error messages, e.g. its path; null for none.</param>
    /// <exception cref="GatedFormatException">The bytes are not a valid dataset; the message says where and why.</exception>
    public static PianoRollDataset Parse(ReadOnlySpan<byte> utf8Json, string? sourceName = null)
    {
        if (utf8Json.StartsWith("\uFEFF"u8)) utf8Json = utf8Json[3..];
        if (utf8Json.IndexOfAnyExcept(" \t\r\n"u8) < 0)
            throw new GatedFormatException(sourceName, "the file is empty; expected a JSON object with the keys \"train\", \"valid\" and \"test\".");
        var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions
        {
            MaxDepth = MaxDepth,
            CommentHandling = JsonCommentHandling.Disallow,
            AllowTrailingCommas = false,
        });
        var splits = new List<PianoRoll>?[SplitNames.Length];
        var scratch = new List<ulong>();
        try
        {
            Next(ref reader, sourceName);
            if (reader.TokenType != JsonTokenType.StartObject)
                throw Error(sourceName, ref reader, $"the top level must be a JSON object with the keys \"train\", \"valid\" and \"test\", got {Describe(ref reader)}.");
            while (Next(ref reader, sourceName) != JsonTokenType.EndObject)
            {
                // Inside an object the reader only yields property names here.
                int index = -1;
                for (int i = 0; i < SplitNames.Length && index < 0; i++)
                    if (KeyEquals(ref reader, sourceName, SplitNames[i])) index = i;
                if (index < 0)
                    throw Error(sourceName, ref reader, $"unknown key \"{ValueText(ref reader)}\"; a dataset has exactly the keys \"train\", \"valid\" and \"test\".");
                if (splits[index] is not null)
                    throw Error(sourceName, ref reader, $"the key \"{SplitNames[index]}\" appears twice.");
                splits[index] = ReadSplit(ref reader, sourceName, SplitNames[index], scratch);
            }
            if (reader.Read())
                throw Error(sourceName, ref reader, $"unexpected {Describe(ref reader)} after the end of the dataset object.");
        }
        catch (JsonException ex)
        {
            throw new GatedFormatException(sourceName, $"not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1} of that line): {FirstSentence(ex.Message)}");
        }
        for (int i = 0; i < SplitNames.Length; i++)
            if (splits[i] is null)
                throw new GatedFormatException(sourceName, $"the key \"{SplitNames[i]}\" is missing; a dataset has the keys \"train\", \"valid\" and \"test\".");
        return new PianoRollDataset(splits[0]!.AsReadOnly(), splits[1]!.AsReadOnly(), splits[2]!.AsReadOnly(), sourceName);
    }

    /// <inheritdoc/>
    public override string ToString() => $"PianoRollDataset({SourceName ?? "in memory"}: {Train.Count}/{Valid.Count}/{Test.Count} sequences)";

    private static List<PianoRoll> ReadSplit(ref Utf8JsonReader reader, string? source, string split, List<ulong> words)
    {
        if (Next(ref reader, source) != JsonTokenType.StartArray)
            throw Error(source, ref reader, $"\"{split}\" must be a list of sequences, got {Describe(ref reader)}.");
        var sequences = new List<PianoRoll>();
        while (Next(ref reader, source) != JsonTokenType.EndArray)
        {
            int sequence = sequences.Count;
            if (reader.TokenType != JsonTokenType.StartArray)
                throw Error(source, ref reader, $"{split}, sequence {sequence}: a sequence must be a list of time steps, got {Describe(ref reader)}.");
            words.Clear();
            while (Next(ref reader, source) != JsonTokenType.EndArray)
            {
                int step = words.Count / PianoRoll.WordsPerStep;
                if (reader.TokenType != JsonTokenType.StartArray)
                    throw Error(source, ref reader, $"{split}, sequence {sequence}, step {step}: a time step must be a list of MIDI pitches, got {Describe(ref reader)}.");
                ulong low = 0, high = 0;
                while (Next(ref reader, source) != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out int pitch)
                        || pitch < PianoRoll.LowestPitch || pitch > PianoRoll.HighestPitch)
                        throw Error(source, ref reader, $"{split}, sequence {sequence}, step {step}: {Describe(ref reader)} is not a MIDI pitch (an integer in {PianoRoll.LowestPitch}..{PianoRoll.HighestPitch}).");
                    if (!PianoRoll.TrySet(ref low, ref high, pitch - PianoRoll.LowestPitch))
                        throw Error(source, ref reader, $"{split}, sequence {sequence}, step {step}: pitch {pitch} appears twice.");
                }
                words.Add(low);
                words.Add(high);
            }
            if (words.Count == 0)
                throw Error(source, ref reader, $"{split}, sequence {sequence}: the sequence has no time steps.");
            sequences.Add(new PianoRoll(words.ToArray()));
        }
        if (sequences.Count == 0)
            throw Error(source, ref reader, $"the split \"{split}\" has no sequences.");
        return sequences;
    }

    /// <summary>Whether the current key is <paramref name="name"/>; a key with a lone surrogate escape (<c>\ud800</c>), which the reader accepts but cannot unescape, is an error.</summary>
    private static bool KeyEquals(ref Utf8JsonReader reader, string? source, string name)
    {
        try
        {
            return reader.ValueTextEquals(name);
        }
        catch (InvalidOperationException)
        {
            throw Error(source, ref reader, $"the key \"{ValueText(ref reader)}\" is not valid text (it escapes half of a UTF-16 surrogate pair).");
        }
    }

    /// <summary>Reads the next token; running out of input inside the dataset object is an error.</summary>
    private static JsonTokenType Next(ref Utf8JsonReader reader, string? source)
    {
        if (!reader.Read())
            throw new GatedFormatException(source, "the file ends before the dataset object is complete (truncated?).");
        return reader.TokenType;
    }

    private static GatedFormatException Error(string? source, ref Utf8JsonReader reader, string message) =>
        new(source, $"{message} (at byte {reader.TokenStartIndex})");

    /// <summary>A token in words for a message: <c>109</c>, <c>the string "C4"</c>, <c>an object</c>, …</summary>
    private static string Describe(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.Number => ValueText(ref reader),
        JsonTokenType.String => $"the string \"{ValueText(ref reader)}\"",
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        JsonTokenType.Null => "null",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "a list",
        JsonTokenType.EndArray => "the end of a list",
        JsonTokenType.EndObject => "the end of an object",
        JsonTokenType.PropertyName => $"the key \"{ValueText(ref reader)}\"",
        _ => reader.TokenType.ToString(),
    };

    /// <summary>The raw text of a token, invalid UTF-8 replaced, control characters escaped, shortened.</summary>
    private static string ValueText(ref Utf8JsonReader reader)
    {
        ReadOnlySpan<byte> raw = reader.ValueSpan;
        bool truncated = raw.Length > 4 * MaxValueTextLength;
        string text = Encoding.UTF8.GetString(truncated ? raw[..(4 * MaxValueTextLength)] : raw);
        var sb = new StringBuilder();
        foreach (char c in text)
        {
            if (sb.Length >= MaxValueTextLength) { truncated = true; break; }
            if (char.IsControl(c) || c is '\u2028' or '\u2029') sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            else sb.Append(c);
        }
        if (truncated) sb.Append('…');
        return sb.ToString();
    }

    /// <summary>System.Text.Json's messages end with a position suffix we already give in our own words.</summary>
    private static string FirstSentence(string message)
    {
        int cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (cut >= 0 ? message[..cut] : message).Trim();
    }
}
