using System.Numerics;
using Gated.Layers;

namespace Gated.Onnx;

/// <summary>
/// A plain forward evaluator of the ONNX GRU, LSTM and RNN operators, written from the operator
/// equations: one sequence, one direction, one step at a time, no optimisation. The importer runs a
/// recurrent node here when Gated's <see cref="RecurrentLayer{T}"/> cannot represent it (clip,
/// peepholes, <c>input_forget</c>, the reverse direction alone, ThresholdedRelu or Softplus
/// activations, different activations per direction, zero-length sequences); tests also run every
/// node here to check the fast path against it.
/// </summary>
/// <remarks>
/// <para>Shapes: T steps, B batch, I input size, H hidden size, D directions, G gate blocks. For
/// direction d, W_d is (G·H, I), R_d is (G·H, H), Wb_d and Rb_d are the two halves of B_d (2·G·H).
/// Blocks are stacked in ONNX order: GRU z | r | h, LSTM i | o | f | c, RNN one block. x_t is a
/// row of X, h and c the state of one sequence, ⊙ the element-wise product, and clip(a) =
/// min(max(a, −clip), clip) when the node has a clip attribute, else a.</para>
/// <code>
/// GRU (f = Sigmoid, g = Tanh by default):
///   z_t = f(clip(W_z x_t + R_z h_{t−1} + Wb_z + Rb_z))
///   r_t = f(clip(W_r x_t + R_r h_{t−1} + Wb_r + Rb_r))
///   linear_before_reset = 0:  ĥ_t = g(clip(W_h x_t + R_h (r_t ⊙ h_{t−1}) + Rb_h + Wb_h))
///   linear_before_reset = 1:  ĥ_t = g(clip(W_h x_t + r_t ⊙ (R_h h_{t−1} + Rb_h) + Wb_h))
///   h_t = (1 − z_t) ⊙ ĥ_t + z_t ⊙ h_{t−1}
///
/// LSTM (f = Sigmoid, g = Tanh, h = Tanh by default; P = [P_i | P_o | P_f], zero when absent):
///   i_t = f(clip(W_i x_t + R_i h_{t−1} + P_i ⊙ c_{t−1} + Wb_i + Rb_i))
///   f_t = f(clip(W_f x_t + R_f h_{t−1} + P_f ⊙ c_{t−1} + Wb_f + Rb_f))      (input_forget = 1: f_t = 1 − i_t)
///   c̃_t = g(clip(W_c x_t + R_c h_{t−1} + Wb_c + Rb_c))
///   c_t = f_t ⊙ c_{t−1} + i_t ⊙ c̃_t
///   o_t = f(clip(W_o x_t + R_o h_{t−1} + P_o ⊙ c_t + Wb_o + Rb_o))
///   h_t = o_t ⊙ h(clip(c_t))
///
/// RNN (f = Tanh by default):
///   h_t = f(clip(W x_t + R h_{t−1} + Wb + Rb))
/// </code>
/// <para>Directions and lengths: sequence b has length ℓ_b (all T without <c>sequence_lens</c>).
/// The forward direction reads x_1 … x_ℓ, the reverse direction x_ℓ … x_1, each from its own
/// initial state (zero when <c>initial_h</c> / <c>initial_c</c> are absent). Y[t, d, b] is direction
/// d's state after reading x_t (so the reverse direction's output is in original time order), zero
/// for t &gt; ℓ_b. Y_h[d, b] (and Y_c) is the state after the direction's last step: at t = ℓ_b
/// forward, t = 1 reverse. A sequence of length 0 gives zero outputs and a zero Y_h and Y_c, as ONNX
/// Runtime does. The clip of c_t applies only to the input of h; the stored c_t is not clipped.</para>
/// </remarks>
internal static class RecurrentEvaluator
{
    /// <summary>Runs one node, time-major.</summary>
    /// <param name="spec">The node's attributes.</param>
    /// <param name="steps">T.</param>
    /// <param name="batch">B.</param>
    /// <param name="inputSize">I.</param>
    /// <param name="hidden">H.</param>
    /// <param name="x">(T, B, I).</param>
    /// <param name="w">(D, G·H, I).</param>
    /// <param name="r">(D, G·H, H).</param>
    /// <param name="bias">(D, 2·G·H), or null for zero.</param>
    /// <param name="lengths">(B), each in 0..T.</param>
    /// <param name="h0">(D, B, H), or null for zero.</param>
    /// <param name="c0">(D, B, H) for the LSTM, or null for zero.</param>
    /// <param name="peepholes">(D, 3·H) for the LSTM, or null for zero.</param>
    /// <param name="y">(T, D, B, H), written.</param>
    /// <param name="yh">(D, B, H), written.</param>
    /// <param name="yc">(D, B, H) for the LSTM, written; may be null.</param>
    public static void Run<T>(OnnxRecurrentSpec spec, int steps, int batch, int inputSize, int hidden,
        T[] x, T[] w, T[] r, T[]? bias, int[] lengths, T[]? h0, T[]? c0, T[]? peepholes, T[] y, T[] yh, T[]? yc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = spec.Directions, g = spec.Gates, gh = g * hidden, h = hidden;
        T? clip = spec.Clip is float c ? T.CreateChecked(c) : null;
        var state = new T[h];
        var cell = new T[h];
        var next = new T[h];
        var pre = new T[gh];     // x_t W^T + Wb + Rb (every block), then the recurrent part added per equation
        var rec = new T[gh];     // R h_{t−1} (+ Rb for the GRU's h block under linear_before_reset)
        var gated = new T[h];    // r ⊙ h_{t−1}
        Array.Clear(y);

        for (int dir = 0; dir < d; dir++)
        {
            bool reverse = spec.Direction == OnnxDirection.Reverse || dir == 1;
            OnnxActivation[] act = spec.Activations[dir];
            ReadOnlySpan<T> wd = w.AsSpan(dir * gh * inputSize, gh * inputSize);
            ReadOnlySpan<T> rd = r.AsSpan(dir * gh * h, gh * h);
            ReadOnlySpan<T> wb = bias is null ? default : bias.AsSpan(dir * 2 * gh, gh);
            ReadOnlySpan<T> rb = bias is null ? default : bias.AsSpan(dir * 2 * gh + gh, gh);
            ReadOnlySpan<T> p = peepholes is null ? default : peepholes.AsSpan(dir * 3 * h, 3 * h);

            for (int b = 0; b < batch; b++)
            {
                int length = lengths[b];
                if (h0 is null) Array.Clear(state); else h0.AsSpan((dir * batch + b) * h, h).CopyTo(state);
                if (c0 is null) Array.Clear(cell); else c0.AsSpan((dir * batch + b) * h, h).CopyTo(cell);
                for (int k = 0; k < length; k++)
                {
                    int t = reverse ? length - 1 - k : k;
                    ReadOnlySpan<T> xt = x.AsSpan((t * batch + b) * inputSize, inputSize);
                    for (int j = 0; j < gh; j++)
                    {
                        T sum = T.Zero;
                        ReadOnlySpan<T> row = wd.Slice(j * inputSize, inputSize);
                        for (int i = 0; i < inputSize; i++) sum += row[i] * xt[i];
                        if (bias is not null) sum += wb[j];
                        pre[j] = sum;
                        T recSum = T.Zero;
                        ReadOnlySpan<T> rrow = rd.Slice(j * h, h);
                        for (int i = 0; i < h; i++) recSum += rrow[i] * state[i];
                        rec[j] = recSum + (bias is null ? T.Zero : rb[j]);
                    }

                    switch (spec.Cell)
                    {
                        case CellKind.Gru:
                        {
                            // Blocks z = 0, r = 1, h = 2.
                            for (int j = 0; j < h; j++)
                            {
                                pre[j] = act[0].Apply(Clip(pre[j] + rec[j], clip));                  // z
                                pre[h + j] = act[0].Apply(Clip(pre[h + j] + rec[h + j], clip));      // r
                            }
                            if (spec.LinearBeforeReset)
                            {
                                for (int j = 0; j < h; j++)
                                    pre[2 * h + j] = act[1].Apply(Clip(pre[2 * h + j] + pre[h + j] * rec[2 * h + j], clip));
                            }
                            else
                            {
                                for (int i = 0; i < h; i++) gated[i] = pre[h + i] * state[i];
                                for (int j = 0; j < h; j++)
                                {
                                    T sum = T.Zero;
                                    ReadOnlySpan<T> rrow = rd.Slice((2 * h + j) * h, h);
                                    for (int i = 0; i < h; i++) sum += rrow[i] * gated[i];
                                    if (bias is not null) sum += rb[2 * h + j];
                                    pre[2 * h + j] = act[1].Apply(Clip(pre[2 * h + j] + sum, clip));
                                }
                            }
                            for (int j = 0; j < h; j++) next[j] = (T.One - pre[j]) * pre[2 * h + j] + pre[j] * state[j];
                            break;
                        }
                        case CellKind.Lstm:
                        {
                            // Blocks i = 0, o = 1, f = 2, c = 3; peepholes P_i = 0, P_o = 1, P_f = 2.
                            for (int j = 0; j < h; j++)
                            {
                                T pi = p.IsEmpty ? T.Zero : p[j], po = p.IsEmpty ? T.Zero : p[h + j], pf = p.IsEmpty ? T.Zero : p[2 * h + j];
                                T i = act[0].Apply(Clip(pre[j] + rec[j] + pi * cell[j], clip));
                                T f = spec.InputForget ? T.One - i : act[0].Apply(Clip(pre[2 * h + j] + rec[2 * h + j] + pf * cell[j], clip));
                                T candidate = act[1].Apply(Clip(pre[3 * h + j] + rec[3 * h + j], clip));
                                T ct = f * cell[j] + i * candidate;
                                T o = act[0].Apply(Clip(pre[h + j] + rec[h + j] + po * ct, clip));
                                cell[j] = ct;
                                next[j] = o * act[2].Apply(Clip(ct, clip));
                            }
                            break;
                        }
                        default:
                            for (int j = 0; j < h; j++) next[j] = act[0].Apply(Clip(pre[j] + rec[j], clip));
                            break;
                    }
                    next.CopyTo(state, 0);
                    state.CopyTo(y, ((t * d + dir) * batch + b) * h);
                }
                if (length == 0) { Array.Clear(state); Array.Clear(cell); }
                state.CopyTo(yh, (dir * batch + b) * h);
                if (yc is not null) cell.CopyTo(yc, (dir * batch + b) * h);
            }
        }
    }

    private static T Clip<T>(T a, T? clip) where T : unmanaged, IFloatingPointIeee754<T> =>
        clip is T c ? T.Min(T.Max(a, -c), c) : a;
}
