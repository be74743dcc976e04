namespace Gated.Data;

/// <summary>
/// Where <see cref="PolyphonicDataSets.Resolve(string, DataSetResolveOptions?, IProgress{DownloadProgress}?, CancellationToken)"/> looks for a data set and whether and from where
/// it may download it. Every property has a sensible default; <c>null</c> options mean all defaults.
/// </summary>
public sealed class DataSetResolveOptions
{
    /// <summary>The environment variable naming a folder that holds the data sets (<c>jsb.json</c> or <c>JSB_Chorales.mat</c>, …): <c>GATED_DATA</c>.</summary>
    public const string DataEnvironmentVariable = "GATED_DATA";

    /// <summary>The environment variable naming the download cache folder: <c>GATED_CACHE</c>.</summary>
    public const string CacheEnvironmentVariable = "GATED_CACHE";

    /// <summary>The default of <see cref="Timeout"/>: two minutes.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);

    /// <summary>
    /// A folder holding the data sets by their JSON names (<c>jsb.json</c>, …) or their MATLAB names
    /// (<c>JSB_Chorales.mat</c>, …); searched first. When null, <c>$GATED_DATA</c> is used (unless
    /// <see cref="UseEnvironmentVariables"/> is false).
    /// </summary>
    public string? DataDirectory { get; init; }

    /// <summary>
    /// The folder for downloaded files. When null: <c>$GATED_CACHE</c>, else <c>$XDG_CACHE_HOME/gated</c>,
    /// else <c>~/.cache/gated</c> (on Windows the local application data folder's <c>gated</c>).
    /// </summary>
    public string? CacheDirectory { get; init; }

    /// <summary>
    /// Replaces the download location up to the file name (e.g. <c>http://127.0.0.1:8080/mirror/</c>
    /// fetches <c>http://127.0.0.1:8080/mirror/JSB_Chorales.mat</c>), for mirrors and tests. Only
    /// <c>http</c> and <c>https</c> are accepted. The SHA-256 check still applies.
    /// </summary>
    public Uri? BaseUrl { get; init; }

    /// <summary>Whether a data set missing locally may be downloaded; default true.</summary>
    public bool AllowDownload { get; init; } = true;

    /// <summary>The longest a download may take in all, from connecting to the last byte; default <see cref="DefaultTimeout"/>.</summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>
    /// Whether <c>GATED_DATA</c>, <c>GATED_CACHE</c> and <c>XDG_CACHE_HOME</c> are consulted when the
    /// corresponding options are null; default true. Tests turn this off to be independent of the machine.
    /// </summary>
    public bool UseEnvironmentVariables { get; init; } = true;

    /// <summary>Receives notes worth telling a user, e.g. that a cached file was corrupt and is downloaded again, or that a download starts; null to discard them.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>Progress of a data set download, reported through <see cref="IProgress{T}"/>.</summary>
/// <param name="Name">The data set's <see cref="DataSetInfo.Name"/>.</param>
/// <param name="Url">The address being downloaded.</param>
/// <param name="BytesReceived">The bytes received so far.</param>
/// <param name="TotalBytes">The size of the complete file.</param>
public readonly record struct DownloadProgress(string Name, Uri Url, long BytesReceived, long TotalBytes)
{
    /// <summary>The fraction received, 0 to 1.</summary>
    public double Fraction => TotalBytes <= 0 ? 1 : Math.Clamp((double)BytesReceived / TotalBytes, 0, 1);
}
