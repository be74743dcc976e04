using System.CommandLine;
using System.Text;
using System.Text.Json;
using Gated.IO;
using Gated.Reports;

namespace Gated.Cli.Commands;

/// <summary>
/// <c>gated report RUN_FOLDER</c>: one self-contained HTML page of what a run left in its folder — metrics,
/// learning curves, samples and gate pages (<see cref="RunReport"/>). This class only checks, writes and prints.
/// </summary>
internal static class ReportCommand
{
    private const string Name = "report";

    public static Command Create()
    {
        var folder = new Argument<string>("RUN_FOLDER")
        {
            Description = "The folder a run wrote into: MODEL.run or the folder of 'gated train --out', the --out folder of 'gated reproduce', a folder of samples and gate pages.",
            HelpName = "RUN_FOLDER",
        };
        var output = CommonOptions.OutputFile("--out", "Where to write the HTML page. Default: RUN_FOLDER/report.html.", aliases: "-o");
        var title = new Option<string?>("--title") { Description = "The page title. Default: names the folder.", HelpName = "TEXT" };
        var json = CommonOptions.Json();
        var command = new Command(Name,
            "Gather a run's metrics, learning curves, samples (MIDI and piano roll) and gate pages into one self-contained HTML page (inline SVG, no script, nothing loaded).")
        {
            folder, output, title, json,
        };
        command.SetAction((parseResult, cancellationToken) => Task.FromResult(CommonOptions.Guard(Name, () => Run(
            parseResult.GetValue(folder)!,
            parseResult.GetValue(output),
            parseResult.GetValue(title),
            parseResult.GetValue(json)))));
        return command;
    }

    private static int Run(string folder, string? outPath, string? title, bool json)
    {
        string target = outPath ?? Path.Combine(folder, "report.html");
        var contents = RunReport.Gather(folder, exclude: target);
        string pageTitle = string.IsNullOrWhiteSpace(title) ? $"Run report: {Path.GetFileName(contents.Folder.TrimEnd(Path.DirectorySeparatorChar))}" : title;
        string html = RunReport.RenderHtml(contents, pageTitle);
        AtomicFile.Write(target, stream => stream.Write(new UTF8Encoding(false).GetBytes(html)));
        string outFull = Path.GetFullPath(target);

        if (json)
        {
            CommonOptions.WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("folder", contents.Folder);
                w.WriteString("out", outFull);
                w.WriteNumber("bytes", Encoding.UTF8.GetByteCount(html));
                w.WriteStartArray("sections");
                foreach (var s in contents.Sections)
                {
                    w.WriteStartObject();
                    w.WriteString("title", s.Title);
                    w.WriteString("kind", s.Kind);
                    if (s.Source is null) w.WriteNull("source");
                    else w.WriteString("source", s.Source);
                    w.WriteNumber("tables", s.Tables.Count);
                    w.WriteNumber("figures", s.Figures.Count);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("samples");
                foreach (var s in contents.Samples) w.WriteStringValue(s.Name);
                w.WriteEndArray();
                w.WriteStartArray("gate_pages");
                foreach (var p in contents.GatePages) w.WriteStringValue(p.Name);
                w.WriteEndArray();
                w.WriteStartArray("notes");
                foreach (string n in contents.Notes) w.WriteStringValue(n);
                w.WriteEndArray();
                w.WriteEndObject();
            });
            return ExitCodes.Success;
        }
        CommonOptions.Line($"[bold]Folder[/]    {contents.Folder}");
        foreach (var s in contents.Sections)
            CommonOptions.Line($"[bold]Section[/]   {s.Title}{(s.Source is null || s.Title.EndsWith(s.Source, StringComparison.Ordinal) ? "" : $" ({s.Source})")}: {s.Tables.Count} table(s), {s.Figures.Count} figure(s)");
        if (contents.Samples.Count > 0) CommonOptions.Line($"[bold]Samples[/]   {string.Join(", ", contents.Samples.Select(s => s.Name))}");
        if (contents.GatePages.Count > 0) CommonOptions.Line($"[bold]Gates[/]     {string.Join(", ", contents.GatePages.Select(p => p.Name))}");
        foreach (string n in contents.Notes) CommonOptions.Line($"[grey]Note      {n}[/]");
        CommonOptions.Line($"Wrote {outFull}");
        return ExitCodes.Success;
    }
}
