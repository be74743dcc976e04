using System.Buffers.Binary;
using System.Collections.ObjectModel;
using System.Text;

namespace Gated.IO.Mat;

/// <summary>
/// A MATLAB Level 5 MAT-file (the format of <c>save -v6</c> and <c>save -v7</c>) read into memory:
/// its named variables, with a reader that treats its input as hostile.
/// </summary>
/// <remarks>
/// <para>
/// Layout: a 128-byte header (116 bytes of text, an 8-byte subsystem offset, the version 0x0100 and
/// the endian indicator <c>"IM"</c> for little-endian files), then data elements. Each element has
/// an 8-byte tag (type, byte count), or a 4-byte "small element" tag with type and size packed in one
/// word when the data fits in 4 bytes; data is padded to 8 bytes. A variable is an <c>miMATRIX</c>
/// element (array flags, dimensions, name, then data) or an <c>miCOMPRESSED</c> element holding one
/// zlib-compressed <c>miMATRIX</c>.
/// </para>
/// <para>
/// Supported: little-endian files; numeric classes (double, single, 8- to 64-bit integers, with data
/// stored in any numeric type), logical and complex arrays, character arrays and cell arrays nested
/// up to <see cref="MaxNestingDepth"/> levels. Top-level variables of other classes (struct, object,
/// sparse, function handle, opaque) are skipped and listed in <see cref="SkippedVariables"/>; inside
/// a cell array they are an error. Top-level elements that are not arrays, and unnamed top-level arrays (such as subsystem data), are skipped.
/// </para>
/// <para>
/// Every malformed input gives a <see cref="GatedFormatException"/> and no other exception type:
/// each length and count is checked against the bytes that remain before anything is allocated,
/// dimension products are checked for overflow, and decompression is bounded: an element may not
/// declare more decompressed bytes than its compressed bytes can hold (zlib expands at most 1032:1), all
/// <c>miCOMPRESSED</c> elements of a file together may decompress to at most
/// <see cref="MaxExpansionRatio"/> times the file size (but always at least
/// <see cref="MinDecompressedBudget"/>) and never more than <see cref="MaxDecompressedBytes"/>.
/// Messages name the input, the variable (and cell index), the byte offset and the problem.
/// </para>
/// </remarks>
public sealed class MatFile
{
    /// <summary>The largest file <see cref="Read(string)"/> accepts: 1 GiB.</summary>
    public const long MaxFileLength = 1L << 30;

    /// <summary>The most bytes all compressed elements of one file may decompress to: 1 GiB.</summary>
    public const long MaxDecompressedBytes = 1L << 30;

    /// <summary>The decompression budget of a file is at most this many times its size (below <see cref="MaxDecompressedBytes"/>).</summary>
    public const int MaxExpansionRatio = 256;

    /// <summary>The decompression budget every file gets however small it is: 16 MiB.</summary>
    public const long MinDecompressedBudget = 16L << 20;

    /// <summary>The deepest nesting of cell arrays: a top-level variable is depth 0, its cells depth 1, and so on.</summary>
    public const int MaxNestingDepth = 16;

    /// <summary>The size of the file header.</summary>
    public const int HeaderLength = 128;

    private readonly string[] _names;

    private MatFile(string headerText, Dictionary<string, MatArray> variables, List<string> names,
        Dictionary<string, MatClass> skipped, string? sourceName)
    {
        HeaderText = headerText;
        Variables = new ReadOnlyDictionary<string, MatArray>(variables);
        _names = names.ToArray();
        VariableNames = Array.AsReadOnly(_names);
        SkippedVariables = new ReadOnlyDictionary<string, MatClass>(skipped);
        SourceName = sourceName;
    }

    /// <summary>The variables by name.</summary>
    public IReadOnlyDictionary<string, MatArray> Variables { get; }

    /// <summary>The names of <see cref="Variables"/> in file order.</summary>
    public IReadOnlyList<string> VariableNames { get; }

    /// <summary>Top-level variables of classes this reader does not read (struct, sparse, …), with their class.</summary>
    public IReadOnlyDictionary<string, MatClass> SkippedVariables { get; }

    /// <summary>The descriptive text of the header, trailing spaces and NULs removed
    /// (e.g. <c>"MATLAB 5.0 MAT-file, Platform: PCWIN64, Created on: …"</c>).</summary>
    public string HeaderText { get; }

