using System.Numerics;
using Gated.IO;
using Gated.IO.Pickle;

namespace Gated.Data;

/// <summary>
/// Reads polyphonic-music piano rolls from Python pickles in the layout of the original
/// Boulanger-Lewandowski et al. (2012) files: a dict with the keys <c>'train'</c>, <c>'valid'</c>
/// and <c>'test'</c>, each a list of sequences, each sequence a list of time steps, each time step
/// a tuple or list of the MIDI pitches sounding at it (plain ints or numpy integer scalars, or a
/// 1-D numpy integer array).
/// </summary>
/// <remarks>
/// <para>The pickle is read by <see cref="PickleReader"/>, which runs no code: the numpy scalars
/// of such files (<c>numpy.core.multiarray.scalar</c> with a <c>numpy.dtype</c>) are decoded as
/// data. The layout is checked as strictly as <see cref="PianoRollDataset"/> checks JSON: exactly
/// the three keys, no empty split or sequence, every pitch an integer in 21..108 and none repeated
/// within a step. Any violation throws <see cref="GatedFormatException"/> naming the file, the
/// split, the sequence and step (0-based) and the value.</para>
/// </remarks>
public static class PianoRollPickle
{
    /// <summary>The largest file <see cref="Load"/> accepts: 1 GiB (numpy-scalar pickles take about 20 bytes per note).</summary>
    public const long MaxFileLength = 1L << 30;

    private static readonly string[] SplitNames = ["train", "valid", "test"];

    /// <summary>Reads the three splits from a pickle file.</summary>
    /// <param name="path">The file, e.g. <c>jsb-chorales-quarter.pkl</c>.</param>
    /// <returns>The train, validation and test sequences, in file order.</returns>
    /// <exception cref="GatedFormatException">The file is not a valid pickle of that layout; the message says where and why.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    public static (IReadOnlyList<PianoRoll> Train, IReadOnlyList<PianoRoll> Valid, IReadOnlyList<PianoRoll> Test) Load(string path)
    {
        byte[] bytes = BoundedFile.ReadAllBytes(path, MaxFileLength, "a pickled dataset");
        return Parse(bytes, path);
    }

    /// <summary>Reads the three splits from the bytes of a pickle.</summary>
    /// <param name="bytes">The whole pickle.</param>
    /// <param name="sourceName">A name for the input in error messages, e.g. its path; null for none.</param>
    /// <returns>The train, validation and test sequences, in file order.</returns>
    /// <exception cref="GatedFormatException">The bytes are not a valid pickle of that layout; the message says where and why.</exception>
    public static (IReadOnlyList<PianoRoll> Train, IReadOnlyList<PianoRoll> Valid, IReadOnlyList<PianoRoll> Test) Parse(ReadOnlySpan<byte> bytes, string? sourceName = null)
    {
        object? root = PickleReader.Read(bytes, sourceName);
        if (root is not PickleDict dict)
            throw new GatedFormatException(sourceName, $"the pickle holds {PickleText.Describe(root)}; expected a dict with the keys 'train', 'valid' and 'test'.");
        foreach (object? key in dict.Keys)
        {
            if (key is not string name || Array.IndexOf(SplitNames, name) < 0)
                throw new GatedFormatException(sourceName, $"unknown key {PickleText.Repr(key, 60)}; a dataset has exactly the keys 'train', 'valid' and 'test'.");
        }
        var splits = new IReadOnlyList<PianoRoll>[SplitNames.Length];
        for (int i = 0; i < SplitNames.Length; i++)
        {
            if (!dict.TryGetValue(SplitNames[i], out object? split))
                throw new GatedFormatException(sourceName, $"the key '{SplitNames[i]}' is missing; a dataset has the keys 'train', 'valid' and 'test'.");
            splits[i] = ReadSplit(split, sourceName, SplitNames[i]);
        }
        return (splits[0], splits[1], splits[2]);
    }

    private static IReadOnlyList<PianoRoll> ReadSplit(object? value, string? source, string split)
    {
        IReadOnlyList<object?> sequences = AsList(value)
            ?? throw new GatedFormatException(source, $"'{split}' must be a list of sequences, found {PickleText.Describe(value)}.");
        if (sequences.Count == 0)
            throw new GatedFormatException(source, $"the split '{split}' has no sequences.");
        var rolls = new PianoRoll[sequences.Count];
        for (int s = 0; s < rolls.Length; s++)
        {
            IReadOnlyList<object?> steps = AsList(sequences[s])
                ?? throw new GatedFormatException(source, $"{split}, sequence {s}: a sequence must be a list of time steps, found {PickleText.Describe(sequences[s])}.");
            if (steps.Count == 0)
                throw new GatedFormatException(source, $"{split}, sequence {s}: the sequence has no time steps.");
            var words = new ulong[steps.Count * PianoRoll.WordsPerStep];
            for (int t = 0; t < steps.Count; t++)
            {
                ulong low = 0, high = 0;
                object? step = steps[t];
                if (step is NumpyArray array)
                {
                    if (array.Shape.Count != 1 || array.DType.Kind is not ('i' or 'u'))
                        throw new GatedFormatException(source, $"{split}, sequence {s}, step {t}: a time step must be a list of MIDI pitches, found {PickleText.Describe(step)}.");
                    for (int k = 0; k < array.Count; k++) AddPitch(ref low, ref high, array.GetItem(k), source, split, s, t);
                }
                else
                {
                    IReadOnlyList<object?> pitches = AsList(step)
                        ?? throw new GatedFormatException(source, $"{split}, sequence {s}, step {t}: a time step must be a list of MIDI pitches, found {PickleText.Describe(step)}.");
                    for (int k = 0; k < pitches.Count; k++) AddPitch(ref low, ref high, pitches[k], source, split, s, t);
                }
                words[t * PianoRoll.WordsPerStep] = low;
                words[t * PianoRoll.WordsPerStep + 1] = high;
            }
            rolls[s] = new PianoRoll(words);
        }
        return Array.AsReadOnly(rolls);
    }

    private static void AddPitch(ref ulong low, ref ulong high, object? value, string? source, string split, int sequence, int step)
    {
        // Python's bool is an int, but True is no pitch; accept only ints (plain or numpy).
        long pitch = value switch
        {
            long l => l,
            BigInteger => long.MinValue,
            _ => throw new GatedFormatException(source, $"{split}, sequence {sequence}, step {step}: {PickleText.Describe(value)} is not a MIDI pitch (an integer in {PianoRoll.LowestPitch}..{PianoRoll.HighestPitch})."),
        };
        if (pitch < PianoRoll.LowestPitch || pitch > PianoRoll.HighestPitch)
            throw new GatedFormatException(source, $"{split}, sequence {sequence}, step {step}: pitch {PickleText.Repr(value, 60)} is outside {PianoRoll.LowestPitch}..{PianoRoll.HighestPitch}.");
        if (!PianoRoll.TrySet(ref low, ref high, (int)pitch - PianoRoll.LowestPitch))
            throw new GatedFormatException(source, $"{split}, sequence {sequence}, step {step}: pitch {pitch} appears twice.");
    }

    private static IReadOnlyList<object?>? AsList(object? value) => value switch
    {
        List<object?> list => list,
        PickleTuple tuple => tuple,
        _ => null,
    };
}
