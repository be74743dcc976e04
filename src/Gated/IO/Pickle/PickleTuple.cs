using System.Collections;

namespace Gated.IO.Pickle;

/// <summary>
/// A Python tuple read from a pickle: an immutable list of values with Python's value equality.
/// </summary>
/// <remarks>
/// Two tuples are equal when they have the same length and equal items, where numbers compare by
/// value across types (<c>1</c>, <c>1.0</c> and <c>True</c> are equal, as in Python), strings and
/// bytes by content, tuples and frozensets structurally, and mutable containers (lists, dicts,
/// sets, arrays) by identity. The hash code is consistent with that and cached.
/// </remarks>
public sealed class PickleTuple : IReadOnlyList<object?>, IEquatable<PickleTuple>
{
    private readonly object?[] _items;
    private int _hash;
    private bool _hashed;

    /// <summary>The empty tuple.</summary>
    public static PickleTuple Empty { get; } = new(Array.Empty<object?>(), wrap: true);

    /// <summary>Creates a tuple holding copies of the given references.</summary>
    /// <param name="items">The items, in order.</param>
    /// <exception cref="ArgumentNullException"><paramref name="items"/> is null.</exception>
    public PickleTuple(params object?[] items)
        : this((object?[])(items ?? throw new ArgumentNullException(nameof(items))).Clone(), wrap: true)
    {
    }

    /// <summary>Takes ownership of <paramref name="items"/> and computes the cached properties.</summary>
    internal PickleTuple(object?[] items, bool wrap)
    {
        _ = wrap;
        _items = items;
        bool hashable = true;
        long weight = 1;
        foreach (object? item in items)
        {
            if (hashable && !PickleValues.IsHashable(item)) hashable = false;
            weight = PickleValues.AddWeight(weight, PickleValues.Weight(item));
        }
        IsHashable = hashable;
        Weight = weight;
    }

    /// <summary>The number of items.</summary>
    public int Count => _items.Length;

    /// <summary>The item at <paramref name="index"/>.</summary>
    /// <exception cref="IndexOutOfRangeException"><paramref name="index"/> is out of range.</exception>
    public object? this[int index] => _items[index];

    /// <summary>Whether every item is hashable, so that Python could use the tuple as a key.</summary>
    internal bool IsHashable { get; }

    /// <summary>The key weight (see <see cref="PickleLimits.MaxKeyWeight"/>).</summary>
    internal long Weight { get; }

    /// <summary>The items as a read-only span.</summary>
    public ReadOnlySpan<object?> AsSpan() => _items;

    /// <inheritdoc/>
    public IEnumerator<object?> GetEnumerator() => ((IEnumerable<object?>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    /// <summary>Python tuple equality (see the remarks of <see cref="PickleTuple"/>).</summary>
    /// <param name="other">The tuple to compare with.</param>
    public bool Equals(PickleTuple? other) => other is not null && PickleValues.ValueEquals(this, other);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is PickleTuple t && Equals(t);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        if (!_hashed)
        {
            System.Runtime.CompilerServices.RuntimeHelpers.EnsureSufficientExecutionStack();
            var hc = new HashCode();
            hc.Add(_items.Length);
            foreach (object? item in _items) hc.Add(PickleValues.ValueHash(item));
            _hash = hc.ToHashCode();
            _hashed = true;
        }
        return _hash;
    }

    /// <summary>The tuple in Python notation, shortened if long, e.g. <c>(1, 'a')</c>.</summary>
    public override string ToString() => PickleText.Repr(this);
}
