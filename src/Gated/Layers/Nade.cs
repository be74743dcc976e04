using System.Numerics;
using System.Numerics.Tensors;
using Gated.Kernels;
using Gated.Memory;
using Gated.Training;

namespace Gated.Layers;

/// <summary>
/// A neural autoregressive distribution estimator (NADE; Larochelle and Murray 2011) over binary
/// frames v ∈ {0,1}^K whose biases are set from outside, one frame at a time: the output
/// distribution of the RNN-NADE of Boulanger-Lewandowski et al. (2012). Forward (the NLL),
/// backward (its exact gradient) and sampling are side by side here.
/// </summary>
/// <remarks>
/// <para>Per frame, given the conditioning input x (the recurrent state h^rnn_t, size I), the
/// visible biases b (K, computed by the caller — in <see cref="Models.MusicModel"/> by its dense
/// head, b = b0 + W_b x) and the frame v, with N hidden units:</para>
/// <code>
/// c   = c0 + W_c x                         (N)        W_c = c_weight (N, I), c0 = c_bias (N)
/// a_0 = c;   a_{i+1} = a_i + v_i W_i       (N)        W_i = row i of w (K, N): key i's weights into the hidden units
/// h_i = σ(a_i)                             (N)
/// ℓ_i = b_i + V_i · h_i                                V_i = row i of v (K, N)
/// p(v_i = 1 | v_&lt;i) = σ(ℓ_i)
/// NLL = −Σ_i [v_i log σ(ℓ_i) + (1 − v_i) log(1 − σ(ℓ_i))]
///     = Σ_i max(ℓ_i, 0) − ℓ_i v_i + log(1 + e^{−|ℓ_i|})   (as <see cref="BernoulliNll"/>, in double)
/// </code>
/// <para>The running sum makes a frame O(K·N). The keys are taken in index order (for the piano,
/// lowest pitch first). With w = 0 every h_i is σ(c), and the NADE is K independent Bernoullis with
/// logits b_i + V_i·σ(c) — the sigmoid head's NLL, which is how the tests tie the two together.</para>
/// <para>Backward, for a loss L = s · NLL (s the caller's scale, e.g. 1 / predicted steps), key by key
/// from the last to the first, with g_i = ∂L/∂ℓ_i and A = the running sum of δa over later keys:</para>
/// <code>
/// g_i   = s (σ(ℓ_i) − v_i)                  = ∂L/∂b_i        (returned to the caller)
/// ∂V_i += g_i h_i
/// δa_i  = g_i V_i ⊙ h_i ⊙ (1 − h_i)
/// ∂W_i += v_i A_i,   A_i = Σ_{j &gt; i} δa_j   (a_j holds v_i W_i for every j &gt; i)
/// δc    = Σ_i δa_i = A_{−1}
/// ∂W_c += δcᵀ x,   ∂c0 += δc,   ∂x = δc W_c   (the c path's share; the caller adds its b head's)
/// </code>
/// <para>A frame's forward and backward run together (<see cref="LossAndGradient"/>), so the K×N
/// hidden activations of one frame live in one reused scratch buffer: nothing is allocated per
/// frame or per key. The per-key operations are N-long vector operations
/// (<see cref="TensorPrimitives"/>); <see cref="LossScalar"/> and <see cref="LossAndGradientScalar"/>
/// are the plain-loop double-precision reference the tests hold them to. Gradients are added (+=)
/// into <see cref="ParameterBlock{T}.Gradients"/>. Not thread-safe.</para>
/// </remarks>
/// <typeparam name="T"><see cref="float"/> for real work, <see cref="double"/> for checking.</typeparam>
public sealed class Nade<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly ParameterInfo cWeight, cBias, w, v;
    private T[] c = [], dc = [];           // (rows, N): c = c0 + W_c x and δc, grown as needed
    private readonly T[] hiddens;           // (K, N): h_0..h_{K−1} of the current frame
    private readonly T[] a, scratch;        // (N)

    /// <summary>Creates a NADE with freshly drawn weights.</summary>
    /// <param name="keys">K, the number of binary units per frame.</param>
    /// <param name="hiddenSize">N, the NADE's hidden units.</param>
    /// <param name="inputSize">I, the size of the conditioning input (the recurrent state).</param>
    /// <param name="seed">Seed for the weights; null draws one.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive or too large.</exception>
    public Nade(int keys, int hiddenSize, int inputSize, int? seed = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(keys);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hiddenSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputSize);
        if ((long)hiddenSize * (inputSize + 1 + 2L * keys) > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(hiddenSize), "The NADE has more parameters than one array can hold.");
        Keys = keys;
        HiddenSize = hiddenSize;
        InputSize = inputSize;
        Parameters = new ParameterBlock<T>(ParameterLayout(keys, hiddenSize, inputSize));
        cWeight = Parameters.Info("c_weight");
        cBias = Parameters.Info("c_bias");
        w = Parameters.Info("w");
        v = Parameters.Info("v");
        hiddens = new T[keys * hiddenSize];
        a = new T[hiddenSize];
        scratch = new T[hiddenSize];

        // c's projection as a dense layer (U(±1/√I)); w and V as dense layers from K and N inputs.
        var random = seed is int s ? new Random(s) : new Random();
        Fill(Parameters.Values.AsSpan(cWeight.Offset, cWeight.Length), 1 / Math.Sqrt(inputSize), random);
        Fill(Parameters.Values.AsSpan(cBias.Offset, cBias.Length), 1 / Math.Sqrt(inputSize), random);
        Fill(Parameters.Values.AsSpan(w.Offset, w.Length), 1 / Math.Sqrt(keys), random);
        Fill(Parameters.Values.AsSpan(v.Offset, v.Length), 1 / Math.Sqrt(hiddenSize), random);

        static void Fill(Span<T> values, double bound, Random random)
        {
            foreach (ref T value in values) value = T.CreateChecked((random.NextDouble() * 2 - 1) * bound);
        }
    }

    /// <summary>K, the binary units per frame.</summary>
    public int Keys { get; }

    /// <summary>N, the hidden units.</summary>
    public int HiddenSize { get; }

    /// <summary>I, the size of the conditioning input.</summary>
    public int InputSize { get; }

    /// <summary><c>c_weight</c> (N, I), <c>c_bias</c> (N), <c>w</c> (K, N), <c>v</c> (K, N), and their gradients.</summary>
    public ParameterBlock<T> Parameters { get; }

    /// <summary>The names and shapes of the parameters, in order (see the class remarks for their roles).</summary>
    public static IEnumerable<(string Name, int[] Shape)> ParameterLayout(int keys, int hiddenSize, int inputSize)
    {
        yield return ("c_weight", [hiddenSize, inputSize]);
        yield return ("c_bias", [hiddenSize]);
        yield return ("w", [keys, hiddenSize]);
        yield return ("v", [keys, hiddenSize]);
    }

    /// <summary>
    /// The NLL, Σ over rows of −log p(v | x, b) in nats; optionally the conditional probabilities
    /// p(v_i = 1 | v_&lt;i) given the frame's own keys below i (teacher forcing inside the frame) and each row's NLL.
    /// </summary>
    /// <param name="input">x, (rows, I).</param>
    /// <param name="visibleBias">b, (rows, K).</param>
    /// <param name="frames">v, (rows, K), each 0 or 1.</param>
    /// <param name="probabilities">Receives (rows, K) conditional probabilities; may be empty.</param>
    /// <param name="rowLoss">Receives each row's NLL (rows); may be empty.</param>
    /// <exception cref="ArgumentException">The lengths do not fit.</exception>
    public double Loss(ReadOnlySpan<T> input, ReadOnlySpan<T> visibleBias, ReadOnlySpan<T> frames,
        Span<T> probabilities = default, Span<double> rowLoss = default)
    {
        int rows = CheckShapes(input, visibleBias, frames);
        if (!probabilities.IsEmpty && probabilities.Length != rows * Keys) throw new ArgumentException($"probabilities must hold rows·K = {rows * Keys} values.", nameof(probabilities));
        if (!rowLoss.IsEmpty && rowLoss.Length != rows) throw new ArgumentException($"rowLoss must hold {rows} values.", nameof(rowLoss));
        ProjectC(input, rows);
        double total = 0;
        for (int r = 0; r < rows; r++)
        {
            double loss = Frame(r, visibleBias.Slice(r * Keys, Keys), frames.Slice(r * Keys, Keys), 0, default,
                probabilities.IsEmpty ? default : probabilities.Slice(r * Keys, Keys), backward: false);
            if (!rowLoss.IsEmpty) rowLoss[r] = loss;
            total += loss;
        }
        return total;
    }

    /// <summary>
    /// The NLL (as <see cref="Loss"/>) and the gradient of scale·NLL: added into the parameters'
    /// gradients, written to <paramref name="dVisibleBias"/> (∂/∂b) and <paramref name="dInput"/> (∂/∂x through c only).
    /// </summary>
    /// <param name="input">x, (rows, I).</param>
    /// <param name="visibleBias">b, (rows, K).</param>
    /// <param name="frames">v, (rows, K), each 0 or 1.</param>
    /// <param name="scale">The factor of the loss whose gradient is taken (e.g. 1 / predicted steps).</param>
    /// <param name="dVisibleBias">Receives ∂(scale·NLL)/∂b, (rows, K); may alias <paramref name="visibleBias"/>.</param>
    /// <param name="dInput">Receives ∂(scale·NLL)/∂x along the c path, (rows, I).</param>
    /// <returns>The NLL, unscaled.</returns>
    /// <exception cref="ArgumentException">The lengths do not fit.</exception>
    public double LossAndGradient(ReadOnlySpan<T> input, ReadOnlySpan<T> visibleBias, ReadOnlySpan<T> frames, double scale,
        Span<T> dVisibleBias, Span<T> dInput)
    {
        int rows = CheckShapes(input, visibleBias, frames);
        if (dVisibleBias.Length != rows * Keys) throw new ArgumentException($"dVisibleBias must hold rows·K = {rows * Keys} values.", nameof(dVisibleBias));
        if (dInput.Length != rows * InputSize) throw new ArgumentException($"dInput must hold rows·I = {rows * InputSize} values.", nameof(dInput));
        ProjectC(input, rows);
        if (dc.Length < rows * HiddenSize) dc = new T[rows * HiddenSize];
        double total = 0;
        for (int r = 0; r < rows; r++)
            total += Frame(r, visibleBias.Slice(r * Keys, Keys), frames.Slice(r * Keys, Keys), scale,
                dVisibleBias.Slice(r * Keys, Keys), default, backward: true);
        FinishBackward(input, rows, dc, dInput);
        return total;
    }

    /// <summary>
    /// Draws one frame: key by key, v_i ~ Bernoulli(p(v_i = 1 | v_&lt;i)), each draw feeding the next key's hidden units.
    /// </summary>
    /// <param name="input">x, (I).</param>
    /// <param name="visibleBias">b, (K).</param>
    /// <param name="random">The source of the draws (one <see cref="Random.NextDouble"/> per key).</param>
    /// <param name="frame">Receives v, (K).</param>
    /// <param name="probabilities">Receives the probability each key was drawn with, (K); may be empty.</param>
    /// <exception cref="ArgumentException">The lengths do not fit.</exception>
    public void Sample(ReadOnlySpan<T> input, ReadOnlySpan<T> visibleBias, Random random, Span<T> frame, Span<T> probabilities = default)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (input.Length != InputSize || visibleBias.Length != Keys || frame.Length != Keys || (!probabilities.IsEmpty && probabilities.Length != Keys))
            throw new ArgumentException($"input must hold I = {InputSize} values; visibleBias, frame and probabilities K = {Keys}.");
        int n = HiddenSize;
        ProjectC(input, 1);
        c.AsSpan(0, n).CopyTo(a);
        ReadOnlySpan<T> ws = Parameters.Values.AsSpan(w.Offset, w.Length), vs = Parameters.Values.AsSpan(v.Offset, v.Length);
        for (int i = 0; i < Keys; i++)
        {
            TensorPrimitives.Sigmoid(a, scratch);
            double logit = double.CreateTruncating(visibleBias[i] + TensorPrimitives.Dot(vs.Slice(i * n, n), scratch));
            double p = BernoulliNll.Sigmoid(logit);
            if (!probabilities.IsEmpty) probabilities[i] = T.CreateTruncating(p);
            bool on = random.NextDouble() < p;
            frame[i] = on ? T.One : T.Zero;
            if (on) TensorPrimitives.Add(a, ws.Slice(i * n, n), a);
        }
    }

    /// <summary>c = c0 + W_c x for every row, into <see cref="c"/>.</summary>
    private void ProjectC(ReadOnlySpan<T> input, int rows)
    {
        int n = HiddenSize;
        if (c.Length < rows * n) c = new T[rows * n];
        ReadOnlySpan<T> bias = Parameters.Values.AsSpan(cBias.Offset, n);
        for (int r = 0; r < rows; r++) bias.CopyTo(c.AsSpan(r * n, n));
        Gemm.Multiply(false, true, rows, n, InputSize, input, InputSize,
            Parameters.Values.AsSpan(cWeight.Offset, cWeight.Length), InputSize, c.AsSpan(0, rows * n), n, accumulate: true);
    }

    /// <summary>∂W_c += δcᵀ x, ∂c0 += Σ δc, ∂x = δc W_c.</summary>
    private void FinishBackward(ReadOnlySpan<T> input, int rows, ReadOnlySpan<T> dC, Span<T> dInput)
    {
        int n = HiddenSize, i = InputSize;
        Gemm.Multiply(true, false, n, i, rows, dC, n, input, i, Parameters.Gradients.AsSpan(cWeight.Offset, cWeight.Length), i, accumulate: true);
        Span<T> dBias = Parameters.Gradients.AsSpan(cBias.Offset, n);
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(dBias, dC.Slice(r * n, n), dBias);
        Gemm.Multiply(false, false, rows, i, n, dC, n, Parameters.Values.AsSpan(cWeight.Offset, cWeight.Length), i, dInput, i, accumulate: false);
    }

    /// <summary>One frame (row r of <see cref="c"/>): the NLL and, with <paramref name="backward"/>, g into dB, δc into row r of <see cref="dc"/>.</summary>
    private double Frame(int r, ReadOnlySpan<T> b, ReadOnlySpan<T> frame, double scale, Span<T> dB, Span<T> probabilities, bool backward)
    {
        int n = HiddenSize, k = Keys;
        ReadOnlySpan<T> ws = Parameters.Values.AsSpan(w.Offset, w.Length), vs = Parameters.Values.AsSpan(v.Offset, v.Length);
        c.AsSpan(r * n, n).CopyTo(a);
        double loss = 0;
        // Forward: h_i = σ(a_i), ℓ_i = b_i + V_i·h_i, a_{i+1} = a_i + v_i W_i.
        for (int i = 0; i < k; i++)
        {
            Span<T> h = hiddens.AsSpan(i * n, n);
            TensorPrimitives.Sigmoid(a, h);
            double logit = double.CreateTruncating(b[i] + TensorPrimitives.Dot(vs.Slice(i * n, n), h));
            double y = double.CreateTruncating(frame[i]);
            loss += BernoulliNll.Element(logit, y);
            if (!probabilities.IsEmpty) probabilities[i] = T.CreateTruncating(BernoulliNll.Sigmoid(logit));
            // g_i, kept in dB until the backward sweep below reads it (dB may alias b: b_i is not read again).
            if (backward) dB[i] = T.CreateTruncating(scale * (BernoulliNll.Sigmoid(logit) - y));
            if (frame[i] != T.Zero) TensorPrimitives.MultiplyAdd(ws.Slice(i * n, n), frame[i], a, a);
        }
        if (!backward) return loss;

        // Backward, last key first; A (in a) = Σ_{j > i} δa_j.
        Span<T> dW = Parameters.Gradients.AsSpan(w.Offset, w.Length), dV = Parameters.Gradients.AsSpan(v.Offset, v.Length);
        Span<T> acc = a;
        acc.Clear();
        for (int i = k - 1; i >= 0; i--)
        {
            ReadOnlySpan<T> h = hiddens.AsSpan(i * n, n);
            // ∂W_i += v_i A_i
            if (frame[i] != T.Zero) TensorPrimitives.MultiplyAdd(acc, frame[i], dW.Slice(i * n, n), dW.Slice(i * n, n));
            T g = dB[i];
            if (g == T.Zero) continue;
            // ∂V_i += g_i h_i
            TensorPrimitives.MultiplyAdd(h, g, dV.Slice(i * n, n), dV.Slice(i * n, n));
            // δa_i = g_i V_i ⊙ h_i ⊙ (1 − h_i) = (g_i V_i ⊙ h_i) − (g_i V_i ⊙ h_i) ⊙ h_i;  A += δa_i
            TensorPrimitives.Multiply(vs.Slice(i * n, n), g, scratch);
            TensorPrimitives.Multiply(scratch, h, scratch);
            TensorPrimitives.Add(acc, scratch, acc);
            TensorPrimitives.Multiply(scratch, h, scratch);
            TensorPrimitives.Subtract(acc, scratch, acc);
        }
        acc.CopyTo(dc.AsSpan(r * n, n));
        return loss;
    }

    /// <summary>The plain-loop twin of <see cref="Loss"/>: every sum in double, one element at a time.</summary>
    public double LossScalar(ReadOnlySpan<T> input, ReadOnlySpan<T> visibleBias, ReadOnlySpan<T> frames, Span<T> probabilities = default)
    {
        int rows = CheckShapes(input, visibleBias, frames);
        double total = 0;
        for (int r = 0; r < rows; r++)
            total += FrameScalar(input.Slice(r * InputSize, InputSize), visibleBias.Slice(r * Keys, Keys), frames.Slice(r * Keys, Keys), 0,
                default, default, probabilities.IsEmpty ? default : probabilities.Slice(r * Keys, Keys), backward: false);
        return total;
    }

    /// <summary>The plain-loop twin of <see cref="LossAndGradient"/>: every sum in double, one element at a time.</summary>
    public double LossAndGradientScalar(ReadOnlySpan<T> input, ReadOnlySpan<T> visibleBias, ReadOnlySpan<T> frames, double scale,
        Span<T> dVisibleBias, Span<T> dInput)
    {
        int rows = CheckShapes(input, visibleBias, frames);
        if (dVisibleBias.Length != rows * Keys || dInput.Length != rows * InputSize) throw new ArgumentException("dVisibleBias must be (rows, K) and dInput (rows, I).");
        double total = 0;
        for (int r = 0; r < rows; r++)
            total += FrameScalar(input.Slice(r * InputSize, InputSize), visibleBias.Slice(r * Keys, Keys), frames.Slice(r * Keys, Keys), scale,
                dVisibleBias.Slice(r * Keys, Keys), dInput.Slice(r * InputSize, InputSize), default, backward: true);
        return total;
    }

    private double FrameScalar(ReadOnlySpan<T> x, ReadOnlySpan<T> b, ReadOnlySpan<T> frame, double scale, Span<T> dB, Span<T> dX, Span<T> probabilities, bool backward)
    {
        int n = HiddenSize, k = Keys, inputs = InputSize;
        T[] p = Parameters.Values, grads = Parameters.Gradients;
        var act = new double[n];
        var h = new double[k, n];
        var g = new double[k];
        for (int j = 0; j < n; j++)
        {
            double sum = double.CreateTruncating(p[cBias.Offset + j]);
            for (int q = 0; q < inputs; q++) sum += double.CreateTruncating(p[cWeight.Offset + j * inputs + q]) * double.CreateTruncating(x[q]);
            act[j] = sum;
        }
        double loss = 0;
        for (int i = 0; i < k; i++)
        {
            double logit = double.CreateTruncating(b[i]);
            for (int j = 0; j < n; j++)
            {
                h[i, j] = 1 / (1 + Math.Exp(-act[j]));
                logit += double.CreateTruncating(p[v.Offset + i * n + j]) * h[i, j];
            }
            double y = double.CreateTruncating(frame[i]);
            loss += Math.Max(logit, 0) - logit * y + Math.Log(1 + Math.Exp(-Math.Abs(logit)));
            double prob = 1 / (1 + Math.Exp(-logit));
            if (!probabilities.IsEmpty) probabilities[i] = T.CreateTruncating(prob);
            g[i] = scale * (prob - y);
            for (int j = 0; j < n; j++) act[j] += y * double.CreateTruncating(p[w.Offset + i * n + j]);
        }
        if (!backward) return loss;

        var later = new double[n]; // Σ_{j > i} δa_j
        for (int i = k - 1; i >= 0; i--)
        {
            double y = double.CreateTruncating(frame[i]);
            dB[i] = T.CreateTruncating(g[i]);
            for (int j = 0; j < n; j++)
            {
                grads[w.Offset + i * n + j] += T.CreateTruncating(y * later[j]);
                grads[v.Offset + i * n + j] += T.CreateTruncating(g[i] * h[i, j]);
                later[j] += g[i] * double.CreateTruncating(p[v.Offset + i * n + j]) * h[i, j] * (1 - h[i, j]);
            }
        }
        for (int q = 0; q < inputs; q++) dX[q] = T.Zero;
        for (int j = 0; j < n; j++)
        {
            grads[cBias.Offset + j] += T.CreateTruncating(later[j]);
            for (int q = 0; q < inputs; q++)
            {
                grads[cWeight.Offset + j * inputs + q] += T.CreateTruncating(later[j] * double.CreateTruncating(x[q]));
                dX[q] += T.CreateTruncating(later[j] * double.CreateTruncating(p[cWeight.Offset + j * inputs + q]));
            }
        }
        return loss;
    }

    private int CheckShapes(ReadOnlySpan<T> input, ReadOnlySpan<T> visibleBias, ReadOnlySpan<T> frames)
    {
        if (input.Length % InputSize != 0) throw new ArgumentException($"input must be (rows, {InputSize}), got {input.Length} values.", nameof(input));
        int rows = input.Length / InputSize;
        if (visibleBias.Length != rows * Keys) throw new ArgumentException($"visibleBias must be (rows, {Keys}) with {rows} rows, got {visibleBias.Length} values.", nameof(visibleBias));
        if (frames.Length != rows * Keys) throw new ArgumentException($"frames must be (rows, {Keys}) with {rows} rows, got {frames.Length} values.", nameof(frames));
        return rows;
    }

    /// <inheritdoc/>
    public override string ToString() => $"Nade({Keys}, hidden {HiddenSize}, conditioned on {InputSize})";
}
