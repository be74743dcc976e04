namespace Gated.IO;

/// <summary>Reads a whole file whose size is checked before anything is allocated: the one way Gated's parsers take a file into memory.</summary>
internal static class BoundedFile
{
    /// <summary>The file's bytes, or a <see cref="GatedFormatException"/> naming the file when it is larger than <paramref name="maxLength"/> or shrinks while being read.</summary>
    /// <param name="path">The file.</param>
    /// <param name="maxLength">The largest size accepted, in bytes.</param>
    /// <param name="what">What the file should be, for the message: "a dataset", "a MAT-file", …</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    public static byte[] ReadAllBytes(string path, long maxLength, string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        maxLength = Math.Min(maxLength, Array.MaxLength);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        long length = stream.Length;
        if (length > maxLength)
            throw new GatedFormatException(path, $"the file is {length} bytes, more than the {maxLength} bytes {what} may have.");
        var bytes = new byte[length];
        try
        {
            stream.ReadExactly(bytes);
        }
        catch (EndOfStreamException)
        {
            throw new GatedFormatException(path, "the file ended early while being read; it was truncated or changed while being read.");
        }
        return bytes;
    }
}
