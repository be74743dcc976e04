namespace Gated.IO.Pickle;

/// <summary>
/// Bounds that <see cref="PickleReader"/> enforces while it reads a pickle, so that a hostile or
/// corrupt input fails fast with a <see cref="GatedFormatException"/> instead of exhausting memory,
/// time or the call stack. The defaults accept every pickle the Python <c>pickle</c> module writes
/// for ordinary data (lists, dicts, tuples, numbers, strings, numpy scalars and arrays).
/// </summary>
/// <remarks>
/// <para>Lengths are checked against the bytes that remain in the input before anything is
/// allocated, so a string, bytes or integer value can never be larger than the input itself.</para>
/// <para>Allocation is bounded by a work budget proportional to the input size: every container
/// created, every item stored into a container, every byte copied by a data constructor (such as
/// <c>_codecs.encode</c> or <c>builtins.set</c>) and the size of every dictionary key or set
/// element hashed is charged to it. The budget is
/// <c>min(<see cref="MaxElements"/>, <see cref="ElementsPerInputByte"/> × input length + 65536)</c>.
/// Ordinary pickles use less than one unit per input byte. A unit is at most a hash-table insert
/// or hashing 16 bytes, so reading any input takes time linear in its size.</para>
/// </remarks>
public sealed class PickleLimits
{
    private readonly int _maxStackDepth = 1 << 20;
    private readonly int _maxNesting = 2000;
    private readonly int _maxMemoEntries = 1 << 24;
    private readonly long _maxElements = 1L << 30;
    private readonly int _elementsPerInputByte = 4;
    private readonly int _maxStringLength = Array.MaxLength;
    private readonly int _maxIntegerDigits = 4300;
    private readonly int _maxIntegerBytes = 2048;
    private readonly long _maxKeyWeight = 1L << 20;
    private readonly long _maxInputLength = Array.MaxLength;

    /// <summary>The default limits.</summary>
    public static PickleLimits Default { get; } = new();

    /// <summary>The most values the stack may hold at once (default 1,048,576).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int MaxStackDepth { get => _maxStackDepth; init => _maxStackDepth = Positive(value); }

    /// <summary>The most MARKs that may be open at once, and the deepest that containers (lists,
    /// tuples, dicts, sets) may be nested inside each other (default 2000; Python's own pickler
    /// cannot write nesting deeper than its recursion limit, 1000 by default).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int MaxNesting { get => _maxNesting; init => _maxNesting = Positive(value); }

    /// <summary>The most distinct entries the memo may hold (default 16,777,216).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int MaxMemoEntries { get => _maxMemoEntries; init => _maxMemoEntries = Positive(value); }

    /// <summary>An absolute cap on the work budget (see the remarks of <see cref="PickleLimits"/>; default 2^30).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public long MaxElements { get => _maxElements; init => _maxElements = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must be at least 1."); }

    /// <summary>The work budget granted per input byte, on top of a fixed 65536 (default 4; the
    /// numpy-scalar pickle of JSB Chorales uses 0.25, and Python's pickler cannot write data that
    /// needs more than about 3).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int ElementsPerInputByte { get => _elementsPerInputByte; init => _elementsPerInputByte = Positive(value); }

    /// <summary>The longest string (in bytes of its encoding) or bytes value accepted (default
    /// <see cref="Array.MaxLength"/>; in any case no longer than the rest of the input).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int MaxStringLength { get => _maxStringLength; init => _maxStringLength = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must not be negative."); }

    /// <summary>The most decimal digits of an integer written as text by the INT and LONG opcodes
    /// (default 4300, the limit Python itself applies to <c>int(str)</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int MaxIntegerDigits { get => _maxIntegerDigits; init => _maxIntegerDigits = Positive(value); }

    /// <summary>The most bytes of a binary integer (LONG1, LONG4; default 2048, about 4900 decimal digits).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int MaxIntegerBytes { get => _maxIntegerBytes; init => _maxIntegerBytes = Positive(value); }

    /// <summary>The largest dictionary key or set element, as a weight: 1 per scalar, 1 per 16
    /// characters or bytes of a string, 1 per tuple plus the weights of its items (default 2^20).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public long MaxKeyWeight { get => _maxKeyWeight; init => _maxKeyWeight = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must be at least 1."); }

    /// <summary>The largest file <see cref="PickleReader.Read(string, PickleLimits?)"/> reads (default <see cref="Array.MaxLength"/> bytes).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public long MaxInputLength { get => _maxInputLength; init => _maxInputLength = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must not be negative."); }

    /// <summary>Whether bytes after the STOP opcode are ignored (true) or rejected (false, the
    /// default). Python's <c>pickle.loads</c> ignores them; a file written by one <c>pickle.dump</c>
    /// has none, so by default they are taken as a sign of a corrupt or concatenated file.</summary>
    public bool AllowTrailingBytes { get; init; }

    private static int Positive(int value) =>
        value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must be at least 1.");
}
