using System.CommandLine;
using System.Globalization;
using Gated.Data;
using Gated.IO.Midi;
using Gated.Models;
using Gated.Plots;

namespace Gated.Cli.Commands;

/// <summary>
/// <c>gated sample MODEL</c>: generates music with a saved model (<see cref="MusicModel.Sample"/>),
/// optionally continuing the start of a test-split sequence, and writes it as a Standard MIDI File
/// and a piano-roll SVG with the predicted probabilities shaded under the sampled notes.
/// </summary>
internal static class SampleCommand
{
    private const string Name = "sample";
    private static readonly int[] StepsPerQuarterChoices = [1, 2, 3, 4, 6, 8];

    private sealed record Settings(
        string ModelPath, int Steps, int Seed, string? PrimerData, int PrimerIndex, int PrimerSteps,
        int? StepsPerQuarter, double Tempo, string OutPath, string SvgPath, bool Json);

    public static Command Create()
    {
        var model = CommonOptions.InputFile("MODEL", "A model saved by 'gated train' or 'gated demo' (safetensors).");
        var steps = CommonOptions.PositiveInt("--steps", "Time steps to generate (after the primer).", 128, max: 100_000);
        var seed = new Option<int>("--seed") { Description = "Seed of the draws; the same seed gives the same piece.", DefaultValueFactory = _ => 1 };
        var primerData = CommonOptions.Data("--primer-data", defaultValue: null,
            description: $"Start from the beginning of a test-split sequence of this data set: a name ({CommonOptions.DataSetNames}) or a .json/.mat/.pkl file. Default: start from silence.");
        var primerIndex = CommonOptions.NonNegativeInt("--primer-index", "Which test sequence to take the primer from (0-based).", 0, max: 1_000_000);
        var primerSteps = CommonOptions.PositiveInt("--primer-steps", "How many of its first steps to use as the primer.", 8, max: 100_000);
        var stepsPerQuarter = new Option<int?>("--steps-per-quarter")
        {
            Description = "Time steps per quarter note in the MIDI file: 1 (JSB Chorales) or 2 (the other data sets). Default: from --primer-data's name, else from the data set the model was trained on, else 2.",
            HelpName = "1|2",
        };
        stepsPerQuarter.Validators.Add(result =>
        {
            if (CommonOptions.TryGetValue(result, out int? value) && value is int v && !StepsPerQuarterChoices.Contains(v))
                result.AddError($"--steps-per-quarter must be one of {string.Join(", ", StepsPerQuarterChoices)}, got {v}.");
        });
        var tempo = CommonOptions.PositiveDouble("--tempo", "Quarter notes per minute.", 100, max: 10_000);
        var output = CommonOptions.OutputFile("--out", "Where to write the Standard MIDI File (.mid).", required: true, aliases: "-o");
        var svg = CommonOptions.OutputFile("--svg", "Where to write the piano-roll SVG. Default: --out with the extension .svg.");
        var json = CommonOptions.Json();

        var command = new Command(Name, "Generate music with a saved model: write a MIDI file and a piano-roll SVG of the notes over the predicted probabilities.")
        {
            model, steps, seed, primerData, primerIndex, primerSteps, stepsPerQuarter, tempo, output, svg, json,
        };
        command.Validators.Add(result =>
        {
            if (!CommonOptions.IsGiven(result, primerData))
                foreach (var primerOnly in new Option[] { primerIndex, primerSteps })
                    if (CommonOptions.IsGiven(result, primerOnly))
                        result.AddError($"{primerOnly.Name} needs --primer-data.");
        });
        command.SetAction((parseResult, cancellationToken) =>
        {
            string outPath = parseResult.GetValue(output)!;
            var settings = new Settings(
                parseResult.GetValue(model)!,
                parseResult.GetValue(steps),
                parseResult.GetValue(seed),
                parseResult.GetValue(primerData),
                parseResult.GetValue(primerIndex),
                parseResult.GetValue(primerSteps),
                parseResult.GetValue(stepsPerQuarter),
                parseResult.GetValue(tempo),
                outPath,
                parseResult.GetValue(svg) ?? Path.ChangeExtension(outPath, ".svg"),
                parseResult.GetValue(json));
            return Task.FromResult(CommonOptions.Guard(Name, () => Run(settings, cancellationToken)));
        });
        return command;
    }

