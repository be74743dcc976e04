using System.Reflection;
using Gated.Layers;
using Gated.Models;
using Xunit.Abstractions;

namespace Gated.Tests.Cli;

/// <summary>Runs alone: the in-process CLI swaps the process's console and environment.</summary>
[CollectionDefinition(nameof(ConsoleCollection), DisableParallelization = true)]
public sealed class ConsoleCollection;

/// <summary>
/// Every command under bad use: unknown flags, wrong types, zero and negative sizes, missing files, a model
/// where a data set belongs and the other way round, folders where files belong, a model of another kind,
/// a checkpoint of other options, unwritable output. Each must give exactly one line on stderr,
/// "gated COMMAND: …" saying what is wrong (and what was expected), no stack trace, exit code 2 for a usage
/// error and 1 for a failure. The table runs the real entry point in-process (milliseconds a case); a few
/// cases also run as child processes, and the unwritable-output cases run as an unprivileged user.
/// </summary>
[Collection(nameof(ConsoleCollection))]
public sealed class BadUseTests : IClassFixture<BadUseTests.Files>
{
    private readonly Files _files;
    private readonly ITestOutputHelper _output;

    public BadUseTests(Files files, ITestOutputHelper output)
    {
        _files = files;
        _output = output;
    }

    /// <summary>The files the cases use, made once: a tiny data set, a model, a run folder, files of the wrong kind.</summary>
    public sealed class Files : IDisposable
    {
        public Files()
        {
            Root = Directory.CreateTempSubdirectory("gated-baduse-").FullName;
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(Root, (UnixFileMode)0b111_101_101);
            File.WriteAllText(P("data.json"), SyntheticDataSet());
            MusicModel.Create(CellKind.Gru, 4).Save(P("model.safetensors"));
            byte[] model = File.ReadAllBytes(P("model.safetensors"));
            File.WriteAllBytes(P("truncated.safetensors"), model[..(model.Length / 2)]);
            File.Copy(Path.Combine(AppContext.BaseDirectory, "Cases", "torch", "gru_basic_f64.safetensors"), P("torch.safetensors"));
            File.WriteAllText(P("notes.txt"), "not a data set\n");
            Directory.CreateDirectory(P("folder"));
            Directory.CreateDirectory(P("locked"));
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(P("locked"), (UnixFileMode)0b101_101_101);
            // A finished run with --hidden 4, for the resume cases.
            var (code, _, stderr) = InProcess(this, "train", "--data", P("data.json"), "--hidden", "4", "--epochs", "1", "--out", P("run.safetensors"), "--run-dir", P("run"));
            if (code != 0) throw new InvalidOperationException("setting up the run folder failed: " + stderr);
        }

        public string Root { get; }

        /// <summary>A path in the fixture's folder.</summary>
        public string P(string name) => Path.Combine(Root, name);

        /// <summary>The text with every $ replaced by the fixture's folder.</summary>
        public string Expand(string text) => text.Replace("$", Root, StringComparison.Ordinal);

        public void Dispose()
        {
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(P("locked"), (UnixFileMode)0b111_101_101);
            Directory.Delete(Root, recursive: true);
        }
    }

