using System.Diagnostics;
using System.Numerics;

namespace Gated.Kernels;

/// <summary>
/// The right-hand operand op(B) (k × n) of a matrix product, copied once into the order the packed
/// micro-kernel reads it, so a product repeated at every time step with the same weights does not copy
/// them again. A recurrent layer packs W_hhᵀ at the start of a forward pass and W_hh at the start of a
/// backward pass.
/// </summary>
/// <remarks>
/// Layout: k is cut into blocks of <see cref="PackedGemm.DepthBlock"/> rows; n into panels of
/// NR = 2 × Vector256&lt;T&gt;.Count columns (the last one zero-padded). Block (pc, panel) starts at
/// pc · nPadded + panel · kc · NR and holds kc rows of NR contiguous values.
/// </remarks>
internal sealed class PackedMatrix<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] data = [];

    /// <summary>k, the rows of op(B).</summary>
    public int Depth { get; private set; }

    /// <summary>n, the columns of op(B).</summary>
    public int Columns { get; private set; }

    /// <summary>n rounded up to a whole number of panels.</summary>
    public int PaddedColumns { get; private set; }

    /// <summary>True between <see cref="Pack"/> and <see cref="Release"/>: a pack is valid only while the weights it copied do not change.</summary>
    public bool IsReady { get; private set; }

    /// <summary>Marks the pack stale (the weights may change from here on).</summary>
    public void Release() => IsReady = false;

    /// <summary>The packed values (the array may be longer than used).</summary>
    public T[] Data => data;

    /// <summary>Packs op(B) = B (k × n, row stride ldb) or Bᵀ (B stored n × k) when <paramref name="transB"/>.</summary>
    public void Pack(bool transB, int k, int n, ReadOnlySpan<T> b, int ldb)
    {
        Debug.Assert(k >= 0 && n >= 0);
        int nr = PackedGemm.PanelWidth<T>();
        IsReady = false;
        Depth = k;
        Columns = n;
        PaddedColumns = (n + nr - 1) / nr * nr;
        int length = PaddedColumns * k;
        if (data.Length < length) data = GC.AllocateUninitializedArray<T>(length, pinned: true);
        unsafe
        {
            fixed (T* source = b)
            fixed (T* target = data)
            {
                for (int pc = 0; pc < k; pc += PackedGemm.DepthBlock)
                {
                    int kc = Math.Min(PackedGemm.DepthBlock, k - pc);
                    PackedGemm.PackB(transB, kc, 0, n, source, ldb, pc, target + (long)pc * PaddedColumns);
                }
            }
        }
        IsReady = true;
    }
}
