using Gated.Layers;
using Gated.Memory;
using Gated.Training;

namespace Gated.Models;

/// <summary>
/// What a <see cref="MusicModel"/> does with the recurrent state of a step: the distribution of the
/// next frame (<see cref="MusicOutput"/>), its loss and gradient, its conditional probabilities and
/// a draw from it. Rows are (step, sequence) pairs packed by the caller: hidden (rows, H), frames (rows, 88).
/// </summary>
internal abstract class OutputHead
{
    /// <summary>The kind and size of the distribution.</summary>
    public abstract MusicOutput Output { get; }

    /// <summary>The parameter blocks with the prefix of their tensors in a model file.</summary>
    public abstract IReadOnlyList<(string Prefix, ParameterBlock<float> Block)> Blocks { get; }

    /// <summary>Σ over rows of −log p(frame | hidden), nats.</summary>
    public abstract double Loss(Tensor<float> hidden, float[] frames);

    /// <summary>The loss, and the gradient of scale·loss: into the parameters (+=) and returned for the hidden rows.</summary>
    public abstract double LossAndBackward(Tensor<float> hidden, float[] frames, double scale, out Tensor<float> dHidden);

    /// <summary>
    /// Each key's predicted probability of sounding, (rows, 88) — for the NADE, conditional on the
    /// frame's true keys below it — and each row's NLL.
    /// </summary>
    public abstract void Predict(Tensor<float> hidden, float[] frames, Span<float> probabilities, Span<double> rowLoss);

    /// <summary>Draws one frame from the distribution given one hidden row (1, H); <paramref name="probabilities"/> may be empty.</summary>
    public abstract void SampleFrame(Tensor<float> hidden, Random random, Span<float> frame, Span<float> probabilities);

    /// <summary>88 independent Bernoullis with logits from the dense head.</summary>
    public sealed class Sigmoid(Linear<float> head) : OutputHead
    {
        private Tensor<float>? sampleLogits;

        public override MusicOutput Output => MusicOutput.Sigmoid;

        public override IReadOnlyList<(string Prefix, ParameterBlock<float> Block)> Blocks { get; } = [("head.", head.Parameters)];

        public override double Loss(Tensor<float> hidden, float[] frames) => BernoulliNll.Loss<float>(head.Forward(hidden).Data, frames);

        public override double LossAndBackward(Tensor<float> hidden, float[] frames, double scale, out Tensor<float> dHidden)
        {
            var logits = head.Forward(hidden);
            // The gradient of scale·NLL, in place of the logits.
            double loss = BernoulliNll.LossAndGradient<float>(logits.Data, frames, logits.Data, scale);
            dHidden = head.Backward(logits);
            return loss;
        }

        public override void Predict(Tensor<float> hidden, float[] frames, Span<float> probabilities, Span<double> rowLoss)
        {
            var logits = head.Forward(hidden).Data;
            int keys = head.OutputSize, rows = logits.Length / keys;
            for (int r = 0; r < rows; r++)
                rowLoss[r] = BernoulliNll.Loss<float>(logits.AsSpan(r * keys, keys), frames.AsSpan(r * keys, keys));
            for (int i = 0; i < logits.Length; i++) probabilities[i] = (float)BernoulliNll.Sigmoid(logits[i]);
        }

        public override void SampleFrame(Tensor<float> hidden, Random random, Span<float> frame, Span<float> probabilities)
        {
            sampleLogits = head.Forward(hidden, sampleLogits);
            for (int key = 0; key < frame.Length; key++)
            {
                float p = (float)BernoulliNll.Sigmoid(sampleLogits.Data[key]);
                if (!probabilities.IsEmpty) probabilities[key] = p;
                frame[key] = random.NextDouble() < p ? 1 : 0;
            }
        }
    }

    /// <summary>The RNN-NADE output: the dense head gives the NADE's visible biases b, the NADE computes c from the same state.</summary>
    public sealed class NadeOutput(Linear<float> head, Nade<float> nade) : OutputHead
    {
        private Tensor<float>? sampleBias;
        private Tensor<float>? dInput;

        public override MusicOutput Output { get; } = MusicOutput.Nade(nade.HiddenSize);

        public override IReadOnlyList<(string Prefix, ParameterBlock<float> Block)> Blocks { get; } =
            [("head.", head.Parameters), ("nade.", nade.Parameters)];

        public override double Loss(Tensor<float> hidden, float[] frames) => nade.Loss(hidden.Data, head.Forward(hidden).Data, frames);

        public override double LossAndBackward(Tensor<float> hidden, float[] frames, double scale, out Tensor<float> dHidden)
        {
            var bias = head.Forward(hidden);
            if (dInput is null || dInput.Length != hidden.Length) dInput = new Tensor<float>(hidden.Shape.ToArray());
            // ∂/∂b overwrites b; ∂/∂x along the c path goes to dInput, the head adds its share below.
            double loss = nade.LossAndGradient(hidden.Data, bias.Data, frames, scale, bias.Data, dInput.Data);
            dHidden = head.Backward(bias);
            System.Numerics.Tensors.TensorPrimitives.Add(dHidden.Data, dInput.Data, dHidden.Data);
            return loss;
        }

        public override void Predict(Tensor<float> hidden, float[] frames, Span<float> probabilities, Span<double> rowLoss) =>
            nade.Loss(hidden.Data, head.Forward(hidden).Data, frames, probabilities, rowLoss);

        public override void SampleFrame(Tensor<float> hidden, Random random, Span<float> frame, Span<float> probabilities)
        {
            sampleBias = head.Forward(hidden, sampleBias);
            nade.Sample(hidden.Data, sampleBias.Data, random, frame, probabilities);
        }
    }
}
