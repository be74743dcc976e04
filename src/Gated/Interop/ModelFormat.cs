namespace Gated.Interop;

/// <summary>The model files Gated reads and writes (see docs/interop.md).</summary>
public enum ModelFormat
{
    /// <summary>
    /// Gated's bare recurrent layer: safetensors with PyTorch state_dict names (<c>weight_ih_l0</c>, …) and
    /// metadata <c>gated.format = gated.recurrent-layer</c> plus every option (<see cref="GatedLayerFile"/>).
    /// </summary>
    Gated,
    /// <summary>A music model saved by <c>gated train</c> (<c>gated.format = gated.music-model</c>): a recurrent stack under <c>rnn.</c> and a dense head under <c>head.</c>.</summary>
    GatedMusicModel,
    /// <summary>A PyTorch <c>nn.GRU</c>/<c>nn.LSTM</c>/<c>nn.RNN</c> <c>state_dict()</c> written as safetensors, optionally under a module prefix (<see cref="PyTorchStateDict"/>).</summary>
    PyTorchStateDict,
    /// <summary>One Keras GRU/LSTM/SimpleRNN layer's <c>kernel</c>, <c>recurrent_kernel</c> and <c>bias</c> as safetensors, optionally under a layer prefix (<see cref="KerasFile"/>).</summary>
    Keras,
    /// <summary>
    /// An ONNX model (<c>.onnx</c>), recognised by its extension. <c>gated run</c> runs any graph <see cref="Onnx.OnnxModel"/>
    /// runs; <see cref="ModelFile.Load{T}(Onnx.OnnxModel, ModelImportOptions?)"/> reads graphs that are a recurrent stack
    /// Gated holds exactly; <see cref="ModelFile.ExportOnnx{T}"/> writes one.
    /// </summary>
    Onnx,
}