    /// <summary>The path or name the file was read from, when known.</summary>
    public string? SourceName { get; }

    /// <summary>Reads a MAT-file from disk.</summary>
    /// <param name="path">The file path; messages name it.</param>
    /// <returns>The file.</returns>
    /// <exception cref="GatedFormatException">The content is not a valid (supported) MAT-file, or it is larger than <see cref="MaxFileLength"/>.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    public static MatFile Read(string path)
    {
        byte[] bytes = BoundedFile.ReadAllBytes(path, MaxFileLength, "a MAT-file");
        return new Parser(bytes, path).Parse();
    }

    /// <summary>Reads a MAT-file from bytes in memory (the bytes are copied).</summary>
    /// <param name="bytes">The whole file.</param>
    /// <param name="sourceName">A name for messages, e.g. the path the bytes came from.</param>
    /// <returns>The file.</returns>
    /// <exception cref="GatedFormatException">The bytes are not a valid (supported) MAT-file.</exception>
    public static MatFile Read(ReadOnlySpan<byte> bytes, string? sourceName)
    {
        if (bytes.Length > MaxFileLength)
            throw new GatedFormatException(sourceName, $"the input is {bytes.Length} bytes, more than the {MaxFileLength} bytes a MAT-file may have here.");
        return new Parser(bytes.ToArray(), sourceName).Parse();
    }

