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
    /// <exception cref="IOException">Creating, flushing or renaming the file fails; the message names <paramref name="path"/>.</exception>
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

        string tempPath = Path.Combine(directory, $".{(name.Length > 100 ? name[..100] : name)}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}.tmp");

        FileStream file;
        try
        {
            file = new FileStream(tempPath, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                BufferSize = 1 << 16,
            });
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new UnauthorizedAccessException($"Cannot write '{path}': creating a temporary file in '{directory}' is not permitted.", ex);
        }
        catch (IOException ex)
        {
            throw new IOException($"Cannot write '{path}': creating the temporary file '{tempPath}' failed: {ex.Message}", ex);
        }

        try
        {
            using (file)
            {
                CopyPermissions(fullPath, file);
                using (var guarded = new NonClosingStream(file))
                    write(guarded);
                try
                {
                    file.Flush(flushToDisk: true);
                }
                catch (IOException ex)
                {
                    throw new IOException($"Cannot write '{path}': flushing the data to disk failed: {ex.Message}", ex);
                }
            }

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
                throw new IOException($"Cannot write '{path}': replacing it with the new content failed: {ex.Message}", ex);
            }
        }
        catch
        {
            TryDelete(tempPath);
            throw;
        }
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
