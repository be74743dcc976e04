namespace Gated.Reports;

/// <summary>A table of a report: column titles and rows of text cells (plain text; the page escapes it).</summary>
/// <param name="Caption">A line above the table, or null.</param>
/// <param name="Columns">The column titles.</param>
/// <param name="Rows">The rows, each with one cell per column.</param>
/// <param name="Collapsed">Whether the page shows the table folded away (long per-epoch histories).</param>
public sealed record ReportTable(string? Caption, IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<string>> Rows, bool Collapsed = false);

/// <summary>An SVG drawing of a report, read from the run folder or drawn from its numbers.</summary>
/// <param name="Source">The file it was read from (relative to the run folder), or null when the report drew it.</param>
/// <param name="Svg">The SVG element as text, without an XML declaration.</param>
/// <param name="Caption">What it shows.</param>
public sealed record ReportFigure(string? Source, string Svg, string Caption);

/// <summary>One part of a report: a training run, an experiment's results or loose figures.</summary>
/// <param name="Title">The heading.</param>
/// <param name="Kind"><c>training</c>, <c>chung2014</c>, <c>gates</c> or <c>figures</c>.</param>
/// <param name="Source">The file or folder the numbers come from (relative to the run folder), or null.</param>
/// <param name="Paragraphs">Text, in order; <c>**bold**</c> and <c>`code`</c> are the only markup.</param>
/// <param name="Tables">Tables, in order.</param>
/// <param name="Figures">Figures, in order.</param>
public sealed record ReportSection(string Title, string Kind, string? Source, IReadOnlyList<string> Paragraphs,
    IReadOnlyList<ReportTable> Tables, IReadOnlyList<ReportFigure> Figures);

/// <summary>A generated piece of music in the run folder: the MIDI file and its piano roll.</summary>
/// <param name="Name">The MIDI file's name.</param>
/// <param name="Midi">The file's bytes (the page offers them as a download, inline).</param>
/// <param name="Notes">The number of notes.</param>
/// <param name="Quarters">Its length in quarter notes.</param>
/// <param name="TempoBpm">Its tempo, or null when it sets none.</param>
/// <param name="PianoRoll">The piano roll: the SVG <c>gated sample</c> wrote beside it, or one drawn from the MIDI file.</param>
public sealed record ReportSample(string Name, byte[] Midi, int Notes, double Quarters, double? TempoBpm, ReportFigure PianoRoll);

/// <summary>A page written by <c>gated explain</c> (<see cref="Inspection.GateInspector.RenderHtml"/>) found in the run folder.</summary>
/// <param name="Name">The file name.</param>
/// <param name="Title">The page's title, or null.</param>
/// <param name="Html">The whole page.</param>
public sealed record ReportGatePage(string Name, string? Title, string Html);

/// <summary>What <see cref="RunReport.Gather"/> found in a run folder.</summary>
/// <param name="Folder">The run folder's full path.</param>
/// <param name="Sections">Training runs and experiment results, then loose figures.</param>
/// <param name="Samples">Generated music.</param>
/// <param name="GatePages">Gate pages.</param>
/// <param name="Notes">What was left out and why (unreadable or foreign files).</param>
public sealed record RunContents(string Folder, IReadOnlyList<ReportSection> Sections, IReadOnlyList<ReportSample> Samples,
    IReadOnlyList<ReportGatePage> GatePages, IReadOnlyList<string> Notes);