    /// <summary>The variable of a name.</summary>
    /// <param name="name">The variable name (ordinal comparison).</param>
    /// <exception cref="KeyNotFoundException">There is no such variable; the message names it and the file.</exception>
    public MatArray this[string name]
    {
        get
        {
            ArgumentNullException.ThrowIfNull(name);
            if (Variables.TryGetValue(name, out MatArray? value)) return value;
            string where = SourceName is null ? "this MAT-file" : $"MAT-file '{SourceName}'";
            throw new KeyNotFoundException($"Variable '{name}' was not found in {where}.");
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"MatFile({SourceName ?? "in memory"}: {string.Join(", ", _names)})";

    // ------------------------------------------------------------------------------------------
    // Parsing
    // ------------------------------------------------------------------------------------------

    /// <summary>A buffer being parsed: the file itself, or the output of one compressed element.</summary>
    /// <param name="Bytes">The bytes.</param>
    /// <param name="CompressedAt">The file offset of the miCOMPRESSED element the bytes came from; -1 for the file.</param>
    private sealed record Region(byte[] Bytes, long CompressedAt)
    {
        public string Where(long position) => CompressedAt < 0
            ? $"byte {position}"
            : $"byte {position} of the data decompressed from the miCOMPRESSED element at byte {CompressedAt}";
    }

    /// <summary>A data element's tag: its type, and where its data lies.</summary>
    private readonly record struct Element(uint Type, int TagAt, int DataAt, int Length, bool Small);

    private sealed class Parser(byte[] file, string? source)
    {
        private long _budget = Math.Min(MaxDecompressedBytes, Math.Max(MinDecompressedBudget, (long)MaxExpansionRatio * file.Length));

        public MatFile Parse()
        {
            var fileRegion = new Region(file, -1);
            string headerText = ReadHeader();

            var variables = new Dictionary<string, MatArray>(StringComparer.Ordinal);
            var names = new List<string>();
            var skipped = new Dictionary<string, MatClass>(StringComparer.Ordinal);
            int position = HeaderLength;
            while (position < file.Length)
            {
                int elementAt = position;
                Element e = ReadTag(fileRegion, ref position, file.Length, TopLevelSubject(elementAt), "top-level data element");
                MatArray? array;
                string? skippedName = null;
                MatClass skippedClass = default;
                switch ((MatDataType)e.Type)
                {
                    case MatDataType.Matrix when !e.Small:
                        array = ReadMatrix(fileRegion, e, depth: 0, variable: null, cellPath: null, out skippedName, out skippedClass);
                        break;
                    case MatDataType.Compressed when !e.Small:
                        position = e.DataAt + e.Length; // compressed elements are not padded
                        Region inner = Decompress(e);
                        int p = 0;
                        Element m = ReadTag(inner, ref p, inner.Bytes.Length, "the compressed variable", "compressed data");
                        if (m.Type != (uint)MatDataType.Matrix || m.Small)
                            throw Fail(null, inner, 0, $"a compressed element must hold an miMATRIX element, but holds an element of type {m.Type}.");
                        array = ReadMatrix(inner, m, depth: 0, variable: null, cellPath: null, out skippedName, out skippedClass);
                        break;
                    case MatDataType.Matrix or MatDataType.Compressed:
                        throw Fail(null, fileRegion, elementAt, $"an element of type {(MatDataType)e.Type} cannot use the 4-byte small-element tag.");
                    default:
                        if (!IsKnownType(e.Type))
                            throw Fail(null, fileRegion, elementAt, $"unknown data element type {e.Type} at the top level (expected miMATRIX = 14 or miCOMPRESSED = 15).");
                        continue; // a known non-array element at the top level carries no variable: skip it
                }

                if (array is null)
                {
                    if (skippedName is not null && skippedName.Length > 0 && !variables.ContainsKey(skippedName))
                        skipped[skippedName] = skippedClass;
                    continue;
                }
                if (array.Name.Length == 0)
                    continue; // unnamed top-level data (e.g. subsystem data) is no variable
                if (variables.ContainsKey(array.Name) || skipped.ContainsKey(array.Name))
                    throw Fail(null, fileRegion, elementAt, $"the variable '{array.Name}' appears twice.");
                variables.Add(array.Name, array);
                names.Add(array.Name);
            }
            return new MatFile(headerText, variables, names, skipped, source);
        }

        private string ReadHeader()
        {
            if (file.Length < HeaderLength)
                throw new GatedFormatException(source, $"the file is {file.Length} bytes long, shorter than the {HeaderLength}-byte header of a MAT-file.");
            ReadOnlySpan<byte> header = file.AsSpan(0, HeaderLength);
            if (header[0] == 0 || header[1] == 0 || header[2] == 0 || header[3] == 0)
                throw new GatedFormatException(source, "the header does not start with text; this is not a Level 5 MAT-file (it may be a Level 4 MAT-file, which is not supported).");
            byte e0 = header[126], e1 = header[127];
            if (e0 == (byte)'M' && e1 == (byte)'I')
                throw new GatedFormatException(source, "the file is big-endian (endian indicator \"MI\" at byte 126); only little-endian MAT-files are supported.");
            if (e0 != (byte)'I' || e1 != (byte)'M')
                throw new GatedFormatException(source, $"the endian indicator at byte 126 is 0x{e0:X2} 0x{e1:X2}, not \"IM\"; this is not a Level 5 MAT-file.");
            int version = BinaryPrimitives.ReadUInt16LittleEndian(header[124..]);
            if (version == 0x0200)
                throw new GatedFormatException(source, "the header has version 0x0200: this is a MATLAB 7.3 MAT-file (HDF5), which is not supported; save it with -v7 or -v6.");
            if (version != 0x0100)
                throw new GatedFormatException(source, $"the header has version 0x{version:X4} at byte 124, expected 0x0100.");

            var text = new StringBuilder(116);
            foreach (byte b in header[..116]) text.Append(b is >= 0x20 and < 0x7F ? (char)b : b == 0 ? ' ' : '?');
            return text.ToString().TrimEnd();
        }

        private Region Decompress(Element e)
        {
            long at = e.TagAt;
            var region = new Region([], at);
            string? name = null; // the variable name, once the start of the data has been decompressed
            string? Subject() => name is null ? null : $"variable '{name}'";
            string ZlibSubject() => name is null ? $"the miCOMPRESSED element at byte {at}" : $"variable '{name}', in the miCOMPRESSED element at byte {at}";
            byte[] output;
            try
            {
                using var input = new MemoryStream(file, e.DataAt, e.Length, writable: false);
                using var zlib = new System.IO.Compression.ZLibStream(input, System.IO.Compression.CompressionMode.Decompress);

                // First the tag and the start of the array (flags, dimensions, name), for the name and the size.
                var prefix = new byte[PrefixLength];
                int got = zlib.ReadAtLeast(prefix, prefix.Length, throwOnEndOfStream: false);
                if (got < 8)
                    throw Fail(Subject(), region, got, $"the compressed data holds only {got} bytes, too few for a data element tag.");
                uint type = BinaryPrimitives.ReadUInt32LittleEndian(prefix);
                uint size = BinaryPrimitives.ReadUInt32LittleEndian(prefix.AsSpan(4));
                if (type != (uint)MatDataType.Matrix)
                    throw Fail(Subject(), region, 0, $"a compressed element must hold an miMATRIX element, but holds an element of type {(type >> 16 != 0 ? type & 0xFFFF : type)}.");
                name = PeekName(prefix.AsSpan(8, Math.Min(got - 8, (int)Math.Min(size, int.MaxValue))));
                long total = 8L + size;
                // Deflate codes a 258-byte match in no less than 2 bits, so no zlib stream expands more than 1032:1:
                // a larger declared size is corrupt, and must not be allocated before the data proves it.
                if (total > MaxDeflateExpansion * (long)e.Length)
                    throw Fail(Subject(), region, 4, $"the compressed element declares {total} bytes of decompressed data, more than its {e.Length} compressed bytes can hold (zlib expands at most {MaxDeflateExpansion}:1); the file is corrupt.");
                if (total > _budget)
                    throw Fail(Subject(), region, 4, $"the compressed element declares {total} bytes of decompressed data, more than the {_budget} bytes left of this file's decompression budget (at most {MaxExpansionRatio} times the file size, at least {MinDecompressedBudget}, at most {MaxDecompressedBytes}); the file is corrupt or a decompression bomb.");
                if (got > total)
                    throw Fail(Subject(), region, total, $"the decompressed data goes on past the {total} bytes its miMATRIX tag declares.");
                output = new byte[total];
                prefix.AsSpan(0, got).CopyTo(output);
                int rest = zlib.ReadAtLeast(output.AsSpan(got), output.Length - got, throwOnEndOfStream: false);
                if (got + rest < output.Length)
                    throw Fail(Subject(), region, got + rest, $"the compressed data ends after {got + rest} bytes, but its miMATRIX tag declares {total}.");

                // Read to the end so the zlib checksum is verified; tolerate at most 7 bytes of zero padding.
                Span<byte> extra = stackalloc byte[8];
                int extraCount = 0;
                while (true)
                {
                    int n = zlib.Read(extra[extraCount..]);
                    if (n == 0) break;
                    for (int i = extraCount; i < extraCount + n; i++)
                    {
                        if (extra[i] != 0)
                            throw Fail(Subject(), region, total, $"the decompressed data goes on past the {total} bytes its miMATRIX tag declares.");
                    }
                    extraCount += n;
                    if (extraCount >= 8)
                        throw Fail(Subject(), region, total, $"the decompressed data goes on past the {total} bytes its miMATRIX tag declares.");
                }
            }
            catch (InvalidDataException ex)
            {
                throw new GatedFormatException(source, $"{ZlibSubject()}: the compressed data is not valid zlib data: {ex.Message}");
            }
            catch (IOException ex)
            {
                throw new GatedFormatException(source, $"{ZlibSubject()}: the compressed data could not be decompressed: {ex.Message}");
            }
            _budget -= output.Length;
            return region with { Bytes = output };
        }

        /// <summary>How messages name the top-level element at a file offset: by its variable name when it can be read.</summary>
        private string TopLevelSubject(int at)
        {
            int left = file.Length - at;
            if (left < 16 || BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at)) != (uint)MatDataType.Matrix)
                return $"the top-level element starting at byte {at}";
            string? name = PeekName(file.AsSpan(at + 8, Math.Min(left - 8, PrefixLength)));
            return name is null ? $"the top-level element starting at byte {at}" : $"variable '{name}'";
        }

        /// <summary>The most bytes one byte of a zlib stream can decompress to (a 258-byte match coded in 2 bits).</summary>
        private const long MaxDeflateExpansion = 1032;

        /// <summary>How much of a compressed element is decompressed before its size is checked: enough for the array name.</summary>
        private const int PrefixLength = 512;

        /// <summary>The printable-ASCII name of an miMATRIX from the start of its data, or null when it cannot be found there (best effort, for messages).</summary>
        private static string? PeekName(ReadOnlySpan<byte> data)
        {
            int p = 0;
            for (int i = 0; i < 3; i++)
            {
                if (data.Length - p < 8) return null;
                uint word = BinaryPrimitives.ReadUInt32LittleEndian(data[p..]);
                int dataAt, length, next;
                if (word >> 16 != 0)
                {
                    (dataAt, length, next) = (p + 4, (int)Math.Min(word >> 16, 4), p + 8);
                }
                else
                {
                    uint size = BinaryPrimitives.ReadUInt32LittleEndian(data[(p + 4)..]);
                    if (size > (uint)(data.Length - p - 8)) return null;
                    (dataAt, length, next) = (p + 8, (int)size, p + 8 + (((int)size + 7) & ~7));
                }
                if (i == 2)
                {
                    ReadOnlySpan<byte> name = data.Slice(dataAt, length);
                    return name.Length > 0 && name.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7E) < 0 ? Encoding.ASCII.GetString(name) : null;
                }
                p = next;
            }
            return null;
        }

