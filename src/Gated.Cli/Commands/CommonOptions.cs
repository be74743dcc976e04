using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.Json;
using Gated.Data;
using Gated.IO;
using Gated.IO.Safetensors;
using Gated.Layers;
using Gated.Models;
using Spectre.Console;

namespace Gated.Cli.Commands;

/// <summary>
/// The options, validators and output helpers the <c>gated</c> commands share. A validator adds one
/// sentence naming the option and the bad value; Program.cs prints the first such error on one line
/// and exits with <see cref="ExitCodes.Usage"/>.
/// </summary>
internal static class CommonOptions
{
    /// <summary>
    /// The console that progress of a long command goes to: stderr under --json (stdout holds the JSON), else
    /// stdout; colour and markup only on a terminal. Also says whether that stream is redirected.
    /// </summary>
    public static (IAnsiConsole Console, bool Redirected) ProgressConsole(bool json)
    {
        var writer = json ? Console.Error : Console.Out;
        bool redirected = json ? Console.IsErrorRedirected : Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = redirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = redirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
        });
        return (console, redirected);
    }

    /// <summary>The data set a command uses when <c>--data</c> is not given.</summary>
    public const string DefaultDataSet = "jsb";

    /// <summary>The data set names, for help texts.</summary>
    public const string DataSetNames = "jsb, nottingham, musedata, piano-midi";

    // ---------------------------------------------------------------- options

    /// <summary>An integer option in 1..max (the caps keep a typo from allocating tens of gigabytes).</summary>
    public static Option<int> PositiveInt(string name, string description, int defaultValue, int max, params string[] aliases)
    {
        var option = new Option<int>(name, aliases) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(result =>
        {
            if (TryGetValue(result, out int value)) CheckPositive(result, name, value, max);
        });
        return option;
    }

    /// <summary>An optional integer option in 1..max; null when not given.</summary>
    public static Option<int?> OptionalPositiveInt(string name, string description, int max, string helpName = "N")
    {
        var option = new Option<int?>(name) { Description = description, HelpName = helpName };
        option.Validators.Add(result =>
        {
            if (TryGetValue(result, out int? value) && value is int v) CheckPositive(result, name, v, max);
        });
        return option;
    }

    /// <summary>An integer option in 0..max.</summary>
    public static Option<int> NonNegativeInt(string name, string description, int defaultValue, int max)
    {
        var option = new Option<int>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(result =>
        {
            if (!TryGetValue(result, out int value)) return;
            if (value < 0) result.AddError($"{name} must be 0 or more, got {value}.");
            else if (value > max) result.AddError($"{name} must be at most {max}, got {value}.");
        });
        return option;
    }

    private static void CheckPositive(OptionResult result, string name, int value, int max)
    {
        if (value <= 0) result.AddError($"{name} must be a positive integer, got {value}.");
        else if (value > max) result.AddError($"{name} must be at most {max}, got {value}.");
    }

    /// <summary>A finite number &gt; 0 (at most <paramref name="max"/>).</summary>
    public static Option<double> PositiveDouble(string name, string description, double defaultValue, double max = double.MaxValue, params string[] aliases)
    {
        var option = new Option<double>(name, aliases) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(result =>
        {
            if (!TryGetValue(result, out double value)) return;
            if (!(double.IsFinite(value) && value > 0)) result.AddError($"{name} must be a positive number, got {Invariant(value)}.");
            else if (value > max) result.AddError($"{name} must be at most {Invariant(max)}, got {Invariant(value)}.");
        });
        return option;
    }

    /// <summary>An optional finite number &gt; 0; null when not given.</summary>
    public static Option<double?> OptionalPositiveDouble(string name, string description, string helpName)
    {
        var option = new Option<double?>(name) { Description = description, HelpName = helpName };
        option.Validators.Add(result =>
        {
            if (TryGetValue(result, out double? value) && value is double v && !(double.IsFinite(v) && v > 0))
                result.AddError($"{name} must be a positive number, got {Invariant(v)}.");
        });
        return option;
    }

    /// <summary>A number in an interval; <paramref name="interval"/> is how the message writes it, e.g. "[0, 1)".</summary>
    public static Option<double> DoubleInRange(string name, string description, double defaultValue, Func<double, bool> inRange, string interval)
    {
        var option = new Option<double>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(result =>
        {
            if (TryGetValue(result, out double value) && !(double.IsFinite(value) && inRange(value)))
                result.AddError($"{name} must be in {interval}, got {Invariant(value)}.");
        });
        return option;
    }

    /// <summary>A word from a fixed list (compared ignoring case), with a one-line error naming the choices.</summary>
    public static Option<string> Choice(string name, string description, string defaultValue, params string[] choices)
    {
        var option = new Option<string>(name)
        {
            Description = description,
            DefaultValueFactory = _ => defaultValue,
            HelpName = string.Join('|', choices),
        };
        option.Validators.Add(result =>
        {
            if (TryGetValue(result, out string? value) && !choices.Contains(value?.ToLowerInvariant()))
                result.AddError($"{name} must be {OrList(choices)}, got '{value}'.");
        });
        return option;
    }

    /// <summary><c>--cell gru|lstm|rnn</c>, default gru.</summary>
    public static Option<string> Cell() => Choice("--cell", "The recurrent cell: gru, lstm or rnn (tanh).", "gru", "gru", "lstm", "rnn");

    /// <summary>The cell kind of a <c>--cell</c> value, or null.</summary>
    public static CellKind? ParseCell(string? name) => name?.ToLowerInvariant() switch
    {
        "gru" => CellKind.Gru,
        "lstm" => CellKind.Lstm,
        "rnn" => CellKind.Rnn,
        _ => null,
    };

    /// <summary>
    /// <c>--data NAME|PATH</c>: a data set name (jsb, nottingham, musedata, piano-midi, found through
    /// $GATED_DATA, the cache or a download) or the path of a .json, .mat or .pkl file.
    /// </summary>
    public static Option<string> Data(string name = "--data", string? defaultValue = DefaultDataSet, string? description = null)
    {
        var option = new Option<string>(name)
        {
            Description = description ?? $"The data set: a name ({DataSetNames}; looked up in $GATED_DATA, the cache, or downloaded) or a .json/.mat/.pkl file.",
            HelpName = "NAME|PATH",
        };
        if (defaultValue is not null) option.DefaultValueFactory = _ => defaultValue;
        option.Validators.Add(result =>
        {
            if (TryGetValue(result, out string? value) && string.IsNullOrWhiteSpace(value))
                result.AddError($"{name} must name a data set ({DataSetNames}) or a file.");
        });
        return option;
    }

    /// <summary>A file to write: a valid path, not a folder, whose folder exists.</summary>
    public static Option<string> OutputFile(string name, string description, string? defaultValue = null, bool required = false, params string[] aliases)
    {
        var option = new Option<string>(name, aliases) { Description = description, HelpName = "PATH", Required = required };
        if (defaultValue is not null) option.DefaultValueFactory = _ => defaultValue;
        option.Validators.Add(result =>
        {
            if (!TryGetValue(result, out string? path) || path is null) return;
            string? error = CheckOutputPath(name, path);
            if (error is not null) result.AddError(error);
        });
        return option;
    }

    /// <summary>Null when <paramref name="path"/> can be written as a file, else a one-line error naming <paramref name="name"/>.</summary>
    public static string? CheckOutputPath(string name, string path)
    {
        if (string.IsNullOrWhiteSpace(path)) return $"{name} must name a file.";
        string full;
        try { full = Path.GetFullPath(path); }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return $"{name}: '{path}' is not a valid path.";
        }
        string? directory = Path.GetDirectoryName(full);
        if (Directory.Exists(full)) return $"{name}: '{path}' is a directory; give a file name.";
        if (directory is null || !Directory.Exists(directory)) return $"{name}: the directory of '{path}' does not exist.";
        return null;
    }

    /// <summary>A file to read, as a positional argument (its existence is checked when the command runs, exit code 1).</summary>
    public static Argument<string> InputFile(string name, string description) => new(name) { Description = description, HelpName = name };

    /// <summary><c>--json</c>: one JSON document on stdout instead of tables.</summary>
    public static Option<bool> Json() => new("--json") { Description = "Print one JSON document on stdout instead of tables and progress." };

    /// <summary>Whether an option was given on the command line (rather than taking its default).</summary>
    public static bool IsGiven(CommandResult command, Option option) => command.GetResult(option) is { Implicit: false };

    /// <summary>The option's value, or false when it did not parse (System.CommandLine reports that error itself).</summary>
    public static bool TryGetValue<T>(OptionResult result, out T? value)
    {
        try
        {
            value = result.GetValueOrDefault<T>();
            return true;
        }
        catch (InvalidOperationException)
        {
            value = default;
            return false;
        }
    }

    private static string OrList(string[] choices) =>
        choices.Length == 1 ? choices[0] : string.Join(", ", choices[..^1]) + " or " + choices[^1];

    // ---------------------------------------------------------------- data

    /// <summary>
    /// Loads a data set by name or path (<see cref="PolyphonicDataSets.Load"/>: $GATED_DATA, then the
    /// cache, then a verified download). Notes such as a download starting go to stderr.
    /// </summary>
    /// <exception cref="DataSetNotFoundException">Not found (the message says what was tried).</exception>
    /// <exception cref="GatedFormatException">Not a valid data set; a model file given as data gets a message that says so.</exception>
    public static PianoRollDataset LoadData(string nameOrPath, CancellationToken cancellationToken)
    {
        var options = new DataSetResolveOptions { Log = message => Console.Error.WriteLine(message) };
        try
        {
            return PolyphonicDataSets.Load(nameOrPath, options, null, cancellationToken);
        }
        catch (GatedFormatException) when (File.Exists(nameOrPath) && LooksLikeSafetensors(nameOrPath))
        {
            throw new GatedFormatException(nameOrPath,
                $"this is a safetensors file (a model?), not a data set; --data takes a data set name ({DataSetNames}) or a .json, .mat or .pkl data file.");
        }
    }

    /// <summary>
    /// Reads a model file saved by <c>gated train</c> or <c>gated demo</c>, with its metadata.
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="GatedFormatException">The file is not a safetensors file, or not a Gated music model.</exception>
    public static (MusicModel Model, IReadOnlyDictionary<string, string> Metadata) LoadModel(string path)
    {
        if (Directory.Exists(path)) throw new GatedFormatException(path, "this is a folder; give a model file (safetensors) saved by 'gated train'.");
        if (!File.Exists(path)) throw new FileNotFoundException($"model file not found: {path}", path);
        if (!LooksLikeSafetensors(path))
            throw new GatedFormatException(path, "not a model file: it is not in the safetensors format (expected a model saved by 'gated train' or 'gated demo').");
        var file = SafetensorsFile.Read(path);
        return (MusicModel.FromSafetensors(file), file.Metadata);
    }

    /// <summary>The steps per quarter note of the data set a name or path refers to (jsb → 1, the others → 2), or null when unknown.</summary>
    public static int? StepsPerQuarterOf(string? nameOrPath)
    {
        if (string.IsNullOrWhiteSpace(nameOrPath)) return null;
        var info = PolyphonicDataSets.Find(nameOrPath) ?? PolyphonicDataSets.Find(Path.GetFileNameWithoutExtension(nameOrPath.Trim()));
        return info?.StepsPerQuarter;
    }

    /// <summary>Whether a file starts like a safetensors file: an 8-byte little-endian header length, then '{'.</summary>
    public static bool LooksLikeSafetensors(string path)
    {
        try
        {
            Span<byte> head = stackalloc byte[9];
            using var stream = File.OpenRead(path);
            if (stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) < head.Length) return false;
            long length = BitConverter.ToInt64(head[..8]);
            return head[8] == (byte)'{' && length > 1 && length <= stream.Length - 8;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    // ---------------------------------------------------------------- output

    /// <summary>Whether live progress can be drawn: stdout is a terminal and the console is interactive.</summary>
    public static bool IsTerminal => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>
    /// Prints a line of Spectre markup on stdout; the interpolated values are escaped and formatted
    /// with the invariant culture. When stdout is not a terminal the markup is stripped and the line
    /// written as it is (Spectre would wrap it at 80 columns).
    /// </summary>
    public static void Line(FormattableString markup)
    {
        string text = EscapeInterpolated(markup);
        if (IsTerminal) AnsiConsole.MarkupLine(text);
        else Console.Out.WriteLine(Markup.Remove(text));
    }

    private static string EscapeInterpolated(FormattableString markup) => markup.ToString(EscapingFormatter.Instance);

    /// <summary>Formats each interpolated value with the invariant culture and escapes it for Spectre markup.</summary>
    private sealed class EscapingFormatter : IFormatProvider, ICustomFormatter
    {
        public static readonly EscapingFormatter Instance = new();

        public object? GetFormat(Type? formatType) => formatType == typeof(ICustomFormatter) ? this : null;

        public string Format(string? format, object? arg, IFormatProvider? formatProvider) => arg is RawMarkup raw ? raw.Text : Markup.Escape(arg switch
        {
            null => "",
            IFormattable f => f.ToString(format, CultureInfo.InvariantCulture),
            _ => arg.ToString() ?? "",
        });
    }

    /// <summary>Markup to insert into <see cref="Line"/> as it is, unescaped (e.g. a coloured marker).</summary>
    public readonly record struct RawMarkup(string Text);

    /// <summary>Whether <c>--verbose</c> was given: errors then also print the exception with its stack trace.</summary>
    public static bool Verbose { get; set; }

    /// <summary>
    /// Prints <c>gated COMMAND: message</c> on stderr as one line (a message of several lines is joined) and
    /// returns <paramref name="exitCode"/>; with <c>--verbose</c>, <paramref name="exception"/> follows in full.
    /// </summary>
    public static int Fail(string command, string message, int exitCode = ExitCodes.Failure, Exception? exception = null)
    {
        string line = string.Join(' ', message.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));
        Console.Error.WriteLine($"gated {command}: {line}");
        if (Verbose && exception is not null) Console.Error.WriteLine(exception.ToString());
        return exitCode;
    }

    /// <summary>
    /// Turns the exceptions every command can meet into one message on stderr and an exit code:
    /// cancellation → 130, missing or malformed files, I/O errors → 1. Anything else is reported
    /// the same way (exit 1) rather than as a stack trace.
    /// </summary>
    public static int Guard(string command, Func<int> body, Func<Exception, string?>? describe = null)
    {
        try
        {
            return body();
        }
        catch (Exception ex) when (describe?.Invoke(ex) is string special)
        {
            return Fail(command, special, ex is OperationCanceledException ? ExitCodes.Cancelled : ExitCodes.Failure, ex);
        }
        catch (OperationCanceledException ex)
        {
            return Fail(command, "cancelled.", ExitCodes.Cancelled, ex);
        }
        catch (Exception ex) when (ex is DataSetNotFoundException or GatedFormatException or IOException or UnauthorizedAccessException)
        {
            // Missing or malformed files and I/O errors (FileNotFoundException and DirectoryNotFoundException are IOExceptions).
            return Fail(command, ex.Message, ExitCodes.Failure, ex);
        }
        catch (OutOfMemoryException ex)
        {
            return Fail(command, "out of memory; try a smaller model or data set.", ExitCodes.Failure, ex);
        }
        catch (Exception ex)
        {
            return Fail(command, $"unexpected error ({ex.GetType().Name}): {ex.Message}{(Verbose ? "" : " (run with --verbose for the stack trace)")}", ExitCodes.Failure, ex);
        }
    }

    /// <summary>Writes one indented JSON document and a newline on stdout.</summary>
    public static void WriteJson(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            write(w);
        }
        buffer.WriteByte((byte)'\n');
        using var stdout = Console.OpenStandardOutput();
        stdout.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>JSON has no NaN: a value that is not finite is written as null.</summary>
    public static void WriteNumberOrNull(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value);
        else w.WriteNull(name);
    }

    /// <summary>A number or null.</summary>
    public static void WriteNumberOrNull(Utf8JsonWriter w, string name, double? value)
    {
        if (value is double v) WriteNumberOrNull(w, name, v);
        else w.WriteNull(name);
    }

    /// <summary>A number with the invariant culture ("R" for doubles).</summary>
    public static string Invariant(IFormattable value) => value is double d
        ? d.ToString("R", CultureInfo.InvariantCulture)
        : value.ToString(null, CultureInfo.InvariantCulture);

    /// <summary>A fixed-point number with the invariant culture, or "n/a" when not finite.</summary>
    public static string Fixed(double value, int decimals) =>
        double.IsFinite(value) ? value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) : "n/a";

    /// <summary>Calls the handler on the reporting thread (unlike <see cref="Progress{T}"/>, which posts).</summary>
    public sealed class SyncProgress<T>(Action<T> handler) : IProgress<T>
    {
        /// <inheritdoc/>
        public void Report(T value) => handler(value);
    }
}
