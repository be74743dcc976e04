using System.Buffers.Binary;
using System.Text;

namespace Gated.Fuzz;

/// <summary>
/// Turns valid files into hostile ones, deterministically from a <see cref="Random"/>: bit flips,
/// interesting bytes, truncations, deleted, duplicated and inserted ranges, chunks spliced from another
/// valid file, huge binary length/count fields, huge decimal numbers in text, format tokens, deep
/// nesting, format-aware mutations, and plain random bytes.
/// </summary>
/// <remarks>
/// Most cases apply one mutation to a seed; one in four stacks two to eight. Every mutation is logged
/// (e.g. <c>flip@17</c>, <c>huge-u32be@8=0xFFFFFFFF</c>), so a failure report says what was done.
/// Inputs are capped at <see cref="MaxLength"/> bytes.
/// </remarks>
public static class Mutator
{
    /// <summary>The longest input produced: 1 MiB (deep nesting of 65,536 levels fits).</summary>
    public const int MaxLength = 1 << 20;

    private static readonly byte[] InterestingBytes = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE, 0x20, 0x0A, (byte)'0', (byte)'9', (byte)'"', (byte)'{', (byte)'['];

    private static readonly ulong[] HugeValues =
    [
        0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000,
        0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFE, 1UL << 40, 1UL << 20, 1UL << 30,
    ];

    private static readonly string[] HugeDecimals =
    [
        "0", "-1", "-0", "1.5", "1e308", "-1e308", "1e-400", "2147483647", "2147483648", "-2147483649", "4294967295", "4294967296",
        "9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
        "99999999999999999999999999999999999999", "000000000000000000001", "1E+9999", "NaN", "Infinity",
    ];

    /// <summary>One hostile input for <paramref name="target"/>.</summary>
    /// <param name="random">The case's random source (the same seed gives the same input).</param>
    /// <param name="target">The target, for its tokens, nesting and structured mutation.</param>
    /// <param name="seeds">Its valid inputs.</param>
    /// <param name="log">Receives a short name for every mutation applied.</param>
    public static byte[] Mutate(Random random, FuzzTarget target, IReadOnlyList<byte[]> seeds, List<string> log)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(seeds);
        ArgumentNullException.ThrowIfNull(log);
        int seedIndex = random.Next(seeds.Count);
        byte[] seed = seeds[seedIndex];
        int roll = random.Next(100);
        if (roll < 2)
        {
            var noise = new byte[random.Next(0, 2 * seed.Length + 64)];
            random.NextBytes(noise);
            log.Add($"random {noise.Length} bytes");
            return noise;
        }
        if (roll < 5)
        {
            // The magic number of a real file, then noise: gets past the first check of the parser.
            int keep = Math.Min(seed.Length, random.Next(1, 33));
            var noise = new byte[keep + random.Next(0, seed.Length + 64)];
            seed.AsSpan(0, keep).CopyTo(noise);
            random.NextBytes(noise.AsSpan(keep));
            log.Add($"seed {seedIndex} prefix {keep} + random {noise.Length - keep} bytes");
            return noise;
        }

        log.Add($"seed {seedIndex}");
        byte[] b = seed;
        int count = random.Next(4) == 0 ? random.Next(2, 9) : 1;
        for (int i = 0; i < count; i++)
        {
            b = MutateOnce(random, target, seeds, b, log);
            if (b.Length > MaxLength) b = b[..MaxLength];
        }
        return b;
    }

    private static byte[] MutateOnce(Random random, FuzzTarget target, IReadOnlyList<byte[]> seeds, byte[] b, List<string> log)
    {
        while (true)
        {
            switch (random.Next(16))
            {
                case 0 or 1 when b.Length > 0:
                    return FlipBits(random, b, log);
                case 2 when b.Length > 0:
                    return SetBytes(random, b, log);
                case 3 when b.Length > 0:
                {
                    int keep = random.Next(b.Length);
                    log.Add($"truncate {keep}");
                    return b[..keep];
                }
                case 4 when b.Length > 0:
                {
                    int at = random.Next(b.Length);
                    int n = Math.Min(b.Length - at, 1 + random.Next(random.Next(2) == 0 ? 8 : 256));
                    log.Add($"delete {n}@{at}");
                    return [.. b.AsSpan(0, at), .. b.AsSpan(at + n)];
                }
                case 5 when b.Length > 0:
                {
                    int from = random.Next(b.Length);
                    int n = Math.Min(b.Length - from, 1 + random.Next(64));
                    int to = random.Next(b.Length + 1);
                    log.Add($"duplicate {n}@{from}→{to}");
                    return [.. b.AsSpan(0, to), .. b.AsSpan(from, n), .. b.AsSpan(to)];
                }
                case 6:
                {
                    var extra = new byte[1 + random.Next(32)];
                    random.NextBytes(extra);
                    int at = random.Next(b.Length + 1);
                    log.Add($"insert {extra.Length} random@{at}");
                    return [.. b.AsSpan(0, at), .. extra, .. b.AsSpan(at)];
                }
                case 7 or 8:
                    return Splice(random, seeds, b, log);
                case 9 or 10 when b.Length > 0:
                    return HugeBinary(random, b, log);
                case 11:
                    if (HugeDecimal(random, b, log) is byte[] text) return text;
                    break;
                case 12 when target.Tokens.Count > 0:
                {
                    byte[] token = target.Tokens[random.Next(target.Tokens.Count)];
                    int at = random.Next(b.Length + 1);
                    if (random.Next(2) == 0 || at + token.Length > b.Length)
                    {
                        log.Add($"token-insert {Show(token)}@{at}");
                        return [.. b.AsSpan(0, at), .. token, .. b.AsSpan(at)];
                    }
                    byte[] copy = (byte[])b.Clone();
                    token.CopyTo(copy, at);
                    log.Add($"token-overwrite {Show(token)}@{at}");
                    return copy;
                }
                case 13 when target.Nesting.Count > 0:
                {
                    var (open, close) = target.Nesting[random.Next(target.Nesting.Count)];
                    int depth = random.Next(10) switch { < 4 => 64, < 7 => 1024, < 9 => 8192, _ => 65536 };
                    depth = Math.Min(depth, MaxLength / 2 / Math.Max(1, open.Length + close.Length));
                    int at = random.Next(b.Length + 1);
                    bool closed = random.Next(2) == 0;
                    var nested = new byte[depth * (open.Length + (closed ? close.Length : 0))];
                    for (int i = 0; i < depth; i++) open.CopyTo(nested, i * open.Length);
                    if (closed)
                        for (int i = 0; i < depth; i++) close.CopyTo(nested, depth * open.Length + i * close.Length);
                    log.Add($"nest {depth}×{Show(open)}{(closed ? "…" + Show(close) : "")}@{at}");
                    return [.. b.AsSpan(0, at), .. nested, .. b.AsSpan(at)];
                }
                case 14 or 15 when target.StructuredMutation is not null:
                {
                    log.Add("structured");
                    return target.StructuredMutation(b, random);
                }
            }
        }
    }

    private static byte[] FlipBits(Random random, byte[] b, List<string> log)
    {
        byte[] copy = (byte[])b.Clone();
        for (int k = 1 + random.Next(4); k > 0; k--)
        {
            int at = random.Next(copy.Length);
            copy[at] ^= (byte)(1 << random.Next(8));
            log.Add($"flip@{at}");
        }
        return copy;
    }

    private static byte[] SetBytes(Random random, byte[] b, List<string> log)
    {
        byte[] copy = (byte[])b.Clone();
        for (int k = 1 + random.Next(4); k > 0; k--)
        {
            int at = random.Next(copy.Length);
            copy[at] = random.Next(2) == 0 ? InterestingBytes[random.Next(InterestingBytes.Length)] : (byte)random.Next(256);
            log.Add($"set@{at}=0x{copy[at]:X2}");
        }
        return copy;
    }

    /// <summary>Another seed's bytes: its tail after a prefix of this input, or a chunk of it inserted or written over this one.</summary>
    private static byte[] Splice(Random random, IReadOnlyList<byte[]> seeds, byte[] b, List<string> log)
    {
        int otherIndex = random.Next(seeds.Count);
        byte[] other = seeds[otherIndex];
        if (other.Length == 0) return b;
        int at = random.Next(b.Length + 1);
        int from = random.Next(other.Length);
        switch (random.Next(3))
        {
            case 0:
                log.Add($"splice {at} of this + seed {otherIndex} from {from}");
                return [.. b.AsSpan(0, at), .. other.AsSpan(from)];
            case 1:
            {
                int n = Math.Min(other.Length - from, 1 + random.Next(256));
                log.Add($"splice-insert seed {otherIndex}[{from}..+{n}]@{at}");
                return [.. b.AsSpan(0, at), .. other.AsSpan(from, n), .. b.AsSpan(at)];
            }
            default:
            {
                int n = Math.Min(Math.Min(other.Length - from, b.Length - at), 1 + random.Next(256));
                byte[] copy = (byte[])b.Clone();
                other.AsSpan(from, n).CopyTo(copy.AsSpan(at));
                log.Add($"splice-overwrite seed {otherIndex}[{from}..+{n}]@{at}");
                return copy;
            }
        }
    }

    /// <summary>A huge (or zero, or off-by-one) 1-, 2-, 4- or 8-byte integer, either byte order, often aligned: length and count fields.</summary>
    private static byte[] HugeBinary(Random random, byte[] b, List<string> log)
    {
        int width = random.Next(4) switch { 0 => 1, 1 => 2, 2 => 4, _ => 8 };
        if (b.Length < width) width = 1;
        int at = random.Next(b.Length - width + 1);
        if (random.Next(2) == 0) at &= ~(width - 1);
        bool bigEndian = random.Next(2) == 0;
        byte[] copy = (byte[])b.Clone();
        Span<byte> field = copy.AsSpan(at, width);
        ulong value;
        if (random.Next(3) == 0)
        {
            // Arithmetic on the value that is there: off by a little, doubled, or the input length.
            ulong old = Read(field, bigEndian);
            value = random.Next(4) switch
            {
                0 => old + (ulong)random.Next(1, 17),
                1 => old - (ulong)random.Next(1, 17),
                2 => old * 2 + 1,
                _ => (ulong)b.Length + (ulong)random.Next(-8, 9),
            };
        }
        else
        {
            value = HugeValues[random.Next(HugeValues.Length)];
        }
        Write(field, bigEndian, value);
        log.Add($"huge-u{8 * width}{(bigEndian ? "be" : "le")}@{at}=0x{Read(field, bigEndian):X}");
        return copy;
    }

    private static ulong Read(ReadOnlySpan<byte> field, bool bigEndian)
    {
        ulong v = 0;
        for (int i = 0; i < field.Length; i++)
            v |= (ulong)field[bigEndian ? field.Length - 1 - i : i] << (8 * i);
        return v;
    }

    private static void Write(Span<byte> field, bool bigEndian, ulong value)
    {
        for (int i = 0; i < field.Length; i++)
            field[bigEndian ? field.Length - 1 - i : i] = (byte)(value >> (8 * i));
    }

    /// <summary>Replaces a run of ASCII digits with a huge, negative, fractional or non-numeric number; null when there are no digits.</summary>
    private static byte[]? HugeDecimal(Random random, byte[] b, List<string> log)
    {
        int start = random.Next(b.Length + 1);
        int at = b.AsSpan(start).IndexOfAnyInRange((byte)'0', (byte)'9');
        if (at < 0) at = b.AsSpan(0, start).IndexOfAnyInRange((byte)'0', (byte)'9');
        else at += start;
        if (at < 0) return null;
        int end = at;
        while (end < b.Length && b[end] is >= (byte)'0' and <= (byte)'9') end++;
        string number = HugeDecimals[random.Next(HugeDecimals.Length)];
        if (random.Next(4) == 0) number = new string('9', 1 + random.Next(400));
        log.Add($"number@{at}={(number.Length > 24 ? number[..24] + "…" : number)}");
        return [.. b.AsSpan(0, at), .. Encoding.ASCII.GetBytes(number), .. b.AsSpan(end)];
    }

    /// <summary>A token for the log: printable ASCII as text, else hex.</summary>
    private static string Show(byte[] token) =>
        token.AsSpan().IndexOfAnyExceptInRange((byte)0x21, (byte)0x7E) < 0
            ? Encoding.ASCII.GetString(token)
            : "0x" + Convert.ToHexString(token);

    /// <summary>A 32-bit integer as big-endian bytes, for tokens.</summary>
    public static byte[] BigEndian(uint value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        return b;
    }

    /// <summary>A 32-bit integer as little-endian bytes, for tokens.</summary>
    public static byte[] LittleEndian(uint value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        return b;
    }

    /// <summary>ASCII text as bytes, for tokens.</summary>
    public static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);
}
