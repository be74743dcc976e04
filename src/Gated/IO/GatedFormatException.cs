namespace Gated.IO;

/// <summary>
/// The exception every Gated file reader throws when the bytes it is given are not a valid file of
/// the expected format: truncated, inconsistent, out of range or too large. The message names the
/// file (when known) and the problem, and is meant to be shown to a user as it is.
/// </summary>
public sealed class GatedFormatException : Exception
{
    /// <summary>Creates the exception with a message naming the problem.</summary>
    /// <param name="message">What is wrong, in words a user understands.</param>
    public GatedFormatException(string message) : base(message) { }

    /// <summary>Creates the exception for a named file.</summary>
    /// <param name="source">The file path or another name for the input.</param>
    /// <param name="message">What is wrong.</param>
    public GatedFormatException(string? source, string message)
        : base(source is null ? message : $"{source}: {message}") => FileName = source;

    /// <summary>Creates the exception with the exception that caused it.</summary>
    public GatedFormatException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>The file path or name of the input, when it is known.</summary>
    public string? FileName { get; }
}
