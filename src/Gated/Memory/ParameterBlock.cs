using System.Numerics;

namespace Gated.Memory;

/// <summary>One named parameter's place in a <see cref="ParameterBlock{T}"/>.</summary>
/// <param name="Name">PyTorch's state_dict name, e.g. <c>weight_hh_l0_reverse</c>.</param>
/// <param name="Shape">Its shape, e.g. (3H, H).</param>
/// <param name="Offset">Index of its first element in <see cref="ParameterBlock{T}.Values"/>.</param>
/// <param name="Length">Its number of elements.</param>
public sealed record ParameterInfo(string Name, int[] Shape, int Offset, int Length)
{
    /// <summary>The shape as text, e.g. <c>(138, 46)</c>.</summary>
    public string ShapeText => "(" + string.Join(", ", Shape) + ")";
}

/// <summary>
/// All of a model's parameters in one <c>T[]</c>, with named views in PyTorch's state_dict order,
/// and the gradients in a second array of the same layout. Optimisers, clipping and checkpoints are
/// then flat loops over <see cref="Values"/> and <see cref="Gradients"/>.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class ParameterBlock<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Dictionary<string, ParameterInfo> byName = new(StringComparer.Ordinal);
    private readonly List<ParameterInfo> parameters = [];

    /// <summary>Creates a zero-filled block holding the given parameters in the given order.</summary>
    public ParameterBlock(IEnumerable<(string Name, int[] Shape)> layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        long offset = 0;
        foreach (var (name, shape) in layout)
        {
            long length = 1;
            foreach (int d in shape) length *= d;
            if (offset + length > Array.MaxLength) throw new ArgumentException("Too many parameters for one array.", nameof(layout));
            var info = new ParameterInfo(name, (int[])shape.Clone(), (int)offset, (int)length);
            if (!byName.TryAdd(name, info)) throw new ArgumentException($"Duplicate parameter name '{name}'.", nameof(layout));
            parameters.Add(info);
            offset += length;
        }
        Values = new T[offset];
        Gradients = new T[offset];
    }

    /// <summary>Every parameter value, in layout order.</summary>
    public T[] Values { get; }

    /// <summary>The gradient of every parameter, same layout as <see cref="Values"/>. Backward passes add (+=) into it.</summary>
    public T[] Gradients { get; }

    /// <summary>The parameters in layout order.</summary>
    public IReadOnlyList<ParameterInfo> Parameters => parameters;

    /// <summary>The total number of scalars.</summary>
    public int Count => Values.Length;

    /// <summary>True when a parameter of that name exists.</summary>
    public bool Contains(string name) => byName.ContainsKey(name);

    /// <summary>The layout entry for a name.</summary>
    /// <exception cref="KeyNotFoundException">No parameter has that name.</exception>
    public ParameterInfo Info(string name) =>
        byName.TryGetValue(name, out var info) ? info : throw new KeyNotFoundException($"No parameter named '{name}'. Parameters: {string.Join(", ", byName.Keys)}.");

    /// <summary>The values of one parameter.</summary>
    public Span<T> Value(string name) { var i = Info(name); return Values.AsSpan(i.Offset, i.Length); }

    /// <summary>The gradient of one parameter.</summary>
    public Span<T> Gradient(string name) { var i = Info(name); return Gradients.AsSpan(i.Offset, i.Length); }

    /// <summary>Sets every gradient to zero; call once per optimisation step.</summary>
    public void ZeroGradients() => Array.Clear(Gradients);
}
