using System.Text;
using Gated.Kernels;

namespace Gated.Layers;

/// <summary>The kind of recurrent cell a layer is made of.</summary>
public enum CellKind
{
    /// <summary>Gated recurrent unit (Cho et al. 2014): gates r | z | n, G = 3.</summary>
    Gru,
    /// <summary>Long short-term memory with PyTorch's semantics: gates i | f | g | o, G = 4.</summary>
    Lstm,
    /// <summary>The plain (Elman) recurrent cell h = φ(W_ih x + b_ih + W_hh h + b_hh), φ = tanh or ReLU; G = 1.</summary>
    Rnn,
}

/// <summary>Which way the GRU's update gate z interpolates between the previous state and the candidate.</summary>
public enum UpdateGateConvention
{
    /// <summary>h_t = z ⊙ h_{t−1} + (1 − z) ⊙ ĥ_t: z close to 1 keeps the past. Cho et al. 2014, PyTorch, Keras, ONNX, cuDNN.</summary>
    KeepPrevious,
    /// <summary>h_t = (1 − z) ⊙ h_{t−1} + z ⊙ ĥ_t: z close to 1 takes the candidate. Chung et al. 2014, Colah's post.</summary>
    TakeCandidate,
}

/// <summary>Where the GRU's reset gate r acts in the candidate ĥ_t.</summary>
public enum ResetGatePosition
{
    /// <summary>ĥ = g(W_in x + b_in + r ⊙ (W_hn h_{t−1} + b_hn)). PyTorch, cuDNN, Keras <c>reset_after=True</c>, ONNX <c>linear_before_reset=1</c>.</summary>
    AfterProduct,
    /// <summary>ĥ = g(W_in x + b_in + W_hn (r ⊙ h_{t−1}) + b_hn). Cho et al. 2014, Keras <c>reset_after=False</c>, ONNX's default.</summary>
    BeforeProduct,
}

/// <summary>Which bias vectors a layer has.</summary>
public enum BiasMode
{
    /// <summary>Both <c>bias_ih</c> and <c>bias_hh</c>, as PyTorch and cuDNN (and ONNX's Wb, Rb).</summary>
    InputAndHidden,
    /// <summary>Only <c>bias_ih</c>: one bias per gate, as Keras <c>reset_after=False</c> and the papers.</summary>
    InputOnly,
    /// <summary>No bias at all.</summary>
    None,
}

/// <summary>GRU variants with a gate removed, for research (Gated keeps the unused weights so the parameter layout stays PyTorch's; their gradients are zero).</summary>
[Flags]
public enum GruAblation
{
    /// <summary>The full GRU.</summary>
    None = 0,
    /// <summary>r ≡ 1: the candidate always sees the whole previous state.</summary>
    NoResetGate = 1,
    /// <summary>h_t = ĥ_t: the state is replaced at every step (z ≡ 0 under <see cref="UpdateGateConvention.KeepPrevious"/>, z ≡ 1 under <see cref="UpdateGateConvention.TakeCandidate"/>).</summary>
    NoUpdateGate = 2,
}

/// <summary>How the weights of a new layer are drawn.</summary>
public enum WeightInitialization
{
    /// <summary>Every weight and bias U(−1/√H, 1/√H), as PyTorch.</summary>
    PyTorchUniform,
    /// <summary>Glorot (Xavier) uniform per gate block for weights, U(±√(6/(fan_in+fan_out))); biases zero.</summary>
    GlorotUniform,
    /// <summary>Input weights Glorot uniform, each gate's H×H recurrent block orthogonal (Keras' default); biases zero.</summary>
    Orthogonal,
}

/// <summary>GRU-specific options. The defaults are PyTorch's <c>nn.GRU</c>.</summary>
public sealed record GruOptions
{
    /// <summary>Which way z interpolates. Default <see cref="UpdateGateConvention.KeepPrevious"/>.</summary>
    public UpdateGateConvention UpdateGate { get; init; } = UpdateGateConvention.KeepPrevious;
    /// <summary>Where r acts. Default <see cref="ResetGatePosition.AfterProduct"/>.</summary>
    public ResetGatePosition Reset { get; init; } = ResetGatePosition.AfterProduct;
    /// <summary>f, the activation of r and z. Default sigmoid.</summary>
    public Activation GateActivation { get; init; } = Activation.Sigmoid;
    /// <summary>g, the activation of the candidate ĥ. Default tanh.</summary>
    public Activation CandidateActivation { get; init; } = Activation.Tanh;
    /// <summary>Gates removed for ablation studies. Default none.</summary>
    public GruAblation Ablation { get; init; } = GruAblation.None;
}

/// <summary>LSTM-specific options. The defaults are PyTorch's <c>nn.LSTM</c>.</summary>
public sealed record LstmOptions
{
    /// <summary>f, the activation of the input, forget and output gates. Default sigmoid.</summary>
    public Activation GateActivation { get; init; } = Activation.Sigmoid;
    /// <summary>g, the activation of the cell input. Default tanh.</summary>
    public Activation CellInputActivation { get; init; } = Activation.Tanh;
    /// <summary>h, the activation applied to the cell before the output gate. Default tanh.</summary>
    public Activation CellOutputActivation { get; init; } = Activation.Tanh;
    /// <summary>Added to the forget gate's bias at initialisation (Keras' <c>unit_forget_bias</c> is 1). Default 0.</summary>
    public double ForgetGateBiasInit { get; init; }
}