        /// <summary>Reads an miMATRIX element; returns null for a skipped top-level variable of an unsupported class.</summary>
        /// <param name="region">The buffer.</param>
        /// <param name="e">The element's tag.</param>
        /// <param name="depth">0 for a top-level variable, 1 for its cells, …</param>
        /// <param name="variable">How messages name the top-level variable ("variable 'x'"); null for a top-level variable itself.</param>
        /// <param name="cellPath">The cell indices from the top-level variable, e.g. "3/0"; null for a top-level variable.</param>
        /// <param name="skippedName">The name of a skipped variable.</param>
        /// <param name="skippedClass">The class of a skipped variable.</param>
        private MatArray? ReadMatrix(Region region, Element e, int depth, string? variable, string? cellPath, out string? skippedName, out MatClass skippedClass)
        {
            string? label = variable is null ? null : $"{variable}, cell {cellPath} (0-based)";
            skippedName = null;
            skippedClass = default;
            int end = e.DataAt + e.Length;
            string subject = label ?? $"the variable starting at {region.Where(e.TagAt)}";
            if (e.Length == 0)
                return MatArray.Create(MatClass.Double, [0, 0], "", false, false, MatDataType.Double, default, MatDataType.Double, default);

            int p = e.DataAt;

            // Array flags.
            Element flags = ReadTag(region, ref p, end, subject, "array flags");
            if (flags.Type != (uint)MatDataType.UInt32 || flags.Length != 8)
                throw Fail(subject, region, flags.TagAt, $"the array flags must be an miUINT32 element of 8 bytes, found type {flags.Type} with {flags.Length} bytes.");
            uint flagWord = BinaryPrimitives.ReadUInt32LittleEndian(region.Bytes.AsSpan(flags.DataAt));
            byte classByte = (byte)flagWord;
            byte flagBits = (byte)(flagWord >> 8);
            bool isComplex = (flagBits & 0x08) != 0, isLogical = (flagBits & 0x02) != 0;
            if (classByte is 0 or > (byte)MatClass.Opaque)
                throw Fail(subject, region, flags.DataAt, $"unknown array class {classByte}.");
            var matClass = (MatClass)classByte;

            if (matClass == MatClass.Opaque)
            {
                // Opaque objects have no dimensions: flags, then the name, then class-specific data.
                string opaqueName = ReadName(region, ref p, end, subject);
                return Unsupported(region, e, label, opaqueName, matClass, out skippedName, out skippedClass);
            }

            // Dimensions, then the name (the dimensions are checked after it so that messages can name the variable).
            Element dims = ReadTag(region, ref p, end, subject, "dimensions");
            if (dims.Type != (uint)MatDataType.Int32)
                throw Fail(subject, region, dims.TagAt, $"the dimensions must be an miINT32 element, found type {dims.Type}.");
            if (dims.Length % 4 != 0 || dims.Length < 8)
                throw Fail(subject, region, dims.TagAt, $"the dimensions element has {dims.Length} bytes; it must hold at least two 4-byte integers.");
            string name = ReadName(region, ref p, end, subject);
            if (label is null && name.Length > 0) subject = $"variable '{name}'";

            var dimensions = new int[dims.Length / 4];
            long count = 1;
            bool anyZero = false, overflow = false;
            for (int i = 0; i < dimensions.Length; i++)
            {
                int d = BinaryPrimitives.ReadInt32LittleEndian(region.Bytes.AsSpan(dims.DataAt + 4 * i));
                if (d < 0)
                    throw Fail(subject, region, dims.DataAt + 4 * i, $"dimension {i + 1} is negative ({d}).");
                dimensions[i] = d;
                if (d == 0) anyZero = true;
                else if (!overflow)
                {
                    count *= d; // both factors are at most int.MaxValue: no long overflow
                    if (count > int.MaxValue) overflow = true;
                }
            }
            if (anyZero) count = 0;
            else if (overflow)
                throw Fail(subject, region, dims.DataAt, $"the dimensions {MatArray.DescribeDimensions(dimensions, " × ")} have more than {int.MaxValue} elements.");
            int elementCount = (int)count;

            MatArray result;
            switch (matClass)
            {
                case MatClass.Cell:
                {
                    if (isComplex || isLogical)
                        throw Fail(subject, region, flags.DataAt, "a cell array cannot be complex or logical.");
                    if (depth + 1 > MaxNestingDepth)
                        throw Fail(subject, region, e.TagAt, $"cell arrays are nested more than {MaxNestingDepth} levels deep.");
                    if (elementCount > (end - p) / 8)
                        throw Fail(subject, region, p, $"the cell array has {elementCount} elements, but only {end - p} bytes remain in it, room for at most {(end - p) / 8}.");
                    var elements = new MatArray[elementCount];
                    string variableSubject = variable ?? subject;
                    for (int i = 0; i < elementCount; i++)
                    {
                        string childPath = cellPath is null ? i.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"{cellPath}/{i}";
                        string cellLabel = $"{variableSubject}, cell {childPath} (0-based)";
                        Element c = ReadTag(region, ref p, end, cellLabel, "cell element");
                        if (c.Type != (uint)MatDataType.Matrix || c.Small)
                            throw Fail(cellLabel, region, c.TagAt, $"a cell element must be an miMATRIX element, found type {c.Type}.");
                        elements[i] = ReadMatrix(region, c, depth + 1, variableSubject, childPath, out _, out _)!;
                    }
                    result = new MatCell(dimensions, name, elements);
                    break;
                }
                case MatClass.Char:
                    result = ReadChar(region, ref p, end, subject, dimensions, elementCount, name, isComplex, isLogical);
                    break;
                case >= MatClass.Double and <= MatClass.UInt64:
                {
                    (MatDataType realType, ReadOnlyMemory<byte> real) = ReadNumeric(region, ref p, end, subject, "real part", elementCount);
                    (MatDataType imagType, ReadOnlyMemory<byte> imag) = (realType, default);
                    if (isComplex)
                        (imagType, imag) = ReadNumeric(region, ref p, end, subject, "imaginary part", elementCount);
                    result = MatArray.Create(matClass, dimensions, name, isLogical, isComplex, realType, real, imagType, imag);
                    break;
                }
                default:
                    return Unsupported(region, e, label, name, matClass, out skippedName, out skippedClass);
            }

            if (p < end)
                throw Fail(subject, region, p, $"{end - p} unexpected bytes follow the data of the array.");
            return result;
        }

