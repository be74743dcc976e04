namespace Gated.IO.Mat;

/// <summary>
/// A MATLAB cell array: an array whose elements are themselves arrays, in column-major order.
/// The numeric accessors of <see cref="MatArray"/> throw <see cref="InvalidOperationException"/> on it.
/// </summary>
public sealed class MatCell : MatArray
{
    internal MatCell(int[] dimensions, string name, MatArray[] elements)
        : base(MatClass.Cell, dimensions, name, isLogical: false, isComplex: false, MatDataType.Matrix, default, MatDataType.Matrix, default)
        => Elements = Array.AsReadOnly(elements);

    /// <summary>The elements, <see cref="MatArray.Count"/> of them, in column-major order.</summary>
    public IReadOnlyList<MatArray> Elements { get; }
}