/// <summary>
/// Everything that defines a recurrent layer stack, in PyTorch's vocabulary
/// (<c>input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional</c>).
/// </summary>
public sealed record RecurrentOptions
{
    /// <summary>The cell kind.</summary>
    public required CellKind Cell { get; init; }
    /// <summary>I, the number of features of the input at each step.</summary>
    public required int InputSize { get; init; }
    /// <summary>H, the number of features of the state.</summary>
    public required int HiddenSize { get; init; }
    /// <summary>L, the number of stacked layers. Default 1.</summary>
    public int NumLayers { get; init; } = 1;
    /// <summary>Which biases exist. Default both (PyTorch).</summary>
    public BiasMode Bias { get; init; } = BiasMode.InputAndHidden;
    /// <summary>Inputs and outputs are (B, T, ·) instead of (T, B, ·). Default false.</summary>
    public bool BatchFirst { get; init; }
    /// <summary>Probability of dropping each output of every layer but the last, in training. Default 0.</summary>
    public double Dropout { get; init; }
    /// <summary>Run a second stack of cells on the reversed sequences and concatenate. Default false.</summary>
    public bool Bidirectional { get; init; }
    /// <summary>GRU options (ignored for other cells).</summary>
    public GruOptions Gru { get; init; } = new();
    /// <summary>LSTM options (ignored for other cells).</summary>
    public LstmOptions Lstm { get; init; } = new();
    /// <summary>The non-linearity of a plain RNN: tanh (default) or ReLU.</summary>
    public Activation RnnNonlinearity { get; init; } = Activation.Tanh;
    /// <summary>How new weights are drawn. Default PyTorch's uniform.</summary>
    public WeightInitialization Initialization { get; init; } = WeightInitialization.PyTorchUniform;

    /// <summary>G, the number of gate blocks stacked in each weight matrix.</summary>
    public int GateCount => Cell switch { CellKind.Gru => 3, CellKind.Lstm => 4, _ => 1 };

    /// <summary>D, the number of directions.</summary>
    public int Directions => Bidirectional ? 2 : 1;

    /// <summary>The number of features each step of the output has: D·H.</summary>
    public int OutputSize => Directions * HiddenSize;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option that is out of range.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Cell)) throw new ArgumentException($"Cell: unknown cell kind {(int)Cell}.", nameof(Cell));
        if (InputSize <= 0) throw new ArgumentException($"InputSize must be positive, got {InputSize}.", nameof(InputSize));
        if (HiddenSize <= 0) throw new ArgumentException($"HiddenSize must be positive, got {HiddenSize}.", nameof(HiddenSize));
        if (NumLayers <= 0) throw new ArgumentException($"NumLayers must be positive, got {NumLayers}.", nameof(NumLayers));
        if (!(Dropout >= 0 && Dropout < 1)) throw new ArgumentException($"Dropout must be in [0, 1), got {Dropout}.", nameof(Dropout));
        if (!Enum.IsDefined(Bias)) throw new ArgumentException($"Bias: unknown mode {(int)Bias}.", nameof(Bias));
        if (Cell == CellKind.Rnn && RnnNonlinearity.Kind is not (ActivationKind.Tanh or ActivationKind.Relu))
            throw new ArgumentException($"RnnNonlinearity must be Tanh or Relu, got {RnnNonlinearity}.", nameof(RnnNonlinearity));
        long perDirection = (long)GateCount * HiddenSize * ((long)Math.Max(InputSize, OutputSize) + HiddenSize + 2);
        if (perDirection * NumLayers * Directions > Array.MaxLength)
            throw new ArgumentException("The layer has more parameters than one array can hold.", nameof(HiddenSize));
    }

    /// <summary>Like PyTorch's <c>extra_repr</c>: the sizes, then only the options that differ from the defaults.</summary>
    public override string ToString()
    {
        var s = new StringBuilder($"{Cell}({InputSize}, {HiddenSize}");
        if (NumLayers != 1) s.Append($", num_layers={NumLayers}");
        if (Bias != BiasMode.InputAndHidden) s.Append($", bias={Bias}");
        if (BatchFirst) s.Append(", batch_first=True");
        if (Dropout != 0) s.Append($", dropout={Dropout}");
        if (Bidirectional) s.Append(", bidirectional=True");
        if (Cell == CellKind.Gru)
        {
            var d = new GruOptions();
            if (Gru.UpdateGate != d.UpdateGate) s.Append($", update_gate={Gru.UpdateGate}");
            if (Gru.Reset != d.Reset) s.Append($", reset={Gru.Reset}");
            if (Gru.GateActivation != d.GateActivation) s.Append($", gate_activation={Gru.GateActivation}");
            if (Gru.CandidateActivation != d.CandidateActivation) s.Append($", candidate_activation={Gru.CandidateActivation}");
            if (Gru.Ablation != GruAblation.None) s.Append($", ablation={Gru.Ablation}");
        }
        else if (Cell == CellKind.Lstm && Lstm != new LstmOptions())
        {
            var d = new LstmOptions();
            if (Lstm.GateActivation != d.GateActivation) s.Append($", gate_activation={Lstm.GateActivation}");
            if (Lstm.CellInputActivation != d.CellInputActivation) s.Append($", cell_input_activation={Lstm.CellInputActivation}");
            if (Lstm.CellOutputActivation != d.CellOutputActivation) s.Append($", cell_output_activation={Lstm.CellOutputActivation}");
            if (Lstm.ForgetGateBiasInit != 0) s.Append($", forget_gate_bias_init={Lstm.ForgetGateBiasInit}");
        }
        else if (Cell == CellKind.Rnn && RnnNonlinearity != Activation.Tanh) s.Append($", nonlinearity={RnnNonlinearity}");
        if (Initialization != WeightInitialization.PyTorchUniform) s.Append($", init={Initialization}");
        return s.Append(')').ToString();
    }
}