        private MatArray? Unsupported(Region region, Element e, string? label, string name, MatClass matClass, out string? skippedName, out MatClass skippedClass)
        {
            if (label is not null)
                throw Fail(label, region, e.TagAt, $"arrays of class {matClass} are not supported inside a cell array.");
            skippedName = name;
            skippedClass = matClass;
            return null;
        }

        private string ReadName(Region region, ref int p, int end, string subject)
        {
            Element n = ReadTag(region, ref p, end, subject, "array name");
            if (n.Type != (uint)MatDataType.Int8 && n.Type != (uint)MatDataType.UInt8)
                throw Fail(subject, region, n.TagAt, $"the array name must be an miINT8 element, found type {n.Type}.");
            ReadOnlySpan<byte> bytes = region.Bytes.AsSpan(n.DataAt, n.Length);
            for (int i = 0; i < bytes.Length; i++)
            {
                if (bytes[i] is < 0x20 or >= 0x7F)
                    throw Fail(subject, region, n.DataAt + i, $"the array name has byte 0x{bytes[i]:X2}, which is not printable ASCII.");
            }
            return Encoding.ASCII.GetString(bytes);
        }

        private (MatDataType Type, ReadOnlyMemory<byte> Data) ReadNumeric(Region region, ref int p, int end, string subject, string what, int count)
        {
            Element d = ReadTag(region, ref p, end, subject, what);
            int size = d.Type <= 0xFF ? MatArray.SizeOf((MatDataType)d.Type) : 0;
            if (size == 0)
                throw Fail(subject, region, d.TagAt, $"the {what} has data type {d.Type}, which is not a numeric type.");
            if ((long)count * size != d.Length)
                throw Fail(subject, region, d.TagAt, $"the {what} has {d.Length} bytes of {(MatDataType)d.Type}, but the dimensions need {count} values of {size} bytes ({(long)count * size} bytes).");
            return ((MatDataType)d.Type, new ReadOnlyMemory<byte>(region.Bytes, d.DataAt, d.Length));
        }

