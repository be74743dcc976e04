using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;
using Gated.Cli.Commands;

// Exit codes: 0 success, 1 failure (bad data file, I/O error, divergence), 2 usage error, 130 cancelled.
// Every error is one line on stderr, "gated COMMAND: what is wrong (what was expected)"; --verbose adds the stack trace.
var root = new RootCommand("Gated: GRU, LSTM and RNN networks trained by backpropagation through time, in pure C#.");
var verbose = new Option<bool>("--verbose") { Description = "On an error, also print the exception and its stack trace.", Recursive = true };
root.Options.Add(verbose);
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(SampleCommand.Create());
root.Subcommands.Add(ReproduceCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(ExplainCommand.Create());
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(ConvertCommand.Create());
root.Subcommands.Add(ReportCommand.Create());

ParseResult parse = root.Parse(args);
CommonOptions.Verbose = parse.GetValue(verbose);
// The full command path ("gated reproduce gates"), for messages.
var path = new List<string>();
for (SymbolResult? r = parse.CommandResult; r is CommandResult c && c.Command != root; r = r.Parent) path.Insert(0, c.Command.Name);
string commandName = string.Join(' ', ["gated", .. path]);
if (parse.Errors.Count > 0 && parse.Action is ParseErrorAction)
{
    // One line naming the problem, instead of the error list followed by the whole help text.
    // An unknown word explains more than "Required command was not provided", so it goes first.
    string message = parse.Errors.Select(e => e.Message).OrderBy(m => m.StartsWith("Unrecognized", StringComparison.Ordinal) ? 0 : 1).First();
    message = string.Join(' ', message.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
    Console.Error.WriteLine($"{commandName}: {Friendly(message)} (see '{commandName} --help')");
    return ExitCodes.Usage;
}
try
{
    return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception ex)
{
    // The commands report their own errors; this is the last resort, still one line.
    Console.Error.WriteLine($"{commandName}: unexpected error ({ex.GetType().Name}): {ex.Message}{(CommonOptions.Verbose ? "" : " (run with --verbose for the stack trace)")}");
    if (CommonOptions.Verbose) Console.Error.WriteLine(ex.ToString());
    return ExitCodes.Failure;
}

// System.CommandLine names .NET types ("as expected type 'System.Int32'"); say what a user types instead.
static string Friendly(string message) => Regex.Replace(message, @"as expected type '([^']+)'", m =>
    "as " + (m.Groups[1].Value.Replace("System.Nullable`1[", "").TrimEnd(']') switch
    {
        "System.Int32" or "System.Int64" => "an integer",
        "System.Double" or "System.Single" => "a number",
        "System.Boolean" => "true or false",
        var other => other,
    }));
