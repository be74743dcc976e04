using System.Diagnostics;
using System.Text;
using Gated.IO.Safetensors;
using Gated.Models;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Gated.Tests.Reliability;

/// <summary>
/// <c>gated train</c> killed with SIGKILL at random moments and resumed with <c>--resume</c> must end
/// with exactly the model an uninterrupted run gives, and every checkpoint left behind must load.
/// </summary>
public sealed class KillResumeTests(ITestOutputHelper output) : IDisposable
{
    private const int Kills = 12;
    private const int Epochs = 30;
    private const double StartupMs = 300;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _root = Directory.CreateTempSubdirectory("gated-killresume-").FullName;

    public void Dispose()
    {
        try
        {
            foreach (var d in Directory.EnumerateDirectories(_root, "*", SearchOption.AllDirectories))
                if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(d, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            Directory.Delete(_root, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
    }

    private string[] TrainArgs(string data, string outFile, string runDir) =>
        ["train", "--data", data, "--cell", "gru", "--hidden", "16", "--epochs", Epochs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--seed", "3", "--patience", "100",
         "--out", outFile, "--run-dir", runDir];

    [Fact]
    public void KilledAndResumedRunEqualsUninterruptedRun()
    {
        string data = Path.Combine(_root, "data.json");
        File.WriteAllText(data, SyntheticDataSet(80, 40, 80));

        var watch = Stopwatch.StartNew();
        var a = Run(TrainArgs(data, Path.Combine(_root, "a.safetensors"), Path.Combine(_root, "runA")));
        Assert.True(a.ExitCode == 0, $"run A failed ({a.ExitCode}): {a.Stderr}");
        double runAMs = watch.Elapsed.TotalMilliseconds;
        output.WriteLine($"uninterrupted run: {runAMs:F0} ms");

        string runB = Path.Combine(_root, "runB");
        string outB = Path.Combine(_root, "b.safetensors");
        var rng = new Random(20261122);
        int kills = 0, killsWithCheckpoint = 0, tempFilesSeen = 0, maxEpochSeen = 0;
        var args = TrainArgs(data, outB, runB);
        for (int attempt = 0; kills < Kills && attempt < 40; attempt++)
        {
            bool resume = File.Exists(Path.Combine(runB, MusicTrainer.CheckpointFileName));
            // Spread the kills over the expected rest of the run (start-up, epochs, checkpoint writes),
            // keeping clear of its very end so that enough kills land before training finishes.
            double epochMs = Math.Max(1, (runAMs - StartupMs) / Epochs);
            // Each kill gets on average a share of the remaining epochs, so the kills spread over the run.
            double shareMs = 2 * (Epochs - maxEpochSeen) * epochMs / (Kills - kills + 1);
            int delay = rng.Next(100, (int)Math.Max(150, StartupMs + shareMs));
            using var process = Start(resume ? [.. args, "--resume"] : args);
            bool exited = process.WaitForExit(delay);
            if (exited)
            {
                process.WaitForExit();
                Assert.True(process.ExitCode == 0, $"run B exited with {process.ExitCode}: {process.StandardError.ReadToEnd()}");
                break; // finished before the kill; the loop below runs it to the end anyway
            }
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            kills++;

            string checkpoint = Path.Combine(runB, MusicTrainer.CheckpointFileName);
            if (File.Exists(checkpoint))
            {
                killsWithCheckpoint++;
                var file = SafetensorsFile.Read(checkpoint);
                MusicModel.Load(checkpoint);
                if (file.Metadata.TryGetValue("checkpoint.epoch", out var e) && int.TryParse(e, out int epoch))
                    maxEpochSeen = Math.Max(maxEpochSeen, epoch);
            }
            string best = Path.Combine(runB, MusicTrainer.BestFileName);
            if (File.Exists(best)) MusicModel.Load(best);
            if (Directory.Exists(runB)) tempFilesSeen += Directory.GetFiles(runB, "*.tmp").Length;
            output.WriteLine($"kill {kills} after {delay} ms (resume={resume}): checkpoint epoch {maxEpochSeen}");
        }

        // Let it finish (always with --resume: a run folder without a checkpoint starts afresh).
        var last = Run([.. args, "--resume"]);
        Assert.True(last.ExitCode == 0, $"final run B failed ({last.ExitCode}): {last.Stderr}");
        output.WriteLine($"{kills} kills ({killsWithCheckpoint} with a checkpoint on disk), stray temp files seen: {tempFilesSeen}, total {watch.Elapsed.TotalSeconds:F1} s");
        Assert.True(kills >= 10, $"only {kills} kills landed before the run finished");

        AssertSameTensors(Path.Combine(_root, "a.safetensors"), outB);
        AssertSameTensors(Path.Combine(_root, "runA", MusicTrainer.CheckpointFileName), Path.Combine(runB, MusicTrainer.CheckpointFileName));
        AssertSameTensors(Path.Combine(_root, "runA", MusicTrainer.BestFileName), Path.Combine(runB, MusicTrainer.BestFileName));
    }

    private static void AssertSameTensors(string expectedPath, string actualPath)
    {
        var expected = SafetensorsFile.Read(expectedPath);
        var actual = SafetensorsFile.Read(actualPath);
        Assert.Equal(expected.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal), actual.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var t in expected.Tensors)
        {
            var other = actual.Tensors.Single(x => x.Name == t.Name);
            Assert.True(t.Data.Span.SequenceEqual(other.Data.Span), $"tensor {t.Name} differs between {expectedPath} and {actualPath}");
        }
    }

    private CliResult Run(string[] args) =>
        GatedProcess.Run(_root, new Dictionary<string, string> { ["GATED_CACHE"] = Path.Combine(_root, "cache") }, Timeout, args);

    /// <summary>Starts the built CLI without waiting, so the test can kill it.</summary>
    private Process Start(string[] args)
    {
        string cli = Path.Combine(AppContext.BaseDirectory, "Gated.Cli.dll");
        if (!File.Exists(cli)) throw new XunitException($"{cli} is missing.");
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = _root,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add(cli);
        foreach (string arg in args) start.ArgumentList.Add(arg);
        start.Environment["NO_COLOR"] = "1";
        start.Environment["GATED_CACHE"] = Path.Combine(_root, "cache");
        var process = Process.Start(start)!;
        process.StandardInput.Close();
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        return process;
    }

    private static string DotnetHost()
    {
        string? fromSdk = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromSdk) && File.Exists(fromSdk)) return fromSdk;
        string? self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase) ? self : "dotnet";
    }

    /// <summary>Sequences of repeating chords with seeded lengths in [minLength, maxLength].</summary>
    private static string SyntheticDataSet(int trainCount, int minLength, int maxLength)
    {
        int[][] chords = [[60, 64, 67], [62, 65, 69], [64, 67, 71], [65, 69, 72], [55, 59, 62], [], [21], [108, 40]];
        var rng = new Random(7);
        string Sequence(int offset) =>
            "[" + string.Join(",", Enumerable.Range(0, rng.Next(minLength, maxLength + 1)).Select(t => "[" + string.Join(",", chords[(t * 3 + offset) % chords.Length]) + "]")) + "]";
        string Split(int count, int first) => "[" + string.Join(",", Enumerable.Range(first, count).Select(Sequence)) + "]";
        return $"{{\"train\":{Split(trainCount, 0)},\"valid\":{Split(Math.Max(2, trainCount / 6), 1)},\"test\":{Split(2, 3)}}}";
    }
}
