using System.Numerics;
using System.Numerics.Tensors;
using Gated.Cells;
using Gated.Memory;

namespace Gated.Layers;

/// <summary>
/// A stack of recurrent layers (GRU, LSTM or plain RNN), optionally bidirectional, trained by
/// backpropagation through time: the equivalent of PyTorch's <c>nn.GRU</c> / <c>nn.LSTM</c> /
/// <c>nn.RNN</c>, with every GRU convention as an option (see <see cref="RecurrentOptions"/>).
/// </summary>
/// <remarks>
/// <para>Shapes: T steps, B batch, I input size, H hidden size, L layers, D directions (2 when
/// bidirectional). Input (T, B, I) or (B, T, I) with <see cref="RecurrentOptions.BatchFirst"/>;
/// output (T, B, D·H); states (L·D, B, H).</para>
/// <para>Layer k &gt; 0 reads the concatenation [forward | reverse] of layer k−1's outputs, after
/// dropout in training. The reverse direction reads each sequence reversed within its own length.
/// Sequences of different lengths are given by <c>lengths</c>: padded steps change neither the
/// state nor any gradient, their output is zero, and h_n holds each sequence's state at its own
/// last step (PyTorch's packed-sequence semantics). Internally the batch is sorted by decreasing
/// length so that each step works on a prefix of rows.</para>
/// <para><see cref="Forward"/> keeps what <see cref="Backward"/> needs; <see cref="Backward"/>
/// adds (+=) into <see cref="ParameterBlock{T}.Gradients"/>, so call
/// <see cref="ParameterBlock{T}.ZeroGradients"/> once per optimisation step. A layer is not thread-safe.</para>
/// </remarks>
/// <typeparam name="T"><see cref="float"/> for real work, <see cref="double"/> for checking.</typeparam>
public sealed class RecurrentLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly RecurrentCell<T>[] cells;            // [layer·D + direction]
    private readonly DirectionWorkspace<T>[] workspaces;  // [layer·D + direction]
    private readonly T[][] layerOutputs;                  // [layer] (T, B, D·H), sorted rows
    private readonly T[][] dropoutMasks;                  // [layer] (T, B, D·H): 0 or 1/(1−p), for the input of layer k ≥ 1
    private readonly T[][] layerInputs;                   // [layer] (T, B, D·H): dropped-out input of layer k ≥ 1
    private T[] sortedInput = [];                         // (T, B, I)
    private T[] dOutput = [];                             // (T, B, D·H)
    private T[] dLayerInput = [];                         // (T, B, max(I, D·H))
    private int[] order = [];                             // sorted row → original batch index
    private int[] sortedLengths = [];                     // (B)
    private int[] batchSizes = [];                        // (T)
    private int steps, batch;
    private bool hasForward;
    private readonly StepGradients stepGradients;
    private bool dropoutApplied;

    /// <summary>Creates a layer stack with freshly initialised weights.</summary>
    /// <param name="options">Sizes and conventions; validated here.</param>
    /// <param name="seed">Seed for the weights and the dropout masks; null draws one.</param>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public RecurrentLayer(RecurrentOptions options, int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Parameters = new ParameterBlock<T>(ParameterLayout(options));
        int d = options.Directions, l = options.NumLayers;
        cells = new RecurrentCell<T>[l * d];
        workspaces = new DirectionWorkspace<T>[l * d];
        for (int layer = 0; layer < l; layer++)
        {
            for (int direction = 0; direction < d; direction++)
            {
                var cell = CreateCell(Parameters, options, layer, direction);
                cells[layer * d + direction] = cell;
                workspaces[layer * d + direction] = cell.CreateWorkspace();
            }
        }
        stepGradients = new StepGradients(this);
        layerOutputs = new T[l][];
        dropoutMasks = new T[l][];
        layerInputs = new T[l][];
        for (int i = 0; i < l; i++) { layerOutputs[i] = []; dropoutMasks[i] = []; layerInputs[i] = []; }
        var random = seed is int s ? new Random(s) : new Random();
        Initializer.Initialize(Parameters, options, random);
        DropoutRandom = seed is int s2 ? new Random(unchecked(s2 * 31 + 17)) : new Random();
    }

    /// <summary>The options this layer was built with.</summary>
    public RecurrentOptions Options { get; }

    /// <summary>All weights and biases (PyTorch state_dict names and order) and their gradients.</summary>
    public ParameterBlock<T> Parameters { get; }

    /// <summary>When true (the default, as PyTorch modules), dropout between layers is applied.</summary>
    public bool Training { get; set; } = true;

    /// <summary>
    /// When true (the default), <see cref="Backward"/> computes ∂L/∂input. Set it to false when the input is data
    /// (as a PyTorch input tensor that does not require a gradient): the first layer then skips the product
    /// dX = dXp·W_ih, and <see cref="RecurrentGradients{T}.Input"/> is null. Parameter and state gradients are unchanged.
    /// </summary>
    public bool InputRequiresGradient { get; set; } = true;

    /// <summary>The source of dropout masks; replace it to make a run repeatable.</summary>
    public Random DropoutRandom { get; set; }

    /// <summary>The PyTorch state_dict names and shapes of a stack's parameters, in order.</summary>
    public static IEnumerable<(string Name, int[] Shape)> ParameterLayout(RecurrentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        int g = options.GateCount * options.HiddenSize, h = options.HiddenSize;
        for (int layer = 0; layer < options.NumLayers; layer++)
        {
            int inputSize = layer == 0 ? options.InputSize : options.OutputSize;
            for (int direction = 0; direction < options.Directions; direction++)
            {
                string suffix = Suffix(layer, direction);
                yield return ("weight_ih" + suffix, [g, inputSize]);
                yield return ("weight_hh" + suffix, [g, h]);
                if (options.Bias != BiasMode.None) yield return ("bias_ih" + suffix, [g]);
                if (options.Bias == BiasMode.InputAndHidden) yield return ("bias_hh" + suffix, [g]);
            }
        }
    }

    /// <summary>The name suffix of a layer and direction: <c>_l0</c>, <c>_l0_reverse</c>, …</summary>
    public static string Suffix(int layer, int direction) => $"_l{layer}" + (direction == 1 ? "_reverse" : "");

    /// <summary>Runs the stack over a batch of sequences.</summary>
    /// <param name="input">(T, B, I), or (B, T, I) when batch-first.</param>
    /// <param name="initialHidden">h_0 (L·D, B, H); zeros when null.</param>
    /// <param name="initialCell">c_0 (L·D, B, H) for the LSTM; zeros when null.</param>
    /// <param name="lengths">Each sequence's length, 1..T; all T when null. Need not be sorted.</param>
    /// <param name="reuse">
    /// A result of an earlier call to write into instead of allocating new tensors (a training loop passes
    /// its last result so that a step allocates nothing); tensors whose shapes no longer fit are replaced.
    /// The returned result is <paramref name="reuse"/> itself when all of its tensors were reused.
    /// </param>
    /// <exception cref="ArgumentException">A shape or a length does not fit.</exception>
    public RecurrentResult<T> Forward(Tensor<T> input, Tensor<T>? initialHidden = null, Tensor<T>? initialCell = null, IReadOnlyList<int>? lengths = null,
        RecurrentResult<T>? reuse = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = Options;
        if (input.Rank != 3 || input.Dim(2) != o.InputSize)
            throw new ArgumentException($"input must be {(o.BatchFirst ? "(B, T, I)" : "(T, B, I)")} with I = {o.InputSize}, got {input.ShapeText}.", nameof(input));
        int t = o.BatchFirst ? input.Dim(1) : input.Dim(0), b = o.BatchFirst ? input.Dim(0) : input.Dim(1);
        if (t == 0 || b == 0) throw new ArgumentException($"input has no steps or no sequences: {input.ShapeText}.", nameof(input));
        int stateCount = o.NumLayers * o.Directions;
        CheckState(initialHidden, stateCount, b, nameof(initialHidden));
        if (initialCell is not null && o.Cell != CellKind.Lstm) throw new ArgumentException("initialCell is only for the LSTM.", nameof(initialCell));
        CheckState(initialCell, stateCount, b, nameof(initialCell));
        PrepareBatch(t, b, lengths);

        // Input, sorted by decreasing length and time-major, zero at padded steps.
        int inputSize = o.InputSize;
        Grow(ref sortedInput, t * b * inputSize);
        ClearPaddedSteps(sortedInput, inputSize);
        for (int row = 0; row < b; row++)
            for (int step = 0; step < sortedLengths[row]; step++)
                InputRow(input, step, order[row]).CopyTo(sortedInput.AsSpan((step * b + row) * inputSize, inputSize));

        int d = o.Directions, h = o.HiddenSize, width = o.OutputSize;
        dropoutApplied = Training && o.Dropout > 0 && o.NumLayers > 1;
        for (int layer = 0; layer < o.NumLayers; layer++)
        {
            T[] layerInput = sortedInput;
            int layerInputSize = inputSize;
            if (layer > 0)
            {
                layerInputSize = width;
                layerInput = layerOutputs[layer - 1];
                if (dropoutApplied) layerInput = ApplyDropout(layer);
            }
            Grow(ref layerOutputs[layer], t * b * width);
            T[] output = layerOutputs[layer];
            ClearPaddedSteps(output, width);
            for (int direction = 0; direction < d; direction++)
            {
                var cell = cells[layer * d + direction];
                var ws = workspaces[layer * d + direction];
                ws.Resize(t, b);
                batchSizes.AsSpan(0, t).CopyTo(ws.BatchSizes);
                CopyInDirection(layerInput, layerInputSize, ws.Input, direction, accumulate: false);
                ClearUnwrittenStates(ws.Hidden, ws.BatchSizes);
                if (ws.HasCell) ClearUnwrittenStates(ws.Cell, ws.BatchSizes);
                int state = layer * d + direction;
                for (int row = 0; row < b; row++)
                {
                    if (initialHidden is not null) initialHidden.Data.AsSpan((state * b + order[row]) * h, h).CopyTo(ws.Hidden.AsSpan(row * h, h));
                    if (initialCell is not null) initialCell.Data.AsSpan((state * b + order[row]) * h, h).CopyTo(ws.Cell.AsSpan(row * h, h));
                }

                cell.ProjectInputs(ws);
                cell.PackForward(ws);
                try
                {
                    cell.ForwardSteps(ws);
                }
                finally
                {
                    ws.ReleasePacks();
                }

                // Output columns [direction·H, (direction+1)·H), back in each sequence's own time order.
                for (int step = 0; step < t; step++)
                {
                    for (int row = 0; row < batchSizes[step]; row++)
                    {
                        int time = direction == 0 ? step : sortedLengths[row] - 1 - step;
                        ws.Hidden.AsSpan(((step + 1) * b + row) * h, h).CopyTo(output.AsSpan((time * b + row) * width + direction * h, h));
                    }
                }
            }
        }

        hasForward = true;
        var finalOutput = ToUserLayout(layerOutputs[o.NumLayers - 1], width, reuse?.Output);
        var finalHidden = FinalStates(cellState: false, reuse?.HiddenState);
        var finalCell = o.Cell == CellKind.Lstm ? FinalStates(cellState: true, reuse?.CellState) : null;
        if (reuse is not null && ReferenceEquals(finalOutput, reuse.Output) && ReferenceEquals(finalHidden, reuse.HiddenState) && ReferenceEquals(finalCell, reuse.CellState))
            return reuse;
        return new RecurrentResult<T>(finalOutput, finalHidden, finalCell);
    }

    /// <summary>
    /// Backpropagates through the last <see cref="Forward"/>: adds the parameter gradients into
    /// <see cref="ParameterBlock{T}.Gradients"/> and returns the gradients of the input and initial states.
    /// </summary>
    /// <param name="gradOutput">∂L/∂output, shaped as the output; values at padded steps are ignored.</param>
    /// <param name="gradHidden">∂L/∂h_n (L·D, B, H), or null for zero.</param>
    /// <param name="gradCell">∂L/∂c_n for the LSTM, or null for zero.</param>
    /// <param name="reuse">Gradients of an earlier call to write into instead of allocating (see <see cref="Forward"/>).</param>
    /// <exception cref="InvalidOperationException">No forward pass has been run.</exception>
    /// <exception cref="ArgumentException">A shape does not match the forward pass.</exception>
    public RecurrentGradients<T> Backward(Tensor<T> gradOutput, Tensor<T>? gradHidden = null, Tensor<T>? gradCell = null,
        RecurrentGradients<T>? reuse = null)
    {
        ArgumentNullException.ThrowIfNull(gradOutput);
        if (!hasForward) throw new InvalidOperationException("Backward needs a Forward first.");
        var o = Options;
        int t = steps, b = batch, d = o.Directions, h = o.HiddenSize, width = o.OutputSize, stateCount = o.NumLayers * d;
        if (!(o.BatchFirst ? gradOutput.HasShape(b, t, width) : gradOutput.HasShape(t, b, width)))
            throw new ArgumentException($"gradOutput must have the output's shape ({(o.BatchFirst ? $"{b}, {t}, {width}" : $"{t}, {b}, {width}")}), got {gradOutput.ShapeText}.", nameof(gradOutput));
        CheckState(gradHidden, stateCount, b, nameof(gradHidden));
        if (gradCell is not null && o.Cell != CellKind.Lstm) throw new ArgumentException("gradCell is only for the LSTM.", nameof(gradCell));
        CheckState(gradCell, stateCount, b, nameof(gradCell));

        // ∂L/∂output, sorted and time-major; padded steps stay zero.
        Grow(ref dOutput, t * b * width);
        Array.Clear(dOutput, 0, t * b * width);
        for (int row = 0; row < b; row++)
            for (int step = 0; step < sortedLengths[row]; step++)
                OutputRow(gradOutput, step, order[row], width).CopyTo(dOutput.AsSpan((step * b + row) * width, width));

        var gradInitialHidden = Reusable(reuse?.InitialHidden, stateCount, b, h);
        var gradInitialCell = o.Cell == CellKind.Lstm ? Reusable(reuse?.InitialCell, stateCount, b, h) : null;
        Grow(ref dLayerInput, t * b * Math.Max(o.InputSize, width));

        for (int layer = o.NumLayers - 1; layer >= 0; layer--)
        {
            int layerInputSize = layer == 0 ? o.InputSize : width;
            if (layer > 0 || InputRequiresGradient) Array.Clear(dLayerInput, 0, t * b * layerInputSize);
            for (int direction = 0; direction < d; direction++)
            {
                var cell = cells[layer * d + direction];
                var ws = workspaces[layer * d + direction];
                int state = layer * d + direction;
                ws.ResizeGradients();
                int g = cell.GateCount * h;
                Array.Clear(ws.dInputProjection, 0, t * b * g);
                if (!ReferenceEquals(ws.dHiddenProjection, ws.dInputProjection)) Array.Clear(ws.dHiddenProjection, 0, t * b * g);

                cell.PackBackward(ws);
                stepGradients.Set(gradHidden, gradCell, state, direction);
                try
                {
                    cell.BackwardSteps(ws, stepGradients);
                }
                finally
                {
                    stepGradients.Clear();
                    ws.ReleasePacks();
                }

                // After step 0, ∂L/∂h_0 (and ∂L/∂c_0) is in the buffer of step −1.
                for (int row = 0; row < b; row++)
                {
                    ws.HiddenGradient(-1).AsSpan(row * h, h).CopyTo(gradInitialHidden.Data.AsSpan((state * b + order[row]) * h, h));
                    if (gradInitialCell is not null) ws.CellGradient(-1).AsSpan(row * h, h).CopyTo(gradInitialCell.Data.AsSpan((state * b + order[row]) * h, h));
                }
                bool inputGradient = layer > 0 || InputRequiresGradient;
                cell.FinishBackward(ws, inputGradient);
                if (inputGradient) CopyInDirection(ws.dInput, layerInputSize, dLayerInput, direction, accumulate: true, fromDirection: true);
            }

            if (layer > 0)
            {
                // The gradient reaching layer k−1's output, through dropout.
                Span<T> dPrevious = dOutput.AsSpan(0, t * b * width);
                dLayerInput.AsSpan(0, t * b * width).CopyTo(dPrevious);
                if (dropoutApplied)
                {
                    ReadOnlySpan<T> mask = dropoutMasks[layer].AsSpan(0, t * b * width);
                    for (int i = 0; i < dPrevious.Length; i++) dPrevious[i] *= mask[i];
                }
            }
        }

        var gradInput = InputRequiresGradient ? ToUserLayout(dLayerInput, o.InputSize, reuse?.Input) : null;
        if (reuse is not null && ReferenceEquals(gradInput, reuse.Input) && ReferenceEquals(gradInitialHidden, reuse.InitialHidden) && ReferenceEquals(gradInitialCell, reuse.InitialCell))
            return reuse;
        return new RecurrentGradients<T>(gradInput, gradInitialHidden, gradInitialCell);
    }

    /// <summary>
    /// The activated gates of the last <see cref="Forward"/> for one layer and direction, in the
    /// user's batch order and each sequence's own time order: (T, B, G·H) with the cell's gate blocks
    /// (GRU r | z | ĥ, LSTM i | f | g | o, RNN h), zero at padded steps. For looking inside a model;
    /// allocates the returned tensor.
    /// </summary>
    /// <param name="layer">0-based layer.</param>
    /// <param name="direction">0 forward, 1 reverse.</param>
    /// <exception cref="InvalidOperationException">No forward pass has been run.</exception>
    /// <exception cref="ArgumentOutOfRangeException">No such layer or direction.</exception>
    public Tensor<T> GetGates(int layer = 0, int direction = 0)
    {
        if (!hasForward) throw new InvalidOperationException("GetGates needs a Forward first.");
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(layer, Options.NumLayers);
        ArgumentOutOfRangeException.ThrowIfNegative(direction);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(direction, Options.Directions);
        var ws = workspaces[layer * Options.Directions + direction];
        int g = Options.GateCount * Options.HiddenSize, t = steps, b = batch;
        var gates = new Tensor<T>(t, b, g);
        for (int step = 0; step < t; step++)
        {
            for (int row = 0; row < batchSizes[step]; row++)
            {
                int time = direction == 0 ? step : sortedLengths[row] - 1 - step;
                ws.Gates.AsSpan((step * b + row) * g, g).CopyTo(gates.Data.AsSpan((time * b + order[row]) * g, g));
            }
        }
        return gates;
    }

    /// <summary>Creates a stream that advances the stack one step at a time for a fixed batch, keeping its state (unidirectional stacks only).</summary>
    /// <exception cref="NotSupportedException">The stack is bidirectional: its reverse direction needs the whole sequence.</exception>
    public RecurrentStream<T> CreateStream(int batchSize = 1) => new(this, cells, batchSize);

    /// <inheritdoc/>
    public override string ToString() => Options.ToString();

    private static RecurrentCell<T> CreateCell(ParameterBlock<T> parameters, RecurrentOptions o, int layer, int direction)
    {
        string suffix = Suffix(layer, direction);
        int inputSize = layer == 0 ? o.InputSize : o.OutputSize;
        return o.Cell switch
        {
            CellKind.Gru => new GruCell<T>(parameters, suffix, inputSize, o.HiddenSize, o.Gru),
            CellKind.Lstm => new LstmCell<T>(parameters, suffix, inputSize, o.HiddenSize, o.Lstm),
            _ => new RnnCell<T>(parameters, suffix, inputSize, o.HiddenSize, o.RnnNonlinearity),
        };
    }

    private void CheckState(Tensor<T>? state, int count, int b, string name)
    {
        if (state is not null && !state.HasShape(count, b, Options.HiddenSize))
            throw new ArgumentException($"{name} must be (L·D, B, H) = ({count}, {b}, {Options.HiddenSize}), got {state.ShapeText}.", name);
    }

    /// <summary>Validates the lengths and sorts the batch by decreasing length (stable), filling order, sortedLengths and batchSizes.</summary>
    private void PrepareBatch(int t, int b, IReadOnlyList<int>? lengths)
    {
        if (lengths is not null && lengths.Count != b)
            throw new ArgumentException($"lengths has {lengths.Count} entries for a batch of {b}.", nameof(lengths));
        steps = t;
        batch = b;
        Grow(ref order, b);
        Grow(ref sortedLengths, b);
        Grow(ref batchSizes, t);
        for (int row = 0; row < b; row++)
        {
            int length = lengths?[row] ?? t;
            if (length < 1 || length > t)
                throw new ArgumentException($"lengths[{row}] = {length} is outside 1..{t}.", nameof(lengths));
            order[row] = row;
            sortedLengths[row] = length;
        }
        // Insertion sort by decreasing length keeps equal lengths in their original order (stable).
        for (int i = 1; i < b; i++)
        {
            int index = order[i], length = sortedLengths[i], j = i - 1;
            while (j >= 0 && sortedLengths[j] < length)
            {
                order[j + 1] = order[j];
                sortedLengths[j + 1] = sortedLengths[j];
                j--;
            }
            order[j + 1] = index;
            sortedLengths[j + 1] = length;
        }
        for (int step = 0; step < t; step++)
        {
            int live = 0;
            while (live < b && sortedLengths[live] > step) live++;
            batchSizes[step] = live;
        }
    }

    /// <summary>
    /// Copies (T, B, n) data between a layer's own time order and a direction's: the reverse direction
    /// sees each sequence reversed within its length. Padded steps are left zero.
    /// </summary>
    private void CopyInDirection(T[] source, int n, T[] destination, int direction, bool accumulate, bool fromDirection = false)
    {
        int t = steps, b = batch;
        if (!accumulate) Array.Clear(destination, 0, t * b * n);
        for (int step = 0; step < t; step++)
        {
            for (int row = 0; row < batchSizes[step]; row++)
            {
                int time = direction == 0 ? step : sortedLengths[row] - 1 - step;
                int from = fromDirection ? step : time, to = fromDirection ? time : step;
                ReadOnlySpan<T> src = source.AsSpan((from * b + row) * n, n);
                Span<T> dst = destination.AsSpan((to * b + row) * n, n);
                if (accumulate) TensorPrimitives.Add(dst, src, dst);
                else src.CopyTo(dst);
            }
        }
    }

    /// <summary>Inverted dropout on layer k−1's output: the input of layer k is out ⊙ m with m ∈ {0, 1/(1−p)}.</summary>
    private T[] ApplyDropout(int layer)
    {
        int n = steps * batch * Options.OutputSize;
        Grow(ref dropoutMasks[layer], n);
        Grow(ref layerInputs[layer], n);
        T[] mask = dropoutMasks[layer], dropped = layerInputs[layer], source = layerOutputs[layer - 1];
        double p = Options.Dropout;
        T keep = T.One / T.CreateChecked(1 - p);
        for (int i = 0; i < n; i++)
        {
            mask[i] = DropoutRandom.NextDouble() < p ? T.Zero : keep;
            dropped[i] = source[i] * mask[i];
        }
        return dropped;
    }

    /// <summary><paramref name="candidate"/> cleared when it has the shape (a, b, c), else a new zero tensor of that shape.</summary>
    private static Tensor<T> Reusable(Tensor<T>? candidate, int a, int b, int c)
    {
        if (candidate is null || !candidate.HasShape(a, b, c)) return new Tensor<T>(a, b, c);
        Array.Clear(candidate.Data);
        return candidate;
    }

    private Tensor<T> FinalStates(bool cellState, Tensor<T>? reuse)
    {
        int d = Options.Directions, h = Options.HiddenSize, b = batch;
        var states = Reusable(reuse, Options.NumLayers * d, b, h);
        for (int state = 0; state < states.Dim(0); state++)
        {
            var ws = workspaces[state];
            T[] source = cellState ? ws.Cell : ws.Hidden;
            for (int row = 0; row < b; row++)
                source.AsSpan((sortedLengths[row] * b + row) * h, h).CopyTo(states.Data.AsSpan((state * b + order[row]) * h, h));
        }
        return states;
    }

    /// <summary>
    /// What the backward steps of one layer and direction receive from outside the recurrence: ∂L/∂h_n
    /// (and ∂L/∂c_n) for a sequence at its last step, and ∂L/∂output_t in the direction's columns at every
    /// step. Row-local, so the threads that run parts of the batch call it for their own rows.
    /// </summary>
    private sealed class StepGradients(RecurrentLayer<T> layer) : IStepGradientSource<T>
    {
        private Tensor<T>? gradHidden, gradCell;
        private int state, direction;

        public void Set(Tensor<T>? gradHidden, Tensor<T>? gradCell, int state, int direction)
        {
            this.gradHidden = gradHidden; this.gradCell = gradCell; this.state = state; this.direction = direction;
        }

        public void Clear() => gradHidden = gradCell = null;

        public void AddStepGradients(DirectionWorkspace<T> ws, int t, int first, int end)
        {
            int b = layer.batch, h = layer.Options.HiddenSize, width = layer.Options.OutputSize;
            int liveNext = t + 1 < layer.steps ? layer.batchSizes[t + 1] : 0;
            T[] dHidden = ws.HiddenGradient(t);
            for (int row = first; row < end; row++)
            {
                Span<T> dh = dHidden.AsSpan(row * h, h);
                // Sequences whose last step is this one start from ∂L/∂h_n (and ∂L/∂c_n).
                if (row >= liveNext)
                {
                    SetStateRow(dh, gradHidden, state, layer.order[row], b, h);
                    if (ws.HasCell) SetStateRow(ws.CellGradient(t).AsSpan(row * h, h), gradCell, state, layer.order[row], b, h);
                }
                // δh_t += ∂L/∂output_t for this direction's columns.
                int time = direction == 0 ? t : layer.sortedLengths[row] - 1 - t;
                ReadOnlySpan<T> dOut = layer.dOutput.AsSpan((time * b + row) * width + direction * h, h);
                TensorPrimitives.Add(dh, dOut, dh);
            }
        }
    }

    private static void SetStateRow(Span<T> destination, Tensor<T>? states, int state, int originalRow, int b, int h)
    {
        if (states is null) destination.Clear();
        else states.Data.AsSpan((state * b + originalRow) * h, h).CopyTo(destination);
    }

    private ReadOnlySpan<T> InputRow(Tensor<T> input, int step, int originalRow)
    {
        int i = Options.InputSize;
        int index = Options.BatchFirst ? (originalRow * steps + step) : (step * batch + originalRow);
        return input.Data.AsSpan(index * i, i);
    }

    private ReadOnlySpan<T> OutputRow(Tensor<T> output, int step, int originalRow, int width)
    {
        int index = Options.BatchFirst ? (originalRow * steps + step) : (step * batch + originalRow);
        return output.Data.AsSpan(index * width, width);
    }

    /// <summary>Sorted, time-major (T, B, n) → the user's batch order and layout; zero at padded steps.</summary>
    private Tensor<T> ToUserLayout(T[] sorted, int n, Tensor<T>? reuse)
    {
        int t = steps, b = batch;
        bool batchFirst = Options.BatchFirst;
        // Every entry is written below (a copy or a zero), so a reused tensor is not cleared first.
        var result = reuse is not null && (batchFirst ? reuse.HasShape(b, t, n) : reuse.HasShape(t, b, n)) ? reuse
            : batchFirst ? new Tensor<T>(b, t, n) : new Tensor<T>(t, b, n);
        for (int row = 0; row < b; row++)
        {
            int original = order[row];
            for (int step = 0; step < t; step++)
            {
                Span<T> target = result.Data.AsSpan((batchFirst ? (original * t + step) : (step * b + original)) * n, n);
                if (step < sortedLengths[row]) sorted.AsSpan((step * b + row) * n, n).CopyTo(target);
                else target.Clear();
            }
        }
        return result;
    }

    /// <summary>
    /// Zeroes the padded steps (step ≥ the row's length) of a sorted, time-major (T, B, n) buffer, the
    /// entries nothing else writes: clearing the whole buffer first would be a second trip through memory.
    /// </summary>
    private void ClearPaddedSteps(T[] sorted, int n)
    {
        for (int row = 0; row < batch; row++)
            for (int step = sortedLengths[row]; step < steps; step++)
                Array.Clear(sorted, (step * batch + row) * n, n);
    }

    /// <summary>
    /// Zeroes what the steps of a pass do not write in a (T+1, B, H) state buffer: all of block 0 (the
    /// initial state, copied in afterwards where given) and, in block s + 1, the rows not live at step s.
    /// The steps write every live row, so the buffer ends as if cleared whole first.
    /// </summary>
    private void ClearUnwrittenStates(T[] states, int[] batchSizes)
    {
        int b = batch, h = Options.HiddenSize;
        Array.Clear(states, 0, b * h);
        for (int step = 0; step < steps; step++)
        {
            int live = batchSizes[step];
            if (live < b) Array.Clear(states, ((step + 1) * b + live) * h, (b - live) * h);
        }
    }

    private static void Grow<TElement>(ref TElement[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new TElement[length];
    }
}