    private static int Run(Settings s, CancellationToken cancellationToken)
    {
        if (Path.GetFullPath(s.SvgPath) == Path.GetFullPath(s.OutPath))
            return CommonOptions.Fail(Name, "--svg and --out name the same file.", ExitCodes.Usage);

        var (model, metadata) = CommonOptions.LoadModel(s.ModelPath);
        metadata.TryGetValue("training.data", out string? trainedOn);

        PianoRoll? primer = null;
        string? primerSource = null;
        if (s.PrimerData is not null)
        {
            var dataset = CommonOptions.LoadData(s.PrimerData, cancellationToken);
            primerSource = dataset.SourceName ?? s.PrimerData;
            if (s.PrimerIndex >= dataset.Test.Count)
                return CommonOptions.Fail(Name, $"--primer-index {s.PrimerIndex} is out of range: {primerSource} has {dataset.Test.Count} test sequences (0..{dataset.Test.Count - 1}).", ExitCodes.Usage);
            var source = dataset.Test[s.PrimerIndex];
            int length = Math.Min(s.PrimerSteps, source.Length);
            if (length < s.PrimerSteps && !s.Json)
                Console.Error.WriteLine($"gated {Name}: test sequence {s.PrimerIndex} has only {source.Length} steps; using all of them as the primer.");
            primer = PianoRoll.FromPitches(Enumerable.Range(0, length).Select(source.PitchesAt));
        }
        int stepsPerQuarter = s.StepsPerQuarter
            ?? CommonOptions.StepsPerQuarterOf(s.PrimerData)
            ?? CommonOptions.StepsPerQuarterOf(trainedOn)
            ?? 2;

        cancellationToken.ThrowIfCancellationRequested();
        var probabilities = new float[s.Steps * MusicModel.Keys];
        var roll = model.Sample(s.Steps, s.Seed, primer, probabilities);
        int primerLength = primer?.Length ?? 0;
        int generatedNotes = roll.NoteCount - (primer?.NoteCount ?? 0);
        double notesPerStep = (double)generatedNotes / s.Steps;

        MidiWriter.WriteFile(s.OutPath, roll, new MidiOptions { StepsPerQuarter = stepsPerQuarter, TempoBpm = s.Tempo });

        // The primer steps were not predicted: no probabilities under them (NaN is not drawn).
        var shaded = new float[roll.Length * MusicModel.Keys];
        Array.Fill(shaded, float.NaN, 0, primerLength * MusicModel.Keys);
        probabilities.CopyTo(shaded, primerLength * MusicModel.Keys);
        var plot = new PianoRollPlot(roll, shaded)
        {
            Title = primer is null
                ? $"{Path.GetFileName(s.ModelPath)}: {s.Steps} sampled steps, seed {s.Seed}"
                : $"{Path.GetFileName(s.ModelPath)}: {s.Steps} steps sampled after {primerLength} primer steps, seed {s.Seed}",
            XLabel = stepsPerQuarter switch
            {
                1 => "time step (quarter notes)",
                2 => "time step (eighth notes)",
                4 => "time step (sixteenth notes)",
                _ => $"time step (1/{stepsPerQuarter} of a quarter note)",
            },
            ProbabilityLabel = "predicted P(note on)",
        };
        plot.WriteFile(s.SvgPath);

        string midiFull = Path.GetFullPath(s.OutPath), svgFull = Path.GetFullPath(s.SvgPath);
        if (s.Json)
        {
            CommonOptions.WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("model", Path.GetFullPath(s.ModelPath));
                w.WriteNumber("seed", s.Seed);
                w.WriteNumber("steps", s.Steps);
                if (primer is null) w.WriteNull("primer");
                else
                {
                    w.WriteStartObject("primer");
                    w.WriteString("data", primerSource);
                    w.WriteString("split", "test");
                    w.WriteNumber("index", s.PrimerIndex);
                    w.WriteNumber("steps", primerLength);
                    w.WriteEndObject();
                }
                w.WriteNumber("total_steps", roll.Length);
                w.WriteNumber("notes", generatedNotes);
                w.WriteNumber("notes_per_step", notesPerStep);
                w.WriteNumber("steps_per_quarter", stepsPerQuarter);
                w.WriteNumber("tempo_bpm", s.Tempo);
                w.WriteString("midi", midiFull);
                w.WriteString("svg", svgFull);
                w.WriteEndObject();
            });
            return ExitCodes.Success;
        }

        CommonOptions.Line($"[bold]Model[/]    {Path.GetFullPath(s.ModelPath)}: {model}");
        if (primer is not null)
            CommonOptions.Line($"[bold]Primer[/]   the first {primerLength} steps of test sequence {s.PrimerIndex} of {primerSource}");
        CommonOptions.Line($"[bold]Sampled[/]  {s.Steps} steps, seed {s.Seed}: {generatedNotes} notes, {notesPerStep:F2} notes per step");
        CommonOptions.Line($"[bold]MIDI[/]     {midiFull} ({roll.Length} steps, {stepsPerQuarter} per quarter note, {s.Tempo.ToString(CultureInfo.InvariantCulture)} bpm)");
        CommonOptions.Line($"[bold]SVG[/]      {svgFull}");
        return ExitCodes.Success;
    }
}
