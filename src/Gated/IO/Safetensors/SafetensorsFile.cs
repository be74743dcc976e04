using System.Buffers;
using System.Buffers.Binary;
using System.Collections.ObjectModel;
using System.Diagnostics.CodeAnalysis;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;

namespace Gated.IO.Safetensors;

/// <summary>
/// A safetensors file held in memory: named tensors plus a string-to-string metadata map, with a
/// reader that treats its input as hostile and a writer that produces files the Python
/// <c>safetensors</c> package reads.
/// </summary>
/// <remarks>
/// <para>
/// Layout: an 8-byte little-endian header length <c>N</c>, <c>N</c> bytes of UTF-8 JSON header,
/// then the data section. The header maps each tensor name to
/// <c>{"dtype":"F32","shape":[2,3],"data_offsets":[begin,end]}</c> (offsets relative to the data
/// section) and may hold a <c>"__metadata__"</c> object of string values.
/// </para>
/// <para>
/// The reader throws <see cref="GatedFormatException"/>, and no other exception type, for every
/// malformed input: too short, header length out of range or above <see cref="MaxHeaderLength"/>,
/// header not UTF-8 or not a JSON object, JSON nested deeper than three levels, unknown dtypes or
/// fields, missing fields, duplicate names, bad shapes, data offsets out of range or not covering
/// the data section exactly once. Nothing is allocated from a length field before that length
/// has been checked against the bytes actually available. Messages name the input and the tensor.
/// </para>
/// </remarks>
public sealed class SafetensorsFile
{
    /// <summary>The largest header accepted, in bytes (the limit the reference implementation uses).</summary>
    public const long MaxHeaderLength = 100_000_000;

    /// <summary>The deepest JSON nesting a header may have: root object, tensor entry, shape array.</summary>
    private const int MaxJsonDepth = 3;

    private const string MetadataKey = "__metadata__";

    private readonly SafetensorsTensor[] _tensors;
    private readonly Dictionary<string, SafetensorsTensor> _byName;

    /// <summary>Creates a file from tensors and optional metadata.</summary>
    /// <param name="tensors">The tensors; names must be distinct and must not be <c>"__metadata__"</c>.
    /// <see cref="Tensors"/> keeps this order; <see cref="Write(Stream)"/> sorts by name.</param>
    /// <param name="metadata">Free-form string pairs stored under <c>"__metadata__"</c>, or null for none.</param>
    /// <exception cref="ArgumentNullException">An argument, tensor, key or value is null.</exception>
    /// <exception cref="ArgumentException">A name is repeated or reserved, or a string is not well-formed UTF-16.</exception>
    public SafetensorsFile(IEnumerable<SafetensorsTensor> tensors, IEnumerable<KeyValuePair<string, string>>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        _tensors = tensors.ToArray();
        _byName = new Dictionary<string, SafetensorsTensor>(_tensors.Length, StringComparer.Ordinal);
        foreach (SafetensorsTensor? t in _tensors)
        {
            if (t is null)
                throw new ArgumentNullException(nameof(tensors), "A tensor in the list is null.");
            if (t.Name == MetadataKey)
                throw new ArgumentException($"'{MetadataKey}' is reserved for the metadata and cannot name a tensor.", nameof(tensors));
            if (!_byName.TryAdd(t.Name, t))
                throw new ArgumentException($"Two tensors are named '{SafetensorsTensor.Describe(t.Name)}'.", nameof(tensors));
        }

        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        if (metadata is not null)
        {
            foreach (KeyValuePair<string, string> pair in metadata)
            {
                if (pair.Key is null || pair.Value is null)
                    throw new ArgumentNullException(nameof(metadata), "A metadata key or value is null.");
                if (!SafetensorsTensor.IsWellFormed(pair.Key) || !SafetensorsTensor.IsWellFormed(pair.Value))
                    throw new ArgumentException($"Metadata entry '{SafetensorsTensor.Describe(pair.Key)}' is not well-formed UTF-16.", nameof(metadata));
                if (!meta.TryAdd(pair.Key, pair.Value))
                    throw new ArgumentException($"Metadata key '{SafetensorsTensor.Describe(pair.Key)}' appears twice.", nameof(metadata));
            }
        }
        Metadata = new ReadOnlyDictionary<string, string>(meta);
        Tensors = Array.AsReadOnly(_tensors);
    }