    /// <summary>(what, exit code, a fragment the one line must hold, the arguments); $ in an argument is the fixture folder.</summary>
    public static TheoryData<string, int, string, string[]> Cases() => new()
    {
        { "unknown command", 2, "gated: Unrecognized command or argument 'bogus'", ["bogus"] },
        { "no command", 2, "gated: Required command was not provided", [] },

        { "demo: unknown flag", 2, "gated demo: Unrecognized command or argument '--bogus'", ["demo", "--bogus"] },
        { "demo: zero epochs", 2, "--epochs must be a positive integer, got 0", ["demo", "--epochs", "0"] },
        { "demo: a word for a size", 2, "Cannot parse argument 'x' for option '--hidden' as an integer", ["demo", "--hidden", "x"] },
        { "demo: negative learning rate", 2, "--learning-rate must be a positive number, got -1", ["demo", "--lr", "-1"] },
        { "demo: missing data file", 1, "The data file '$/missing.json' does not exist", ["demo", "--data", "$/missing.json", "--out", "$/d.safetensors"] },
        { "demo: a model as data", 1, "this is a safetensors file (a model?), not a data set", ["demo", "--data", "$/model.safetensors", "--out", "$/d.safetensors"] },
        { "demo: a folder as data", 1, "is a folder, not a data set file", ["demo", "--data", "$/folder", "--out", "$/d.safetensors"] },
        { "demo: a divergent learning rate", 1, "gated demo: Training diverged in epoch 1, batch 1: the update made a weight NaN or infinite",
            ["demo", "--data", "$/data.json", "--hidden", "4", "--epochs", "2", "--lr", "1e38", "--out", "$/diverged.safetensors"] },
        { "demo: a folder as output", 2, "--out: '$/folder' is a directory; give a file name", ["demo", "--data", "$/data.json", "--out", "$/folder"] },

        { "train: no --out", 2, "Option '--out' is required", ["train", "--data", "$/data.json"] },
        { "train: negative hidden size", 2, "--hidden must be a positive integer, got -1", ["train", "--hidden", "-1", "--out", "$/t.safetensors"] },
        { "train: zero batch size", 2, "--batch-size must be a positive integer, got 0", ["train", "--batch-size", "0", "--out", "$/t.safetensors"] },
        { "train: NaN learning rate", 2, "--lr must be a positive number, got NaN", ["train", "--lr", "nan", "--out", "$/t.safetensors"] },
        { "train: a word for a number", 2, "Cannot parse argument 'fast' for option '--lr' as a number", ["train", "--lr", "fast", "--out", "$/t.safetensors"] },
        { "train: dropout out of range", 2, "--dropout must be in [0, 1), got 1.5", ["train", "--dropout", "1.5", "--out", "$/t.safetensors"] },
        { "train: unknown cell", 2, "--cell must be gru, lstm or rnn, got 'foo'", ["train", "--cell", "foo", "--out", "$/t.safetensors"] },
        { "train: GRU option on an LSTM", 2, "--reset applies only to --cell gru, not lstm", ["train", "--cell", "lstm", "--reset", "before", "--out", "$/t.safetensors"] },
        { "train: --clip with --no-clip", 2, "--clip and --no-clip cannot be used together", ["train", "--clip", "2", "--no-clip", "--out", "$/t.safetensors"] },
        { "train: text as data", 1, "unknown data file type", ["train", "--data", "$/notes.txt", "--out", "$/t.safetensors"] },
        { "train: a model as data", 1, "not a data set; --data takes a data set name", ["train", "--data", "$/model.safetensors", "--out", "$/t.safetensors"] },
        { "train: output folder missing", 2, "--out: the directory of '$/nowhere/t.safetensors' does not exist", ["train", "--data", "$/data.json", "--out", "$/nowhere/t.safetensors"] },
        { "train: a file as run folder", 2, "--run-dir: '$/data.json' is a file; give a folder", ["train", "--data", "$/data.json", "--out", "$/t.safetensors", "--run-dir", "$/data.json"] },
        { "train: a run folder in use", 2, "already holds a checkpoint (after epoch 1); pass --resume", ["train", "--data", "$/data.json", "--hidden", "4", "--out", "$/t.safetensors", "--run-dir", "$/run"] },
        { "train: resume with another shape", 1, "the checkpoint was made with other model or training options (rnn.hidden_size: 4 in the checkpoint, 8 now)",
            ["train", "--data", "$/data.json", "--hidden", "8", "--epochs", "2", "--out", "$/t.safetensors", "--run-dir", "$/run", "--resume"] },

        { "eval: no model", 2, "Required argument 'MODEL' missing", ["eval"] },
        { "eval: missing model", 1, "model file not found: $/missing.safetensors", ["eval", "$/missing.safetensors", "--data", "$/data.json"] },
        { "eval: a folder as model", 1, "this is a folder; give a model file", ["eval", "$/folder", "--data", "$/data.json"] },
        { "eval: data as model", 1, "not a model file: it is not in the safetensors format", ["eval", "$/data.json", "--data", "$/data.json"] },
        { "eval: a model of another kind", 1, "not a Gated music model (metadata 'gated.format' is missing", ["eval", "$/torch.safetensors", "--data", "$/data.json"] },
        { "eval: a truncated model", 1, "$/truncated.safetensors:", ["eval", "$/truncated.safetensors", "--data", "$/data.json"] },
        { "eval: a model as data", 1, "not a data set", ["eval", "$/model.safetensors", "--data", "$/model.safetensors"] },
        { "eval: unknown split", 2, "--split must be test, valid, train or all, got 'dev'", ["eval", "$/model.safetensors", "--split", "dev"] },

        { "sample: zero steps", 2, "--steps must be a positive integer, got 0", ["sample", "$/model.safetensors", "--steps", "0", "--out", "$/s.mid"] },
        { "sample: negative steps", 2, "--steps must be a positive integer, got -5", ["sample", "$/model.safetensors", "--steps", "-5", "--out", "$/s.mid"] },
        { "sample: no --out", 2, "Option '--out' is required", ["sample", "$/model.safetensors"] },
        { "sample: a folder as output", 2, "--out: '$/folder' is a directory", ["sample", "$/model.safetensors", "--out", "$/folder"] },
        { "sample: data as model", 1, "not a model file", ["sample", "$/data.json", "--out", "$/s.mid"] },
        { "sample: primer index without data", 2, "--primer-index needs --primer-data", ["sample", "$/model.safetensors", "--primer-index", "2", "--out", "$/s.mid"] },
        { "sample: primer index out of range", 2, "--primer-index 999 is out of range: $/data.json has 2 test sequences (0..1)",
            ["sample", "$/model.safetensors", "--primer-data", "$/data.json", "--primer-index", "999", "--out", "$/s.mid"] },
        { "sample: zero tempo", 2, "--tempo must be a positive number, got 0", ["sample", "$/model.safetensors", "--tempo", "0", "--out", "$/s.mid"] },
        { "sample: --svg is --out", 2, "--svg and --out name the same file", ["sample", "$/model.safetensors", "--out", "$/s.mid", "--svg", "$/s.mid"] },

        { "explain: index out of range", 2, "--index 999 is out of range: the test split of $/data.json has 2 sequences (0..1)",
            ["explain", "$/model.safetensors", "--data", "$/data.json", "--index", "999", "--out", "$/e.html"] },
        { "explain: negative index", 2, "--index must be 0 or more, got -1", ["explain", "$/model.safetensors", "--index", "-1", "--out", "$/e.html"] },
        { "explain: text as model", 1, "not a model file", ["explain", "$/notes.txt", "--data", "$/data.json", "--out", "$/e.html"] },
        { "explain: a model as data", 1, "not a data set", ["explain", "$/model.safetensors", "--data", "$/model.safetensors", "--out", "$/e.html"] },

        { "bench: unknown workload", 2, "--workload must be chung-music, music-batch, medium, large, stream-step or all, got 'huge'", ["bench", "--workload", "huge"] },
        { "bench: zero seconds", 2, "--min-seconds must be a positive number, got 0", ["bench", "--min-seconds", "0"] },
        { "bench: zero threads", 2, "--threads must be a positive integer, got 0", ["bench", "--threads", "0"] },
        { "bench: negative GEMM size", 2, "--gemm-size must be 0 or more, got -1", ["bench", "--gemm-size", "-1"] },

        { "reproduce: no experiment", 2, "Required command was not provided", ["reproduce"] },
        { "reproduce: unknown experiment", 2, "Unrecognized command or argument 'chung2015'", ["reproduce", "chung2015"] },
        { "reproduce: a word for trials", 2, "Cannot parse argument 'x' for option '--trials' as an integer", ["reproduce", "chung2014", "--trials", "x"] },
        { "reproduce: zero trials", 2, "--trials must be in 1..1000, got 0", ["reproduce", "chung2014", "--trials", "0"] },
        { "reproduce: unknown data set", 2, "--datasets: unknown data set 'mnist'", ["reproduce", "chung2014", "--datasets", "mnist"] },
        { "reproduce: zero batch size", 2, "--batch-size must be in 1..1000000, got 0", ["reproduce", "chung2014", "--batch-size", "0"] },
        { "reproduce: negative weight noise", 2, "--weight-noise must be in [0, 10], got -1", ["reproduce", "chung2014", "--weight-noise", "-1"] },
        { "reproduce: negative seconds", 2, "--seconds-per-run must be a positive number, got -1", ["reproduce", "chung2014", "--seconds-per-run", "-1"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void BadUseGivesOneLineAndTheRightExitCode(string what, int exitCode, string expected, string[] args)
    {
        var (code, stdout, stderr) = InProcess(_files, [.. args.Select(_files.Expand)]);
        _output.WriteLine($"{what}: exit {code}: {stderr.Trim()}");
        AssertOneLine(code, stdout, stderr, exitCode, _files.Expand(expected), CommandPath(args));
    }

    [Fact]
    public void VerboseAddsTheStackTrace()
    {
        var (code, _, stderr) = InProcess(_files, "eval", _files.P("truncated.safetensors"), "--data", _files.P("data.json"), "--verbose");
        Assert.Equal(1, code);
        string[] lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("gated eval: ", lines[0]);
        Assert.StartsWith("Gated.IO.GatedFormatException: ", lines[1]);
        Assert.Contains(lines, l => l.TrimStart().StartsWith("at Gated.", StringComparison.Ordinal));
    }

    /// <summary>The same contract from real processes: the exit code as the shell sees it, and no runtime crash output.</summary>
    [Theory]
    [InlineData(2, "gated: Unrecognized command or argument 'bogus'", new[] { "bogus" })]
    [InlineData(1, "model file not found", new[] { "eval", "$/missing.safetensors", "--data", "$/data.json" })]
    [InlineData(2, "Cannot parse argument 'x' for option '--trials' as an integer", new[] { "reproduce", "chung2014", "--trials", "x" })]
    public void ChildProcessesGiveTheSameOneLine(int exitCode, string expected, string[] args)
    {
        var r = GatedProcess.Run(_files.Root, Environment(), TimeSpan.FromSeconds(60), [.. args.Select(_files.Expand)]);
        AssertOneLine(r.ExitCode, r.Stdout, r.Stderr, exitCode, _files.Expand(expected), CommandPath(args));
    }

    /// <summary>Output into a folder the user may not write: train and demo refuse before training, sample and explain when writing; exit 1.</summary>
    [UnprivilegedTheory]
    [InlineData("train", new[] { "train", "--data", "$/data.json", "--hidden", "2", "--epochs", "1", "--out", "$/locked/t.safetensors", "--run-dir", "$/open-run" })]
    [InlineData("demo", new[] { "demo", "--data", "$/data.json", "--hidden", "2", "--epochs", "1", "--out", "$/locked/d.safetensors" })]
    [InlineData("sample", new[] { "sample", "$/model.safetensors", "--steps", "8", "--out", "$/locked/s.mid" })]
    [InlineData("explain", new[] { "explain", "$/model.safetensors", "--data", "$/data.json", "--out", "$/locked/e.html" })]
    public void UnwritableOutputIsOneLine(string command, string[] args)
    {
        string open = _files.P("open-run");
        var r = GatedProcess.RunUnprivileged(_files.Root, Environment(), TimeSpan.FromSeconds(60), [.. args.Select(_files.Expand)]);
        _output.WriteLine($"{command}: exit {r.ExitCode}: {r.Stderr.Trim()}");
        AssertOneLine(r.ExitCode, "", r.Stderr, 1, $"Cannot write '{_files.P("locked")}/", command);
        Assert.Contains("is not permitted", r.Stderr);
        Assert.False(Directory.Exists(open) && Directory.EnumerateFiles(open).Any(), "nothing may be trained into the run folder");
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>The command path the error names: "reproduce chung2014" for an experiment of reproduce, else the first word.</summary>
    private static string? CommandPath(string[] args) =>
        args is ["reproduce", "chung2014" or "gates", ..] ? $"reproduce {args[1]}" : args.FirstOrDefault();

    private static void AssertOneLine(int code, string stdout, string stderr, int exitCode, string expected, string? command)
    {
        Assert.True(code == exitCode, $"exit code {code}, expected {exitCode}\nstdout:\n{stdout}\nstderr:\n{stderr}");
        string[] lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, "expected one line on stderr, got:\n" + stderr);
        string prefix = command is null || command == "bogus" ? "gated: " : $"gated {command}: ";
        Assert.StartsWith(prefix, lines[0], StringComparison.Ordinal);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", stderr, StringComparison.Ordinal);
    }

    private static Dictionary<string, string> Environment() => new()
    {
        ["GATED_DATA"] = Path.Combine(Path.GetTempPath(), "gated-baduse-no-data"),
        ["GATED_CACHE"] = Path.Combine(Path.GetTempPath(), "gated-baduse-no-cache"),
    };

    private static readonly MethodInfo EntryPoint = Assembly.Load("Gated.Cli").EntryPoint
        ?? throw new InvalidOperationException("Gated.Cli has no entry point.");

    /// <summary>Runs the CLI's entry point in this process with stdout and stderr captured and the data folders pointing nowhere.</summary>
    private static (int ExitCode, string Stdout, string Stderr) InProcess(Files files, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var (oldOut, oldError, oldDirectory) = (Console.Out, Console.Error, Directory.GetCurrentDirectory());
        var saved = Environment().ToDictionary(kv => kv.Key, kv => System.Environment.GetEnvironmentVariable(kv.Key));
        try
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
            Directory.SetCurrentDirectory(files.Root);
            foreach (var (key, value) in Environment()) System.Environment.SetEnvironmentVariable(key, value);
            int code = (int)EntryPoint.Invoke(null, [args])!;
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldError);
            Directory.SetCurrentDirectory(oldDirectory);
            foreach (var (key, value) in saved) System.Environment.SetEnvironmentVariable(key, value);
        }
    }

    /// <summary>6 training sequences of 12 steps, 2 valid and 2 test sequences of 10.</summary>
    private static string SyntheticDataSet()
    {
        int[][] chords = [[60, 64, 67], [62, 65, 69], [64, 67, 71], [65, 69, 72], [55, 59, 62], []];
        string Sequence(int offset, int length) =>
            "[" + string.Join(",", Enumerable.Range(0, length).Select(t => "[" + string.Join(",", chords[(t + offset) % chords.Length]) + "]")) + "]";
        string Split(int count, int length, int first) =>
            "[" + string.Join(",", Enumerable.Range(first, count).Select(i => Sequence(i, length))) + "]";
        return $"{{\"train\":{Split(6, 12, 0)},\"valid\":{Split(2, 10, 1)},\"test\":{Split(2, 10, 3)}}}";
    }
}

/// <summary>A theory that needs a user whom chmod binds (see <see cref="GatedProcess.RunUnprivileged"/>); skipped with the reason otherwise.</summary>
public sealed class UnprivilegedTheoryAttribute : TheoryAttribute
{
    public UnprivilegedTheoryAttribute()
    {
        if (GatedProcess.WhyNoUnprivilegedUser.Value is string reason) Skip = reason;
    }
}
