using System.Security.Cryptography;

namespace Gated.IO;

/// <summary>
/// Writes files so that a reader (or a crash) never sees a half-written file: the content goes to
/// a temporary file in the same directory, is flushed to disk, and then replaces the destination
/// with a rename.
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes a file atomically. <paramref name="write"/> receives a stream on a new temporary file
    /// <c>.{name}.{random}.tmp</c> next to <paramref name="path"/>; when it returns, the temporary
    /// file is flushed to disk and renamed over <paramref name="path"/> (an atomic replace on POSIX
    /// file systems and on NTFS). When anything fails, including <paramref name="write"/> itself,
    /// the temporary file is deleted, the previous file at <paramref name="path"/> is left as it
    /// was, and the exception propagates.
    /// </summary>
    /// <remarks>
    /// The delegate may dispose the stream it is given (e.g. through a <see cref="StreamWriter"/>);
    /// the underlying file stays open until the data is on disk. On Unix the new file takes over the
    /// permission bits of the file it replaces. A symbolic link at <paramref name="path"/> is
    /// replaced by a regular file rather than followed.
    /// </remarks>
    /// <param name="path">The destination file; its directory must exist.</param>
    /// <param name="write">Writes the complete content to the stream.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or names a directory.</exception>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="DirectoryNotFoundException">The directory of <paramref name="path"/> does not exist.</exception>
    /// <exception cref="IOException">Creating, writing, flushing or renaming the file fails (a full disk, a read-only file system); the message names <paramref name="path"/> and says "the disk is full" or "the file system is read-only" when that is the cause.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory or file may not be written; the message names <paramref name="path"/>.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);

        string fullPath = Path.GetFullPath(path);
        string name = Path.GetFileName(fullPath);
        if (name.Length == 0)
            throw new ArgumentException($"'{path}' names a directory, not a file.", nameof(path));
        string directory = Path.GetDirectoryName(fullPath) ?? throw new ArgumentException($"'{path}' has no directory.", nameof(path));
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"Cannot write '{path}': the directory '{directory}' does not exist.");

        string tempPath = TempPath(directory, name);
        FileStream file = CreateTemp(path, directory, tempPath, bufferSize: 1 << 16);
        try
        {
            CopyPermissions(fullPath, file);
            try
            {
                using (var guarded = new NonClosingStream(file))
                    write(guarded);
            }
            catch (IOException ex) when (ex.GetType() == typeof(IOException))
            {
                // The file system's own failures (a full disk, an I/O error) name the temporary file; name the destination.
                throw new IOException($"Cannot write '{path}': {Describe(ex)}", ex);
            }
            try
            {
                file.Flush(flushToDisk: true);
            }
            catch (IOException ex)
            {
                throw new IOException($"Cannot write '{path}': flushing the data to disk failed: {Describe(ex)}", ex);
            }
            file.Dispose();

            try
            {
                File.Move(tempPath, fullPath, overwrite: true);
            }
            catch (UnauthorizedAccessException ex)
            {
                throw new UnauthorizedAccessException($"Cannot write '{path}': replacing the file is not permitted.", ex);
            }
            catch (IOException ex)
            {
                throw new IOException($"Cannot write '{path}': replacing it with the new content failed: {Describe(ex)}", ex);
            }
        }
        catch
        {
            // Closing flushes what is still buffered; on a full disk that fails again and must not hide the first error.
            try { file.Dispose(); }
            catch (IOException) { }
            TryDelete(tempPath);
            throw;
        }
    }

    /// <summary>
    /// Checks, before long work whose result goes to <paramref name="path"/>, that <see cref="Write"/> could
    /// write it: its directory exists, and a temporary file can be created there, written (one byte, flushed
    /// to disk) and deleted. It cannot promise that the disk will not fill up by the time of the real write.
    /// </summary>
    /// <param name="path">The file that will be written.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or names a directory.</exception>
    /// <exception cref="DirectoryNotFoundException">The directory of <paramref name="path"/> does not exist.</exception>
    /// <exception cref="IOException">The directory is on a read-only or full file system, or another I/O error; the message names <paramref name="path"/>.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory may not be written; the message names <paramref name="path"/>.</exception>
    public static void CheckWritable(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = Path.GetFullPath(path);
        string name = Path.GetFileName(fullPath);
        if (name.Length == 0 || Directory.Exists(fullPath))
            throw new ArgumentException($"'{path}' names a directory, not a file.", nameof(path));
        string directory = Path.GetDirectoryName(fullPath) ?? throw new ArgumentException($"'{path}' has no directory.", nameof(path));
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"Cannot write '{path}': the directory '{directory}' does not exist.");
        string tempPath = TempPath(directory, name);
        try
        {
            using FileStream file = CreateTemp(path, directory, tempPath, bufferSize: 0);
            try
            {
                file.WriteByte(0);
                file.Flush(flushToDisk: true);
            }
            catch (IOException ex)
            {
                throw new IOException($"Cannot write '{path}': {Describe(ex)}", ex);
            }
        }
        finally
        {
            TryDelete(tempPath);
        }
    }

    /// <summary><c>.{name}.{random}.tmp</c> in the destination's directory, hidden on Unix.</summary>
    private static string TempPath(string directory, string name) =>
        Path.Combine(directory, $".{(name.Length > 100 ? name[..100] : name)}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}.tmp");

    private static FileStream CreateTemp(string path, string directory, string tempPath, int bufferSize)
    {
        try
        {
            return new FileStream(tempPath, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                BufferSize = bufferSize,
            });
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new UnauthorizedAccessException($"Cannot write '{path}': creating a file in '{directory}' is not permitted.", ex);
        }
        catch (IOException ex)
        {
            throw new IOException($"Cannot write '{path}': creating a file in '{directory}' failed: {Describe(ex)}", ex);
        }
    }

    /// <summary>An I/O error in words: "the disk is full" for ENOSPC, "the file system is read-only" for EROFS, else the system's message without the temporary file's name.</summary>
    private static string Describe(IOException ex)
    {
        const int ENOSPC = 28, EROFS = 30, ERROR_HANDLE_DISK_FULL = unchecked((int)0x80070027), ERROR_DISK_FULL = unchecked((int)0x80070070);
        string message = ex.Message;
        int cut = message.IndexOf(" : '", StringComparison.Ordinal); // .NET on Unix appends " : 'path'"
        if (cut > 0) message = message[..cut];
        return ex.HResult switch
        {
            ENOSPC or ERROR_HANDLE_DISK_FULL or ERROR_DISK_FULL => $"the disk is full ({message}).",
            EROFS => $"the file system is read-only ({message}).",
            _ => message.TrimEnd('.') + ".",
        };
    }

    private static void CopyPermissions(string existing, FileStream target)
    {
        if (OperatingSystem.IsWindows()) return;
        try
        {
            if (File.Exists(existing))
                File.SetUnixFileMode(target.SafeFileHandle, File.GetUnixFileMode(existing));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: the new file keeps the default permissions.
        }
    }

    private static void TryDelete(string tempPath)
    {
        try
        {
            File.Delete(tempPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The original exception matters more; a leftover temporary file is harmless.
        }
    }

    /// <summary>Forwards to the temporary file but ignores disposal, so the file can still be flushed to disk.</summary>
    private sealed class NonClosingStream(FileStream inner) : Stream
    {
        private bool _disposed;

        private FileStream Inner => _disposed ? throw new ObjectDisposedException(nameof(AtomicFile), "The stream for the atomic write has been disposed.") : inner;

        public override bool CanRead => false;
        public override bool CanSeek => !_disposed && inner.CanSeek;
        public override bool CanWrite => !_disposed;
        public override long Length => Inner.Length;

        public override long Position
        {
            get => Inner.Position;
            set => Inner.Position = value;
        }

        public override void Flush() => Inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => Inner.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("The stream is write-only.");
        public override long Seek(long offset, SeekOrigin origin) => Inner.Seek(offset, origin);
        public override void SetLength(long value) => Inner.SetLength(value);
        public override void Write(byte[] buffer, int offset, int count) => Inner.Write(buffer, offset, count);
        public override void Write(ReadOnlySpan<byte> buffer) => Inner.Write(buffer);
        public override void WriteByte(byte value) => Inner.WriteByte(value);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            Inner.WriteAsync(buffer, cancellationToken);

        protected override void Dispose(bool disposing)
        {
            // The inner file is flushed and closed by AtomicFile.Write itself.
            _disposed = true;
            base.Dispose(disposing);
        }
    }
}
