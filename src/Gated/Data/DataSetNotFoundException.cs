namespace Gated.Data;

/// <summary>
/// Thrown by <see cref="PolyphonicDataSets.Resolve(string, DataSetResolveOptions?, IProgress{DownloadProgress}?, CancellationToken)"/> and <see cref="PolyphonicDataSets.Load"/> when a
/// data set cannot be found or fetched: a path that does not exist, an unknown name, or a known data
/// set that is in neither the data folder nor the cache and could not be downloaded (offline, HTTP
/// error, or content that failed its SHA-256 or size check). The message says what was tried and
/// how to fix it, and is meant to be shown to a user as it is.
/// </summary>
public sealed class DataSetNotFoundException : FileNotFoundException
{
    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What was tried and how to fix it.</param>
    public DataSetNotFoundException(string message) : base(message) => Attempts = [];

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What was tried and how to fix it.</param>
    /// <param name="innerException">The error that ended the last attempt, e.g. the network error.</param>
    public DataSetNotFoundException(string message, Exception? innerException) : base(message, innerException) => Attempts = [];

    /// <summary>Creates the exception with everything known.</summary>
    /// <param name="message">What was tried and how to fix it.</param>
    /// <param name="dataSetName">The data set's name or the path asked for.</param>
    /// <param name="fileName">The file that was looked for, when there was one.</param>
    /// <param name="attempts">Each place tried and what was found there, in order.</param>
    /// <param name="innerException">The error that ended the last attempt, e.g. the network error.</param>
    public DataSetNotFoundException(string message, string? dataSetName, string? fileName, IReadOnlyList<string> attempts, Exception? innerException = null)
        : base(message, fileName, innerException)
    {
        ArgumentNullException.ThrowIfNull(attempts);
        DataSetName = dataSetName;
        Attempts = attempts;
    }

    /// <summary>The data set's name, or the path, that was asked for.</summary>
    public string? DataSetName { get; }

    /// <summary>Each place tried and what was found there, in order (also part of the message).</summary>
    public IReadOnlyList<string> Attempts { get; }
}
