using System.Collections;

namespace Gated.IO.Pickle;

/// <summary>
/// A Python set or frozenset read from a pickle, with Python's value equality for its elements.
/// Elements are enumerated in the order they were first added (Python's own order is by hash and
/// is not meaningful). <c>None</c> is a valid element and appears as <c>null</c>.
/// </summary>
/// <remarks>
/// A frozenset (<see cref="IsFrozen"/>) is hashable and can be a dict key or an element of
/// another set; two frozensets are equal when they hold equal elements. Sets compare by identity.
/// </remarks>
public sealed class PickleSet : IReadOnlyCollection<object?>
{
    private readonly HashSet<object> _index = new(PickleValues.KeyComparer);
    private readonly List<object?> _order = [];
    private int _hash;

    /// <summary>Creates an empty set; a frozenset is filled and then made frozen by <see cref="Freeze"/>.</summary>
    internal PickleSet()
    {
    }

    /// <summary>Whether this is a frozenset.</summary>
    public bool IsFrozen { get; private set; }

    /// <summary>The number of elements.</summary>
    public int Count => _order.Count;

    /// <summary>The key weight of a frozenset (see <see cref="PickleLimits.MaxKeyWeight"/>).</summary>
    internal long Weight { get; private set; } = 1;

    /// <summary>Whether the set holds an element equal to <paramref name="item"/>.</summary>
    /// <param name="item">The element; null stands for None.</param>
    public bool Contains(object? item) => _index.Contains(item ?? PickleValues.NoneKey);

    /// <summary>The elements, in the order they were first added.</summary>
    public IEnumerator<object?> GetEnumerator() => _order.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Adds an element (the caller has checked that it is hashable).</summary>
    internal void Add(object? item)
    {
        if (_index.Add(item ?? PickleValues.NoneKey))
        {
            _order.Add(item);
            Weight = PickleValues.AddWeight(Weight, PickleValues.Weight(item));
        }
    }

    /// <summary>Makes the set a frozenset once its elements are in, and fixes its hash.</summary>
    internal void Freeze()
    {
        IsFrozen = true;
        int hash = _order.Count * 0x3C6EF372;
        foreach (object? item in _order) hash += PickleValues.ValueHash(item); // order-independent
        _hash = hash;
    }

    /// <inheritdoc/>
    public override int GetHashCode() => IsFrozen ? _hash : base.GetHashCode();

    /// <summary>Frozensets: equal elements; sets: identity.</summary>
    /// <param name="obj">The object to compare with.</param>
    public override bool Equals(object? obj) => IsFrozen ? PickleValues.ValueEquals(this, obj) : ReferenceEquals(this, obj);

    /// <summary>The set in Python notation, shortened if long, e.g. <c>{1, 2}</c> or <c>frozenset({1})</c>.</summary>
    public override string ToString() => PickleText.Repr(this);
}
