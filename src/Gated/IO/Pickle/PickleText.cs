using System.Globalization;
using System.Numerics;
using System.Text;

namespace Gated.IO.Pickle;

/// <summary>An error in the data of a pickle; <see cref="PickleReader"/> adds the file, offset and opcode.</summary>
internal sealed class PickleDataException(string message) : Exception(message);

/// <summary>Python-style text for values read from pickles, bounded in length and depth and safe on cycles.</summary>
internal static class PickleText
{
    private const int MaxDepth = 24;

    /// <summary>Python <c>repr</c> of a value, cut to about <paramref name="maxLength"/> characters.</summary>
    public static string Repr(object? value, int maxLength = 1000)
    {
        var sb = new StringBuilder();
        var active = new HashSet<object>(ReferenceEqualityComparer.Instance);
        Append(sb, value, active, 0, maxLength);
        if (sb.Length > maxLength)
        {
            sb.Length = maxLength;
            sb.Append('…');
        }
        return sb.ToString();
    }

    /// <summary>A string in Python quotes with control and non-ASCII-printable characters escaped, shortened to 80 characters.</summary>
    public static string Quote(string s, int maxLength = 80)
    {
        var sb = new StringBuilder();
        AppendString(sb, s, maxLength);
        return sb.ToString();
    }

    /// <summary>A value's type and a short repr, for messages: <c>int 109</c>, <c>str 'x'</c>, <c>list of 3 items</c>.</summary>
    public static string Describe(object? value) => value switch
    {
        null => "None",
        List<object?> l => $"a list of {l.Count} item{(l.Count == 1 ? "" : "s")}",
        PickleTuple t => $"a tuple of {t.Count} item{(t.Count == 1 ? "" : "s")}",
        PickleDict d => $"a dict of {d.Count} item{(d.Count == 1 ? "" : "s")}",
        PickleSet s => $"a {(s.IsFrozen ? "frozenset" : "set")} of {s.Count} item{(s.Count == 1 ? "" : "s")}",
        NumpyArray a => $"a numpy array {a}",
        NumpyDType d => $"the numpy {d}",
        PickleGlobal g => $"the global {Quote(g.ToString())}",
        _ => $"{PickleValues.TypeName(value)} {Repr(value, 60)}",
    };

    private static void Append(StringBuilder sb, object? value, HashSet<object> active, int depth, int maxLength)
    {
        if (sb.Length > maxLength) return;
        switch (value)
        {
            case null: sb.Append("None"); return;
            case bool b: sb.Append(b ? "True" : "False"); return;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); return;
            case BigInteger n:
                string digits = n.ToString(CultureInfo.InvariantCulture);
                sb.Append(digits.Length <= 60 ? digits : $"{digits[..20]}…({digits.Length} digits)");
                return;
            case double d: sb.Append(FormatFloat(d)); return;
            case string s: AppendString(sb, s, Math.Max(16, maxLength - sb.Length)); return;
            case byte[] bytes: AppendBytes(sb, bytes, Math.Max(16, maxLength - sb.Length)); return;
            case NumpyDType or NumpyArray or PickleGlobal: sb.Append(value); return;
        }
        if (depth >= MaxDepth || !active.Add(value))
        {
            sb.Append("...");
            return;
        }
        switch (value)
        {
            case List<object?> list:
                sb.Append('[');
                AppendItems(sb, list, active, depth, maxLength);
                sb.Append(']');
                break;
            case PickleTuple tuple:
                sb.Append('(');
                AppendItems(sb, tuple, active, depth, maxLength);
                if (tuple.Count == 1) sb.Append(',');
                sb.Append(')');
                break;
            case PickleDict dict:
                sb.Append('{');
                bool first = true;
                foreach (var (k, v) in dict)
                {
                    if (sb.Length > maxLength) break;
                    if (!first) sb.Append(", ");
                    first = false;
                    Append(sb, k, active, depth + 1, maxLength);
                    sb.Append(": ");
                    Append(sb, v, active, depth + 1, maxLength);
                }
                sb.Append('}');
                break;
            case PickleSet set:
                if (set.Count == 0)
                {
                    sb.Append(set.IsFrozen ? "frozenset()" : "set()");
                    break;
                }
                if (set.IsFrozen) sb.Append("frozenset(");
                sb.Append('{');
                AppendItems(sb, set, active, depth, maxLength);
                sb.Append('}');
                if (set.IsFrozen) sb.Append(')');
                break;
            default:
                sb.Append('<').Append(value.GetType().Name).Append('>');
                break;
        }
        active.Remove(value);
    }

    private static void AppendItems(StringBuilder sb, IEnumerable<object?> items, HashSet<object> active, int depth, int maxLength)
    {
        bool first = true;
        foreach (object? item in items)
        {
            if (sb.Length > maxLength) break;
            if (!first) sb.Append(", ");
            first = false;
            Append(sb, item, active, depth + 1, maxLength);
        }
    }

    /// <summary>Python's <c>repr(float)</c>: shortest round-trip digits, <c>1.0</c>, <c>1e+16</c>, <c>inf</c>, <c>nan</c>.</summary>
    public static string FormatFloat(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsPositiveInfinity(d)) return "inf";
        if (double.IsNegativeInfinity(d)) return "-inf";
        string r = d.ToString("R", CultureInfo.InvariantCulture);
        int e = r.IndexOf('E', StringComparison.Ordinal);
        if (e < 0) return r.Contains('.', StringComparison.Ordinal) ? r : r + ".0";
        string mantissa = r[..e], exponent = r[(e + 1)..];
        char sign = exponent[0] == '-' ? '-' : '+';
        exponent = exponent.TrimStart('+', '-');
        if (exponent.Length < 2) exponent = "0" + exponent;
        return $"{mantissa}e{sign}{exponent}";
    }

    private static void AppendString(StringBuilder sb, string s, int maxLength)
    {
        char quote = s.Contains('\'', StringComparison.Ordinal) && !s.Contains('"', StringComparison.Ordinal) ? '"' : '\'';
        sb.Append(quote);
        int start = sb.Length;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (sb.Length - start >= maxLength)
            {
                sb.Append('…');
                break;
            }
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                sb.Append(c).Append(s[++i]); // a whole supplementary character, printed as is
                continue;
            }
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c == quote) sb.Append('\\').Append(c);
                    else if (c < 0x20 || c is >= '\u007f' and <= '\u00a0' || char.IsSurrogate(c) || c is '\u2028' or '\u2029')
                        sb.Append(c <= 0xFF ? $"\\x{(int)c:x2}" : $"\\u{(int)c:x4}");
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append(quote);
    }

    private static void AppendBytes(StringBuilder sb, byte[] bytes, int maxLength)
    {
        sb.Append("b'");
        int start = sb.Length;
        foreach (byte b in bytes)
        {
            if (sb.Length - start >= maxLength)
            {
                sb.Append('…');
                break;
            }
            switch (b)
            {
                case (byte)'\\': sb.Append("\\\\"); break;
                case (byte)'\'': sb.Append("\\'"); break;
                case (byte)'\n': sb.Append("\\n"); break;
                case (byte)'\r': sb.Append("\\r"); break;
                case (byte)'\t': sb.Append("\\t"); break;
                default:
                    if (b is < 0x20 or >= 0x7f) sb.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}");
                    else sb.Append((char)b);
                    break;
            }
        }
        sb.Append('\'');
    }
}
