using System.Numerics;
using System.Runtime.CompilerServices;

namespace Gated.IO.Pickle;

/// <summary>
/// Python value semantics for the objects <see cref="PickleReader"/> produces: which values are
/// hashable, how big a key is (its weight), and equality and hashing as Python dictionaries and
/// sets use them (<c>1 == 1.0 == True</c>, strings and bytes by content, tuples and frozensets
/// structurally). Hash codes of numbers and bytes are computed with <see cref="HashCode"/>, which
/// is seeded per process, so a pickle cannot be crafted to make all its keys collide.
/// </summary>
internal static class PickleValues
{
    /// <summary>Python's <c>True</c>, boxed once.</summary>
    public static readonly object True = true;

    /// <summary>Python's <c>False</c>, boxed once.</summary>
    public static readonly object False = false;

    /// <summary>Stands for <c>None</c> as a key inside <see cref="PickleDict"/> and <see cref="PickleSet"/>.</summary>
    public static readonly object NoneKey = new();

    /// <summary>A weight that is never reached by saturating additions and compares above every limit.</summary>
    public const long WeightCap = long.MaxValue / 4;

    private const int SmallMin = -256, SmallMax = 1024;
    private static readonly object[] SmallInts = CreateSmallInts();

    /// <summary>The equality comparer of dictionary keys and set elements (null is not a valid key; use <see cref="NoneKey"/>).</summary>
    public static readonly IEqualityComparer<object> KeyComparer = new PythonEqualityComparer();

    /// <summary>A boxed 64-bit integer; small values share one box.</summary>
    public static object Box(long value) =>
        value is >= SmallMin and <= SmallMax ? SmallInts[value - SmallMin] : value;

    /// <summary>A boxed bool.</summary>
    public static object Box(bool value) => value ? True : False;

    /// <summary>A Python int: a boxed long when it fits, otherwise a <see cref="BigInteger"/>.</summary>
    public static object Integer(BigInteger value) =>
        value >= long.MinValue && value <= long.MaxValue ? Box((long)value) : value;

    private static object[] CreateSmallInts()
    {
        var boxes = new object[SmallMax - SmallMin + 1];
        for (int i = 0; i < boxes.Length; i++) boxes[i] = (long)(i + SmallMin);
        return boxes;
    }

    /// <summary>Whether Python could use the value as a dictionary key or set element.</summary>
    public static bool IsHashable(object? value) => value switch
    {
        null or bool or long or BigInteger or double or string or byte[] => true,
        PickleTuple t => t.IsHashable,
        PickleSet s => s.IsFrozen,
        NumpyDType or PickleGlobal => true,
        _ => false,
    };

    /// <summary>The Python type name of a value, for messages.</summary>
    public static string TypeName(object? value) => value switch
    {
        null => "NoneType",
        bool => "bool",
        long or BigInteger => "int",
        double => "float",
        string => "str",
        byte[] => "bytes",
        List<object?> => "list",
        PickleTuple => "tuple",
        PickleDict => "dict",
        PickleSet { IsFrozen: true } => "frozenset",
        PickleSet => "set",
        NumpyDType => "numpy.dtype",
        NumpyArray => "numpy.ndarray",
        PickleGlobal g => $"global {PickleText.Quote(g.ToString())}",
        _ => value.GetType().Name,
    };

    /// <summary>The weight of a hashable value (see <see cref="PickleLimits.MaxKeyWeight"/>).</summary>
    public static long Weight(object? value) => value switch
    {
        string s => 1 + s.Length / 16,
        byte[] b => 1 + b.Length / 16,
        BigInteger n => 1 + n.GetByteCount() / 16,
        PickleTuple t => t.Weight,
        PickleSet { IsFrozen: true } s => s.Weight,
        _ => 1,
    };

    /// <summary>Adds two weights, saturating at <see cref="WeightCap"/>.</summary>
    public static long AddWeight(long a, long b) => a >= WeightCap - b ? WeightCap : a + b;

