using System.Numerics;

namespace Gated.Layers;

/// <summary>Exact conversions between equivalent GRU parameterisations.</summary>
public static class GruConversion
{
    /// <summary>
    /// Returns a GRU with the other <see cref="UpdateGateConvention"/> that computes exactly the same
    /// function: the update gate's weights and biases (rows H..2H of every <c>weight_ih</c>,
    /// <c>weight_hh</c>, <c>bias_ih</c>, <c>bias_hh</c>) are negated.
    /// </summary>
    /// <remarks>
    /// With z' = f(−a_z) = 1 − f(a_z), which holds for the sigmoid and for any hard sigmoid with
    /// offset 0.5, z ⊙ h_{t−1} + (1 − z) ⊙ ĥ = (1 − z') ⊙ h_{t−1} + z' ⊙ ĥ. For other gate
    /// activations (tanh, ReLU) no such reparameterisation exists and this method throws.
    /// </remarks>
    /// <exception cref="ArgumentException">The layer is not a GRU, or its gate activation is not symmetric about ½.</exception>
    public static RecurrentLayer<T> SwitchUpdateGateConvention<T>(RecurrentLayer<T> gru) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(gru);
        var o = gru.Options;
        if (o.Cell != CellKind.Gru) throw new ArgumentException($"Only a GRU has an update gate; this layer is {o.Cell}.", nameof(gru));
        if (!o.Gru.GateActivation.IsPointSymmetricAboutHalf)
            throw new ArgumentException($"The gate activation {o.Gru.GateActivation} does not satisfy f(−a) = 1 − f(a), so the conventions are not interchangeable.", nameof(gru));
        var other = o.Gru.UpdateGate == UpdateGateConvention.KeepPrevious ? UpdateGateConvention.TakeCandidate : UpdateGateConvention.KeepPrevious;
        var converted = new RecurrentLayer<T>(o with { Gru = o.Gru with { UpdateGate = other } }, seed: 0);
        gru.Parameters.Values.CopyTo(converted.Parameters.Values, 0);
        int h = o.HiddenSize;
        foreach (var p in converted.Parameters.Parameters)
        {
            int columns = p.Shape.Length == 2 ? p.Shape[1] : 1;
            // Rows H..2H are the update gate z in the r | z | n stacking.
            foreach (ref T v in converted.Parameters.Values.AsSpan(p.Offset + h * columns, h * columns)) v = -v;
        }
        converted.Training = gru.Training;
        return converted;
    }
}
