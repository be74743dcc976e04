using System.Diagnostics;
using Gated.IO.Safetensors;
using Gated.Models;
using Xunit.Abstractions;

namespace Gated.Tests.Reliability;

/// <summary>
/// <c>gated train</c> against real file-system faults: a full disk (a small tmpfs filled up), a read-only
/// file system (the tmpfs remounted read-only) and a folder the user may not write (chmod 555, the tool run
/// as an unprivileged user). Each time the command must stop with one line naming the file and the cause,
/// before training when the fault is there from the start, and leave the previous checkpoint byte for byte
/// as it was, loadable, with no temporary files.
/// </summary>
/// <remarks>Mounting needs root (CAP_SYS_ADMIN) on Linux; elsewhere these tests are skipped and say why.</remarks>
public sealed class FaultTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private readonly string _root = CreateRoot();
    private readonly List<Tmpfs> _mounts = [];

    private static string CreateRoot()
    {
        string root = Directory.CreateTempSubdirectory("gated-faults-").FullName;
        // The unprivileged child must reach the data and the tool.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(root, (UnixFileMode)0b111_101_101);
        return root;
    }

    public void Dispose()
    {
        foreach (var mount in _mounts) mount.Dispose();
        try
        {
            if (!OperatingSystem.IsWindows())
                foreach (string d in Directory.EnumerateDirectories(_root, "*", SearchOption.AllDirectories))
                    File.SetUnixFileMode(d, (UnixFileMode)0b111_101_101);
            Directory.Delete(_root, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
    }

    private string Data()
    {
        string path = Path.Combine(_root, "data.json");
        if (!File.Exists(path)) File.WriteAllText(path, SyntheticDataSet());
        return path;
    }

    private string[] Train(string outFile, string runDir, int epochs, bool resume) =>
        ["train", "--data", Data(), "--hidden", "8", "--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture),
         "--seed", "5", "--out", outFile, "--run-dir", runDir, .. (resume ? new[] { "--resume" } : [])];

    [TmpfsFact]
    public void DiskFullStopsWithOneLineAndKeepsTheCheckpoint()
    {
        var fs = Mount("full", "512k");
        string runDir = Path.Combine(fs.Path, "run"), outFile = Path.Combine(_root, "m.safetensors");
        string checkpoint = Path.Combine(runDir, MusicTrainer.CheckpointFileName);
        AssertSuccess(Run(Train(outFile, runDir, 1, resume: false)));
        byte[] before = File.ReadAllBytes(checkpoint);

        // 1. The disk is full from the start: refused before the first epoch.
        Fill(fs.Path, leaveBytes: 0);
        var full = Run(Train(outFile, runDir, 3, resume: true));
        AssertOneLineFailure(full, checkpoint, "the disk is full", "(after epoch 1), is intact");
        Assert.DoesNotContain("epoch 2", full.Stdout);
        AssertUnchanged(checkpoint, before, runDir);

        // 2. Room for the best model but not for the checkpoint: epoch 2 is lost, the checkpoint of epoch 1 is not.
        Fill(fs.Path, leaveBytes: 24 << 10);
        var almost = Run(Train(outFile, runDir, 3, resume: true));
        AssertOneLineFailure(almost, checkpoint, "flushing the data to disk failed: the disk is full", "(after epoch 1), is intact");
        AssertUnchanged(checkpoint, before, runDir);

        // 3. With room again, --resume finishes and gives the model of an uninterrupted run.
        File.Delete(Path.Combine(fs.Path, "filler"));
        AssertSuccess(Run(Train(outFile, runDir, 3, resume: true)));
        string straight = Path.Combine(_root, "straight.safetensors");
        AssertSuccess(Run(Train(straight, Path.Combine(_root, "straight.run"), 3, resume: false)));
        AssertSameTensors(straight, outFile);
    }

    [TmpfsFact]
    public void ReadOnlyFileSystemIsRefusedBeforeTraining()
    {
        var fs = Mount("ro", "1m");
        string runDir = Path.Combine(fs.Path, "run");
        string checkpoint = Path.Combine(runDir, MusicTrainer.CheckpointFileName);
        AssertSuccess(Run(Train(Path.Combine(fs.Path, "m.safetensors"), runDir, 1, resume: false)));
        byte[] before = File.ReadAllBytes(checkpoint);
        fs.RemountReadOnly();

        // The run folder on the read-only file system.
        var r = Run(Train(Path.Combine(_root, "elsewhere.safetensors"), runDir, 3, resume: true));
        AssertOneLineFailure(r, checkpoint, "the file system is read-only", "(after epoch 1), is intact");
        Assert.DoesNotContain("epoch 2", r.Stdout);
        AssertUnchanged(checkpoint, before, runDir);

        // --out on the read-only file system: refused before the data is even loaded.
        string outFile = Path.Combine(fs.Path, "m.safetensors");
        var o = Run(Train(outFile, Path.Combine(_root, "run2"), 3, resume: false));
        AssertOneLineFailure(o, outFile, "the file system is read-only");
        Assert.Equal("", o.Stdout);
    }

    [UnprivilegedFact]
    public void FolderWithoutWritePermissionIsRefusedBeforeTraining()
    {
        string runDir = Path.Combine(_root, "locked");
        string checkpoint = Path.Combine(runDir, MusicTrainer.CheckpointFileName);
        AssertSuccess(Run(Train(Path.Combine(_root, "m.safetensors"), runDir, 1, resume: false)));
        byte[] before = File.ReadAllBytes(checkpoint);
        if (OperatingSystem.IsWindows()) return; // the attribute skips Windows
        File.SetUnixFileMode(runDir, (UnixFileMode)0b101_101_101);
        string writable = Path.Combine(_root, "open");
        Directory.CreateDirectory(writable);
        File.SetUnixFileMode(writable, (UnixFileMode)0b111_111_111);

        var r = RunUnprivileged(Train(Path.Combine(writable, "m.safetensors"), runDir, 3, resume: true));
        AssertOneLineFailure(r, checkpoint, "is not permitted", "(after epoch 1), is intact");
        Assert.DoesNotContain("epoch 2", r.Stdout);
        AssertUnchanged(checkpoint, before, runDir);

        // --out in a folder the user may not write.
        string outFile = Path.Combine(runDir, "m.safetensors");
        var o = RunUnprivileged(Train(outFile, Path.Combine(writable, "run"), 2, resume: false));
        AssertOneLineFailure(o, outFile, "is not permitted");
        Assert.Equal("", o.Stdout);
    }

    // ------------------------------------------------------------------ helpers

    private Tmpfs Mount(string name, string size)
    {
        var fs = new Tmpfs(Path.Combine(_root, name), size);
        _mounts.Add(fs);
        return fs;
    }

    /// <summary>Fills the file system of <paramref name="folder"/> with a file "filler", then gives back <paramref name="leaveBytes"/>.</summary>
    private static void Fill(string folder, long leaveBytes)
    {
        string filler = Path.Combine(folder, "filler");
        using var f = new FileStream(filler, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        var chunk = new byte[4096];
        try
        {
            while (true) f.Write(chunk);
        }
        catch (IOException)
        {
            // ENOSPC: full.
        }
        f.SetLength(Math.Max(0, f.Length - leaveBytes));
    }

    private void AssertOneLineFailure(CliResult r, string path, params string[] fragments)
    {
        output.WriteLine($"exit {r.ExitCode}: {r.Stderr.Trim()}");
        Assert.True(r.ExitCode == 1, $"exit code {r.ExitCode}, expected 1\nstdout:\n{r.Stdout}\nstderr:\n{r.Stderr}");
        string[] lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, "expected one line on stderr, got:\n" + r.Stderr);
        Assert.StartsWith("gated train: Cannot write '" + path + "'", lines[0], StringComparison.Ordinal);
        foreach (string f in fragments) Assert.Contains(f, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
    }

    private static void AssertUnchanged(string checkpoint, byte[] before, string runDir)
    {
        Assert.Equal(before, File.ReadAllBytes(checkpoint));
        MusicModel.Load(checkpoint);
        Assert.Empty(Directory.GetFiles(runDir, "*.tmp"));
    }

    private static void AssertSuccess(CliResult r) =>
        Assert.True(r.ExitCode == 0, $"exit code {r.ExitCode}\nstdout:\n{r.Stdout}\nstderr:\n{r.Stderr}");

    private static void AssertSameTensors(string expectedPath, string actualPath)
    {
        var expected = SafetensorsFile.Read(expectedPath);
        var actual = SafetensorsFile.Read(actualPath);
        Assert.Equal(expected.Tensors.Select(t => t.Name), actual.Tensors.Select(t => t.Name));
        foreach (var t in expected.Tensors)
            Assert.True(t.Data.Span.SequenceEqual(actual[t.Name].Data.Span), $"tensor {t.Name} differs");
    }

    private CliResult Run(string[] args) =>
        GatedProcess.Run(_root, new Dictionary<string, string> { ["GATED_CACHE"] = Path.Combine(_root, "cache") }, Timeout, args);

    private CliResult RunUnprivileged(string[] args) =>
        GatedProcess.RunUnprivileged(_root, new Dictionary<string, string> { ["GATED_CACHE"] = Path.Combine(_root, "cache") }, Timeout, args);

    private static string SyntheticDataSet()
    {
        int[][] chords = [[60, 64, 67], [62, 65, 69], [64, 67, 71], [65, 69, 72], [55, 59, 62], [], [21], [108, 40]];
        var rng = new Random(11);
        string Sequence(int offset) =>
            "[" + string.Join(",", Enumerable.Range(0, rng.Next(20, 40)).Select(t => "[" + string.Join(",", chords[(t * 3 + offset) % chords.Length]) + "]")) + "]";
        string Split(int count, int first) => "[" + string.Join(",", Enumerable.Range(first, count).Select(Sequence)) + "]";
        return $"{{\"train\":{Split(24, 0)},\"valid\":{Split(4, 1)},\"test\":{Split(2, 3)}}}";
    }
}

/// <summary>A tmpfs mounted for a test, unmounted on dispose.</summary>
internal sealed class Tmpfs : IDisposable
{
    public Tmpfs(string path, string size)
    {
        Path = path;
        Directory.CreateDirectory(path);
        Mount("-t", "tmpfs", "-o", $"size={size},mode=0755", "tmpfs", path);
    }

    public string Path { get; }

    public void RemountReadOnly() => Mount("-o", "remount,ro", Path);

    public void Dispose()
    {
        if (Command("umount", Path).ExitCode != 0) Command("umount", "-l", Path);
    }

    /// <summary>Whether this process can mount a tmpfs (Linux, root or CAP_SYS_ADMIN); tried once.</summary>
    public static readonly Lazy<string?> WhyNot = new(() =>
    {
        if (!OperatingSystem.IsLinux()) return "tmpfs mounts are a Linux test.";
        string probe = Directory.CreateTempSubdirectory("gated-tmpfs-probe-").FullName;
        try
        {
            var (code, error) = Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe);
            if (code != 0) return $"mounting a tmpfs failed (needs root or CAP_SYS_ADMIN): {error.Trim()}";
            Command("umount", probe);
            return null;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"the mount command is not available: {e.Message}";
        }
        finally
        {
            Directory.Delete(probe);
        }
    });

    private static void Mount(params string[] args)
    {
        var (code, error) = Command("mount", args);
        if (code != 0) throw new InvalidOperationException($"mount {string.Join(' ', args)} failed: {error}");
    }

    private static (int ExitCode, string Stderr) Command(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        string error = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, error);
    }
}

/// <summary>A fact that needs a tmpfs mount; skipped, with the reason, where mounting is not possible.</summary>
public sealed class TmpfsFactAttribute : FactAttribute
{
    public TmpfsFactAttribute()
    {
        if (Tmpfs.WhyNot.Value is string reason) Skip = reason;
    }
}

/// <summary>
/// A fact that needs chmod to block writes for the child process: the tests' own user when it is not root,
/// else the unprivileged user 65534 through <c>setpriv</c>. Skipped, with the reason, when neither works.
/// </summary>
public sealed class UnprivilegedFactAttribute : FactAttribute
{
    public UnprivilegedFactAttribute()
    {
        if (GatedProcess.WhyNoUnprivilegedUser.Value is string reason) Skip = reason;
    }
}
