namespace Gated.Onnx;

/// <summary>What <see cref="OnnxExporter"/> adds to an exported graph beyond the input and the outputs.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>Add graph inputs <c>h0</c> (and <c>c0</c> for the LSTM), (L·D, B, H), for the initial states. Default false (zero states).</summary>
    public bool InitialStates { get; init; }

    /// <summary>Add a graph input <c>sequence_lens</c>, int32 (B), for batches of sequences of different lengths
    /// (padded steps give zero outputs; h_n holds each sequence's state at its own last step). Default false.</summary>
    public bool SequenceLengths { get; init; }

    /// <summary>The graph's name. Default <c>gated</c>.</summary>
    public string GraphName { get; init; } = "gated";
}
