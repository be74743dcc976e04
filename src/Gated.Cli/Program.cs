using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using Gated.Cli.Commands;

// Exit codes: 0 success, 1 failure (bad data file, I/O error, divergence), 2 usage error, 130 cancelled.
var root = new RootCommand("Gated: GRU, LSTM and RNN networks trained by backpropagation through time, in pure C#.");
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(SampleCommand.Create());
root.Subcommands.Add(ReproduceCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(ExplainCommand.Create());
root.Subcommands.Add(ReportCommand.Create());

ParseResult parse = root.Parse(args);
if (parse.Errors.Count > 0 && parse.Action is ParseErrorAction)
{
    // One line naming the problem, instead of the error list followed by the whole help text.
    // An unknown word explains more than "Required command was not provided", so it goes first.
    var path = new List<string>();
    for (SymbolResult? r = parse.CommandResult; r is CommandResult c && c.Command != root; r = r.Parent) path.Insert(0, c.Command.Name);
    string command = string.Join(' ', ["gated", .. path]);
    string message = parse.Errors.Select(e => e.Message).OrderBy(m => m.StartsWith("Unrecognized", StringComparison.Ordinal) ? 0 : 1).First();
    message = string.Join(' ', message.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
    Console.Error.WriteLine($"{command}: {message} (see '{command} --help')");
    return ExitCodes.Usage;
}
return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
