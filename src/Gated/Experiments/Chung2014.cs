using Gated.Layers;
using Gated.Models;

namespace Gated.Experiments;

/// <summary>One cell of Table 2 of Chung et al. 2014: average negative log-probability per time step.</summary>
/// <param name="DataSet">The data set name as <see cref="Data.PolyphonicDataSets"/> knows it.</param>
/// <param name="Cell">The recurrent unit.</param>
/// <param name="Train">The paper's training-set figure.</param>
/// <param name="Test">The paper's test-set figure.</param>
public sealed record PaperResult(string DataSet, CellKind Cell, double Train, double Test);

/// <summary>
/// The polyphonic-music experiment of Chung, Gulcehre, Cho and Bengio (2014), "Empirical Evaluation of
/// Gated Recurrent Neural Networks on Sequence Modeling": a tanh RNN of 100 units, a GRU of 46 and an
/// LSTM of 36 (each about 20K parameters) predicting the next 88-key piano-roll frame.
/// </summary>
public static class Chung2014
{
    /// <summary>The paper's Table 2 for the four music data sets (lower is better).</summary>
    public static IReadOnlyList<PaperResult> Table2 { get; } =
    [
        new("nottingham", CellKind.Rnn, 3.22, 3.13), new("nottingham", CellKind.Gru, 2.79, 3.23), new("nottingham", CellKind.Lstm, 3.08, 3.20),
        new("jsb", CellKind.Rnn, 8.82, 9.10), new("jsb", CellKind.Gru, 6.94, 8.54), new("jsb", CellKind.Lstm, 8.15, 8.67),
        new("musedata", CellKind.Rnn, 5.64, 6.23), new("musedata", CellKind.Gru, 5.06, 5.99), new("musedata", CellKind.Lstm, 5.18, 6.23),
        new("piano-midi", CellKind.Rnn, 5.64, 9.03), new("piano-midi", CellKind.Gru, 4.93, 8.82), new("piano-midi", CellKind.Lstm, 6.49, 9.03),
    ];

    /// <summary>The paper's approximate parameter counts (its Table 1).</summary>
    public static int PaperParameters(CellKind cell) => cell switch { CellKind.Gru => 20_200, CellKind.Lstm => 19_800, _ => 20_100 };

    /// <summary>The paper's unit counts: GRU 46, LSTM 36, tanh RNN 100.</summary>
    public static int Units(CellKind cell) => cell switch { CellKind.Gru => 46, CellKind.Lstm => 36, _ => 100 };

    /// <summary>
    /// The recurrent layer of the paper's model for a cell: one layer, 88 inputs. The GRU is the paper's
    /// own form (its equations 5–8): the reset gate applied before the recurrent product and the update gate
    /// taking the candidate, h_t = (1 − z) ⊙ h_{t−1} + z ⊙ ĥ.
    /// </summary>
    public static RecurrentOptions Model(CellKind cell) => new()
    {
        Cell = cell,
        InputSize = 88,
        HiddenSize = Units(cell),
        Gru = new GruOptions { Reset = ResetGatePosition.BeforeProduct, UpdateGate = UpdateGateConvention.TakeCandidate },
    };

    /// <summary>The paper's result for a data set and cell.</summary>
    public static PaperResult Paper(string dataSet, CellKind cell) =>
        Table2.First(r => r.DataSet == dataSet && r.Cell == cell);

    /// <summary>
    /// Gated's default protocol for a run: Adam with the global gradient norm clipped at 1 (as the
    /// paper), Gaussian weight noise as the paper's regulariser (see <see cref="Reproduction.DefaultWeightNoise"/>),
    /// a learning rate halved after 3 epochs without improvement, early stopping after 8, the best
    /// validation epoch kept.
    /// </summary>
    /// <param name="learningRate">The initial learning rate.</param>
    /// <param name="seed">The run's seed.</param>
    /// <param name="maxSeconds">The run's time budget.</param>
    /// <param name="maxEpochs">The run's epoch budget.</param>
    /// <param name="truncateSteps">Truncated BPTT window (an update every that many steps, the state carried), or null for full BPTT.</param>
    /// <param name="batchSize">Sequences per mini-batch.</param>
    /// <param name="weightNoise">Standard deviation of the Gaussian noise added to the weights of each forward/backward pass; 0 for none.</param>
    public static TrainingOptions Protocol(double learningRate, int seed, double? maxSeconds, int maxEpochs, int? truncateSteps = null,
        int batchSize = 4, double weightNoise = 0) => new()
    {
        TruncateSteps = truncateSteps,
        Optimizer = OptimizerKind.Adam,
        LearningRate = learningRate,
        BatchSize = batchSize,
        WeightNoise = weightNoise,
        MaxGradientNorm = 1.0,
        MaxEpochs = maxEpochs,
        Patience = 8,
        LearningRateDecay = 0.5,
        DecayPatience = 3,
        MaxSeconds = maxSeconds,
        Seed = seed,
        OnDivergence = DivergencePolicy.RollBackAndHalveLearningRate,
    };

    /// <summary>
    /// The paper's own protocol as it reports it: RMSProp, weight noise of standard deviation 0.075,
    /// the gradient norm rescaled to 1 when above 1, and the learning rate searched among values drawn
    /// log-uniformly in [e⁻¹², e⁻⁶] (see <see cref="ReproductionOptions.PaperProtocol"/>).
    /// </summary>
    public static TrainingOptions PaperProtocol(double learningRate, int seed, double? maxSeconds, int maxEpochs) => new()
    {
        Optimizer = OptimizerKind.RmsProp,
        LearningRate = learningRate,
        BatchSize = 1,
        MaxGradientNorm = 1.0,
        WeightNoise = 0.075,
        MaxEpochs = maxEpochs,
        Patience = 8,
        LearningRateDecay = 1.0,
        MaxSeconds = maxSeconds,
        Seed = seed,
        OnDivergence = DivergencePolicy.RollBackAndHalveLearningRate,
    };

    /// <summary>The paper's learning-rate search range, [e⁻¹², e⁻⁶].</summary>
    public static (double Low, double High) PaperLearningRates => (Math.Exp(-12), Math.Exp(-6));
}
