using System.Numerics;
using Gated.Cells;
using Gated.Memory;

namespace Gated.Layers;

/// <summary>
/// Advances a unidirectional <see cref="RecurrentLayer{T}"/> one time step at a time for a fixed
/// batch, keeping the state between calls: for generation, online inference and low latency.
/// It shares the layer's weights (a later weight update is seen by the next step) and, after
/// warm-up, allocates nothing per step. Dropout is never applied.
/// </summary>
public sealed class RecurrentStream<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly RecurrentCell<T>[] cells;
    private readonly DirectionWorkspace<T>[] workspaces;  // [layer], each for T = 1
    private readonly int hiddenSize;

    internal RecurrentStream(RecurrentLayer<T> layer, RecurrentCell<T>[] cells, int batchSize)
    {
        if (layer.Options.Bidirectional)
            throw new NotSupportedException("A bidirectional stack cannot stream: its reverse direction needs the whole sequence. Use Forward instead.");
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        Options = layer.Options;
        BatchSize = batchSize;
        hiddenSize = Options.HiddenSize;
        this.cells = cells;
        workspaces = new DirectionWorkspace<T>[cells.Length];
        for (int i = 0; i < cells.Length; i++)
        {
            workspaces[i] = cells[i].CreateWorkspace();
            workspaces[i].Resize(1, batchSize);
        }
    }

    /// <summary>The options of the layer this stream runs.</summary>
    public RecurrentOptions Options { get; }

    /// <summary>B, the number of sequences advanced together.</summary>
    public int BatchSize { get; }

    /// <summary>
    /// Advances every layer by one step.
    /// </summary>
    /// <param name="input">x_t, (B, I).</param>
    /// <param name="output">Receives the last layer's h_t, (B, H).</param>
    /// <exception cref="ArgumentException">A span has the wrong length.</exception>
    public void Step(ReadOnlySpan<T> input, Span<T> output)
    {
        int b = BatchSize, h = hiddenSize;
        if (input.Length != b * Options.InputSize) throw new ArgumentException($"input must hold B·I = {b * Options.InputSize} values, got {input.Length}.", nameof(input));
        if (output.Length != b * h) throw new ArgumentException($"output must hold B·H = {b * h} values, got {output.Length}.", nameof(output));
        ReadOnlySpan<T> layerInput = input;
        for (int layer = 0; layer < cells.Length; layer++)
        {
            var ws = workspaces[layer];
            layerInput.CopyTo(ws.Input);
            cells[layer].ProjectInputs(ws);
            cells[layer].ForwardStep(ws, 0, b);
            // h_t becomes h_{t−1} of the next call.
            ws.Hidden.AsSpan(b * h, b * h).CopyTo(ws.Hidden.AsSpan(0, b * h));
            if (ws.HasCell) ws.Cell.AsSpan(b * h, b * h).CopyTo(ws.Cell.AsSpan(0, b * h));
            layerInput = ws.Hidden.AsSpan(0, b * h);
        }
        layerInput.CopyTo(output);
    }

    /// <summary>Sets every state to zero.</summary>
    public void Reset()
    {
        foreach (var ws in workspaces)
        {
            Array.Clear(ws.Hidden);
            if (ws.HasCell) Array.Clear(ws.Cell);
        }
    }

    /// <summary>Copies h (and c for the LSTM) of every layer out: (L, B, H) each.</summary>
    public void GetState(Span<T> hidden, Span<T> cell = default)
    {
        int n = BatchSize * hiddenSize;
        for (int layer = 0; layer < workspaces.Length; layer++)
        {
            workspaces[layer].Hidden.AsSpan(0, n).CopyTo(hidden.Slice(layer * n, n));
            if (workspaces[layer].HasCell && !cell.IsEmpty) workspaces[layer].Cell.AsSpan(0, n).CopyTo(cell.Slice(layer * n, n));
        }
    }

    /// <summary>Sets h (and c for the LSTM) of every layer: (L, B, H) each.</summary>
    public void SetState(ReadOnlySpan<T> hidden, ReadOnlySpan<T> cell = default)
    {
        int n = BatchSize * hiddenSize;
        if (hidden.Length != workspaces.Length * n) throw new ArgumentException($"hidden must hold L·B·H = {workspaces.Length * n} values.", nameof(hidden));
        for (int layer = 0; layer < workspaces.Length; layer++)
        {
            hidden.Slice(layer * n, n).CopyTo(workspaces[layer].Hidden);
            if (workspaces[layer].HasCell && !cell.IsEmpty) cell.Slice(layer * n, n).CopyTo(workspaces[layer].Cell);
        }
    }
}
