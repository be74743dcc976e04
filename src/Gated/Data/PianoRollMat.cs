using System.Globalization;
using Gated.IO;
using Gated.IO.Mat;

namespace Gated.Data;

/// <summary>
/// Loads the polyphonic-music benchmarks (JSB Chorales, Nottingham, MuseData, Piano-midi.de) from
/// their MATLAB source files (<c>JSB_Chorales.mat</c> etc.): the variables <c>traindata</c>,
/// <c>validdata</c> and <c>testdata</c>, each a cell array of T×88 binary piano rolls whose column
/// <c>j</c> is MIDI pitch <c>j + 21</c>.
/// </summary>
/// <remarks>
/// Every cell must be a real numeric (or logical) 2-D array with 88 columns, at least one row, and
/// only the values 0 and 1, in whatever type they are stored. Anything else gives a
/// <see cref="GatedFormatException"/> naming the file, the variable, the cell index and, for a bad
/// value, its row, column and value (all indices 0-based).
/// </remarks>
public static class PianoRollMat
{
    /// <summary>The variable holding the training sequences.</summary>
    public const string TrainVariable = "traindata";

    /// <summary>The variable holding the validation sequences.</summary>
    public const string ValidVariable = "validdata";

    /// <summary>The variable holding the test sequences.</summary>
    public const string TestVariable = "testdata";

    /// <summary>Reads the three splits from a MAT-file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The train, valid and test sequences, in file order.</returns>
    /// <exception cref="GatedFormatException">The file is not a valid MAT-file or does not hold piano rolls as described.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    public static (IReadOnlyList<PianoRoll> Train, IReadOnlyList<PianoRoll> Valid, IReadOnlyList<PianoRoll> Test) Load(string path)
        => Load(MatFile.Read(path));

    /// <summary>Reads the three splits from a MAT-file already in memory.</summary>
    /// <param name="file">The MAT-file; its <see cref="MatFile.SourceName"/> names it in messages.</param>
    /// <returns>The train, valid and test sequences, in file order.</returns>
    /// <exception cref="GatedFormatException">The file does not hold piano rolls as described.</exception>
    public static (IReadOnlyList<PianoRoll> Train, IReadOnlyList<PianoRoll> Valid, IReadOnlyList<PianoRoll> Test) Load(MatFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return (ReadSplit(file, TrainVariable), ReadSplit(file, ValidVariable), ReadSplit(file, TestVariable));
    }

    /// <summary>Reads the three splits from a MAT-file as a <see cref="PianoRollDataset"/>.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The dataset, with <see cref="PianoRollDataset.SourceName"/> set to <paramref name="path"/>.</returns>
    /// <exception cref="GatedFormatException">The file is not a valid MAT-file or does not hold piano rolls as described.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    public static PianoRollDataset LoadDataset(string path)
    {
        var (train, valid, test) = Load(path);
        return new PianoRollDataset(train, valid, test, path);
    }

    private static PianoRoll[] ReadSplit(MatFile file, string variable)
    {
        string? source = file.SourceName;
        if (!file.Variables.TryGetValue(variable, out MatArray? array))
        {
            string has = file.VariableNames.Count == 0 ? "none" : string.Join(", ", file.VariableNames.Select(n => $"'{n}'"));
            throw new GatedFormatException(source, $"there is no variable '{variable}' (the variables are: {has}).");
        }
        if (array is not MatCell cell)
            throw new GatedFormatException(source, $"variable '{variable}' is a {Shape(array)} {array.Class} array, not a cell array of piano rolls.");
        if (cell.Count == 0)
            throw new GatedFormatException(source, $"variable '{variable}' is an empty cell array; a split needs at least one sequence.");

        var rolls = new PianoRoll[cell.Count];
        for (int i = 0; i < rolls.Length; i++)
            rolls[i] = ToPianoRoll(cell.Elements[i], source, variable, i);
        return rolls;
    }

    private static PianoRoll ToPianoRoll(MatArray a, string? source, string variable, int index)
    {
        string where = $"variable '{variable}', cell {index} (0-based)";
        if (!a.IsNumeric)
            throw new GatedFormatException(source, $"{where}: is a {Shape(a)} {a.Class} array, not a numeric T×{PianoRoll.Keys} piano roll.");
        if (a.IsComplex)
            throw new GatedFormatException(source, $"{where}: is a complex array; a piano roll is real.");
        if (a.Rank != 2 || a.Columns != PianoRoll.Keys)
            throw new GatedFormatException(source, $"{where}: is {Shape(a)}, not T×{PianoRoll.Keys} (one column per piano key).");
        int steps = a.Rows;
        if (steps == 0)
            throw new GatedFormatException(source, $"{where}: has no time steps (0×{PianoRoll.Keys}).");

        // Column-major: element (step, key) is at key·T + step.
        var bits = new ulong[steps * PianoRoll.WordsPerStep];
        ReadOnlySpan<byte> data = a.RealData;
        if (a.StorageType is MatDataType.UInt8 or MatDataType.Int8)
        {
            // The real files store the rolls as bytes: validate and scan them vectorized.
            int bad = data.IndexOfAnyExcept((byte)0, (byte)1);
            if (bad >= 0)
            {
                string value = a.StorageType == MatDataType.Int8
                    ? ((sbyte)data[bad]).ToString(CultureInfo.InvariantCulture)
                    : data[bad].ToString(CultureInfo.InvariantCulture);
                throw BadValue(source, where, bad % steps, bad / steps, value);
            }
            for (int key = 0; key < PianoRoll.Keys; key++)
            {
                ReadOnlySpan<byte> column = data.Slice(key * steps, steps);
                int word = key >> 6;
                ulong mask = 1UL << (key & 63);
                for (int step = column.IndexOf((byte)1); step >= 0;)
                {
                    bits[step * PianoRoll.WordsPerStep + word] |= mask;
                    int next = column[(step + 1)..].IndexOf((byte)1);
                    step = next < 0 ? -1 : step + 1 + next;
                }
            }
        }
        else
        {
            int count = a.Count;
            for (int i = 0; i < count; i++)
            {
                double v = a.GetDouble(i);
                if (v == 0) continue;
                int step = i % steps, key = i / steps;
                if (v != 1) throw BadValue(source, where, step, key, v.ToString("R", CultureInfo.InvariantCulture));
                bits[step * PianoRoll.WordsPerStep + (key >> 6)] |= 1UL << (key & 63);
            }
        }
        return new PianoRoll(bits);
    }

    private static GatedFormatException BadValue(string? source, string where, int step, int key, string value)
        => new(source, $"{where}, row {step}, column {key} (pitch {key + PianoRoll.LowestPitch}): value {value} is not 0 or 1.");

    private static string Shape(MatArray a) => MatArray.DescribeDimensions(a.Dimensions);
}