    private SafetensorsFile(SafetensorsTensor[] tensors, Dictionary<string, string> metadata, string? sourceName)
    {
        _tensors = tensors;
        _byName = new Dictionary<string, SafetensorsTensor>(tensors.Length, StringComparer.Ordinal);
        foreach (SafetensorsTensor t in tensors) _byName.Add(t.Name, t);
        Metadata = new ReadOnlyDictionary<string, string>(metadata);
        Tensors = Array.AsReadOnly(_tensors);
        SourceName = sourceName;
    }

    /// <summary>The <c>"__metadata__"</c> string pairs (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensors, in header order for a file that was read, in the given order otherwise.</summary>
    public IReadOnlyList<SafetensorsTensor> Tensors { get; }

    /// <summary>The path or name the file was read from, or null for a file built in memory.</summary>
    public string? SourceName { get; }

    /// <summary>The tensor named <paramref name="name"/>.</summary>
    /// <param name="name">The tensor name (ordinal comparison).</param>
    /// <exception cref="KeyNotFoundException">No tensor has that name; the message names the tensor and the file.</exception>
    public SafetensorsTensor this[string name]
    {
        get
        {
            ArgumentNullException.ThrowIfNull(name);
            if (_byName.TryGetValue(name, out SafetensorsTensor? t)) return t;
            string where = SourceName is null ? "this safetensors file" : $"safetensors file '{SourceName}'";
            throw new KeyNotFoundException($"Tensor '{SafetensorsTensor.Describe(name)}' was not found in {where}.");
        }
    }

