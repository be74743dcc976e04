using Gated.Data;
using Gated.Fuzz.Seeds;
using Gated.IO;
using Gated.IO.Mat;
using Gated.IO.Midi;
using Gated.IO.Pickle;
using Gated.IO.Safetensors;
using Gated.Models;
using static Gated.Fuzz.Mutator;

namespace Gated.Fuzz;

/// <summary>
/// Every reader of outside bytes in Gated, registered for fuzzing. To add a parser, add one entry to
/// <see cref="All"/> (and, for seeds from files, a folder under <c>Corpus/</c>).
/// </summary>
/// <remarks>
/// The allocation factors follow from what a valid input may legitimately expand to: a bool or uint8
/// element read as a double is 8 bytes per input byte, a piano-roll step is 16 bytes, and zlib (in
/// MAT-files) expands at most 1032 times. The command line reads no configuration file; the JSON it reads
/// is the data sets (<c>json</c>), the safetensors headers and metadata (<c>safetensors</c>, <c>model</c>)
/// and the run state and history in checkpoints (<c>checkpoint</c>).
/// </remarks>
public static class FuzzTargets
{
    /// <summary>The targets, in the order reports list them.</summary>
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("safetensors", "SafetensorsFile.Read, every tensor as double/float/int64, written and read back", ReadSafetensors, SafetensorsSeeds.All)
        {
            Tokens = Tokens("\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\"F32\"", "\"BOOL\"", "\"F16\"", "\"I64\"",
                "[", "]", "{", "}", ",", ":", "\"", "\\u0000", "\\ud800", "-1", "1e999", "null"),
            Nesting = [(Ascii("["), Ascii("]")), (Ascii("{\"a\":"), Ascii("}"))],
            // Bool/uint8 read as double, float and int64 (20 bytes per byte), then written and read back.
            AllocationPerInputByte = 64,
        },
        new("model", "MusicModel.FromSafetensors(SafetensorsFile.Read) — what gated eval/sample/explain load", bytes =>
            MusicModel.FromSafetensors(SafetensorsFile.Read(bytes, FuzzTarget.Source)), ModelSeeds.Models)
        {
            Tokens = Tokens("\"rnn.hidden_size\"", "\"rnn.num_layers\"", "\"rnn.cell\"", "\"gru\"", "\"lstm\"", "\"rnn\"", "\"true\"", "\"false\"",
                "\"hard_sigmoid(0.2,0.5)\"", "\"relu\"", "\"2147483647\"", "\"65536\"", "\"0\"", "\"F32\"", "\"U8\"", "\"shape\"", "\"data_offsets\""),
            // A uint8 tensor read as float (4 bytes per byte) into a model holding values and gradients (8 bytes per parameter).
            AllocationPerInputByte = 64,
        },
        new("checkpoint", "MusicTrainer resume: model, optimizer state, counters and the JSON history of checkpoint.safetensors", ReadCheckpoint, ModelSeeds.Checkpoints)
        {
            Tokens = Tokens("\"checkpoint.epoch\"", "\"training.history\"", "\"checkpoint.optimizer_state_count\"", "\"optimizer.state.0\"",
                "[[1,2,3,4,5,1]]", "[[]]", "[1e999]", "\"NaN\"", "\"-1\"", "\"2147483647\"", "\"99999999999999999999\"", "\\\"", "[", "]"),
            Nesting = [(Ascii("["), Ascii("]"))],
            AllocationPerInputByte = 64,
        },
        new("pickle", "PickleReader.Read, PickleReader.Format, then PianoRollPickle.Parse", ReadPickle, () => FuzzTarget.Corpus("pickle"))
        {
            Tokens = [.. "()]}.0124abcdehjlqrstuNKJMXTUVSIFLGcipgoR".Select(c => new[] { (byte)c }),
                .. new byte[] { 0x80, 0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98 }.Select(b => new[] { b }),
                Ascii("cos\nsystem\n"), Ascii("cbuiltins\neval\n"), Ascii("cnumpy\ndtype\n"), Ascii("cnumpy.core.multiarray\nscalar\n"),
                Ascii("c_codecs\nencode\n"), Ascii("c__builtin__\nset\n"), [0x8c, 5, .. "numpy"u8], [0x8c, 5, .. "dtype"u8]],
            // MARK … TUPLE, EMPTY_LIST … APPEND, EMPTY_DICT key SETITEM, and bare MARKs and nested tuples.
            Nesting = [(Ascii("("), Ascii("t")), (Ascii("]"), Ascii("a")), (Ascii("}K\x01"), Ascii("s")), (Ascii("("), []), (Ascii("N"), [0x85])],
            // The reader's work budget is 4 units per input byte + 65,536 (PickleLimits); a unit is one container slot or hash insert.
            AllocationPerInputByte = 512,
            AllocationSlack = 8 << 20,
        },
        new("mat", "MatFile.Read, every array converted to doubles and strings, then PianoRollMat.Load", ReadMat, MatSeeds.All)
        {
            Tokens = [Ascii("IM"), Ascii("MI"), LittleEndian(14), LittleEndian(15), LittleEndian(1), LittleEndian(6), LittleEndian(9), LittleEndian(16),
                [0x01, 0x00, 0x04, 0x00], [0x0E, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x7F], [0x01, 0x00], [0x00, 0x02]],
            StructuredMutation = MatSeeds.MutateInsideCompression,
            // zlib expands at most 1032:1, and a uint8 element converted to double is 8 bytes (1032 × 8 ≈ 8256), plus the piano rolls.
            AllocationPerInputByte = 9000,
            AllocationSlack = 2 << 20,
        },
        new("json", "PianoRollDataset.Parse (JSON data sets)", bytes => PianoRollDataset.Parse(bytes, FuzzTarget.Source), JsonSeeds.All)
        {
            Tokens = Tokens("\"train\"", "\"valid\"", "\"test\"", "[", "]", "{", "}", ",", ":", "null", "true", "\"", "\\u0000", "\\ud800", "1e2", "-0",
                "108", "21", "1.5", "//", "/*", "\uFEFF"),
            Nesting = [(Ascii("["), Ascii("]")), (Ascii("{\"train\":"), Ascii("}")), (Ascii("[{\"a\":"), Ascii("}]"))],
            AllocationPerInputByte = 64,
        },
        new("midi", "MidiReader.Parse, then MidiSequence.ToPianoRoll at 1 and 2 steps per quarter (maxSteps 4 × length + 1024)", ReadMidi, MidiSeeds.All)
        {
            Tokens = [Ascii("MThd"), Ascii("MTrk"), [0xFF, 0x2F, 0x00], [0xFF, 0x51, 0x03], [0xF0], [0xF7], [0x90], [0x80], [0xFF, 0xFF, 0xFF, 0x7F],
                [0x8F, 0xFF, 0xFF, 0xFF, 0x7F], [0x00, 0x00, 0x00, 0x06], [0x7F, 0xFF, 0xFF, 0xFF], [0x00, 0x90, 0x3C, 0x40], [0x00, 0x99]],
            // Notes are ≥ 3 bytes each and 40 bytes in memory; two rolls of at most 4 × length + 1024 steps at 16 bytes a step.
            AllocationPerInputByte = 256,
        },
    ];

    /// <summary>The target of a name (case-insensitive), or null.</summary>
    public static FuzzTarget? Find(string name) =>
        All.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase));

    private static IReadOnlyList<byte[]> Tokens(params string[] tokens) => [.. tokens.Select(t => System.Text.Encoding.UTF8.GetBytes(t))];

    private static void ReadSafetensors(byte[] bytes)
    {
        var file = SafetensorsFile.Read(bytes, FuzzTarget.Source);
        foreach (var t in file.Tensors)
        {
            _ = t.ToDoubleArray();
            _ = t.ToSingleArray();
            if (t.DType is SafetensorsDType.I64 or SafetensorsDType.I32 or SafetensorsDType.I16 or SafetensorsDType.I8
                or SafetensorsDType.U32 or SafetensorsDType.U16 or SafetensorsDType.U8 or SafetensorsDType.Bool)
                _ = t.ToInt64Array();
        }
        // Whatever loads must write and read back with the same tensors.
        var again = SafetensorsFile.Read(SafetensorsSeeds.Bytes(file), FuzzTarget.Source);
        if (again.Tensors.Count != file.Tensors.Count)
            throw new InvalidOperationException($"round trip changed the tensor count from {file.Tensors.Count} to {again.Tensors.Count}");
    }

    private static readonly Lazy<MusicTrainer> CheckpointTrainer = new(() => new MusicTrainer(ModelSeeds.CheckpointModel, ModelSeeds.CheckpointTraining));

    private static void ReadCheckpoint(byte[] bytes) => CheckpointTrainer.Value.ReadCheckpoint(bytes, FuzzTarget.Source);

    private static void ReadPickle(byte[] bytes)
    {
        object? value = PickleReader.Read(bytes, FuzzTarget.Source);
        _ = PickleReader.Format(value, 10_000);
        try
        {
            PianoRollPickle.Parse(bytes, FuzzTarget.Source);
        }
        catch (GatedFormatException e) when (!string.IsNullOrWhiteSpace(e.Message))
        {
            // A readable pickle that is not a data set: the pickle loaded, the data set did not.
        }
    }

    private static void ReadMat(byte[] bytes)
    {
        var file = MatFile.Read(bytes, FuzzTarget.Source);
        foreach (var array in file.Variables.Values) Touch(array);
        try
        {
            PianoRollMat.Load(file);
        }
        catch (GatedFormatException e) when (!string.IsNullOrWhiteSpace(e.Message))
        {
            // A readable MAT-file that is not a data set.
        }

        static void Touch(MatArray a)
        {
            if (a is MatCell cell)
            {
                foreach (var e in cell.Elements) Touch(e);
                return;
            }
            if (a.Class == MatClass.Char) _ = a.GetString();
            _ = a.ToDoubleColumnMajor();
            if (a.IsComplex)
                for (int i = 0; i < a.Count; i++) _ = a.GetImaginary(i);
        }
    }

    private static void ReadMidi(byte[] bytes)
    {
        var sequence = MidiReader.Parse(bytes, FuzzTarget.Source);
        int maxSteps = 4 * bytes.Length + 1024;
        _ = sequence.ToPianoRoll(1, maxSteps);
        _ = sequence.ToPianoRoll(2, maxSteps);
    }
}