        private MatArray ReadChar(Region region, ref int p, int end, string subject, int[] dimensions, int count, string name, bool isComplex, bool isLogical)
        {
            if (isComplex || isLogical)
                throw Fail(subject, region, p, "a character array cannot be complex or logical.");
            Element d = ReadTag(region, ref p, end, subject, "character data");
            var memory = new ReadOnlyMemory<byte>(region.Bytes, d.DataAt, d.Length);
            switch ((MatDataType)d.Type)
            {
                case MatDataType.UInt16 or MatDataType.Utf16 or MatDataType.Int16:
                    if ((long)count * 2 != d.Length)
                        throw Fail(subject, region, d.TagAt, $"the character data has {d.Length} bytes, but the dimensions need {count} 2-byte characters.");
                    return MatArray.Create(MatClass.Char, dimensions, name, false, false, MatDataType.UInt16, memory, MatDataType.UInt16, default);
                case MatDataType.UInt8 or MatDataType.Int8:
                    if (count != d.Length)
                        throw Fail(subject, region, d.TagAt, $"the character data has {d.Length} bytes, but the dimensions need {count} 1-byte characters.");
                    return MatArray.Create(MatClass.Char, dimensions, name, false, false, MatDataType.UInt8, memory, MatDataType.UInt8, default);
                case MatDataType.Utf8:
                {
                    string text;
                    try
                    {
                        text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(memory.Span);
                    }
                    catch (DecoderFallbackException)
                    {
                        throw Fail(subject, region, d.DataAt, "the character data is not valid UTF-8.");
                    }
                    if (text.Length != count)
                        throw Fail(subject, region, d.TagAt, $"the character data decodes to {text.Length} UTF-16 characters, but the dimensions need {count}.");
                    var utf16 = new byte[2 * text.Length];
                    for (int i = 0; i < text.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(utf16.AsSpan(2 * i), text[i]);
                    return MatArray.Create(MatClass.Char, dimensions, name, false, false, MatDataType.UInt16, utf16, MatDataType.UInt16, default);
                }
                default:
                    throw Fail(subject, region, d.TagAt, $"the character data has type {d.Type}; supported are miUINT16, miUTF16, miUINT8 and miUTF8.");
            }
        }

        /// <summary>Reads a data element tag at <paramref name="p"/>, checks its data lies before
        /// <paramref name="end"/>, and moves <paramref name="p"/> past the (padded) element.</summary>
        private Element ReadTag(Region region, ref int p, int end, string subject, string what)
        {
            int at = p;
            int left = end - p;
            if (left < 8)
                throw Fail(subject, region, at, left == 0
                    ? $"the {what} is missing: the data ends here."
                    : $"only {left} bytes remain, too few for the 8-byte tag of the {what}.");
            uint word = BinaryPrimitives.ReadUInt32LittleEndian(region.Bytes.AsSpan(at));
            if (word >> 16 != 0)
            {
                int smallSize = (int)(word >> 16);
                if (smallSize > 4)
                    throw Fail(subject, region, at, $"the {what} has a small-element tag claiming {smallSize} bytes; a small element holds at most 4.");
                p = at + 8;
                return new Element(word & 0xFFFF, at, at + 4, smallSize, Small: true);
            }
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(region.Bytes.AsSpan(at + 4));
            if (size > (uint)(left - 8))
                throw Fail(subject, region, at, $"the {what} (type {word}) declares {size} bytes, but only {left - 8} remain.");
            long next = at + 8L + ((size + 7L) & ~7L);
            p = (int)Math.Min(next, end);
            return new Element(word, at, at + 8, (int)size, Small: false);
        }

        private static bool IsKnownType(uint type) => type is >= 1 and <= 7 or 9 or >= 12 and <= 18;

        private GatedFormatException Fail(string? subject, Region region, long position, string problem)
            => new(source, subject is null ? $"at {region.Where(position)}: {problem}" : $"{subject}, at {region.Where(position)}: {problem}");
    }
}