    /// <summary>Python's <c>==</c> on hashable values; identity for everything else.</summary>
    public static bool ValueEquals(object? a, object? b)
    {
        if (ReferenceEquals(a, b)) return true;
        if (a is null || b is null) return false;
        if (IsNumber(a) && IsNumber(b)) return NumberEquals(a, b);
        switch (a)
        {
            case string sa: return b is string sb && string.Equals(sa, sb, StringComparison.Ordinal);
            case byte[] ba: return b is byte[] bb && ba.AsSpan().SequenceEqual(bb);
            case PickleTuple ta:
                if (b is not PickleTuple tb || ta.Count != tb.Count) return false;
                if (ta.IsHashable && tb.IsHashable && ta.GetHashCode() != tb.GetHashCode()) return false;
                RuntimeHelpers.EnsureSufficientExecutionStack();
                for (int i = 0; i < ta.Count; i++)
                    if (!ValueEquals(ta[i], tb[i])) return false;
                return true;
            case PickleSet { IsFrozen: true } fa:
                if (b is not PickleSet { IsFrozen: true } fb || fa.Count != fb.Count || fa.GetHashCode() != fb.GetHashCode()) return false;
                RuntimeHelpers.EnsureSufficientExecutionStack();
                foreach (object? item in fa)
                    if (!fb.Contains(item)) return false;
                return true;
            case PickleGlobal ga: return ga.Equals(b);
            default: return false;
        }
    }

    /// <summary>The hash code matching <see cref="ValueEquals"/>.</summary>
    public static int ValueHash(object? value)
    {
        switch (value)
        {
            case null: return 0x2A2A2A2A;
            case bool b: return HashInt64(b ? 1 : 0);
            case long l: return HashInt64(l);
            case BigInteger n: return n >= long.MinValue && n <= long.MaxValue ? HashInt64((long)n) : HashBigInteger(n);
            case double d:
                if (double.IsFinite(d) && Math.Floor(d) == d)
                    return d >= -9.2233720368547758e18 && d < 9.2233720368547758e18 ? HashInt64((long)d) : HashBigInteger(new BigInteger(d));
                return HashInt64(BitConverter.DoubleToInt64Bits(d) ^ 0x5DEECE66DL);
            case string s: return s.GetHashCode(StringComparison.Ordinal);
            case byte[] bytes:
            {
                var hc = new HashCode();
                hc.AddBytes(bytes);
                hc.Add(bytes.Length);
                return hc.ToHashCode();
            }
            case PickleTuple t: return t.GetHashCode();
            case PickleSet { IsFrozen: true } f: return f.GetHashCode();
            case PickleGlobal g: return g.GetHashCode();
            default: return RuntimeHelpers.GetHashCode(value);
        }
    }

    private static int HashInt64(long value)
    {
        var hc = new HashCode();
        hc.Add((int)value);
        hc.Add((int)(value >> 32));
        return hc.ToHashCode();
    }

    private static int HashBigInteger(BigInteger value)
    {
        var hc = new HashCode();
        hc.AddBytes(value.ToByteArray());
        return hc.ToHashCode();
    }

    private static bool IsNumber(object value) => value is bool or long or BigInteger or double;

    private static bool NumberEquals(object a, object b)
    {
        if (a is double da)
        {
            if (b is double db) return da == db;
            return IntegerEqualsDouble(ToBigInteger(b), da);
        }
        if (b is double d) return IntegerEqualsDouble(ToBigInteger(a), d);
        if (a is BigInteger || b is BigInteger) return ToBigInteger(a) == ToBigInteger(b);
        return ToInt64(a) == ToInt64(b);
    }

    private static long ToInt64(object value) => value switch
    {
        bool b => b ? 1 : 0,
        long l => l,
        _ => throw new InvalidOperationException("not an int"),
    };

    private static BigInteger ToBigInteger(object value) => value switch
    {
        BigInteger n => n,
        _ => ToInt64(value),
    };

    private static bool IntegerEqualsDouble(BigInteger n, double d) =>
        double.IsFinite(d) && Math.Floor(d) == d && new BigInteger(d) == n;

    /// <summary><see cref="ValueEquals"/> and <see cref="ValueHash"/> as a comparer.</summary>
    private sealed class PythonEqualityComparer : IEqualityComparer<object>
    {
        public new bool Equals(object? x, object? y) => ValueEquals(x, y);

        public int GetHashCode(object obj) => ValueHash(obj);
    }
}
