using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Gated.IO.Pickle;

/// <summary>
/// A Python dict read from a pickle: keys in insertion order (as in Python 3.7+), compared with
/// Python's value equality (strings by content, <c>1</c>, <c>1.0</c> and <c>True</c> as one key,
/// tuples structurally). <c>None</c> is a valid key and appears as <c>null</c>.
/// </summary>
/// <remarks>
/// When a pickle sets a key that is already present, the value is replaced and the first key
/// object kept, as in Python. The dictionary is read-only to its users.
/// </remarks>
public sealed class PickleDict : IReadOnlyDictionary<object?, object?>
{
    private readonly Dictionary<object, int> _index = new(PickleValues.KeyComparer);
    private readonly List<KeyValuePair<object?, object?>> _entries = [];

    /// <summary>The number of entries.</summary>
    public int Count => _entries.Count;

    /// <summary>The keys, in insertion order.</summary>
    public IEnumerable<object?> Keys => _entries.Select(e => e.Key);

    /// <summary>The values, in the order of their keys.</summary>
    public IEnumerable<object?> Values => _entries.Select(e => e.Value);

    /// <summary>The value stored under <paramref name="key"/>.</summary>
    /// <exception cref="KeyNotFoundException">There is no such key.</exception>
    public object? this[object? key] =>
        TryGetValue(key, out object? value) ? value : throw new KeyNotFoundException($"The key {PickleText.Repr(key)} is not in the dict.");

    /// <summary>Whether the dict holds <paramref name="key"/>.</summary>
    /// <param name="key">The key; null stands for None.</param>
    public bool ContainsKey(object? key) => _index.ContainsKey(key ?? PickleValues.NoneKey);

    /// <summary>Looks up a key.</summary>
    /// <param name="key">The key; null stands for None.</param>
    /// <param name="value">The value when found.</param>
    /// <returns>Whether the key was found.</returns>
    public bool TryGetValue(object? key, [MaybeNullWhen(false)] out object? value)
    {
        if (_index.TryGetValue(key ?? PickleValues.NoneKey, out int i))
        {
            value = _entries[i].Value;
            return true;
        }
        value = null;
        return false;
    }

    /// <summary>The entries, in insertion order.</summary>
    public IEnumerator<KeyValuePair<object?, object?>> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Sets a key (the caller has checked that it is hashable).</summary>
    internal void Set(object? key, object? value)
    {
        object k = key ?? PickleValues.NoneKey;
        if (_index.TryGetValue(k, out int i))
        {
            _entries[i] = new KeyValuePair<object?, object?>(_entries[i].Key, value);
        }
        else
        {
            _index.Add(k, _entries.Count);
            _entries.Add(new KeyValuePair<object?, object?>(key, value));
        }
    }

    /// <summary>The dict in Python notation, shortened if long, e.g. <c>{'a': 1}</c>.</summary>
    public override string ToString() => PickleText.Repr(this);
}
