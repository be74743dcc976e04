using System.Text;
using Gated.IO;

namespace Gated.Tests.IO;

public sealed class AtomicFileTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "gated-atomic-" + Guid.NewGuid().ToString("N"));

    public AtomicFileTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private string[] Entries() => Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal).ToArray()!;

    [Fact]
    public void Write_CreatesFileAndLeavesNoTempFiles()
    {
        string path = Path.Combine(_dir, "model.bin");
        AtomicFile.Write(path, s => s.Write([1, 2, 3]));
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
        Assert.Equal(["model.bin"], Entries());
    }

    [Fact]
    public void Write_ReplacesExistingFile()
    {
        string path = Path.Combine(_dir, "model.bin");
        File.WriteAllBytes(path, new byte[1000]);
        AtomicFile.Write(path, s => s.Write([9]));
        Assert.Equal([9], File.ReadAllBytes(path));
        Assert.Equal(["model.bin"], Entries());
    }

    [Fact]
    public void Write_WhenDelegateThrows_KeepsOldFileAndRemovesTemp()
    {
        string path = Path.Combine(_dir, "model.bin");
        File.WriteAllBytes(path, [1, 2, 3, 4]);
        var ex = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[100_000]);
            throw new InvalidOperationException("writer failed");
        }));
        Assert.Equal("writer failed", ex.Message);
        Assert.Equal([1, 2, 3, 4], File.ReadAllBytes(path));
        Assert.Equal(["model.bin"], Entries());
    }

    [Fact]
    public void Write_WhenDelegateThrows_WithoutPreviousFile_LeavesNothing()
    {
        string path = Path.Combine(_dir, "new.bin");
        Assert.Throws<IOException>(() => AtomicFile.Write(path, _ => throw new IOException("disk on fire")));
        Assert.Empty(Entries());
    }

    [Fact]
    public void Write_DelegateMayDisposeTheStream()
    {
        string path = Path.Combine(_dir, "text.txt");
        AtomicFile.Write(path, s =>
        {
            using var writer = new StreamWriter(s, new UTF8Encoding(false));
            writer.Write("hello");
        });
        Assert.Equal("hello", File.ReadAllText(path));
        Assert.Equal(["text.txt"], Entries());
    }

    [Fact]
    public void Write_TempFileIsInSameDirectoryAndHidden()
    {
        string path = Path.Combine(_dir, "model.bin");
        string[]? during = null;
        AtomicFile.Write(path, s =>
        {
            s.WriteByte(1);
            during = Entries();
        });
        string temp = Assert.Single(during!);
        Assert.StartsWith(".model.bin.", temp);
        Assert.EndsWith(".tmp", temp);
    }

    [Fact]
    public void Write_MissingDirectory_NamesPath()
    {
        string path = Path.Combine(_dir, "missing", "model.bin");
        var ex = Assert.Throws<DirectoryNotFoundException>(() => AtomicFile.Write(path, s => s.WriteByte(1)));
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void Write_OntoDirectory_FailsNamingPathAndLeavesNoTemp()
    {
        string path = Path.Combine(_dir, "sub");
        Directory.CreateDirectory(path);
        Exception ex = Assert.ThrowsAny<Exception>(() => AtomicFile.Write(path, s => s.WriteByte(1)));
        Assert.True(ex is IOException or UnauthorizedAccessException, ex.GetType().Name);
        Assert.Contains(path, ex.Message);
        Assert.Equal(["sub"], Entries());
    }

    [Fact]
    public void Write_RejectsBadArguments()
    {
        Assert.Throws<ArgumentException>(() => AtomicFile.Write("", s => { }));
        Assert.Throws<ArgumentNullException>(() => AtomicFile.Write(Path.Combine(_dir, "x"), null!));
        Assert.Throws<ArgumentException>(() => AtomicFile.Write(_dir + Path.DirectorySeparatorChar, s => { }));
    }

    [Fact]
    public void Write_KeepsUnixPermissionsOfReplacedFile()
    {
        if (OperatingSystem.IsWindows()) return;
        string path = Path.Combine(_dir, "model.bin");
        File.WriteAllBytes(path, [1]);
        UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
        File.SetUnixFileMode(path, mode);
        AtomicFile.Write(path, s => s.WriteByte(2));
        Assert.Equal(mode, File.GetUnixFileMode(path));
    }

    [Fact]
    public void Write_DiskFullInTheWriter_NamesTheDestinationAndKeepsTheOldFile()
    {
        // What FileStream throws on ENOSPC (errno 28), naming the temporary file: reworded to name the destination.
        string path = Path.Combine(_dir, "model.bin");
        File.WriteAllBytes(path, [1, 2, 3]);
        var ex = Assert.Throws<IOException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[10]);
            throw new IOException($"No space left on device : '{_dir}/.model.bin.0123456789abcdef.tmp'", 28);
        }));
        Assert.Equal($"Cannot write '{path}': the disk is full (No space left on device).", ex.Message);
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
        Assert.Equal(["model.bin"], Entries());
    }

    [Fact]
    public void CheckWritable_LeavesNothingAndRefusesWhatWriteWouldRefuse()
    {
        string path = Path.Combine(_dir, "model.bin");
        AtomicFile.CheckWritable(path);
        Assert.Empty(Entries());
        File.WriteAllBytes(path, [7]);
        AtomicFile.CheckWritable(path);
        Assert.Equal([7], File.ReadAllBytes(path));
        Assert.Equal(["model.bin"], Entries());

        Assert.Contains("does not exist", Assert.Throws<DirectoryNotFoundException>(() => AtomicFile.CheckWritable(Path.Combine(_dir, "no", "m.bin"))).Message);
        Assert.Contains("names a directory", Assert.Throws<ArgumentException>(() => AtomicFile.CheckWritable(_dir)).Message);
    }
}