    /// <summary>Looks up a tensor by name.</summary>
    /// <param name="name">The tensor name (ordinal comparison).</param>
    /// <param name="tensor">The tensor, or null when there is none of that name.</param>
    /// <returns><see langword="true"/> when the tensor exists.</returns>
    public bool TryGet(string name, [NotNullWhen(true)] out SafetensorsTensor? tensor)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _byName.TryGetValue(name, out tensor);
    }

    /// <summary>Whether a tensor named <paramref name="name"/> exists.</summary>
    /// <param name="name">The tensor name (ordinal comparison).</param>
    /// <returns><see langword="true"/> when the tensor exists.</returns>
    public bool Contains(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _byName.ContainsKey(name);
    }

    // ------------------------------------------------------------------------------------------
    // Reading
    // ------------------------------------------------------------------------------------------

    /// <summary>Reads a safetensors file from disk.</summary>
    /// <param name="path">The file path; error messages name it.</param>
    /// <returns>The file, with every tensor's bytes in memory.</returns>
    /// <exception cref="GatedFormatException">The content is not a valid safetensors file.</exception>
    /// <exception cref="FileNotFoundException">The file or its directory does not exist (message names the path).</exception>
    /// <exception cref="UnauthorizedAccessException">The file cannot be opened for reading (passed through as is; its message names the path).</exception>
    /// <exception cref="IOException">Another I/O error; the message names the path and the original exception is the inner exception.</exception>
    public static SafetensorsFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
        }
        catch (FileNotFoundException ex)
        {
            throw new FileNotFoundException($"Safetensors file '{path}' does not exist.", path, ex);
        }
        catch (DirectoryNotFoundException ex)
        {
            throw new FileNotFoundException($"Safetensors file '{path}' does not exist (its directory is missing).", path, ex);
        }
        catch (IOException ex)
        {
            throw new IOException($"Could not open safetensors file '{path}': {ex.Message}", ex);
        }

        using (stream)
        {
            try
            {
                return ReadCore(stream, path);
            }
            catch (IOException ex)
            {
                throw new IOException($"Could not read safetensors file '{path}': {ex.Message}", ex);
            }
        }
    }

    /// <summary>Reads a safetensors file from the remaining bytes of a stream.</summary>
    /// <param name="stream">The stream, read to its end. A seekable stream's length is checked
    /// before anything is allocated; a non-seekable stream is first copied to memory.</param>
    /// <param name="sourceName">A name for error messages; defaults to the path of a <see cref="FileStream"/>.</param>
    /// <returns>The file, with every tensor's bytes in memory.</returns>
    /// <exception cref="GatedFormatException">The content is not a valid safetensors file, or a seekable stream ends before its length says.</exception>
    /// <exception cref="IOException">The stream fails (passed through as is).</exception>
    public static SafetensorsFile Read(Stream stream, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        sourceName ??= (stream as FileStream)?.Name;
        return ReadCore(stream, sourceName);
    }

    /// <summary>Reads a safetensors file from bytes in memory. The tensors get copies of their bytes.</summary>
    /// <param name="bytes">The whole file.</param>
    /// <param name="sourceName">A name for error messages, e.g. the path the bytes came from.</param>
    /// <returns>The file.</returns>
    /// <exception cref="GatedFormatException">The bytes are not a valid safetensors file.</exception>
    public static SafetensorsFile Read(ReadOnlySpan<byte> bytes, string? sourceName = null)
    {
        int headerLength = CheckHeaderLength(bytes, bytes.Length, sourceName);
        ReadOnlySpan<byte> data = bytes[(8 + headerLength)..];
        Header header = ParseHeader(bytes.Slice(8, headerLength), data.Length, sourceName);

        var tensors = new SafetensorsTensor[header.Entries.Count];
        for (int i = 0; i < tensors.Length; i++)
        {
            Entry e = header.Entries[i];
            byte[] copy = data.Slice((int)e.Begin, (int)e.Length).ToArray();
            tensors[i] = new SafetensorsTensor(e.Name, e.DType, e.Shape, e.ElementCount, copy, sourceName);
        }
        return new SafetensorsFile(tensors, header.Metadata, sourceName);
    }

    private static SafetensorsFile ReadCore(Stream stream, string? sourceName)
    {
        if (!stream.CanRead)
            throw new ArgumentException("The stream cannot be read.", nameof(stream));

        if (!stream.CanSeek)
        {
            // The size is unknown: buffer what actually arrives, so allocation follows the real bytes.
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return Read(copy.GetBuffer().AsSpan(0, (int)copy.Length), sourceName);
        }

        long available = Math.Max(0, stream.Length - stream.Position);
        Span<byte> prefix = stackalloc byte[8];
        if (available >= 8) ReadExactly(stream, prefix, sourceName, "the header length");
        int headerLength = CheckHeaderLength(prefix, available, sourceName);

        var headerBytes = new byte[headerLength];
        ReadExactly(stream, headerBytes, sourceName, "the header");
        Header header = ParseHeader(headerBytes, available - 8 - headerLength, sourceName);

        // The offsets cover the data section contiguously, so reading in offset order is sequential.
        var data = new byte[header.Entries.Count][];
        foreach (int i in header.OffsetOrder)
        {
            Entry e = header.Entries[i];
            data[i] = e.Length == 0 ? [] : new byte[e.Length];
            ReadExactly(stream, data[i], sourceName, $"tensor '{SafetensorsTensor.Describe(e.Name)}'");
        }

        var tensors = new SafetensorsTensor[data.Length];
        for (int i = 0; i < tensors.Length; i++)
        {
            Entry e = header.Entries[i];
            tensors[i] = new SafetensorsTensor(e.Name, e.DType, e.Shape, e.ElementCount, data[i], sourceName);
        }
        return new SafetensorsFile(tensors, header.Metadata, sourceName);
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string? sourceName, string what)
    {
        try
        {
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException)
        {
            throw new GatedFormatException(sourceName, $"the file ended early while reading {what} ({buffer.Length} bytes expected); it is truncated or changed while being read.");
        }
    }

    /// <summary>Checks the 8-byte prefix against the bytes available and returns the header length.</summary>
    /// <param name="prefix">At least the first 8 bytes, when <paramref name="total"/> is at least 8.</param>
    /// <param name="total">The size of the whole input.</param>
    /// <param name="sourceName">The input name for messages.</param>
    private static int CheckHeaderLength(ReadOnlySpan<byte> prefix, long total, string? sourceName)
    {
        if (total < 8)
            throw new GatedFormatException(sourceName, $"the file is {total} bytes long, shorter than the 8-byte header length that starts every safetensors file.");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n > (ulong)MaxHeaderLength)
            throw new GatedFormatException(sourceName, $"the header length {n} is larger than the {MaxHeaderLength}-byte limit for a safetensors header.");
        if ((long)n > total - 8)
            throw new GatedFormatException(sourceName, $"the header length {n} runs past the end of the file ({total} bytes).");
        return (int)n;
    }

    private readonly record struct Entry(string Name, SafetensorsDType DType, long[] Shape, long ElementCount, long Begin, long End)
    {
        public long Length => End - Begin;
    }

    private sealed record Header(List<Entry> Entries, int[] OffsetOrder, Dictionary<string, string> Metadata);

    private static Header ParseHeader(ReadOnlySpan<byte> json, long dataLength, string? source)
    {
        if (!Utf8.IsValid(json))
            throw new GatedFormatException(source, "the header is not valid UTF-8.");

        var options = new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, AllowTrailingCommas = false, MaxDepth = 64 };

        // Pass 1: well-formed JSON, bounded nesting.
        var check = new Utf8JsonReader(json, options);
        try
        {
            while (check.Read())
            {
                if (check.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && check.CurrentDepth >= MaxJsonDepth)
                    throw new GatedFormatException(source, $"the header JSON is nested deeper than {MaxJsonDepth} levels (at byte {check.TokenStartIndex}).");
            }
        }
        catch (JsonException ex)
        {
            throw new GatedFormatException(source, $"the header is not valid JSON: {ex.Message}");
        }

        // Pass 2: the safetensors structure.
        var reader = new Utf8JsonReader(json, options);
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new GatedFormatException(source, $"the header is not a JSON object (it starts with a {reader.TokenType} token).");

        var entries = new List<Entry>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        Dictionary<string, string>? metadata = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string key = GetString(ref reader, source, "a key of the header");
            reader.Read();
            if (key == MetadataKey)
            {
                if (metadata is not null)
                    throw new GatedFormatException(source, $"the header has '{MetadataKey}' twice.");
                metadata = ParseMetadata(ref reader, source);
            }
            else
            {
                if (!names.Add(key))
                    throw new GatedFormatException(source, $"the header names tensor '{SafetensorsTensor.Describe(key)}' twice (duplicate name).");
                entries.Add(ParseTensor(ref reader, key, dataLength, source));
            }
        }

        int[] order = CheckCoverage(entries, dataLength, source);
        return new Header(entries, order, metadata ?? new Dictionary<string, string>(StringComparer.Ordinal));
    }

    private static Dictionary<string, string> ParseMetadata(ref Utf8JsonReader reader, string? source)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (reader.TokenType == JsonTokenType.Null)
            return metadata;
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new GatedFormatException(source, $"'{MetadataKey}' is not a JSON object of strings (found a {reader.TokenType} token).");

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string key = GetString(ref reader, source, $"a key of '{MetadataKey}'");
            reader.Read();
            if (reader.TokenType != JsonTokenType.String)
                throw new GatedFormatException(source, $"metadata value '{SafetensorsTensor.Describe(key)}' is not a string (found a {reader.TokenType} token); safetensors metadata values must be strings.");
            string value = GetString(ref reader, source, $"metadata value '{SafetensorsTensor.Describe(key)}'");
            if (!metadata.TryAdd(key, value))
                throw new GatedFormatException(source, $"metadata key '{SafetensorsTensor.Describe(key)}' appears twice (duplicate key).");
        }
        return metadata;
    }

    private static Entry ParseTensor(ref Utf8JsonReader reader, string name, long dataLength, string? source)
    {
        string who = $"tensor '{SafetensorsTensor.Describe(name)}'";
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new GatedFormatException(source, $"{who}: its header entry is not a JSON object (found a {reader.TokenType} token).");

        SafetensorsDType? dtype = null;
        long[]? shape = null;
        ulong[]? offsets = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string field = GetString(ref reader, source, $"a field name of {who}");
            reader.Read();
            switch (field)
            {
                case "dtype":
                    if (dtype is not null) throw Duplicate(field);
                    if (reader.TokenType != JsonTokenType.String)
                        throw new GatedFormatException(source, $"{who}: 'dtype' is not a string (found a {reader.TokenType} token).");
                    string text = GetString(ref reader, source, $"the dtype of {who}");
                    if (!SafetensorsDTypeExtensions.TryParseHeaderName(text, out SafetensorsDType parsed))
                        throw new GatedFormatException(source, $"{who}: unknown or unsupported dtype '{SafetensorsTensor.Describe(text)}'.");
                    dtype = parsed;
                    break;

                case "shape":
                    if (shape is not null) throw Duplicate(field);
                    ulong[] dims = ReadIntegerArray(ref reader, source, who, "shape", "dimension");
                    shape = new long[dims.Length];
                    for (int i = 0; i < dims.Length; i++)
                    {
                        if (dims[i] > long.MaxValue)
                            throw new GatedFormatException(source, $"{who}: shape dimension {i} ({dims[i]}) is too large.");
                        shape[i] = (long)dims[i];
                    }
                    break;

                case "data_offsets":
                    if (offsets is not null) throw Duplicate(field);
                    offsets = ReadIntegerArray(ref reader, source, who, "data_offsets", "offset");
                    if (offsets.Length != 2)
                        throw new GatedFormatException(source, $"{who}: 'data_offsets' has {offsets.Length} numbers instead of 2 (begin, end).");
                    break;

                default:
                    throw new GatedFormatException(source, $"{who}: unknown field '{SafetensorsTensor.Describe(field)}' (expected dtype, shape and data_offsets).");
            }
        }

        if (dtype is null) throw Missing("dtype");
        if (shape is null) throw Missing("shape");
        if (offsets is null) throw Missing("data_offsets");

        ulong begin = offsets[0], end = offsets[1];
        string range = $"data_offsets [{begin}, {end}]";
        if (begin > end)
            throw new GatedFormatException(source, $"{who}: {range} begin after they end.");
        if (end > (ulong)dataLength)
            throw new GatedFormatException(source, $"{who}: {range} are out of range: the data section has only {dataLength} bytes.");

        int size = dtype.Value.GetElementSize();
        if (!SafetensorsTensor.TryGetElementCount(shape, out long count) || count > long.MaxValue / size)
            throw new GatedFormatException(source, $"{who}: the byte size of shape {SafetensorsTensor.FormatShape(shape)} overflows.");
        long bytes = count * size;
        if ((ulong)bytes != end - begin)
            throw new GatedFormatException(source, $"{who}: shape {SafetensorsTensor.FormatShape(shape)} of dtype {dtype.Value.GetHeaderName()} needs {bytes} bytes but {range} span {end - begin} bytes (size mismatch).");
        if (bytes > Array.MaxLength)
            throw new GatedFormatException(source, $"{who}: {bytes} bytes is larger than the largest tensor this reader supports ({Array.MaxLength} bytes).");

        return new Entry(name, dtype.Value, shape, count, (long)begin, (long)end);

        GatedFormatException Duplicate(string f) => new(source, $"{who}: field '{f}' appears twice (duplicate field).");
        GatedFormatException Missing(string f) => new(source, $"{who}: the header entry has no '{f}' (missing field).");
    }

    private static ulong[] ReadIntegerArray(ref Utf8JsonReader reader, string? source, string who, string field, string item)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new GatedFormatException(source, $"{who}: '{field}' is not an array (found a {reader.TokenType} token).");
        var values = new List<ulong>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number)
                throw new GatedFormatException(source, $"{who}: '{field}' {item} {values.Count} is not a number (found a {reader.TokenType} token).");
            if (!reader.TryGetUInt64(out ulong value))
            {
                ReadOnlySpan<byte> raw = reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan;
                string problem = raw.Length > 0 && raw[0] == (byte)'-' ? "is negative"
                    : raw.IndexOfAny("."u8) >= 0 || raw.IndexOfAny("eE"u8) >= 0 ? "is not a whole number"
                    : "is too large";
                throw new GatedFormatException(source, $"{who}: '{field}' {item} {values.Count} {problem} ({System.Text.Encoding.UTF8.GetString(raw[..Math.Min(raw.Length, 40)])}).");
            }
            values.Add(value);
        }
        return values.ToArray();
    }

    private static string GetString(ref Utf8JsonReader reader, string? source, string what)
    {
        try
        {
            return reader.GetString() ?? string.Empty;
        }
        catch (InvalidOperationException ex)
        {
            // E.g. an escaped unpaired surrogate such as "\ud800".
            throw new GatedFormatException(source, $"{what} is not a valid string: {ex.Message}");
        }
    }

    /// <summary>
    /// Checks that the tensors cover the data section exactly once: sorted by offsets, each begins
    /// where the previous ended and the last ends at the end of the data. Returns the offset order.
    /// </summary>
    private static int[] CheckCoverage(List<Entry> entries, long dataLength, string? source)
    {
        int[] order = Enumerable.Range(0, entries.Count).ToArray();
        Array.Sort(order, (a, b) =>
        {
            int c = entries[a].Begin.CompareTo(entries[b].Begin);
            if (c == 0) c = entries[a].End.CompareTo(entries[b].End);
            return c != 0 ? c : string.CompareOrdinal(entries[a].Name, entries[b].Name);
        });

        long expected = 0;
        Entry? previous = null;
        foreach (int i in order)
        {
            Entry e = entries[i];
            string who = $"tensor '{SafetensorsTensor.Describe(e.Name)}' (data_offsets [{e.Begin}, {e.End}])";
            if (e.Begin < expected)
            {
                Entry p = previous!.Value;
                throw new GatedFormatException(source,
                    $"{who} overlaps tensor '{SafetensorsTensor.Describe(p.Name)}' (data_offsets [{p.Begin}, {p.End}]); tensors must not share bytes.");
            }
            if (e.Begin > expected)
            {
                throw new GatedFormatException(source,
                    $"the data section has a gap: bytes [{expected}, {e.Begin}) before {who} are not covered by any tensor.");
            }
            expected = e.End;
            previous = e;
        }
        if (expected != dataLength)
        {
            throw new GatedFormatException(source,
                $"the data section has a gap: its last {dataLength - expected} bytes (from offset {expected} to {dataLength}) are not covered by any tensor.");
        }
        return order;
    }

    // ------------------------------------------------------------------------------------------
    // Writing
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Writes the file to <paramref name="path"/> atomically (see <see cref="AtomicFile.Write"/>):
    /// either the complete new file replaces the old one or the old one stays as it was.
    /// </summary>
    /// <param name="path">The destination path.</param>
    /// <exception cref="IOException">The file cannot be written; the message names the path.</exception>
    public void Write(string path) => AtomicFile.Write(path, Write);

    /// <summary>
    /// Writes the file to a stream: the 8-byte little-endian header length, the compact UTF-8 JSON
    /// header (<c>"__metadata__"</c> first, with keys sorted, when there is metadata; then the
    /// tensors sorted by ordinal name), padded with spaces to a multiple of 8 bytes, then the
    /// tensor bytes packed contiguously in header order.
    /// </summary>
    /// <param name="stream">A writable stream; it is not flushed or closed.</param>
    public void Write(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        SafetensorsTensor[] sorted = _tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToArray();
        byte[] header = BuildHeader(sorted);

        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        foreach (SafetensorsTensor t in sorted)
            stream.Write(t.Data.Span);
    }

    private byte[] BuildHeader(SafetensorsTensor[] sorted)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var options = new JsonWriterOptions
        {
            Indented = false,
            // Non-ASCII names are written as UTF-8 as the reference writer does, not as \u escapes.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        using (var writer = new Utf8JsonWriter(buffer, options))
        {
            writer.WriteStartObject();
            if (Metadata.Count > 0)
            {
                writer.WriteStartObject(MetadataKey);
                foreach (KeyValuePair<string, string> pair in Metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
                    writer.WriteString(pair.Key, pair.Value);
                writer.WriteEndObject();
            }

            long offset = 0;
            foreach (SafetensorsTensor t in sorted)
            {
                writer.WriteStartObject(t.Name);
                writer.WriteString("dtype", t.DType.GetHeaderName());
                writer.WriteStartArray("shape");
                foreach (long d in t.Shape) writer.WriteNumberValue(d);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                offset += t.Data.Length;
                writer.WriteNumberValue(offset);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }

        int length = buffer.WrittenCount;
        int padded = (length + 7) / 8 * 8;
        var header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(length).Fill((byte)' ');
        return header;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{(SourceName is null ? "safetensors" : SourceName)}: {_tensors.Length} tensors, {Metadata.Count} metadata entries";
}
